/**
 * NFS as pods see it through the kubelet: RWX shared between nodes, and a server outage with
 * hard mounts (I/O blocks until the server is back, nothing lost) and soft mounts (I/O fails
 * with `Input/output error` after the retransmissions, nfs(5): timeo=600, retrans=2).
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { scenarioDoc, yamlDocs } from '../helpers/scenarios.ts';
import type { NfsServer } from '../../backends/nfs.ts';

function cluster(mountOptions: string): Simulation {
  const cls = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
parameters: {server: nfs-1, share: /exports}
${mountOptions}`;
  const claim = `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: shared}\nspec:\n  storageClassName: nfs\n  accessModes: [ReadWriteMany]\n  resources: {requests: {storage: 1Gi}}\n`;
  const pod = (n: string, node: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${n}}\nspec:\n  nodeSelector: {kubernetes.io/hostname: ${node}}\n  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]\n  volumes: [{name: v, persistentVolumeClaim: {claimName: shared}}]\n`;
  return Simulation.fromYaml(yamlDocs(cls, claim, pod('a', 'node-1'), pod('b', 'node-2'), scenarioDoc('duration: 30m')), { seed: 3 });
}

function server(s: Simulation): NfsServer {
  const w = (s as unknown as { run: { world: { backends: Map<string, { model: NfsServer }> } } }).run.world;
  return w.backends.get('nfs-1')!.model;
}

describe('NFS through the kubelet', () => {
  it('a write from one node is read from the other (ReadWriteMany really shared)', () => {
    const s = cluster('');
    s.runFor('1m');
    expect(s.exec('a').write('/data/x', 'shared').ok).to.equal(true);
    expect(s.exec('b').read('/data/x')).to.include({ ok: true, data: 'shared' });
  });

  it('hard mount: during an outage a write blocks, then completes when the server is back', () => {
    const s = cluster('');
    s.runFor('1m');
    server(s).outage();
    const blocked = s.exec('a').write('/data/x', 'written during the outage');
    expect(blocked).to.include({ ok: false, error: 'timed out waiting for a response' });
    s.runFor('5m');
    server(s).recover();
    s.runFor('11m');
    expect(s.exec('b').read('/data/x')).to.include({ ok: true, data: 'written during the outage' });
  });

  it('soft mount: during an outage a write fails with Input/output error after the retransmissions', () => {
    const s = cluster('mountOptions: [soft]\n');
    s.runFor('1m');
    const start = s.nowMs;
    server(s).outage();
    const r = s.act({ kind: 'write', pod: 'a', path: '/data/x', data: 'lost', append: false, namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never, '15m');
    expect(r).to.include({ ok: false, error: 'Input/output error' });
    // timeo 60 s growing linearly over 1 + retrans transmissions: 60 + 120 + 180 s.
    expect(s.nowMs - start).to.be.within(360_000, 361_000);
  });
});
