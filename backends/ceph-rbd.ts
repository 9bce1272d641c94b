/**
 * A Ceph cluster serving RBD images: pools and images (size, features, the image's filesystem as
 * a MemFs), which client watches each image (one client per node, with the time its node was
 * lost), the exclusive-lock owner, the OSD blocklist, and the monitors with their quorum.
 *
 * Pure model `CephCluster` plus `cephRbdBackend`, the Component at `backend/<name>` that answers
 * `csi.request` as ceph-csi's RBD plugin would (ceph/ceph-csi internal/rbd/controllerserver.go,
 * nodeserver.go, rbd_attach.go, rbd_util.go) — and as the in-tree `kubernetes.io/rbd` plugin
 * would for in-tree and inline `rbd` volumes — and `file.request`, I/O on a mapped image.
 *
 * Volume ids are `<pool>/<image>`. CreateVolume creates `csi-vol-<uuid>` (in-tree:
 * `kubernetes-dynamic-pvc-<uuid>`, pkg/volume/rbd/rbd_util.go) in the pool of parameter `pool`,
 * default `replicapool` (Rook's example pool) for the CSI driver and `rbd` for in-tree (a class
 * with a `monitors` parameter is in-tree: kubernetes.io/rbd requires it, ceph-csi uses
 * clusterID). The uuid is derived from the request name, so a repeated CreateVolume finds the
 * same image, as ceph-csi finds it through its omap journal. Sizes round up as ceph-csi's
 * util.RoundOffBytes (to MiB below 1 GiB, to GiB above); 0 means 1 GiB.
 *
 * Mapping (NodeStage) follows ceph-csi: ceph-csi checks the image for watchers before `rbd map`
 * and fails with INTERNAL `rbd image <pool>/<image> is still being used` when any client other
 * than itself watches it (isInUse). A writer's map then watches the image and takes the
 * exclusive lock; a read-only map (ROX) establishes no watch (Linux "rbd: don't establish watch
 * for read-only mappings", 5.3) and takes no lock, so ROX maps on several nodes are fine. RWX is
 * only for block volumes (INVALID_ARGUMENT, texts from ceph-csi). A watch ends at NodeUnstage
 * (unmap), when its client is blocklisted, or `osd_client_watch_timeout` (30 s by default,
 * unverified: k8s-semantics case 118) after its node was lost; `nodeLost` keeps the dead watch
 * until then, evaluated lazily from `nowMs` (no timer). A new map that finds the lock held by a
 * dead client breaks it and blocklists that client (rbd_blocklist_on_break_lock, case 119).
 * A restarted node is a new client (new address/nonce), so its own stale watch counts as foreign.
 *
 * ceph-csi waits for watchers to go away: wait.ExponentialBackoff(1 s, x1.4, 10 steps) — checks at
 * 0, 1, 2.4, 4.36 ... 49.15 s — and only then fails. `handle` makes one check; the Component
 * repeats it at those instants with timers and replies when a check passes or after the last
 * one, so a watch that expires within ~49 s lets the map succeed at the next check (case 117).
 *
 * Monitors: without quorum (more than half of the monitors up, floor(n/2)+1) nothing that needs
 * the cluster maps answers: CreateVolume, DeleteVolume and NodeStage (map) get no answer
 * ('unavailable': cephRbdBackend holds them until quorum returns), while I/O of an already
 * mapped client keeps going to the OSDs (case 120, unverified). A blocklisted client's I/O fails with `Input/output error`; its maps fail.
 * ControllerPublish/Unpublish are answered OK without touching the cluster (ceph-csi has no
 * PUBLISH_UNPUBLISH: the external-attacher attaches trivially). GetCapacity is UNIMPLEMENTED.
 */
