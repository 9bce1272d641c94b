/**
 * `--bug` (SPEC §4): each failure mode, re-introduced into one component, is caught by the
 * invariant SPEC pairs it with on a scenario a user could have written, and the same seeds are
 * clean without it. The planted attach/detach mistakes are brought out only by their controller
 * perturbation: the bug without it is clean too. 20 seeds here; test/long/bugs.long.ts sweeps 200.
 * (sts-force-delete, informer-no-relist and kubelet-skip-mount have their tests in faults.test.ts
 * and storage tests; the long sweeps cover them too.)
 */
import { expect } from 'chai';
import { basename } from 'node:path';
import { BUGS, KNOWN_BUGS } from '../../sim/world.ts';
import { ksimInProcess } from '../helpers/cli.ts';
import { BUG_CASES, describeFailures, loadCase, runCase, withoutFaults } from '../helpers/bug-cases.ts';

/** Seeds swept here, with and without each bug. */
const SEEDS = 20;
/** Seeds that show a planted bug clean without its perturbation. */
const ALONE_SEEDS = 5;
const TESTED_ELSEWHERE = new Set(['sts-force-delete', 'informer-no-relist', 'kubelet-skip-mount']);

describe('--bug: each failure mode is caught by its invariant; the same seeds are clean without it', function () {
  this.timeout(180_000);

  it('ksim run --bug list prints every failure mode with the component, what it breaks and the invariants that catch it', async () => {
    const r = await ksimInProcess('run', '--bug', 'list');
    expect(r.code).to.equal(0);
    for (const [name, b] of Object.entries(BUGS)) {
      expect(r.out).to.include(`${name}  (${b.component})`);
      expect(r.out).to.include(`    breaks:    ${b.breaks}`);
      expect(r.out).to.include(`    caught by: ${b.caughtBy.join(' or ')}`);
    }
    expect(Object.keys(KNOWN_BUGS)).to.deep.equal(Object.keys(BUGS));
    expect(BUG_CASES.map((c) => c.bug).sort()).to.deep.equal(Object.keys(BUGS).sort());
    for (const c of BUG_CASES) expect(BUGS[c.bug]!.caughtBy, c.bug).to.include(c.invariant);
  });

  it('ksim run --bug list with a scenario, or a run without one, is a usage error (exit 2)', async () => {
    expect((await ksimInProcess('run', 'examples/statefulset-web.yaml', '--bug', 'list')).code).to.equal(2);
    const r = await ksimInProcess('run');
    expect(r.code).to.equal(2);
    expect(r.err).to.include("missing required argument 'scenario'");
  });

  for (const c of BUG_CASES.filter((x) => !TESTED_ELSEWHERE.has(x.bug))) {
    const what = c.perturbation ? `${c.bug} (brought out by ${c.perturbation})` : c.bug;
    it(`${what} is caught by ${c.invariant} within seeds 1-${SEEDS} of ${basename(c.file)}; those seeds are clean without it`, () => {
      const scenario = loadCase(c.file);
      let caught: number | undefined;
      for (let seed = 1; seed <= SEEDS && caught === undefined; seed++) {
        if (runCase(scenario, seed, c.bug).violations.some((v) => v.invariant === c.invariant)) caught = seed;
      }
      expect(caught, `no seed in 1-${SEEDS} broke ${c.invariant} with --bug ${c.bug}`).to.not.equal(undefined);
      const failures: string[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) failures.push(...describeFailures(seed, runCase(scenario, seed)));
      expect(failures).to.deep.equal([]);
    });
  }

  for (const c of BUG_CASES.filter((x) => x.perturbation)) {
    it(`${c.bug} without ${c.perturbation} breaks nothing (seeds 1-${ALONE_SEEDS}): only the perturbation brings it out`, () => {
      const scenario = withoutFaults(c.file);
      const failures: string[] = [];
      for (let seed = 1; seed <= ALONE_SEEDS; seed++) failures.push(...describeFailures(seed, runCase(scenario, seed, c.bug)));
      expect(failures).to.deep.equal([]);
    });
  }
});
