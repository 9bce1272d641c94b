/**
 * What a sweep reports (SPEC §4 `sweep` and `merge`): one `SeedResult` per seed, written as a
 * JSON line as each seed finishes (`--jsonl`), and the summary over them that both `ksim sweep`
 * and `ksim merge` print. The summary is a pure function of the set of seed results, whatever
 * order they came in, so that it is the same whatever the number of workers and whether the
 * seeds ran in one sweep or in shards on several machines; only `speed` depends on the wall
 * clock. It is built one result at a time in bounded memory (a sweep may have millions of seeds).
 *
 * Pure: no Node APIs, no wall clock (the caller measures and hands in wall times).
 */
import type { Violation } from './invariants/types.ts';
import { formatDuration } from '../src/duration.ts';
import { sha256Hex } from '../src/sha256.ts';

export const API_VERSION = 'ksim/v1';

/** Which seeds a sweep covers: S..S+N-1, or the shard I/N of them (offset from S ≡ I mod N). */
export interface SeedRange {
  start: number;
  seeds: number;
  shard?: { index: number; count: number };
}

/** How ksim itself failed on one seed (an exception out of the run: exit code 3 for `run`). */
export interface SeedCrash {
  message: string;
  replay: string;
  atMs?: number;
  actor?: string;
}

/** What a worker sends back for one seed. */
export interface SeedOutcome {
  seed: number;
  /** The trace hash of the run (for a crash: of the trace up to the crash). */
  traceHash: string;
  violations: Violation[];
  /** The faults the run injected in the scripted form (SPEC §5 `faults`), [] until ksim injects faults. */
  faults: Record<string, unknown>[];
  wallMs: number;
  crash?: SeedCrash;
}

/** One `--jsonl` line. */
export interface SeedResult extends SeedOutcome {
  apiVersion: typeof API_VERSION;
  kind: 'SeedResult';
  scenario: string;
  file: string;
  bug?: string;
  /** The sweep this seed belongs to: `shard` is "I/N" when it ran as a shard. */
  sweep: { start: number; seeds: number; shard?: string };
}

/** What identifies a sweep: its results can be merged only with results of the same sweep. */
export interface SweepIdentity {
  scenario: string;
  file: string;
  bug?: string;
  range: SeedRange;
}

export interface FirstFailure {
  seed: number;
  atMs: number;
  message: string;
  replay: string;
}

export interface InvariantSummary {
  invariant: string;
  /** How many seeds broke it. */
  seeds: number;
  /** The lowest failing seeds (at most FIRST_FAILING), each with its first violation of it. */
  first: FirstFailure[];
}

export interface SweepSpeed {
  /** Mean wall time of one seed's run in a worker (ms). */
  meanRunMs: number;
  /** Only for a sweep (a merge cannot know how the shards' runs overlapped): */
  wallMs?: number;
  workers?: number;
  seedsPerSecond?: number;
}

export interface SweepSummary {
  apiVersion: typeof API_VERSION;
  kind: 'SweepSummary';
  scenario: string;
  file: string;
  bug?: string;
  seeds: {
    start: number;
    count: number;
    shard?: string;
    /** Seeds of the range (of the shard, when sharded) that should have run. */
    expected: number;
    /** Seeds that ran (fewer than expected after Ctrl-C, or when a merge misses a shard). */
    done: number;
  };
  /** Seeds where every invariant held. */
  passed: number;
  /** Seeds with at least one violation. */
  failed: number;
  /** Seeds where ksim itself failed (listed apart; the sweep exits 3). */
  crashed: number;
  invariants: InvariantSummary[];
  crashes: (SeedCrash & { seed: number })[];
  /** Faults injected over all seeds, by kind (SPEC §1 fault forms). */
  faults: { total: number; byKind: Record<string, number> };
  /** The sum mod 2^256 of sha256("seed traceHash") over the seeds: two sweeps that ran the same seeds to the same trace hashes agree on it. */
  digest: string;
  interrupted?: boolean;
  /** Shards of the sweep that no merged file held. */
  missingShards?: string[];
  speed: SweepSpeed;
}

/** Failing seeds listed per invariant, and crashes listed, at most this many. */
export const FIRST_FAILING = 5;

/** The seeds of a range, in order, one at a time (a sweep may have millions). */
export function* seedsOf(r: SeedRange): Generator<number, void, undefined> {
  const step = r.shard?.count ?? 1;
  for (let off = r.shard?.index ?? 0; off < r.seeds; off += step) yield r.start + off;
}

/** How many seeds a range has: those offsets from `start` below `seeds` that are I modulo N. */
export function seedCount(r: SeedRange): number {
  const index = r.shard?.index ?? 0;
  const count = r.shard?.count ?? 1;
  return index >= r.seeds ? 0 : Math.ceil((r.seeds - index) / count);
}

