/**
 * The attach/detach controller's reconciler (attach-detach-controller.ts), as
 * pkg/controller/volume/attachdetach/reconciler/reconciler.go: on each tick, compares the desired
 * with the actual state of world (attach-detach-state.ts) and starts the operations that close
 * the gap (attach-detach-operations.ts): detaches first (a volume no longer desired and no longer
 * mounted, or force-detached from an unhealthy node after maxWaitForUnmountDuration, or from a
 * node with the out-of-service taint), then attaches, refusing a second node for a volume that
 * does not allow multi-attach (the Multi-Attach error event, once per volume and node); then the
 * Node statuses to write (attach-detach-status-updater.ts).
 *
 * The loop (ticks at start + k * loopMs) costs nothing when idle: a pass without `execute`
 * works out the next tick that has something to do, and only that tick is armed (timer
 * `reconcile`). Waiting for the kubelet to unmount arms nothing: the Node update that reports it
 * kicks the reconciler.
 */
import type { ApiClient } from '../../src/api-client.ts';
import type { Port } from '../../src/component.ts';
import type { Cache } from '../../src/informer.ts';
import { cmp } from '../../src/model/objects.ts';
import { byNsName, hasOutOfServiceTaint, isNodeReady, multiAttachMessage, type AttachableVolume, type NodeObj } from './attach-detach-utils.ts';
import type { ActualStateOfWorld, Desired, DesiredStateOfWorld } from './attach-detach-state.ts';
import { pairKey, SOURCE, type Operations } from './attach-detach-operations.ts';
import type { NodeStatusUpdater } from './attach-detach-status-updater.ts';

/** What the reconciler uses of the rest of the controller. */
export interface ReconcilerDeps {
  port: Port;
  api: ApiClient;
  cache: Cache;
  /** ReconcilerLoopPeriod and ReconcilerMaxWaitForUnmountDuration. */
  loopMs: number;
  maxWaitMs: number;
  /** --bug attach-skip-multiattach-check and --bug attach-check-in-use. */
  skipMultiAttachCheck: boolean;
  checkInUse: boolean;
  desired: DesiredStateOfWorld;
  actual: ActualStateOfWorld;
  operations: Operations;
  status: NodeStatusUpdater;
  /** populateActualStateOfWorld: adopt the VolumeAttachments the ASW does not hold. */
  adoptVolumeAttachments(): void;
}

