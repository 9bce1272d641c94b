/**
 * The sweep spread over machines as the repository ships it: the container image (Dockerfile)
 * and the Kubernetes Indexed Job of examples/sweep-job/, one shard per completion index, then a
 * Job merging the shards. No image can be built and no cluster reached here, so this tests what
 * can be: the manifests are valid v1.30 objects with the structure an Indexed Job needs, and the
 * command line each pod would run (the Job's args, expanded as the kubelet expands them) gives,
 * once merged, exactly what one sweep of all the seeds gives, with 1 or 2 workers.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ksimInProcess } from '../helpers/cli.ts';
import { schemaProblems } from '../helpers/kubernetes-schema.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = 'examples/sweep-job';

type Json = Record<string, any>;

function jsonl(file: string): Json[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** seed -> trace hash, for comparing sweeps hash for hash. */
function hashes(lines: Json[]): [number, string][] {
  return lines.map((l) => [l.seed as number, l.traceHash as string] as [number, string]).sort((a, b) => a[0] - b[0]);
}

/** A summary without what depends on the wall clock. */
function comparable(summary: Json): Json {
  const { speed, ...rest } = summary;
  expect(speed.meanRunMs).to.be.a('number');
  return rest;
}

/** Kubernetes' expansion of $(VAR) in a container's args (Container.args in the v1.30 API). */
function expand(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? m)));
}

function docsOf(file: string): Json[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS() as Json);
}

function jobOf(file: string): Json {
  return docsOf(file).find((d) => d.kind === 'Job')!;
}

