/**
 * `ksim sweep` and `ksim merge` as a user runs them: the failing seeds with their replay
 * commands, Ctrl-C keeping what was done, usage errors, merging partial or bad input. (The
 * shards of the shipped Indexed Job merged into what one sweep prints, with 1 and 2 workers:
 * sweep-job.test.ts.) Seed counts are small: each seed is a whole simulated run.
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ksimInProcess } from '../helpers/cli.ts';
import { NGINX_SERVICE, webStatefulSet } from '../helpers/scenarios.ts';
import { main } from '../../sim/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Json = Record<string, any>;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ksim-sweep-'));
}

function jsonl(file: string): Json[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}





describe('ksim sweep and merge', function () {
  this.timeout(180_000);

  it('a failing seed makes the sweep exit 1 and is listed under its invariant with its replay command', async () => {
    const r = await ksimInProcess('sweep', 'examples/statefulset-storage.yaml', '--seeds', '2', '--workers', '1', '--bug', 'kubelet-skip-mount');
    expect(r.code, r.err).to.equal(1);
    expect(r.out).to.include('2 seeds broke an invariant');
    expect(r.out).to.include('no-data-loss: 2 seeds');
    expect(r.out).to.include('replay: ksim run examples/statefulset-storage.yaml --seed 1 --bug kubelet-skip-mount');
    expect(r.out).to.include('replay: ksim run examples/statefulset-storage.yaml --seed 2 --bug kubelet-skip-mount');
  });

  it('each seed lists the faults it injected, in the form spec.faults takes, and the summary counts them by kind', async () => {
    const dir = tmp();
    const scenario = join(dir, 'faults.yaml');
    writeFileSync(scenario, `${NGINX_SERVICE}---\n${webStatefulSet({ replicas: 2 })}---
apiVersion: ksim/v1
kind: Scenario
metadata: {name: faults}
spec:
  duration: 4m
  faults:
    - {at: 30s, partition: [[node-2], [apiserver]], for: 20s}
    - {at: 1m, crash: node/node-1, for: 2m}
`);
    const r = await ksimInProcess('sweep', scenario, '--seeds', '2', '--workers', '1', '--jsonl', join(dir, 'seeds.jsonl'), '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    expect(JSON.parse(r.out).faults).to.deep.equal({ total: 4, byKind: { crash: 2, partition: 2 } });
    for (const l of jsonl(join(dir, 'seeds.jsonl'))) {
      expect(l.faults).to.deep.equal([
        { at: '30s', partition: [['node/node-2'], ['apiserver']], for: '20s' },
        { at: '1m0s', crash: 'node/node-1', for: '2m0s' },
      ]);
    }
  });

  it('Ctrl-C stops the sweep with a summary of the seeds done, each of them in the JSONL file', async () => {
    const file = join(tmp(), 'seeds.jsonl');
    const child = spawn(process.execPath, ['bin/ksim.js', 'sweep', 'examples/statefulset-web.yaml', '--seeds', '100000', '--workers', '1', '--jsonl', file, '-o', 'json'], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (!existsSync(file) || jsonl(file).length < 2)) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).to.equal(130);
    const summary = JSON.parse(out);
    const lines = jsonl(file);
    expect(summary).to.include({ kind: 'SweepSummary', interrupted: true });
    expect(summary.seeds.expected).to.equal(100000);
    expect(summary.seeds.done).to.be.at.least(2).and.equal(lines.length);
    expect(summary.passed).to.equal(lines.length);
  });

  it('on a terminal a progress bar on stderr shows seeds done, failing so far, seeds/s and ETA; stdout holds only the JSON', async () => {
    let drawn = '';
    let out = '';
    const terminal = { isTTY: true, columns: 120, write: (s: string) => ((drawn += s), true) } as unknown as NodeJS.WriteStream;
    const code = await main(['sweep', 'examples/statefulset-storage.yaml', '--seeds', '2', '--workers', '1', '--bug', 'kubelet-skip-mount', '-o', 'json'], { out: (s) => (out += s), err: () => {}, wallMs: () => performance.now(), terminal });
    expect(code).to.equal(1);
    expect(JSON.parse(out)).to.include({ kind: 'SweepSummary', failed: 2 });
    expect(drawn).to.match(/seeds \S+ \d\/2 \| failing \d \| [\d.]+ seeds\/s \| ETA /);
  });

  it('compiled to JavaScript, the sweep starts its workers from sweep-worker.js without tsx and gets the same hashes', async () => {
    const out = tmp();
    // The command line and the worker, compiled as a release would ship them (.ts imports become .js).
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--ignoreConfig', 'sim/cli/main.ts', 'sim/sweep-worker.ts', '--outDir', out, '--rootDir', '.', '--target', 'es2022', '--module', 'nodenext', '--rewriteRelativeImportExtensions', '--verbatimModuleSyntax', '--skipLibCheck', '--types', 'node'], { cwd: ROOT, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0);
    symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
    copyFileSync(join(ROOT, 'package.json'), join(out, 'package.json'));
    // What bin/ksim.js would be without tsx: a plain node process, where a .ts file would not load.
    writeFileSync(join(out, 'ksim.mjs'), `const { main } = await import('./sim/cli/main.js');\nprocess.exitCode = await main(process.argv.slice(2));\n`);
    const r = spawnSync(process.execPath, [join(out, 'ksim.mjs'), 'sweep', 'examples/statefulset-web.yaml', '--seeds', '2', '--workers', '1', '--jsonl', join(out, 'seeds.jsonl'), '-o', 'json'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ kind: 'SweepSummary', passed: 2 });
    const compiled = new Map(jsonl(join(out, 'seeds.jsonl')).map((l) => [l.seed, l.traceHash]));
    const run = await ksimInProcess('run', 'examples/statefulset-web.yaml', '--seed', '2', '-o', 'json');
    expect(compiled.get(2)).to.equal(JSON.parse(run.out).traceHash);
  });

  const usage: [string, string[], RegExp][] = [
    ['--seeds is required', ['sweep', 'examples/statefulset-web.yaml'], /--seeds: required/],
    ['--seeds 0', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '0'], /--seeds: "0" is not a positive integer/],
    ['--shard 4/4 (I from 0 to N-1)', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '8', '--shard', '4/4'], /--shard: "4\/4": I must be less than N/],
    ['--shard 1-4', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '8', '--shard', '1-4'], /--shard: "1-4" is not I\/N/],
    ['--workers 0', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '8', '--workers', '0'], /--workers: "0" is not a positive integer/],
    ['an unknown --bug', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '8', '--bug', 'nope'], /--bug: unknown failure mode "nope"/],
    ['--bug toString (not a failure mode, though every object has it)', ['sweep', 'examples/statefulset-web.yaml', '--seeds', '8', '--bug', 'toString'], /--bug: unknown failure mode "toString"/],
    ['a scenario that does not exist', ['sweep', 'examples/nope.yaml', '--seeds', '8'], /examples\/nope\.yaml: no such file/],
  ];
  for (const [name, args, message] of usage) {
    it(`sweep with ${name} exits 2 with one line saying why`, async () => {
      const r = await ksimInProcess(...args);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(message);
      expect(r.err).to.not.match(/\n\s+at /);
    });
  }

  it('a shard beyond the seeds runs none and says so', async () => {
    const r = await ksimInProcess('sweep', 'examples/statefulset-web.yaml', '--seeds', '2', '--shard', '3/4', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    expect(JSON.parse(r.out).seeds).to.deep.equal({ start: 1, count: 2, shard: '3/4', expected: 0, done: 0 });
  });
});

describe('ksim merge of bad or partial input', () => {
  const line = (seed: number, o: Json = {}) =>
    JSON.stringify({ apiVersion: 'ksim/v1', kind: 'SeedResult', scenario: 'web', file: 'web.yaml', seed, traceHash: `h${seed}`, violations: [], faults: [], wallMs: 3, sweep: { start: 1, seeds: 4, shard: `${(seed - 1) % 2}/2` }, ...o });
  const files = (...texts: string[]) => {
    const dir = tmp();
    return texts.map((t, i) => {
      const p = join(dir, `shard-${i}.jsonl`);
      writeFileSync(p, t);
      return p;
    });
  };

  it('shards of one sweep merge; a seed broken in one shard is listed with its replay command (exit 1)', async () => {
    const broken = { violations: [{ invariant: 'rwo-single-node', atMs: 61_000, message: 'pv-1 attached to node-1 and node-2', objects: ['PersistentVolume/pv-1'] }] };
    const r = await ksimInProcess('merge', ...files(`${line(1)}\n${line(3, broken)}\n`, `${line(2)}\n${line(4)}\n`), '-o', 'json');
    expect(r.code, r.err).to.equal(1);
    const s = JSON.parse(r.out);
    expect(s.seeds).to.deep.equal({ start: 1, count: 4, expected: 4, done: 4 });
    expect(s.invariants).to.deep.equal([{ invariant: 'rwo-single-node', seeds: 1, first: [{ seed: 3, atMs: 61_000, message: 'pv-1 attached to node-1 and node-2', replay: 'ksim run web.yaml --seed 3' }] }]);
  });

  it('a missing shard is named, and the seeds it held are counted as not run', async () => {
    const r = await ksimInProcess('merge', ...files(`${line(1)}\n${line(3)}\n`));
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.include('missing: no file holds shard 1/2 (2 seeds not run)');
    expect(r.err).to.include('2 of the sweep\'s 4 seeds are in no file');
  });

  it('a last line cut by a stopped sweep is skipped with a warning; the lines before it count', async () => {
    const r = await ksimInProcess('merge', ...files(`${line(1)}\n${line(3).slice(0, 40)}`), '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.match(/shard-0\.jsonl:2: warning: the last line is incomplete/);
    expect(JSON.parse(r.out).seeds.done).to.equal(1);
  });

  const bad: [string, string[], RegExp][] = [
    ['one seed with two trace hashes', [`${line(1)}\n`, `${line(1, { traceHash: 'other' })}\n`], /shard-1\.jsonl:1: seed 1 has trace hash other here and h1 at .*shard-0\.jsonl:1/],
    ['lines of two sweeps', [`${line(1)}\n`, `${line(2, { scenario: 'db' })}\n`], /shard-1\.jsonl:1: from another sweep \(scenario db/],
    ['a line that is not JSON before the last', [`{oops\n${line(1)}\n`], /shard-0\.jsonl:1: not valid JSON/],
    ['a line of another kind', [`${JSON.stringify({ apiVersion: 'ksim/v1', kind: 'Report' })}\n`], /shard-0\.jsonl:1: not a ksim sweep line/],
  ];
  for (const [name, texts, message] of bad) {
    it(`merge rejects ${name} (exit 2)`, async () => {
      const r = await ksimInProcess('merge', ...files(...texts));
      expect(r.code).to.equal(2);
      expect(r.err).to.match(message);
    });
  }

  it('merge of a file that does not exist exits 2', async () => {
    const r = await ksimInProcess('merge', 'nope.jsonl');
    expect(r.code).to.equal(2);
    expect(r.err).to.include('nope.jsonl: no such file');
  });
});
