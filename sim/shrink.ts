/**
 * Shrinking a failing run to the few faults that matter (SPEC §4 `ksim shrink`, and the property
 * helper's failures, sim/property.ts). Delta debugging as Zeller's ddmin does it, on the run's
 * fault list, then on each fault's own knobs:
 *
 * 1. the seed's faults (scripted and drawn by chaos) become one scripted list: the scenario
 *    without `chaos`, which replays the same run (each fault draws from a stream keyed by the
 *    fault itself, so removing one leaves the others' draws as they were);
 * 2. ddmin drops faults: halves, then smaller chunks, keeping any subset or complement that still
 *    fails, until no single fault can go (1-minimal);
 * 3. each fault left is made smaller while the run still fails: `for` shortened, `at` moved later
 *    (keeping its heal), partitions narrowed (fewer hosts, one way), rates, delays, windows and
 *    skews lowered.
 *
 * Each candidate is one deterministic run at the same seed; "still fails" is the caller's
 * predicate (for `ksim shrink`: the same invariant is violated as the first violation of the
 * seed's run, or the same actor crashes). Pure: no files, no clock; the CLI writes the result.
 */
import { parseAllDocuments, isMap, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Fault, Scenario } from '../src/scenario/types.ts';
import type { Hasher } from '../src/trace.ts';
import { scriptedFault } from './fault-forms.ts';
import { Run, type Report } from './run.ts';
import { StepBudgetExceeded } from './world.ts';

/** Candidate runs a shrink takes at most before it stops with the smallest list found. */
export const DEFAULT_MAX_RUNS = 400;

const SHRINK_POS = { file: '<shrink>', line: 0, col: 0 };

export interface ShrinkOptions {
  /** The scenario's duration: `at` is never moved past it. */
  durationMs: number;
  /** Most candidate runs (default DEFAULT_MAX_RUNS); a list already tried is not run again. */
  maxRuns?: number;
  /** Told after each run: how many runs so far and the smallest failing list. */
  onRun?: (runs: number, best: readonly Fault[]) => void;
}

export interface ShrinkResult {
  /** The smallest failing list found, in spec.faults order (sorted by `at`). */
  faults: Fault[];
  /** Candidate runs taken (lists tried twice count once). */
  runs: number;
  /** True when maxRuns stopped the search before it was done. */
  exhausted: boolean;
}

/**
 * A fault list as spec.faults would hold it when written in this order: sorted by `at` (file
 * order kept), `index` its position, not marked drawn. Running it and loading it back from the
 * YAML `shrunkScenarioYaml` writes give the same run.
 */
export function asScripted(faults: readonly Fault[]): Fault[] {
  return faults
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.atMs - b.f.atMs || a.i - b.i)
    .map(({ f }, index) => {
      const { drawn: _drawn, ...rest } = f;
      return { ...rest, index, pos: SHRINK_POS } as Fault;
    });
}

function keyOf(faults: readonly Fault[]): string {
  return JSON.stringify(asScripted(faults).map(scriptedFault));
}

/** Stopped by maxRuns: the search ends with the smallest list found so far. */
class OutOfRuns extends Error {}

/**
 * Shrinks `start` (a list that fails) to a smaller list for which `fails` still holds. `fails`
 * gets lists in spec.faults order (asScripted).
 */
export function shrinkFaults(start: readonly Fault[], fails: (faults: Fault[]) => boolean, opts: ShrinkOptions): ShrinkResult {
  const maxRuns = opts.maxRuns ?? DEFAULT_MAX_RUNS;
  const seen = new Map<string, boolean>();
  let runs = 0;
  let best = asScripted(start);
  const test = (candidate: readonly Fault[]): boolean => {
    const list = asScripted(candidate);
    const key = keyOf(list);
    const known = seen.get(key);
    if (known !== undefined) return known;
    if (runs >= maxRuns) throw new OutOfRuns();
    runs++;
    const failed = fails(list);
    seen.set(key, failed);
    if (failed) best = list;
    opts.onRun?.(runs, best);
    return failed;
  };
  seen.set(keyOf(best), true);
  let exhausted = false;
  try {
    let list = ddmin(best, test);
    list = simplifyEach(list, test, opts.durationMs);
    best = asScripted(list);
  } catch (e) {
    if (!(e instanceof OutOfRuns)) throw e;
    exhausted = true;
  }
  return { faults: best, runs, exhausted };
}

