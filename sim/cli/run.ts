/**
 * `ksim run` (SPEC §4): loads a scenario, simulates it with a seed and prints the cluster as
 * `kubectl get` would, or the JSON report of SPEC §5. Exit codes: 0 every invariant holds,
 * 1 a violation, 2 bad input or usage (also a run past its step budget, or a trace that cannot
 * be written), 3 ksim itself failed (the report's `crash`, the seed and the replay command;
 * never a stack trace).
 *
 * Every flag is checked before anything runs; what goes to the terminal has its control
 * characters escaped (terminalSafe), whatever a scenario holds.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { loadScenarioFile, quoteUnsafe } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/types.ts';
import type { KObject } from '../../src/protocol.ts';
import { parseDuration, formatDuration } from '../../src/duration.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import type { TraceEvent } from '../../src/trace.ts';
import { FIELD_VALIDATIONS, type FieldValidation } from '../../src/model/decode.ts';
import { DEFAULT_MAX_STEPS, MAX_DURATION_MS } from '../../src/scenario/limits.ts';
import { Run, type Report } from '../run.ts';
import { faultYaml } from '../fault-forms.ts';
import { KNOWN_BUGS, StepBudgetExceeded, type World } from '../world.ts';
import { describeTarget, renderTables, renderDescribe } from '../tables.ts';
import { ChromeTraceExporter } from '../exporters/chrome-trace.ts';
import { UsageError, terminalSafe, type Io } from './io.ts';

/** One problem, one line: a newline inside a user's string is shown as \n. */
function line(s: string): string {
  return terminalSafe(s.replace(/\r?\n/g, '\\n'));
}

/**
 * A scenario asking for this many nodes, pods, claims and volumes (scenarioObjects) may outgrow
 * V8's own heap of about 4 GB over a long run: `ksim run` runs it in a process with a larger one
 * (sim/heap.ts). 100 nodes with 1,000 pods, claims and volumes (3,100 objects) peaked at 245 MB
 * over 10 simulated minutes (issue 15), so 2,000 objects leave a margin of more than 20 for
 * runs longer or busier than that; the second process start (0.1-0.3 s) is a few per cent of
 * such a run, where it would double the demo's.
 */
export const LARGE_SCENARIO_OBJECTS = 2_000;

function objectsOf(obj: KObject): number {
  switch (obj.kind) {
    case 'StatefulSet': {
      const replicas = typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 1;
      const templates = Array.isArray(obj.spec?.volumeClaimTemplates) ? obj.spec.volumeClaimTemplates.length : 0;
      // Each replica: a pod, and a claim and a volume per template.
      return replicas * (1 + 2 * templates);
    }
    case 'Pod':
    case 'PersistentVolumeClaim':
    case 'PersistentVolume':
      return 1;
    default:
      return 0;
  }
}

/** The nodes, pods, claims and volumes a scenario asks for (at most; scale actions counted in full). */
export function scenarioObjects(s: Scenario): number {
  let n = s.nodes.length;
  for (const m of s.manifests) n += objectsOf(m.obj);
  for (const a of s.actions) {
    if (a.kind === 'apply') n += objectsOf(a.manifest);
    else if (a.kind === 'scale') n += a.replicas;
  }
  return n;
}

/**
 * The scenario, or the exit code of the run: bad input (2), or the code of the process that ran
 * a large scenario with a larger heap (decided before anything is printed, so that nothing is
 * printed twice).
 */
function loadOrExit(file: string, validate: FieldValidation, io: Io): Scenario | number {
  const res = loadScenarioFile(file, { validate });
  if (res.ok && io.withLargerHeap && scenarioObjects(res.scenario) >= LARGE_SCENARIO_OBJECTS) {
    const code = io.withLargerHeap();
    if (code !== undefined) return code;
  }
  for (const w of res.warnings) io.err(line(`${quoteUnsafe(w.pos.file)}:${w.pos.line}:${w.pos.col}: warning: ${w.message}`));
  if (!res.ok) {
    for (const e of res.errors) io.err(line(e));
    return 2;
  }
  return res.scenario;
}

