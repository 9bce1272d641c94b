/**
 * `forAllSeeds`: one property over many runs of a scenario, for mocha (or any test runner): it
 * returns when the property holds for every run and throws a PropertyFailure when it does not,
 * whose message gives the seed, the command that replays the failure and the shrunk fault list.
 *
 * Two ways to vary the runs:
 * - seeds (no `faults` option): seeds start, start+1, ... each with the scenario's own faults and
 *   what its `chaos` draws for that seed. A failing seed is shrunk by sim/shrink.ts while the
 *   property still fails (each candidate one run at the same seed).
 * - generated schedules (`faults`: a fast-check arbitrary such as faultSchedule): fast-check runs,
 *   each with its own seed and fault list in place of `chaos`; fast-check shrinks a failure.
 *
 * The property gets a fresh Simulation at that seed and returns false (or throws, as chai's
 * expect does) when it does not hold. The shrunk failure is written as a scenario file (the
 * scenario with spec.faults the shrunk list, sim/shrink.ts shrunkScenarioYaml) under `outDir`,
 * which `ksim run FILE --seed N` replays. An edge of the library: it writes that file.
 *
 * Deterministic: seeds in order, fast-check with a fixed seed of its own (option
 * `fastCheckSeed`, default 1), so that a property test fails or passes the same way every time.
 */
import fc from 'fast-check';
import { loadScenarioText } from '../src/scenario/load.ts';
import type { Fault, Scenario } from '../src/scenario/types.ts';
import { faultYaml, scriptedFault, type ScriptedFault } from './fault-forms.ts';
import { asScripted, shrinkFaults, shrinkSeed, shrunkScenarioYaml, withFaults, type Failure } from './shrink.ts';
import { sha256Hasher } from '../src/node-hash.ts';
import { DEFAULT_MAX_STEPS } from '../src/scenario/limits.ts';
import { ScenarioError, Simulation, builtInFaults } from './simulation.ts';

/** The property: false or a throw means it does not hold for this run. */
export type Property = (sim: Simulation) => boolean | void;

/** A scenario file's path, or its text (`file` names it in messages and in the replay file's name). */
export type ScenarioSource = string | { yaml: string; file?: string };

export interface ForAllSeedsOptions {
  /** How many runs: seeds start..start+N-1, or with `faults` that many fast-check runs (default 100). */
  seeds?: number;
  /** The first seed without `faults` (default 1). */
  start?: number;
  /** Re-introduce a known failure mode (as --bug NAME). */
  bug?: string;
  /** Generated fault schedules instead of the scenario's `chaos`: an arbitrary, or a function of the loaded scenario giving one. */
  faults?: fc.Arbitrary<Fault[]> | ((scenario: Scenario) => fc.Arbitrary<Fault[]>);
  /** fast-check's own seed (default 1): the same generated runs every time. */
  fastCheckSeed?: number;
  /** Where the shrunk scenario of a failure is written (default: the system's temp directory + /ksim-property). */
  outDir?: string;
  /** Most runs spent shrinking a failure (default 200). */
  maxShrinkRuns?: number;
}

/** What a failing property reports; `message` says it all in words. */
export class PropertyFailure extends Error {
  override name = 'PropertyFailure';
  constructor(
    message: string,
    /** The seed of the failing run. */
    readonly seed: number,
    /** The shrunk fault list, in the scripted form. */
    readonly faults: ScriptedFault[],
    /** The scenario file that replays the failure (undefined if it could not be written). */
    readonly file: string | undefined,
    /** `ksim run FILE --seed N [--bug NAME]`. */
    readonly replay: string,
  ) {
    super(message);
  }
}

/**
 * node:fs and node:os, looked up when called rather than imported, so that this module (and the
 * package's entry point that re-exports it) also loads where there are none (a browser page):
 * there a scenario comes as text and a failure's file is not written.
 */
function nodeFs() {
  return globalThis.process?.getBuiltinModule?.('node:fs');
}

