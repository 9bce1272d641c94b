/**
 * fast-check arbitraries for fault schedules (SPEC §7: for property tests written by users). A
 * schedule is a list of scripted Fault records for a scenario, drawn within the same budget as
 * `chaos` — every fault healed before the last quarter of the run, never every node down or cut
 * off at once, the API server away for at most a quarter of the run — so that a property that
 * fails points at a bug, not at too much chaos. fast-check shrinks a failing schedule toward
 * fewer, shorter, earlier faults.
 *
 *   forAllSeeds('examples/chaos-rbd-sts.yaml', { seeds: 100, faults: (s) => faultSchedule(s, { kinds: ['crash', 'partition'] }) },
 *     (sim) => sim.runScenario().violations.length === 0);
 *
 * Building blocks compose: `schedule(s, [nodeCrash(s), partition(s), messageFault(s)], { maxFaults: 3 })`.
 * Each block is one timed fault: `at` in whole seconds within the first three quarters of the
 * run, `for` from 10 s to half of that span (never past it).
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
const MESSAGE_KINDS = ['messageLoss', 'messageDelay', 'messageDuplicate', 'messageReorder'] as const;
const POS = { file: '<property>', line: 0, col: 0 };

function nodesOf(scenario: Scenario): string[] {
  return scenario.nodes.map((n) => `node/${n}`);
}

/** A rate in hundredths, from lo to hi. */
function rate(lo: number, hi: number): fc.Arbitrary<number> {
  return fc.integer({ min: Math.round(lo * 100), max: Math.round(hi * 100) }).map((r) => r / 100);
}

function body(kind: FaultKind, nodes: string[]): fc.Arbitrary<FaultBody> | undefined {
  const node = fc.constantFrom(...nodes);
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

/**
 * One fault of the given body, timed within the run: `at` in the first three quarters (whole
 * seconds), `for` from 10 s to half that span, cut so that it heals before the last quarter.
 * Instant kinds (restart, wipeDisk) get no `for`.
 */
export function timed(scenario: Scenario, bodies: fc.Arbitrary<FaultBody>): fc.Arbitrary<Fault> {
  const endS = Math.floor((scenario.durationMs * 0.75) / 1000);
  return fc
    .record({
      body: bodies,
      at: fc.integer({ min: 0, max: Math.max(0, endS - 10) }),
      for: fc.integer({ min: 10, max: Math.max(10, Math.floor(endS / 2)) }),
    })
    .map((d) => {
      const f = { ...d.body, atMs: d.at * 1000, index: 0, pos: POS } as Fault;
      if (d.body.kind !== 'restart' && d.body.kind !== 'wipeDisk') f.forMs = Math.max(1000, Math.min(d.for, endS - d.at) * 1000);
      return f;
    });
}

/** A node (`node/node-1`, ...) crashes and boots again after `for`. */
export function nodeCrash(scenario: Scenario): fc.Arbitrary<Fault> {
  return timed(scenario, fc.constantFrom(...nodesOf(scenario)).map((host): FaultBody => ({ kind: 'crash', host })));
}

/** One node cut off from the API server (sometimes one way only: its messages to it are lost). */
export function partition(scenario: Scenario): fc.Arbitrary<Fault> {
  return timed(scenario, body('partition', nodesOf(scenario))!);
}

/** A message fault on every link: loss, delay, duplication or reordering (`kinds` narrows it). */
export function messageFault(scenario: Scenario, kinds: readonly (typeof MESSAGE_KINDS)[number][] = MESSAGE_KINDS): fc.Arbitrary<Fault> {
  const nodes = nodesOf(scenario);
  return timed(scenario, fc.oneof(...kinds.map((k) => body(k, nodes)!)));
}

/** Any fault of one kind (crash, restart, partition, the message faults, wipeDisk, dnsFailure, clockSkew). */
export function faultOfKind(scenario: Scenario, kind: FaultKind): fc.Arbitrary<Fault> {
  const b = body(kind, nodesOf(scenario));
  if (!b) throw new Error(`faultOfKind: no arbitrary for ${kind} (drawn: crash, restart, partition, messageLoss, messageDelay, messageDuplicate, messageReorder, wipeDisk, dnsFailure, clockSkew)`);
  return timed(scenario, b);
}

/**
 * A list of faults drawn from `blocks`, at most `maxFaults` (default 4), each kept only if it
 * fits chaos's budget beside the scenario's own faults and those before it; indexed after the
 * scenario's own.
 */
export function schedule(scenario: Scenario, blocks: readonly fc.Arbitrary<Fault>[], opts: { maxFaults?: number } = {}): fc.Arbitrary<Fault[]> {
  return fc.array(fc.oneof(...blocks), { maxLength: opts.maxFaults ?? 4 }).map((drawn) => {
    const out: Fault[] = [];
    for (const d of drawn) {
      const f = { ...d, index: scenario.faults.length + out.length } as Fault;
      if (fitsBudget(scenario, [...scenario.faults, ...out], f)) out.push(f);
    }
    return out;
  });
}

/** Faults for `scenario`, as fast-check draws and shrinks them, within chaos's budget. */
export function faultSchedule(scenario: Scenario, opts: FaultScheduleOptions = {}): fc.Arbitrary<Fault[]> {
  const nodes = nodesOf(scenario);
  const blocks = (opts.kinds ?? DEFAULT_KINDS).flatMap((k) => {
    const b = body(k, nodes);
    return b ? [timed(scenario, b)] : [];
  });
  if (blocks.length === 0) return fc.constant([]);
  return schedule(scenario, blocks, opts.maxFaults !== undefined ? { maxFaults: opts.maxFaults } : {});
}
