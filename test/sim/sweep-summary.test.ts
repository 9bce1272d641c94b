/**
 * What a sweep reports, independent of workers and shards: the seeds a shard runs, the summary
 * per invariant, crashes apart, exit codes; and one seed's run in a worker.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { exitCodeOf, parseShard, renderSummary, replayCommand, seedCount, seedsOf, summarize, type SeedOutcome, type SweepIdentity } from '../../sim/sweep-summary.ts';
import { runSeed } from '../../sim/sweep-worker.ts';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import { Run } from '../../sim/run.ts';
import { sha256Hasher } from '../../src/node-hash.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const ID: SweepIdentity = { scenario: 'web', file: 'examples/web.yaml', range: { start: 1, seeds: 10 } };

function outcome(seed: number, o: Partial<SeedOutcome> = {}): SeedOutcome {
  return { seed, traceHash: `hash-${seed}`, violations: [], faults: [], wallMs: 10, ...o };
}

const broke = (invariant: string, atMs = 1000) => ({ violations: [{ invariant, atMs, message: `${invariant} broken`, objects: [] }] });

describe('sweep summary', () => {
  const shards: [string, { start: number; seeds: number; shard?: { index: number; count: number } }, number[]][] = [
    ['the whole range without a shard', { start: 1, seeds: 5 }, [1, 2, 3, 4, 5]],
    ['shard 0/3 of seeds 1..10: offsets 0, 3, 6, 9', { start: 1, seeds: 10, shard: { index: 0, count: 3 } }, [1, 4, 7, 10]],
    ['shard 2/3 of seeds 1..10: offsets 2, 5, 8', { start: 1, seeds: 10, shard: { index: 2, count: 3 } }, [3, 6, 9]],
    ['shard 1/4 from seed 100', { start: 100, seeds: 8, shard: { index: 1, count: 4 } }, [101, 105]],
    ['a shard beyond the seeds runs none', { start: 1, seeds: 2, shard: { index: 3, count: 4 } }, []],
  ];
  for (const [name, range, seeds] of shards) {
    it(`seeds of ${name}`, () => {
      expect([...seedsOf(range)]).to.deep.equal(seeds);
      expect(seedCount(range)).to.equal(seeds.length);
    });
  }

  it('the N shards of a range are disjoint and together are the range', () => {
    for (const count of [1, 2, 3, 7, 16]) {
      const all = Array.from({ length: count }, (_, index) => [...seedsOf({ start: 5, seeds: 50, shard: { index, count } })]).flat().sort((a, b) => a - b);
      expect(all).to.deep.equal([...seedsOf({ start: 5, seeds: 50 })]);
    }
  });

  const shardText: [string, string | { index: number; count: number }][] = [
    ['0/4', { index: 0, count: 4 }],
    ['3/4', { index: 3, count: 4 }],
    ['4/4', '"4/4": I must be less than N (from 0 to 3)'],
    ['0/0', '"0/0": N must be at least 1'],
    ['-1/4', '"-1/4" is not I/N (I from 0 to N-1, e.g. 0/4)'],
    ['1', '"1" is not I/N (I from 0 to N-1, e.g. 0/4)'],
  ];
  for (const [text, want] of shardText) it(`--shard ${text}`, () => expect(parseShard(text)).to.deep.equal(want));

  it('does not depend on the order the seeds finished in (the workers)', () => {
    const results = [outcome(3, broke('rwo-single-node')), outcome(1), outcome(2, broke('no-data-loss')), outcome(4)];
    expect(summarize(ID, results)).to.deep.equal(summarize(ID, [...results].reverse()));
    // The digest changes with any seed's trace hash.
    expect(summarize(ID, results).digest).to.not.equal(summarize(ID, [...results.filter((r) => r.seed !== 4), outcome(4, { traceHash: 'another' })]).digest);
  });

  it('lists per invariant how many seeds broke it and the lowest failing seeds with their replay commands', () => {
    const results = [9, 2, 7, 4, 8, 6, 1].map((s) => outcome(s, broke('rwo-single-node', s * 1000)));
    results.push(outcome(3, { violations: [...broke('no-data-loss').violations, ...broke('rwo-single-node', 5).violations, ...broke('rwo-single-node', 6).violations] }));
    const s = summarize({ ...ID, bug: 'kubelet-skip-mount' }, results);
    expect(s).to.include({ passed: 0, failed: 8, crashed: 0 });
    expect(s.invariants.map((i) => [i.invariant, i.seeds])).to.deep.equal([
      ['no-data-loss', 1],
      ['rwo-single-node', 8],
    ]);
    const rwo = s.invariants[1]!;
    expect(rwo.first.map((f) => f.seed)).to.deep.equal([1, 2, 3, 4, 6]);
    expect(rwo.first[2]).to.deep.equal({ seed: 3, atMs: 5, message: 'rwo-single-node broken', replay: 'ksim run examples/web.yaml --seed 3 --bug kubelet-skip-mount' });
    expect(exitCodeOf(s)).to.equal(1);
  });

  it('lists seeds where ksim itself failed apart from the failing ones, and exits 3', () => {
    const crash = { message: 'actor kubelet/node-1 failed at 5000ms (seed 2): boom', replay: replayCommand('examples/web.yaml', 2) };
    const s = summarize(ID, [outcome(1, broke('ordered-ready')), outcome(2, { crash }), outcome(3)]);
    expect(s).to.include({ passed: 1, failed: 1, crashed: 1 });
    expect(s.invariants.map((i) => i.invariant)).to.deep.equal(['ordered-ready']);
    expect(s.crashes).to.deep.equal([{ seed: 2, ...crash }]);
    expect(exitCodeOf(s)).to.equal(3);
    const text = renderSummary(s, 'sweep');
    expect(text).to.include('ksim itself failed on 1 seed (exit 3)');
    expect(text).to.include('seed 2: actor kubelet/node-1 failed at 5000ms (seed 2): boom');
    expect(text).to.include('replay: ksim run examples/web.yaml --seed 2');
  });

  it('counts the faults the seeds injected, by kind', () => {
    const s = summarize(ID, [outcome(1, { faults: [{ at: '4m', crash: 'node/node-1', for: '2m' }] }), outcome(2, { faults: [{ at: '1m', partition: [['node-1'], ['apiserver']] }, { at: '2m', crash: 'node/node-2' }] })]);
    expect(s.faults).to.deep.equal({ total: 3, byKind: { crash: 2, partition: 1 } });
    expect(renderSummary(s, 'sweep')).to.include('faults injected: 3 (crash 2, partition 1)');
  });

  it('replay commands quote a file name the shell would split', () => {
    expect(replayCommand('my scenarios/web.yaml', 7)).to.equal(`ksim run 'my scenarios/web.yaml' --seed 7`);
    expect(replayCommand('examples/web.yaml', 7, 'kubelet-skip-mount')).to.equal('ksim run examples/web.yaml --seed 7 --bug kubelet-skip-mount');
  });
});

describe('a sweep worker runs one seed', () => {
  const loaded = loadScenarioFile(`${ROOT}examples/statefulset-web.yaml`);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const scenario = loaded.scenario;

  it('as `ksim run` runs it: the same trace hash and violations', () => {
    const o = runSeed(scenario, 5, undefined, () => 0);
    const report = new Run(scenario, { hasher: sha256Hasher, seed: 5 }).run();
    expect(o).to.deep.equal({ seed: 5, traceHash: report.traceHash, violations: report.violations, faults: [], wallMs: 0 });
  });

  it('reports an exception out of the run as a crash with its replay command, never a throw', () => {
    // Two nodes with one name: the bus refuses the second kubelet's address (an assertion).
    const broken = { ...scenario, nodes: ['node-1', 'node-1'] };
    const o = runSeed(broken, 9, 'kubelet-skip-mount', () => 0);
    expect(o.crash).to.include({ replay: `ksim run ${scenario.file} --seed 9 --bug kubelet-skip-mount` });
    expect(o.crash!.message).to.include('registered twice');
    expect(o.violations).to.deep.equal([]);
  });
});
