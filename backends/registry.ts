/**
 * Which storage system serves a provisioner or a volume source (SPEC §3). Shared by the scenario
 * loader (to know which backends a scenario implies), the PV controller, the external
 * provisioner, the attach-detach controller and the kubelet.
 */
import type { PersistentVolumeSpec } from 'kubernetes-types/core/v1.js';
import { migratedCsiDriver } from '../src/model/csi-translation.ts';

export type BackendType = 'rbd' | 'nfs' | 'csi' | 'node-local';

export interface BackendRef {
  type: BackendType;
  /** Backend actor name (`backend/<name>`); for node-local, the provisioner name. */
  name: string;
}

/** `kubernetes.io/no-provisioner` and "" cannot provision (util.go NotSupportedProvisioner). */
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
export const NODE_LOCAL_PROVISIONERS = new Set(['rancher.io/local-path', 'kubernetes.io/host-path', 'hostpath.csi.k8s.io']);
export const RBD_PROVISIONERS = new Set(['kubernetes.io/rbd', 'rbd.csi.ceph.com']);
/** The default Ceph cluster's name and monitors when no backend names one (SPEC §3). */
export const DEFAULT_CEPH = 'ceph';
export const DEFAULT_CEPH_MONITORS = ['mon-a', 'mon-b', 'mon-c'];

/** The backend behind a StorageClass, or undefined when it cannot provision. */
export function backendForProvisioner(provisioner: string, parameters: Record<string, string> = {}): BackendRef | undefined {
  if (!provisioner || provisioner === NO_PROVISIONER) return undefined;
  const migrated = migratedCsiDriver(provisioner);
  if (migrated) return { type: 'csi', name: migrated };
  if (NODE_LOCAL_PROVISIONERS.has(provisioner)) return { type: 'node-local', name: provisioner };
  if (RBD_PROVISIONERS.has(provisioner)) return { type: 'rbd', name: parameters['clusterID'] || DEFAULT_CEPH };
  if (provisioner === 'nfs.csi.k8s.io' || (parameters['server'] && (parameters['path'] || parameters['share']))) {
    return { type: 'nfs', name: parameters['server'] ?? 'nfs-server' };
  }
  return { type: 'csi', name: provisioner };
}

/**
 * Whether the PV controller provisions in-tree (provisioner `kubernetes.io/...`), not an
 * external provisioner; a migrated in-tree provisioner (`kubernetes.io/aws-ebs`) is served by
 * its CSI driver's external provisioner.
 */
export function isInTree(provisioner: string): boolean {
  return provisioner.startsWith('kubernetes.io/') && migratedCsiDriver(provisioner) === undefined;
}

/** The backend behind a PV's (or inline volume's) source. */
export function backendForSource(src: Partial<PersistentVolumeSpec> & { csi?: { driver: string; volumeAttributes?: Record<string, string> } }): BackendRef | undefined {
  if (src.hostPath || src.local) return { type: 'node-local', name: 'node' };
  if (src.nfs) return { type: 'nfs', name: src.nfs.server };
  if (src.rbd) return { type: 'rbd', name: DEFAULT_CEPH };
  if (src.csi) {
    if (src.csi.driver === 'rbd.csi.ceph.com') return { type: 'rbd', name: src.csi.volumeAttributes?.['clusterID'] || DEFAULT_CEPH };
    if (src.csi.driver === 'nfs.csi.k8s.io') return { type: 'nfs', name: src.csi.volumeAttributes?.['server'] ?? 'nfs-server' };
    if (NODE_LOCAL_PROVISIONERS.has(src.csi.driver)) return { type: 'node-local', name: src.csi.driver };
    return { type: 'csi', name: src.csi.driver };
  }
  return undefined;
}

/** Attachable volumes get VolumeAttachments and Multi-Attach protection (k8s-semantics §4 case 59). */
export function isAttachable(ref: BackendRef | undefined, csiAttachRequired: (driver: string) => boolean): boolean {
  if (!ref) return false;
  if (ref.type === 'rbd') return true;
  if (ref.type === 'csi') return csiAttachRequired(ref.name);
  return false;
}

/**
 * The unique volume name the attach-detach controller and the kubelet both use for an
 * attachable volume (node.status.volumesAttached / volumesInUse):
 * `kubernetes.io/csi/<driver>^<volumeHandle>` for CSI (csi_plugin.go GetVolumeName) and
 * `kubernetes.io/rbd/<pool>:<image>` for in-tree RBD (rbd.go GetVolumeName).
 */
export function uniqueVolumeName(src: { csi?: { driver: string; volumeHandle: string }; rbd?: { pool?: string; image: string } }): string | undefined {
  if (src.csi) return `kubernetes.io/csi/${src.csi.driver}^${src.csi.volumeHandle}`;
  if (src.rbd) return `kubernetes.io/rbd/${src.rbd.pool ?? "rbd"}:${src.rbd.image}`;
  return undefined;
}

/**
 * The id a backend knows a volume source by (backends/protocol.ts): NFS `<server>:<path>`,
 * Ceph RBD `<pool>/<image>` (pool `rbd` by default, as the in-tree plugin), CSI its volumeHandle.
 */
export function volumeIdOf(src: { nfs?: { server: string; path: string }; rbd?: { pool?: string; image: string }; csi?: { volumeHandle: string } }): string | undefined {
  if (src.nfs) return `${src.nfs.server}:${src.nfs.path}`;
  if (src.rbd) return `${src.rbd.pool ?? 'rbd'}/${src.rbd.image}`;
  if (src.csi) return src.csi.volumeHandle;
  return undefined;
}
