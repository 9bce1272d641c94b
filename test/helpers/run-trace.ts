/**
 * Child process for the determinism test: runs a scenario and prints its trace lines and
 * traceHash as JSON. With --leak it plants an ambient source of chance in one actor (kubelet
 * node-1's start delay drawn from Math.random), which the test must catch.
 */
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { Run } from '../../sim/run.ts';
import { Rng } from '../../src/rng.ts';

const [file, seed, leak] = process.argv.slice(2);
if (leak === '--leak') {
  const orig = Rng.prototype.int;
  Rng.prototype.int = function (this: Rng, lo: number, hi: number): number {
    if (this.seedKey.includes('/kubelet/')) return lo + Math.floor(Math.random() * (hi - lo + 1));
    return orig.call(this, lo, hi);
  };
}
const loaded = loadScenarioFile(file!);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const lines: string[] = [];
const report = new Run(loaded.scenario, { hasher: sha256Hasher, seed: Number(seed), traceSink: (e) => lines.push(`${e.atMs} ${e.kind} ${e.actor} ${e.detail}`) }).run();
process.stdout.write(JSON.stringify({ traceHash: report.traceHash, lines }));
