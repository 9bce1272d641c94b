/**
 * The sweep's worker pool (SPEC §4 `ksim sweep`): runs many seeds of one scenario on
 * worker_threads, each worker loading the scenario once (sim/sweep-worker.ts). Seeds are handed
 * out one at a time as workers finish, two in flight per worker so that none waits for the next
 * message; results come back in whatever order the workers finish, and everything a sweep
 * reports is sorted by seed afterwards (sim/sweep-summary.ts), so that it does not depend on the
 * number of workers. An edge: Node's worker_threads and the wall clock live here.
 *
 * Compiled (the command line's bundle dist/cli/, or the library's dist/sim/), this file starts
 * the sweep-worker.js beside it. Run as TypeScript (mocha, through tsx) each worker first
 * registers tsx's loader, then imports sweep-worker.ts.
 *
 * Each worker's heap is the memory budget shared among the workers (sim/heap.ts) where that is
 * more than V8's own size: a seed of a large scenario may need more than about 4 GB.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SeedOutcome } from './sweep-summary.ts';
import { replayCommand } from './sweep-summary.ts';
import type { FromWorker, ToWorker, WorkerInput } from './sweep-worker.ts';
import { workerHeapMb } from './heap.ts';

/** Seeds handed to a worker before it answered the first: it never waits for the next one. */
const IN_FLIGHT_PER_WORKER = 2;

const SELF = import.meta.url;
const TYPESCRIPT = SELF.endsWith('.ts');
const WORKER_URL = new URL(TYPESCRIPT ? './sweep-worker.ts' : './sweep-worker.js', SELF);

/** The machine's cores: the default number of workers. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * The URL of tsx's `tsx/esm/api` (ES module build), where ksim is installed. Read from tsx's own
 * package.json: `import.meta.resolve` is not there when this module runs as CommonJS (under
 * mocha's tsx require hook), and tsx's CommonJS build of the API cannot register from a worker.
 */
function tsxApiUrl(): string {
  const pkgFile = createRequire(SELF).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(pkgFile), pkg.exports['./esm/api']!.import.default)).href;
}

