import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir } from 'node:os';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function ksim(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/ksim.js', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ksim-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('ksim CLI', function () {
  this.timeout(120_000);

  it('bench --json reports the demo hour, the binding (every claim Bound) and a sweep\'s seeds/s (figures, not speeds, checked)', () => {
    // 200: the generator's kinds pair up so that every claim finds a volume whatever the order
    // the PV controller takes them in (with 60 or 100, greedy binding leaves one claim Pending).
    const r = ksim('bench', '--json', '--claims', '200', '--sweep-seeds', '3');
    expect(r.code, r.err).to.equal(0);
    const f = JSON.parse(r.out);
    expect(f).to.include({ apiVersion: 'ksim/v1', kind: 'Bench' });
    expect(f.web.simulatedSeconds).to.equal(3600);
    expect(f.web.messages).to.be.greaterThan(2000);
    expect(f.web.ratioToRawSend).to.be.greaterThan(0);
    // The chaos run: each seed's simulated time (30 min and the liveness phase) over its wall time.
    expect(f.chaos.scenario).to.include('examples/chaos-rbd-sts.yaml');
    expect(f.chaos.simulatedSeconds).to.be.at.least(10 * 1800);
    for (const k of ['compression', 'compressionCold', 'messagesPerSecond', 'ratioToRawSend']) expect(f.chaos[k], k).to.be.greaterThan(0);
    expect(f.chaos.compression).to.be.closeTo((f.chaos.simulatedSeconds * 1000) / f.chaos.wallMs, f.chaos.compression * 0.01);
    expect(f.binderMatcher.claims).to.equal(200);
    expect(f.worldBinding).to.include({ claims: 200, bound: 200 });
    expect(f.worldBinding.runsMs).to.have.length(3);
    expect(f.worldBinding.ratioToRawSend).to.be.greaterThan(0);
    expect(f).to.include({ apiVersion: 'ksim/v1', kind: 'Bench' });
    expect(f.shrink).to.include({ scenario: 'examples/chaos-rbd-sts.yaml', seed: 18, bug: 'informer-no-relist', faultsFrom: 5 });
    expect(f.shrink.ms).to.be.greaterThan(0);
    expect(f.shrink.faultsTo).to.be.below(5);
    expect(f.sweep).to.include({ workers: availableParallelism(), seedsPerWorker: 3 });
    expect(f.sweep.seedsPerSecond).to.be.greaterThan(0);
    expect(f.sweep.seedsPerSecondOneWorker).to.be.greaterThan(0);
    // The seeds/s figures are rounded to a tenth: compare within what that rounding allows.
    const ratio = f.sweep.seedsPerSecond / (f.sweep.workers * f.sweep.seedsPerSecondOneWorker);
    expect(f.sweep.parallelEfficiency).to.be.closeTo(ratio, 0.01 + ratio * (0.05 / f.sweep.seedsPerSecond + 0.05 / f.sweep.seedsPerSecondOneWorker));
  });

  it('run prints the cluster as kubectl get would, then the nslookup results, and exits 0', () => {
    const r = ksim('run', 'examples/statefulset-web.yaml');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.include('seed 7');
    expect(r.out).to.match(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(r.out).to.match(/pod\/web-0\s+1\/1\s+Running/);
    expect(r.out).to.match(/statefulset\.apps\/web\s+2\/2/);
    expect(r.out).to.match(/service\/nginx\s+ClusterIP\s+None/);
    expect(r.out).to.include('nslookup');
  });

  it('run -o json prints only the report of SPEC §5', () => {
    const r = ksim('run', 'examples/statefulset-web.yaml', '--seed', '7', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    expect(report).to.include({ apiVersion: 'ksim/v1', kind: 'Report' });
    expect(Object.keys(report)).to.include.members(['scenario', 'seed', 'durationMs', 'traceHash', 'stats', 'results', 'violations', 'warnings', 'events', 'objects']);
    expect(report).to.include({ apiVersion: 'ksim/v1', kind: 'Report' });
    expect(report.seed).to.equal(7);
    expect(report.traceHash).to.match(/^[0-9a-f]{64}$/);
    expect(report.objects.kind).to.equal('List');
    const web0 = report.objects.items.find((o: { kind: string; metadata: { name: string } }) => o.kind === 'Pod' && o.metadata.name === 'web-0');
    expect(web0.status.phase).to.equal('Running');
    expect(web0.spec.nodeName).to.match(/^node-\d$/);
    expect(report.events.some((e: { reason: string }) => e.reason === 'SuccessfulCreate')).to.equal(true);
  });

  it('--until stops the clock early and does not judge later actions', () => {
    const r = ksim('run', 'examples/statefulset-web.yaml', '--until', '30s', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    expect(report.durationMs).to.equal(30_000);
    expect(report.results).to.deep.equal([]);
  });

  it('a scenario with bad input exits 2 with file:line:col lines and no stack trace', () => {
    const p = tmpFile('bad.yaml', `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: -1
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx
---
apiVersion: ksim/v1
kind: Scenario
metadata: {name: bad}
spec:
  duration: 5x
`);
    const r = ksim('run', p);
    expect(r.code).to.equal(2);
    expect(r.out).to.equal('');
    expect(r.err).to.include(`${p}:7:3: StatefulSet "web": spec.replicas: Invalid value: -1: must be greater than or equal to 0`);
    expect(r.err).to.match(/bad\.yaml:22:3: Scenario "bad": spec\.duration: invalid duration "5x"/);
    expect(r.err).to.not.match(/\n\s+at /);
  });

  it('a missing file exits 2 without a stack trace', () => {
    const r = ksim('run', 'no/such/file.yaml');
    expect(r.code).to.equal(2);
    expect(r.err).to.not.match(/\n\s+at /);
  });

  const usage: [string, string[]][] = [
    ['an unknown option', ['run', 'examples/statefulset-web.yaml', '--bogus']],
    ['an unknown command', ['explode']],
    ['a seed that is not a number', ['run', 'examples/statefulset-web.yaml', '--seed', 'abc']],
    ['a malformed --until', ['run', 'examples/statefulset-web.yaml', '--until', 'soon']],
    ['no arguments', []],
  ];
  for (const [what, args] of usage) {
    it(`${what} is a usage error (exit 2)`, () => expect(ksim(...args).code).to.equal(2));
  }

  it('--help works on every command', () => {
    for (const args of [['--help'], ['run', '--help'], ['bench', '--help']]) {
      const r = ksim(...args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.out + r.err).to.include('Usage:');
    }
  });

  it('--trace writes the trace as JSON lines and chrome format opens as trace events', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-'));
    const jl = join(dir, 't.jsonl');
    const ch = join(dir, 't.json');
    expect(ksim('run', 'examples/statefulset-web.yaml', '--until', '20s', '--trace', jl).code).to.equal(0);
    const first = JSON.parse(readFileSync(jl, 'utf8').split('\n')[0]!);
    expect(first).to.have.keys(['atMs', 'kind', 'actor', 'detail']);
    expect(ksim('run', 'examples/statefulset-web.yaml', '--until', '20s', '--trace', ch, '--trace-format', 'chrome').code).to.equal(0);
    const chrome = JSON.parse(readFileSync(ch, 'utf8'));
    expect(chrome.traceEvents.length).to.be.greaterThan(10);
  });

  it('--describe prints kubectl describe with Events', () => {
    const r = ksim('run', 'examples/statefulset-web.yaml', '--describe', 'pod/web-1');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/Name:\s+web-1/);
    expect(r.out).to.include('Events:');
    expect(r.out).to.include('Scheduled');
  });
});
