/**
 * `ksim merge FILE... [-o text|json]` (SPEC §4): merges the `--jsonl` outputs of a sweep's shards
 * (run on several machines, e.g. as a Kubernetes Indexed Job) into the summary that one sweep of
 * all the seeds would print. The files must come from one sweep (same scenario, file, bug, start
 * and seed count); a seed found twice must carry one trace hash. Seeds that no file holds are
 * reported (a missing shard, an interrupted one). Exit codes as `sweep`: 0, 1 a seed broke an
 * invariant, 2 bad input, 3 ksim itself failed on a seed.
 */
import { readFileSync } from 'node:fs';
import { exitCodeOf, renderSummary, seedCount, summarize, type SeedOutcome, type SeedResult, type SweepIdentity } from '../sweep-summary.ts';
import { UsageError, type Io } from './io.ts';

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

interface Found {
  line: SeedResult;
  where: string;
}

export async function cmdMerge(files: string[], o: { output?: string }, io: Io): Promise<number> {
  const output = o.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o: unsupported output format "${output}" (text, json)`);
  const errors: string[] = [];
  const lines: Found[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      errors.push(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code ?? (e as Error).message}`);
      continue;
    }
    const rows = text.split('\n');
    rows.forEach((row, i) => {
      if (row.trim() === '') return;
      const where = `${file}:${i + 1}`;
      let v: unknown;
      try {
        v = JSON.parse(row);
      } catch {
        // A sweep killed while writing leaves its last line cut: what came before still counts.
        if (i === rows.length - 1) io.err(`${where}: warning: the last line is incomplete (the sweep was stopped while writing it); skipped`);
        else errors.push(`${where}: not valid JSON`);
        return;
      }
      const problem = problemOf(v);
      if (problem) errors.push(`${where}: ${problem}`);
      else lines.push({ line: v as SeedResult, where });
    });
  }
  if (errors.length === 0 && lines.length === 0) errors.push(`${files.join(', ')}: no seed results`);
  // One sweep: the same scenario, file, bug, start and seed count on every line.
  const first = lines[0];
  const key = (l: SeedResult) => JSON.stringify([l.scenario, l.file, l.bug ?? null, l.sweep.start, l.sweep.seeds]);
  if (first) {
    for (const f of lines) {
      if (key(f.line) !== key(first.line)) {
        const d = (l: SeedResult) => `scenario ${l.scenario} (${l.file})${l.bug ? ` --bug ${l.bug}` : ''}, seeds ${l.sweep.start}..${l.sweep.start + l.sweep.seeds - 1}`;
        errors.push(`${f.where}: from another sweep (${d(f.line)}) than ${first.where} (${d(first.line)})`);
        break;
      }
    }
  }
  const bySeed = new Map<number, Found>();
  for (const f of lines) {
    const had = bySeed.get(f.line.seed);
    if (!had) bySeed.set(f.line.seed, f);
    else if (had.line.traceHash !== f.line.traceHash || Boolean(had.line.crash) !== Boolean(f.line.crash))
      errors.push(`${f.where}: seed ${f.line.seed} has trace hash ${f.line.traceHash || '(none)'} here and ${had.line.traceHash || '(none)'} at ${had.where}: the same seed must give the same run (another ksim version, or a determinism bug)`);
  }
  if (errors.length > 0) {
    for (const e of errors) io.err(e);
    return 2;
  }
  const l0 = first!.line;
  const id: SweepIdentity = { scenario: l0.scenario, file: l0.file, ...(l0.bug ? { bug: l0.bug } : {}), range: { start: l0.sweep.start, seeds: l0.sweep.seeds } };
  const last = id.range.start + id.range.seeds - 1;
  const outcomes: SeedOutcome[] = [];
  for (const { line, where } of bySeed.values()) {
    if (line.seed < id.range.start || line.seed > last) {
      io.err(`${where}: seed ${line.seed} is outside the sweep's seeds ${id.range.start}..${id.range.start + id.range.seeds - 1}`);
      return 2;
    }
    outcomes.push({ seed: line.seed, traceHash: line.traceHash, violations: line.violations, faults: line.faults, wallMs: line.wallMs, ...(line.crash ? { crash: line.crash } : {}) });
  }
  // Shards that no file holds a line of, when the files are shards of one count.
  const counts = new Set(lines.map((f) => f.line.sweep.shard?.split('/')[1]));
  let missingShards: string[] = [];
  const n = counts.size === 1 ? [...counts][0] : undefined;
  if (n !== undefined && outcomes.length < seedCount(id.range)) {
    const seen = new Set(lines.map((f) => f.line.sweep.shard));
    missingShards = Array.from({ length: Number(n) }, (_, i) => `${i}/${n}`).filter((s) => !seen.has(s));
  }
  const summary = summarize(id, outcomes, missingShards.length ? { missingShards } : {});
  if (summary.seeds.done < summary.seeds.expected) io.err(`ksim merge: warning: ${summary.seeds.expected - summary.seeds.done} of the sweep's ${summary.seeds.expected} seeds are in no file`);
  io.out(output === 'json' ? JSON.stringify(summary, null, 2) : renderSummary(summary, 'merge'));
  return exitCodeOf(summary);
}
