/**
 * Shrinking (sim/shrink.ts) as a user sees it: a failing list of faults comes back as the few
 * that matter, each as small as it can be while the run still fails, and the scenario written
 * for it replays the failure. The algorithm's cases with a known answer run against a predicate
 * (no simulation); the rest against real runs.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Fault } from '../../src/scenario/types.ts';
import { loadScenarioText } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { faultYaml } from '../../sim/fault-forms.ts';
import { asScripted, shrinkFaults, shrunkScenarioYaml, showsFailure, withFaults } from '../../sim/shrink.ts';
import { Run } from '../../sim/run.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const POS = { file: 't', line: 0, col: 0 };
const m = (min: number) => min * 60_000;

const crash = (node: string, atMin: number, forMin: number): Fault => ({ kind: 'crash', host: `node/${node}`, atMs: m(atMin), forMs: m(forMin), index: 0, pos: POS });
const loss = (rate: number, atMin: number, forMin: number): Fault => ({ kind: 'messageLoss', rate, between: undefined, atMs: m(atMin), forMs: m(forMin), index: 0, pos: POS });
const cut = (groups: string[][], atMin: number, forMin: number): Fault => ({ kind: 'partition', groups, oneWay: false, atMs: m(atMin), forMs: m(forMin), index: 0, pos: POS });
const skew = (node: string, atMin: number, forMin: number): Fault => ({ kind: 'clockSkew', node: `node/${node}`, byMs: -90_000, atMs: m(atMin), forMs: m(forMin), index: 0, pos: POS });
const dns = (atMin: number): Fault => ({ kind: 'dnsFailure', mode: 'SERVFAIL', rate: 1, atMs: m(atMin), forMs: m(1), index: 0, pos: POS });
const lines = (faults: readonly Fault[]) => faults.map(faultYaml);

const FIVE = [loss(0.05, 1, 3), crash('node-2', 4, 10), skew('node-1', 2, 5), dns(6), cut([['node/node-3'], ['apiserver']], 8, 2)];
const isCrashOfNode2 = (f: Fault) => f.kind === 'crash' && f.host === 'node/node-2';

describe('shrink: the algorithm (cases with a known answer)', () => {
  const cases: { name: string; start: Fault[]; fails: (fs: Fault[]) => boolean; expect: (got: Fault[]) => void }[] = [
    {
      name: 'a schedule with one guilty fault among 5 shrinks to that one',
      start: FIVE,
      fails: (fs) => fs.some(isCrashOfNode2),
      expect: (got) => expect(got.map((f) => f.kind)).to.deep.equal(['crash']),
    },
    {
      name: 'a run that needs two faults keeps both',
      start: FIVE,
      fails: (fs) => fs.some(isCrashOfNode2) && fs.some((f) => f.kind === 'dnsFailure'),
      expect: (got) => expect(got.map((f) => f.kind).sort()).to.deep.equal(['crash', 'dnsFailure']),
    },
    {
      name: 'a fault\'s `for` is shortened as long as the run still fails (here: it must last 100 s)',
      start: [crash('node-2', 4, 10)],
      fails: (fs) => fs.some((f) => isCrashOfNode2(f) && f.forMs! >= 100_000),
      expect: (got) => expect(got[0]!.forMs).to.be.within(100_000, 200_000),
    },
    {
      name: 'a fault\'s `at` moves later, keeping its heal, as long as it covers the instant that matters (10m)',
      start: [crash('node-2', 1, 12)],
      fails: (fs) => fs.some((f) => isCrashOfNode2(f) && f.atMs <= m(10) && f.atMs + f.forMs! > m(10)),
      expect: (got) => expect(got[0]!.atMs).to.be.within(m(6), m(10)),
    },
    {
      name: 'a partition is narrowed to the hosts that matter, one way',
      start: [cut([['node/node-2', 'node/node-3'], ['apiserver', 'kube-controller-manager']], 2, 8)],
      fails: (fs) => fs.some((f) => f.kind === 'partition' && f.groups[0]!.includes('node/node-2') && f.groups.some((g) => g.includes('apiserver'))),
      expect: (got) => {
        const p = got[0] as Extract<Fault, { kind: 'partition' }>;
        expect(p.groups).to.deep.equal([['node/node-2'], ['apiserver']]);
        expect(p.oneWay).to.equal(true);
      },
    },
    {
      name: 'a message loss rate is lowered as long as the run still fails (here: at 10 % or more)',
      start: [loss(0.8, 1, 4)],
      fails: (fs) => fs.some((f) => f.kind === 'messageLoss' && f.rate >= 0.1),
      expect: (got) => expect((got[0] as Extract<Fault, { kind: 'messageLoss' }>).rate).to.be.within(0.1, 0.2),
    },
    {
      name: 'a run that fails without any fault shrinks to none',
      start: FIVE,
      fails: () => true,
      expect: (got) => expect(got).to.deep.equal([]),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = shrinkFaults(c.start, c.fails, { durationMs: m(30) });
      expect(c.fails(r.faults), 'the shrunk list still fails').to.equal(true);
      expect(r.exhausted).to.equal(false);
      c.expect(r.faults);
    });
  }

  it('stops after maxRuns with the smallest failing list found so far', () => {
    let calls = 0;
    const r = shrinkFaults(FIVE, (fs) => (calls++, fs.some(isCrashOfNode2)), { durationMs: m(30), maxRuns: 3 });
    expect(calls).to.equal(3);
    expect(r).to.include({ runs: 3, exhausted: true });
    expect(r.faults.some(isCrashOfNode2)).to.equal(true);
    expect(r.faults.length).to.be.below(FIVE.length);
  });

  it('a list already tried is not run again', () => {
    const seen = new Set<string>();
    let repeats = 0;
    shrinkFaults(FIVE, (fs) => {
      const k = JSON.stringify(lines(fs));
      if (seen.has(k)) repeats++;
      seen.add(k);
      return fs.some(isCrashOfNode2);
    }, { durationMs: m(30) });
    expect(repeats).to.equal(0);
  });
});

describe('shrink: real runs', () => {
  const partitionText = readFileSync(`${EXAMPLES}node-partition.yaml`, 'utf8');
  // With seed 1, web-0 runs on node-2: a partition of node-2 longer than eviction (40 s + 300 s)
  // lets --bug sts-force-delete start a second web-0 while the first still runs.
  const scenario = (() => {
    const r = loadScenarioText(partitionText, 'node-partition.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.scenario;
  })();
  const guilty = cut([['node/node-2'], ['apiserver', 'kube-controller-manager', 'kube-scheduler', 'cluster-dns']], 2, 15);
  const harmless = [loss(0.02, 1, 2), skew('node-1', 3, 4), dns(5), cut([['node/node-1'], ['apiserver']], 14, 0.3)];
  const runWith = (faults: readonly Fault[]) => new Run(withFaults(scenario, faults), { hasher: sha256Hasher, seed: 1, bug: 'sts-force-delete' }).run();

  it('one guilty partition among 5 faults shrinks to that partition, shorter and narrower, and still breaks sts-identity-unique', function () {
    this.timeout(120_000);
    const failure = { invariant: 'sts-identity-unique', atMs: 0, message: '' };
    expect(showsFailure(runWith([...harmless, guilty]), failure), 'the test would prove nothing').to.equal(true);
    const r = shrinkFaults([...harmless, guilty], (fs) => showsFailure(runWith(fs), failure), { durationMs: scenario.durationMs });
    expect(r.faults).to.have.length(1);
    const p = r.faults[0] as Extract<Fault, { kind: 'partition' }>;
    expect(p.kind).to.equal('partition');
    expect(p.groups[0]).to.deep.equal(['node/node-2']);
    expect(p.forMs).to.be.below(guilty.forMs!);
    // Shorter than the eviction (NotReady 30-40 s in, then tolerationSeconds 300 s) it cannot fail.
    expect(p.forMs).to.be.above(300_000);
    expect(showsFailure(runWith(r.faults), failure)).to.equal(true);
  });
});

describe('shrink: the scenario file it writes', () => {
  const text = readFileSync(`${EXAMPLES}chaos-rbd-sts.yaml`, 'utf8');
  const faults = asScripted([cut([['node/node-2'], ['apiserver']], 8, 2), crash('node-1', 4, 2)]);

  it('keeps every other document byte for byte, drops chaos, sets the seed and lists the faults as users write them', () => {
    const out = shrunkScenarioYaml(text, { name: 'chaos-rbd-sts', faults, seed: 18, header: ['shrunk from seed 18'] });
    expect(out.startsWith('# shrunk from seed 18\n')).to.equal(true);
    const scenarioAt = text.indexOf('---\napiVersion: ksim/v1');
    expect(out).to.include(text.slice(0, scenarioAt));
    expect(out).to.not.include('chaos:');
    expect(out).to.include('  seed: 18\n');
    expect(out).to.include('  faults:\n    - {at: 4m0s, crash: node/node-1, for: 2m0s}\n    - {at: 8m0s, partition: [[node/node-2], [apiserver]], for: 2m0s}\n');
  });

  it('a file without a Scenario document gets one, named as the run was', () => {
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n';
    const out = shrunkScenarioYaml(pod, { name: 'pod', faults, seed: 3 });
    const r = loadScenarioText(out, 'x.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.scenario).to.include({ name: 'pod', seed: 3 });
    expect(lines(r.scenario.faults)).to.deep.equal(lines(faults));
    expect(out.startsWith(pod)).to.equal(true);
  });

  it('an empty list leaves no faults and no chaos', () => {
    const r = loadScenarioText(shrunkScenarioYaml(text, { name: 'chaos-rbd-sts', faults: [], seed: 2 }), 'x.yaml');
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.scenario.faults).to.deep.equal([]);
    expect(r.scenario.chaos).to.equal(undefined);
  });
});
