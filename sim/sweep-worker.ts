/**
 * One worker thread of a sweep (the pool is sim/sweep.ts). It loads the scenario once, from the
 * text the pool read, then runs each seed the pool hands it and answers with that seed's
 * outcome: one small message each way per seed. An edge: it reads the wall clock, for `wallMs`
 * only.
 *
 * Protocol (structured-clone messages):
 *   pool -> worker  {type: 'run', seed}
 *   worker -> pool  {type: 'ready'} once loaded, {type: 'result', outcome} per seed,
 *                   {type: 'fatal', message} when the scenario cannot be loaded
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadScenarioText } from '../src/scenario/load.ts';
import type { Scenario } from '../src/scenario/types.ts';
import { sha256Hasher } from '../src/node-hash.ts';
import { Run } from './run.ts';
import { DEFAULT_MAX_STEPS } from '../src/scenario/limits.ts';
import { formatDuration } from '../src/duration.ts';
import { replayCommand, type SeedCrash, type SeedOutcome } from './sweep-summary.ts';

export interface WorkerInput {
  file: string;
  text: string;
  bug?: string;
}

export type ToWorker = { type: 'run'; seed: number };
export type FromWorker = { type: 'ready' } | { type: 'result'; outcome: SeedOutcome } | { type: 'fatal'; message: string };

/** An exception out of the run (exit 3 for `ksim run`): its first line and the replay command. */
function crashOf(err: unknown, run: Run | undefined, file: string, seed: number, bug: string | undefined): SeedCrash {
  const e = err instanceof Error ? err : new Error(String(err));
  const firstLine = e.message.split('\n')[0] ?? '';
  return {
    message: e.name && e.name !== 'Error' ? `${e.name}: ${firstLine}` : firstLine,
    replay: replayCommand(file, seed, bug),
    ...(run ? { atMs: run.world.nowMs } : {}),
  };
}

/**
 * Runs one seed of a loaded scenario, with `ksim run`'s step budget; an actor's failure (the
 * report's `crash`) or an exception out of the run becomes `crash`, never a throw.
 */
export function runSeed(scenario: Scenario, seed: number, bug: string | undefined, wallMs: () => number): SeedOutcome {
  const t0 = wallMs();
  const took = () => Math.round((wallMs() - t0) * 10) / 10;
  let run: Run | undefined;
  try {
    run = new Run(scenario, { hasher: sha256Hasher, seed, maxSteps: DEFAULT_MAX_STEPS, ...(bug ? { bug } : {}) });
    const report = run.run();
    const outcome: SeedOutcome = { seed, traceHash: report.traceHash, violations: report.violations, faults: report.faults, wallMs: took() };
    const c = report.crash;
    if (c) outcome.crash = { message: `actor ${c.actor} failed at ${formatDuration(c.atMs)}: ${c.message.split('\n')[0] ?? ''}`, replay: replayCommand(scenario.file, seed, bug), atMs: c.atMs, actor: c.actor };
    return outcome;
  } catch (err) {
    let traceHash = '';
    try {
      traceHash = run?.world.trace.digest() ?? '';
    } catch {
      // The trace itself failed: no hash to report.
    }
    return { seed, traceHash, violations: [], faults: [], wallMs: took(), crash: crashOf(err, run, scenario.file, seed, bug) };
  }
}

function serve(): void {
  const port = parentPort!;
  const input = workerData as WorkerInput;
  const loaded = loadScenarioText(input.text, input.file);
  if (!loaded.ok) {
    port.postMessage({ type: 'fatal', message: loaded.errors.join('\n') } satisfies FromWorker);
    return;
  }
  const scenario = loaded.scenario;
  const now = () => performance.now();
  port.on('message', (m: ToWorker) => {
    if (m.type !== 'run') return;
    port.postMessage({ type: 'result', outcome: runSeed(scenario, m.seed, input.bug, now) } satisfies FromWorker);
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (parentPort && workerData && typeof (workerData as WorkerInput).text === 'string') serve();
