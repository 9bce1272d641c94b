/**
 * A generic CSI plugin (controller and node services) that follows the CSI spec
 * (container-storage-interface/spec spec.md; k8s-semantics §9) call by call: volumes by name and
 * id, where each is controller-published, staged and published on each node, capacity, topology
 * and per-node volume limits, and the data of each volume (one MemFs per volume).
 *
 * Pure model `CsiPlugin` plus `csiDriverBackend`, the Component at `backend/<driver name>` that
 * answers `csi.request` and `file.request`. Error texts follow kubernetes-csi/csi-driver-host-path
 * (pkg/hostpath/controllerserver.go, nodeserver.go), the reference driver, where it has one.
 *
 * What the spec leaves open, decided here:
 * - The plugin has STAGE_UNSTAGE_VOLUME (as most block drivers): NodePublish needs NodeStage.
 * - PUBLISH_UNPUBLISH_VOLUME iff `attachRequired`; otherwise ControllerPublish is UNIMPLEMENTED.
 * - Volume ids are `<uuid>` derived from the request name (hostpath draws a random uuid).
 * - A CreateVolume without a size gets 1 GiB; sizes are not rounded.
 * - `capacityBytes` is the whole pool's, or each node's when the driver has topology (node-local
 *   storage); a topology driver asked without a node makes a volume reachable from every node.
 * - Two NodePublish on one node at different target paths are refused (FAILED_PRECONDITION) only
 *   for SINGLE_NODE_SINGLE_WRITER (ReadWriteOncePod): Kubernetes lets pods on one node share a
 *   ReadWriteOnce (SINGLE_NODE_WRITER) volume and drivers allow it, although the spec's table
 *   says SHOULD refuse.
 * - `failNext(method, code, message)` makes the next calls of a method fail as injected.
 */
import type { Component, Port } from '../src/component.ts';
import { MemFs } from '../src/fs.ts';
import { parseQuantity } from '../src/quantity.ts';
import { GRPC, type CsiAccessMode, type CsiCall, type GrpcCode, type VolumeCapability } from './protocol.ts';
import {
  EIO,
  EROFS,
  InjectedErrors,
  fail,
  fileOp,
  isMultiNode,
  ok,
  serveModel,
  sortAttachments,
  uuidFromName,
  type Attachment,
  type BackendModel,
  type BackendVolume,
  type CsiAnswer,
  type FileAnswer,
  type FileCall,
} from './volume-data.ts';

export interface CsiDriverSpec {
  name: string;
  attachRequired: boolean;
  accessModes: CsiAccessMode[];
  topology: boolean;
  capacityBytes?: number;
  maxVolumesPerNode?: number;
}

const TiB = 2 ** 40;
const GiB = 2 ** 30;

export const DEFAULT_CSI_ACCESS_MODES: readonly CsiAccessMode[] = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY'];
export const DEFAULT_CSI_CAPACITY_BYTES = TiB;

const ALL_MODES: readonly CsiAccessMode[] = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
];

/** Kubernetes access modes accepted as shorthands, mapped as csi-lib-utils ToCSIAccessMode does. */
const K8S_MODES: Record<string, CsiAccessMode> = {
  ReadWriteOnce: 'SINGLE_NODE_WRITER',
  ReadOnlyMany: 'MULTI_NODE_READER_ONLY',
  ReadWriteMany: 'MULTI_NODE_MULTI_WRITER',
  ReadWriteOncePod: 'SINGLE_NODE_SINGLE_WRITER',
};

/**
 * A driver's spec from a scenario `spec.backends` entry (`{name, type: csi, attachRequired?,
 * accessModes?, topology?, capacity?, maxVolumesPerNode?}`), or the text of the first problem,
 * worded as kubectl validation (`<field>: Invalid value: ...`).
 */
