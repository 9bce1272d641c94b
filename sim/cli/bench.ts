/**
 * `ksim bench`: simulation speed on this machine (an edge: reads the wall clock). Runs
 * examples/statefulset-web.yaml for one simulated hour several times and reports the median
 * simulated seconds per wall second and bus messages per second, next to this machine's raw
 * XState `actor.send` rate on a small machine (the ceiling the simulator is measured against).
 * Then a sweep's seeds per second with one worker and with one per core, and the parallel
 * efficiency between them.
 */
import { createActor, setup, assign } from 'xstate';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { Run } from '../run.ts';
import type { Io } from './io.ts';
import { benchBinderMatcher } from '../bench/binder.ts';
import { benchWorldBinding } from '../bench/world-binding.ts';
import { readFileSync } from 'node:fs';
import { SweepPool, defaultWorkers } from '../sweep.ts';
import { benchShrink } from './shrink.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/statefulset-web.yaml', import.meta.url));
/** The chaos run every speed figure of the chaos layer is measured on (issue 10). */
const CHAOS_SCENARIO = fileURLToPath(new URL('../../examples/chaos-rbd-sts.yaml', import.meta.url));
/** The scenario a sweep is measured on: the chaos run. */
const SWEEP_SCENARIO = CHAOS_SCENARIO;
/** Seeds each worker runs before the measured ones: the first seeds of a fresh thread run cold (JIT). */
const SWEEP_WARMUP_SEEDS_PER_WORKER = 10;
/** Seeds of the chaos run measured warm (each seed draws other faults, so several are measured). */
const CHAOS_SEEDS = 10;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The run whose `key` is the median of all runs'. */
function medianBy<T>(runs: T[], key: (r: T) => number): T {
  return [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)]!;
}

const WORLD_RUNS = 3;

/** Collects the previous run's garbage when the process allows it (bin/ksim.js passes --expose-gc). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Raw XState dispatch: sends per second to a small two-state machine. */
export function rawActorSendRate(io: Io, n = 200_000): number {
  const m = setup({ types: { context: {} as { n: number }, events: {} as { type: 'tick' } } }).createMachine({
    context: { n: 0 },
    initial: 'a',
    states: { a: { on: { tick: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } }, b: { on: { tick: { target: 'a' } } } },
  });
  const actor = createActor(m).start();
  const t0 = io.wallMs();
  for (let i = 0; i < n; i++) actor.send({ type: 'tick' });
  return n / ((io.wallMs() - t0) / 1000);
}

export interface BenchFigures {
  scenario: string;
  simulatedSeconds: number;
  wallMs: number;
  realTimeFactor: number;
  messages: number;
  messagesPerSecond: number;
  steps: number;
  rawActorSendPerSecond: number;
  ratioToRawSend: number;
  /** Steps (bus deliveries and timers, each one actor dispatch) per wall second. */
  stepsPerSecond: number;
}

export function benchWeb(io: Io, runs = 15): BenchFigures {
  const loaded = loadScenarioFile(EXAMPLE);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const hourMs = 3_600_000;
  const scenario = { ...loaded.scenario, durationMs: hourMs, actions: [] };
  const walls: number[] = [];
  const raws: number[] = [];
  let messages = 0;
  let steps = 0;
  // Warm the JIT first: sweeps run thousands of seeds in one process.
  for (let i = 0; i < 5; i++) new Run(scenario, { hasher: sha256Hasher, seed: 1 }).run();
  rawActorSendRate(io);
  // The raw rate is measured between the runs, so that both see the same machine (a shared
  // 2-core machine drifts by ±20% over seconds) and the ratio compares like with like.
  for (let i = 0; i < runs; i++) {
    const t0 = io.wallMs();
    const r = new Run(scenario, { hasher: sha256Hasher, seed: 1 }).run();
    walls.push(io.wallMs() - t0);
    messages = r.stats.messages;
    steps = r.stats.steps;
    raws.push(rawActorSendRate(io, 20_000));
  }
  const wallMs = median(walls);
  const raw = median(raws);
  const mps = messages / (wallMs / 1000);
  return {
    scenario: 'examples/statefulset-web.yaml, 1 simulated hour',
    simulatedSeconds: hourMs / 1000,
    wallMs: Math.round(wallMs * 10) / 10,
    realTimeFactor: Math.round(hourMs / wallMs),
    messages,
    messagesPerSecond: Math.round(mps),
    steps,
    rawActorSendPerSecond: Math.round(raw),
    ratioToRawSend: Math.round((raw / mps) * 100) / 100,
    stepsPerSecond: Math.round(steps / (wallMs / 1000)),
  };
}

