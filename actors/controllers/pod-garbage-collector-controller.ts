/**
 * The pod garbage collector (kube-controller-manager's pod-garbage-collector-controller):
 * force-deletes pods no kubelet will ever finish.
 *
 * Owns: nothing but its deletions. Receives: its informers' lists and watch events for Pods
 * (indexed by node) and Nodes; api.response. Sends: get Node (the confirming read),
 * updateStatus Pod (phase Failed), delete Pod with grace 0.
 *
 * Follows pkg/controller/podgc/gc_controller.go at v1.30, every gcCheckPeriod (20 s):
 * - gcTerminating: a terminating pod on a node that is not Ready and has the
 *   node.kubernetes.io/out-of-service taint (non-graceful node shutdown) is marked Failed and
 *   force-deleted;
 * - gcOrphaned: a pod bound to a node that does not exist is quarantined for quarantineTime
 *   (40 s); if a GET still finds no such node, it is marked Failed with DisruptionTarget
 *   (DeletionByPodGC, "PodGC: node no longer exists") and force-deleted;
 * - gcUnscheduledTerminating: a terminating pod that was never scheduled is force-deleted.
 * (gcTerminated, past terminatedPodThreshold 12500 pods, is not modelled: no scenario gets there.)
 * The 20 s loop costs nothing while nothing can be collected: it runs only while some pod is a
 * candidate.
 */
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, POD_NODE_INDEX, podNodeIndex } from '../../src/informer.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';

export const POD_GC_CONTROLLER = 'pod-garbage-collector-controller';

// podgc/gc_controller.go and podgc config defaults (v1.30).
export const GC_CHECK_PERIOD_MS = 20_000;
export const QUARANTINE_MS = 40_000;
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

function nodeReady(node: KObject): boolean {
  return ((node.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True');
}

function outOfService(node: KObject): boolean {
  return ((node.spec?.taints ?? []) as { key: string }[]).some((t) => t.key === TAINT_OUT_OF_SERVICE);
}

export interface PodGcOptions {
  checkPeriodMs?: number;
  quarantineMs?: number;
}

export function podGarbageCollectorController(port: Port, opts: PodGcOptions = {}): Component {
  const api = new ApiClient(port);
  const periodMs = opts.checkPeriodMs ?? GC_CHECK_PERIOD_MS;
  const quarantineMs = opts.quarantineMs ?? QUARANTINE_MS;
  const informers = new Informers(port, api, { kinds: ['Pod', 'Node'], onChange, onSynced: () => arm(candidates()) });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_NODE_INDEX, podNodeIndex);
  /** Missing nodes by name: when their quarantine ends (the nodeQueue's AddAfter). */
  const quarantined = new Map<string, number>();
  /** Pods being force-deleted (by uid). */
  const deleting = new Set<string>();
  let startMs = 0;
  let armed = false;

  /** Whether a pass could collect this pod, now or after a quarantine. */
  function candidate(pod: KObject): boolean {
    const node = pod.spec?.nodeName as string | undefined;
    if (!node) return !!pod.metadata.deletionTimestamp;
    const n = cache.get('Node', undefined, node);
    return !n || (!!pod.metadata.deletionTimestamp && !nodeReady(n) && outOfService(n));
  }

  /** Whether some pod is a candidate: the loop sleeps otherwise. */
  function candidates(): boolean {
    for (const pod of cache.list('Pod')) if (candidate(pod)) return true;
    return false;
  }

  /** What changed may make a pod collectable: only that object (and a node's pods) is looked at. */
  function onChange(type: string, obj: KObject): void {
    if (armed) return;
    if (obj.kind === 'Pod') {
      if (type !== 'DELETED' && candidate(obj)) arm(true);
      return;
    }
    const pods = cache.byIndex('Pod', POD_NODE_INDEX, obj.metadata.name ?? '');
    if (pods.length > 0 && (type === 'DELETED' || pods.some(candidate))) arm(true);
  }

  function arm(needed: boolean): void {
    if (armed || !informers.synced || !needed) return;
    armed = true;
    const since = (port.now() - startMs) % periodMs;
    port.setTimer('gc', periodMs - since);
  }

  function gc(): void {
    armed = false;
    const now = port.now();
    const pods = cache.list('Pod');
    // gcTerminating
    for (const pod of pods) {
      const node = pod.spec?.nodeName ? cache.get('Node', undefined, pod.spec.nodeName) : undefined;
      if (pod.metadata.deletionTimestamp && node && !nodeReady(node) && outOfService(node)) forceDelete(pod, undefined);
    }
    // gcOrphaned: quarantine newly missing nodes, then confirm with the API server.
    const missing = new Set<string>();
    for (const pod of pods) {
      const node = pod.spec?.nodeName as string | undefined;
      if (node && !cache.get('Node', undefined, node)) missing.add(node);
    }
    for (const node of [...missing].sort()) if (!quarantined.has(node)) quarantined.set(node, now + quarantineMs);
    for (const [node, until] of [...quarantined]) {
      if (!missing.has(node)) {
        quarantined.delete(node);
        continue;
      }
      if (until > now) continue;
      quarantined.delete(node);
      api.request({ verb: 'get', kind: 'Node', name: node }, (res) => {
        if (res.ok || res.status?.code !== 404) return;
        const cond = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists', lastTransitionTime: port.nowIso() };
        for (const pod of cache.byIndex('Pod', POD_NODE_INDEX, node)) forceDelete(pod, cond);
      });
    }
    // gcUnscheduledTerminating
    for (const pod of pods) if (!pod.spec?.nodeName && pod.metadata.deletionTimestamp) forceDelete(pod, undefined);
    arm(quarantined.size > 0 || candidates());
  }

  /** markFailedAndDeletePodWithCondition: phase Failed (and the condition), then grace 0. */
  function forceDelete(pod: KObject, cond: Record<string, unknown> | undefined): void {
    const uid = pod.metadata.uid ?? '';
    if (deleting.has(uid)) return;
    deleting.add(uid);
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    const del = (): void => {
      api.request({ verb: 'delete', kind: 'Pod', namespace: ns, name, gracePeriodSeconds: 0, uid }, () => deleting.delete(uid));
    };
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return del();
    const next = deepCopy(pod);
    next.status ??= {};
    next.status.phase = 'Failed';
    if (cond) {
      const conds: Record<string, unknown>[] = (next.status.conditions ??= []);
      const i = conds.findIndex((c) => c['type'] === 'DisruptionTarget');
      if (i >= 0) conds[i] = cond;
      else conds.push(cond);
    }
    const { resourceVersion: _rv, ...metadata } = next.metadata;
    api.request({ verb: 'updateStatus', kind: 'Pod', namespace: ns, name, obj: { ...next, metadata } }, del);
  }

  return {
    start(): void {
      startMs = port.now();
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (key === 'gc') return gc();
      if (!api.timer(key)) informers.timer(key);
    },
  };
}
