/**
 * One seed makes everything, and each component draws from its own named stream: a component
 * that draws one more number leaves every other component's stream, and the network's, as it
 * was (SPEC §1, STYLE "Determinism"). The whole demo is run twice in this process, the second
 * time with one kubelet drawing an extra number at its first draw; every other stream must then
 * yield the same values, in the same order, as far as both runs drew from it.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/rng.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { Run } from '../../sim/run.ts';

const DEMO = fileURLToPath(new URL('../../examples/statefulset-storage.yaml', import.meta.url));
const METHODS = ['next', 'int', 'chance', 'pick', 'bytes'] as const;

/** Runs the demo and returns every stream's raw draws, keyed by its seed key. */
function draws(perturbed?: string): { streams: Map<string, number[]>; traceHash: string } {
  const streams = new Map<string, number[]>();
  const proto = Rng.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = METHODS.map((m) => proto[m]!);
  /** The stream's state, seen from outside (its generator is private to Rng). */
  type Tapped = { seedKey: string; prng: () => number; tapped?: boolean };
  const tap = (r: Tapped): void => {
    if (r.tapped) return;
    r.tapped = true;
    let key = r.seedKey;
    for (let n = 2; streams.has(key); n++) key = `${r.seedKey}#${n}`;
    const log: number[] = [];
    streams.set(key, log);
    const inner = r.prng;
    let first = true;
    r.prng = () => {
      // The planted extra draw: that stream's component draws one number more, once.
      if (first && r.seedKey.endsWith(`/${perturbed}`)) inner();
      first = false;
      const v = inner();
      log.push(v);
      return v;
    };
  };
  METHODS.forEach((m, i) => {
    proto[m] = function (this: Tapped, ...args: unknown[]) {
      tap(this);
      return saved[i]!.apply(this, args);
    };
  });
  try {
    const loaded = loadScenarioFile(DEMO);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const report = new Run(loaded.scenario, { hasher: sha256Hasher, seed: 5 }).run();
    return { streams, traceHash: report.traceHash };
  } finally {
    METHODS.forEach((m, i) => (proto[m] = saved[i]!));
  }
}

describe('seeded streams in a running world', () => {
  it('a kubelet drawing one number more shifts no other component\'s stream, nor the network\'s', () => {
    const a = draws();
    const b = draws('kubelet/node-1');
    expect(b.traceHash, 'the extra draw changed nothing: the test would prove nothing').to.not.equal(a.traceHash);
    const network = [...a.streams.keys()].find((k) => k.endsWith('/network'));
    expect(network, 'the network draws latencies from its own stream').to.not.equal(undefined);
    let compared = 0;
    for (const [key, valuesA] of a.streams) {
      if (key.endsWith('/kubelet/node-1')) continue;
      const valuesB = b.streams.get(key) ?? [];
      const n = Math.min(valuesA.length, valuesB.length);
      expect(valuesB.slice(0, n), `stream ${key}`).to.deep.equal(valuesA.slice(0, n));
      if (n > 0) compared++;
    }
    expect(compared).to.be.greaterThan(5);
    expect(b.streams.get(network!)!.length).to.be.greaterThan(100);
  });
});
