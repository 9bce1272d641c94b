/**
 * StatefulSet guarantees (SPEC §6):
 * - sts-identity-unique: never two running pods with one StatefulSet identity. Observed from
 *   the kubelets' trace lines (`pod ns/name running` / `stopped`), because what runs on a node
 *   can outlive the API object (a force delete while the node is unreachable).
 * - ordered-ready: with OrderedReady, a pod is created only when every predecessor is Running
 *   and Ready (assertMonotonicInvariants in stateful_set_control_test.go), observed on the
 *   store's commits. The controller decides on what its informers show: a predecessor that was
 *   Ready and was marked not Ready by the node lifecycle controller (MarkPodsNotReady: its node
 *   stopped reporting; its containers are still ready) may not have reached it yet, and counts
 *   as Ready.
 */
import type { KObject } from '../../src/protocol.ts';
import type { ObjectStore } from '../../src/store.ts';
import { isPodReady } from '../../src/model/objects.ts';
import type { Violation } from './types.ts';

const RUNNING = /^pod (\S+)\/(\S+) running/;
const STOPPED = /^pod (\S+)\/(\S+) stopped/;
/** The line the world writes for a node that went down: every container on it stopped. */
export const NODE_DOWN = 'node down: its containers stopped';

export class IdentityMonitor {
  private readonly running = new Map<string, Set<string>>();
  readonly violations: Violation[] = [];

  /** Feed every trace event; only kubelet state lines matter. */
  observe(atMs: number, kind: string, actor: string, detail: string): void {
    if (kind !== 'S' || !actor.startsWith('kubelet/')) return;
    const node = actor.slice('kubelet/'.length);
    if (detail === NODE_DOWN) return this.nodeDown(node);
    let m = RUNNING.exec(detail);
    if (m) {
      const key = `${m[1]}/${m[2]}`;
      const nodes = this.running.get(key) ?? new Set<string>();
      nodes.add(node);
      this.running.set(key, nodes);
      if (nodes.size > 1) {
        this.violations.push({
          invariant: 'sts-identity-unique',
          atMs,
          message: `pod ${key} is running on ${[...nodes].sort().join(' and ')} at once`,
          objects: [`Pod/${key}`],
        });
      }
      return;
    }
    m = STOPPED.exec(detail);
    if (m) this.running.get(`${m[1]}/${m[2]}`)?.delete(node);
  }

  /** A node that crashed stops all its containers at once. */
  nodeDown(node: string): void {
    for (const nodes of this.running.values()) nodes.delete(node);
  }
}

function ordinalOf(name: string, setName: string): number {
  const m = /^(.*)-([0-9]+)$/.exec(name);
  return m && m[1] === setName ? Number(m[2]) : -1;
}

export class OrderedReadyMonitor {
  readonly violations: Violation[] = [];
  /** Pods (by uid) that have been Running and Ready. */
  private readonly wasReady = new Set<string>();
  constructor(private readonly store: ObjectStore) {}

  /** Call on each store commit. */
  observe(event: string, obj: KObject, old: KObject | undefined, atMs: number): void {
    if (obj.kind === 'Pod' && event !== 'DELETED' && obj.status?.phase === 'Running' && isPodReady(obj)) this.wasReady.add(obj.metadata.uid!);
    else if (obj.kind === 'Pod' && event === 'DELETED') this.wasReady.delete(obj.metadata.uid!);
    if (event !== 'ADDED' || obj.kind !== 'Pod' || old) return;
    const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'StatefulSet');
    if (!ref) return;
    const set = this.store.get('StatefulSet', obj.metadata.namespace, ref.name);
    if (!set || set.spec?.podManagementPolicy === 'Parallel') return;
    const start = set.spec?.ordinals?.start ?? 0;
    const ord = ordinalOf(obj.metadata.name!, ref.name);
    for (let j = start; j < ord; j++) {
      const prev = this.store.get('Pod', obj.metadata.namespace, `${ref.name}-${j}`);
      const healthy = prev && prev.status?.phase === 'Running' && !prev.metadata.deletionTimestamp && (isPodReady(prev) || this.lostReadyWithNode(prev));
      if (!healthy) {
        this.violations.push({
          invariant: 'ordered-ready',
          atMs,
          message: `pod ${obj.metadata.name} was created while its predecessor ${ref.name}-${j} was not Running and Ready`,
          objects: [`StatefulSet/${obj.metadata.namespace}/${ref.name}`, `Pod/${obj.metadata.namespace}/${obj.metadata.name}`],
        });
        return;
      }
    }
  }

  /**
   * A pod that was Ready and is not only because the node lifecycle controller marked it so
   * (MarkPodsNotReady sets the Ready condition alone: its containers are still ready).
   */
  private lostReadyWithNode(pod: KObject): boolean {
    if (!this.wasReady.has(pod.metadata.uid!)) return false;
    const containersReady = ((pod.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'ContainersReady');
    return containersReady?.status === 'True';
  }
}
