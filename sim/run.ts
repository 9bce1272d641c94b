/**
 * One run of a scenario with a seed: build the world, run it to the end (or --until), judge the
 * invariants and produce the JSON report of SPEC §5. Pure of wall-clock time: `stats.wallMs`
 * is filled in by the caller at the edge (CLI, library API).
 */
import type { Scenario } from '../src/scenario/types.ts';
import type { Hasher, TraceEvent } from '../src/trace.ts';
import type { KObject } from '../src/protocol.ts';
import { World } from './world.ts';
import type { ActionResult } from '../actors/kubectl.ts';
import { checkExpectations } from './invariants/expectations.ts';
import { IdentityMonitor, OrderedReadyMonitor } from './invariants/statefulset.ts';
import type { Violation, Warning } from './invariants/types.ts';

export interface RunOptions {
  seed?: number;
  /** Stop the clock here instead of at the scenario's duration. */
  untilMs?: number;
  bug?: string;
  hasher: () => Hasher;
  traceSink?: (e: TraceEvent) => void;
}

export interface ReportEvent {
  atMs: number;
  lastAtMs: number;
  count: number;
  type: string;
  reason: string;
  message: string;
  source: string;
  involvedObject: { kind: string; namespace?: string; name: string };
}

export interface Report {
  scenario: string;
  seed: number;
  durationMs: number;
  traceHash: string;
  stats: { steps: number; messages: number; faults: number; wallMs: number };
  results: ActionResult[];
  violations: Violation[];
  warnings: Warning[];
  events: ReportEvent[];
  objects: { apiVersion: 'v1'; kind: 'List'; metadata: { resourceVersion: string }; items: KObject[] };
}

/** A world with its invariant monitors attached; `finish` judges and reports. */
export class Run {
  readonly world: World;
  private readonly identity = new IdentityMonitor();
  private readonly ordered: OrderedReadyMonitor;
  private readonly enabled: Set<string>;

  constructor(
    readonly scenario: Scenario,
    readonly opts: RunOptions,
  ) {
    this.world = new World(scenario, { hasher: opts.hasher, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.bug ? { bug: opts.bug } : {}), ...(opts.traceSink ? { traceSink: opts.traceSink } : {}) });
    this.enabled = new Set(scenario.invariants);
    this.ordered = new OrderedReadyMonitor(this.world.store);
    if (this.enabled.has('sts-identity-unique')) this.world.trace.listeners.push((e) => this.identity.observe(e));
    if (this.enabled.has('ordered-ready')) this.world.store.onCommit((ev, obj, old) => this.ordered.observe(ev, obj, old, this.world.nowMs));
  }

  get endMs(): number {
    return this.opts.untilMs ?? this.scenario.durationMs;
  }

  run(): Report {
    this.world.runUntil(this.endMs);
    return this.report();
  }

  violations(): Violation[] {
    const w = this.world;
    const ran = w.scenario.actions.filter((a) => a.atMs <= w.nowMs);
    const out: Violation[] = [...this.identity.violations, ...this.ordered.violations];
    if (this.enabled.has('expectations')) out.push(...checkExpectations(ran, this.resultsWithTimeouts()));
    return out.filter((v) => this.enabled.has(v.invariant)).sort((a, b) => a.atMs - b.atMs || (a.invariant < b.invariant ? -1 : a.invariant > b.invariant ? 1 : 0));
  }

  /** Results in action order; an action that ran but got no answer reports a timeout. */
  resultsWithTimeouts(): ActionResult[] {
    const w = this.world;
    const got = new Map(w.results.map((r) => [r.index, r]));
    const out: ActionResult[] = [];
    for (const a of w.scenario.actions) {
      if (a.atMs > w.nowMs) continue;
      out.push(got.get(a.index) ?? { atMs: a.atMs, index: a.index, action: a.kind, ok: false, error: 'timed out waiting for a response' });
    }
    return out;
  }

  report(): Report {
    const w = this.world;
    const events: ReportEvent[] = w.events.items.map((e) => ({
      atMs: e.firstAtMs,
      lastAtMs: e.lastAtMs,
      count: e.count,
      type: e.type,
      reason: e.reason,
      message: e.message,
      source: e.source,
      involvedObject: { kind: e.involvedObject.kind, ...(e.involvedObject.namespace ? { namespace: e.involvedObject.namespace } : {}), name: e.involvedObject.name },
    }));
    return {
      scenario: this.scenario.name,
      seed: w.seed,
      durationMs: w.nowMs,
      traceHash: w.trace.digest(),
      stats: { steps: w.clock.steps, messages: w.bus.delivered, faults: w.faultsInjected, wallMs: 0 },
      results: this.resultsWithTimeouts(),
      violations: this.violations(),
      warnings: [...w.warnings],
      events,
      objects: { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: w.objects() },
    };
  }
}

export function runScenario(scenario: Scenario, opts: RunOptions): Report {
  return new Run(scenario, opts).run();
}
