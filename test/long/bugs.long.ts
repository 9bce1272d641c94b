/**
 * `npm run test:long`: the 200-seed sweeps of test/helpers/bug-cases.ts on ksim's own worker
 * pool (sim/sweep.ts, one worker per core). For every `--bug`: seeds 1..200 with the bug until
 * the first that breaks its invariant (a sweep stops handing out seeds once one failed, and
 * finishes those it handed out, so the first failing seed is exact), and seeds 1..200 without the
 * bug, every one clean. For the planted bugs, also seeds 1..200 of the bug without its
 * perturbation, clean. A table of first failing seeds is printed at the end.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SweepPool, defaultWorkers } from '../../sim/sweep.ts';
import type { SeedOutcome } from '../../sim/sweep-summary.ts';
import { BUG_CASES, ROOT, type BugCase } from '../helpers/bug-cases.ts';

export const SEEDS = 200;

interface Sweep {
  /** Seeds run, and the failures by seed: `invariant: message` lines. */
  ran: number;
  failures: Map<number, string[]>;
}

/** Sweeps `text` over seeds 1..SEEDS; with `stopAt`, hands out no seed past the first whose violations include it. */
async function sweep(file: string, text: string, bug: string | undefined, stopAt?: string): Promise<Sweep> {
  const pool = await SweepPool.start({ file, text, workers: defaultWorkers(), ...(bug ? { bug } : {}) });
  const out: Sweep = { ran: 0, failures: new Map() };
  let stop = false;
  function* seeds(): Generator<number> {
    for (let s = 1; s <= SEEDS && !stop; s++) yield s;
  }
  try {
    await pool.run(seeds(), (o: SeedOutcome) => {
      out.ran++;
      const broken = [...(o.crash ? [`crash: ${o.crash.message}`] : []), ...o.violations.map((v) => `${v.invariant}: ${v.message}`)];
      if (broken.length > 0) out.failures.set(o.seed, broken);
      if (stopAt && o.violations.some((v) => v.invariant === stopAt)) stop = true;
    });
  } finally {
    await pool.close();
  }
  return out;
}

function firstFailing(s: Sweep, invariant?: string): number | undefined {
  const seeds = [...s.failures].filter(([, lines]) => !invariant || lines.some((l) => l.startsWith(`${invariant}: `))).map(([seed]) => seed);
  return seeds.length > 0 ? Math.min(...seeds) : undefined;
}

function listFailures(s: Sweep): string[] {
  return [...s.failures].sort(([a], [b]) => a - b).flatMap(([seed, lines]) => lines.map((l) => `seed ${seed}: ${l}`));
}

const table: string[] = [];

describe(`--bug sweeps over ${SEEDS} seeds (sim/sweep.ts worker pool)`, function () {
  this.timeout(0);

  after(() => {
    console.log(`\n  first failing seed with each bug (of ${SEEDS}), and the sweeps without it:`);
    for (const line of table) console.log(`    ${line}`);
  });

  for (const c of BUG_CASES) {
    const text = readFileSync(`${ROOT}${c.file}`, 'utf8');
    it(`${c.bug}: some seed of 1-${SEEDS} of ${c.file} breaks ${c.invariant}; none does without the bug${c.perturbation ? `, nor with it but without ${c.perturbation}` : ''}`, async () => {
      const withBug = await sweep(c.file, text, c.bug, c.invariant);
      const first = firstFailing(withBug, c.invariant);
      const without = await sweep(c.file, text, undefined);
      const alone = c.perturbation ? await sweep(c.file, withoutPerturbation(c, text), c.bug) : undefined;
      table.push(
        `${c.bug.padEnd(32)} ${c.invariant.padEnd(20)} first failing seed ${first ?? 'none'} (${withBug.ran} run); without the bug ${without.failures.size}/${without.ran} failing` +
          (alone ? `; without ${c.perturbation} ${alone.failures.size}/${alone.ran} failing` : ''),
      );
      expect(first, `no seed broke ${c.invariant} with --bug ${c.bug}`).to.not.equal(undefined);
      expect(listFailures(without), 'without the bug').to.deep.equal([]);
      if (alone) expect(listFailures(alone), `without ${c.perturbation}`).to.deep.equal([]);
    });
  }
});

/** The scenario text without its `faults:` block (the perturbation is the last block of the planted cases' files). */
function withoutPerturbation(c: BugCase, text: string): string {
  const at = text.indexOf('\n  faults:\n');
  if (at < 0) throw new Error(`${c.file} has no faults block`);
  return text.slice(0, at + 1);
}