import type { Component, FaultSignal, Port } from '../src/component.ts';
import { MemFs } from '../src/fs.ts';
import { GRPC, type CsiCall, type CsiRequest, type GrpcCode, type VolumeCapability } from './protocol.ts';
import {
  CsiErrorFaults,
  EIO,
  EROFS,
  InjectedErrors,
  UNIMPLEMENTED,
  csiResponse,
  fail,
  fileOp,
  isReadOnlyMode,
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

/** `osd_client_watch_timeout` default (30 s, unverified: k8s-semantics case 118). */
export const WATCH_TIMEOUT_MS = 30_000;

/**
 * When ceph-csi checks for watchers, from the start of NodeStage: rbdImageWatcherInitDelay 1 s,
 * Factor 1.4, Steps 10 (internal/rbd/rbd_util.go) through wait.ExponentialBackoff: 10 checks,
 * 9 sleeps, ~49.15 s in all.
 */
export const WATCHER_CHECKS_MS: readonly number[] = (() => {
  const out = [0];
  let delay = 1000;
  let at = 0;
  for (let i = 1; i < 10; i++) {
    at += delay;
    out.push(Math.round(at));
    delay *= 1.4;
  }
  return out;
})();

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** ceph-csi util.RoundOffBytes; 0 is the 1 GiB default of parseVolCreateRequest. */
export function roundOffBytes(bytes: number): number {
  if (bytes <= 0) return GiB;
  return bytes < GiB ? Math.ceil(bytes / MiB) * MiB : Math.ceil(bytes / GiB) * GiB;
}

interface Image {
  pool: string;
  name: string;
  /** CreateVolume name, or the image name for an image made with createImage. */
  requestName: string;
  sizeBytes: number;
  features: string[];
  fs: MemFs;
  /** Client (`<node>#<generation>`) holding the exclusive lock. */
  lockOwner?: string;
}

interface Watch {
  client: string;
  nodeId: string;
  /** When the client's node was lost; the watch lasts until lostAtMs + watch timeout. */
  lostAtMs?: number;
}

/** A node's mapping of an image (NodeStage) and its bind mounts (NodePublish). */
interface Mapping {
  client: string;
  nodeId: string;
  stagingPath: string;
  readOnly: boolean;
  capability: VolumeCapability;
  publishes: Map<string, boolean>;
}

export class CephCluster implements BackendModel {
  readonly watchTimeoutMs: number;
  private readonly monitors: string[];
  private readonly down = new Set<string>();
  private readonly images = new Map<string, Image>();
  private readonly watches = new Map<string, Watch[]>();
  private readonly mappings = new Map<string, Mapping[]>();
  /** Each node's current client generation: a node that was lost comes back as a new client. */
  private readonly generation = new Map<string, number>();
  /** Fenced nodes (NetworkFence: whole node, until unblocklisted). */
  private readonly blocklistedNodes = new Set<string>();
  /** Single client instances blocklisted when their lock was broken. */
  private readonly blocklistedClients = new Set<string>();
  private readonly injected = new InjectedErrors();
  /** Static ceph-csi handles (an image name without its pool) seen at NodeStage. */
  private readonly aliases = new Map<string, string>();
  /** The latest instant the model was told about; the default for views. */
  private lastNowMs = 0;

  constructor(
    readonly name: string,
    monitors: string[] = ['mon-a', 'mon-b', 'mon-c'],
    opts: { watchTimeoutMs?: number } = {},
  ) {
    this.monitors = [...monitors];
    this.watchTimeoutMs = opts.watchTimeoutMs ?? WATCH_TIMEOUT_MS;
  }

  // ---------------------------------------------------------------------------------------
  // Fault hooks

  monitorDown(name: string): void {
    if (this.monitors.includes(name)) this.down.add(name);
  }

  monitorUp(name: string): void {
    this.down.delete(name);
  }

  /** Monitors that are up, in configuration order. */
  monitorsUp(): string[] {
    return this.monitors.filter((m) => !this.down.has(m));
  }

  hasQuorum(): boolean {
    return this.monitorsUp().length >= Math.floor(this.monitors.length / 2) + 1;
  }

  /** The node died: its client's watches stay until the watch timeout; its maps are gone. */
  nodeLost(nodeId: string, nowMs: number): void {
    this.seen(nowMs);
    const client = this.clientOf(nodeId);
    for (const ws of this.watches.values()) for (const w of ws) if (w.client === client && w.lostAtMs === undefined) w.lostAtMs = nowMs;
    this.dropMappings((m) => m.client === client);
    this.generation.set(nodeId, (this.generation.get(nodeId) ?? 0) + 1);
  }

  /** Fences a node: the OSDs drop its watches and refuse its I/O until unblocklisted. */
  blocklist(nodeId: string): void {
    this.blocklistedNodes.add(nodeId);
    for (const [key, ws] of this.watches) this.watches.set(key, ws.filter((w) => w.nodeId !== nodeId));
  }

  unblocklist(nodeId: string): void {
    this.blocklistedNodes.delete(nodeId);
    for (const c of [...this.blocklistedClients]) if (c.startsWith(`${nodeId}#`)) this.blocklistedClients.delete(c);
  }

  /** The OSD blocklist: fenced nodes (`node-1`) and single client instances (`node-1#0`), sorted. */
  blocklisted(): string[] {
    return [...this.blocklistedNodes, ...this.blocklistedClients].sort();
  }

  isBlocklisted(nodeId: string): boolean {
    return this.blocklistedNodes.has(nodeId) || this.blocklistedClients.has(this.clientOf(nodeId));
  }

  failNext(method: CsiCall['method'], code: GrpcCode, message: string, times = 1): void {
    this.injected.add(method, code, message, times);
  }

  /** Creates an image outside CSI (what `rbd create` does for a static or inline volume). */
  createImage(pool: string, image: string, sizeBytes: number = GiB, features: string[] = ['layering']): void {
    const key = `${pool}/${image}`;
    if (!this.images.has(key)) this.images.set(key, { pool, name: image, requestName: image, sizeBytes, features: [...features], fs: new MemFs() });
  }

  // ---------------------------------------------------------------------------------------
  // Read-only views

  /** Clients watching an image now (live, or lost within the watch timeout), sorted. */
  watchers(volumeId: string, nowMs: number): { client: string; nodeId: string; lostAtMs?: number }[] {
    return this.liveWatches(volumeId, nowMs)
      .map((w) => ({ ...w }))
      .sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }

  /** The node whose client holds the image's exclusive lock. */
  lockOwner(volumeId: string): string | undefined {
    const owner = this.images.get(volumeId)?.lockOwner;
    return owner?.slice(0, owner.lastIndexOf('#'));
  }

  /** Nodes that map each image, plus dead clients whose watch has not yet timed out. */
  attachments(nowMs = this.lastNowMs): Attachment[] {
    const out: Attachment[] = [];
    for (const [volumeId, ms] of this.mappings) for (const m of ms) out.push({ volumeId, nodeId: m.nodeId });
    for (const volumeId of this.watches.keys()) for (const w of this.liveWatches(volumeId, nowMs)) out.push({ volumeId, nodeId: w.nodeId });
    return sortAttachments(out);
  }

  volumes(): BackendVolume[] {
    return [...this.images.keys()].sort().map((k) => {
      const img = this.images.get(k)!;
      return { volumeId: k, name: img.requestName, capacityBytes: img.sizeBytes };
    });
  }

  // ---------------------------------------------------------------------------------------
  // CSI

  handle(call: CsiCall, nowMs: number): CsiAnswer | 'unavailable' {
    this.seen(nowMs);
    const injected = this.injected.take(call.method);
    if (injected) return injected;
    switch (call.method) {
      case 'CreateVolume':
        return this.createVolume(call);
      case 'DeleteVolume':
        return this.deleteVolume(this.resolve(call.volumeId), nowMs);
      case 'ControllerPublishVolume':
      case 'ControllerUnpublishVolume':
        return ok();
      case 'GetCapacity':
        return UNIMPLEMENTED;
      case 'NodeStageVolume':
        return this.nodeStage(call, nowMs);
      case 'NodeUnstageVolume': {
        const volumeId = this.resolve(call.volumeId);
        const m = this.mappingOf(volumeId, call.nodeId);
        if (m) this.unmap(volumeId, m);
        return ok();
      }
      case 'NodePublishVolume': {
        const m = this.mappingOf(this.resolve(call.volumeId), call.nodeId);
        if (!m) return fail(GRPC.FAILED_PRECONDITION, `volume ${call.volumeId} is not staged on node ${call.nodeId}`);
        const prev = m.publishes.get(call.targetPath);
        if (prev !== undefined && prev !== call.readonly) {
          return fail(GRPC.ALREADY_EXISTS, `volume ${call.volumeId} is already published at ${call.targetPath} with a different readonly flag`);
        }
        m.publishes.set(call.targetPath, call.readonly);
        return ok();
      }
      case 'NodeUnpublishVolume':
        this.mappingOf(this.resolve(call.volumeId), call.nodeId)?.publishes.delete(call.targetPath);
        return ok();
    }
  }

  /** I/O through a mapped image; needs no monitors, only the OSDs. */
  file(req: FileCall, nowMs: number): FileAnswer | 'unavailable' {
    this.seen(nowMs);
    const volumeId = this.resolve(req.volumeId);
    const img = this.images.get(volumeId);
    const m = this.mappingOf(volumeId, req.nodeId);
    if (!img || !m) return { ok: false, error: EIO };
    if (this.isBlocklisted(req.nodeId)) return { ok: false, error: EIO };
    const allPublishesReadOnly = m.publishes.size > 0 && [...m.publishes.values()].every((ro) => ro);
    if ((m.readOnly || allPublishesReadOnly) && req.op !== 'read') return { ok: false, error: EROFS };
    return fileOp(img.fs, '/', req);
  }

  // ---------------------------------------------------------------------------------------

  private seen(nowMs: number): void {
    if (nowMs > this.lastNowMs) this.lastNowMs = nowMs;
  }

  /** `<pool>/<image>` for a volume id (a bare image name: a static handle seen at NodeStage, else pool `rbd`). */
  private resolve(volumeId: string): string {
    if (volumeId.includes('/')) return volumeId;
    return this.aliases.get(volumeId) ?? `rbd/${volumeId}`;
  }

  /** The node's current client instance (`<node>#<generation>`). */
  clientOf(nodeId: string): string {
    return `${nodeId}#${this.generation.get(nodeId) ?? 0}`;
  }

  private mappingOf(volumeId: string, nodeId: string): Mapping | undefined {
    const client = this.clientOf(nodeId);
    return this.mappings.get(volumeId)?.find((m) => m.client === client);
  }

  private dropMappings(pred: (m: Mapping) => boolean): void {
    for (const [key, ms] of this.mappings) {
      const keep = ms.filter((m) => !pred(m));
      if (keep.length > 0) this.mappings.set(key, keep);
      else this.mappings.delete(key);
    }
  }

  /** Watches still in force at nowMs; expired ones are dropped here (lazy timeout). */
  private liveWatches(volumeId: string, nowMs: number): Watch[] {
    const ws = this.watches.get(volumeId);
    if (!ws) return [];
    const live = ws.filter((w) => w.lostAtMs === undefined || nowMs < w.lostAtMs + this.watchTimeoutMs);
    if (live.length > 0) this.watches.set(volumeId, live);
    else this.watches.delete(volumeId);
    return live;
  }

  /** A static ceph-csi volume carries the image as its handle and the pool in its context. */
  private stageVolumeId(volumeId: string, volumeContext: Record<string, string>): string {
    if (volumeId.includes('/')) return volumeId;
    const id = `${volumeContext['pool'] ?? 'rbd'}/${volumeId}`;
    this.aliases.set(volumeId, id);
    return id;
  }

  private createVolume(call: Extract<CsiCall, { method: 'CreateVolume' }>): CsiAnswer | 'unavailable' {
    if (!call.name) return fail(GRPC.INVALID_ARGUMENT, 'volume Name cannot be empty');
    if (call.capabilities.length === 0) return fail(GRPC.INVALID_ARGUMENT, 'volume Capabilities cannot be empty');
    // controllerserver.go parseVolCreateRequest: multi-node writers only for block volumes.
    const multiNodeFile = call.capabilities.some((c) => c.accessType === 'mount' && (c.accessMode === 'MULTI_NODE_MULTI_WRITER' || c.accessMode === 'MULTI_NODE_SINGLE_WRITER'));
    if (multiNodeFile) return fail(GRPC.INVALID_ARGUMENT, 'multi node access modes are only supported on rbd `block` type volumes');
    const features = call.parameters['imageFeatures'];
    if (features !== undefined && features === '') return fail(GRPC.INVALID_ARGUMENT, 'empty imageFeatures parameter');
    if (!this.hasQuorum()) return 'unavailable';
    const inTree = call.parameters['monitors'] !== undefined;
    const pool = call.parameters['pool'] || (inTree ? 'rbd' : 'replicapool');
    const image = `${inTree ? 'kubernetes-dynamic-pvc-' : 'csi-vol-'}${uuidFromName(call.name)}`;
    const volumeId = `${pool}/${image}`;
    const size = inTree ? Math.ceil(Math.max(call.capacityBytes, 1) / MiB) * MiB : roundOffBytes(call.capacityBytes);
    const existing = [...this.images.values()].find((i) => i.requestName === call.name);
    if (existing) {
      // rbd_journal.go Exists: an image smaller than asked is a name conflict; larger is fine.
      if (existing.pool !== pool || existing.sizeBytes < size) {
        return fail(GRPC.ALREADY_EXISTS, `volume name conflict: image with the same name (${existing.name}) but with different size already exists`);
      }
      return ok(this.createResult(existing, call.parameters));
    }
    const img: Image = { pool, name: image, requestName: call.name, sizeBytes: size, features: (features ?? 'layering').split(','), fs: new MemFs() };
    this.images.set(volumeId, img);
    return ok(this.createResult(img, call.parameters));
  }

  private createResult(img: Image, parameters: Record<string, string>): { volumeId: string; capacityBytes: number; volumeContext: Record<string, string> } {
    // buildCreateVolumeResponse: the parameters plus pool, journalPool and imageName.
    return {
      volumeId: `${img.pool}/${img.name}`,
      capacityBytes: img.sizeBytes,
      volumeContext: { ...parameters, pool: img.pool, journalPool: img.pool, imageName: img.name },
    };
  }

  private deleteVolume(volumeId: string, nowMs: number): CsiAnswer | 'unavailable' {
    if (!volumeId) return fail(GRPC.INVALID_ARGUMENT, 'empty volume ID in request');
    if (!this.hasQuorum()) return 'unavailable';
    const img = this.images.get(volumeId);
    if (!img) return ok();
    // cleanupRBDImage: any watcher but the controller's own means the image is in use.
    if (this.liveWatches(volumeId, nowMs).length > 0) return fail(GRPC.INTERNAL, `rbd ${img.name} is still being used`);
    this.images.delete(volumeId);
    this.mappings.delete(volumeId);
    return ok();
  }

  private nodeStage(call: Extract<CsiCall, { method: 'NodeStageVolume' }>, nowMs: number): CsiAnswer | 'unavailable' {
    const volumeId = this.stageVolumeId(call.volumeId, call.volumeContext);
    // Already mounted at the staging path: OK without contacting the cluster.
    const existing = this.mappingOf(volumeId, call.nodeId);
    if (existing) return ok();
    const cap = call.capability;
    const multiNodeWriter = cap.accessMode === 'MULTI_NODE_MULTI_WRITER';
    if (multiNodeWriter && cap.accessType !== 'block') {
      return fail(GRPC.INVALID_ARGUMENT, 'rbd: RWX access mode request is only valid for volumes with access type `block`');
    }
    if (!this.hasQuorum()) return 'unavailable';
    if (this.isBlocklisted(call.nodeId)) {
      // A fenced client cannot talk to the OSDs (ESHUTDOWN; the exact rbd output is unverified).
      return fail(GRPC.INTERNAL, `rbd: map failed with error exit status 108, rbd error output: rbd: map failed: (108) Cannot send after transport endpoint shutdown`);
    }
    const img = this.images.get(volumeId);
    if (!img) return fail(GRPC.NOT_FOUND, `rbd image ${volumeId} not found`);
    const client = this.clientOf(call.nodeId);
    const readOnly = isReadOnlyMode(cap.accessMode);
    // waitForrbdImage/isInUse, skipped only for RWX block (DisableInUseChecks).
    if (!multiNodeWriter && this.liveWatches(volumeId, nowMs).some((w) => w.client !== client)) {
      return fail(GRPC.INTERNAL, `rbd image ${volumeId} is still being used`);
    }
    if (!readOnly) {
      const ws = this.watches.get(volumeId) ?? [];
      ws.push({ client, nodeId: call.nodeId });
      this.watches.set(volumeId, ws);
      if (!multiNodeWriter) {
        // Taking the lock from a dead owner breaks it and blocklists that client.
        const owner = img.lockOwner;
        if (owner && owner !== client && !this.blocklistedNodes.has(owner.slice(0, owner.lastIndexOf('#')))) this.blocklistedClients.add(owner);
        img.lockOwner = client;
      }
    }
    const ms = this.mappings.get(volumeId) ?? [];
    ms.push({ client, nodeId: call.nodeId, stagingPath: call.stagingPath, readOnly, capability: cap, publishes: new Map() });
    this.mappings.set(volumeId, ms);
    return ok();
  }

  private unmap(volumeId: string, m: Mapping): void {
    const ws = this.watches.get(volumeId)?.filter((w) => w.client !== m.client) ?? [];
    if (ws.length > 0) this.watches.set(volumeId, ws);
    else this.watches.delete(volumeId);
    const img = this.images.get(volumeId);
    if (img?.lockOwner === m.client) delete img.lockOwner;
    this.dropMappings((x) => x === m);
  }

  /** True when the answer is ceph-csi's in-use failure that the watcher wait retries. */
  static isStillBeingUsed(a: CsiAnswer | 'unavailable'): boolean {
    return a !== 'unavailable' && a.code === GRPC.INTERNAL && a.message.startsWith('rbd image ') && a.message.endsWith(' is still being used');
  }
}

/**
 * Serves a CephCluster. NodeStage waits for foreign watchers as ceph-csi does: the check is
 * repeated at WATCHER_CHECKS_MS after the request and the reply goes out when a check passes or
 * after the last one.
 *
 * Without monitor quorum a call that needs the cluster maps hangs (librados and krbd wait for a
 * map; rados_mon_op_timeout is 0, no limit, by default) while it holds ceph-csi's per-volume lock
 * (internal/util/idlocker.go: the controller locks CreateVolume by request name, DeleteVolume by
 * volume id; the node plugin locks its calls by volume id): a retry of the same operation meanwhile
 * — the caller's deadline passed — gets ABORTED `an operation with the given Volume ID <id>
 * already exists`. The hung calls go on when quorum returns (the `outage/<monitor>` fault signal
 * says a monitor came back), in the order they arrived; their callers have usually given up by
 * then, so what they created is found again by the retry (CreateVolume is idempotent by name).
 */
export function cephRbdBackend(port: Port, opts: { name: string; model: CephCluster }): Component {
  const model = opts.model;
  const faults = new CsiErrorFaults(port.rng);
  const waits = new Map<string, { req: CsiRequest; from: string; startMs: number; check: number; client: string }>();
  /** Calls hung without quorum, by lock key, in arrival order. */
  const hung = new Map<string, { req: CsiRequest; from: string }>();
  const keyOf = (volumeId: string, nodeId: string) => `watchers/${nodeId}/${volumeId}`;

  /** The lock ceph-csi takes for a call, undefined for calls it answers without one. */
  const lockOf = (c: CsiCall): string | undefined => {
    switch (c.method) {
      case 'CreateVolume':
        return `create/${c.name}`;
      case 'DeleteVolume':
        return `delete/${c.volumeId}`;
      case 'NodeStageVolume':
      case 'NodeUnstageVolume':
      case 'NodePublishVolume':
      case 'NodeUnpublishVolume':
        return keyOf(c.volumeId, c.nodeId);
      default:
        return undefined;
    }
  };

  const aborted = (m: CsiRequest, from: string): void => {
    const c = m.call;
    const id = c.method === 'CreateVolume' ? c.name : 'volumeId' in c ? c.volumeId : '';
    port.send(from, csiResponse(m.reqId, fail(GRPC.ABORTED, `an operation with the given Volume ID ${id} already exists`)));
  };

  const attempt = (key: string): void => {
    const w = waits.get(key)!;
    // The node plugin doing the wait runs on the node: a node lost meanwhile took it along, and
    // no map happens for it.
    if (model.clientOf((w.req.call as { nodeId: string }).nodeId) !== w.client) {
      waits.delete(key);
      return;
    }
    const a = model.handle(w.req.call, port.now());
    if (a === 'unavailable') {
      waits.delete(key);
      hung.set(key, { req: w.req, from: w.from });
      return;
    }
    if (CephCluster.isStillBeingUsed(a) && w.check < WATCHER_CHECKS_MS.length - 1) {
      w.check++;
      port.setTimer(key, w.startMs + WATCHER_CHECKS_MS[w.check]! - port.now());
      return;
    }
    waits.delete(key);
    port.send(w.from, csiResponse(w.req.reqId, a));
  };

  /** A call the cluster can answer now (or that hangs until it can). */
  const serve = (m: CsiRequest, from: string, key: string | undefined): void => {
    const c = m.call;
    if (c.method === 'NodeStageVolume' && key !== undefined) {
      waits.set(key, { req: m, from, startMs: port.now(), check: 0, client: model.clientOf(c.nodeId) });
      return attempt(key);
    }
    const a = model.handle(c, port.now());
    if (a !== 'unavailable') port.send(from, csiResponse(m.reqId, a));
    else if (key !== undefined) hung.set(key, { req: m, from });
  };

  /** Quorum may be back: the hung calls go on, oldest first. */
  const resume = (): void => {
    if (hung.size === 0 || !model.hasQuorum()) return;
    const calls = [...hung];
    hung.clear();
    for (const [key, h] of calls) serve(h.req, h.from, key);
  };

  const inner = serveModel(
    port,
    model,
    (m, from) => {
      const key = lockOf(m.call);
      if (key === undefined) return false;
      if (waits.has(key) || hung.has(key)) {
        aborted(m, from);
        return true;
      }
      serve(m, from, key);
      return true;
    },
    faults,
  );

  return {
    receive: (msg, from) => inner.receive(msg, from),
    fault(f: FaultSignal): void {
      if (faults.signal(f)) return;
      // A monitor went down or came back (the world has told the model already).
      if (f.name.startsWith('outage/') && !f.on) resume();
    },
    timer(key: string): void {
      if (waits.has(key)) attempt(key);
    },
  };
}
