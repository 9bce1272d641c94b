/**
 * `ksim shrink SCENARIO --seed N [--out FILE] [--bug NAME] [--max-runs N]` (SPEC §4): from a
 * failing seed, the smallest scripted fault list found that still breaks the same invariant
 * (sim/shrink.ts), written as a standalone scenario that `ksim run` replays.
 *
 * Exit codes: 0 it wrote the shrunk scenario; 1 the seed breaks no invariant (nothing to
 * shrink, nothing written); 2 bad input or usage (nothing run); 3 ksim itself failed (the seed's
 * faults replayed as a script, or the written file, do not fail the same way: a ksim bug).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, loadScenarioText, quoteUnsafe } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/types.ts';
import { formatDuration } from '../../src/duration.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { DEFAULT_MAX_STEPS } from '../../src/scenario/limits.ts';
import { faultYaml } from '../fault-forms.ts';
import { KNOWN_BUGS, StepBudgetExceeded } from '../world.ts';
import { Run } from '../run.ts';
import { DEFAULT_MAX_RUNS, shrinkSeed, shrunkScenarioYaml, showsFailure, type Failure } from '../shrink.ts';
import { UsageError, terminalSafe, type Io } from './io.ts';
import { parseSeed } from './run.ts';

/** The default --out: `<scenario base name>-seed<N>-shrunk.yaml` in the current directory. */
export function defaultOut(file: string, seed: number): string {
  return `${basename(file).replace(/\.ya?ml$/i, '')}-seed${seed}-shrunk.yaml`;
}

