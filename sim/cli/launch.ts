/**
 * The process behind `ksim` (bin/ksim.js calls `launch`): the flags node must start with for
 * some commands, which only a new process can take. An edge: it starts node again.
 *
 * - `bench` always starts again with a young generation of up to 256 MB semi-spaces and
 *   global.gc: a simulation allocates many short-lived objects (every XState transition about
 *   4.6 KB), and with V8's default size the collector runs far more often (measured with
 *   `ksim bench`: 64 MB saves 12-15% of the wall time, 256 MB another 5-10% on the
 *   10,000-claim binding, with the same peak memory); bench collects one run's garbage before
 *   the next. It also takes the larger heap (sim/heap.ts).
 * - `run` starts again with the larger heap only for a scenario that may outgrow V8's own
 *   (`run.ts`, LARGE_SCENARIO_OBJECTS): a second node start costs about 0.1-0.2 s, as much as
 *   the whole demo.
 * - `sweep` needs none: its worker threads get their heap when they start (sim/sweep.ts).
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { main } from './main.ts';
import { defaultIo, type Io } from './io.ts';
import { heapRaiseFlags } from '../heap.ts';

const YOUNG_GENERATION_FLAG = '--max-semi-space-size=256';
const EXPOSE_GC_FLAG = '--expose-gc';

/** Runs `bin` again in a new node process with `flags` first; its exit code. */
function relaunch(bin: string, args: string[], flags: string[]): number {
  // Ctrl-C reaches both processes: this one waits for the child to finish (a sweep stops
  // cleanly and prints its summary), then exits with the child's code.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const child = spawnSync(process.execPath, [...flags, ...process.execArgv, bin, ...args], { stdio: 'inherit' });
  process.off('SIGINT', ignore);
  if (child.signal) return 128 + (constants.signals[child.signal] ?? 0);
  return child.status ?? 3;
}

/** `ksim ARGS`, as started from the script `bin`: the exit code. */
export async function launch(args: string[], bin: string): Promise<number> {
  if (args[0] === 'bench' && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
    return relaunch(bin, args, [YOUNG_GENERATION_FLAG, EXPOSE_GC_FLAG, ...heapRaiseFlags()]);
  }
  const io: Io = {
    ...defaultIo,
    withLargerHeap: () => {
      const flags = heapRaiseFlags();
      return flags.length > 0 ? relaunch(bin, args, flags) : undefined;
    },
  };
  return main(args, io);
}
