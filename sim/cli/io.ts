/**
 * What every command of the command line shares: its output streams, the wall clock (an edge:
 * only for stats.wallMs and timings) and the usage error that exits with code 2.
 */

/** A usage mistake (a bad flag value): one line on stderr, exit code 2. */
export class UsageError extends Error {}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  wallMs: () => number;
  /** stderr when it is a terminal (progress bars are drawn only there), else undefined. */
  terminal?: NodeJS.WriteStream;
}

export const defaultIo: Io = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
  wallMs: () => performance.now(),
  ...(process.stderr.isTTY ? { terminal: process.stderr } : {}),
};

