/**
 * fast-check arbitraries for fault schedules (SPEC §7: for property tests written by users). A
 * schedule is a list of scripted Fault records for a scenario, drawn within the same budget as
 * `chaos` — every fault healed before the last quarter of the run, never every node down or cut
 * off at once, the API server away for at most a quarter of the run — so that a property that
 * fails points at a bug, not at too much chaos. fast-check shrinks a failing schedule toward
 * fewer, shorter, later faults.
 *
 *   fc.assert(fc.property(faultSchedule(scenario, { kinds: ['crash', 'partition'] }), (faults) => {
 *     const sim = Simulation.fromScenario({ ...scenario, faults });
 *     return sim.runScenario().violations.length === 0;
 *   }));
 */
import fc from 'fast-check';
import type { Fault, FaultBody, FaultKind, Scenario } from '../src/scenario/types.ts';
import { fitsBudget } from './chaos.ts';

export interface FaultScheduleOptions {
  /** Which kinds to draw (default: crash, partition and the message faults). */
  kinds?: readonly FaultKind[];
  /** At most this many faults (default 4). */
  maxFaults?: number;
}

const DEFAULT_KINDS: readonly FaultKind[] = ['crash', 'partition', 'messageLoss', 'messageDelay', 'messageDuplicate', 'messageReorder'];
const CONTROL = ['apiserver', 'kube-controller-manager', 'kube-scheduler', 'cluster-dns'];

function body(kind: FaultKind, nodes: string[]): fc.Arbitrary<FaultBody> | undefined {
  const node = fc.constantFrom(...nodes);
  const rate = (lo: number, hi: number) => fc.integer({ min: Math.round(lo * 100), max: Math.round(hi * 100) }).map((r) => r / 100);
  switch (kind) {
    case 'crash':
    case 'restart':
      return fc.oneof(node, fc.constantFrom(...CONTROL)).map((host) => ({ kind, host }));
    case 'partition':
      return fc.record({ node, oneWay: fc.boolean() }).map(({ node: n, oneWay }) => ({ kind, groups: [[n], ['apiserver']], oneWay }));
    case 'messageLoss':
    case 'messageDuplicate':
      return rate(0.01, 0.3).map((r) => ({ kind, rate: r, between: undefined }));
    case 'messageDelay':
      return fc.record({ min: fc.integer({ min: 1, max: 2_000 }), extra: fc.integer({ min: 0, max: 3_000 }) }).map(({ min, extra }) => ({ kind, minMs: min, maxMs: min + extra, rate: 1, between: undefined }));
    case 'messageReorder':
      return fc.record({ r: rate(0.05, 0.5), w: fc.integer({ min: 100, max: 3_000 }) }).map(({ r, w }) => ({ kind, rate: r, windowMs: w, between: undefined }));
    case 'wipeDisk':
      return node.map((n) => ({ kind, node: n }));
    case 'dnsFailure':
      return fc.record({ mode: fc.constantFrom('SERVFAIL' as const, 'timeout' as const), r: rate(0.5, 1) }).map(({ mode, r }) => ({ kind, mode, rate: r }));
    case 'clockSkew':
      return fc.record({ n: node, by: fc.integer({ min: -120, max: 120 }) }).map(({ n, by }) => ({ kind, node: n, byMs: by * 1000 }));
    default:
      return undefined;
  }
}

/** Faults for `scenario`, as fast-check draws and shrinks them, within chaos's budget. */
export function faultSchedule(scenario: Scenario, opts: FaultScheduleOptions = {}): fc.Arbitrary<Fault[]> {
  const nodes = scenario.nodes.map((n) => `node/${n}`);
  const end = Math.floor(scenario.durationMs * 0.75);
  const kinds = (opts.kinds ?? DEFAULT_KINDS).filter((k) => body(k, nodes) !== undefined);
  const one = fc.constantFrom(...kinds).chain((kind) =>
    fc.record({
      body: body(kind, nodes)!,
      at: fc.integer({ min: 0, max: Math.floor(end / 1000) - 10 }),
      for: fc.integer({ min: 10, max: Math.max(10, Math.floor(end / 2000)) }),
    }),
  );
  return fc.array(one, { maxLength: opts.maxFaults ?? 4 }).map((drawn) => {
    const out: Fault[] = [];
    for (const d of drawn) {
      const atMs = d.at * 1000;
      const instant = d.body.kind === 'restart' || d.body.kind === 'wipeDisk';
      const forMs = instant ? undefined : Math.min(d.for * 1000, end - atMs);
      if (forMs !== undefined && forMs <= 0) continue;
      const f = { ...d.body, atMs, index: scenario.faults.length + out.length, pos: { file: '<property>', line: 0, col: 0 } } as Fault;
      if (forMs !== undefined) f.forMs = forMs;
      if (fitsBudget(scenario, [...scenario.faults, ...out], f)) out.push(f);
    }
    return out;
  });
}
