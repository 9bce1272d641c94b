/**
 * The command line on hostile input (issue 13), run in-process through main(argv, io): exit
 * codes 0/1/2/3, one line per problem, never a stack trace, and what the API server refuses at
 * run time (patches whose result does not decode, renames, prototype keys).
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../sim/cli/main.ts';
import { MemFs } from '../../src/fs.ts';

interface Out {
  code: number;
  out: string;
  err: string;
}

export async function ksim(...argv: string[]): Promise<Out> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s.endsWith('\n') ? s : s + '\n'), err: (s) => void (err += s.endsWith('\n') ? s : s + '\n'), wallMs: () => 0 });
  return { code, out, err };
}

const DIR = mkdtempSync(join(tmpdir(), 'ksim-cli-'));
let n = 0;
function file(text: string): string {
  const p = join(DIR, `s${++n}.yaml`);
  writeFileSync(p, text);
  return p;
}

const WEB = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 1
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: nginx}]
`;
const scenario = (actions: string, extra = '') => `${WEB}---
apiVersion: ksim/v1
kind: Scenario
metadata: {name: t}
spec:
  duration: 2m
${extra}  actions:
${actions}`;

const STACK = /\n\s+at .+:\d+:\d+/;

describe('ksim run on hostile input (in-process)', function () {
  this.timeout(60_000);

  it('--version prints the version and the Kubernetes it models', async () => {
    const r = await ksim('--version');
    expect(r.code).to.equal(0);
    expect(r.out).to.match(/^ksim \d+\.\d+\.\d+ \(models Kubernetes v1\.30\)\n$/);
  });

  const usage: [string, string[], RegExp][] = [
    ['--describe without KIND/NAME', ['--describe', 'bogus'], /^ksim: --describe: takes KIND\/NAME \(e\.g\. pod\/web-0\), got "bogus"\n$/],
    ['--describe of a kind named like a built-in member', ['--describe', 'constructor/x'], /^ksim: --describe: the server doesn't have a resource type "constructor"\n$/],
    ['--describe with -o json (stdout holds only the report)', ['--describe', 'pod/web-0', '-o', 'json'], /^ksim: --describe prints text: it cannot be combined with -o json/],
    ['--bug constructor', ['--bug', 'constructor'], /^ksim: --bug: unknown failure mode "constructor"/],
    ['--seed past 2^53', ['--seed', '9007199254740993'], /^ksim: --seed: 9007199254740993 is larger than 9007199254740991 \(2\^53-1\)/],
    ['--until 99999999h', ['--until', '99999999h'], /^ksim: --until: invalid duration "99999999h": overflows Go's time\.Duration/],
    ['--until past 30 days', ['--until', '800h'], /^ksim: --until: "800h" is longer than 720h0m0s/],
    ['--validate with an unknown mode', ['--validate', 'lax'], /^ksim: --validate: "lax" must be one of strict, warn, ignore\n$/],
    ['--max-steps that is not a positive integer', ['--max-steps', '0'], /^ksim: --max-steps: "0" is not a positive integer\n$/],
    ['--trace into a missing directory', ['--trace', '/nonexistent/dir/t.jsonl'], /^ksim: --trace: cannot write "\/nonexistent\/dir\/t\.jsonl": no such directory\n$/],
    ['--trace onto a directory', ['--trace', tmpdir()], /^ksim: --trace: cannot write ".+": is a directory\n$/],
  ];
  for (const [what, args, want] of usage) {
    it(`${what} is a usage error before anything runs (exit 2)`, async () => {
      const r = await ksim('run', file(scenario('    - {at: 1m, scale: {statefulset: web, replicas: 2}}\n')), ...args);
      expect(r.code).to.equal(2);
      expect(r.out).to.equal('');
      expect(r.err).to.match(want);
    });
  }

  it('a trace write that fails during the run (a full disk) stops it with one line (exit 2)', async () => {
    const r = await ksim('run', file(scenario('    - {at: 1m, scale: {statefulset: web, replicas: 2}}\n')), '--trace', '/dev/full');
    expect(r.code).to.equal(2);
    expect(r.err).to.equal('ksim: --trace: writing "/dev/full" failed: no space left on device\n');
  });

  it('--describe of an object that does not exist is kubectl\'s NotFound (exit 2)', async () => {
    const r = await ksim('run', file(scenario('    - {at: 1m, scale: {statefulset: web, replicas: 2}}\n')), '--describe', 'pod/web-9');
    expect(r.code).to.equal(2);
    expect(r.err).to.equal('Error from server (NotFound): pods "web-9" not found\n');
  });

  it('a run past its step budget stops with an error naming the limit and the flag (exit 2)', async () => {
    const r = await ksim('run', file(scenario('    - {at: 1m, scale: {statefulset: web, replicas: 2}}\n')), '--max-steps', '50');
    expect(r.code).to.equal(2);
    expect(r.err).to.match(/^ksim: the run took more than 50 simulation steps \(at \d+ms of simulated time\): ksim's step budget per run is 50 \(docs\/input\.md\); raise it with --max-steps N\n$/);
  });

  it('an actor that fails is exit 3 with the crash in the report, the seed and the replay command, never a stack', async () => {
    const p = file(scenario('    - {at: 1m, write: {pod: web-0, path: /tmp/x, data: hi}}\n'));
    const original = MemFs.prototype.writeFile;
    // A planted bug: a container's filesystem throws on the action's write.
    MemFs.prototype.writeFile = function (this: MemFs, path: string, ...rest: unknown[]) {
      if (path.endsWith('/x')) throw new Error('planted failure');
      return (original as (...a: unknown[]) => ReturnType<MemFs['writeFile']>).call(this, path, ...rest);
    } as MemFs['writeFile'];
    let table: Out;
    let json: Out;
    try {
      table = await ksim('run', p);
      json = await ksim('run', p, '-o', 'json', '--seed', '5');
    } finally {
      MemFs.prototype.writeFile = original;
    }
    expect(table.code).to.equal(3);
    expect(table.err).to.match(/^ksim: internal error \(a ksim bug\): actor kubelet\/node-\d failed at 1m0\.\d+s of simulated time: planted failure\nseed 1; replay: ksim run .+s\d+\.yaml --seed 1\n$/);
    expect(table.out).to.include('invariants were not judged (exit 3)');
    expect(json.code).to.equal(3);
    const report = JSON.parse(json.out);
    expect(report).to.include({ apiVersion: 'ksim/v1', kind: 'Report', seed: 5 });
    expect(report.crash).to.deep.include({ message: 'planted failure' });
    expect(report.crash.actor).to.match(/^kubelet\/node-\d$/);
    expect(report.crash.replay).to.match(/ksim run .+ --seed 5$/);
    expect(report.objects.items.some((o: { kind: string; metadata: { name: string } }) => o.kind === 'Pod' && o.metadata.name === 'web-0'), 'what the run reached').to.equal(true);
    for (const r of [table, json]) expect(r.err).to.not.match(STACK);
  });

  it('patches whose result Kubernetes refuses fail as kubectl patch fails, and are never stored', async () => {
    const p = file(scenario(`    - {at: 1m, patch: {target: statefulset/web, type: json, patch: [{op: replace, path: /spec/replicas, value: abc}]}}
    - {at: 1m, patch: {target: statefulset/web, type: json, patch: [{op: add, path: spec/replicas, value: 3}]}}
    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {metadata: {name: other}}}}
    - {at: 1m, patch: {target: node/node-1, type: merge, patch: {spec: {taints: 5}}}}
    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {spec: {replicas: 2147483648}}}}
    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {spec: {replicas: 1000000000}}}}
    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: '{"__proto__": {"polluted": true}}'}}
    - {at: 1m, patch: {target: statefulset/web, patch: '{"spec": {"__proto__": {"replicas": 9}}}'}}
    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {metadata: {labels: {__proto__: x}}}}}
    - {at: 1m, patch: {target: statefulset/web, patch: {spec: {replicas: abc}}}}
    - {at: 1m, patch: {target: statefulset/web, patch: {spec: {replicas: 2147483648}}}}
`));
    const r = await ksim('run', p, '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    const errors = report.results.map((x: { ok: boolean; error: string }) => (x.ok ? 'ok' : x.error));
    expect(errors[0]).to.match(/^"" is invalid: patch: Invalid value: "\{.*\.\.\.": json: cannot unmarshal string into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/);
    expect(errors[1]).to.match(/: strict decoding error: unknown field "replicas"$/);
    expect(errors[2]).to.equal('the name of the object (other) does not match the name on the URL (web)');
    expect(errors[3]).to.match(/json: cannot unmarshal number into Go struct field NodeSpec\.spec\.taints of type \[\]v1\.Taint$/);
    expect(errors[4]).to.match(/json: cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/);
    expect(errors[5]).to.equal('StatefulSet.apps "web" is invalid: spec.replicas: Invalid value: 1000000000: must be no more than 250000 (the most pods ksim simulates in one run, docs/input.md)');
    expect(errors[6]).to.match(/strict decoding error: unknown field "__proto__"$/);
    expect(errors[7]).to.match(/^"" is invalid: patch: Invalid value: "map\[spec:map\[__proto__:map\[replicas:9\]\]\]": strict decoding error: unknown field "spec\.__proto__"$/);
    expect(errors[8]).to.match(/^StatefulSet\.apps "web" is invalid: metadata\.labels: Invalid value: "__proto__"/);
    // A strategic merge patch's result goes through the unstructured converter, in its words.
    expect(errors[9]).to.equal('"" is invalid: patch: Invalid value: "map[spec:map[replicas:abc]]": unrecognized type: int32');
    expect(errors[10]).to.equal('StatefulSet.apps "web" is invalid: spec.replicas: Invalid value: -2147483648: must be greater than or equal to 0');
    const web = report.objects.items.find((o: { kind: string }) => o.kind === 'StatefulSet');
    expect(web.spec.replicas).to.equal(1);
    expect(web.metadata.name).to.equal('web');
    expect(Object.keys(Object.prototype)).to.deep.equal([]);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });

  it('the API server allocates ClusterIPs and refuses a resourceVersion on create, for objects applied during the run', async () => {
    const svc = (name: string, extra: string) => `{apiVersion: v1, kind: Service, metadata: {name: ${name}${extra}}, spec: {ports: [{port: 80}]CLUSTERIP}}`;
    const p = file(scenario(`    - {at: 1m, apply: ${svc('a', '').replace('CLUSTERIP', ', clusterIP: 10.96.0.10')}}
    - {at: 1m, apply: ${svc('b', '').replace('CLUSTERIP', ', clusterIP: 10.96.7.7')}}
    - {at: 1m, apply: ${svc('c', '').replace('CLUSTERIP', ', clusterIP: 10.96.7.7')}}
    - {at: 1m, apply: ${svc('d', ', resourceVersion: "12"').replace('CLUSTERIP', '')}}
`));
    const report = JSON.parse((await ksim('run', p, '-o', 'json')).out);
    const results = report.results.map((x: { ok: boolean; error?: string }) => (x.ok ? 'ok' : x.error));
    expect(results).to.deep.equal([
      'Service "a" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated',
      'ok',
      'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.7.7"}: failed to allocate IP 10.96.7.7: provided IP is already allocated',
      'resourceVersion should not be set on objects to be created',
    ]);
  });

  it('--validate=warn lets a patch with an unknown field through with a warning, dropping the field', async () => {
    const p = file(scenario('    - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {spec: {replicaz: 3}}}}\n'));
    const strict = JSON.parse((await ksim('run', p, '-o', 'json')).out);
    expect(strict.results[0]).to.include({ ok: false });
    expect(strict.results[0].error).to.match(/strict decoding error: unknown field "spec\.replicaz"$/);
    const warn = JSON.parse((await ksim('run', p, '-o', 'json', '--validate', 'warn')).out);
    expect(warn.results[0]).to.deep.include({ ok: true, warnings: ['unknown field "spec.replicaz"'] });
    expect(warn.objects.items.find((o: { kind: string }) => o.kind === 'StatefulSet').spec).to.not.have.property('replicaz');
  });

  it('a delete with an int64 grace period far beyond the run is accepted; the pod stays Terminating', async () => {
    const r = await ksim('run', file(scenario('    - {at: 1m, delete: pod/web-0, gracePeriodSeconds: 1000000000000000}\n')), '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    expect(report.results[0]).to.include({ ok: true });
    expect(report.crash).to.equal(undefined);
  });

  it('a pod with 10,000 emptyDir volumes runs', async () => {
    const vols = Array.from({ length: 10_000 }, (_, i) => `  - {name: v${i}, emptyDir: {}}`).join('\n');
    const r = await ksim('run', file(`apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n  volumes:\n${vols}\n`), '--until', '30s', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const pod = JSON.parse(r.out).objects.items.find((o: { kind: string }) => o.kind === 'Pod');
    expect(pod.status.phase).to.equal('Running');
  });

  it('replicas: 100000 OrderedReady runs ten minutes at the cost of the pods it creates', async () => {
    const r = await ksim('run', file(WEB.replace('replicas: 1', 'replicas: 100000')), '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    const pods = report.objects.items.filter((o: { kind: string }) => o.kind === 'Pod').length;
    expect(pods).to.be.within(50, 1000);
    expect(report.stats.steps).to.be.below(100_000);
  });

  it('control characters of a file name are escaped on the terminal', async () => {
    const p = join(DIR, 'evil\x1b[2J.yaml');
    writeFileSync(p, WEB);
    const r = await ksim('run', p, '--until', '5s');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.not.include('\x1b');
    expect(r.out).to.include('evil\\x1b[2J.yaml');
  });

  it('bad input prints one line per problem and writes nothing to stdout', async () => {
    const r = await ksim('run', file(WEB.replace('replicas: 1', 'replicas: "3"').replace('image: nginx', 'image: 5')));
    expect(r.code).to.equal(2);
    expect(r.out).to.equal('');
    expect(r.err.trimEnd().split('\n')).to.have.length(2);
    expect(r.err).to.not.match(STACK);
  });
});
