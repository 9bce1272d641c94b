/**
 * How much memory ksim lets V8 use. V8 sizes its old generation from the machine at start-up and
 * caps it at about 4 GB on 64-bit machines (this 24 GiB machine: 4,144 MB), whatever the
 * machine has; a simulation of tens of thousands of pods needs more. The commands that may
 * (`run` of a large scenario, `sweep`, `bench`) ask for three quarters of the memory ksim may
 * use instead: the machine's, or the container's limit (cgroup) when there is one. A user who
 * chose a size (`--max-old-space-size` on node's command line or in NODE_OPTIONS) keeps it.
 *
 * The size can only be set when an isolate starts: `run` and `bench` start the process again
 * with the flag (sim/cli/launch.ts), a sweep gives it to its worker threads (sim/sweep.ts). An
 * edge: it reads the machine's memory, node's flags and NODE_OPTIONS.
 */
import { getHeapStatistics } from 'node:v8';
import { totalmem } from 'node:os';

export const HEAP_FLAG = '--max-old-space-size';
const MIB = 1024 * 1024;

/** The user chose the heap size: on node's command line or in NODE_OPTIONS. */
export function heapSizeChosen(): boolean {
  const chosen = (a: string) => a.startsWith(HEAP_FLAG) || a.startsWith('--max_old_space_size');
  return process.execArgv.some(chosen) || (process.env['NODE_OPTIONS'] ?? '').split(/\s+/).some(chosen);
}

/** The memory ksim may use: the machine's, or less where a cgroup limits the process. */
function memoryMb(): number {
  const machine = totalmem();
  // Node >= 19.6; 0, undefined or 2^64 (no limit) mean none.
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  return Math.floor((constrained > 0 && constrained < machine ? constrained : machine) / MIB);
}

/** What ksim asks V8 for: three quarters of the memory it may use. */
export function heapBudgetMb(): number {
  return Math.floor((memoryMb() * 3) / 4);
}

/** V8's limit for this isolate's heap, as it started. */
export function heapLimitMb(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / MIB);
}

/**
 * The node flags that raise this process's heap to the budget, or none: the user chose a size,
 * or the limit is already as large (a process started with these flags gets none).
 */
export function heapRaiseFlags(): string[] {
  if (heapSizeChosen()) return [];
  const budget = heapBudgetMb();
  return budget > heapLimitMb() ? [`${HEAP_FLAG}=${budget}`] : [];
}

/**
 * The old-generation size for each of a sweep's `workers` threads: the budget shared among
 * them, so that together they stay within the machine; undefined (V8's own size, or the size
 * the user chose, which workers inherit) when that share is no larger.
 */
export function workerHeapMb(workers: number): number | undefined {
  if (heapSizeChosen()) return undefined;
  const share = Math.floor(heapBudgetMb() / Math.max(1, workers));
  return share > heapLimitMb() ? share : undefined;
}