export interface ChaosFigures {
  scenario: string;
  /** Simulated time per wall time over CHAOS_SEEDS seeds, warm (after a run of each). */
  compression: number;
  /** The same for the first run in this process (module loading excluded, JIT cold). */
  compressionCold: number;
  /** Simulated seconds of the measured seeds (the liveness phase included: runs go past duration). */
  simulatedSeconds: number;
  wallMs: number;
  messages: number;
  messagesPerSecond: number;
  rawActorSendPerSecond: number;
  ratioToRawSend: number;
}

/**
 * examples/chaos-rbd-sts.yaml seeds 1..CHAOS_SEEDS: the first run cold (first thing bench does,
 * so that no other run has warmed the code), then each seed once more, warm, with the raw XState
 * rate measured between them.
 */
export function benchChaos(io: Io): ChaosFigures {
  const loaded = loadScenarioFile(CHAOS_SCENARIO);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const one = (seed: number) => {
    const run = new Run(loaded.scenario, { hasher: sha256Hasher, seed });
    const t0 = io.wallMs();
    const r = run.run();
    return { wallMs: io.wallMs() - t0, simulatedMs: run.world.nowMs, messages: r.stats.messages };
  };
  const cold = one(1);
  for (let seed = 2; seed <= CHAOS_SEEDS; seed++) one(seed);
  const raws: number[] = [];
  let wallMs = 0;
  let simulatedMs = 0;
  let messages = 0;
  for (let seed = 1; seed <= CHAOS_SEEDS; seed++) {
    const r = one(seed);
    wallMs += r.wallMs;
    simulatedMs += r.simulatedMs;
    messages += r.messages;
    raws.push(rawActorSendRate(io, 20_000));
  }
  const raw = median(raws);
  const mps = messages / (wallMs / 1000);
  return {
    scenario: `examples/chaos-rbd-sts.yaml, seeds 1-${CHAOS_SEEDS}`,
    compression: Math.round(simulatedMs / wallMs),
    compressionCold: Math.round(cold.simulatedMs / cold.wallMs),
    simulatedSeconds: Math.round(simulatedMs / 1000),
    wallMs: Math.round(wallMs),
    messages,
    messagesPerSecond: Math.round(mps),
    rawActorSendPerSecond: Math.round(raw),
    ratioToRawSend: Math.round((raw / mps) * 100) / 100,
  };
}

export interface SweepFigures {
  scenario: string;
  /** Seeds per second with `workers` workers (one per core). */
  seedsPerSecond: number;
  workers: number;
  /** seedsPerSecond ÷ (workers × seedsPerSecondOneWorker). */
  parallelEfficiency: number;
  seedsPerSecondOneWorker: number;
  /** Seeds measured per worker, after SWEEP_WARMUP_SEEDS_PER_WORKER warm-up seeds each. */
  seedsPerWorker: number;
  rawActorSendPerSecond: number;
}

/**
 * Seeds per second of a sweep through the worker pool, with warm workers (each has loaded the
 * scenario and run its warm-up seeds): the steady rate of a long sweep, message passing included.
 */
export async function benchSweep(io: Io, seedsPerWorker: number): Promise<SweepFigures> {
  const text = readFileSync(SWEEP_SCENARIO, 'utf8');
  const rate = async (workers: number): Promise<number> => {
    const pool = await SweepPool.start({ file: SWEEP_SCENARIO, text, workers });
    try {
      const warm = Array.from({ length: SWEEP_WARMUP_SEEDS_PER_WORKER * workers }, (_, i) => 1_000_000 + i);
      await pool.run(warm, () => {});
      const seeds = Array.from({ length: seedsPerWorker * workers }, (_, i) => i + 1);
      const t0 = io.wallMs();
      await pool.run(seeds, () => {});
      return seeds.length / ((io.wallMs() - t0) / 1000);
    } finally {
      await pool.close();
    }
  };
  const raw = rawActorSendRate(io, 100_000);
  const one = await rate(1);
  const workers = defaultWorkers();
  const many = workers > 1 ? await rate(workers) : one;
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    scenario: `examples/${SWEEP_SCENARIO.split('/').pop()}`,
    seedsPerSecond: round1(many),
    workers,
    parallelEfficiency: Math.round((many / (workers * one)) * 100) / 100,
    seedsPerSecondOneWorker: round1(one),
    seedsPerWorker,
    rawActorSendPerSecond: Math.round(raw),
  };
}

