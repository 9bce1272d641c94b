// Property tests with ksim in mocha (docs/property-tests.md shows and explains this file).
//   npx mocha examples/property.test.ts                  # 500 runs of the first property
//   KSIM_SEEDS=20 npx mocha examples/property.test.ts    # fewer: npm test runs it so
import { expect } from 'chai';
import { faultSchedule, forAllSeeds, PropertyFailure, type Simulation } from 'ksim';

const SEEDS = Number(process.env['KSIM_SEEDS'] ?? 500);

/** The property: the run breaks none of these invariants (their names: docs/invariants.md). */
const keeps = (...invariants: string[]) => (sim: Simulation) => {
  const broken = sim.runScenario().violations.filter((v) => invariants.includes(v.invariant));
  if (broken.length > 0) expect.fail(broken.map((v) => `${v.invariant}: ${v.message}`).join('; '));
};

describe('a StatefulSet on Ceph RBD volumes under node crashes and partitions', function () {
  this.timeout(0);

  it(`no ReadWriteOnce volume is ever attached to two nodes (${SEEDS} seeds)`, () => {
    forAllSeeds('examples/chaos-rbd-sts.yaml', {
      seeds: SEEDS,
      // Each run: its own seed and up to 4 crashes and partitions drawn by fast-check (in place
      // of the scenario's chaos), within chaos's budget.
      faults: (scenario) => faultSchedule(scenario, { kinds: ['crash', 'partition'], maxFaults: 4 }),
    }, keeps('rwo-single-node'));
  });
});

describe('a StatefulSet controller that does not wait for an unreachable node (--bug sts-force-delete)', function () {
  this.timeout(0);

  it('is caught: two pods with one identity, with the seed, the replay and the shrunk faults', () => {
    let failure: PropertyFailure | undefined;
    try {
      forAllSeeds('examples/node-partition.yaml', { seeds: 5, bug: 'sts-force-delete' }, keeps('sts-identity-unique'));
    } catch (e) {
      failure = e as PropertyFailure;
    }
    expect(failure).to.be.instanceOf(PropertyFailure);
    expect(failure!.seed).to.equal(1);
    expect(failure!.faults).to.have.length(1);
    expect(failure!.replay).to.match(/^ksim run .*node-partition-seed1-shrunk\.yaml --seed 1 --bug sts-force-delete$/);
  });
});
