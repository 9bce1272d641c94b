/**
 * `ksim shrink` as a user runs it: a failing seed becomes a small scenario file that `ksim run`
 * replays; a seed that does not fail, and usage mistakes, say so with their exit codes.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ksimInProcess } from '../helpers/cli.ts';
import { BENCH_SHRINK, defaultOut } from '../../sim/cli/shrink.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHAOS = `${ROOT}examples/chaos-rbd-sts.yaml`;

describe('ksim shrink', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'ksim-shrink-'));

  it(`shrinks the seed bench times (${BENCH_SHRINK.scenario} --seed ${BENCH_SHRINK.seed} --bug ${BENCH_SHRINK.bug}), and ksim run of the file it writes breaks the same invariant`, async () => {
    const out = join(dir, 'shrunk.yaml');
    const r = await ksimInProcess('shrink', `${ROOT}${BENCH_SHRINK.scenario}`, '--seed', String(BENCH_SHRINK.seed), '--bug', BENCH_SHRINK.bug, '--out', out);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/breaks converges \(at \d+m[\d.]+s: statefulset default\/web: readyReplicas 2\/3/);
    expect(r.out).to.match(/^shrunk 5 faults to [12] in \d+ runs \([\d.]+ s\):$/m);
    expect(r.out).to.include(`replay: ksim run ${out} --seed ${BENCH_SHRINK.seed} --bug ${BENCH_SHRINK.bug}`);
    const yaml = readFileSync(out, 'utf8');
    expect(yaml).to.match(/^# Shrunk by `ksim shrink chaos-rbd-sts.yaml --seed 18 --bug informer-no-relist`: 5 faults -> [12] in \d+ runs;/);
    expect(yaml).to.not.include('chaos:');
    const replay = await ksimInProcess('run', out, '--seed', String(BENCH_SHRINK.seed), '--bug', BENCH_SHRINK.bug, '-o', 'json');
    expect(replay.code, replay.err).to.equal(1);
    expect(JSON.parse(replay.out).violations.map((v: { invariant: string }) => v.invariant)).to.include('converges');
    // spec.seed is the seed: the file alone replays it.
    const alone = await ksimInProcess('run', out, '--bug', BENCH_SHRINK.bug, '-o', 'json');
    expect(JSON.parse(alone.out).traceHash).to.equal(JSON.parse(replay.out).traceHash);
  });

  it('a seed that breaks no invariant: exit 1, "nothing to shrink", nothing written', async () => {
    const out = join(dir, 'none.yaml');
    const r = await ksimInProcess('shrink', `${ROOT}examples/statefulset-web.yaml`, '--seed', '3', '--out', out);
    expect(r.code).to.equal(1);
    expect(r.err).to.include('seed 3 of');
    expect(r.err).to.include('breaks no invariant: nothing to shrink');
    expect(existsSync(out)).to.equal(false);
  });

  const usage: [string, string[], RegExp][] = [
    ['a seed that is not a number', ['--seed', 'x'], /--seed: "x" is not a non-negative integer/],
    ['--out naming a directory', ['--out', tmpdir()], /--out: cannot write .*: is a directory/],
    ['an unknown --bug', ['--bug', 'nope'], /--bug: unknown failure mode "nope"/],
    ['--out in a directory that does not exist', ['--out', '/nonexistent-dir/x.yaml'], /--out: cannot write \/nonexistent-dir\/x.yaml: no such directory/],
    ['--out naming the scenario itself', ['--out', CHAOS], /--out: .* is the scenario itself/],
    ['--max-runs that is not a number', ['--max-runs', '-1'], /--max-runs: "-1" is not a non-negative integer/],
  ];
  for (const [name, flags, message] of usage) {
    it(`usage: ${name} exits 2 and runs nothing`, async () => {
      const r = await ksimInProcess('shrink', CHAOS, ...flags);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(message);
      expect(r.out).to.equal('');
    });
  }

  it('usage: a scenario that does not load exits 2 with its file:line:col problems', async () => {
    const r = await ksimInProcess('shrink', `${ROOT}test/fixtures/scenarios/missing.yaml`);
    expect(r.code).to.equal(2);
    expect(r.err).to.include('missing.yaml: no such file');
  });

  it('the default --out is <scenario>-seed<N>-shrunk.yaml in the current directory', () => {
    expect(defaultOut('examples/chaos-rbd-sts.yaml', 18)).to.equal('chaos-rbd-sts-seed18-shrunk.yaml');
  });
});