export function parseSeed(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--seed: ${JSON.stringify(v)} is not a non-negative integer`);
  const n = Number(v);
  // Past 2^53 a seed is no longer exact: the replay command would replay another seed.
  if (!Number.isSafeInteger(n)) throw new UsageError(`--seed: ${v} is larger than ${Number.MAX_SAFE_INTEGER} (2^53-1), the largest seed ksim replays exactly`);
  return n;
}

function parseUntil(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (typeof ms === 'string') throw new UsageError(`--until: ${ms}`);
  if (ms > MAX_DURATION_MS) throw new UsageError(`--until: ${JSON.stringify(v)} is longer than ${formatDuration(MAX_DURATION_MS)} (30 days, the longest run ksim simulates)`);
  return ms;
}

/** kubectl's --validate: strict|warn|ignore, and its older true (strict) / false (ignore). */
function parseValidate(v: string | undefined): FieldValidation {
  if (v === undefined || v === 'true') return 'strict';
  if (v === 'false') return 'ignore';
  if ((FIELD_VALIDATIONS as readonly string[]).includes(v)) return v as FieldValidation;
  throw new UsageError(`--validate: ${JSON.stringify(v)} must be one of strict, warn, ignore`);
}

function parseMaxSteps(v: string | undefined): number {
  if (v === undefined) return DEFAULT_MAX_STEPS;
  if (!/^[1-9]\d*$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--max-steps: ${JSON.stringify(v)} is not a positive integer`);
  return Number(v);
}

/** A trace file that cannot be written: stops the run, one line, exit 2. */
class TraceWriteError extends Error {}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such directory';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'no space left on device';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    default:
      return code ? `cannot be written (${code})` : String((e as Error)?.message ?? e);
  }
}

/** Bytes gathered before each write to the trace file: one write per event costs far more. */
const TRACE_CHUNK = 1 << 16;

/**
 * Opens the trace file before the run (a path that cannot be written is a usage error) and
 * writes the trace as JSON lines or as Chrome trace-event JSON (sim/exporters/chrome-trace.ts),
 * streaming: at most one chunk is held in memory. A write that fails during the run (a full
 * disk) calls `onError` once and writes nothing more.
 */
function traceWriter(
  file: string,
  format: string,
  messages: boolean,
  onError: (e: TraceWriteError) => void,
): { sink: (e: TraceEvent) => void; observe: (world: World) => void; close: (run: Run | undefined, report: Report | undefined) => void } {
  let fd: number;
  try {
    if (file.includes('\0')) throw Object.assign(new Error('NUL'), { code: 'ENOENT' });
    fd = openSync(file, 'w');
  } catch (e) {
    throw new UsageError(`--trace: cannot write ${JSON.stringify(file)}: ${errnoText(e)}`);
  }
  let failed = false;
  let buf = '';
  const flush = () => {
    if (failed || buf === '') return;
    try {
      writeSync(fd, buf);
    } catch (e) {
      failed = true;
      onError(new TraceWriteError(`--trace: writing ${JSON.stringify(file)} failed: ${errnoText(e)}`));
    }
    buf = '';
  };
  const write = (s: string) => {
    if (failed) return;
    buf += s;
    if (buf.length >= TRACE_CHUNK) flush();
  };
  const chrome = format === 'chrome' ? new ChromeTraceExporter({ write, messages }) : undefined;
  return {
    sink: chrome ? (e) => chrome.event(e) : (e) => write(JSON.stringify(e) + '\n'),
    observe: (world) => chrome?.attach(world),
    close: (run, report) => {
      // The timeline stays a valid document whatever ended the run.
      chrome?.finish(run?.world.nowMs ?? 0, { ...(run ? { scenario: run.scenario.name, seed: run.world.seed } : {}), ...(report ? { violations: report.violations, traceHash: report.traceHash } : {}) });
      flush();
      try {
        closeSync(fd);
      } catch {
        // Closing a descriptor whose writes failed reports the same failure again.
      }
    },
  };
}

