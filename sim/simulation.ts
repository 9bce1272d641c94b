/**
 * The Simulation of the library API (SPEC §7; sim/index.ts is what `import ... from 'ksim'`
 * gives). Everything is synchronous: simulated time does not wait for the wall clock.
 *
 *   const sim = Simulation.load('examples/statefulset-web.yaml', { seed: 7 });
 *   sim.runFor('2m');
 *   sim.exec('web-0').write('/usr/share/nginx/html/index.html', 'hello');
 *   sim.runUntil((s) => s.get('Pod', 'web-0')?.status?.phase === 'Running', { timeout: '10m' });
 *   expect(sim.violations()).to.deep.equal([]);
 */
import { loadScenarioFile, loadScenarioText } from '../src/scenario/load.ts';
import type { Action, Fault, Scenario } from '../src/scenario/types.ts';
import { parseDuration } from '../src/duration.ts';
import { sha256Hasher } from '../src/node-hash.ts';
import type { KObject } from '../src/protocol.ts';
import { isNamespaced } from '../src/model/objects.ts';
import { Run, type Report } from './run.ts';
import type { Violation } from './invariants/types.ts';
import type { ActionResult } from '../actors/kubectl.ts';
import { FaultControl } from './fault-control.ts';

/** Faults and heals from code one simulation may hold: each takes a timer place below one (FaultControl). */
const SEQ_SLOTS = 2 ** 20;


export interface SimulationOptions {
  seed?: number;
  bug?: string;
  /** kubectl's --validate for unknown fields: strict (the default), warn or ignore (docs/input.md). */
  validate?: 'strict' | 'warn' | 'ignore';
}

