/**
 * `ksim run` (SPEC §4): loads a scenario, simulates it with a seed and prints the cluster as
 * `kubectl get` would, or the JSON report of SPEC §5. Exit codes: 0 every invariant holds,
 * 1 a violation, 2 bad input or usage.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/types.ts';
import { parseDuration } from '../../src/duration.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import type { TraceEvent } from '../../src/trace.ts';
import { Run, type Report } from '../run.ts';
import { KNOWN_BUGS } from '../world.ts';
import { renderTables, renderDescribe } from '../tables.ts';
import { UsageError, type Io } from './io.ts';

function loadOrExit(file: string, out: { err: (s: string) => void }): Scenario | number {
  const res = loadScenarioFile(file);
  for (const w of res.warnings) out.err(`${w.pos.file}:${w.pos.line}:${w.pos.col}: warning: ${w.message}`);
  if (!res.ok) {
    for (const e of res.errors) out.err(e);
    return 2;
  }
  return res.scenario;
}

function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--seed: "${v}" is not a non-negative integer`);
  return Number(v);
}

function parseUntil(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (typeof ms === 'string') throw new UsageError(`--until: ${ms}`);
  return ms;
}

/** Writes the trace as JSON lines or Chrome trace-event JSON, streaming. */
function traceWriter(file: string, format: string): { sink: (e: TraceEvent) => void; close: () => void } {
  const fd = openSync(file, 'w');
  let first = true;
  if (format === 'chrome') writeSync(fd, '{"traceEvents":[\n');
  return {
    sink: (e) => {
      if (format === 'chrome') {
        const tid = e.kind === 'D' || e.kind === 'X' ? e.actor.split('>')[1] ?? e.actor : e.actor;
        const ev = { name: e.detail.split(' ')[0], cat: e.kind, ph: 'i', s: e.kind === 'F' || e.kind === 'V' ? 'g' : 't', ts: e.atMs * 1000, pid: 1, tid, args: { detail: e.detail, from: e.actor } };
        writeSync(fd, (first ? '' : ',\n') + JSON.stringify(ev));
      } else writeSync(fd, JSON.stringify(e) + '\n');
      first = false;
    },
    close: () => {
      if (format === 'chrome') writeSync(fd, '\n]}\n');
      closeSync(fd);
    },
  };
}

export async function cmdRun(file: string, o: Record<string, string | undefined>, io: Io): Promise<number> {
  const scenario = loadOrExit(file, io);
  if (typeof scenario === 'number') return scenario;
  const seed = parseSeed(o['seed']);
  const untilMs = parseUntil(o['until']);
  const output = o['output'] ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: unsupported output format "${output}" (table, json)`);
  const traceFormat = o['traceFormat'] ?? 'jsonl';
  if (traceFormat !== 'jsonl' && traceFormat !== 'chrome') throw new UsageError(`--trace-format: "${traceFormat}" (jsonl, chrome)`);
  if (o['bug'] !== undefined && !(o['bug'] in KNOWN_BUGS))
    throw new UsageError(`--bug: unknown failure mode "${o['bug']}" (known: ${Object.keys(KNOWN_BUGS).join(', ')})`);
  const tw = o['trace'] ? traceWriter(o['trace'], traceFormat) : undefined;
  const t0 = io.wallMs();
  const run = new Run(scenario, {
    hasher: sha256Hasher,
    ...(seed !== undefined ? { seed } : {}),
    ...(untilMs !== undefined ? { untilMs } : {}),
    ...(o['bug'] ? { bug: o['bug'] } : {}),
    ...(tw ? { traceSink: tw.sink } : {}),
  });
  let report: Report;
  try {
    report = run.run();
  } finally {
    tw?.close();
  }
  report.stats.wallMs = Math.round(io.wallMs() - t0);
  if (output === 'json') {
    io.out(JSON.stringify(report, null, 2));
  } else {
    io.out(`ksim: scenario ${report.scenario} (${file}), seed ${report.seed}, simulated ${report.durationMs / 1000}s\n`);
    io.out(renderTables(run, report, file));
    if (o['describe']) io.out(renderDescribe(run, o['describe']));
  }
  return report.violations.length > 0 ? 1 : 0;
}

