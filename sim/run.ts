/**
 * One run of a scenario with a seed: build the world, run it to the end (or --until), judge the
 * invariants and produce the JSON report of SPEC §5. Pure of wall-clock time: `stats.wallMs`
 * is filled in by the caller at the edge (CLI, library API).
 */
import type { Scenario } from '../src/scenario/types.ts';
import { formatDuration } from '../src/duration.ts';
import type { Hasher, TraceEvent } from '../src/trace.ts';
import type { KObject } from '../src/protocol.ts';
import { World, WorldCrash } from './world.ts';
import type { ActionResult } from '../actors/kubectl.ts';
import { checkExpectations } from './invariants/expectations.ts';
import { IdentityMonitor, OrderedReadyMonitor } from './invariants/statefulset.ts';
import type { Violation, Warning } from './invariants/types.ts';
import { StorageMonitor } from './invariants/storage.ts';
import { dnsProbes, dnsViolation, probeHolds } from './invariants/dns.ts';
import { DataMonitor } from './invariants/data.ts';
import { convergesViolations, desiredState, type DesiredItem } from './invariants/liveness.ts';
import { faultText, scriptedFault, type ScriptedFault } from './fault-forms.ts';
import type { Action } from '../src/scenario/types.ts';
import { filter } from 'rxjs';
import type { DnsAnswer } from '../src/protocol.ts';

/** CoreDNS defaultTTL plus a second: a disagreeing answer is asked again after the cache expired. */
const DNS_RECHECK_MS = 6_000;
/** Actions the run itself adds at the end (no-data-loss reads) are numbered from here. */
const END_CHECK_INDEX = 2_000_000_000;
/** The result of an action that has had no answer when the run ends (SPEC §1). */
export const STILL_BLOCKED = 'still blocked';
/** A Delete PV must be gone this long after its claim went (reclaim-policy). */
const RECLAIM_SETTLE_MS = 60_000;
/** converges: how often the liveness phase looks whether the desired state holds yet. */
const LIVENESS_CHECK_MS = 5_000;
/** converges: after the last heal, a desired state that held this long is taken as reached. */
const CONVERGED_FOR_MS = 30_000;
/** Actions that change what the cluster is asked to do (converges compares runs told the same). */
const CLUSTER_COMMANDS: ReadonlySet<string> = new Set(['apply', 'delete', 'scale', 'patch', 'cordon', 'uncordon', 'drain', 'taint']);
/** converges: a run in which nothing but leases changed this long is stuck (SPEC §6). */
const STUCK_MS = 3 * 60_000;

export interface RunOptions {
  seed?: number;
  /** Stop the clock here instead of at the scenario's duration. */
  untilMs?: number;
  bug?: string;
  hasher: () => Hasher;
  traceSink?: (e: TraceEvent) => void;
  /** kubectl's --validate for the run's patches (default strict). */
  validate?: 'strict' | 'warn' | 'ignore';
  /** The step budget (world.ts StepBudgetExceeded); unlimited when absent. */
  maxSteps?: number;
  /** See WorldOptions.observe. */
  observe?: (world: World) => void;
}

/** What SPEC §5 reports when ksim itself failed (exit 3). */
export interface CrashReport {
  atMs: number;
  actor: string;
  message: string;
  replay: string;
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
  /** Every JSON document ksim writes names its version and kind (SPEC §5). */
  apiVersion: 'ksim/v1';
  kind: 'Report';
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
  /** Every fault of the run, scripted and drawn, in the scripted form (pasted back, it replays them). */
  faults: ScriptedFault[];
  /** Present when ksim itself failed: the rest is what the run reached until then. */
  crash?: CrashReport;
}

