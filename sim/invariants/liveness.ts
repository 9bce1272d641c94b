/**
 * `converges` (SPEC §6), the liveness half of a fault-injection run: after the last fault healed
 * and `settle` passed, the cluster is in its desired state — every StatefulSet has its replicas
 * Ready at its update revision, every claim a pod uses is Bound, every pod runs and is Ready, no
 * pod is Terminating, and EndpointSlices list exactly the ready pods (DNS, which publishes them,
 * is judged by dns-consistent after the same settling).
 *
 * What is not reached is compared with the same scenario and seed run without faults (a
 * differential oracle, as Acto's): only what that run reaches and this one does not is a
 * violation (a claim that never binds even without faults is no fault's doing). Items are keyed
 * the same in both runs (kind, namespace, name), so the message says what is pending and what the
 * fault-free run reached: `statefulset default/web: readyReplicas 2/3, 3/3 without faults`.
 *
 * Pure functions over a snapshot of the store, as STYLE.md's invariants are.
 */
import type { KObject } from '../../src/protocol.ts';
import { isPodReady } from '../../src/model/objects.ts';
import { matchesMapSelector } from '../../src/model/selectors.ts';
import type { Violation } from './types.ts';

/** One thing the desired state asks for, and how far the run got. */
export interface DesiredItem {
  /** `statefulset default/web`, `pod default/web-0`, `pvc default/www-web-0`, ... */
  key: string;
  /** What the run shows: `readyReplicas 2/3`, `Terminating on node-1`, `Pending`. */
  state: string;
  holds: boolean;
  /** The object, as `Kind/namespace/name`, for the report. */
  object: string;
  /** The node a pod is bound to (for the admin hint when that node never came back). */
  node?: string;
}

export interface Snapshot {
  list(kind: string): KObject[];
}

const ns = (o: KObject) => o.metadata.namespace ?? 'default';

function podState(p: KObject): { state: string; holds: boolean } {
  if (p.metadata.deletionTimestamp) return { state: `Terminating${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}`, holds: false };
  const phase = p.status?.phase ?? 'Pending';
  const ready = isPodReady(p);
  if (phase === 'Running' && ready) return { state: 'Running and Ready', holds: true };
  const waiting = (p.status?.containerStatuses ?? []).map((c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason).find((r: string | undefined) => r);
  return { state: phase === 'Running' ? 'Running, not Ready' : waiting ? `${phase} (${waiting})` : phase, holds: false };
}

/** Every item of the desired state, in a stable order. */
export function desiredState(s: Snapshot): DesiredItem[] {
  const out: DesiredItem[] = [];
  for (const set of s.list('StatefulSet')) if (!set.metadata.deletionTimestamp) out.push(setItem(set));
  const pods = s.list('Pod');
  const claims = new Map(s.list('PersistentVolumeClaim').map((c) => [`${ns(c)}/${c.metadata.name}`, c]));
  const used = new Set<string>();
  // The ready pods with an IP, by namespace and label pair: a Service's selector picks among
  // those filed under its pairs (the smallest list), not among every pod of the cluster.
  const readyByPair = new Map<string, KObject[]>();
  for (const p of pods) {
    out.push(podItem(p));
    for (const v of p.spec?.volumes ?? []) if (v.persistentVolumeClaim?.claimName) used.add(`${ns(p)}/${v.persistentVolumeClaim.claimName}`);
    if (p.metadata.deletionTimestamp || !isPodReady(p) || !p.status?.podIP) continue;
    for (const [k, v] of Object.entries(p.metadata.labels ?? {})) {
      const pair = `${ns(p)}\n${k}=${v}`;
      const list = readyByPair.get(pair);
      if (list) list.push(p);
      else readyByPair.set(pair, [p]);
    }
  }
  for (const key of [...used].sort()) out.push(claimItem(key, claims.get(key)));
  const slicesOf = new Map<string, KObject[]>();
  for (const sl of s.list('EndpointSlice')) {
    const svc = sl.metadata.labels?.['kubernetes.io/service-name'];
    if (svc === undefined) continue;
    const k = `${ns(sl)}/${svc}`;
    const list = slicesOf.get(k);
    if (list) list.push(sl);
    else slicesOf.set(k, [sl]);
  }
  for (const svc of s.list('Service')) {
    const sel = svc.spec?.selector as Record<string, string> | undefined;
    if (!sel || Object.keys(sel).length === 0 || svc.spec?.type === 'ExternalName') continue;
    let candidates: KObject[] | undefined;
    for (const [k, v] of Object.entries(sel)) {
      const list = readyByPair.get(`${ns(svc)}\n${k}=${v}`) ?? [];
      if (!candidates || list.length < candidates.length) candidates = list;
    }
    const want = candidates!.filter((p) => matchesMapSelector(sel, p.metadata.labels)).map((p) => p.status.podIP as string);
    out.push(sliceItem(svc, want, slicesOf.get(`${ns(svc)}/${svc.metadata.name}`) ?? []));
  }
  return out;
}

function podItem(p: KObject): DesiredItem {
  const { state, holds } = podState(p);
  const item: DesiredItem = { key: `pod ${ns(p)}/${p.metadata.name}`, state, holds, object: `Pod/${ns(p)}/${p.metadata.name}` };
  if (p.spec?.nodeName) item.node = p.spec.nodeName;
  return item;
}

function setItem(set: KObject): DesiredItem {
  const want = set.spec?.replicas ?? 1;
  const st = set.status ?? {};
  const ready = st.readyReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const atRevision = updated === want && (want === 0 || st.currentRevision === st.updateRevision);
  const holds = ready === want && atRevision && (st.observedGeneration ?? 0) >= (set.metadata.generation ?? 1);
  const state = atRevision ? `readyReplicas ${ready}/${want}` : `readyReplicas ${ready}/${want}, updatedReplicas ${updated}/${want}`;
  return { key: `statefulset ${ns(set)}/${set.metadata.name}`, state, holds, object: `StatefulSet/${ns(set)}/${set.metadata.name}` };
}

function claimItem(key: string, c: KObject | undefined): DesiredItem {
  const phase = c ? (c.status?.phase ?? 'Pending') : 'missing';
  return { key: `pvc ${key}`, state: phase, holds: phase === 'Bound', object: `PersistentVolumeClaim/${key}` };
}

/** The Service's slices list exactly the IPs of its ready pods (`wantIps`, any order). */
function sliceItem(svc: KObject, wantIps: string[], slices: KObject[]): DesiredItem {
  const want = [...wantIps].sort();
  const have = slices
    .flatMap((sl) => ((sl['endpoints'] ?? []) as { addresses: string[]; conditions?: { ready?: boolean } }[]).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses))
    .sort();
  const holds = want.length === have.length && want.every((ip, i) => ip === have[i]);
  return { key: `endpointslice ${ns(svc)}/${svc.metadata.name}`, state: `ready endpoints [${have.join(' ')}]${holds ? '' : `, ready pods [${want.join(' ')}]`}`, holds, object: `Service/${ns(svc)}/${svc.metadata.name}` };
}