/** Zeller's ddmin: a 1-minimal failing sublist (no single fault can be dropped). */
function ddmin(start: Fault[], test: (faults: readonly Fault[]) => boolean): Fault[] {
  if (start.length === 0) return start;
  // A run that fails without any fault needs none (a bug that shows on a quiet cluster).
  if (test([])) return [];
  let list = start;
  let n = 2;
  while (list.length >= 2) {
    const chunks = split(list, n);
    let next: Fault[] | undefined = chunks.find((c) => test(c));
    if (next) n = 2;
    else if (n > 2) {
      next = chunks.map((_, i) => chunks.filter((_, j) => j !== i).flat()).find((c) => test(c));
      if (next) n = Math.max(n - 1, 2);
    }
    if (next) {
      list = next;
      continue;
    }
    if (n >= list.length) break;
    n = Math.min(list.length, 2 * n);
  }
  return list;
}

function split<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = from + Math.floor((xs.length - from) / (n - i));
    out.push(xs.slice(from, to));
    from = to;
  }
  return out.filter((c) => c.length > 0);
}

/**
 * Each fault in turn made smaller while the run still fails: the first simplification that
 * fails is kept and the fault is tried again, until none does.
 */
function simplifyEach(list: Fault[], test: (faults: readonly Fault[]) => boolean, durationMs: number): Fault[] {
  const slots = [...list];
  for (let i = 0; i < slots.length; i++) {
    let changed = true;
    while (changed) {
      changed = false;
      for (const candidate of simpler(slots[i]!, durationMs)) {
        const next = slots.map((f, j) => (j === i ? candidate : f));
        if (test(next)) {
          slots[i] = candidate;
          changed = true;
          break;
        }
      }
    }
  }
  return slots;
}

/** Milliseconds rounded to whole seconds once they are past one, so that they print as users write them. */
function roundMs(ms: number): number {
  return ms >= 1000 ? Math.round(ms / 1000) * 1000 : Math.max(1, Math.round(ms));
}

function lowerRate(rate: number): number | undefined {
  const r = Math.max(0.01, Math.round((rate / 2) * 100) / 100);
  return r < rate ? r : undefined;
}

