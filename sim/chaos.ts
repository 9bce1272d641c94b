/**
 * `chaos: {faults: N, kinds: [...]}` (SPEC §1): N faults drawn from the seed — their kinds,
 * times, durations, targets and rates — within a budget, so that a violation means a bug and not
 * merely too much chaos (swarm testing, as TigerBeetle's VOPR draws its fault knobs):
 * - never every node down or cut off from the control plane at once;
 * - the API server down or cut off for at most a quarter of the run in all;
 * - every fault healed before the last quarter of `duration`.
 * A kind the scenario cannot have (an outage without any storage system, a csiError without a CSI
 * driver) is not drawn. The result is ordinary Fault records, marked `drawn`, that print back in
 * the scripted form and replay the same run when pasted into spec.faults.
 *
 * Pure: a function of the scenario and the `chaos` stream of the seed.
 */
import type { Rng } from '../src/rng.ts';
import type { Fault, FaultBody, FaultKind, Scenario } from '../src/scenario/types.ts';
import { CONTROLLERS, CSI_RPCS, monitorNames } from '../src/scenario/faults.ts';

/** Shortest and longest fault, before the run's own bounds. */
const MIN_FOR_MS = 10_000;
const MAX_FOR_MS = 10 * 60_000;
const ATTEMPTS = 50;

interface Span {
  fromMs: number;
  toMs: number;
}

/** What a drawn fault takes from the budget: nodes it removes, whether it takes the API server. */
interface Cost {
  nodes: string[];
  apiserver: boolean;
}

const CONTROL_PLANE_HOSTS = ['apiserver', 'kube-controller-manager', 'kube-scheduler', 'cluster-dns'];

export function drawChaos(scenario: Scenario, rng: Rng): Fault[] {
  const chaos = scenario.chaos;
  if (!chaos || chaos.faults === 0) return [];
  const end = Math.floor(scenario.durationMs * 0.75);
  if (end < MIN_FOR_MS * 2) return [];
  const nodes = scenario.nodes.map((n) => `node/${n}`);
  const backends = scenario.backends.map((b) => b);
  const kinds = chaos.kinds.filter((k) => drawable(k, backends.length > 0, backends.some((b) => b.type === 'csi' || b.type === 'rbd')));
  if (kinds.length === 0) return [];
  const out: Fault[] = [];
  const taken: { span: Span; cost: Cost }[] = [];
  let apiserverMs = 0;

  const nodesOutAt = (t: number): Set<string> => {
    const s = new Set<string>();
    for (const x of taken) if (x.span.fromMs <= t && t < x.span.toMs) for (const n of x.cost.nodes) s.add(n);
    return s;
  };
  const fits = (span: Span, cost: Cost): boolean => {
    if (cost.apiserver && apiserverMs + (span.toMs - span.fromMs) > scenario.durationMs / 4) return false;
    if (cost.nodes.length === 0) return true;
    // Checked where a fault starts: the only instants at which the set of nodes out grows.
    const starts = [span.fromMs, ...taken.map((x) => x.span.fromMs).filter((t) => t > span.fromMs && t < span.toMs)];
    return starts.every((t) => {
      const out = nodesOutAt(t);
      for (const n of cost.nodes) out.add(n);
      return out.size < nodes.length;
    });
  };

  for (let i = 0; i < chaos.faults; i++) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const kind = rng.pick(kinds);
      const instant = kind === 'restart' || kind === 'wipeDisk' || kind === 'crashMidReconcile';
      const forMs = instant ? 0 : roundTo(rng.int(MIN_FOR_MS, Math.min(MAX_FOR_MS, Math.floor(end / 2))), 1000);
      const atMs = roundTo(rng.int(0, end - forMs), 1000);
      const span = { fromMs: atMs, toMs: atMs + Math.max(forMs, 1) };
      const drawn = drawBody(kind, rng, scenario, nodes);
      if (!drawn) continue;
      const cost = costOf(drawn, nodes);
      if (!fits(span, cost)) continue;
      taken.push({ span, cost });
      if (cost.apiserver) apiserverMs += span.toMs - span.fromMs;
      const f = { ...drawn, atMs, index: scenario.faults.length + out.length, pos: { file: '<chaos>', line: 0, col: 0 }, drawn: true } as Fault;
      if (!instant) f.forMs = forMs;
      out.push(f);
      break;
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs || a.index - b.index).map((f, i) => ({ ...f, index: scenario.faults.length + i }));
}