export function shardName(shard: { index: number; count: number } | undefined): string | undefined {
  return shard ? `${shard.index}/${shard.count}` : undefined;
}

/** Parses `I/N` (I from 0 to N-1, as a Job's completion index); a string says what is wrong. */
export function parseShard(text: string): { index: number; count: number } | string {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return `"${text}" is not I/N (I from 0 to N-1, e.g. 0/4)`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) return `"${text}": N must be at least 1`;
  if (index >= count) return `"${text}": I must be less than N (from 0 to ${count - 1})`;
  return { index, count };
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that replays one seed. */
export function replayCommand(file: string, seed: number, bug?: string): string {
  return `ksim run ${shellWord(file)} --seed ${seed}${bug ? ` --bug ${shellWord(bug)}` : ''}`;
}

export function seedResult(id: SweepIdentity, o: SeedOutcome): SeedResult {
  const shard = shardName(id.range.shard);
  return {
    apiVersion: API_VERSION,
    kind: 'SeedResult',
    scenario: id.scenario,
    file: id.file,
    ...(id.bug ? { bug: id.bug } : {}),
    seed: o.seed,
    traceHash: o.traceHash,
    violations: o.violations,
    faults: o.faults,
    wallMs: o.wallMs,
    ...(o.crash ? { crash: o.crash } : {}),
    sweep: { start: id.range.start, seeds: id.range.seeds, ...(shard ? { shard } : {}) },
  };
}

/** The kind of a scripted fault record: its one key besides `at` and `for`. */
function faultKind(f: Record<string, unknown>): string {
  return Object.keys(f).find((k) => k !== 'at' && k !== 'for') ?? 'unknown';
}

/** Adds two 256-bit numbers given as 64 hex digits, modulo 2^256. */
function add256(a: string, b: string): string {
  return ((BigInt(`0x${a}`) + BigInt(`0x${b}`)) & ((1n << 256n) - 1n)).toString(16).padStart(64, '0');
}

/** Keeps the FIRST_FAILING entries with the lowest seeds, sorted by seed. */
function keepLowest<T extends { seed: number }>(list: T[], item: T, max: number): void {
  if (list.length >= max && item.seed > list[list.length - 1]!.seed) return;
  let i = list.length;
  while (i > 0 && list[i - 1]!.seed > item.seed) i--;
  list.splice(i, 0, item);
  if (list.length > max) list.pop();
}

/**
 * The summary of a sweep, built one seed result at a time in any order (the order workers or
 * shards finish in) with memory that does not grow with the number of seeds: counts, and the
 * lowest failing seeds per invariant. `digest` is the sum modulo 2^256 of sha256("seed
 * traceHash") over the seeds, so it does not depend on the order either, and two sweeps have
 * the same digest when they ran the same seeds with the same trace hashes. Add each seed once.
 */
export class SummaryBuilder {
  private readonly byInvariant = new Map<string, InvariantSummary>();
  private readonly crashes: (SeedCrash & { seed: number })[] = [];
  private readonly byKind = new Map<string, number>();
  private done = 0;
  private failed = 0;
  private crashed = 0;
  private totalFaults = 0;
  private runMs = 0;
  private digest = '0'.repeat(64);

  constructor(private readonly id: SweepIdentity) {}

  add(r: SeedOutcome): void {
    this.done++;
    this.digest = add256(this.digest, sha256Hex(`${r.seed} ${r.traceHash}`));
    this.runMs += r.wallMs;
    for (const f of r.faults) {
      this.totalFaults++;
      const k = faultKind(f);
      this.byKind.set(k, (this.byKind.get(k) ?? 0) + 1);
    }
    if (r.crash) {
      this.crashed++;
      keepLowest(this.crashes, { seed: r.seed, ...r.crash }, FIRST_FAILING * 4);
      return;
    }
    if (r.violations.length === 0) return;
    this.failed++;
    const seen = new Set<string>();
    for (const v of r.violations) {
      if (seen.has(v.invariant)) continue;
      seen.add(v.invariant);
      let s = this.byInvariant.get(v.invariant);
      if (!s) this.byInvariant.set(v.invariant, (s = { invariant: v.invariant, seeds: 0, first: [] }));
      s.seeds++;
      keepLowest(s.first, { seed: r.seed, atMs: v.atMs, message: v.message, replay: replayCommand(this.id.file, r.seed, this.id.bug) }, FIRST_FAILING);
    }
  }

