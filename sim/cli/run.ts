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
import { KNOWN_BUGS, type World } from '../world.ts';
import { renderTables, renderDescribe } from '../tables.ts';
import { ChromeTraceExporter } from '../exporters/chrome-trace.ts';
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

/** Bytes gathered before each write to the trace file: one write per event costs far more. */
const TRACE_CHUNK = 1 << 16;

/**
 * Writes the trace as JSON lines or as Chrome trace-event JSON (sim/exporters/chrome-trace.ts),
 * streaming: at most one chunk is held in memory.
 */
function traceWriter(file: string, format: string, messages: boolean): { sink: (e: TraceEvent) => void; observe: (world: World) => void; close: (run: Run, report?: Report) => void } {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (e) {
    throw new UsageError(`--trace: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let buf = '';
  const write = (s: string) => {
    buf += s;
    if (buf.length >= TRACE_CHUNK) {
      writeSync(fd, buf);
      buf = '';
    }
  };
  const chrome = format === 'chrome' ? new ChromeTraceExporter({ write, messages }) : undefined;
  return {
    sink: chrome ? (e) => chrome.event(e) : (e) => write(JSON.stringify(e) + '\n'),
    observe: (world) => chrome?.attach(world),
    close: (run, report) => {
      chrome?.finish(run.world.nowMs, { scenario: run.scenario.name, seed: run.world.seed, ...(report ? { violations: report.violations, traceHash: report.traceHash } : {}) });
      writeSync(fd, buf);
      closeSync(fd);
    },
  };
}

export async function cmdRun(file: string, o: Record<string, string | undefined>, io: Io): Promise<number> {
  const scenario = loadOrExit(file, io);
  if (typeof scenario === 'number') return scenario;
  const seed = parseSeed(o['seed']);
  const untilMs = parseUntil(o['until']);
  if (scenario.faults.length > 0 || scenario.chaos)
    io.err(`${file}: warning: spec.faults and spec.chaos are checked but not injected by this version of ksim (fault injection comes next)`);
  const output = o['output'] ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: unsupported output format "${output}" (table, json)`);
  const traceFormat = o['traceFormat'] ?? 'jsonl';
  if (traceFormat !== 'jsonl' && traceFormat !== 'chrome') throw new UsageError(`--trace-format: "${traceFormat}" (jsonl, chrome)`);
  if (o['bug'] !== undefined && !(o['bug'] in KNOWN_BUGS))
    throw new UsageError(`--bug: unknown failure mode "${o['bug']}" (known: ${Object.keys(KNOWN_BUGS).join(', ')})`);
  if (o['traceMessages'] && traceFormat !== 'chrome') throw new UsageError('--trace-messages: needs --trace-format chrome');
  const tw = o['trace'] ? traceWriter(o['trace'], traceFormat, Boolean(o['traceMessages'])) : undefined;
  const t0 = io.wallMs();
  const run = new Run(scenario, {
    hasher: sha256Hasher,
    ...(seed !== undefined ? { seed } : {}),
    ...(untilMs !== undefined ? { untilMs } : {}),
    ...(o['bug'] ? { bug: o['bug'] } : {}),
    ...(tw ? { traceSink: tw.sink, observe: tw.observe } : {}),
  });
  let report: Report | undefined;
  try {
    report = run.run();
  } finally {
    tw?.close(run, report);
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

