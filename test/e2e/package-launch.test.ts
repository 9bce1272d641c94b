/**
 * How the installed `ksim` starts (sim/cli/launch.ts, sim/heap.ts): `bench` and `run` of a large
 * scenario start node again with a larger V8 heap, the demo does not pay for a second start,
 * and a sweep's workers share the budget; and what bin/ksim.js says in a clone whose dist/ is
 * missing or older than the sources.
 */
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../sim/cli/main.ts';
import { launch } from '../../sim/cli/launch.ts';
import { LARGE_SCENARIO_OBJECTS } from '../../sim/cli/run.ts';
import { heapBudgetMb, heapLimitMb, heapRaiseFlags, workerHeapMb } from '../../sim/heap.ts';

/** A scenario of `nodes` nodes and one StatefulSet, with `templates` claim templates. */
function scenario(nodes: number, replicas: number, templates: number, scaleTo?: number): string {
  const claims = Array.from({ length: templates }, (_, i) => `    - metadata: {name: data-${i}}\n      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n`).join('');
  return [
    'apiVersion: apps/v1',
    'kind: StatefulSet',
    'metadata: {name: web}',
    'spec:',
    `  replicas: ${replicas}`,
    '  serviceName: web',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    '    metadata: {labels: {app: web}}',
    '    spec: {containers: [{name: web, image: "nginx:1.25"}]}',
    ...(templates > 0 ? ['  volumeClaimTemplates:', claims.trimEnd()] : []),
    '---',
    'apiVersion: ksim/v1',
    'kind: Scenario',
    'metadata: {name: big}',
    'spec:',
    '  duration: 1m',
    `  cluster: {nodes: ${nodes}}`,
    ...(scaleTo !== undefined ? [`  actions: [{at: 30s, scale: {statefulset: web, replicas: ${scaleTo}}}]`] : []),
    '',
  ].join('\n');
}

describe('how ksim starts: the heap it asks V8 for', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'ksim-launch-'));

  const rows: [name: string, text: string | undefined, larger: boolean][] = [
    ['the demo runs in its own process', undefined, false],
    [`${LARGE_SCENARIO_OBJECTS - 1} nodes and pods run in their own process`, scenario(3, LARGE_SCENARIO_OBJECTS - 4, 0), false],
    [`${LARGE_SCENARIO_OBJECTS} nodes and pods run with a larger heap`, scenario(3, LARGE_SCENARIO_OBJECTS - 3, 0), true],
    ['700 pods with a claim and a volume each (2,103 objects) run with a larger heap', scenario(3, 700, 1), true],
    ['a scale action to 5,000 replicas runs with a larger heap', scenario(3, 2, 0, 5000), true],
  ];
  for (const [name, text, larger] of rows) {
    it(`ksim run: ${name}`, async () => {
      const file = text === undefined ? 'examples/statefulset-web.yaml' : join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      if (text !== undefined) writeFileSync(file, text);
      let asked = 0;
      let out = '';
      let err = '';
      const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s), wallMs: () => 0, withLargerHeap: () => (asked++, 7) };
      const code = await main(['run', file, '-o', 'json'], io);
      expect(asked).to.equal(larger ? 1 : 0);
      if (larger) {
        // The other process's exit code, and nothing printed twice.
        expect(code).to.equal(7);
        expect(out + err).to.equal('');
      } else {
        expect(code, err).to.equal(0);
        expect(JSON.parse(out).kind).to.equal('Report');
      }
    });
  }

  /** A stand-in for bin/ksim.js that records how it was started, then runs `exit`. */
  let fixtures = 0;
  function fixture(exit: string): { bin: string; started: () => { execArgv: string[]; args: string[] } } {
    const bin = join(dir, `bin-${fixtures++}.mjs`);
    const record = `${bin}.json`;
    writeFileSync(bin, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(record)}, JSON.stringify({ execArgv: process.execArgv, args: process.argv.slice(2) }));\n${exit}\n`);
    return { bin, started: () => JSON.parse(readFileSync(record, 'utf8')) };
  }

  it('ksim bench starts node again with the young generation, global.gc and the larger heap, and exits with its code', async () => {
    const { bin, started } = fixture('process.exit(5);');
    expect(await launch(['bench', '--claims', '10'], bin)).to.equal(5);
    const s = started();
    expect(s.args).to.deep.equal(['bench', '--claims', '10']);
    expect(s.execArgv.slice(0, 2)).to.deep.equal(['--max-semi-space-size=256', '--expose-gc']);
    expect(s.execArgv).to.include.members(heapRaiseFlags());
  });

  it('ksim run of a large scenario starts node again with the heap budget; Ctrl-C there is exit code 130 here', async function () {
    // Where V8's own heap is already as large as the budget, the scenario would run here.
    if (heapRaiseFlags().length === 0) this.skip();
    const file = join(dir, 'large.yaml');
    writeFileSync(file, scenario(3, LARGE_SCENARIO_OBJECTS, 0));
    const { bin, started } = fixture("process.kill(process.pid, 'SIGINT');");
    const code = await launch(['run', file, '-o', 'json'], bin);
    expect(code).to.equal(130);
    expect(started().execArgv[0]).to.equal(`--max-old-space-size=${heapBudgetMb()}`);
    expect(started().args).to.deep.equal(['run', file, '-o', 'json']);
  });

  it("a sweep's workers share the heap budget, and never get less than V8's own size", () => {
    const one = workerHeapMb(1);
    if (heapBudgetMb() > heapLimitMb()) expect(one).to.equal(heapBudgetMb());
    expect(workerHeapMb(Math.ceil(heapBudgetMb() / heapLimitMb()) + 1)).to.equal(undefined);
  });
});

describe('bin/ksim.js in a clone', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));

  /** A clone's layout: bin/ksim.js and its check, a stand-in bundle that says it ran, one source file. */
  function clone(bundle: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-clone-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(ROOT, 'bin/ksim.js'), join(dir, 'bin/ksim.js'));
    mkdirSync(join(dir, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/stale-build.mjs'), join(dir, 'scripts/stale-build.mjs'));
    mkdirSync(join(dir, 'sim/cli'), { recursive: true });
    writeFileSync(join(dir, 'sim/cli/run.ts'), '');
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    if (bundle) {
      mkdirSync(join(dir, 'dist/cli'), { recursive: true });
      writeFileSync(join(dir, 'dist/cli/ksim.js'), "export async function launch(args) { console.log('ran ' + args.join(' ')); return 0; }\n");
    }
    return dir;
  }
  const ksim = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin/ksim.js'), 'run', 'x.yaml'], { encoding: 'utf8' });

  it('without dist/ it says to build, and exits 3', () => {
    const r = ksim(clone(false));
    expect(r.status).to.equal(3);
    expect(r.stderr).to.equal('ksim: the compiled command line (dist/cli/ksim.js) is missing: run `npm run build` in the ksim folder (npm install runs it)\n');
  });

  it('a source changed after the build: it warns, names the file, and runs the build it has', () => {
    const dir = clone(true);
    const fresh = ksim(dir);
    expect([fresh.status, fresh.stdout, fresh.stderr]).to.deep.equal([0, 'ran run x.yaml\n', '']);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'sim/cli/run.ts'), later, later);
    const stale = ksim(dir);
    expect(stale.stdout).to.equal('ran run x.yaml\n');
    expect(stale.stderr).to.equal(`ksim: warning: ${join(dir, 'sim/cli/run.ts')} changed after dist/ was built: this runs the build from before; run \`npm run build\`\n`);
  });
});
