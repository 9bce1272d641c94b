/**
 * ksim as the npm package a user installs: `npm pack` of the built repository, installed from
 * the tarball into a new project (from npm's cache where it can), then used as users do: the
 * `ksim` bin, `import { Simulation } from 'ksim'` from JavaScript, and from TypeScript against
 * the shipped declarations. And the container image's command line, assembled as the
 * Dockerfile's runtime stage assembles it, with no node_modules at all.
 */
import { expect } from 'chai';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ksimInProcess } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO = 'examples/statefulset-web.yaml';

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what}\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

/** The demo's trace hash for a seed, from the sources in this process. */
async function demoHash(seed: number): Promise<string> {
  const r = await ksimInProcess('run', DEMO, '--seed', String(seed), '-o', 'json');
  return JSON.parse(r.out).traceHash;
}

describe('ksim as an npm package', function () {
  this.timeout(180_000);
  let dir: string;
  let project: string;
  let files: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ksim-package-'));
    // What `npm pack` runs first (`prepare`), then the tarball of what it built.
    ok(run('npm', ['run', 'build'], ROOT), 'npm run build');
    const packed = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT), 'npm pack')) as { filename: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-ksim', private: true, type: 'module' }));
    ok(run('npm', ['install', join(dir, packed[0]!.filename), '--prefer-offline', '--no-audit', '--no-fund'], project), 'npm install of the tarball');
  });

  it('the tarball holds the compiled JavaScript, its type declarations, the command line bundle and the examples, and no TypeScript source, test or build script', () => {
    for (const f of ['bin/ksim.js', 'dist/cli/ksim.js', 'dist/cli/sweep-worker.js', 'dist/sim/index.js', 'dist/sim/index.d.ts', DEMO, 'package.json', 'README.md']) expect(files, f).to.include(f);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('examples/'))).to.deep.equal([]);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('scripts/') || f.startsWith('node_modules/'))).to.deep.equal([]);
  });

  it('the installed ksim bin runs the demo from another folder with the trace hash of the sources, and prints its version', async () => {
    const bin = join(project, 'node_modules/.bin/ksim');
    const out = ok(run(bin, ['run', 'node_modules/ksim/examples/statefulset-web.yaml', '--seed', '11', '-o', 'json'], project), 'ksim run');
    expect(JSON.parse(out).traceHash).to.equal(await demoHash(11));
    expect(ok(run(bin, ['--version'], project), 'ksim --version')).to.match(/^ksim 0\.1\.0 \(models Kubernetes v1\.30\)/);
    // A usage mistake is one line and exit code 2 there too.
    const bad = run(bin, ['run', 'nope.yaml'], project);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/^nope\.yaml: no such file/);
  });

  it('the installed ksim sweeps on worker threads started from the bundle', async () => {
    const out = ok(run(join(project, 'node_modules/.bin/ksim'), ['sweep', 'node_modules/ksim/examples/statefulset-web.yaml', '--seeds', '2', '--workers', '2', '--jsonl', 'seeds.jsonl', '-o', 'json'], project), 'ksim sweep');
    expect(JSON.parse(out)).to.include({ kind: 'SweepSummary', passed: 2 });
    const seed2 = readFileSync(join(project, 'seeds.jsonl'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)).find((l) => l.seed === 2);
    expect(seed2.traceHash).to.equal(await demoHash(2));
  });

  it('a JavaScript module imports { Simulation } from "ksim" and runs the demo', () => {
    writeFileSync(
      join(project, 'demo.mjs'),
      [
        "import { Simulation } from 'ksim';",
        "const sim = Simulation.load('node_modules/ksim/examples/statefulset-web.yaml', { seed: 11 });",
        "sim.runFor('2m');",
        "console.log(JSON.stringify({ phase: sim.get('Pod', 'web-1')?.status?.phase, violations: sim.violations() }));",
      ].join('\n'),
    );
    expect(JSON.parse(ok(run(process.execPath, ['demo.mjs'], project), 'node demo.mjs'))).to.deep.equal({ phase: 'Running', violations: [] });
  });

  it('a TypeScript consumer type-checks against the shipped declarations (tsc --noEmit, skipLibCheck off), and a wrong call is a type error', () => {
    writeFileSync(
      join(project, 'demo.ts'),
      [
        "import { Simulation, ScenarioError, type Report, type Violation } from 'ksim';",
        "const sim: Simulation = Simulation.load('node_modules/ksim/examples/statefulset-web.yaml', { seed: 11, validate: 'warn' });",
        "sim.runFor('2m');",
        'const violations: Violation[] = sim.violations();',
        "const phase: string | undefined = sim.get('Pod', 'web-0')?.status?.phase;",
        'export { violations, phase, ScenarioError };',
        'export type { Report };',
      ].join('\n'),
    );
    // The declarations are real types, not `any`: a boolean is no duration.
    writeFileSync(join(project, 'wrong.ts'), "import { Simulation } from 'ksim';\nSimulation.load('x.yaml').runFor(true);\n");
    // One tsc run over both: demo.ts checks clean, wrong.ts has the one error.
    const compilerOptions = { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['demo.ts', 'wrong.ts'] }));
    const tsc = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
    const errors = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors, tsc.stdout + tsc.stderr).to.have.length(1);
    expect(errors[0]).to.match(/^wrong\.ts\(2,\d+\): error TS2345: Argument of type 'boolean'/);
  });

  it("the container image's runtime stage (the Dockerfile's COPY lines) runs the Indexed Job's sweep with no node_modules", () => {
    // The last stage of the Dockerfile, file for file: from the build context, or from the
    // build stage, whose WORKDIR holds what `npm run build` made here.
    const docker = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = docker.split(/^FROM /m).slice(1);
    const buildDir = /^WORKDIR (\S+)$/m.exec(stages[0]!)![1]!;
    const runtime = stages.at(-1)!;
    const workdir = /^WORKDIR (\S+)$/m.exec(runtime)![1]!;
    const image = join(dir, 'image');
    for (const [, from, src, dst] of runtime.matchAll(/^COPY (?:--from=(\S+) )?(\S+) (\S+)$/gm)) {
      const source = from ? join(ROOT, src!.slice(buildDir.length + 1)) : join(ROOT, src!);
      cpSync(source, join(image, dst!.endsWith('/') ? join(dst!, src!.split('/').pop()!) : dst!), { recursive: true });
    }
    expect(existsSync(join(image, 'node_modules'))).to.equal(false);
    expect(/^RUN /m.test(runtime), 'the runtime stage installs nothing').to.equal(false);
    const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(runtime)![1]!) as string[];
    expect(entrypoint.slice(0, 1)).to.deep.equal(['node']);
    const job = parseAllDocuments(readFileSync(join(ROOT, 'examples/sweep-job/sweep-shards.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d.kind === 'Job');
    const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    const r = run(process.execPath, [join(image, entrypoint[1]!.slice(workdir.length + 1)), 'sweep', env.SCENARIO, '--seeds', '1', '--workers', '1', '-o', 'json'], image);
    expect(JSON.parse(ok(r, 'the image\'s sweep'))).to.include({ kind: 'SweepSummary', passed: 1 });
  });
});