export function csiDriverSpecFrom(raw: Record<string, unknown>, name: string): CsiDriverSpec | string {
  const spec: CsiDriverSpec = { name, attachRequired: true, accessModes: [...DEFAULT_CSI_ACCESS_MODES], topology: false, capacityBytes: DEFAULT_CSI_CAPACITY_BYTES };
  const bool = (field: string): boolean | string | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : `${field}: Invalid value: ${JSON.stringify(v)}: must be true or false`;
  };
  const attach = bool('attachRequired');
  if (typeof attach === 'string') return attach;
  if (attach !== undefined) spec.attachRequired = attach;
  const topo = bool('topology');
  if (typeof topo === 'string') return topo;
  if (topo !== undefined) spec.topology = topo;
  if (raw['accessModes'] !== undefined) {
    const list = raw['accessModes'];
    if (!Array.isArray(list) || list.length === 0) return `accessModes: Invalid value: ${JSON.stringify(list)}: must be a non-empty list of access modes`;
    const modes: CsiAccessMode[] = [];
    for (const [i, m] of list.entries()) {
      const mode = typeof m === 'string' ? ((ALL_MODES as readonly string[]).includes(m) ? (m as CsiAccessMode) : K8S_MODES[m]) : undefined;
      if (!mode) {
        const supported = [...Object.keys(K8S_MODES), ...ALL_MODES].map((s) => `"${s}"`).join(', ');
        return `accessModes[${i}]: Unsupported value: ${JSON.stringify(m)}: supported values: ${supported}`;
      }
      if (!modes.includes(mode)) modes.push(mode);
    }
    spec.accessModes = modes;
  }
  if (raw['capacity'] !== undefined) {
    const q = parseQuantity(raw['capacity']);
    if (typeof q === 'string') return `capacity: Invalid value: ${JSON.stringify(raw['capacity'])}: ${q}`;
    if (q <= 0) return `capacity: Invalid value: ${JSON.stringify(raw['capacity'])}: must be greater than zero`;
    spec.capacityBytes = Math.floor(q);
  }
  if (raw['maxVolumesPerNode'] !== undefined) {
    const n = raw['maxVolumesPerNode'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) return `maxVolumesPerNode: Invalid value: ${JSON.stringify(n)}: must be a positive integer`;
    spec.maxVolumesPerNode = n;
  }
  return spec;
}

interface Volume {
  id: string;
  name: string;
  capacityBytes: number;
  capabilities: VolumeCapability[];
  parameters: Record<string, string>;
  accessibleNode?: string;
  fs: MemFs;
}

interface Publication {
  capability: VolumeCapability;
  readonly: boolean;
}

interface Staging {
  stagingPath: string;
  capability: VolumeCapability;
  /** target path -> readonly */
  publishes: Map<string, { capability: VolumeCapability; readonly: boolean }>;
}

function sameCapability(a: VolumeCapability, b: VolumeCapability): boolean {
  return a.accessMode === b.accessMode && a.accessType === b.accessType && (a.fsType ?? '') === (b.fsType ?? '');
}

