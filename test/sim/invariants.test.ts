/**
 * The invariants catch what they promise to catch: each test breaks one guarantee on purpose
 * (a re-introduced bug, a delayed message, a contradicting expectation) and checks the violation
 * a user would read; and the hazards Kubernetes allows are warnings, not violations.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Simulation } from '../../sim/index.ts';
import { scenarioDoc, yamlDocs } from '../helpers/scenarios.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('invariants', () => {
  it('no-data-loss catches a kubelet that does not mount the claim (--bug kubelet-skip-mount)', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-storage.yaml`, { bug: 'kubelet-skip-mount' });
    const r = sim.runScenario();
    const lost = r.violations.filter((v) => v.invariant === 'no-data-loss');
    expect(lost.map((v) => v.objects[0])).to.deep.equal(['PersistentVolumeClaim/default/www-web-0', 'PersistentVolumeClaim/default/www-web-1']);
    expect(lost[0]!.message).to.include('"hello web-0\\n"');
  });

  it('the same scenario without the bug loses nothing', () => {
    expect(Simulation.load(`${ROOT}examples/statefulset-storage.yaml`).runScenario().violations).to.deep.equal([]);
  });

  it('an expectation that does not hold is a violation and exit code 1, with the replay command', () => {
    const yaml = yamlDocs(scenarioDoc('duration: 1m\nactions:\n  - {at: 10s, nslookup: {name: kubernetes.default, expect: ["10.96.0.99"]}}'));
    const sim = Simulation.fromYaml(yaml);
    const r = sim.runScenario();
    expect(r.violations.map((v) => v.invariant)).to.deep.equal(['expectations']);
    expect(r.violations[0]!.message).to.include('expected ["10.96.0.99"], got ["10.96.0.1"]');
    const cli = spawnSync(process.execPath, ['bin/ksim.js', 'run', 'examples/statefulset-storage.yaml', '--bug', 'kubelet-skip-mount'], { cwd: ROOT, encoding: 'utf8' });
    expect(cli.status).to.equal(1);
    expect(cli.stdout).to.include('replay: ksim run examples/statefulset-storage.yaml --seed 1 --bug kubelet-skip-mount');
  });

  it('reading an inline hostPath on another node than it was written on is a hostpath-elsewhere warning, not a violation', () => {
    const pod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, hostPath: {path: /home/host-temp-dir, type: DirectoryOrCreate}}]
`;
    const sim = Simulation.fromYaml(yamlDocs(pod('a', 'node-1'), pod('b', 'node-2'), scenarioDoc('duration: 2m\nactions:\n  - {at: 1m, write: {pod: a, path: /data/f, data: x}}\n  - {at: 1m10s, read: {pod: b, path: /data/f}}')));
    const r = sim.runScenario();
    expect(r.violations).to.deep.equal([]);
    expect(r.warnings.map((w) => w.warning)).to.deep.equal(['hostpath-elsewhere']);
    expect(r.results[1]).to.include({ ok: false, error: 'No such file or directory' });
  });

  it('an RWX hostPath PV used from two nodes is a rwx-hostpath-split warning', () => {
    const sim = Simulation.load(`${ROOT}examples/hostpath-pv-claim.yaml`);
    sim.runFor('30s');
    sim.act({
      kind: 'apply',
      namespace: 'default',
      pos: { file: 't', line: 0, col: 0 },
      manifest: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'second' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'node-2' }, containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/d' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'pvc-hostpath' } }] } },
    } as never);
    const r = sim.runScenario();
    expect(r.warnings.map((w) => w.warning)).to.include('rwx-hostpath-split');
    expect(r.warnings.find((w) => w.warning === 'rwx-hostpath-split')!.message).to.include('each node sees its own copy of /home/host-pv-dir');
    expect(r.violations).to.deep.equal([]);
  });

  it('dns-consistent holds in a settled cluster and every pod name is asked', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-web.yaml`, { seed: 5 });
    const r = sim.runScenario();
    expect(r.violations).to.deep.equal([]);
  });

  it('the report lists each violation once, in time order, with the objects involved', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-storage.yaml`, { bug: 'kubelet-skip-mount' });
    const r = sim.runScenario();
    const times = r.violations.map((v) => v.atMs);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    for (const v of r.violations) expect(v).to.have.keys(['invariant', 'atMs', 'message', 'objects']);
  });
});