export async function bench(o: { json?: boolean; claims?: string; sweepSeeds?: string }, io: Io): Promise<number> {
  const n = o.claims !== undefined ? Number(o.claims) : 10_000;
  // First, while nothing has warmed the code: the chaos run's cold figure.
  const chaos = benchChaos(io);
  collectGarbage();
  const f = benchWeb(io);
  // Several runs, the median reported: one run on a shared machine can be off by 20%.
  collectGarbage();
  const matcher = medianBy(Array.from({ length: 5 }, () => benchBinderMatcher(() => io.wallMs(), n)), (m) => m.wallMs);
  // The raw XState rate is measured before each binding run too: this shared machine's speed
  // swings by up to 2x within minutes, and the ratio tells a slow machine from slow code.
  const raws: number[] = [];
  const worlds = Array.from({ length: WORLD_RUNS }, () => {
    collectGarbage();
    raws.push(rawActorSendRate(io, 100_000));
    return benchWorldBinding(() => io.wallMs(), sha256Hasher, n);
  });
  const median1 = medianBy(worlds, (w) => w.wallMs);
  const raw = median(raws);
  const world = {
    ...median1,
    runsMs: worlds.map((w) => Math.round(w.wallMs)),
    rawActorSendPerSecond: Math.round(raw),
    ratioToRawSend: Math.round((raw / (median1.messages / (median1.wallMs / 1000))) * 100) / 100,
  };
  collectGarbage();
  collectGarbage();
  const shrinkRaw = rawActorSendRate(io, 100_000);
  const shrink = { ...benchShrink(io), rawActorSendPerSecond: Math.round(shrinkRaw) };
  const sweep = await benchSweep(io, o.sweepSeeds !== undefined ? Number(o.sweepSeeds) : 100);
  if (o.json) {
    // SPEC §5: every JSON document ksim writes carries apiVersion ksim/v1 and its kind.
    io.out(JSON.stringify({ apiVersion: 'ksim/v1', kind: 'Bench', web: f, chaos, binderMatcher: matcher, worldBinding: world, shrink, sweep }, null, 2));
    return 0;
  }
  const line = (label: string, value: string): void => io.out(`  ${label.padEnd(29)}${value}`);
  io.out(`${f.scenario}`);
  line('wall time (median of 15)', `${f.wallMs} ms`);
  line('simulated / wall', `${f.realTimeFactor.toLocaleString('en-US')}x real time`);
  line('bus messages', `${f.messages} (${f.steps} steps)`);
  line('messages per wall second', f.messagesPerSecond.toLocaleString('en-US'));
  line('raw XState actor.send', `${f.rawActorSendPerSecond.toLocaleString('en-US')}/s (raw / simulator messages = ${f.ratioToRawSend})`);
  line('steps per wall second', `${f.stepsPerSecond.toLocaleString('en-US')} (deliveries and timers: one actor dispatch each)`);
  io.out(`${chaos.scenario}`);
  line('simulated / wall, warm', `${chaos.compression.toLocaleString('en-US')}x (${chaos.simulatedSeconds.toLocaleString('en-US')} s simulated in ${chaos.wallMs} ms)`);
  line('simulated / wall, cold', `${chaos.compressionCold.toLocaleString('en-US')}x (the first run in the process)`);
  line('messages per wall second', `${chaos.messagesPerSecond.toLocaleString('en-US')} (${chaos.messages.toLocaleString('en-US')} bus messages)`);
  line('raw XState actor.send', `${chaos.rawActorSendPerSecond.toLocaleString('en-US')}/s (raw / simulator messages = ${chaos.ratioToRawSend})`);
  io.out(`binding ${n.toLocaleString('en-US')} claims against ${n.toLocaleString('en-US')} PersistentVolumes`);
  line('matcher alone (median of 5)', `${Math.round(matcher.wallMs)} ms (${matcher.claims} matched)`);
  line(`whole world (median of ${WORLD_RUNS})`, `${(world.wallMs / 1000).toFixed(2)} s wall (runs: ${world.runsMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s), ${(world.simulatedMs / 1000).toFixed(1)} s simulated, ${world.messages.toLocaleString('en-US')} bus messages, ${world.bound} claims Bound`);
  line('raw XState actor.send', `${world.rawActorSendPerSecond.toLocaleString('en-US')}/s before the runs (raw / simulator messages = ${world.ratioToRawSend})`);
  io.out(`shrink of ${shrink.scenario} --seed ${shrink.seed} --bug ${shrink.bug}`);
  line('wall time', `${(shrink.ms / 1000).toFixed(2)} s: ${shrink.faultsFrom} faults to ${shrink.faultsTo} in ${shrink.runs} runs (raw XState actor.send ${shrink.rawActorSendPerSecond.toLocaleString('en-US')}/s before)`);
  io.out(`sweep of ${sweep.scenario} (warm workers, ${sweep.seedsPerWorker} seeds each)`);
  line('seeds per second, 1 worker', `${sweep.seedsPerSecondOneWorker}`);
  line(`seeds per second, ${sweep.workers} workers`, `${sweep.seedsPerSecond}`);
  line('parallel efficiency', `${sweep.parallelEfficiency} (seeds/s with ${sweep.workers} ÷ ${sweep.workers} × seeds/s with 1)`);
  line('raw XState actor.send', `${sweep.rawActorSendPerSecond.toLocaleString('en-US')}/s before the sweeps`);
  return 0;
}