export async function cmdRun(file: string, o: Record<string, string | undefined>, io: Io): Promise<number> {
  // Flags first: a usage mistake costs nothing.
  const validate = parseValidate(o['validate']);
  const seed = parseSeed(o['seed']);
  const untilMs = parseUntil(o['until']);
  const maxSteps = parseMaxSteps(o['maxSteps']);
  const output = o['output'] ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o: unsupported output format ${JSON.stringify(output)} (table, json)`);
  const traceFormat = o['traceFormat'] ?? 'jsonl';
  if (traceFormat !== 'jsonl' && traceFormat !== 'chrome') throw new UsageError(`--trace-format: ${JSON.stringify(traceFormat)} (jsonl, chrome)`);
  if (o['traceMessages'] && traceFormat !== 'chrome') throw new UsageError('--trace-messages: needs --trace-format chrome');
  const bug = o['bug'];
  if (bug !== undefined && !Object.hasOwn(KNOWN_BUGS, bug)) throw new UsageError(`--bug: unknown failure mode ${JSON.stringify(bug)} (known: ${Object.keys(KNOWN_BUGS).join(', ')})`);
  const describe = o['describe'];
  if (describe !== undefined) {
    if (output === 'json') throw new UsageError('--describe prints text: it cannot be combined with -o json (stdout holds the report and nothing else)');
    const t = describeTarget(describe);
    if (typeof t === 'string') throw new UsageError(`--describe: ${t}`);
  }

  const scenario = loadOrExit(file, validate, io);
  if (typeof scenario === 'number') return scenario;

  let aborted: TraceWriteError | undefined;
  let run: Run | undefined;
  const tw = o['trace']
    ? traceWriter(o['trace'], traceFormat, Boolean(o['traceMessages']), (e) => {
        aborted = e;
        run?.world.abort(e);
      })
    : undefined;
  const t0 = io.wallMs();
  let report: Report;
  let finished: Report | undefined;
  const effectiveSeed = seed ?? scenario.seed;
  const replay = `ksim run ${file} --seed ${effectiveSeed}${bug ? ` --bug ${bug}` : ''}`;
  try {
    run = new Run(scenario, {
      hasher: sha256Hasher,
      ...(seed !== undefined ? { seed } : {}),
      ...(untilMs !== undefined ? { untilMs } : {}),
      ...(bug ? { bug } : {}),
      ...(tw ? { traceSink: tw.sink, observe: tw.observe } : {}),
      validate,
      maxSteps,
    });
    const drawn = run.world.drawnFaults;
    if (drawn.length > 0) {
      // SPEC §1: the drawn schedule, printed at the start in the form that replays it.
      io.err(`ksim: chaos drew ${drawn.length} fault${drawn.length === 1 ? '' : 's'} for seed ${run.world.seed} (paste them under spec.faults to replay):`);
      for (const f of drawn) io.err(`    ${faultYaml(f)}`);
    }
    report = finished = run.run();
  } catch (e) {
    if (e instanceof TraceWriteError || aborted) {
      io.err(terminalSafe(`ksim: ${(aborted ?? e as Error).message}`));
      return 2;
    }
    if (e instanceof StepBudgetExceeded) {
      io.err(terminalSafe(`ksim: ${e.message}: ksim's step budget per run is ${e.maxSteps} (docs/input.md); raise it with --max-steps N`));
      return 2;
    }
    // A bug in ksim outside an actor: still one line, the seed and the replay command.
    io.err(terminalSafe(`ksim: internal error (a ksim bug): ${String((e as Error)?.message ?? e).split('\n')[0]}`));
    io.err(terminalSafe(`seed ${effectiveSeed}; replay: ${replay}`));
    return 3;
  } finally {
    tw?.close(run, finished);
  }
  if (aborted) {
    io.err(terminalSafe(`ksim: ${aborted.message}`));
    return 2;
  }
  report.stats.wallMs = Math.round(io.wallMs() - t0);
  if (report.crash) {
    const c = report.crash;
    io.err(terminalSafe(`ksim: internal error (a ksim bug): actor ${c.actor} failed at ${formatDuration(c.atMs)} of simulated time: ${c.message.split('\n')[0]}`));
    io.err(terminalSafe(`seed ${report.seed}; replay: ${c.replay}`));
  }
  if (output === 'json') {
    io.out(JSON.stringify(report, null, 2));
  } else {
    io.out(terminalSafe(`ksim: scenario ${report.scenario} (${quoteUnsafe(file)}), seed ${report.seed}, simulated ${report.durationMs / 1000}s\n`));
    io.out(terminalSafe(renderTables(run, report, quoteUnsafe(file))));
    if (describe !== undefined && !report.crash) {
      const d = renderDescribe(run, describe);
      if (!d.ok) {
        io.err(terminalSafe(d.text));
        return 2;
      }
      io.out(terminalSafe(d.text));
    }
  }
  if (report.crash) return 3;
  return report.violations.length > 0 ? 1 : 0;
}