/** Bad scenario input: `lines` are the `file:line:col: ...` problems. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

function ms(d: string | number): number {
  if (typeof d === 'number') return d;
  const v = parseDuration(d);
  if (typeof v === 'string') throw new Error(v);
  return v;
}

export class Simulation {
  private readonly run: Run;
  private added = 0;
  /** The instant in which the last call stopped after running part of it (runUntil, act), if any. */
  private begunMs = -1;
  /** Timer places for faults from code: after every timer scheduled before the run (FaultControl). */
  private readonly seqBase: number;
  private seqs = 0;
  /** Faults injected now, from code (SPEC §7): `sim.fault.crash('node/node-1', { for: '2m' })`. */
  readonly fault: FaultControl;

  private constructor(scenario: Scenario, opts: SimulationOptions) {
    this.run = new Run(scenario, { hasher: sha256Hasher, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.bug ? { bug: opts.bug } : {}), ...(opts.validate ? { validate: opts.validate } : {}) });
    const clock = this.run.world.clock;
    this.seqBase = clock.nextSeq;
    this.fault = new FaultControl(this.run.world, this.run.scenario, {
      openMs: () => (this.begunMs === this.nowMs ? this.nowMs + 1 : this.nowMs),
      seq: () => {
        if (++this.seqs >= SEQ_SLOTS) throw new Error(`at most ${SEQ_SLOTS - 1} faults and heals from code in one simulation`);
        return this.seqBase - 1 + this.seqs / SEQ_SLOTS;
      },
    });
  }

  /** A simulation of an already loaded scenario (the property helper and shrink build variants of one). */
  static fromScenario(scenario: Scenario, opts: SimulationOptions = {}): Simulation {
    return new Simulation(scenario, opts);
  }

  static load(file: string, opts: SimulationOptions = {}): Simulation {
    const r = loadScenarioFile(file, opts.validate ? { validate: opts.validate } : {});
    if (!r.ok) throw new ScenarioError(r.errors);
    return new Simulation(r.scenario, opts);
  }

  static fromYaml(text: string, opts: SimulationOptions & { file?: string } = {}): Simulation {
    const r = loadScenarioText(text, opts.file ?? 'scenario.yaml', opts.validate ? { validate: opts.validate } : {});
    if (!r.ok) throw new ScenarioError(r.errors);
    return new Simulation(r.scenario, opts);
  }

  get nowMs(): number {
    return this.run.world.nowMs;
  }

  get seed(): number {
    return this.run.world.seed;
  }

  /**
   * Runs what is due before `nowMs + duration` and leaves the clock at that instant, nothing of
   * it run yet: a fault injected then begins there, as the same fault scripted at that `at`.
   */
  runFor(duration: string | number): this {
    this.advance(this.nowMs + ms(duration));
    return this;
  }

  /** Runs until `pred` holds (checked after every step); false when `timeout` passed first. */
  runUntil(pred: (s: Simulation) => boolean, opts: { timeout?: string | number } = {}): boolean {
    if (pred(this)) return true;
    return this.advance(this.nowMs + ms(opts.timeout ?? '10m'), () => pred(this));
  }

  /**
   * Runs every timer due before `limitMs`, or until `stop` holds after one (then the instant it
   * stopped in has begun: a fault from code begins at the next millisecond).
   */
  private advance(limitMs: number, stop?: () => boolean): boolean {
    const w = this.run.world;
    if (limitMs <= w.nowMs) return false;
    if (w.runUntil(limitMs - 1, stop)) {
      this.begunMs = w.nowMs;
      return true;
    }
    w.clock.nowMs = limitMs;
    return false;
  }

  /**
   * The object as the API server stores it, or undefined. Its type is KObject (spec and status
   * untyped) unless asked for: `sim.get<Pod>('Pod', 'web-0')` with `Pod` from kubernetes-types
   * (`import type { Pod } from 'kubernetes-types/core/v1'`), the v1.30 types ksim models.
   */
  get<T extends object = KObject>(kind: string, name: string, namespace = 'default'): T | undefined {
    return this.run.world.store.get(kind, isNamespaced(kind) ? namespace : undefined, name) as T | undefined;
  }

  /** Every object of a kind (in one namespace, or all); typed as `get` is. */
  list<T extends object = KObject>(kind: string, namespace?: string): T[] {
    return this.run.world.store.list(kind, namespace) as T[];
  }

  /** `kubectl exec POD -- sh -c 'echo DATA > PATH'` and `cat PATH`, answered synchronously. */
  exec(pod: string, opts: { namespace?: string; container?: string } = {}) {
    const base = { namespace: opts.namespace ?? 'default', pos: { file: '<api>', line: 0, col: 0 }, ...(opts.container ? { container: opts.container } : {}) };
    return {
      write: (path: string, data: string, append = false): ActionResult => this.act({ ...base, kind: 'write', pod, path, data, append } as Omit<Action, 'atMs' | 'index'>),
      read: (path: string): ActionResult => this.act({ ...base, kind: 'read', pod, path } as Omit<Action, 'atMs' | 'index'>),
    };
  }

  /** Runs one action now, the way a scenario action runs, and waits (simulated) for its result. */
  act(action: Omit<Action, 'atMs' | 'index'>, timeout: string | number = '1m'): ActionResult {
    const w = this.run.world;
    const index = 1_000_000 + this.added++;
    const a = { ...action, atMs: this.nowMs, index } as Action;
    // What the scenario does at this instant happens first (its actions, faults, timers due);
    // then this action, in an instant that has begun: a fault from code begins at the next ms.
    if (this.begunMs !== this.nowMs) w.runUntil(this.nowMs);
    this.begunMs = this.nowMs;
    this.run.addAction(a);
    const found = () => w.results.find((r) => r.index === index);
    this.advance(this.nowMs + ms(timeout), () => found() !== undefined);
    return found() ?? { atMs: a.atMs, index, action: a.kind, ok: false, error: 'timed out waiting for a response' };
  }

  /** Runs the rest of the scenario (to its duration) with the end-of-run checks; returns the report. */
  runScenario(): Report {
    const report = this.run.run();
    this.begunMs = this.nowMs;
    return report;
  }

  violations(): Violation[] {
    return this.run.violations();
  }

  report(): Report {
    return this.run.report();
  }

  events(): Report['events'] {
    return this.run.report().events;
  }
}

/**
 * The faults a simulation was built with: its scenario's scripted ones and those chaos drew for
 * its seed (not those injected from code). The property helper shrinks these.
 */
export function builtInFaults(sim: Simulation): Fault[] {
  const run = sim['run'];
  return [...run.scenario.faults, ...run.world.drawnFaults];
}