function parseCount(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a non-negative integer`);
  return Number(v);
}

export function describeFailure(f: Failure): string {
  return 'crash' in f ? `ksim itself failed (actor ${f.crash} at ${formatDuration(f.atMs)}: ${f.message.split('\n')[0]})` : `${f.invariant} (at ${formatDuration(f.atMs)}: ${f.message})`;
}

/** The file's problems, one line each, or the scenario. */
function load(file: string, io: Io): Scenario | undefined {
  const res = loadScenarioFile(file);
  for (const w of res.warnings) io.err(terminalSafe(`${quoteUnsafe(w.pos.file)}:${w.pos.line}:${w.pos.col}: warning: ${w.message}`));
  if (!res.ok) {
    for (const e of res.errors) io.err(terminalSafe(e.replace(/\r?\n/g, '\\n')));
    return undefined;
  }
  return res.scenario;
}

export async function cmdShrink(file: string, o: Record<string, string | undefined>, io: Io): Promise<number> {
  // Flags first: a usage mistake costs nothing.
  const seedFlag = parseSeed(o['seed']);
  const maxRuns = parseCount('--max-runs', o['maxRuns']) ?? DEFAULT_MAX_RUNS;
  const bug = o['bug'];
  if (bug !== undefined && !Object.hasOwn(KNOWN_BUGS, bug)) throw new UsageError(`--bug: unknown failure mode ${JSON.stringify(bug)} (known: ${Object.keys(KNOWN_BUGS).join(', ')})`);
  const scenario = load(file, io);
  if (!scenario) return 2;
  const seed = seedFlag ?? scenario.seed;
  const out = o['out'] ?? defaultOut(file, seed);
  if (out.includes('\0')) throw new UsageError('--out: a path cannot contain a NUL byte');
  if (resolve(out) === resolve(file)) throw new UsageError(`--out: ${quoteUnsafe(out)} is the scenario itself: write the shrunk scenario to another file`);
  const dir = dirname(resolve(out));
  let dirOk = false;
  try {
    dirOk = statSync(dir).isDirectory();
  } catch {
    dirOk = false;
  }
  if (!dirOk) throw new UsageError(`--out: cannot write ${quoteUnsafe(out)}: no such directory`);
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
  } catch {
    // Not there yet: it will be written.
  }
  if (isDir) throw new UsageError(`--out: cannot write ${quoteUnsafe(out)}: is a directory`);
  const text = readFileSync(file, 'utf8');
  const bugFlag = bug ? ` --bug ${bug}` : '';
  const shown = quoteUnsafe(file);

  const t0 = io.wallMs();
  let shownBest = -1;
  let outcome: ReturnType<typeof shrinkSeed>;
  try {
    outcome = shrinkSeed(scenario, {
      seed,
      ...(bug ? { bug } : {}),
      hasher: sha256Hasher,
      maxSteps: DEFAULT_MAX_STEPS,
      maxRuns,
      onRun: (runs, best) => {
        if (best.length === shownBest) return;
        io.err(`ksim shrink: run ${runs}: ${best.length} fault${best.length === 1 ? '' : 's'}${shownBest < 0 ? ' (the seed\'s)' : ` still break${best.length === 1 ? 's' : ''} it`}`);
        shownBest = best.length;
      },
    });
  } catch (e) {
    if (e instanceof StepBudgetExceeded) {
      io.err(terminalSafe(`ksim: seed ${seed}: ${e.message}: ksim's step budget per run is ${DEFAULT_MAX_STEPS} (docs/input.md)`));
      return 2;
    }
    throw e;
  }
  const seconds = ((io.wallMs() - t0) / 1000).toFixed(1);
  if (outcome.status === 'passes') {
    io.err(terminalSafe(`ksim shrink: seed ${seed} of ${shown}${bugFlag} breaks no invariant: nothing to shrink (ksim run ${shown} --seed ${seed}${bugFlag} exits 0); nothing written`));
    return 1;
  }
  if (outcome.status === 'not-reproduced') {
    io.err(terminalSafe(`ksim: internal error (a ksim bug): seed ${seed} breaks ${describeFailure(outcome.failure)}, but its ${outcome.faults.length} faults replayed as spec.faults do not`));
    io.err(terminalSafe(`seed ${seed}; replay: ksim run ${shown} --seed ${seed}${bugFlag}`));
    return 3;
  }
  const { failure, from, faults, runs, exhausted } = outcome;
  const replay = `ksim run ${quoteUnsafe(out)} --seed ${seed}${bugFlag}`;
  const yaml = shrunkScenarioYaml(text, {
    name: scenario.name,
    faults,
    seed,
    header: [
      `Shrunk by \`ksim shrink ${basename(file)} --seed ${seed}${bugFlag}\`: ${from.length} fault${from.length === 1 ? '' : 's'} -> ${faults.length} in ${runs} runs;`,
      `it still breaks ${'crash' in failure ? 'ksim itself (a ksim bug)' : failure.invariant}. Replay: ${replay}`,
    ].map((l) => l.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '?')),
  });
  // The file must replay the failure: load it back and run it once, as `ksim run` would.
  const back = loadScenarioText(yaml, out);
  const check = back.ok ? new Run(back.scenario, { hasher: sha256Hasher, seed, ...(bug ? { bug } : {}), maxSteps: DEFAULT_MAX_STEPS }).run() : undefined;
  if (!check || !showsFailure(check, failure)) {
    io.err(terminalSafe(`ksim: internal error (a ksim bug): the shrunk scenario does not replay the failure${back.ok ? '' : `: ${back.errors[0]}`}`));
    return 3;
  }
  try {
    writeFileSync(out, yaml);
  } catch (e) {
    throw new UsageError(`--out: cannot write ${quoteUnsafe(out)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  io.out(terminalSafe(`ksim shrink: seed ${seed} of ${shown}${bugFlag} breaks ${describeFailure(failure)}`));
  io.out(`shrunk ${from.length} fault${from.length === 1 ? '' : 's'} to ${faults.length} in ${runs} runs (${seconds} s)${exhausted ? ` — stopped at --max-runs ${maxRuns}: it may shrink further` : ''}:`);
  for (const f of faults) io.out(terminalSafe(`    ${faultYaml(f)}`));
  if (faults.length === 0) io.out('    (none: it fails without any fault)');
  io.out(terminalSafe(`wrote ${quoteUnsafe(out)}`));
  io.out(terminalSafe(`replay: ${replay}`));
  return 0;
}

/**
 * What `ksim bench` times: shrinking a failing seed of the chaos example under a --bug. Seed 18
 * of examples/chaos-rbd-sts.yaml with informer-no-relist breaks converges (the first of seeds
 * 1-30 that fails with a bug ksim knows; test/e2e/shrink.test.ts checks it still does).
 */
export const BENCH_SHRINK = { scenario: 'examples/chaos-rbd-sts.yaml', seed: 18, bug: 'informer-no-relist' } as const;

export interface ShrinkFigures {
  scenario: string;
  seed: number;
  bug: string;
  /** Wall time of the whole shrink, the seed's own run included. */
  ms: number;
  runs: number;
  faultsFrom: number;
  faultsTo: number;
}

export function benchShrink(io: Io): ShrinkFigures {
  const file = fileURLToPath(new URL(`../../${BENCH_SHRINK.scenario}`, import.meta.url));
  const loaded = loadScenarioFile(file);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const t0 = io.wallMs();
  const r = shrinkSeed(loaded.scenario, { seed: BENCH_SHRINK.seed, bug: BENCH_SHRINK.bug, hasher: sha256Hasher });
  const ms = io.wallMs() - t0;
  if (r.status !== 'shrunk') throw new Error(`bench: seed ${BENCH_SHRINK.seed} of ${BENCH_SHRINK.scenario} with --bug ${BENCH_SHRINK.bug} no longer fails (pick another seed)`);
  return { scenario: BENCH_SHRINK.scenario, seed: BENCH_SHRINK.seed, bug: BENCH_SHRINK.bug, ms: Math.round(ms), runs: r.runs, faultsFrom: r.from.length, faultsTo: r.faults.length };
}
