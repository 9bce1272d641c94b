/**
 * The canonical trace: every delivered or dropped message, committed write, timer, fault and
 * user action becomes one line `atMs kind actor detail`. Lines are hashed incrementally on
 * every run (the report's traceHash); JSON lines are produced only when a sink is attached
 * (`--trace`), because full JSON on every event costs about 45% of throughput (libraries.md).
 *
 * The hash function is handed in from the edge (node:crypto in src/node-hash.ts), so the core
 * does not depend on Node.
 */

export interface Hasher {
  update(text: string): void;
  digest(): string;
}

export interface TraceEvent {
  atMs: number;
  /** D delivered, X dropped, C commit, T timer, F fault, A action, R result, S state, V violation */
  kind: string;
  actor: string;
  detail: string;
}

const RECENT = 40;

export class Trace {
  private readonly hasher: Hasher;
  private readonly recent: string[] = new Array(RECENT);
  private n = 0;
  sink: ((e: TraceEvent) => void) | undefined;
  /**
   * Observers of every event (invariant checkers), called with the event's fields so that no
   * event object is made per line when only listeners (no sink) are attached.
   */
  readonly listeners: ((atMs: number, kind: string, actor: string, detail: string) => void)[] = [];

  constructor(makeHasher: () => Hasher) {
    this.hasher = makeHasher();
  }

  record(atMs: number, kind: string, actor: string, detail: string): void {
    const line = `${atMs} ${kind} ${actor} ${detail}\n`;
    this.hasher.update(line);
    this.recent[this.n % RECENT] = line;
    this.n++;
    if (this.sink) this.sink({ atMs, kind, actor, detail });
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!(atMs, kind, actor, detail);
  }

  get count(): number {
    return this.n;
  }

  /** The last lines recorded, oldest first (for crash reports). */
  lastLines(max = 20): string[] {
    const out: string[] = [];
    for (let i = Math.max(0, this.n - Math.min(max, RECENT)); i < this.n; i++) out.push(this.recent[i % RECENT]!.trimEnd());
    return out;
  }

  digest(): string {
    return this.hasher.digest();
  }
}

/** FNV-1a 32-bit of a string, as hex: a cheap content fingerprint for commit lines. */
export function fnv1a(text: string): string {
  return fnv1aHex(fnv1aUpdate(FNV1A_INIT, text));
}

/** FNV-1a's starting state; `fnv1aUpdate` over pieces in turn equals one pass over their concatenation. */
export const FNV1A_INIT = 0x811c9dc5;

export function fnv1aUpdate(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

export function fnv1aHex(state: number): string {
  return (state >>> 0).toString(16).padStart(8, '0');
}
