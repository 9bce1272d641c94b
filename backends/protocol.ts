/**
 * How the cluster talks to storage backends over the bus. Each backend actor (address
 * `backend/<name>`) speaks the CSI RPCs (container-storage-interface/spec spec.md) for control
 * — the provisioner calls CreateVolume/DeleteVolume, the attach-detach controller
 * ControllerPublish/Unpublish, the kubelet NodeStage/Unstage and NodePublish/Unpublish, as the
 * CSI node plugin on that node would — and a small file protocol for the data path: what a
 * container's reads and writes through a mounted volume turn into.
 *
 * In-tree volume sources map onto the same calls: an inline `nfs` volume is a NodePublish of
 * `<server>:<path>` on the NFS server's actor; an inline or in-tree `rbd` volume a NodeStage
 * (map) of `<pool>/<image>` on the Ceph cluster's actor.
 *
 * Volume ids: NFS `<server>:<export path>[/<subdir>]`; Ceph RBD `<pool>/<image>`; a CSI driver
 * returns its own ids; node-local volumes never reach a backend (the kubelet holds the disk).
 */

/** gRPC status codes the CSI spec uses (google.golang.org/grpc/codes). */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcCode = (typeof GRPC)[keyof typeof GRPC];

/** `Internal`, `NotFound`, ... as grpc's codes.Code.String() prints them in error texts. */
export const GRPC_NAMES: Record<number, string> = {
  0: 'OK', 1: 'Canceled', 2: 'Unknown', 3: 'InvalidArgument', 4: 'DeadlineExceeded', 5: 'NotFound', 6: 'AlreadyExists',
  7: 'PermissionDenied', 8: 'ResourceExhausted', 9: 'FailedPrecondition', 10: 'Aborted', 11: 'OutOfRange',
  12: 'Unimplemented', 13: 'Internal', 14: 'Unavailable',
};

/** `rpc error: code = Internal desc = <message>`: how a CSI error reaches kubelet events. */
export function rpcError(code: number, message: string): string {
  return `rpc error: code = ${GRPC_NAMES[code] ?? code} desc = ${message}`;
}

/** CSI VolumeCapability.AccessMode.Mode (spec.md). */
export type CsiAccessMode =
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapability {
  accessMode: CsiAccessMode;
  /** 'mount' (a filesystem) or 'block' (a raw device). */
  accessType: 'mount' | 'block';
  fsType?: string;
}

export type CsiCall =
  | { method: 'CreateVolume'; name: string; capacityBytes: number; capabilities: VolumeCapability[]; parameters: Record<string, string>; accessibleNode?: string }
  | { method: 'DeleteVolume'; volumeId: string }
  | { method: 'ControllerPublishVolume'; volumeId: string; nodeId: string; capability: VolumeCapability; readonly: boolean }
  | { method: 'ControllerUnpublishVolume'; volumeId: string; nodeId: string }
  | { method: 'NodeStageVolume'; volumeId: string; nodeId: string; stagingPath: string; capability: VolumeCapability; volumeContext: Record<string, string> }
  | { method: 'NodeUnstageVolume'; volumeId: string; nodeId: string; stagingPath: string }
  | { method: 'NodePublishVolume'; volumeId: string; nodeId: string; targetPath: string; capability: VolumeCapability; readonly: boolean; volumeContext: Record<string, string> }
  | { method: 'NodeUnpublishVolume'; volumeId: string; nodeId: string; targetPath: string }
  | { method: 'GetCapacity'; parameters: Record<string, string>; accessibleNode?: string };

export interface CsiResult {
  volumeId?: string;
  capacityBytes?: number;
  volumeContext?: Record<string, string>;
  /** CreateVolume: the node the volume is reachable from, when the driver has topology. */
  accessibleNode?: string;
  publishContext?: Record<string, string>;
  availableCapacity?: number;
}

export type CsiRequest = {
  type: 'csi.request';
  reqId: string;
  call: CsiCall;
};

export type CsiResponse = {
  type: 'csi.response';
  reqId: string;
  code: GrpcCode;
  message: string;
  result?: CsiResult;
};

/** `clear` empties a directory, keeping it (`find DIR -mindepth 1 -delete`: the PV recycler's scrub). */
export type FileOp = 'read' | 'write' | 'mkdir' | 'clear';

/** A read or write through a mounted volume, on behalf of a pod on `nodeId`. */
export type FileRequest = {
  type: 'file.request';
  reqId: string;
  volumeId: string;
  nodeId: string;
  op: FileOp;
  /** Path inside the volume, `/`-separated, absolute from the volume's root. */
  path: string;
  data?: string;
  append?: boolean;
};

export type FileResponse = {
  type: 'file.response';
  reqId: string;
  ok: boolean;
  data?: string;
  /** errno text as a shell prints it: `No such file or directory`, `Input/output error`, ... */
  error?: string;
};

export type StorageMsg = CsiRequest | CsiResponse | FileRequest | FileResponse;

/** Kernel messages are declared as type aliases so that they fit the bus's ExtMsg. */
export type { Msg } from '../src/protocol.ts';

export function backendAddress(name: string): string {
  return `backend/${name}`;
}

/** csi-lib-utils accessmodes.ToCSIAccessMode (k8s-semantics.md case 115). */
export function toCsiAccessMode(modes: readonly string[], supportsSingleNodeMultiWriter = false): CsiAccessMode | string {
  const has = (m: string) => modes.includes(m);
  if (has('ReadWriteOncePod')) {
    if (modes.length > 1) return 'CSI does not support ReadWriteOncePod with other PersistentVolumeAccessModes';
    return supportsSingleNodeMultiWriter ? 'SINGLE_NODE_SINGLE_WRITER' : 'SINGLE_NODE_WRITER';
  }
  if (has('ReadWriteMany')) return 'MULTI_NODE_MULTI_WRITER';
  if (has('ReadOnlyMany') && has('ReadWriteOnce')) return 'CSI does not support ReadOnlyMany and ReadWriteOnce on the same PersistentVolume';
  if (has('ReadOnlyMany')) return 'MULTI_NODE_READER_ONLY';
  if (has('ReadWriteOnce')) return supportsSingleNodeMultiWriter ? 'SINGLE_NODE_MULTI_WRITER' : 'SINGLE_NODE_WRITER';
  return 'SINGLE_NODE_WRITER';
}