function roundTo(ms: number, unit: number): number {
  return Math.round(ms / unit) * unit;
}

function drawable(kind: FaultKind, hasBackend: boolean, hasCsi: boolean): boolean {
  if (kind === 'outage') return hasBackend;
  if (kind === 'csiError') return hasCsi;
  return true;
}

/** The hosts a fault takes away from the control plane's reach, and whether the API server is one. */
function costOf(f: FaultBody, nodes: string[]): Cost {
  switch (f.kind) {
    case 'crash':
    case 'restart':
      return { nodes: nodes.includes(f.host) ? [f.host] : [], apiserver: f.host === 'apiserver' };
    case 'partition': {
      const withApi = f.groups.find((g) => g.includes('apiserver'));
      const cutNodes = f.groups.filter((g) => g !== withApi).flat().filter((h) => nodes.includes(h));
      const apiCut = withApi !== undefined && f.groups.some((g) => g !== withApi && g.some((h) => CONTROL_PLANE_HOSTS.includes(h)));
      return { nodes: withApi ? cutNodes : [], apiserver: apiCut };
    }
    default:
      return { nodes: [], apiserver: false };
  }
}

function rate(rng: Rng, lo: number, hi: number): number {
  return Math.round((lo + rng.next() * (hi - lo)) * 100) / 100;
}

function drawBody(kind: FaultKind, rng: Rng, s: Scenario, nodes: string[]): FaultBody | undefined {
  switch (kind) {
    case 'crash':
    case 'restart': {
      // Mostly nodes, sometimes a control-plane host.
      const host = rng.chance(0.75) ? rng.pick(nodes) : rng.pick(CONTROL_PLANE_HOSTS);
      return { kind, host };
    }
    case 'partition': {
      if (rng.chance(0.7)) {
        const node = rng.pick(nodes);
        return { kind, groups: [[node], ['apiserver']], oneWay: rng.chance(0.2) };
      }
      const component = rng.pick(['kube-controller-manager', 'kube-scheduler', 'cluster-dns']);
      return { kind, groups: [[component], ['apiserver']], oneWay: false };
    }
    case 'messageLoss':
    case 'messageDuplicate':
      return { kind, rate: rate(rng, 0.01, 0.2), between: undefined };
    case 'messageDelay': {
      const minMs = roundTo(rng.int(10, 1_000), 10);
      return { kind, minMs, maxMs: minMs + roundTo(rng.int(0, 5_000), 10), rate: rate(rng, 0.1, 1), between: undefined };
    }
    case 'messageReorder':
      return { kind, rate: rate(rng, 0.05, 0.3), windowMs: roundTo(rng.int(100, 2_000), 100), between: undefined };
    case 'outage': {
      const b = rng.pick(s.backends);
      if (b.type === 'rbd' && rng.chance(0.5)) return { kind, backend: `backend/${b.name}/${rng.pick(monitorNames(b))}` };
      return { kind, backend: `backend/${b.name}` };
    }
    case 'wipeDisk':
      return { kind, node: rng.pick(nodes) };
    case 'dnsFailure':
      return { kind, mode: rng.chance(0.5) ? 'SERVFAIL' : 'timeout', rate: rate(rng, 0.5, 1) };
    case 'clockSkew': {
      const by = roundTo(rng.int(10_000, 120_000), 1000);
      return { kind, node: rng.pick(nodes), byMs: rng.chance(0.5) ? -by : by };
    }
    case 'csiError': {
      const csi = s.backends.filter((b) => b.type === 'csi' || b.type === 'rbd');
      if (csi.length === 0) return undefined;
      const b = rng.pick(csi);
      return { kind, backend: `backend/${b.name}`, rpc: rng.pick(CSI_RPCS), code: rng.pick(['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'INTERNAL', 'ABORTED', 'RESOURCE_EXHAUSTED']), rate: rate(rng, 0.3, 1) };
    }
    case 'staleView':
      return { kind, controller: rng.pick(CONTROLLERS), byMs: roundTo(rng.int(1_000, 60_000), 1000) };
    case 'dropWatch':
      return { kind, controller: rng.pick(CONTROLLERS), rate: rate(rng, 0.5, 1) };
    case 'crashMidReconcile':
      return { kind, controller: rng.pick(CONTROLLERS), afterWrites: rng.int(1, 3) };
  }
}