function sameParameters(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function byKey<T>(m: Map<string, T>): [string, T][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export class CsiPlugin implements BackendModel {
  readonly spec: CsiDriverSpec;
  private readonly byId = new Map<string, Volume>();
  private readonly idByName = new Map<string, string>();
  /** volume id -> node -> controller publication */
  private readonly published = new Map<string, Map<string, Publication>>();
  /** volume id -> node -> staging */
  private readonly staged = new Map<string, Map<string, Staging>>();
  private readonly injected = new InjectedErrors();

  constructor(spec: CsiDriverSpec) {
    this.spec = { ...spec, accessModes: [...spec.accessModes] };
  }

  get capacityBytes(): number {
    return this.spec.capacityBytes ?? DEFAULT_CSI_CAPACITY_BYTES;
  }

  failNext(method: CsiCall['method'], code: GrpcCode, message: string, times = 1): void {
    this.injected.add(method, code, message, times);
  }

  /** The node died: what its kernel held (stagings, mounts) is gone; attachments stay. */
  nodeLost(nodeId: string, _nowMs?: number): void {
    for (const [volumeId, nodes] of this.staged) {
      nodes.delete(nodeId);
      if (nodes.size === 0) this.staged.delete(volumeId);
    }
  }

  /** Bytes not yet given to volumes (on `node` when the driver has topology). */
  availableBytes(node?: string): number {
    let used = 0;
    for (const v of this.byId.values()) {
      if (this.spec.topology && node !== undefined && v.accessibleNode !== undefined && v.accessibleNode !== node) continue;
      used += v.capacityBytes;
    }
    return Math.max(0, this.capacityBytes - used);
  }

  attachments(): Attachment[] {
    const out: Attachment[] = [];
    for (const [volumeId, nodes] of this.published) for (const nodeId of nodes.keys()) out.push({ volumeId, nodeId });
    for (const [volumeId, nodes] of this.staged) for (const nodeId of nodes.keys()) out.push({ volumeId, nodeId });
    return sortAttachments(out);
  }

  volumes(): BackendVolume[] {
    return byKey(this.byId).map(([, v]) => ({ volumeId: v.id, name: v.name, capacityBytes: v.capacityBytes }));
  }

  handle(call: CsiCall, _nowMs: number): CsiAnswer | 'unavailable' {
    const injected = this.injected.take(call.method);
    if (injected) return injected;
    switch (call.method) {
      case 'CreateVolume':
        return this.createVolume(call);
      case 'DeleteVolume':
        return this.deleteVolume(call.volumeId);
      case 'ControllerPublishVolume':
        return this.controllerPublish(call);
      case 'ControllerUnpublishVolume': {
        if (!this.spec.attachRequired) return fail(GRPC.UNIMPLEMENTED, 'ControllerUnpublishVolume is not supported');
        if (!call.volumeId) return fail(GRPC.INVALID_ARGUMENT, 'Volume ID cannot be empty');
        const nodes = this.published.get(call.volumeId);
        // Not published, or an unknown volume: nothing to do (spec: SHOULD return OK).
        if (nodes) {
          if (call.nodeId === '') nodes.clear();
          else nodes.delete(call.nodeId);
          if (nodes.size === 0) this.published.delete(call.volumeId);
        }
        return ok();
      }
      case 'GetCapacity':
        return ok({ availableCapacity: this.availableBytes(call.accessibleNode) });
      case 'NodeStageVolume':
        return this.nodeStage(call);
      case 'NodeUnstageVolume': {
        const s = this.staged.get(call.volumeId)?.get(call.nodeId);
        if (!s && !this.byId.has(call.volumeId)) return fail(GRPC.NOT_FOUND, `volume id ${call.volumeId} does not exist in the volumes list`);
        if (!s) return ok();
        if (s.publishes.size > 0) {
          const paths = [...s.publishes.keys()].sort().join(' ');
          return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is still published at [${paths}] on node ${call.nodeId}`);
        }
        const nodes = this.staged.get(call.volumeId)!;
        nodes.delete(call.nodeId);
        if (nodes.size === 0) this.staged.delete(call.volumeId);
        return ok();
      }
      case 'NodePublishVolume':
        return this.nodePublish(call);
      case 'NodeUnpublishVolume': {
        const s = this.staged.get(call.volumeId)?.get(call.nodeId);
        if (!s && !this.byId.has(call.volumeId)) return fail(GRPC.NOT_FOUND, `volume id ${call.volumeId} does not exist in the volumes list`);
        s?.publishes.delete(call.targetPath);
        return ok();
      }
    }
  }

  file(req: FileCall, _nowMs: number): FileAnswer | 'unavailable' {
    const v = this.byId.get(req.volumeId);
    const s = this.staged.get(req.volumeId)?.get(req.nodeId);
    if (!v || !s || s.publishes.size === 0) return { ok: false, error: EIO };
    const readOnly = [...s.publishes.values()].every((p) => p.readonly || p.capability.accessMode.endsWith('READER_ONLY'));
    if (readOnly && req.op !== 'read') return { ok: false, error: EROFS };
    return fileOp(v.fs, '/', req);
  }

  // ---------------------------------------------------------------------------------------

  private unsupportedMode(caps: VolumeCapability[]): CsiAnswer | undefined {
    for (const c of caps) {
      if (!this.spec.accessModes.includes(c.accessMode)) {
        return fail(GRPC.INVALID_ARGUMENT, `driver ${this.spec.name} does not support access mode ${c.accessMode}`);
      }
    }
    return undefined;
  }

  private createVolume(call: Extract<CsiCall, { method: 'CreateVolume' }>): CsiAnswer {
    if (!call.name) return fail(GRPC.INVALID_ARGUMENT, 'Name missing in request');
    if (call.capabilities.length === 0) return fail(GRPC.INVALID_ARGUMENT, 'Volume Capabilities missing in request');
    if (call.capacityBytes < 0) return fail(GRPC.INVALID_ARGUMENT, 'cannot have negative capacity');
    const types = new Set(call.capabilities.map((c) => c.accessType));
    if (types.size > 1) return fail(GRPC.INVALID_ARGUMENT, 'cannot have both block and mount access type');
    const bad = this.unsupportedMode(call.capabilities);
    if (bad) return bad;
    const size = call.capacityBytes > 0 ? call.capacityBytes : GiB;
    const node = this.spec.topology ? call.accessibleNode : undefined;
    const existingId = this.idByName.get(call.name);
    if (existingId !== undefined) {
      const ex = this.byId.get(existingId)!;
      if (ex.capacityBytes < size) {
        return fail(GRPC.ALREADY_EXISTS, `Volume with the same name: ${call.name} but with different size already exist`);
      }
      const sameCaps = ex.capabilities.length === call.capabilities.length && ex.capabilities.every((c, i) => sameCapability(c, call.capabilities[i]!));
      if (!sameCaps || !sameParameters(ex.parameters, call.parameters) || ex.accessibleNode !== node) {
        return fail(GRPC.ALREADY_EXISTS, `Volume with the same name: ${call.name} but with different capabilities, parameters or topology already exist`);
      }
      return ok(this.createResult(ex));
    }
    const available = this.availableBytes(node);
    if (size > available) {
      const where = node !== undefined ? ` on node ${node}` : '';
      return fail(GRPC.RESOURCE_EXHAUSTED, `insufficient capacity${where}: requested ${size} bytes, ${available} bytes available`);
    }
    const v: Volume = { id: uuidFromName(`${this.spec.name}/${call.name}`), name: call.name, capacityBytes: size, capabilities: call.capabilities.map((c) => ({ ...c })), parameters: { ...call.parameters }, fs: new MemFs() };
    if (node !== undefined) v.accessibleNode = node;
    this.byId.set(v.id, v);
    this.idByName.set(v.name, v.id);
    return ok(this.createResult(v));
  }

  private createResult(v: Volume): { volumeId: string; capacityBytes: number; volumeContext: Record<string, string>; accessibleNode?: string } {
    const r: { volumeId: string; capacityBytes: number; volumeContext: Record<string, string>; accessibleNode?: string } = {
      volumeId: v.id,
      capacityBytes: v.capacityBytes,
      volumeContext: { ...v.parameters },
    };
    if (v.accessibleNode !== undefined) r.accessibleNode = v.accessibleNode;
    return r;
  }

  private deleteVolume(volumeId: string): CsiAnswer {
    if (!volumeId) return fail(GRPC.INVALID_ARGUMENT, 'Volume ID missing in request');
    const v = this.byId.get(volumeId);
    if (!v) return ok();
    // Only what the controller knows counts: a volume still published to a node is in use.
    const users = [...(this.published.get(volumeId)?.keys() ?? [])].sort();
    if (users.length > 0) return fail(GRPC.FAILED_PRECONDITION, `volume ${volumeId} is still published to node ${users.join(', ')}`);
    this.byId.delete(volumeId);
    this.idByName.delete(v.name);
    return ok();
  }

  private controllerPublish(call: Extract<CsiCall, { method: 'ControllerPublishVolume' }>): CsiAnswer {
    if (!this.spec.attachRequired) return fail(GRPC.UNIMPLEMENTED, 'ControllerPublishVolume is not supported');
    if (!call.volumeId) return fail(GRPC.INVALID_ARGUMENT, 'Volume ID cannot be empty');
    if (!call.nodeId) return fail(GRPC.INVALID_ARGUMENT, 'Node ID cannot be empty');
    const v = this.byId.get(call.volumeId);
    if (!v) return fail(GRPC.NOT_FOUND, `volume id ${call.volumeId} does not exist in the volumes list`);
    const bad = this.unsupportedMode([call.capability]);
    if (bad) return bad;
    const nodes = this.published.get(call.volumeId) ?? new Map<string, Publication>();
    const here = nodes.get(call.nodeId);
    if (here) {
      if (here.readonly !== call.readonly || !sameCapability(here.capability, call.capability)) {
        return fail(GRPC.ALREADY_EXISTS, 'Volume published but has incompatible readonly flag or capability');
      }
      return ok({ publishContext: {} });
    }
    if (!isMultiNode(call.capability.accessMode)) {
      const other = [...nodes.keys()].sort()[0];
      if (other !== undefined) return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is already published to node ${other}`);
    }
    const limit = this.spec.maxVolumesPerNode;
    if (limit !== undefined && this.publishedCount(call.nodeId) >= limit) {
      return fail(GRPC.RESOURCE_EXHAUSTED, `Cannot attach any more volumes to this node ('${call.nodeId}')`);
    }
    nodes.set(call.nodeId, { capability: { ...call.capability }, readonly: call.readonly });
    this.published.set(call.volumeId, nodes);
    return ok({ publishContext: {} });
  }

  private publishedCount(nodeId: string): number {
    let n = 0;
    for (const nodes of this.published.values()) if (nodes.has(nodeId)) n++;
    return n;
  }

  private stagedCount(nodeId: string): number {
    let n = 0;
    for (const nodes of this.staged.values()) if (nodes.has(nodeId)) n++;
    return n;
  }

  private nodeStage(call: Extract<CsiCall, { method: 'NodeStageVolume' }>): CsiAnswer {
    if (!call.volumeId) return fail(GRPC.INVALID_ARGUMENT, 'Volume ID missing in request');
    if (!call.stagingPath) return fail(GRPC.INVALID_ARGUMENT, 'Staging target path missing in request');
    const v = this.byId.get(call.volumeId);
    if (!v) return fail(GRPC.NOT_FOUND, `volume id ${call.volumeId} does not exist in the volumes list`);
    const nodes = this.staged.get(call.volumeId) ?? new Map<string, Staging>();
    const here = nodes.get(call.nodeId);
    if (here) {
      if (here.stagingPath !== call.stagingPath) {
        return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is already staged at ${here.stagingPath}`);
      }
      return sameCapability(here.capability, call.capability)
        ? ok()
        : fail(GRPC.ALREADY_EXISTS, `volume ${call.volumeId} is already staged at ${call.stagingPath} with a different capability`);
    }
    const bad = this.unsupportedMode([call.capability]);
    if (bad) return bad;
    if (this.spec.attachRequired && !this.published.get(call.volumeId)?.has(call.nodeId)) {
      return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is not published to node ${call.nodeId}`);
    }
    if (v.accessibleNode !== undefined && v.accessibleNode !== call.nodeId) {
      return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is only accessible from node ${v.accessibleNode}, not from node ${call.nodeId}`);
    }
    const limit = this.spec.maxVolumesPerNode;
    if (!this.spec.attachRequired && limit !== undefined && this.stagedCount(call.nodeId) >= limit) {
      return fail(GRPC.RESOURCE_EXHAUSTED, `Cannot stage any more volumes on this node ('${call.nodeId}')`);
    }
    nodes.set(call.nodeId, { stagingPath: call.stagingPath, capability: { ...call.capability }, publishes: new Map() });
    this.staged.set(call.volumeId, nodes);
    return ok();
  }

  private nodePublish(call: Extract<CsiCall, { method: 'NodePublishVolume' }>): CsiAnswer {
    if (!call.volumeId) return fail(GRPC.INVALID_ARGUMENT, 'Volume ID missing in request');
    if (!call.targetPath) return fail(GRPC.INVALID_ARGUMENT, 'Target path missing in request');
    if (!this.byId.has(call.volumeId)) return fail(GRPC.NOT_FOUND, `volume id ${call.volumeId} does not exist in the volumes list`);
    const s = this.staged.get(call.volumeId)?.get(call.nodeId);
    if (!s) return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is not staged on node ${call.nodeId}`);
    const same = s.publishes.get(call.targetPath);
    if (same) {
      return same.readonly === call.readonly && sameCapability(same.capability, call.capability)
        ? ok()
        : fail(GRPC.ALREADY_EXISTS, `volume ${call.volumeId} is already published at ${call.targetPath} with different arguments`);
    }
    const bad = this.unsupportedMode([call.capability]);
    if (bad) return bad;
    if (call.capability.accessMode === 'SINGLE_NODE_SINGLE_WRITER' && s.publishes.size > 0) {
      const other = [...s.publishes.keys()].sort()[0]!;
      return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is already published at ${other} on node ${call.nodeId} with SINGLE_NODE_SINGLE_WRITER`);
    }
    s.publishes.set(call.targetPath, { capability: { ...call.capability }, readonly: call.readonly });
    return ok();
  }
}

export function csiDriverBackend(port: Port, opts: { model: CsiPlugin }): Component {
  return serveModel(port, opts.model);
}