export function attachDetachReconciler(deps: ReconcilerDeps) {
  const { port, api, cache, loopMs, maxWaitMs, skipMultiAttachCheck, checkInUse, adoptVolumeAttachments } = deps;
  const { dsw, desiredVolume, desiredPods } = deps.desired;
  const { asw, entry, reportedOn } = deps.actual;
  const { backoffs, pendingOn, startAttach, startDetach } = deps.operations;
  const { writers, nodesToReport, sameAttached, syncNodeStatus } = deps.status;
  /** SetMultiAttachError: `uniqueName|node` pairs already reported. */
  const multiAttachReported = new Set<string>();

  let tick0Ms = 0;
  let armedAtMs: number | undefined;

  /** The first tick strictly after `atMs`. */
  function tickAfter(atMs: number): number {
    return tick0Ms + (Math.floor((atMs - tick0Ms) / loopMs) + 1) * loopMs;
  }

  /** --bug attach-check-in-use: the nodes whose cached status.volumesInUse lists the volume. */
  function nodesUsing(unique: string): string[] {
    return cache.list<NodeObj>('Node').filter((n) => (n.status?.volumesInUse ?? []).includes(unique)).map((n) => n.metadata.name!);
  }

  /** The pass's instant and the earliest tick it found something due at (see reconcilePass). */
  let passAtMs = 0;
  let passDueMs: number | undefined;

  function dueAt(t: number): void {
    passDueMs = passDueMs === undefined ? t : Math.min(passDueMs, t);
  }

  function backoffReadyAt(key: string): number | undefined {
    const b = backoffs.get(key);
    if (!b || passAtMs > b.lastErrorAtMs + b.durationMs) return undefined;
    return tickAfter(b.lastErrorAtMs + b.durationMs);
  }

  /**
   * One reconciler pass. With `execute`, starts every operation that can start now (this is a
   * tick). Without, only works out when the next tick has something to do. Returns that instant,
   * or undefined when nothing will be due without a new event.
   */
  function reconcile(execute: boolean): number | undefined {
    // A pass may run another (an attach that fails at once kicks): keep the outer pass's state.
    const outerAtMs = passAtMs;
    const outerDueMs = passDueMs;
    const due = reconcilePass(execute);
    passAtMs = outerAtMs;
    passDueMs = outerDueMs;
    return due;
  }

  function reconcilePass(execute: boolean): number | undefined {
    const now = port.now();
    const at = execute ? now : tickAfter(now);
    passAtMs = at;
    passDueMs = undefined;

    adoptVolumeAttachments();
    if (multiAttachReported.size > 0) for (const k of [...multiAttachReported]) {
      const [unique, node] = k.split('|') as [string, string];
      if (!dsw.get(unique)?.nodes.has(node)) multiAttachReported.delete(k);
    }

    // Detaches first, so that volumes of pods rescheduled elsewhere are detached first.
    const attached = asw.size === 0 ? [] : [...asw.values()].flatMap((m) => [...m.values()]).sort((a, b) => cmp(a.volume.uniqueName, b.volume.uniqueName) || cmp(a.node, b.node));
    for (const e of attached) {
      const unique = e.volume.uniqueName;
      if (dsw.get(unique)?.nodes.has(e.node)) continue;
      if (pendingOn(unique, e.volume.multiAttachAllowed ? e.node : undefined)) continue;
      const ready = backoffReadyAt(`detach|${pairKey(unique, e.node)}`);
      if (ready !== undefined) {
        dueAt(ready);
        continue;
      }
      e.detachRequestedAtMs ??= at;
      const timeout = at > e.detachRequestedAtMs + maxWaitMs;
      const node = cache.get<NodeObj>('Node', undefined, e.node);
      const healthy = isNodeReady(node);
      const forceDetach = !healthy && timeout;
      const outOfService = hasOutOfServiceTaint(node);
      if (e.mounted && !forceDetach && !outOfService) {
        // Still mounted: wait for the kubelet's volumesInUse, or force after the timeout from
        // an unhealthy node.
        if (!healthy) dueAt(tickAfter(e.detachRequestedAtMs + maxWaitMs));
        continue;
      }
      if (!execute) return at;
      if (timeout) port.note(`force detaching ${unique} from ${e.node}: maxWaitForUnmountDuration ${maxWaitMs}ms expired`);
      startDetach(e);
    }

    for (const unique of dsw.size === 0 ? [] : [...dsw.keys()].sort()) {
      const d = dsw.get(unique)!;
      const vol = desiredVolume(d);
      for (const node of [...d.nodes.keys()].sort()) {
        if (pendingOn(unique, vol.multiAttachAllowed ? node : undefined)) continue;
        const e = entry(unique, node);
        if (e?.confirmed) {
          e.detachRequestedAtMs = undefined; // ResetDetachRequestTime
          continue;
        }
        // BUG (--bug attach-skip-multiattach-check): no Multi-Attach check at all.
        if (!vol.multiAttachAllowed && !skipMultiAttachCheck) {
          // BUG (--bug attach-check-in-use): the nodes that report the volume in use, not the ASW.
          const others = (checkInUse ? nodesUsing(unique) : [...(asw.get(unique)?.keys() ?? [])]).filter((n) => n !== node).sort();
          if (others.length > 0) {
            if (!multiAttachReported.has(pairKey(unique, node))) {
              if (!execute) return at;
              reportMultiAttachError(d, vol, node, others);
              multiAttachReported.add(pairKey(unique, node));
            }
            continue;
          }
        }
        const ready = backoffReadyAt(`attach|${pairKey(unique, node)}`);
        if (ready !== undefined) {
          dueAt(ready);
          continue;
        }
        if (!execute) return at;
        startAttach(vol, node, desiredPods(d, node));
      }
    }

    // Node status: write volumesAttached where it differs from what we report (only a node
    // that has or should have some can differ).
    for (const name of nodesToReport()) {
      const node = cache.get<NodeObj>('Node', undefined, name);
      if (!node) continue;
      const w = writers.get(name);
      if (w && (w.inflight || w.refreshing)) continue;
      if (sameAttached(node, reportedOn(name))) continue;
      if (!execute) return at;
      syncNodeStatus(name);
    }
    return passDueMs;
  }

  function reportMultiAttachError(d: Desired, vol: AttachableVolume, node: string, otherNodes: string[]): void {
    const others = otherNodes
      .flatMap((n) => desiredPods(d, n))
      .sort(byNsName)
      .map((p) => ({ namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '' }));
    for (const pod of desiredPods(d, node)) {
      api.event(pod, 'Warning', 'FailedAttachVolume', multiAttachMessage(vol.name, pod.metadata.namespace ?? '', others), SOURCE);
    }
    port.note(`Multi-Attach error: ${vol.uniqueName} wanted on ${node}, attached to ${otherNodes.join(',')}`);
  }

  /** Arms the reconcile timer for `due`, or disarms it when nothing is due. */
  function arm(due: number | undefined): void {
    if (due === armedAtMs) return;
    if (due === undefined) {
      port.cancelTimer('reconcile');
      armedAtMs = undefined;
      return;
    }
    armedAtMs = due;
    port.setTimer('reconcile', due - port.now());
  }

  function kick(): void {
    arm(reconcile(false));
  }

  return {
    kick,
    /** Run: the ticks count from the controller's start. */
    start(): void {
      tick0Ms = port.now();
    },
    /** The `reconcile` timer: a tick. */
    tick(): void {
      armedAtMs = undefined;
      return arm(reconcile(true));
    },
  };
}
