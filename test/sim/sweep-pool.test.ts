/**
 * The sweep's worker pool when a worker thread dies under it (out of memory, a native crash):
 * the seed it was running is reported as a crash with its replay command, its other seeds run
 * on the worker that replaces it, and the sweep finishes.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { SweepPool } from '../../sim/sweep.ts';
import type { SeedOutcome } from '../../sim/sweep-summary.ts';

const FILE = 'examples/statefulset-web.yaml';

describe('sweep pool', function () {
  this.timeout(60_000);

  it('a worker thread that dies mid-sweep: its running seed is a crash, the others run on its replacement', async () => {
    const pool = await SweepPool.start({ file: FILE, text: readFileSync(FILE, 'utf8'), workers: 1 });
    const results: SeedOutcome[] = [];
    try {
      const r = await pool.run([1, 2, 3, 4, 5], (o) => {
        results.push(o);
        // After the first seed, the thread running the next ones is killed from outside.
        if (results.length === 1) void (pool as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
      });
      expect(r.interrupted).to.equal(false);
    } finally {
      await pool.close();
    }
    expect(results.map((o) => o.seed).sort()).to.deep.equal([1, 2, 3, 4, 5]);
    const crashed = results.filter((o) => o.crash);
    expect(crashed).to.have.length(1);
    expect(crashed[0]!.seed).to.equal(2);
    expect(crashed[0]!.crash).to.deep.include({ replay: `ksim run ${FILE} --seed 2` });
    expect(crashed[0]!.crash!.message).to.match(/^the worker thread running this seed failed: worker thread exited with code 1/);
    expect(results.filter((o) => !o.crash).every((o) => /^[0-9a-f]{64}$/.test(o.traceHash))).to.equal(true);
  });
});