/**
 * The reference form of desiredState: each Service's pods and slices found by scanning all of
 * them (O(Services × pods)). desiredState must give the same items; the tests hold them to it.
 */
export function desiredStateByScan(s: Snapshot): DesiredItem[] {
  const out: DesiredItem[] = [];
  for (const set of s.list('StatefulSet')) {
    if (set.metadata.deletionTimestamp) continue;
    out.push(setItem(set));
  }
  const pods = s.list('Pod');
  const claims = new Map(s.list('PersistentVolumeClaim').map((c) => [`${ns(c)}/${c.metadata.name}`, c]));
  const used = new Set<string>();
  for (const p of pods) {
    out.push(podItem(p));
    for (const v of p.spec?.volumes ?? []) if (v.persistentVolumeClaim?.claimName) used.add(`${ns(p)}/${v.persistentVolumeClaim.claimName}`);
  }
  for (const key of [...used].sort()) {
    const c = claims.get(key);
    const phase = c ? (c.status?.phase ?? 'Pending') : 'missing';
    out.push({ key: `pvc ${key}`, state: phase, holds: phase === 'Bound', object: `PersistentVolumeClaim/${key}` });
  }
  const slices = s.list('EndpointSlice');
  for (const svc of s.list('Service')) {
    const sel = svc.spec?.selector as Record<string, string> | undefined;
    if (!sel || Object.keys(sel).length === 0 || svc.spec?.type === 'ExternalName') continue;
    const want = pods
      .filter((p) => ns(p) === ns(svc) && matchesMapSelector(sel, p.metadata.labels) && !p.metadata.deletionTimestamp && isPodReady(p) && p.status?.podIP)
      .map((p) => p.status.podIP as string)
      .sort();
    const have = slices
      .filter((sl) => ns(sl) === ns(svc) && sl.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name)
      .flatMap((sl) => ((sl['endpoints'] ?? []) as { addresses: string[]; conditions?: { ready?: boolean } }[]).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses))
      .sort();
    const holds = want.length === have.length && want.every((ip, i) => ip === have[i]);
    out.push({ key: `endpointslice ${ns(svc)}/${svc.metadata.name}`, state: `ready endpoints [${have.join(' ')}]${holds ? '' : `, ready pods [${want.join(' ')}]`}`, holds, object: `Service/${ns(svc)}/${svc.metadata.name}` });
  }
  return out;
}

/** Faults that never heal, as the judge needs them: which nodes stayed down or cut off. */
export interface Unhealed {
  /** Nodes down or cut off from the control plane at the end. */
  nodes: ReadonlySet<string>;
  /** The faults, in their scripted text. */
  faults: string[];
}

/**
 * The violations: items pending in this run that hold in the fault-free run (`without`; all of
 * them when it is absent). `stuckSinceMs` says the run stopped early because nothing changed.
 */
export function convergesViolations(mine: DesiredItem[], without: DesiredItem[] | undefined, atMs: number, unhealed: Unhealed, stuckSinceMs?: number): Violation[] {
  const theirs = new Map((without ?? []).map((i) => [i.key, i]));
  const out: Violation[] = [];
  for (const item of mine) {
    if (item.holds) continue;
    const other = theirs.get(item.key);
    if (without && !other?.holds) continue;
    let message = `${item.key}: ${item.state}${other ? `, ${other.state} without faults` : ''}`;
    if (item.node && unhealed.nodes.has(item.node)) {
      message += `; node ${item.node} never came back (${unhealed.faults.join('; ')}): Kubernetes waits for an admin to force-delete the pod (kubectl delete pod --force --grace-period=0) or to taint the node node.kubernetes.io/out-of-service`;
    } else if (stuckSinceMs !== undefined) {
      message += `; stuck: nothing changed since ${Math.round(stuckSinceMs / 1000)}s`;
    }
    out.push({ invariant: 'converges', atMs, message, objects: [item.object] });
  }
  return out;
}