/** A world with its invariant monitors attached; `finish` judges and reports. */
export class Run {
  readonly world: World;
  private readonly identity = new IdentityMonitor();
  private readonly ordered: OrderedReadyMonitor;
  private readonly enabled: Set<string>;
  private readonly storage: StorageMonitor;
  private readonly data: DataMonitor;
  /** The kubectl actor reads actions by index: end-of-run reads are appended here. */
  private readonly actions: Action[];
  private readonly endChecks: Violation[] = [];
  /** The clock reached the end of the run: an action still without an answer is judged. */
  private ended = false;
  /** When the cluster's state (anything but leases and events) last changed. */
  private lastChangeMs = 0;
  private readonly liveness: Violation[] = [];
  /** The DNS probe's answers and unanswered questions (the probe's bus address outlives a call). */
  private dnsProbe: { answers: Map<string, string[]>; outstanding: Set<string> } | undefined;

  readonly scenario: Scenario;

  constructor(
    scenario: Scenario,
    readonly opts: RunOptions,
  ) {
    this.actions = [...scenario.actions];
    this.scenario = { ...scenario, actions: this.actions };
    scenario = this.scenario;
    this.world = new World(scenario, {
      hasher: opts.hasher,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.bug ? { bug: opts.bug } : {}),
      ...(opts.traceSink ? { traceSink: opts.traceSink } : {}),
      ...(opts.validate ? { validate: opts.validate } : {}),
      ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}),
      ...(opts.observe ? { observe: opts.observe } : {}),
    });
    this.enabled = new Set(scenario.invariants);
    this.ordered = new OrderedReadyMonitor(this.world.store);
    if (this.enabled.has('sts-identity-unique')) this.world.trace.listeners.push((atMs, kind, actor, detail) => this.identity.observe(atMs, kind, actor, detail));
    if (this.enabled.has('ordered-ready')) this.world.store.onCommit((ev, obj, old) => this.ordered.observe(ev, obj, old, this.world.nowMs));
    const w = this.world;
    this.storage = new StorageMonitor({
      store: w.store,
      get nowMs() { return w.nowMs; },
      csiAttachRequired: (d) => w.csiAttachRequired(d),
      backendType: (n) => w.backends.get(n)?.type,
      storageBackSinceMs: (ref) => w.storageBackSinceMs(ref),
    });
    w.store.onCommit((ev, obj, old) => this.storage.onCommit(ev, obj, old, w.nowMs));
    w.store.onCommit((_ev, obj) => {
      if (obj.kind !== 'Lease' && obj.kind !== 'Event') this.lastChangeMs = w.nowMs;
    });
    this.data = new DataMonitor(w.store, () => w.wipes);
    w.resultListeners.push((r) => {
      const a = this.actions.find((x) => x.index === r.index);
      if (a) this.data.observe(a, r);
    });
    if (this.enabled.has('rwo-single-node')) {
      // The bus publishes every delivery: after a backend's successful answer, ask its model
      // which nodes hold which volume.
      w.bus.delivered$.pipe(filter((env) => env.msg.type === 'csi.response' && env.msg['code'] === 0)).subscribe((env) => {
        const name = env.from.slice('backend/'.length);
        const b = w.backends.get(name);
        if (b) this.storage.checkAttachments(name, b.model.attachments(w.nowMs), w.nowMs);
      });
    }
  }

  get endMs(): number {
    return this.opts.untilMs ?? this.scenario.durationMs;
  }

  /**
   * Runs to the end, takes the final state, then the end-of-run checks (after settling). When an
   * actor fails, the report says so in `crash` and holds what the run reached until then.
   */
  run(): Report {
    try {
      return this.runToEnd();
    } catch (e) {
      if (e instanceof WorldCrash) return this.crashed(e);
      throw e;
    }
  }

  private crashed(e: WorldCrash): Report {
    const w = this.world;
    let report: Report;
    try {
      report = this.report();
    } catch {
      report = {
        apiVersion: 'ksim/v1', kind: 'Report', scenario: this.scenario.name, seed: w.seed, durationMs: w.nowMs, traceHash: '',
        stats: { steps: 0, messages: 0, faults: 0, wallMs: 0 }, results: [], violations: [], warnings: [], events: [],
        objects: { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [] },
        faults: [],
      };
    }
    report.traceHash = w.trace.digest();
    report.stats = { steps: w.clock.steps, messages: w.bus.delivered, faults: w.faultsInjected, wallMs: 0 };
    report.crash = { atMs: e.atMs, actor: e.actor, message: e.reason, replay: e.replay };
    return report;
  }

  private runToEnd(): Report {
    this.world.runUntil(this.endMs);
    this.ended = true;
    const judged = this.opts.untilMs === undefined || this.opts.untilMs >= this.scenario.durationMs;
    if (judged && this.world.injector && this.enabled.has('converges')) this.judgeLiveness();
    const report = this.report();
    if (judged) {
      if (this.enabled.has('dns-consistent')) this.endChecks.push(...this.probeDns());
      if (this.enabled.has('no-data-loss')) {
        this.data.reportExpectedLosses(this.world.nowMs);
        this.endChecks.push(...this.readBack());
      }
      if (this.enabled.has('reclaim-policy')) this.storage.checkReclaim(this.endMs - RECLAIM_SETTLE_MS);
    }
    report.violations = this.violations();
    report.warnings = [...this.world.warnings, ...this.storage.warnings, ...this.data.warnings];
    this.world.trace.record(this.world.nowMs, 'S', 'world', `final-state h=${this.world.store.fingerprint()}`);
    report.traceHash = this.world.trace.digest();
    report.stats = { steps: this.world.clock.steps, messages: this.world.bus.delivered, faults: this.world.faultsInjected, wallMs: 0 };
    return report;
  }

  /**
   * The liveness phase (SPEC §6 converges): the run goes on past `duration` until the last heal
   * plus `settle`, looking every 5 s whether the desired state holds (then it stops: nothing is
   * left to wait for) and whether the cluster is stuck (nothing but leases changed for 3 minutes:
   * waiting longer changes nothing). What is still pending is compared with the fault-free run.
   */
  private judgeLiveness(): void {
    const w = this.world;
    const inj = w.injector!;
    const settleMs = this.scenario.timings['settle'] ?? 600_000;
    const lastFaultMs = Math.max(inj.lastHealMs, ...inj.neverHealed.map((f) => f.atMs));
    const judgeAt = Math.max(w.nowMs, lastFaultMs + settleMs);
    let pending = this.pendingItems();
    let stuckSinceMs: number | undefined;
    // After the last heal the judge stops as soon as the desired state has held for a while.
    let heldSinceMs: number | undefined;
    while (w.nowMs < judgeAt) {
      if (w.nowMs >= lastFaultMs) {
        if (pending.length === 0) {
          heldSinceMs ??= w.nowMs;
          if (w.nowMs - heldSinceMs >= CONVERGED_FOR_MS) break;
        } else {
          heldSinceMs = undefined;
          if (w.nowMs - this.lastChangeMs >= STUCK_MS) {
            stuckSinceMs = this.lastChangeMs;
            break;
          }
        }
      }
      w.runUntil(Math.min(judgeAt, w.nowMs + LIVENESS_CHECK_MS));
      pending = this.pendingItems();
    }
    if (pending.length === 0) return;
    const mine = desiredState(w.store);
    const twin = this.withoutFaults(w.nowMs);
    const without = desiredState(twin.world.store);
    // The two runs must have been told the same: a command that changed the cluster without
    // faults but failed here (or never ran) gave this run another desired state.
    const diverged = this.divergedCommands(twin);
    if (diverged.length > 0) {
      w.warnings.push({
        warning: 'converges-not-judged',
        atMs: w.nowMs,
        message: `not compared with the run without faults: ${diverged.join('; ')}; what is pending here (${pending.map((i) => `${i.key}: ${i.state}`).join(', ')}) may follow from that`,
        objects: [],
      });
      return;
    }
    const unhealedNodes = new Set<string>();
    for (const f of inj.neverHealed) {
      if (f.kind === 'crash' && f.host.startsWith('node/')) unhealedNodes.add(f.host.slice('node/'.length));
      if (f.kind === 'partition') {
        const api = f.groups.find((g) => g.includes('apiserver'));
        for (const g of f.groups) if (g !== api) for (const h of g) if (h.startsWith('node/')) unhealedNodes.add(h.slice('node/'.length));
      }
    }
    this.liveness.push(...convergesViolations(mine, without, w.nowMs, { nodes: unhealedNodes, faults: inj.neverHealed.map(faultText) }, stuckSinceMs));
  }

  private pendingItems(): DesiredItem[] {
    return desiredState(this.world.store).filter((i) => !i.holds);
  }

  /**
   * The scenario's commands that change the cluster (apply, delete, scale, patch, cordon,
   * uncordon, drain, taint) that succeeded in the run without faults and not in this one.
   */
  private divergedCommands(twin: Run): string[] {
    const here = new Map(this.world.results.map((r) => [r.index, r]));
    const out: string[] = [];
    for (const r of twin.world.results) {
      if (!r.ok || !CLUSTER_COMMANDS.has(r.action)) continue;
      const mine = here.get(r.index);
      if (mine?.ok) continue;
      const a = this.actions.find((x) => x.index === r.index);
      out.push(`${r.action} at ${formatDuration(a?.atMs ?? r.atMs)} ${mine ? `failed (${String(mine['error'] ?? 'error')})` : 'did not complete'}`);
    }
    return out;
  }

  /** The same scenario and seed without faults, run to the same instant. */
  private withoutFaults(atMs: number): Run {
    const { chaos: _chaos, ...rest } = this.scenario;
    const twin = new Run(
      { ...rest, actions: this.scenario.actions.filter((a) => a.index < END_CHECK_INDEX), faults: [], invariants: [] },
      { hasher: this.opts.hasher, seed: this.world.seed, ...(this.opts.bug ? { bug: this.opts.bug } : {}), ...(this.opts.validate ? { validate: this.opts.validate } : {}) },
    );
    twin.world.runUntil(atMs);
    return twin;
  }

  /**
   * Hands one more action to kubectl now (the library API's exec, the end-of-run reads);
   * returns nothing: its result arrives in world.results under `a.index`.
   */
  addAction(a: Action): void {
    this.actions.push(a);
    this.world.inject('kubectl', { type: 'user.action', index: this.actions.length - 1 });
  }

  /** no-data-loss: reads every acknowledged write back through a pod (see invariants/data.ts). */
  private readBack(): Violation[] {
    const w = this.world;
    // A write still without an answer may have been done (its answer lost) or may still be.
    const answered = new Set(w.results.map((r) => r.index));
    for (const a of this.actions) {
      if (a.kind === 'write' && a.index < END_CHECK_INDEX && w.started.has(a.index) && !answered.has(a.index)) {
        this.data.observe(a, { atMs: a.atMs, index: a.index, action: 'write', ok: false, error: STILL_BLOCKED });
      }
    }
    const checks = this.data.checks();
    if (checks.length === 0) return [];
    const first = END_CHECK_INDEX;
    checks.forEach((c, i) => {
      this.addAction({ kind: 'read', pod: c.pod, container: c.container, path: c.path, namespace: c.namespace, atMs: w.nowMs, index: first + i, pos: { file: '<no-data-loss>', line: 0, col: 0 } } as Action);
    });
    const got = () => w.results.filter((r) => r.index >= first);
    // A hard NFS mount may take a while to answer; give reads the settle time a user would.
    w.runUntil(w.nowMs + 60_000, () => got().length === checks.length);
    const byIndex = new Map(got().map((r) => [r.index, r]));
    const out: Violation[] = [];
    checks.forEach((c, i) => {
      const r = byIndex.get(first + i) ?? { atMs: w.nowMs, index: first + i, action: 'read' as const, ok: false, error: 'timed out waiting for a response' };
      const v = this.data.verdict(c, r, w.nowMs);
      if (v) out.push(v);
    });
    return out;
  }

  /** Asks cluster DNS for every StatefulSet-style pod name (see invariants/dns.ts). */
  private probeDns(): Violation[] {
    const w = this.world;
    const probes = dnsProbes(w.store);
    if (probes.length === 0) return [];
    const answers = new Map<string, string[]>();
    // The questions of the current round still unanswered: the run stops when none is left (a
    // scan of the round's questions after every step was quadratic in the pods).
    const outstanding = new Set<string>();
    this.dnsProbe = { answers, outstanding };
    if (!w.bus.has('dns-probe')) w.bus.register('dns-probe', (env) => {
      const m = env.msg as DnsAnswer;
      this.dnsProbe?.answers.set(m.reqId, m.answers);
      this.dnsProbe?.outstanding.delete(m.reqId);
    });
    const ask = (round: number, which: number[]) => {
      outstanding.clear();
      for (const i of which) {
        const reqId = `probe${round}#${i}`;
        outstanding.add(reqId);
        w.bus.send('dns-probe', 'cluster-dns', { type: 'dns.query', reqId, name: probes[i]!.fqdn, qtype: 'A', search: [] });
      }
      w.runUntil(w.nowMs + 5_000, () => outstanding.size === 0);
      return which.filter((i) => !probeHolds(probes[i]!, answers.get(`probe${round}#${i}`) ?? []));
    };
    let failing = ask(1, probes.map((_, i) => i));
    if (failing.length === 0) return [];
    w.runUntil(w.nowMs + DNS_RECHECK_MS);
    failing = ask(2, failing);
    return failing.map((i) => dnsViolation(probes[i]!, answers.get(`probe2#${i}`) ?? [], w.nowMs));
  }

  violations(): Violation[] {
    const w = this.world;
    // Mid-run (the library API), an action still waiting for its answer is not judged yet.
    const answered = this.ended ? undefined : new Set(w.results.map((r) => r.index));
    const ran = w.scenario.actions.filter((a) => a.atMs <= w.nowMs && a.index < END_CHECK_INDEX && (!answered || answered.has(a.index)));
    const out: Violation[] = [...this.identity.violations, ...this.ordered.violations, ...this.storage.violations, ...this.endChecks, ...this.liveness];
    if (this.enabled.has('expectations')) out.push(...checkExpectations(ran, this.resultsWithTimeouts()));
    return out.filter((v) => this.enabled.has(v.invariant)).sort((a, b) => a.atMs - b.atMs || (a.invariant < b.invariant ? -1 : a.invariant > b.invariant ? 1 : 0));
  }

  /**
   * Results in action order. An action that started and has no answer yet is `still blocked`
   * (a write on a hard NFS mount during an outage); one held back behind it at the same `at`
   * never started.
   */
  resultsWithTimeouts(): ActionResult[] {
    const w = this.world;
    const got = new Map(w.results.map((r) => [r.index, r]));
    const out: ActionResult[] = [];
    let blocked: ActionResult | undefined;
    for (const a of w.scenario.actions) {
      if (a.atMs > w.nowMs || a.index >= END_CHECK_INDEX) continue;
      const r = got.get(a.index);
      if (r) {
        out.push(r);
        continue;
      }
      const base = { atMs: a.atMs, index: a.index, action: a.kind, ok: false };
      if (w.started.has(a.index) || blocked?.atMs !== a.atMs) {
        blocked = { ...base, error: STILL_BLOCKED };
        out.push(blocked);
      } else out.push({ ...base, error: `not run: action ${blocked.index} before it at the same time is ${STILL_BLOCKED}` });
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
      apiVersion: 'ksim/v1',
      kind: 'Report',
      scenario: this.scenario.name,
      seed: w.seed,
      durationMs: Math.min(w.nowMs, this.endMs),
      traceHash: w.trace.digest(),
      stats: { steps: w.clock.steps, messages: w.bus.delivered, faults: w.faultsInjected, wallMs: 0 },
      results: this.resultsWithTimeouts(),
      violations: this.violations(),
      warnings: [...w.warnings, ...this.storage.warnings, ...this.data.warnings],
      events,
      objects: { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: w.objects() },
      faults: (w.injector?.faults ?? []).map(scriptedFault),
    };
  }
}

export function runScenario(scenario: Scenario, opts: RunOptions): Report {
  return new Run(scenario, opts).run();
}
