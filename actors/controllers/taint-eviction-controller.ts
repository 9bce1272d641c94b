/**
 * The taint eviction controller (kube-controller-manager's taint-eviction-controller, split from
 * the node lifecycle controller since v1.29 by SeparateTaintEvictionController): deletes the pods
 * of a node with NoExecute taints they do not tolerate, once their tolerationSeconds have passed.
 *
 * Owns: the scheduled evictions (its timed workers). Receives: its informers' lists and watch
 * events for Nodes and Pods (indexed by node); api.response. Sends: updateStatus Pod (the
 * DisruptionTarget condition), delete Pod (graceful), Events TaintManagerEviction.
 *
 * Follows pkg/controller/tainteviction/taint_eviction.go at v1.30: processPodOnNode — with no
 * NoExecute taint a scheduled eviction is cancelled (`Cancelling deletion of Pod ns/name`); a taint
 * the pod does not tolerate deletes it at once; otherwise it is deleted after the smallest
 * tolerationSeconds of the tolerations that match (none: never), counted from when this
 * controller first scheduled it; deletePodHandler records `Marking for deletion Pod ns/name`,
 * adds DisruptionTarget (DeletionByTaintManager, "Taint manager: deleting due to NoExecute taint")
 * and deletes the pod, which then waits for its kubelet.
 */
import type { Toleration } from 'kubernetes-types/core/v1.js';
import type { Component, Port } from '../../src/component.ts';
import { ApiClient } from '../../src/api-client.ts';
import { Informers, POD_NODE_INDEX, podNodeIndex, type ChangeType } from '../../src/informer.ts';
import type { KObject, Msg } from '../../src/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { toleratesTaint } from '../../src/model/selectors.ts';

export const TAINT_EVICTION_CONTROLLER = 'taint-eviction-controller';
const SOURCE = 'taint-eviction-controller';

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** A scheduled eviction (the TimedWorker of a pod): when it was created and when it fires. */
interface Scheduled {
  createdMs: number;
  fireMs: number;
  uid: string;
}

function noExecuteTaints(node: KObject | undefined): Taint[] {
  return ((node?.spec?.taints ?? []) as Taint[]).filter((t) => t.effect === 'NoExecute');
}

/** getMatchingTolerations: whether every taint is tolerated, and the tolerations that match. */
function matchingTolerations(taints: Taint[], tolerations: Toleration[]): { all: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const t of taints) {
    const hits = tolerations.filter((tol) => toleratesTaint([tol], t));
    if (hits.length === 0) return { all: false, used: [] };
    used.push(...hits);
  }
  return { all: true, used };
}

/** getMinTolerationTime: the smallest tolerationSeconds; -1 means forever (one without it). */
function minTolerationMs(used: Toleration[]): number {
  let min = -1;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    const ms = Math.max(0, t.tolerationSeconds) * 1000;
    if (min < 0 || ms < min) min = ms;
  }
  return min;
}

export function taintEvictionController(port: Port): Component {
  const api = new ApiClient(port);
  const informers = new Informers(port, api, { kinds: ['Node', 'Pod'], onChange });
  const cache = informers.cache;
  cache.addIndex('Pod', POD_NODE_INDEX, podNodeIndex);
  /** Scheduled evictions by `namespace/name`. */
  const scheduled = new Map<string, Scheduled>();

  const keyOf = (pod: KObject) => `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;

  function cancel(key: string, pod: KObject): void {
    const s = scheduled.get(key);
    if (!s) return;
    scheduled.delete(key);
    port.cancelTimer(`evict/${key}`);
    api.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`, SOURCE);
  }

  function processPodOnNode(pod: KObject, node: KObject | undefined): void {
    const key = keyOf(pod);
    if (pod.metadata.deletionTimestamp) {
      scheduled.delete(key);
      port.cancelTimer(`evict/${key}`);
      return;
    }
    const taints = noExecuteTaints(node);
    if (taints.length === 0) return cancel(key, pod);
    const { all, used } = matchingTolerations(taints, (pod.spec?.tolerations ?? []) as Toleration[]);
    const now = port.now();
    if (!all) return schedule(key, pod, now, now);
    const min = minTolerationMs(used);
    if (min < 0) return cancel(key, pod);
    const prev = scheduled.get(key);
    const createdMs = prev?.createdMs ?? now;
    if (prev && prev.fireMs <= createdMs + min) return;
    schedule(key, pod, createdMs, createdMs + min);
  }

  function schedule(key: string, pod: KObject, createdMs: number, fireMs: number): void {
    scheduled.set(key, { createdMs, fireMs, uid: pod.metadata.uid ?? '' });
    port.setTimer(`evict/${key}`, Math.max(0, fireMs - port.now()));
  }

  /** deletePodHandler: the event, the DisruptionTarget condition, then the graceful delete. */
  function evict(key: string): void {
    const s = scheduled.get(key);
    scheduled.delete(key);
    const slash = key.indexOf('/');
    const pod = cache.get('Pod', key.slice(0, slash), key.slice(slash + 1));
    if (!s || !pod || pod.metadata.uid !== s.uid || pod.metadata.deletionTimestamp) return;
    api.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`, SOURCE);
    const next = deepCopy(pod);
    const conds: Record<string, unknown>[] = ((next.status ??= {}).conditions ??= []);
    const cond = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: port.nowIso() };
    const i = conds.findIndex((c) => c['type'] === 'DisruptionTarget');
    if (i >= 0) conds[i] = cond;
    else conds.push(cond);
    const { resourceVersion: _rv, ...metadata } = next.metadata;
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    api.request({ verb: 'updateStatus', kind: 'Pod', namespace: ns, name, obj: { ...next, metadata } }, () => {
      api.request({ verb: 'delete', kind: 'Pod', namespace: ns, name, uid: s.uid }, (res) => {
        // A failed delete is tried again (the worker's retries), unless the pod is gone.
        if (!res.ok && res.status?.code !== 404 && res.status?.code !== 409) schedule(key, pod, s.createdMs, port.now() + 1_000);
      });
    });
  }

  function onChange(type: ChangeType, obj: KObject, old: KObject | undefined): void {
    if (obj.kind === 'Node') {
      if (type === 'DELETED') return;
      if (old && JSON.stringify(noExecuteTaints(old)) === JSON.stringify(noExecuteTaints(obj))) return;
      for (const pod of cache.byIndex('Pod', POD_NODE_INDEX, obj.metadata.name ?? '')) processPodOnNode(pod, obj);
      return;
    }
    const key = keyOf(obj);
    if (type === 'DELETED') {
      scheduled.delete(key);
      port.cancelTimer(`evict/${key}`);
      return;
    }
    const node = obj.spec?.nodeName;
    if (!node) return;
    if (old && old.spec?.nodeName === node && old.metadata.deletionTimestamp === obj.metadata.deletionTimestamp && JSON.stringify(old.spec?.tolerations) === JSON.stringify(obj.spec?.tolerations)) return;
    processPodOnNode(obj, cache.get('Node', undefined, node));
  }

  return {
    start(): void {
      informers.start();
    },
    receive(msg: Msg): void {
      if (!api.handle(msg)) informers.handle(msg);
    },
    timer(key: string): void {
      if (key.startsWith('evict/')) return evict(key.slice('evict/'.length));
      if (!api.timer(key)) informers.timer(key);
    },
  };
}