function tmpdir(): string {
  return globalThis.process?.getBuiltinModule?.('node:os')?.tmpdir() ?? '/tmp';
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

const DEFAULT_SEEDS = 100;
const DEFAULT_SHRINK_RUNS = 200;

/** Why the property does not hold for this simulation, or undefined when it holds. */
function verdict(property: Property, sim: Simulation): string | undefined {
  let result: unknown;
  try {
    result = property(sim);
  } catch (e) {
    const err = e as Error;
    return `the property threw ${err?.name ?? 'an error'}: ${String(err?.message ?? e).split('\n')[0]}`;
  }
  // A promise would pass whatever it found later: the simulation is synchronous, so must the property be.
  if (typeof (result as { then?: unknown } | null)?.then === 'function') throw new TypeError('forAllSeeds: the property returned a Promise; it must be synchronous (the simulation is: no await is needed)');
  return result === false ? 'the property returned false' : undefined;
}

function source(s: ScenarioSource): { text: string; file: string; replayable: boolean } {
  if (typeof s === 'string') {
    const fs = nodeFs();
    if (!fs) throw new Error(`${s}: reading files needs Node.js >= 20.16; pass {yaml: text} instead`);
    try {
      return { text: fs.readFileSync(s, 'utf8'), file: s, replayable: true };
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new ScenarioError([`${s}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(e)})`}`]);
    }
  }
  return { text: s.yaml, file: s.file ?? 'scenario.yaml', replayable: s.file !== undefined };
}

/**
 * Runs `property` over many runs of a scenario (see the module comment); throws a
 * PropertyFailure for the first run for which it does not hold, after shrinking its faults.
 */
export function forAllSeeds(scenario: ScenarioSource, opts: ForAllSeedsOptions, property: Property): void {
  const src = source(scenario);
  const loaded = loadScenarioText(src.text, src.file);
  if (!loaded.ok) throw new ScenarioError(loaded.errors);
  const s = loaded.scenario;
  const runs = opts.seeds ?? DEFAULT_SEEDS;
  const bug = opts.bug;
  const simOf = (sc: Scenario, seed: number) => Simulation.fromScenario(sc, { seed, ...(bug ? { bug } : {}) });
  if (opts.faults === undefined) {
    const start = opts.start ?? 1;
    for (let seed = start; seed < start + runs; seed++) {
      const sim = simOf(s, seed);
      const why = verdict(property, sim);
      if (why === undefined) continue;
      const from = asScripted(builtInFaults(sim));
      const stillFails = (faults: Fault[]) => verdict(property, simOf(withFaults(s, faults), seed)) !== undefined;
      // The seed's faults replayed as a script must fail too before they are shrunk.
      const replays = stillFails(from);
      const shrunk = replays ? shrinkFaults(from, stillFails, { durationMs: s.durationMs, maxRuns: opts.maxShrinkRuns ?? DEFAULT_SHRINK_RUNS }) : undefined;
      const lines = [
        `${why}`,
        shrunk
          ? `faults shrunk from ${from.length} to ${shrunk.faults.length} in ${shrunk.runs + 1} runs${shrunk.exhausted ? ' (stopped at maxShrinkRuns: it may shrink further)' : ''}:`
          : `faults (not shrunk: replayed as spec.faults they do not fail the property):`,
      ];
      const asFailed = src.replayable ? `the run as it failed: ksim run ${src.file} --seed ${seed}${bug ? ` --bug ${bug}` : ''}` : undefined;
      throw failure(src, s, opts, seed, shrunk?.faults ?? from, `property failed for seed ${seed} of ${src.file}${bug ? ` with --bug ${bug}` : ''}`, lines, asFailed);
    }
    return;
  }
  const schedules = typeof opts.faults === 'function' ? opts.faults(s) : opts.faults;
  const { chaos: _chaos, ...quiet } = s;
  const noChaos: Scenario = quiet;
  let shrinkRuns = 0;
  let failed = false;
  let lastWhy = '';
  const maxShrink = opts.maxShrinkRuns ?? DEFAULT_SHRINK_RUNS;
  const details = fc.check(
    fc.property(fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), faults: schedules }), ({ seed, faults }) => {
      // Past the shrink budget every further candidate passes: fast-check keeps the last failure.
      if (failed && ++shrinkRuns > maxShrink) return true;
      const why = verdict(property, simOf(withFaults(noChaos, [...s.faults, ...faults]), seed));
      if (why !== undefined) {
        failed = true;
        lastWhy = why;
      }
      return why === undefined;
    }),
    { numRuns: runs, seed: opts.fastCheckSeed ?? 1 },
  );
  if (!details.failed || !details.counterexample) return;
  const [{ seed, faults }] = details.counterexample;
  // fast-check shrank what it generated; the scenario's own faults and each fault's knobs are
  // shrunk further as a failing seed's are (sim/shrink.ts).
  const from = asScripted([...s.faults, ...faults]);
  const stillFails = (list: Fault[]) => verdict(property, simOf(withFaults(noChaos, list), seed)) !== undefined;
  const why = verdict(property, simOf(withFaults(noChaos, from), seed)) ?? lastWhy;
  const shrunk = shrinkFaults(from, stillFails, { durationMs: s.durationMs, maxRuns: maxShrink });
  const lines = [
    why,
    `faults shrunk from ${from.length} (${s.faults.length} of the scenario, ${faults.length} generated by fast-check in run ${details.numRuns} of ${runs} and shrunk ${details.numShrinks} times; fastCheckSeed ${opts.fastCheckSeed ?? 1}) to ${shrunk.faults.length} in ${shrunk.runs + 1} more runs${shrinkRuns > maxShrink || shrunk.exhausted ? ' (stopped at maxShrinkRuns: it may shrink further)' : ''}:`,
  ];
  throw failure(src, noChaos, opts, seed, shrunk.faults, `property failed for seed ${seed} of ${src.file}${bug ? ` with --bug ${bug}` : ''}`, lines);
}

/** The PropertyFailure of a shrunk run: writes its scenario file and says how to replay it. */
function failure(src: { text: string; file: string }, s: Scenario, opts: ForAllSeedsOptions, seed: number, faults: readonly Fault[], title: string, lines: string[], footer?: string): PropertyFailure {
  const list = asScripted(faults);
  const bugFlag = opts.bug ? ` --bug ${opts.bug}` : '';
  const dir = opts.outDir ?? join(tmpdir(), 'ksim-property');
  const out = join(dir, `${basename(src.file).replace(/\.ya?ml$/i, '')}-seed${seed}-shrunk.yaml`);
  const replay = `ksim run ${out} --seed ${seed}${bugFlag}`;
  let written: string | undefined = out;
  try {
    const fs = nodeFs();
    if (!fs) throw new Error('no file system');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(out, shrunkScenarioYaml(src.text, { name: s.name, faults: list, seed, header: [`A failure of a property test (ksim forAllSeeds) on ${basename(src.file)}, seed ${seed}.`, `Replay: ${replay}`] }));
  } catch {
    written = undefined;
  }
  const message = [
    title,
    `  ${lines[0]}`,
    written ? `  replay: ${replay}` : `  replay: paste the faults below under spec.faults of ${src.file}, then ksim run it --seed ${seed}${bugFlag} (${out} could not be written)`,
    `  ${lines[1]}`,
    ...(list.length === 0 ? ['    (none: it fails without any fault)'] : list.map((f) => `    ${faultYaml(f)}`)),
    ...(footer ? [`  ${footer}`] : []),
  ].join('\n');
  return new PropertyFailure(message, seed, list.map(scriptedFault), written, replay);
}

/** What `shrink` found: the failure, the seed's faults and the shrunk ones (scripted form), and the file text that replays it. */
export type ShrinkReport =
  | { status: 'passes'; seed: number }
  | { status: 'not-reproduced'; seed: number; failure: Failure; from: ScriptedFault[] }
  | { status: 'shrunk'; seed: number; failure: Failure; from: ScriptedFault[]; faults: ScriptedFault[]; runs: number; exhausted: boolean; yaml: string };

/**
 * `ksim shrink` from code: the seed's faults (scripted and drawn) shrunk while the same invariant
 * is broken (sim/shrink.ts shrinkSeed), and the scenario text that replays the shrunk run.
 */
export function shrink(scenario: ScenarioSource, opts: { seed: number; bug?: string; maxRuns?: number }): ShrinkReport {
  const src = source(scenario);
  const loaded = loadScenarioText(src.text, src.file);
  if (!loaded.ok) throw new ScenarioError(loaded.errors);
  const r = shrinkSeed(loaded.scenario, { seed: opts.seed, hasher: sha256Hasher, maxSteps: DEFAULT_MAX_STEPS, ...(opts.bug ? { bug: opts.bug } : {}), ...(opts.maxRuns !== undefined ? { maxRuns: opts.maxRuns } : {}) });
  if (r.status === 'passes') return { status: 'passes', seed: opts.seed };
  if (r.status === 'not-reproduced') return { status: 'not-reproduced', seed: opts.seed, failure: r.failure, from: r.faults.map(scriptedFault) };
  const yaml = shrunkScenarioYaml(src.text, { name: loaded.scenario.name, faults: r.faults, seed: opts.seed });
  return { status: 'shrunk', seed: opts.seed, failure: r.failure, from: r.from.map(scriptedFault), faults: r.faults.map(scriptedFault), runs: r.runs, exhausted: r.exhausted, yaml };
}
