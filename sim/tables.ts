/**
 * The human output of `ksim run`: what `kubectl get pv,pvc,pod,sts,svc` prints at the end, one
 * block per namespace the scenario uses (pods with the `-o wide` columns), plus `sc` when the
 * cluster has StorageClasses and `nodes` when a node ended not Ready, cordoned or tainted
 * (SPEC §4), then the action results, warnings and violations, each violation with the command
 * that replays it.
 */
import { printDescribe, printGet } from '../src/printers.ts';
import { faultText } from './fault-forms.ts';
import { isNamespaced, qualifiedResource } from '../src/model/objects.ts';
import { nullProto } from '../src/scenario/actions.ts';
import type { KObject } from '../src/protocol.ts';
import { formatDuration } from '../src/duration.ts';
import type { Report, Run } from './run.ts';
import { expectationHolds } from './invariants/expectations.ts';

const KINDS = ['PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'StatefulSet', 'Service'];
/** kubectl's resource names for the kinds of the command line, in its order. */
const RESOURCE_NAMES: Record<string, string> = {
  PersistentVolume: 'pv',
  PersistentVolumeClaim: 'pvc',
  Pod: 'pod',
  StatefulSet: 'sts',
  Service: 'svc',
  StorageClass: 'sc',
  Node: 'nodes',
};

/** A node a user would want to look at: not Ready, cordoned, or tainted. */
function nodeNeedsAttention(node: KObject): boolean {
  const ready = ((node.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready');
  return ready?.status !== 'True' || !!node.spec?.unschedulable || (node.spec?.taints ?? []).length > 0;
}

/** The kinds `ksim run` prints: always the five, then sc and nodes when they have something to say. */
export function tableKinds(run: Run): string[] {
  const store = run.world.store;
  const kinds = [...KINDS];
  if (store.list('StorageClass').length > 0) kinds.push('StorageClass');
  if (store.list('Node').some(nodeNeedsAttention)) kinds.push('Node');
  return kinds;
}

function namespacesUsed(run: Run): string[] {
  const s = new Set<string>();
  for (const m of run.scenario.manifests) if (isNamespaced(m.obj.kind)) s.add(m.obj.metadata.namespace ?? 'default');
  for (const a of run.scenario.actions) s.add(a.namespace);
  if (s.size === 0) s.add('default');
  return [...s].sort();
}

export function renderTables(run: Run, report: Report, file: string): string {
  const w = run.world;
  const ctx = { nowMs: w.nowMs, startMs: w.startMs };
  const out: string[] = [];
  const kinds = tableKinds(run);
  const command = `kubectl get ${kinds.map((k) => RESOURCE_NAMES[k]).join(',')}`;
  for (const ns of namespacesUsed(run)) {
    const blocks: string[] = [];
    for (const kind of kinds) {
      const objs = w.store.list(kind, isNamespaced(kind) ? ns : undefined);
      if (objs.length === 0) continue;
      blocks.push(printGet(kind, objs, ctx, { wide: kind === 'Pod', withKind: true }).trimEnd());
    }
    out.push(`$ ${command} -n ${ns}${blocks.length ? '' : `\nNo resources found in ${ns} namespace.`}`);
    if (blocks.length) out.push(blocks.join('\n\n'));
    out.push('');
  }
  if (report.faults.length) {
    out.push('Faults:');
    for (const f of [...run.scenario.faults, ...run.world.drawnFaults]) {
      const heal = f.forMs !== undefined ? `, healed at ${formatDuration(f.atMs + f.forMs)}` : f.kind === 'restart' || f.kind === 'wipeDisk' || f.kind === 'crashMidReconcile' ? '' : ', never healed';
      out.push(`  ${formatDuration(f.atMs).padStart(8)}  ${faultText(f)}${heal}${f.drawn ? '  (chaos)' : ''}`);
    }
    out.push('');
  }
  if (report.results.length) {
    out.push('Results:');
    const actions = new Map(run.scenario.actions.map((a) => [a.index, a]));
    for (const r of report.results) {
      const { atMs, index, action, ok, ...rest } = r;
      const a = actions.get(index);
      const detail = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
        .join(' ');
      const mark = a?.expect === undefined ? '' : expectationHolds(a, r) ? '  (as expected)' : '  (NOT as expected)';
      out.push(`  ${formatDuration(atMs).padStart(8)}  ${action.padEnd(9)} ${ok ? 'ok   ' : 'error'} ${detail}${mark}`);
    }
    out.push('');
  }
  if (report.warnings.length) {
    out.push('Warnings:');
    for (const v of report.warnings) out.push(`  ${formatDuration(v.atMs)}  ${v.warning}: ${v.message}${v.objects.length ? ` (${v.objects.join(', ')})` : ''}`);
    out.push('');
  }
  if (report.violations.length) {
    out.push('Violations:');
    for (const v of report.violations) {
      out.push(`  ${formatDuration(v.atMs)}  ${v.invariant}: ${v.message}${v.objects.length ? ` (${v.objects.join(', ')})` : ''}`);
      out.push(`    replay: ksim run ${file} --seed ${report.seed}${run.opts.bug ? ` --bug ${run.opts.bug}` : ''}`);
    }
    out.push('');
  } else if (report.crash) {
    out.push(`ksim itself failed at ${formatDuration(report.crash.atMs)} (actor ${report.crash.actor}): invariants were not judged (exit 3).`);
  } else out.push(`All invariants hold (${run.scenario.invariants.length} checked). traceHash ${report.traceHash.slice(0, 16)}`);
  return out.join('\n');
}

const KIND_ALIASES: Readonly<Record<string, string>> = nullProto({
  pod: 'Pod', po: 'Pod', pods: 'Pod', statefulset: 'StatefulSet', sts: 'StatefulSet', statefulsets: 'StatefulSet', service: 'Service', svc: 'Service', services: 'Service',
  persistentvolumeclaim: 'PersistentVolumeClaim', pvc: 'PersistentVolumeClaim', persistentvolumeclaims: 'PersistentVolumeClaim',
  persistentvolume: 'PersistentVolume', pv: 'PersistentVolume', persistentvolumes: 'PersistentVolume',
  storageclass: 'StorageClass', sc: 'StorageClass', storageclasses: 'StorageClass', node: 'Node', no: 'Node', nodes: 'Node',
});

/** `--describe KIND/NAME` read as kubectl reads it; a string says what is wrong with it. */
export function describeTarget(target: string): { kind: string; name: string } | string {
  const parts = target.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return `takes KIND/NAME (e.g. pod/web-0), got ${JSON.stringify(target)}`;
  const k = parts[0]!.toLowerCase();
  const kind = Object.hasOwn(KIND_ALIASES, k) ? KIND_ALIASES[k] : undefined;
  if (!kind) return `the server doesn't have a resource type ${JSON.stringify(parts[0])}`;
  return { kind, name: parts[1]! };
}

/** `kubectl describe KIND/NAME` after the run; not ok (kubectl's NotFound) when there is no such object. */
export function renderDescribe(run: Run, target: string): { ok: boolean; text: string } {
  const t = describeTarget(target);
  if (typeof t === 'string') return { ok: false, text: `error: --describe ${t}` };
  const { kind, name } = t;
  const w = run.world;
  const nsList = isNamespaced(kind) ? namespacesUsed(run) : [undefined];
  for (const ns of nsList) {
    const obj = w.store.get(kind, ns, name);
    if (!obj) continue;
    const events = w.events.about(kind, ns, name, obj.metadata.uid).map((e) => ({ type: e.type, reason: e.reason, message: e.message, source: e.source, count: e.count, firstAtMs: e.firstAtMs, lastAtMs: e.lastAtMs }));
    const usedBy =
      kind === 'PersistentVolumeClaim'
        ? w.store.list('Pod', ns).filter((p) => (p.spec?.volumes ?? []).some((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === name)).map((p) => p.metadata.name!)
        : undefined;
    // kubectl describe service lists the Service's slices by their kubernetes.io/service-name label.
    const endpointSlices = kind === 'Service' ? w.store.list('EndpointSlice', ns).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === name) : undefined;
    const related = usedBy ? { podsUsingClaim: usedBy } : endpointSlices ? { endpointSlices } : undefined;
    return { ok: true, text: printDescribe(obj, events, { nowMs: w.nowMs, startMs: w.startMs }, related) };
  }
  return { ok: false, text: `Error from server (NotFound): ${qualifiedResource(kind)} ${JSON.stringify(name)} not found` };
}
