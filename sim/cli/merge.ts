/**
 * `ksim merge FILE... [-o text|json]` (SPEC §4): merges the `--jsonl` outputs of a sweep's shards
 * (run on several machines, e.g. as a Kubernetes Indexed Job) into the summary that one sweep of
 * all the seeds would print. The files must come from one sweep (same scenario, file, bug, start
 * and seed count); a seed found twice must carry one trace hash. Seeds that no file holds are
 * reported (a missing shard, an interrupted one). Exit codes as `sweep`: 0, 1 a seed broke an
 * invariant, 2 bad input, 3 ksim itself failed on a seed. The files are read as streams.
 */
import { createReadStream } from 'node:fs';
import { SummaryBuilder, exitCodeOf, renderSummary, type SeedResult } from '../sweep-summary.ts';
import { UsageError, terminalSafe, type Io } from './io.ts';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is wrong with one parsed line, or undefined when it is a SeedResult. */
function problemOf(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (v['apiVersion'] !== 'ksim/v1' || v['kind'] !== 'SeedResult') return `not a ksim sweep line (apiVersion "ksim/v1", kind "SeedResult" expected; got ${JSON.stringify(v['apiVersion'])}, ${JSON.stringify(v['kind'])})`;
  const seed = v['seed'];
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) return 'seed: not a non-negative integer';
  if (typeof v['scenario'] !== 'string' || typeof v['file'] !== 'string') return 'scenario, file: strings expected';
  if (typeof v['traceHash'] !== 'string') return 'traceHash: a string expected';
  if (typeof v['wallMs'] !== 'number') return 'wallMs: a number expected';
  if (v['bug'] !== undefined && typeof v['bug'] !== 'string') return 'bug: a string expected';
  const vs = v['violations'];
  if (!Array.isArray(vs) || !vs.every((x) => isObject(x) && typeof x['invariant'] === 'string' && typeof x['atMs'] === 'number' && typeof x['message'] === 'string')) return 'violations: a list of {invariant, atMs, message, objects} expected';
  if (!Array.isArray(v['faults']) || !v['faults'].every(isObject)) return 'faults: a list of fault records expected';
  const c = v['crash'];
  if (c !== undefined && !(isObject(c) && typeof c['message'] === 'string' && typeof c['replay'] === 'string')) return 'crash: {message, replay} expected';
  const s = v['sweep'];
  if (!isObject(s) || typeof s['start'] !== 'number' || typeof s['seeds'] !== 'number' || (s['shard'] !== undefined && (typeof s['shard'] !== 'string' || !/^\d+\/\d+$/.test(s['shard'])))) return 'sweep: {start, seeds, shard?} expected';
  return undefined;
}

/** Where a seed's line was, and what identifies its run. */
interface Seen {
  where: string;
  traceHash: string;
  crashed: boolean;
}

/** The lines of a file, one at a time, with their numbers; `last` says the line had no newline. */
async function* linesOf(file: string): AsyncGenerator<{ n: number; text: string; last: boolean }> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  let buf = '';
  let n = 0;
  for await (const chunk of stream) {
    buf += chunk as string;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      yield { n: ++n, text: buf.slice(0, i), last: false };
      buf = buf.slice(i + 1);
    }
  }
  if (buf !== '') yield { n: ++n, text: buf, last: true };
}

