/**
 * Scenario actions as a user types them (SPEC §1): actions with the same `at` run one after
 * another, each when the one before it has its result, whatever their kinds; an action that
 * blocks holds back only the actions after it at the same `at`.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { scenarioDoc, yamlDocs } from '../helpers/scenarios.ts';
import type { NfsServer } from '../../backends/nfs.ts';

const HOSTPATH_POD = `apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  nodeSelector: {kubernetes.io/hostname: node-1}
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, hostPath: {path: /srv/data, type: DirectoryOrCreate}}]
`;

describe('actions with the same at', () => {
  const rows: { name: string; second: string; expected: Record<string, unknown> }[] = [
    { name: 'a readNode after a write at the same at sees the data on the node', second: '{at: 1m, readNode: {node: node-1, path: /srv/data/f}}', expected: { ok: true, data: 'typed first' } },
    { name: 'a pod read after a write at the same at sees the data', second: '{at: 1m, read: {pod: writer, path: /data/f}}', expected: { ok: true, data: 'typed first' } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const s = Simulation.fromYaml(yamlDocs(HOSTPATH_POD, scenarioDoc(`duration: 2m\nactions:\n  - {at: 1m, write: {pod: writer, path: /data/f, data: typed first}}\n  - ${row.second}`)), { seed: 4 });
      const r = s.runScenario();
      expect(r.results[0]).to.include({ ok: true });
      expect(r.results[1]).to.include(row.expected);
    });
  }

  it('the later command of a same-at pair decides what stays on disk', () => {
    const s = Simulation.fromYaml(
      yamlDocs(HOSTPATH_POD, scenarioDoc('duration: 2m\nactions:\n  - {at: 1m, write: {pod: writer, path: /data/f, data: typed first}}\n  - {at: 1m, writeNode: {node: node-1, path: /srv/data/f, data: typed second}}\n  - {at: 90s, readNode: {node: node-1, path: /srv/data/f}}')),
      { seed: 4 },
    );
    expect(s.runScenario().results[2]).to.include({ ok: true, data: 'typed second' });
  });

  it('a write blocked on a hard NFS mount holds back only the actions after it at the same at; at the end it is still blocked', () => {
    const nfs = `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  nodeSelector: {kubernetes.io/hostname: node-1}
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, nfs: {server: nfs-1, path: /}}]
`;
    const s = Simulation.fromYaml(
      yamlDocs(
        nfs,
        scenarioDoc(
          'duration: 4m\nactions:\n  - {at: 2m, write: {pod: a, path: /data/x, data: during the outage}}\n  - {at: 2m, mkdirNode: {node: node-2, path: /held}}\n  - {at: 3m, mkdirNode: {node: node-2, path: /later}, expect: ok}',
        ),
      ),
      { seed: 4 },
    );
    s.runFor('90s');
    const w = (s as unknown as { run: { world: { backends: Map<string, { model: NfsServer }> } } }).run.world;
    w.backends.get('nfs-1')!.model.outage();
    const r = s.runScenario();
    expect(r.results.map((x) => [x.action, x.ok, x['error']])).to.deep.equal([
      ['write', false, 'still blocked'],
      ['mkdirNode', false, 'not run: action 0 before it at the same time is still blocked'],
      ['mkdirNode', true, undefined],
    ]);
    expect(r.violations).to.deep.equal([]);
  });
});
