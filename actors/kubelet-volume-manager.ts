/**
 * The kubelet's volume manager (pkg/kubelet/volumemanager) for one node: for each pod, resolve
 * every volume to where its data lives, wait for attachable volumes to be attached (the
 * VolumeAttachment status, as the CSI plugin's WaitForAttach polls it), stage and publish them
 * through the backend's CSI node service, and tear them down when the pod goes. It also carries
 * a container's reads and writes to remote volumes (file.request) with NFS mount semantics:
 * a hard mount retransmits until the server answers, a soft mount fails with
 * `Input/output error` after its retransmissions.
 *
 * Texts: `MountVolume.SetUp failed for volume "<v>" : <err>` and
 * `MountVolume.MountDevice failed for volume "<v>" : <err>` (operation_generator.go,
 * `"%v for volume %q %v"`), `Unable to attach or mount volumes: unmounted volumes=[...],
 * unattached volumes=[...]: timed out waiting for the condition` after podAttachAndMountTimeout
 * 2m3s (volume_manager.go, k8s-semantics case 58). CSI calls time out after 2 m (csiTimeout,
 * pkg/volume/csi/csi_plugin.go). NFS: timeo 60 s growing linearly, retrans 2 (nfs(5)).
 */
import type { PersistentVolume, PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { perBoot, type Port } from '../src/component.ts';
import type { ApiClient } from '../src/api-client.ts';
import { Calls } from '../src/calls.ts';
import type { KObject, Msg } from '../src/protocol.ts';
import { joinPath, MemFs } from '../src/fs.ts';
import { backendAddress, rpcError, toCsiAccessMode, GRPC, type CsiCall, type CsiResponse, type FileResponse, type FileOp } from '../backends/protocol.ts';
import { backendForSource, uniqueVolumeName, volumeIdOf } from '../backends/registry.ts';
import { clearDir } from '../backends/volume-data.ts';
import { checkHostPath, emptyDirPath, type NodeState } from './kubelet-volumes.ts';

export const POD_ATTACH_MOUNT_TIMEOUT_MS = 123_000; // volume_manager.go podAttachAndMountTimeout 2m3s
/** mount()'s answer while an attachable volume waits for its VolumeAttachment: retry, no event. */
export const NOT_ATTACHED_YET = 'not attached yet';
/** operation_generator.go: the mount of a ReadWriteOncePod volume that another pod here uses. */
export const ERR_RWOP_IN_USE = 'volume uses the ReadWriteOncePod access mode and is already in use by another pod';
const CSI_TIMEOUT_MS = 120_000; // pkg/volume/csi/csi_plugin.go csiTimeout
// goroutinemap/exponentialbackoff: a failed volume operation is retried after 500 ms, doubling up to 2m2s.
const OP_BACKOFF_INITIAL_MS = 500;
const OP_BACKOFF_MAX_MS = 122_000;
// nfs(5): for TCP timeo defaults to 600 deciseconds, grows linearly by timeo after each
// retransmission up to 600 s, and retrans defaults to 2.
const NFS_TIMEO_DS = 600;
const NFS_TIMEO_MAX_MS = 600_000;
const NFS_RETRANS = 2;

/** How an NFS client retries (nfs(5)): `hard` (the default) forever, `soft` `retrans` times. */
export interface NfsMountOptions {
  soft: boolean;
  timeoMs: number;
  retrans: number;
}

/**
 * The nfs(5) options of a mount: `soft`/`hard` (the last one given wins, as mount.nfs parses its
 * option string), `timeo=<deciseconds>`, `retrans=<n>`. Entries may hold several options
 * separated by commas; the kubelet joins mountOptions with commas. Other options are ignored.
 */
export function nfsMountOptions(mountOptions: readonly string[]): NfsMountOptions {
  const o: NfsMountOptions = { soft: false, timeoMs: NFS_TIMEO_DS * 100, retrans: NFS_RETRANS };
  for (const opt of mountOptions.flatMap((m) => m.split(',')).map((m) => m.trim())) {
    if (opt === 'soft') o.soft = true;
    else if (opt === 'hard') o.soft = false;
    const [k, v] = opt.split('=');
    const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    if (n === undefined) continue;
    if (k === 'timeo' && n > 0) o.timeoMs = n * 100;
    else if (k === 'retrans') o.retrans = n;
  }
  return o;
}

/** How long a soft mount tries before `Input/output error`: 1 + retrans transmissions. */
export function nfsSoftTimeoutMs(o: NfsMountOptions): number {
  let total = 0;
  for (let attempt = 0; attempt <= o.retrans; attempt++) total += Math.min(o.timeoMs * (attempt + 1), NFS_TIMEO_MAX_MS);
  return total;
}

export interface LocalBacking {
  kind: 'local';
  fs: MemFs;
  root: string;
  /** Node-local data that outlives the pod (hostPath, local, node-local provisioners). */
  nodeLocal: boolean;
  pvName?: string;
}

export interface RemoteBacking {
  kind: 'remote';
  backend: string;
  volumeId: string;
  pvName: string;
  /** How I/O is retried when the storage system does not answer (nfs(5) for NFS; hard otherwise). */
  retry: NfsMountOptions;
  attachable: boolean;
  unique: string | undefined;
  staged: boolean;
  published: boolean;
}

export type Backing = LocalBacking | RemoteBacking;

export interface VolState {
  name: string;
  ready: boolean;
  backing?: Backing;
  /** The remote volume being mounted (its device may be staged before the mount fails). */
  pending?: RemoteBacking;
  /** Needs attaching and is not attached yet. */
  unattached: boolean;
}

export interface PodVolumes {
  uid: string;
  pod: Pod;
  vols: VolState[];
  /** The pod is being torn down: a mount still in flight must undo itself when it lands. */
  torn?: boolean;
}

type CsiCb = (res: CsiResponse | 'timeout') => void;
type FileCb = (res: { ok: boolean; data?: string; error?: string }) => void;

interface PendingFile {
  backing: RemoteBacking;
  req: { op: FileOp; path: string; data?: string; append?: boolean };
  cb: FileCb;
  attempt: number;
}

/**
 * What an in-tree plugin reports where the storage system refused: the tool's own output. A
 * missing RBD image fails `rbd status`, which AttachDisk runs before mapping (rbd_util.go:
 * `fail to check rbd image status with: (%v), rbd output: (%s)`; the rbd CLI's text for ENOENT,
 * without its trailing newline, is unverified).
 */
function inTreeError(src: { rbd?: { image: string } }, res: CsiResponse): string {
  if (src.rbd && res.code === GRPC.NOT_FOUND) return `fail to check rbd image status with: (exit status 2), rbd output: (rbd: error opening image ${src.rbd.image}: (2) No such file or directory)`;
  return res.message;
}

export interface VolumeManagerOptions {
  nodeName: string;
  node: NodeState;
  csiAttachRequired(driver: string): boolean;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The attachable volumes mounted on this node changed (node.status.volumesInUse). */
  onVolumesInUse(names: string[]): void;
}

export class VolumeManager {
  private seq = 0;
  private readonly csiCalls: Calls<CsiResponse>;
  private readonly filePending = new Map<string, PendingFile>();
  /** Pods using each remote volume on this node (volumeId -> pod uids). */
  private readonly users = new Map<string, Set<string>>();
  private inUse: string[] = [];
  private readonly uniqueOf = new Map<string, string>();
  /** ReadWriteOncePod PVs mounted (or being mounted) here: PV name -> the pod's uid. */
  private readonly rwopHolders = new Map<string, string>();
  /** Tear-down calls that failed, waiting for their retry (timer `teardown/...`). */
  private readonly teardowns = new Map<string, { backend: string; call: CsiCall; done: () => void; backoffMs: number }>();
  /** Volumes still staged here while their NodeUnstage is retried: still in use for the controller. */
  private readonly unstaging = new Set<string>();
  /**
   * Volumes whose device is staged here (NodeStage succeeded, no NodeUnstage yet), whether or not
   * a pod's mount of them succeeded: the actual state's mounted devices, in use for the controller.
   */
  private readonly staged = new Set<string>();

  constructor(
    private readonly port: Port,
    private readonly api: ApiClient,
    private readonly o: VolumeManagerOptions,
  ) {
    this.csiCalls = new Calls<CsiResponse>(port, 'csi-timeout');
  }

  /** Consumes csi.response / file.response addressed to the kubelet. */
  handle(msg: Msg): boolean {
    if (msg.type === 'csi.response') {
      this.csiCalls.resolve(msg as unknown as CsiResponse);
      return true;
    }
    if (msg.type === 'file.response') {
      const p = this.filePending.get(msg.reqId);
      if (p) {
        this.filePending.delete(msg.reqId);
        this.port.cancelTimer(`nfs-timeo/${msg.reqId}`);
        const r = msg as unknown as FileResponse;
        p.cb({ ok: r.ok, ...(r.data !== undefined ? { data: r.data } : {}), ...(r.error !== undefined ? { error: r.error } : {}) });
      }
      return true;
    }
    return false;
  }

  /** Timer keys this manager armed; returns false for others. */
  timer(key: string): boolean {
    if (this.csiCalls.timer(key)) return true;
    if (key.startsWith('nfs-timeo/')) {
      const id = key.slice('nfs-timeo/'.length);
      const p = this.filePending.get(id);
      if (!p) return true;
      this.filePending.delete(id);
      if (p.backing.retry.soft && p.attempt >= p.backing.retry.retrans) {
        p.cb({ ok: false, error: 'Input/output error' });
        return true;
      }
      // Retransmit (hard mounts forever, soft mounts up to retrans times), timeo growing linearly.
      this.sendFile(p.backing, p.req, p.cb, p.attempt + 1);
      return true;
    }
    if (key.startsWith('teardown/')) {
      const t = this.teardowns.get(key);
      if (!t) return true;
      this.teardowns.delete(key);
      // A pod here uses the volume again: its device stays staged.
      if (t.call.method === 'NodeUnstageVolume' && (this.users.get(t.call.volumeId)?.size ?? 0) > 0) {
        this.unstaging.delete(t.call.volumeId);
        this.reportInUse();
        return true;
      }
      this.teardown(t.backend, t.call, t.done, Math.min(t.backoffMs * 2, OP_BACKOFF_MAX_MS));
      return true;
    }
    return false;
  }

  /**
   * NodeUnpublish / NodeUnstage until it succeeds: the volume manager's reconciler retries a
   * failed UnmountVolume / UnmountDevice with the operation backoff (the CSI calls are
   * idempotent). NOT_FOUND counts as done: the plugin has no such volume left to unmount.
   */
  private teardown(backend: string, call: CsiCall, done: () => void, backoffMs = OP_BACKOFF_INITIAL_MS): void {
    this.csi(backend, call, (res) => {
      if (res !== 'timeout' && (res.code === GRPC.OK || res.code === GRPC.NOT_FOUND)) return done();
      const key = `teardown/${call.method}/${'volumeId' in call ? call.volumeId : ''}/${'targetPath' in call ? call.targetPath : ''}`;
      this.teardowns.set(key, { backend, call, done, backoffMs });
      this.port.setTimer(key, backoffMs);
    });
  }

  private csi(backend: string, call: CsiCall, cb: CsiCb): void {
    const reqId = perBoot(this.port, `${this.port.address}/csi#${++this.seq}`);
    this.csiCalls.await(reqId, cb, CSI_TIMEOUT_MS, () => cb('timeout'));
    this.port.send(backend, { type: 'csi.request', reqId, call } as unknown as Msg);
  }

  private sendFile(b: RemoteBacking, req: PendingFile['req'], cb: FileCb, attempt = 0): void {
    const reqId = perBoot(this.port, `${this.port.address}/io#${++this.seq}`);
    this.filePending.set(reqId, { backing: b, req, cb, attempt });
    this.port.send(b.backend, { type: 'file.request', reqId, volumeId: b.volumeId, nodeId: this.o.nodeName, ...req } as unknown as Msg);
    this.port.setTimer(`nfs-timeo/${reqId}`, Math.min(b.retry.timeoMs * (attempt + 1), NFS_TIMEO_MAX_MS));
  }

  /** A container's file operation on a volume that is ready. */
  io(b: Backing, op: FileOp, path: string, data: string | undefined, append: boolean, cb: FileCb): void {
    if (b.kind === 'local') {
      const full = joinPath(b.root, path);
      if (op === 'read') {
        const r = b.fs.readFile(full);
        return cb('data' in r ? { ok: true, data: r.data } : { ok: false, error: r.error });
      }
      if (op === 'mkdir') {
        const err = b.fs.mkdirAll(full);
        return cb(err ? { ok: false, error: err } : { ok: true });
      }
      if (op === 'clear') return cb(clearDir(b.fs, full));
      const err = b.fs.writeFile(full, data ?? '', append);
      return cb(err ? { ok: false, error: err } : { ok: true });
    }
    this.sendFile(b, { op, path: joinPath(path), ...(data !== undefined ? { data } : {}), ...(append ? { append } : {}) }, cb);
  }

  /**
   * Sets up every volume of the pod that is not ready yet. Calls `done()` once all are ready,
   * or `done(message)` with the first failure (the FailedMount / FailedAttachVolume text).
   */
  mount(pv: PodVolumes, done: (err?: string) => void): void {
    // One volume after the other. A set-up that completes at once (emptyDir, hostPath) lets
    // this loop go on; one that waits for an answer resumes it from its callback. (A callback
    // chain that recursed on every synchronous completion overflowed the stack on a pod with
    // thousands of volumes.)
    let i = 0;
    const run = (): void => {
      while (i < pv.vols.length) {
        const v = pv.vols[i]!;
        if (v.ready) {
          i++;
          continue;
        }
        let inCall = true;
        let settled = false;
        let failure: string | undefined;
        this.setUp(pv, v, (err) => {
          if (err) {
            if (inCall) failure = err;
            else done(err);
          } else i++;
          if (inCall) settled = true;
          else if (!err) run();
        });
        inCall = false;
        if (failure !== undefined) return done(failure);
        if (!settled) return;
      }
      done();
    };
    run();
  }

  /** The text kubelet reports when attach+mount did not finish in podAttachAndMountTimeout. */
  timeoutMessage(pv: PodVolumes): string {
    const unmounted = pv.vols.filter((v) => !v.ready).map((v) => v.name);
    const unattached = pv.vols.filter((v) => v.unattached).map((v) => v.name);
    return `Unable to attach or mount volumes: unmounted volumes=[${unmounted.join(' ')}], unattached volumes=[${unattached.join(' ')}]: timed out waiting for the condition`;
  }

  private setUp(pv: PodVolumes, v: VolState, cb: (err?: string) => void): void {
    const spec = (pv.pod.spec?.volumes ?? []).find((x) => x.name === v.name);
    if (!spec) return cb(`volume "${v.name}" not found`);
    if (spec.emptyDir) {
      // Both media live at the same place on the node (empty_dir.go SetUpAt): a directory of
      // the node's disk, or a tmpfs mounted on it for medium Memory, gone with the node's memory.
      const dir = emptyDirPath(pv.uid, v.name);
      if (spec.emptyDir.medium === 'Memory') this.o.node.disk.mount(dir, new MemFs());
      else this.o.node.disk.mkdirAll(dir);
      v.backing = { kind: 'local', fs: this.o.node.disk, root: dir, nodeLocal: false };
      v.ready = true;
      return cb();
    }
    if (spec.persistentVolumeClaim) return this.setUpClaim(pv, v, spec, cb);
    return this.setUpSource(pv, v, v.name, spec as PersistentVolume['spec'] & Volume, [], cb);
  }

  private setUpClaim(pv: PodVolumes, v: VolState, spec: Volume, cb: (err?: string) => void): void {
    const ns = pv.pod.metadata!.namespace!;
    const claimName = spec.persistentVolumeClaim!.claimName;
    const prefix = `error processing PVC ${ns}/${claimName}`;
    this.api.request({ verb: 'get', kind: 'PersistentVolumeClaim', namespace: ns, name: claimName }, (res) => {
      if (!res.ok || !res.obj) return cb(`${prefix}: failed to fetch PVC from API server: ${res.status?.message ?? 'error'}`);
      const claim = res.obj as PersistentVolumeClaim & KObject;
      if (claim.metadata.deletionTimestamp) return cb(`${prefix}: PVC is being deleted`);
      const volumeName = claim.spec?.volumeName;
      if (!volumeName || claim.status?.phase !== 'Bound') return cb(`${prefix}: PVC is not bound`);
      this.api.request({ verb: 'get', kind: 'PersistentVolume', name: volumeName }, (pres) => {
        if (!pres.ok || !pres.obj) return cb(`${prefix}: failed to fetch PV ${volumeName} from API server: ${pres.status?.message ?? 'error'}`);
        const pvObj = pres.obj as PersistentVolume & KObject;
        if (pvObj.spec?.claimRef?.uid && pvObj.spec.claimRef.uid !== claim.metadata.uid) return cb(`${prefix}: PV ${volumeName} is bound to another claim`);
        // operation_generator.go GenerateMountVolumeFunc: a PV whose only access mode is
        // ReadWriteOncePod is not mounted for a second pod on this node (the scheduler keeps
        // such pods apart, but one with spec.nodeName set bypasses it).
        const modes = pvObj.spec?.accessModes ?? [];
        if (modes.length === 1 && modes[0] === 'ReadWriteOncePod') {
          const holder = this.rwopHolders.get(volumeName);
          if (holder !== undefined && holder !== pv.uid) return cb(`MountVolume.SetUp failed for volume "${volumeName}" : ${ERR_RWOP_IN_USE}`);
          this.rwopHolders.set(volumeName, pv.uid);
        }
        const readOnly = !!spec.persistentVolumeClaim!.readOnly;
        this.setUpSource(pv, v, volumeName, { ...(pvObj.spec ?? {}), ...(readOnly ? { readOnlyClaim: true } : {}) } as never, pvObj.spec?.mountOptions ?? [], cb);
      });
    });
  }

  /** Mounts a volume source (inline or a PV's spec). `volName` is what events call it. */
  private setUpSource(pv: PodVolumes, v: VolState, volName: string, src: PersistentVolume['spec'] & Partial<Volume>, mountOptions: readonly string[], cb: (err?: string) => void): void {
    const disk = this.o.node.disk;
    if (src?.hostPath) {
      const err = checkHostPath(disk, src.hostPath.path, src.hostPath.type);
      if (err) return cb(`MountVolume.SetUp failed for volume "${volName}" : ${err}`);
      v.backing = { kind: 'local', fs: disk, root: src.hostPath.path, nodeLocal: true, pvName: volName };
      v.ready = true;
      return cb();
    }
    if (src?.local) {
      if (!disk.stat(src.local.path)) return cb(`MountVolume.NewMounter initialization failed for volume "${volName}" : path "${src.local.path}" does not exist`);
      v.backing = { kind: 'local', fs: disk, root: src.local.path, nodeLocal: true, pvName: volName };
      v.ready = true;
      return cb();
    }
    const ref = backendForSource(src ?? {});
    if (!ref) return cb(`MountVolume.SetUp failed for volume "${volName}" : volume source not supported`);
    if (ref.type === 'node-local' && src?.csi) {
      // hostpath.csi.k8s.io keeps each volume in a directory on its node.
      const root = `/var/lib/csi-hostpath-data/${src.csi.volumeHandle}`;
      disk.mkdirAll(root);
      v.backing = { kind: 'local', fs: disk, root, nodeLocal: true, pvName: volName };
      v.ready = true;
      return cb();
    }
    const backend = backendAddress(ref.name);
    const nodeId = this.o.nodeName;
    const volumeId = volumeIdOf(src ?? {});
    if (volumeId === undefined) return cb(`MountVolume.SetUp failed for volume "${volName}" : volume source not supported`);
    const attachable = src?.rbd ? true : src?.csi ? this.o.csiAttachRequired(src.csi.driver) : false;
    const accessModes: readonly string[] = src?.accessModes ?? (src?.nfs ? ['ReadWriteMany'] : ['ReadWriteOnce']);
    const mode = toCsiAccessMode(accessModes);
    const capability = { accessMode: (mode.includes(' ') ? 'SINGLE_NODE_WRITER' : mode) as never, accessType: src?.volumeMode === 'Block' ? ('block' as const) : ('mount' as const) };
    // A block device (RBD, a CSI disk) waits for its storage as a hard mount does.
    const retry = ref.type === 'nfs' ? nfsMountOptions(mountOptions) : nfsMountOptions([]);
    const unique = uniqueVolumeName({ ...(src?.csi ? { csi: src.csi } : {}), ...(src?.rbd ? { rbd: { image: src.rbd.image, ...(src.rbd.pool ? { pool: src.rbd.pool } : {}) } } : {}) });
    const b: RemoteBacking = { kind: 'remote', backend, volumeId, pvName: volName, retry, attachable, unique, staged: false, published: false };
    v.pending = b;
    const readonly = !!(src as { readOnly?: boolean })?.readOnly || !!src?.rbd?.readOnly || !!src?.csi?.readOnly || !!(src as { readOnlyClaim?: boolean }).readOnlyClaim;
    const volumeContext = (src?.csi?.volumeAttributes ?? {}) as Record<string, string>;
    const stagingPath = `/var/lib/kubelet/plugins/kubernetes.io/csi/${ref.name}/${volumeId.replace(/[/:]/g, '_')}/globalmount`;
    const targetPath = `/var/lib/kubelet/pods/${pv.uid}/volumes/kubernetes.io~csi/${volName}/mount`;
    // An in-tree plugin (inline or PV `rbd`, `nfs`) runs the tools itself: its errors are their
    // output, not a gRPC status, and the rbd plugin maps the image in WaitForAttach
    // (pkg/volume/rbd/attacher.go, rbd_util.go AttachDisk).
    const inTree = !src?.csi;
    const why = (res: CsiResponse | 'timeout'): string =>
      res === 'timeout' ? (inTree ? 'timed out waiting for the condition' : rpcError(GRPC.DEADLINE_EXCEEDED, 'context deadline exceeded')) : inTree ? inTreeError(src ?? {}, res) : rpcError(res.code, res.message);
    const publish = () => {
      this.csi(backend, { method: 'NodePublishVolume', volumeId, nodeId, targetPath, capability, readonly, volumeContext }, (res) => {
        if (res === 'timeout' || res.code !== GRPC.OK) return cb(`MountVolume.SetUp failed for volume "${volName}" : ${why(res)}`);
        b.published = true;
        if (pv.torn) {
          // The pod went while this mount was in flight: undo it, or the node keeps the volume.
          this.release(pv.uid, b);
          return cb(`volume "${volName}" mounted after its pod was deleted: unmounted again`);
        }
        v.backing = b;
        v.ready = true;
        this.addUser(b, pv.uid);
        cb();
      });
    };
    const stage = () => {
      if (src?.nfs) return publish(); // NFS has no stage step (no STAGE_UNSTAGE_VOLUME capability).
      this.csi(backend, { method: 'NodeStageVolume', volumeId, nodeId, stagingPath, capability, volumeContext }, (res) => {
        const step = src?.rbd ? 'MountVolume.WaitForAttach failed' : 'MountVolume.MountDevice failed';
        if (res === 'timeout' || res.code !== GRPC.OK) return cb(`${step} for volume "${volName}" : ${why(res)}`);
        b.staged = true;
        if (attachable && unique) this.uniqueOf.set(volumeId, unique);
        this.staged.add(volumeId);
        this.reportInUse();
        if (pv.torn) {
          this.release(pv.uid, b);
          return cb(`volume "${volName}" staged after its pod was deleted: unstaged again`);
        }
        publish();
      });
    };
    if (!attachable) return stage();
    // WaitForAttach: the attach-detach controller's VolumeAttachment for this volume and node.
    v.unattached = true;
    this.api.request({ verb: 'list', kind: 'VolumeAttachment' }, (res) => {
      const va = (res.items ?? []).find((a) => a.spec?.nodeName === nodeId && (a.spec?.source?.persistentVolumeName === volName || a.spec?.source?.inlineVolumeSpec?.rbd?.image === src?.rbd?.image));
      if (!va || va.status?.attached !== true) {
        // Not attached yet, or the attach failed (status.attachError): the kubelet waits without
        // an event — VerifyControllerAttachedVolume waits for node.status.volumesAttached, which
        // only a successful attach fills, and only logs; the attach-detach controller reports
        // the failure (FailedAttachVolume) and the 2m3s podAttachAndMountTimeout event reports a
        // wait that lasts.
        return cb(NOT_ATTACHED_YET);
      }
      v.unattached = false;
      stage();
    });
  }

  private addUser(b: RemoteBacking, podUid: string): void {
    const s = this.users.get(b.volumeId) ?? new Set<string>();
    s.add(podUid);
    this.users.set(b.volumeId, s);
    if (b.attachable && b.unique) this.uniqueOf.set(b.volumeId, b.unique);
    this.reportInUse();
  }

  /** Tears down a pod's volumes: NodeUnpublish, then NodeUnstage when no other pod uses it. */
  unmount(pv: PodVolumes): void {
    pv.torn = true;
    for (const [volume, holder] of [...this.rwopHolders]) if (holder === pv.uid) this.rwopHolders.delete(volume);
    for (const v of pv.vols) {
      // A mount that failed after NodeStage left the device staged: it is unstaged too.
      const b = v.backing ?? v.pending;
      v.ready = false;
      if (b && b.kind === 'remote') this.release(pv.uid, b);
    }
    // TearDown unmounts each tmpfs before the pod's directory goes (empty_dir.go TearDownAt).
    for (const spec of pv.pod.spec?.volumes ?? []) if (spec.emptyDir?.medium === 'Memory') this.o.node.disk.unmount(emptyDirPath(pv.uid, spec.name));
    this.o.node.disk.removeAll(`/var/lib/kubelet/pods/${pv.uid}`);
  }

  /** NodeUnpublish (if published) for one pod, then NodeUnstage when no other pod here uses it. */
  private release(podUid: string, b: RemoteBacking): void {
    const nodeId = this.o.nodeName;
    const users = this.users.get(b.volumeId);
    users?.delete(podUid);
    const last = !users || users.size === 0;
    if (last) this.users.delete(b.volumeId);
    const unstage = () => {
      // Staged by this backing, or by an earlier mount attempt of the same volume that failed later.
      if (!last || !(b.staged || this.staged.has(b.volumeId)) || (this.users.get(b.volumeId)?.size ?? 0) > 0) return this.reportInUse();
      const stagingPath = `/var/lib/kubelet/plugins/kubernetes.io/csi/${b.backend.slice('backend/'.length)}/${b.volumeId.replace(/[/:]/g, '_')}/globalmount`;
      this.unstaging.add(b.volumeId);
      this.teardown(b.backend, { method: 'NodeUnstageVolume', volumeId: b.volumeId, nodeId, stagingPath }, () => {
        this.unstaging.delete(b.volumeId);
        this.staged.delete(b.volumeId);
        this.reportInUse();
      });
    };
    if (!b.published) return unstage();
    const targetPath = `/var/lib/kubelet/pods/${podUid}/volumes/kubernetes.io~csi/${b.pvName}/mount`;
    this.teardown(b.backend, { method: 'NodeUnpublishVolume', volumeId: b.volumeId, nodeId, targetPath }, unstage);
  }

  /** What the kubelet reports as node.status.volumesInUse now (GetVolumesInUse). */
  volumesInUse(): string[] {
    return this.inUse;
  }

  /** Attachable volumes still mounted here: what the kubelet reports as node.status.volumesInUse. */
  private reportInUse(): void {
    const next: string[] = [];
    for (const [volumeId, pods] of this.users) {
      const u = this.uniqueOf.get(volumeId);
      if (u && pods.size > 0) next.push(u);
    }
    for (const volumeId of [...this.unstaging, ...this.staged]) {
      const u = this.uniqueOf.get(volumeId);
      if (u && !next.includes(u)) next.push(u);
    }
    next.sort();
    if (next.join('\n') === this.inUse.join('\n')) return;
    this.inUse = next;
    this.o.onVolumesInUse(next);
  }
}