describe('a sweep as a Kubernetes Indexed Job', function () {
  this.timeout(180_000);

  for (const file of ['results-claim.yaml', 'sweep-shards.yaml', 'merge.yaml']) {
    it(`${file} holds valid Kubernetes v1.30 objects (every field known, every required field set)`, () => {
      const docs = docsOf(`${DIR}/${file}`);
      expect(docs).to.not.be.empty;
      for (const d of docs) expect(schemaProblems(d), `${d.kind}/${d.metadata?.name}`).to.deep.equal([]);
    });
  }

  it('the schema check finds what kubectl would reject (so that the test above can fail)', () => {
    const job = jobOf(`${DIR}/sweep-shards.yaml`);
    const bad = JSON.parse(JSON.stringify(job));
    bad.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    bad.spec.completions = '4';
    delete bad.spec.template.spec.containers[0].name;
    expect(schemaProblems(bad)).to.deep.equal([
      'spec.completions: a number expected, got "4"',
      'unknown field "spec.template.spec.containers[0].imagePullPolcy"',
      'spec.template.spec.containers[0].name: required',
    ]);
  });

  it('the shards Job is Indexed, one shard per completion index, each writing its own file to the shared claim', () => {
    const job = jobOf(`${DIR}/sweep-shards.yaml`);
    const spec = job.spec;
    const pod = spec.template.spec;
    const container = pod.containers[0];
    expect(spec.completionMode).to.equal('Indexed');
    expect(spec.parallelism).to.equal(spec.completions);
    // podFailurePolicy and backoffLimitPerIndex need restartPolicy Never.
    expect(pod.restartPolicy).to.equal('Never');
    expect(container.args).to.include(`$(JOB_COMPLETION_INDEX)/${spec.completions}`);
    const jsonlArg = container.args[container.args.indexOf('--jsonl') + 1] as string;
    expect(jsonlArg).to.include('$(JOB_COMPLETION_INDEX)');
    const mount = container.volumeMounts.find((m: Json) => jsonlArg.startsWith(`${m.mountPath}/`));
    expect(mount, 'the JSONL file is on a mounted volume').to.not.equal(undefined);
    const volume = pod.volumes.find((v: Json) => v.name === mount.name);
    const claim = docsOf(`${DIR}/results-claim.yaml`).find((d) => d.kind === 'PersistentVolumeClaim')!;
    expect(volume.persistentVolumeClaim.claimName).to.equal(claim.metadata.name);
    expect(claim.spec.accessModes).to.deep.equal(['ReadWriteMany']);
    // A failing seed (exit 1) or a ksim failure (exit 3) is a result: that index is not retried.
    const failIndex = spec.podFailurePolicy.rules.find((r: Json) => r.action === 'FailIndex');
    expect(failIndex.onExitCodes).to.include({ containerName: container.name, operator: 'In' });
    expect(failIndex.onExitCodes.values).to.deep.equal([1, 3]);
    expect(spec.backoffLimitPerIndex).to.be.a('number');
  });

  it('the merge Job reads the file of every completion index from the same claim', () => {
    const shards = jobOf(`${DIR}/sweep-shards.yaml`);
    const merge = jobOf(`${DIR}/merge.yaml`);
    const sc = shards.spec.template.spec.containers[0];
    const mc = merge.spec.template.spec.containers[0];
    const jsonlArg = sc.args[sc.args.indexOf('--jsonl') + 1] as string;
    const expected = Array.from({ length: shards.spec.completions }, (_, i) => expand(jsonlArg, { JOB_COMPLETION_INDEX: String(i) }));
    expect(mc.args[0]).to.equal('merge');
    expect(mc.args.slice(1)).to.deep.equal(expected);
    expect(merge.spec.template.spec.volumes).to.deep.equal(shards.spec.template.spec.volumes);
    expect(mc.image).to.equal(sc.image);
  });

  it('the Indexed Job\'s shards, merged, equal one sweep hash for hash, and 1 and 2 workers give the same sweep', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-job-'));
    const job = jobOf('examples/sweep-job/sweep-shards.yaml');
    const container = job.spec.template.spec.containers[0];
    const mount: string = container.volumeMounts[0].mountPath;
    const env: Record<string, string> = Object.fromEntries(container.env.map((e: Json) => [e.name, e.value]));
    env['SEEDS'] = '4'; // the Job's 1,000 seeds, cut for the test: one per shard
    // The Job's own command line, as the kubelet expands it in the pod of each completion index,
    // with the shared volume mounted at the test's directory.
    const argsOf = (args: string[], index?: number) => args.map((a) => expand(a, { ...env, ...(index !== undefined ? { JOB_COMPLETION_INDEX: String(index) } : {}) }).replace(mount, dir));
    for (let i = 0; i < job.spec.completions; i++) {
      const r = await ksimInProcess(...argsOf(container.args, i));
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.include(`shard ${i}/${job.spec.completions}`);
    }
    const merge = jobOf('examples/sweep-job/merge.yaml').spec.template.spec.containers[0];
    const merged = await ksimInProcess(...argsOf(merge.args), '-o', 'json');
    expect(merged.code, merged.err).to.equal(0);
    const mergedText = await ksimInProcess(...argsOf(merge.args));
    expect(mergedText.code, mergedText.err).to.equal(0);

    const one = (workers: number) => ksimInProcess('sweep', env['SCENARIO']!, '--seeds', env['SEEDS']!, '--start', env['START']!, '--workers', String(workers), '--jsonl', join(dir, `w${workers}.jsonl`), '-o', 'json');
    const w1 = await one(1);
    const w2 = await one(2);
    expect(w1.code, w1.err).to.equal(0);
    expect(w2.code, w2.err).to.equal(0);

    const shardLines = Array.from({ length: job.spec.completions }, (_, i) => jsonl(join(dir, `shard-${i}.jsonl`))).flat();
    const seeds = [1, 2, 3, 4];
    expect(hashes(shardLines).map(([s]) => s)).to.deep.equal(seeds);
    expect(hashes(shardLines)).to.deep.equal(hashes(jsonl(join(dir, 'w1.jsonl'))));
    expect(hashes(jsonl(join(dir, 'w2.jsonl')))).to.deep.equal(hashes(jsonl(join(dir, 'w1.jsonl'))));
    const s1 = JSON.parse(w1.out);
    expect(s1).to.include({ apiVersion: 'ksim/v1', kind: 'SweepSummary', passed: 4, failed: 0, crashed: 0 });
    expect(s1.speed.workers).to.equal(1);
    expect(JSON.parse(w2.out).speed.workers).to.equal(2);
    expect(comparable(JSON.parse(w2.out))).to.deep.equal(comparable(s1));
    expect(comparable(JSON.parse(merged.out))).to.deep.equal(comparable(s1));
    expect(mergedText.out).to.include(s1.digest);
    // A sweep runs what `ksim run` runs: the same trace hash for the same seed.
    const run = await ksimInProcess('run', env['SCENARIO']!, '--seed', '4', '-o', 'json');
    expect(JSON.parse(run.out).traceHash).to.equal(new Map(hashes(shardLines)).get(4));
    for (const l of shardLines) expect(l).to.include({ apiVersion: 'ksim/v1', kind: 'SeedResult', scenario: 'statefulset-storage', file: env['SCENARIO'] });
  });

  it('the image runs the same command line: the Dockerfile installs from the lock file and its entrypoint is bin/ksim.js', () => {
    const docker = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const workdir = /^WORKDIR (\S+)$/m.exec(docker)![1]!;
    expect(docker).to.match(/^FROM node:20\b/m);
    expect(docker).to.match(/^COPY package\.json package-lock\.json \.\/$/m);
    expect(docker).to.match(/^RUN npm ci\b/m);
    expect(JSON.parse(/^ENTRYPOINT (.+)$/m.exec(docker)![1]!)).to.deep.equal(['node', `${workdir}/bin/ksim.js`]);
    // Every folder the command line imports from is in the image.
    for (const dir of ['bin', 'src', 'actors', 'backends', 'sim', 'examples']) expect(docker).to.match(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
    // The scenario the Job sweeps is in the image, at the path the Job names (relative to WORKDIR).
    const env = jobOf('examples/sweep-job/sweep-shards.yaml').spec.template.spec.containers[0].env as Json[];
    expect(existsSync(join(ROOT, env.find((e) => e.name === 'SCENARIO')!.value))).to.equal(true);
  });


  it('the image installs only dependencies (npm ci --omit=dev): no source it runs imports a devDependency', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const problems: string[] = [];
    const walk = (dir: string): string[] => readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(`${dir}/${d.name}`) : /\.(ts|js)$/.test(d.name) ? [`${dir}/${d.name}`] : []));
    for (const file of ['bin', 'src', 'actors', 'backends', 'sim'].flatMap(walk)) {
      const code = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      // Imports that stay at run time: not `import type`, not `export type`.
      for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s+(?!type\b)(?:[\w*{}\s,$]+\s+from\s+)?'([^'.][^']*)'|\bimport\(\s*'([^'.][^']*)'\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!Object.hasOwn(pkg.dependencies, name)) problems.push(`${file}: imports ${spec}, not a dependency`);
      }
    }
    expect(problems).to.deep.equal([]);
  });
});
