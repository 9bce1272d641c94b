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
import { UsageError, type Io } from './io.ts';
import { benchBinderMatcher } from '../bench/binder.ts';
import { benchWorldBinding } from '../bench/world-binding.ts';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SweepPool, defaultWorkers } from '../sweep.ts';
import { allRunningAndBound, parseScaleShape, runScale, scaleName, type ScaleOutcome, type ScaleShape } from '../bench/scale.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/statefulset-web.yaml', import.meta.url));
/**
 * The scenario a sweep is measured on: examples/chaos-rbd-sts.yaml (the chaos run every speed
 * figure is measured on) once it exists; until then the RBD StatefulSet example.
 */
const SWEEP_SCENARIO = fileURLToPath(new URL('../../examples/statefulset-storage.yaml', import.meta.url));
/** Seeds each worker runs before the measured ones: the first seeds of a fresh thread run cold (JIT). */
const SWEEP_WARMUP_SEEDS_PER_WORKER = 20;

function median(xs: number[]): number {
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
  const sweep = await benchSweep(io, o.sweepSeeds !== undefined ? Number(o.sweepSeeds) : 100);
  if (o.json) {
    // SPEC §5: every JSON document ksim writes carries apiVersion ksim/v1 and its kind.
    io.out(JSON.stringify({ apiVersion: 'ksim/v1', kind: 'Bench', web: f, binderMatcher: matcher, worldBinding: world, sweep }, null, 2));
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
  io.out(`binding ${n.toLocaleString('en-US')} claims against ${n.toLocaleString('en-US')} PersistentVolumes`);
  line('matcher alone (median of 5)', `${Math.round(matcher.wallMs)} ms (${matcher.claims} matched)`);
  line(`whole world (median of ${WORLD_RUNS})`, `${(world.wallMs / 1000).toFixed(2)} s wall (runs: ${world.runsMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s), ${(world.simulatedMs / 1000).toFixed(1)} s simulated, ${world.messages.toLocaleString('en-US')} bus messages, ${world.bound} claims Bound`);
  line('raw XState actor.send', `${world.rawActorSendPerSecond.toLocaleString('en-US')}/s before the runs (raw / simulator messages = ${world.ratioToRawSend})`);
  io.out(`sweep of ${sweep.scenario} (warm workers, ${sweep.seedsPerWorker} seeds each)`);
  line('seeds per second, 1 worker', `${sweep.seedsPerSecondOneWorker}`);
  line(`seeds per second, ${sweep.workers} workers`, `${sweep.seedsPerSecond}`);
  line('parallel efficiency', `${sweep.parallelEfficiency} (seeds/s with ${sweep.workers} ÷ ${sweep.workers} × seeds/s with 1)`);
  line('raw XState actor.send', `${sweep.rawActorSendPerSecond.toLocaleString('en-US')}/s before the sweeps`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// `ksim bench --scale` (issue 15): the scale scenarios of sim/bench/scale.ts, each run in a child
// process of its own, so that its peak memory is its own (process.resourceUsage().maxRSS).

/** What one child reports: the run's outcome, its wall time and its process's peak memory. */
export interface ScaleRunFigures extends ScaleOutcome {
  wallMs: number;
  /** The child's CPU time (user + system) over the run: what the machine's load does not inflate. */
  cpuMs: number;
  maxRssBytes: number;
}

/**
 * The child's side (`ksim bench --scale-run SHAPE --scale-seed N`): generates, loads and runs
 * the scenario, then prints its figures as one JSON line.
 */
export function scaleRunChild(shapeText: string, seed: number, io: Io): number {
  const shape = parseScaleShape(shapeText);
  if (!shape) throw new UsageError(`--scale-run: "${shapeText}" is not NODESxSETSxREPLICAS[+chaosN]`);
  const cpu0 = process.cpuUsage();
  const t0 = io.wallMs();
  const outcome = runScale(shape, seed, sha256Hasher);
  const wallMs = io.wallMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  const figures: ScaleRunFigures = { ...outcome, wallMs: Math.round(wallMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000), maxRssBytes: process.resourceUsage().maxRSS * 1024 };
  io.out(JSON.stringify(figures));
  return 0;
}

/** Heap for the children: the 100,000-pod run needs more than Node's default (about 4 GB here). */
const SCALE_HEAP_FLAG = '--max-old-space-size=12288';

function runScaleChild(shape: ScaleShape, seed: number): ScaleRunFigures {
  const text = `${shape.nodes}x${shape.sets}x${shape.replicas}${shape.faults ? `+chaos${shape.faults}` : ''}`;
  const execArgv = process.execArgv.some((a) => a.startsWith('--max-old-space-size')) ? process.execArgv : [...process.execArgv, SCALE_HEAP_FLAG];
  const child = spawnSync(process.execPath, [...execArgv, process.argv[1]!, 'bench', '--scale-run', text, '--scale-seed', String(seed)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !line.startsWith('{')) {
    throw new Error(`scale run ${scaleName(shape)} seed ${seed} failed (exit ${child.status ?? child.signal}): ${(child.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`);
  }
  return JSON.parse(line) as ScaleRunFigures;
}

const SCALE_PARTS = ['target', 'cluster', 'set', 'chaos', '100k'] as const;
export type ScalePart = (typeof SCALE_PARTS)[number];

export function parseScaleParts(text: string | true): ScalePart[] {
  if (text === true || text === '' || text === 'all') return [...SCALE_PARTS];
  const parts = text.split(',').map((p) => p.trim());
  for (const p of parts) if (!(SCALE_PARTS as readonly string[]).includes(p)) throw new UsageError(`--scale: "${p}" is not one of ${SCALE_PARTS.join(', ')}`);
  return parts as ScalePart[];
}

/** The target run (issue 15): 1,000 nodes, 1,000 StatefulSets of 10, 10 simulated minutes. */
const TARGET: ScaleShape = { nodes: 1000, sets: 1000, replicas: 10 };
/** kwok's figure: 1,000 nodes and 100,000 pods (1,000 StatefulSets of 100). */
const KWOK: ScaleShape = { nodes: 1000, sets: 1000, replicas: 100 };
/** The cluster doubled twice: 1,000, 2,000, 4,000 pods, 10 per node. */
const CLUSTER_SIZES: ScaleShape[] = [100, 200, 400].map((n) => ({ nodes: n, sets: n, replicas: 10 }));
/** One StatefulSet doubled twice: 500, 1,000, 2,000 replicas, 10 per node. */
const SET_SIZES: ScaleShape[] = [500, 1000, 2000].map((r) => ({ nodes: r / 10, sets: 1, replicas: r }));
const GROWTH_ROUNDS = 3;
const CHAOS_FAULTS = 10;

export interface GrowthFigures {
  sizes: { scenario: string; pods: number; runsMs: number[]; medianMs: number; cpuRunsMs: number[]; medianCpuMs: number; messages: number; maxRssBytes: number; allRunningAndBound: boolean }[];
  /** Median wall time of each size over the one before it. */
  growth: number[];
  /** The same for CPU time. */
  cpuGrowth: number[];
  rawActorSendPerSecond: number;
}

/** Sizes interleaved (a, b, c, a, b, c, ...) so that the machine's swings do not land on one size. */
function growth(shapes: ScaleShape[], rounds: number, io: Io, note: (s: string) => void): GrowthFigures {
  const runs: ScaleRunFigures[][] = shapes.map(() => []);
  const raws: number[] = [];
  for (let r = 0; r < rounds; r++) {
    raws.push(rawActorSendRate(io, 100_000));
    shapes.forEach((shape, i) => {
      const f = runScaleChild(shape, 1);
      runs[i]!.push(f);
      note(`  ${scaleName(shape)} round ${r + 1}: ${(f.wallMs / 1000).toFixed(2)} s (CPU ${(f.cpuMs / 1000).toFixed(2)} s)`);
    });
  }
  const sizes = shapes.map((shape, i) => {
    const rs = runs[i]!;
    return {
      scenario: scaleName(shape),
      pods: shape.sets * shape.replicas,
      runsMs: rs.map((f) => f.wallMs),
      medianMs: median(rs.map((f) => f.wallMs)),
      cpuRunsMs: rs.map((f) => f.cpuMs),
      medianCpuMs: median(rs.map((f) => f.cpuMs)),
      messages: rs[0]!.messages,
      maxRssBytes: Math.max(...rs.map((f) => f.maxRssBytes)),
      allRunningAndBound: rs.every(allRunningAndBound),
    };
  });
  return {
    sizes,
    growth: sizes.slice(1).map((s, i) => Math.round((s.medianMs / sizes[i]!.medianMs) * 100) / 100),
    cpuGrowth: sizes.slice(1).map((s, i) => Math.round((s.medianCpuMs / sizes[i]!.medianCpuMs) * 100) / 100),
    rawActorSendPerSecond: Math.round(median(raws)),
  };
}

export interface ChaosFigures {
  scenario: string;
  seeds: number[];
  faultFreeMs: number[];
  chaosMs: number[];
  /** chaos ÷ fault-free, seed by seed (the pair run one after the other). */
  ratios: number[];
  medianRatio: number;
  faults: number;
  violations: number;
}

function chaos(shape: ScaleShape, seeds: number, io: Io, note: (s: string) => void): ChaosFigures {
  const list = Array.from({ length: seeds }, (_, i) => i + 1);
  const faultFreeMs: number[] = [];
  const chaosMs: number[] = [];
  let violations = 0;
  for (const seed of list) {
    const ff = runScaleChild(shape, seed);
    const ch = runScaleChild({ ...shape, faults: CHAOS_FAULTS }, seed);
    faultFreeMs.push(ff.wallMs);
    chaosMs.push(ch.wallMs);
    violations += ch.violations;
    note(`  ${scaleName(shape)} seed ${seed}: ${(ff.wallMs / 1000).toFixed(2)} s, with ${CHAOS_FAULTS} faults ${(ch.wallMs / 1000).toFixed(2)} s`);
  }
  const ratios = list.map((_, i) => Math.round((chaosMs[i]! / faultFreeMs[i]!) * 100) / 100);
  return { scenario: scaleName(shape), seeds: list, faultFreeMs, chaosMs, ratios, medianRatio: median(ratios), faults: CHAOS_FAULTS, violations };
}

export interface ScaleFigures {
  target?: ScaleRunFigures & { rawActorSendPerSecond: number; messagesPerSecond: number; allRunningAndBound: boolean };
  cluster?: GrowthFigures;
  set?: GrowthFigures;
  chaos?: ChaosFigures;
  kwok?: ScaleRunFigures & { rawActorSendPerSecond: number; messagesPerSecond: number; allRunningAndBound: boolean };
}

function single(shape: ScaleShape, io: Io) {
  const raw = rawActorSendRate(io, 100_000);
  const f = runScaleChild(shape, 1);
  return { ...f, rawActorSendPerSecond: Math.round(raw), messagesPerSecond: Math.round(f.messages / (f.wallMs / 1000)), allRunningAndBound: allRunningAndBound(f) };
}

export async function benchScale(o: { json?: boolean; scale: string | true; scaleSeeds?: string }, io: Io): Promise<number> {
  const parts = parseScaleParts(o.scale);
  const seeds = o.scaleSeeds !== undefined ? Number(o.scaleSeeds) : 10;
  // Progress on stderr: these runs take minutes.
  const note = (s: string) => io.err(s);
  const figures: ScaleFigures = {};
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const out: string[] = [];
  const line = (label: string, value: string) => out.push(`  ${label.padEnd(29)}${value}`);
  const runLine = (title: string, f: NonNullable<ScaleFigures['target']>) => {
    out.push(title);
    line('wall time', `${s(f.wallMs)}, CPU ${s(f.cpuMs)} (${f.steps.toLocaleString('en-US')} steps, ${f.messages.toLocaleString('en-US')} bus messages, ${f.messagesPerSecond.toLocaleString('en-US')}/s)`);
    line('peak memory (RSS)', gib(f.maxRssBytes));
    line('pods Running', `${f.podsRunning.toLocaleString('en-US')} of ${f.pods.toLocaleString('en-US')}`);
    line('claims Bound', `${f.claimsBound.toLocaleString('en-US')} of ${f.claims.toLocaleString('en-US')}`);
    line('raw XState actor.send', `${f.rawActorSendPerSecond.toLocaleString('en-US')}/s before the run`);
  };
  const growthLines = (title: string, g: GrowthFigures) => {
    out.push(title);
    g.sizes.forEach((z, i) =>
      line(
        `${z.pods.toLocaleString('en-US')} pods`,
        `${s(z.medianMs)} (runs ${z.runsMs.map(s).join(', ')}; CPU ${s(z.medianCpuMs)}), ${gib(z.maxRssBytes)}${i > 0 ? `, ${g.growth[i - 1]}x the size before (CPU ${g.cpuGrowth[i - 1]}x)` : ''}${z.allRunningAndBound ? '' : ', NOT all Running and Bound'}`,
      ),
    );
    line('raw XState actor.send', `${g.rawActorSendPerSecond.toLocaleString('en-US')}/s (median before each round)`);
  };
  for (const part of parts) {
    note(`ksim bench --scale: ${part}`);
    if (part === 'target') {
      figures.target = single(TARGET, io);
      runLine(`${scaleName(TARGET)}: 1,000 nodes, 10,000 pods with claims, 10 simulated minutes`, figures.target);
    } else if (part === '100k') {
      figures.kwok = single(KWOK, io);
      runLine(`${scaleName(KWOK)}: 1,000 nodes, 100,000 pods with claims, 10 simulated minutes`, figures.kwok);
    } else if (part === 'cluster') {
      figures.cluster = growth(CLUSTER_SIZES, GROWTH_ROUNDS, io, note);
      growthLines(`the cluster doubled (N nodes, N StatefulSets of 10), median of ${GROWTH_ROUNDS}, sizes interleaved`, figures.cluster);
    } else if (part === 'set') {
      figures.set = growth(SET_SIZES, GROWTH_ROUNDS, io, note);
      growthLines(`one Parallel StatefulSet doubled (10 replicas per node), median of ${GROWTH_ROUNDS}, sizes interleaved`, figures.set);
    } else {
      figures.chaos = chaos(TARGET, seeds, io, note);
      const c = figures.chaos;
      out.push(`${c.scenario} with chaos: {faults: ${c.faults}}, seeds 1-${seeds}, each beside the same seed without faults`);
      line('median chaos / fault-free', `${c.medianRatio}x (ratios ${c.ratios.join(', ')})`);
      line('wall, fault-free', `median ${s(median(c.faultFreeMs))}`);
      line('wall, with faults', `median ${s(median(c.chaosMs))}`);
      line('violations', `${c.violations}`);
    }
  }
  if (o.json) io.out(JSON.stringify({ apiVersion: 'ksim/v1', kind: 'Bench', scale: figures }, null, 2));
  else io.out(out.join('\n'));
  return 0;
}
