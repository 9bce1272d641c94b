/**
 * How a fault and its heal are written in the trace: the detail of an 'F' line, so that tools
 * reading a trace (the Chrome trace exporter, sim/exporters/chrome-trace.ts) can pair a fault
 * with its heal and place it on the hosts it hits.
 *
 *   start <id> <hosts> <fault>     the fault begins
 *   heal <id> <hosts> <fault>      the fault with that id ends (a crash's restart, a partition's heal ...)
 *   once <id> <hosts> <fault>      a fault that has no duration (wipeDisk, restart)
 *
 * `id` names one fault of the run (no spaces; the same on its start and heal), `hosts` lists
 * the hosts it hits in SPEC §1's names, comma-separated (`node/node-1,apiserver`), or `*` when
 * it hits every host (a messageLoss without `between`), and `fault` is its scripted form as the
 * report lists it (`crash node/node-1 for 2m`), free text to the end of the line.
 */

export type FaultPhase = 'start' | 'heal' | 'once';

export interface FaultMark {
  phase: FaultPhase;
  id: string;
  /** Hosts in SPEC §1's names; empty means every host. */
  hosts: string[];
  fault: string;
}

const PHASES: ReadonlySet<string> = new Set(['start', 'heal', 'once']);

/** The detail of the 'F' trace line for `m`. */
export function formatFaultMark(m: FaultMark): string {
  return `${m.phase} ${m.id} ${m.hosts.length === 0 ? '*' : m.hosts.join(',')} ${m.fault}`;
}

/** The mark an 'F' line's detail carries, or undefined when it is not in this form. */
export function parseFaultMark(detail: string): FaultMark | undefined {
  const m = /^(\S+) (\S+) (\S+) ?(.*)$/.exec(detail);
  if (!m || !PHASES.has(m[1]!)) return undefined;
  return { phase: m[1] as FaultPhase, id: m[2]!, hosts: m[3] === '*' ? [] : m[3]!.split(','), fault: m[4] ?? '' };
}
