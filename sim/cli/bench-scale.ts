/**
 * `ksim bench --scale` (issue 15): the scale scenarios of sim/bench/scale.ts — 1,000 nodes and
 * 10,000 pods; the cluster and one StatefulSet each doubled twice (sizes interleaved, median of
 * 3); the same with chaos beside fault-free; 1,000 nodes and 100,000 pods. Each run is a child
 * process of its own (`ksim bench --scale-run SHAPE`), so that its peak memory is its own
 * (process.resourceUsage().maxRSS); it reports its wall and CPU time. An edge: it reads the wall
 * clock and starts processes.
 */
import { spawnSync } from 'node:child_process';
import { sha256Hasher } from '../../src/node-hash.ts';
import { UsageError, type Io } from './io.ts';
import { median, rawActorSendRate } from './bench.ts';
import { allRunningAndBound, parseScaleShape, runScale, scaleName, type ScaleOutcome, type ScaleShape } from '../bench/scale.ts';

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

function runScaleChild(shape: ScaleShape, seed: number): ScaleRunFigures {
  const text = `${shape.nodes}x${shape.sets}x${shape.replicas}${shape.faults ? `+chaos${shape.faults}` : ''}`;
  // The child takes this process's flags: bench started with the young generation and the larger
  // heap (sim/cli/launch.ts), which the 100,000-pod run needs.
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, 'bench', '--scale-run', text, '--scale-seed', String(seed)], {
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

export interface ScaleChaosFigures {
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

function chaos(shape: ScaleShape, seeds: number, io: Io, note: (s: string) => void): ScaleChaosFigures {
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
  chaos?: ScaleChaosFigures;
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