function startWorker(input: WorkerInput, heapMb: number | undefined): Worker {
  const resourceLimits = heapMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: heapMb } } : {};
  if (!TYPESCRIPT) return new Worker(WORKER_URL, { workerData: input, ...resourceLimits });
  // A worker does not inherit the loader hooks tsx registered in this thread: register them
  // first (an absolute URL, so that it resolves wherever ksim is installed), then import.
  const boot = `import(${JSON.stringify(tsxApiUrl())}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData: input, ...resourceLimits });
}

/** A scenario that the workers could not load (it loaded in the main thread, so rarely seen). */
export class SweepLoadError extends Error {
  override name = 'SweepLoadError';
}

interface Slot {
  worker: Worker;
  /** Seeds handed to this worker and not answered yet, oldest (the one running) first. */
  inFlight: number[];
  ready: boolean;
  /** It failed or exited: its events are ignored from then on. */
  dead: boolean;
}

export interface PoolOptions {
  /** The scenario file as the user named it (for replay commands) and its text. */
  file: string;
  text: string;
  bug?: string;
  workers: number;
}

export interface PoolRun {
  /** Ctrl-C: the run stopped before every seed was done. */
  interrupted: boolean;
}

/**
 * W workers, each with the scenario loaded. `run` may be called several times (bench warms the
 * workers up with one run and measures the next); `close` ends the workers.
 */
export class SweepPool {
  private readonly slots: Slot[] = [];
  private heapMb: number | undefined;
  private onMessage: ((slot: Slot, m: FromWorker) => void) | undefined;
  private onFailure: ((slot: Slot, err: Error) => void) | undefined;
  private closed = false;

  private constructor(private readonly opts: PoolOptions) {}

  get workers(): number {
    return this.slots.length;
  }

  /** Starts the workers and waits until each has loaded the scenario; if one cannot, ends them all. */
  static async start(opts: PoolOptions): Promise<SweepPool> {
    const pool = new SweepPool(opts);
    const n = Math.max(1, opts.workers);
    pool.heapMb = workerHeapMb(n);
    try {
      await Promise.all(Array.from({ length: n }, () => pool.addWorker()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private addWorker(): Promise<Slot> {
    const input: WorkerInput = { file: this.opts.file, text: this.opts.text, ...(this.opts.bug ? { bug: this.opts.bug } : {}) };
    const slot: Slot = { worker: startWorker(input, this.heapMb), inFlight: [], ready: false, dead: false };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      const lost = (err: Error) => {
        if (slot.dead || this.closed) return;
        slot.dead = true;
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        void slot.worker.terminate();
        if (!slot.ready) reject(err);
        else this.onFailure?.(slot, err);
      };
      slot.worker.on('message', (m: FromWorker) => {
        if (slot.dead) return;
        if (m.type === 'ready') {
          slot.ready = true;
          resolve(slot);
        } else if (m.type === 'fatal') lost(new SweepLoadError(m.message));
        else this.onMessage?.(slot, m);
      });
      slot.worker.on('error', (err) => lost(err));
      slot.worker.on('exit', (code) => lost(new Error(`worker thread exited with code ${code}`)));
    });
  }

  /**
   * Runs `seeds`, calling `onResult` for each as it finishes (in finishing order). Stops
   * handing out seeds when `signal` aborts and resolves at once; the seeds then in flight are
   * not reported. A worker that dies (out of memory, a native crash) reports the seed it was
   * running as a crash, hands its other seeds back to the queue, and is replaced.
   */
  run(seeds: Iterable<number>, onResult: (o: SeedOutcome) => void, signal?: AbortSignal): Promise<PoolRun> {
    // Seeds are drawn as workers need them (a sweep may have millions); a dead worker's
    // unstarted seeds come back through `again`.
    const source = seeds[Symbol.iterator]();
    const again: number[] = [];
    let exhausted = false;
    let inFlight = 0;
    const next = (): number | undefined => {
      if (again.length > 0) return again.shift();
      if (exhausted) return undefined;
      const n = source.next();
      if (n.done) exhausted = true;
      return n.done ? undefined : n.value;
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (r: PoolRun | Error) => {
        if (settled) return;
        settled = true;
        this.onMessage = undefined;
        this.onFailure = undefined;
        signal?.removeEventListener('abort', onAbort);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const onAbort = () => finish({ interrupted: true });
      if (signal?.aborted) return finish({ interrupted: true });
      if (this.slots.length === 0) return finish(new Error('the sweep has no worker left'));
      signal?.addEventListener('abort', onAbort);
      const feed = (slot: Slot) => {
        while (!settled && slot.inFlight.length < IN_FLIGHT_PER_WORKER) {
          const seed = next();
          if (seed === undefined) break;
          slot.inFlight.push(seed);
          inFlight++;
          slot.worker.postMessage({ type: 'run', seed } satisfies ToWorker);
        }
        if (inFlight === 0 && again.length === 0 && exhausted) finish({ interrupted: false });
      };
      const done = (o: SeedOutcome) => {
        inFlight--;
        onResult(o);
      };
      this.onMessage = (slot, m) => {
        if (m.type !== 'result' || settled) return;
        const i = slot.inFlight.indexOf(m.outcome.seed);
        if (i >= 0) slot.inFlight.splice(i, 1);
        done(m.outcome);
        feed(slot);
      };
      this.onFailure = (slot, err) => {
        const [running, ...waiting] = slot.inFlight.splice(0);
        inFlight -= waiting.length;
        again.unshift(...waiting);
        if (running !== undefined) {
          done({ seed: running, traceHash: '', violations: [], faults: [], wallMs: 0, crash: { message: `the worker thread running this seed failed: ${err.message}`, replay: replayCommand(this.opts.file, running, this.opts.bug) } });
        }
        if (settled) return;
        if (inFlight === 0 && again.length === 0 && exhausted) return finish({ interrupted: false });
        for (const other of this.slots) feed(other);
        this.addWorker().then(
          (fresh) => feed(fresh),
          (e: unknown) => {
            if (this.slots.length === 0) finish(e instanceof Error ? e : new Error(String(e)));
          },
        );
      };
      for (const slot of this.slots) feed(slot);
    });
  }

  /** Ends every worker (seeds still running are abandoned). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
