/**
 * The user guide in docs/ (and the README) is what a user who only has the repository reads:
 * its links lead somewhere, it never points outside the repository, every example it names
 * exists and runs (examples.test.ts runs every YAML example; the library example runs here), and
 * the lists a user looks things up in (actions, timings, invariants, warnings, --bug names) name
 * everything ksim has.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION_VERBS } from '../src/scenario/actions.ts';
import { INVARIANTS, TIMING_DEFAULTS_MS } from '../src/scenario/load.ts';
import { KNOWN_BUGS } from '../sim/world.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].sort();
/** Pages other engineers write; links to them are checked once they exist. */
const OWNED_ELSEWHERE = new Set(['docs/input.md', 'docs/faults.md', 'docs/chaos-tools.md']);
const text = (page: string) => readFileSync(join(ROOT, page), 'utf8');

describe('the user guide', () => {
  for (const page of PAGES) {
    it(`${page}: every link to a file of the repository leads to one, and nothing points outside it`, () => {
      const body = text(page);
      expect(body).to.not.include('../shared');
      for (const m of body.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const file = normalize(join(dirname(page), target));
        if (OWNED_ELSEWHERE.has(file) && !existsSync(join(ROOT, file))) continue;
        expect(existsSync(join(ROOT, file)), `${page} links to ${target}`).to.equal(true);
      }
    });
  }

  for (const page of ['docs/scenario.md', 'docs/cli.md', 'docs/report.md', 'docs/invariants.md', 'docs/library.md']) {
    it(`${page} names a runnable example, and every example it names exists`, () => {
      const named = [...text(page).matchAll(/examples\/([\w.-]+\.(?:yaml|ts))/g)].map((m) => m[1]!);
      expect(named, `${page} names no example`).to.not.be.empty;
      for (const f of named) expect(existsSync(join(ROOT, 'examples', f)), `${page}: examples/${f}`).to.equal(true);
    });
  }

  it('the library example runs and reads its data back through the recreated pod', function () {
    this.timeout(60_000);
    const out = execFileSync(process.execPath, ['--conditions=ksim-source', '--import', 'tsx', 'examples/library.ts'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).to.include('read through the new web-0: "written from a script"');
    expect(out).to.include('violations: 0');
  });

  it('scenario.md gives the form of every action and every timing', () => {
    const body = text('docs/scenario.md');
    const actions = body.slice(body.indexOf('| action | form | result |'), body.indexOf('### `expect`'));
    for (const verb of ACTION_VERBS) expect(actions, verb).to.match(new RegExp(`^\\| [^|]*\`${verb}\``, 'm'));
    for (const name of Object.keys(TIMING_DEFAULTS_MS)) expect(body, name).to.include(`| \`${name}\` |`);
  });

  it('invariants.md describes every invariant, every warning and every --bug failure mode', () => {
    const body = text('docs/invariants.md');
    for (const name of INVARIANTS) expect(body, name).to.include(`| \`${name}\` |`);
    for (const name of ['rwo-not-enforced', 'hostpath-elsewhere', 'rwx-hostpath-split', 'manifest-rejected', 'expected-data-loss']) expect(body, name).to.include(`| \`${name}\` |`);
    const bugs = [...body.slice(body.indexOf('## `--bug` failure modes')).matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!);
    expect(bugs.sort()).to.deep.equal(Object.keys(KNOWN_BUGS).sort());
  });
});
