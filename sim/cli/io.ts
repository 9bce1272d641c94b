/**
 * What every command of the command line shares: its output streams, the wall clock (an edge:
 * only for stats.wallMs and timings) and the usage error that exits with code 2.
 */

/** A usage mistake (a bad flag value): one line on stderr, exit code 2. */
export class UsageError extends Error {}

/**
 * Text for a terminal: control characters a scenario may carry (ANSI escapes, C1 controls,
 * carriage returns, the Unicode line separators) are shown escaped instead of acted on; newlines
 * and tabs of ksim's own layout stay.
 */
export function terminalSafe(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  wallMs: () => number;
  /** stderr when it is a terminal (progress bars are drawn only there), else undefined. */
  terminal?: NodeJS.WriteStream;
  /**
   * Runs the same command again in a process with a larger V8 heap and gives its exit code;
   * undefined when this process's heap is already that large. Only the installed `ksim`
   * (sim/cli/launch.ts) can; in-process callers cannot.
   */
  withLargerHeap?: () => number | undefined;
}

export const defaultIo: Io = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
  wallMs: () => performance.now(),
  ...(process.stderr.isTTY ? { terminal: process.stderr } : {}),
};

