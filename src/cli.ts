/**
 * The command line (SPEC §4): run, sweep, shrink, bench. An edge of the system: it reads files,
 * the wall clock (only for stats.wallMs and timings) and writes to stdout/stderr. Exit codes:
 * 0 every invariant holds, 1 a violation, 2 bad input or usage — never a stack trace for input.
 */
import { Command, CommanderError, Option } from 'commander';
import { openSync, writeSync, closeSync } from 'node:fs';
import { loadScenarioFile } from './scenario/load.ts';
import type { Scenario } from './scenario/types.ts';
import { parseDuration } from './duration.ts';
import { sha256Hasher } from './node-hash.ts';
import { Run, type Report } from '../sim/run.ts';
import { KNOWN_BUGS } from '../sim/world.ts';
import { renderTables, renderDescribe } from '../sim/tables.ts';
import type { TraceEvent } from './trace.ts';

class UsageError extends Error {}

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

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  wallMs: () => number;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
  wallMs: () => performance.now(),
};

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

async function cmdRun(file: string, o: Record<string, string | undefined>, io: Io): Promise<number> {
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

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const program = new Command('ksim')
    .description('deterministic simulator of Kubernetes stateful machinery')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError(false);
  let code = 0;
  program
    .command('run')
    .description('simulate a scenario and print the cluster as kubectl would')
    .argument('<scenario>', 'scenario YAML file')
    .option('--seed <n>', 'seed (default: the scenario\'s spec.seed, else 1)')
    .option('--until <duration>', 'stop the clock at this simulated time (e.g. 4m30s)')
    .addOption(new Option('-o, --output <format>', 'table or json').default('table'))
    .option('--trace <file>', 'write the trace to FILE')
    .addOption(new Option('--trace-format <format>', 'jsonl or chrome').default('jsonl'))
    .option('--describe <kind/name>', 'print kubectl describe for an object, with its Events')
    .option('--bug <name>', 're-introduce a known failure mode into one component')
    .exitOverride()
    .action(async (file: string, o: Record<string, string | undefined>) => {
      code = await cmdRun(file, o, io);
    });
  program
    .command('bench')
    .description('measure simulation speed')
    .option('--json', 'print the figures as JSON')
    .option('--claims <n>', 'claims and volumes in the binding benchmark', '10000')
    .exitOverride()
    .action(async (o: { json?: boolean; claims?: string }) => {
      if (o.claims !== undefined && !/^[1-9]\d*$/.test(o.claims)) throw new UsageError(`--claims: "${o.claims}" is not a positive integer`);
      const { bench } = await import('./bench-cli.ts');
      code = await bench(o, io);
    });
  try {
    if (argv.length === 0) {
      io.err(program.helpInformation());
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(`ksim: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