/** Smaller versions of one fault, the boldest first. */
export function simpler(f: Fault, durationMs: number): Fault[] {
  const out: Fault[] = [];
  const push = (x: Partial<Fault>) => out.push({ ...f, ...x } as Fault);
  // Shorter: half, then three quarters.
  if (f.forMs !== undefined && f.forMs > 1000) {
    for (const share of [0.5, 0.75]) {
      const forMs = roundMs(f.forMs * share);
      if (forMs < f.forMs) push({ forMs });
    }
  }
  // Later: half way to its heal (which stays), or for a fault that does not heal, to the end.
  if (f.forMs !== undefined && f.forMs >= 2000) {
    const later = roundMs(f.forMs / 2);
    push({ atMs: f.atMs + later, forMs: f.forMs - later });
  } else if (f.forMs === undefined && durationMs - f.atMs >= 2000) {
    push({ atMs: f.atMs + roundMs((durationMs - f.atMs) / 2) });
  }
  switch (f.kind) {
    case 'partition': {
      // Fewer hosts, fewer groups, one way only (either way round).
      f.groups.forEach((g, gi) => {
        if (g.length > 1) g.forEach((_, hi) => push({ groups: f.groups.map((x, xi) => (xi === gi ? x.filter((_, k) => k !== hi) : x)) }));
      });
      if (f.groups.length > 2) f.groups.forEach((_, gi) => push({ groups: f.groups.filter((_, k) => k !== gi) }));
      if (!f.oneWay) {
        push({ oneWay: true });
        push({ groups: [...f.groups].reverse(), oneWay: true });
      }
      break;
    }
    case 'messageLoss':
    case 'messageDuplicate':
    case 'dnsFailure':
    case 'dropWatch':
    case 'csiError': {
      const rate = lowerRate(f.rate);
      if (rate !== undefined) push({ rate });
      break;
    }
    case 'messageDelay': {
      const rate = lowerRate(f.rate);
      if (rate !== undefined) push({ rate });
      if (f.maxMs > f.minMs) push({ maxMs: f.minMs + roundMs((f.maxMs - f.minMs) / 2) });
      if (f.minMs > 1) {
        const minMs = roundMs(f.minMs / 2);
        if (minMs < f.minMs) push({ minMs, maxMs: Math.max(minMs, f.maxMs - (f.minMs - minMs)) });
      }
      break;
    }
    case 'messageReorder': {
      const rate = lowerRate(f.rate);
      if (rate !== undefined) push({ rate });
      if (f.windowMs > 100) push({ windowMs: roundMs(f.windowMs / 2) });
      break;
    }
    case 'staleView':
      if (f.byMs > 1000) push({ byMs: roundMs(f.byMs / 2) });
      break;
    case 'clockSkew':
      if (Math.abs(f.byMs) > 1000) push({ byMs: Math.sign(f.byMs) * roundMs(Math.abs(f.byMs) / 2) });
      break;
    case 'crashMidReconcile':
      if (f.afterWrites > 1) push({ afterWrites: f.afterWrites - 1 });
      break;
    default:
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ksim shrink: a seed's run, the failure it shows, and the scenario that reproduces it

/** What a failing run broke: an invariant (the first violation's), or ksim itself (an actor crashed). */
export type Failure = { invariant: string; atMs: number; message: string } | { crash: string; atMs: number; message: string };

/** The failure a report shows, or undefined when every invariant held. */
export function failureOf(report: Report): Failure | undefined {
  if (report.crash) return { crash: report.crash.actor, atMs: report.crash.atMs, message: report.crash.message };
  const v = report.violations[0];
  return v ? { invariant: v.invariant, atMs: v.atMs, message: v.message } : undefined;
}

/** Whether `report` shows the same failure: the invariant violated (anywhere), or the same actor crashing. */
export function showsFailure(report: Report, failure: Failure): boolean {
  if ('crash' in failure) return report.crash?.actor === failure.crash;
  return !report.crash && report.violations.some((v) => v.invariant === failure.invariant);
}

export interface SeedShrinkOptions {
  seed: number;
  bug?: string;
  hasher: () => Hasher;
  maxSteps?: number;
  maxRuns?: number;
  /** Told after each candidate run (the first two runs, the seed's and its scripted replay, included). */
  onRun?: (runs: number, best: readonly Fault[]) => void;
}

export type SeedShrinkOutcome =
  /** The seed's run breaks nothing: there is nothing to shrink. */
  | { status: 'passes'; report: Report }
  /** The seed's faults, replayed as a script, do not fail the same way (a ksim bug). */
  | { status: 'not-reproduced'; failure: Failure; faults: Fault[]; report: Report }
  | {
      status: 'shrunk';
      failure: Failure;
      /** The seed's faults as a scripted list, and the shrunk list. */
      from: Fault[];
      faults: Fault[];
      /** Every run taken, the seed's own and its replay included. */
      runs: number;
      exhausted: boolean;
      /** The report of the shrunk list's run. */
      report: Report;
    };

/** The scenario with `faults` as its whole fault list, without chaos. */
export function withFaults(scenario: Scenario, faults: readonly Fault[]): Scenario {
  const { chaos: _chaos, ...rest } = scenario;
  return { ...rest, faults: asScripted(faults) };
}

/**
 * `ksim shrink`: runs the seed, takes its faults (scripted and drawn) as a scripted list and
 * shrinks it while the same failure shows.
 */
export function shrinkSeed(scenario: Scenario, opts: SeedShrinkOptions): SeedShrinkOutcome {
  let runs = 0;
  const start = (s: Scenario): Run => {
    runs++;
    return new Run(s, { hasher: opts.hasher, seed: opts.seed, ...(opts.bug ? { bug: opts.bug } : {}), ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}) });
  };
  const runWith = (s: Scenario): { report: Report; run: Run } | undefined => {
    const run = start(s);
    try {
      return { report: run.run(), run };
    } catch (e) {
      // A candidate past the step budget shows nothing: it is not kept.
      if (e instanceof StepBudgetExceeded) return undefined;
      throw e;
    }
  };
  // The seed's own run past the step budget is the caller's to report (StepBudgetExceeded).
  const firstRun = start(scenario);
  const first = { report: firstRun.run(), run: firstRun };
  const failure = failureOf(first.report);
  if (!failure) return { status: 'passes', report: first.report };
  const from = asScripted([...scenario.faults, ...first.run.world.drawnFaults]);
  opts.onRun?.(runs, from);
  const replay = runWith(withFaults(scenario, from));
  opts.onRun?.(runs, from);
  if (!replay || !showsFailure(replay.report, failure)) return { status: 'not-reproduced', failure, faults: from, report: (replay ?? first).report };
  let last: { key: string; report: Report } = { key: keyOf(from), report: replay.report };
  const result = shrinkFaults(
    from,
    (faults) => {
      const r = runWith(withFaults(scenario, faults));
      const failed = r !== undefined && showsFailure(r.report, failure);
      if (failed) last = { key: keyOf(faults), report: r.report };
      return failed;
    },
    {
      durationMs: scenario.durationMs,
      ...(opts.maxRuns !== undefined ? { maxRuns: Math.max(0, opts.maxRuns - runs) } : {}),
      onRun: (_n, best) => opts.onRun?.(runs, best),
    },
  );
  if (last.key !== keyOf(result.faults)) {
    const r = runWith(withFaults(scenario, result.faults));
    if (r) last = { key: keyOf(result.faults), report: r.report };
  }
  return { status: 'shrunk', failure, from, faults: result.faults, runs, exhausted: result.exhausted, report: last.report };
}

