/**
 * expectations (SPEC §6): every `expect` of the scenario's actions holds. For read the data,
 * for nslookup the sorted list of answers or the failure (`NXDOMAIN`, `SERVFAIL`, `timed out`),
 * for the others `ok` / `error`.
 */
import type { Action } from '../../src/scenario/types.ts';
import { DNS_TIMED_OUT, type ActionResult } from '../../actors/kubectl.ts';

/** What an nslookup `expect` may name instead of answers: the resolver's failures. */
const DNS_FAILURES: ReadonlySet<string> = new Set(['NXDOMAIN', 'SERVFAIL', DNS_TIMED_OUT]);
import type { Violation } from './types.ts';

export function expectationHolds(a: Action, r: ActionResult): boolean {
  const want = a.expect;
  if (want === undefined) return true;
  if (want === 'ok') return r.ok;
  if (want === 'error') return !r.ok;
  if (a.kind === 'read' || a.kind === 'readNode') return r.ok && r['data'] === want;
  if (a.kind === 'nslookup') {
    if (typeof want === 'string' && DNS_FAILURES.has(want)) return r['error'] === want;
    const wantList = (Array.isArray(want) ? want : [want]).map(String).sort();
    const got = ((r['answers'] as string[] | undefined) ?? []).slice().sort();
    return r.ok && JSON.stringify(wantList) === JSON.stringify(got);
  }
  return false;
}

export function checkExpectations(actions: readonly Action[], results: readonly ActionResult[]): Violation[] {
  const byIndex = new Map(results.map((r) => [r.index, r]));
  const out: Violation[] = [];
  actions.forEach((a, i) => {
    if (a.expect === undefined) return;
    const r = byIndex.get(a.index) ?? byIndex.get(i);
    if (!r) return;
    if (expectationHolds(a, r)) return;
    const got = r.ok ? (r['data'] ?? r['answers'] ?? 'ok') : `error: ${String(r['error'] ?? '')}`;
    out.push({
      invariant: 'expectations',
      atMs: r.atMs,
      message: `${a.kind} at ${a.pos.file}:${a.pos.line}: expected ${JSON.stringify(a.expect)}, got ${JSON.stringify(got)}`,
      objects: [],
    });
  });
  return out;
}
