/**
 * The attach/detach controller's node status updater (attach-detach-controller.ts), as
 * pkg/controller/volume/attachdetach/statusupdater/node_status_updater.go: writes each Node's
 * status.volumesAttached from the actual state of world (the entries reported as attached),
 * one write in flight per Node.
 *
 * Owns: Node status.volumesAttached. Sends: api.request updateStatus Node under the cached
 * resourceVersion (upstream patches), and get Node after a 409, so that the next write carries
 * a fresh version. The reconciler's pass (attach-detach-reconciler.ts) asks for a write wherever
 * the cached Node differs from the ASW, so that entries someone else's write dropped come back.
 */
import type { RequestBody } from '../../src/api-client.ts';
import { POD_NODE_INDEX, type Cache, type ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject } from '../../src/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';
import type { NodeObj } from './attach-detach-utils.ts';
import type { ActualStateOfWorld, DesiredStateOfWorld } from './attach-detach-state.ts';

export interface NodeWriter {
  inflight: boolean;
  /** A re-read after a conflict is in flight. */
  refreshing: boolean;
  /** Callbacks waiting for the next write to land, and those waiting for the one in flight. */
  queued: ((ok: boolean) => void)[];
  sent: ((ok: boolean) => void)[];
}

/** What the status updater uses of the rest of the controller. */
export interface StatusUpdaterDeps {
  cache: Cache;
  actual: ActualStateOfWorld;
  desired: DesiredStateOfWorld;
  /** Nodes whose cached status.volumesAttached is not empty. */
  nodesReporting: ReadonlySet<string>;
  /** An API request that fails with a Timeout status when no answer comes in time. */
  request(body: RequestBody, cb: (res: ApiResponse) => void): void;
  /** Puts what one of our own writes returned into the cache, ahead of its watch event. */
  record(type: ChangeType, o: KObject): void;
  /** Keeps the controller's relevance indexes in step with what the cache holds. */
  track(kind: string, before: KObject | undefined, after: KObject | undefined): void;
  /** processVolumesInUse: MountedByNode follows the Node; whether the reconciler's inputs changed. */
  onNode(before: NodeObj | undefined, cur: NodeObj | undefined): boolean;
  /** Something changed: the reconciler works out when it next has something to do. */
  kick(): void;
}

/** The status updater, as the reconciler and the detach operation use it. */
export type NodeStatusUpdater = ReturnType<typeof nodeStatusUpdater>;

export function nodeStatusUpdater(deps: StatusUpdaterDeps) {
  const { cache, nodesReporting, request, record, track, onNode, kick } = deps;
  const { asw, reportedOn } = deps.actual;
  const { syncPodsBy } = deps.desired;
  const writers = new Map<string, NodeWriter>();

  /** Nodes whose status.volumesAttached is or should be non-empty, by name. */
  function nodesToReport(): string[] {
    const names = new Set(nodesReporting);
    for (const m of asw.values()) for (const [node, e] of m) if (e.reported) names.add(node);
    return [...names].sort();
  }

  function sameAttached(node: NodeObj, names: string[]): boolean {
    const attached = (node.status?.volumesAttached ?? []) as { name: string }[];
    if (names.length === 0) return attached.length === 0;
    const cur = attached.map((v) => v.name).sort();
    return cur.length === names.length && cur.every((n, i) => n === names[i]);
  }

  /** Writes the Node's status.volumesAttached from the ASW; `cb` learns whether it landed. */
  function syncNodeStatus(name: string, cb?: (ok: boolean) => void): void {
    let w = writers.get(name);
    if (!w) writers.set(name, (w = { inflight: false, refreshing: false, queued: [], sent: [] }));
    if (cb) w.queued.push(cb);
    if (w.inflight || w.refreshing) return;
    const writer = w;
    const node = cache.get<NodeObj>('Node', undefined, name);
    const names = reportedOn(name);
    const flush = (list: ((ok: boolean) => void)[], ok: boolean) => list.forEach((f) => f(ok));
    if (!node || sameAttached(node, names)) {
      // Nothing to write (a deleted Node has no status to keep).
      const q = writer.queued;
      writer.queued = [];
      return flush(q, true);
    }
    const obj = deepCopy(node) as NodeObj;
    obj.status ??= {};
    if (names.length > 0) obj.status.volumesAttached = names.map((n) => ({ name: n, devicePath: '' }));
    else delete obj.status.volumesAttached;
    writer.inflight = true;
    writer.sent = writer.queued;
    writer.queued = [];
    request({ verb: 'updateStatus', kind: 'Node', name, obj }, (res) => {
      writer.inflight = false;
      const sent = writer.sent;
      writer.sent = [];
      if (res.ok && res.obj) record('MODIFIED', res.obj);
      else if (res.status?.code === 409) refreshNode(name, writer);
      flush(sent, res.ok);
      if (writer.queued.length > 0) syncNodeStatus(name);
      kick();
    });
  }

  /** After a conflict: read the Node again so that the next write carries a fresh version. */
  function refreshNode(name: string, w: NodeWriter): void {
    w.refreshing = true;
    request({ verb: 'get', kind: 'Node', name }, (res) => {
      w.refreshing = false;
      if (res.ok && res.obj) {
        const before = cache.get<NodeObj>('Node', undefined, name);
        cache.put(res.obj);
        const after = cache.get<NodeObj>('Node', undefined, name);
        track('Node', before, after);
        if (!before) syncPodsBy(POD_NODE_INDEX, name);
        onNode(before, after);
      }
      if (w.queued.length > 0) syncNodeStatus(name);
      kick();
    });
  }

  return { writers, nodesToReport, sameAttached, syncNodeStatus };
}
