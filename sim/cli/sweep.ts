/**
 * `ksim sweep SCENARIO --seeds N [--start S] [--workers W] [--shard I/N] [--jsonl FILE]
 * [--bug NAME] [-o text|json]` (SPEC §4): runs seeds S..S+N-1 (or the shard I/N of them) on
 * worker threads (sim/sweep.ts) and prints per invariant how many seeds broke it and the first
 * failing seeds with their replay commands. `--jsonl` writes one SeedResult line per seed as
 * each finishes, so an interrupted sweep keeps what it did; Ctrl-C stops handing out seeds and
 * prints the summary of the seeds done (exit 130). A progress bar is drawn on stderr when it is
 * a terminal. Exit codes: 0 every seed held every invariant, 1 a seed broke one, 2 bad input or
 * usage, 3 ksim itself failed on a seed.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { loadScenarioFile, quoteUnsafe } from '../../src/scenario/load.ts';
import { KNOWN_BUGS } from '../world.ts';
import { SweepLoadError, SweepPool, defaultWorkers } from '../sweep.ts';
import { SummaryBuilder, exitCodeOf, parseShard, renderSummary, seedCount, seedResult, seedsOf, type SeedRange, type SweepIdentity } from '../sweep-summary.ts';
import { UsageError, terminalSafe, type Io } from './io.ts';

/** What a shell reports for a program stopped by Ctrl-C (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

function integer(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) throw new UsageError(`${flag}: "${v}" is not ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
  return Number(v);
}

export interface SweepFlags {
  seeds?: string;
  start?: string;
  workers?: string;
  shard?: string;
  jsonl?: string;
  bug?: string;
  output?: string;
}

/** The sweep's identity and options from its flags; throws UsageError on a bad one. */
function parseFlags(o: SweepFlags): { range: SeedRange; workers: number | undefined; output: 'text' | 'json' } {
  const seeds = integer('--seeds', o.seeds, 1);
  if (seeds === undefined) throw new UsageError('--seeds: required (how many seeds to run)');
  const start = integer('--start', o.start, 0) ?? 1;
  if (!Number.isSafeInteger(start + seeds - 1)) throw new UsageError(`--start ${start} --seeds ${seeds}: seeds beyond ${Number.MAX_SAFE_INTEGER}`);
  const workers = integer('--workers', o.workers, 1);
  let shard: SeedRange['shard'];
  if (o.shard !== undefined) {
    const s = parseShard(o.shard);
    if (typeof s === 'string') throw new UsageError(`--shard: ${s}`);
    shard = s;
  }
  const output = o.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o: unsupported output format "${output}" (text, json)`);
  if (o.bug !== undefined && !Object.hasOwn(KNOWN_BUGS, o.bug)) throw new UsageError(`--bug: unknown failure mode "${o.bug}" (known: ${Object.keys(KNOWN_BUGS).join(', ')})`);
  return { range: { start, seeds, ...(shard ? { shard } : {}) }, workers, output };
}

export async function cmdSweep(file: string, o: SweepFlags, io: Io): Promise<number> {
  const { range, workers: asked, output } = parseFlags(o);
  const loaded = loadScenarioFile(file);
  // As `ksim run` prints them: one line each, control characters escaped.
  const line = (s: string) => terminalSafe(s.replace(/\r?\n/g, '\\n'));
  for (const w of loaded.warnings) io.err(line(`${quoteUnsafe(w.pos.file)}:${w.pos.line}:${w.pos.col}: warning: ${w.message}`));
  if (!loaded.ok) {
    for (const e of loaded.errors) io.err(line(e));
    return 2;
  }
  const scenario = loaded.scenario;
  const text = readFileSync(file, 'utf8');
  const id: SweepIdentity = { scenario: scenario.name, file, ...(o.bug ? { bug: o.bug } : {}), range };
  const total = seedCount(range);
  const workers = Math.max(1, Math.min(asked ?? defaultWorkers(), total));

  let jsonl: number | undefined;
  if (o.jsonl !== undefined) {
    try {
      jsonl = openSync(o.jsonl, 'w');
    } catch (e) {
      throw new UsageError(`--jsonl: cannot write ${o.jsonl}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  // The summary is built as seeds finish: nothing per seed is kept (a sweep may have millions).
  const summary = new SummaryBuilder(id);
  let done = 0;
  let failing = 0;
  const t0 = io.wallMs();
  const bar = io.terminal && total > 0
    ? new cliProgress.SingleBar(
        { stream: io.terminal, format: 'seeds {bar} {value}/{total} | failing {failing} | {rate} seeds/s | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, etaBuffer: 100 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  let interrupted = false;
  let pool: SweepPool | undefined;
  try {
    if (total > 0) {
      try {
        pool = await SweepPool.start({ file, text, workers, ...(o.bug ? { bug: o.bug } : {}) });
      } catch (e) {
        if (e instanceof SweepLoadError) {
          io.err(line(e.message));
          return 2;
        }
        throw e;
      }
      bar?.start(total, 0, { failing: 0, rate: '0.0' });
      const r = await pool.run(
        seedsOf(range),
        (out) => {
          summary.add(out);
          done++;
          if (out.crash || out.violations.length > 0) failing++;
          if (jsonl !== undefined) writeSync(jsonl, JSON.stringify(seedResult(id, out)) + '\n');
          const s = (io.wallMs() - t0) / 1000;
          bar?.update(done, { failing, rate: s > 0 ? (done / s).toFixed(1) : '0.0' });
        },
        abort.signal,
      );
      interrupted = r.interrupted;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    bar?.stop();
    await pool?.close();
    if (jsonl !== undefined) closeSync(jsonl);
  }
  const result = summary.build({ wallMs: io.wallMs() - t0, workers, ...(interrupted ? { interrupted } : {}) });
  io.out(output === 'json' ? JSON.stringify(result, null, 2) : terminalSafe(renderSummary(result, 'sweep')));
  return interrupted ? INTERRUPTED_EXIT_CODE : exitCodeOf(result);
}