/** A file that cannot be read, in a user's words. */
function unreadable(file: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? (e as Error).message)}`;
}

const MAX_ERRORS = 20;

export async function cmdMerge(files: string[], o: { output?: string }, io: Io): Promise<number> {
  const output = o.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o: unsupported output format "${output}" (text, json)`);
  const errors: string[] = [];
  // Lines are read as a stream and summed up as they come: a merge of millions of seeds keeps
  // one small entry per seed (to find a seed given twice), not the lines.
  let first: { line: SeedResult; where: string } | undefined;
  let summary: SummaryBuilder | undefined;
  const bySeed = new Map<number, Seen>();
  const shardsSeen = new Set<string | undefined>();
  const key = (l: SeedResult) => JSON.stringify([l.scenario, l.file, l.bug ?? null, l.sweep.start, l.sweep.seeds]);
  const describe = (l: SeedResult) => `scenario ${l.scenario} (${l.file})${l.bug ? ` --bug ${l.bug}` : ''}, seeds ${l.sweep.start}..${l.sweep.start + l.sweep.seeds - 1}`;
  for (const file of files) {
    try {
      for await (const { n, text, last } of linesOf(file)) {
        if (errors.length >= MAX_ERRORS) break;
        if (text.trim() === '') continue;
        const where = `${file}:${n}`;
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          // A sweep killed while writing leaves its last line cut: what came before still counts.
          if (last) io.err(terminalSafe(`${where}: warning: the last line is incomplete (the sweep was stopped while writing it); skipped`));
          else errors.push(`${where}: not valid JSON`);
          continue;
        }
        const problem = problemOf(v);
        if (problem) {
          errors.push(`${where}: ${problem}`);
          continue;
        }
        const line = v as SeedResult;
        if (!first) {
          first = { line, where };
          summary = new SummaryBuilder({ scenario: line.scenario, file: line.file, ...(line.bug ? { bug: line.bug } : {}), range: { start: line.sweep.start, seeds: line.sweep.seeds } });
        } else if (key(line) !== key(first.line)) {
          errors.push(`${where}: from another sweep (${describe(line)}) than ${first.where} (${describe(first.line)})`);
          continue;
        }
        const { start, seeds } = first.line.sweep;
        if (line.seed < start || line.seed > start + seeds - 1) {
          errors.push(`${where}: seed ${line.seed} is outside the sweep's seeds ${start}..${start + seeds - 1}`);
          continue;
        }
        const had = bySeed.get(line.seed);
        if (had) {
          if (had.traceHash !== line.traceHash || had.crashed !== Boolean(line.crash))
            errors.push(`${where}: seed ${line.seed} has trace hash ${line.traceHash || '(none)'} here and ${had.traceHash || '(none)'} at ${had.where}: the same seed must give the same run (another ksim version, or a determinism bug)`);
          continue;
        }
        bySeed.set(line.seed, { where, traceHash: line.traceHash, crashed: Boolean(line.crash) });
        shardsSeen.add(line.sweep.shard);
        summary!.add({ seed: line.seed, traceHash: line.traceHash, violations: line.violations, faults: line.faults, wallMs: line.wallMs, ...(line.crash ? { crash: line.crash } : {}) });
      }
    } catch (e) {
      errors.push(unreadable(file, e));
    }
  }
  if (errors.length === 0 && !first) errors.push(`${files.join(', ')}: no seed results`);
  if (errors.length > 0) {
    for (const e of errors.slice(0, MAX_ERRORS)) io.err(terminalSafe(e));
    if (errors.length >= MAX_ERRORS) io.err(`ksim merge: stopped after ${MAX_ERRORS} problems`);
    return 2;
  }
  // Shards that no file holds a line of, when the files are shards of one count.
  const counts = new Set([...shardsSeen].map((s) => s?.split('/')[1]));
  const n = counts.size === 1 ? [...counts][0] : undefined;
  let built = summary!.build();
  if (n !== undefined && built.seeds.done < built.seeds.expected) {
    const missingShards = Array.from({ length: Number(n) }, (_, i) => `${i}/${n}`).filter((sh) => !shardsSeen.has(sh));
    if (missingShards.length) built = summary!.build({ missingShards });
  }
  if (built.seeds.done < built.seeds.expected) io.err(`ksim merge: warning: ${built.seeds.expected - built.seeds.done} of the sweep's ${built.seeds.expected} seeds are in no file`);
  io.out(output === 'json' ? JSON.stringify(built, null, 2) : terminalSafe(renderSummary(built, 'merge')));
  return exitCodeOf(built);
}