  /** The summary of the seeds added so far; `extra` carries what the wall clock and the caller know. */
  build(extra: { wallMs?: number; workers?: number; interrupted?: boolean; missingShards?: string[] } = {}): SweepSummary {
    const id = this.id;
    const invariants = [...this.byInvariant.values()].sort((a, b) => (a.invariant < b.invariant ? -1 : a.invariant > b.invariant ? 1 : 0)).map((i) => ({ ...i, first: [...i.first] }));
    const shard = shardName(id.range.shard);
    const speed: SweepSpeed = { meanRunMs: this.done ? Math.round((this.runMs / this.done) * 10) / 10 : 0 };
    if (extra.wallMs !== undefined) {
      speed.wallMs = Math.round(extra.wallMs);
      speed.seedsPerSecond = extra.wallMs > 0 ? Math.round((this.done / (extra.wallMs / 1000)) * 10) / 10 : 0;
    }
    if (extra.workers !== undefined) speed.workers = extra.workers;
    return {
      apiVersion: API_VERSION,
      kind: 'SweepSummary',
      scenario: id.scenario,
      file: id.file,
      ...(id.bug ? { bug: id.bug } : {}),
      seeds: { start: id.range.start, count: id.range.seeds, ...(shard ? { shard } : {}), expected: seedCount(id.range), done: this.done },
      passed: this.done - this.failed - this.crashed,
      failed: this.failed,
      crashed: this.crashed,
      invariants,
      crashes: [...this.crashes],
      faults: { total: this.totalFaults, byKind: Object.fromEntries([...this.byKind.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) },
      digest: this.digest,
      ...(extra.interrupted ? { interrupted: true } : {}),
      ...(extra.missingShards?.length ? { missingShards: extra.missingShards } : {}),
      speed,
    };
  }
}

/** The summary of a list of seed results (any order; one per seed). */
export function summarize(id: SweepIdentity, results: readonly SeedOutcome[], extra: Parameters<SummaryBuilder['build']>[0] = {}): SweepSummary {
  const b = new SummaryBuilder(id);
  for (const r of results) b.add(r);
  return b.build(extra);
}

/** Exit code of a sweep or merge: 3 if ksim failed on a seed, else 1 if a seed failed, else 0. */
export function exitCodeOf(s: SweepSummary): number {
  return s.crashed > 0 ? 3 : s.failed > 0 ? 1 : 0;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The summary as text, for a terminal. */
export function renderSummary(s: SweepSummary, verb: 'sweep' | 'merge'): string {
  const lines: string[] = [];
  const last = s.seeds.start + s.seeds.count - 1;
  const range = `seeds ${s.seeds.start}..${last}${s.seeds.shard ? `, shard ${s.seeds.shard}` : ''}`;
  lines.push(`ksim ${verb}: scenario ${s.scenario} (${s.file})${s.bug ? ` with --bug ${s.bug}` : ''}, ${range}`);
  const sp = s.speed;
  const rate = sp.seedsPerSecond !== undefined && sp.wallMs !== undefined ? ` in ${(sp.wallMs / 1000).toFixed(1)} s${sp.workers !== undefined ? ` with ${count(sp.workers, 'worker')}` : ''}: ${sp.seedsPerSecond} seeds/s,` : ',';
  lines.push(`  ${count(s.seeds.done, 'seed')} of ${s.seeds.expected} run${rate} ${sp.meanRunMs} ms per run`);
  if (s.interrupted) lines.push(`  interrupted: ${count(s.seeds.expected - s.seeds.done, 'seed')} not run`);
  if (s.missingShards?.length) lines.push(`  missing: no file holds shard${s.missingShards.length > 1 ? 's' : ''} ${s.missingShards.join(', ')} (${count(s.seeds.expected - s.seeds.done, 'seed')} not run)`);
  else if (!s.interrupted && s.seeds.done < s.seeds.expected) lines.push(`  missing: ${count(s.seeds.expected - s.seeds.done, 'seed')} of the sweep are in no file`);
  if (s.faults.total > 0) lines.push(`  faults injected: ${s.faults.total} (${Object.entries(s.faults.byKind).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  if (s.failed === 0 && s.crashed === 0) lines.push(`  every invariant held in every seed`);
  if (s.failed > 0) {
    lines.push(`  ${count(s.failed, 'seed')} broke an invariant:`);
    for (const inv of s.invariants) {
      lines.push(`    ${inv.invariant}: ${count(inv.seeds, 'seed')}${inv.seeds > inv.first.length ? `, the first ${inv.first.length}` : ''}`);
      for (const f of inv.first) {
        lines.push(`      seed ${f.seed} at ${formatDuration(f.atMs)}: ${f.message}`);
        lines.push(`        replay: ${f.replay}`);
      }
    }
  }
  if (s.crashed > 0) {
    lines.push(`  ksim itself failed on ${count(s.crashed, 'seed')} (exit 3)${s.crashed > s.crashes.length ? `, the first ${s.crashes.length}` : ''}:`);
    for (const c of s.crashes) {
      lines.push(`    seed ${c.seed}: ${c.message}`);
      lines.push(`      replay: ${c.replay}`);
    }
  }
  lines.push(`  digest ${s.digest} (of every seed's trace hash)`);
  return lines.join('\n') + '\n';
}
