/**
 * madsim's check_determinism: compare two runs' traces and name the first event where they
 * part. Pure; the caller collects the traces (in-process or from two processes).
 */
export interface Divergence {
  index: number;
  a: string | undefined;
  b: string | undefined;
}

export function firstDivergence(a: readonly string[], b: readonly string[]): Divergence | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return { index: i, a: a[i], b: b[i] };
  return undefined;
}

export function describeDivergence(d: Divergence): string {
  return `runs diverge at trace event #${d.index}:\n  first:  ${d.a ?? '<end of trace>'}\n  second: ${d.b ?? '<end of trace>'}`;
}