/**
 * The scenario file that reproduces a shrunk run: the original text with its Scenario document's
 * `chaos` removed, `spec.faults` set to `faults` in the scripted form (one flow mapping a line,
 * as users write them), and `spec.seed` set. The other documents are kept byte for byte; a file
 * without a Scenario document gets one. `header` lines become comments at the top.
 */
export function shrunkScenarioYaml(text: string, opts: { name: string; faults: readonly Fault[]; seed: number; header?: readonly string[] }): string {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  const header = (opts.header ?? []).map((l) => `# ${l}`.trimEnd() + '\n').join('');
  const at = list.findIndex((d) => isMap(d.contents) && d.get('kind') === 'Scenario' && d.get('apiVersion') === 'ksim/v1');
  const scripted = asScripted(opts.faults).map(scriptedFault);
  if (at < 0) {
    const doc = parseAllDocuments(`apiVersion: ksim/v1\nkind: Scenario\nmetadata: {name: ${JSON.stringify(opts.name)}}\nspec: {}\n`) as Document.Parsed[];
    const body = edit(doc[0]!, scripted, opts.seed);
    return `${header}${text}${text === '' || text.endsWith('\n') ? '' : '\n'}---\n${body}`;
  }
  const doc = list[at]!;
  const body = edit(doc, scripted, opts.seed);
  // The first document's leading comments are its own (printed with it); the last one's trailing ones too.
  const start = at === 0 ? 0 : doc.range[0];
  const end = at === list.length - 1 ? text.length : doc.range[2];
  const before = text.slice(0, start);
  const needsMarker = at > 0 && !body.startsWith('---');
  return `${header}${before}${needsMarker ? '---\n' : ''}${body}${end < text.length && !body.endsWith('\n') ? '\n' : ''}${text.slice(end)}`;
}

function edit(doc: Document.Parsed, scripted: Record<string, unknown>[], seed: number): string {
  doc.deleteIn(['spec', 'chaos']);
  if (!isMap(doc.get('spec'))) doc.set('spec', doc.createNode({}));
  const spec = doc.get('spec') as YAMLMap;
  spec.flow = false;
  if (spec.has('seed')) spec.set('seed', seed);
  else spec.items.unshift(doc.createPair('seed', seed));
  if (scripted.length === 0) spec.delete('faults');
  else {
    const seq = doc.createNode(scripted) as YAMLSeq;
    seq.flow = false;
    for (const item of seq.items) (item as { flow?: boolean }).flow = true;
    spec.set('faults', seq);
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
