/**
 * Every scenario in examples/ runs, keeps every invariant and every `expect` it states, and
 * tells the story its walkthrough tells (the assertions below are what a user would look at).
 */
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Simulation } from '../../sim/index.ts';

const DIR = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('examples', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const seed of [1, 2, 3]) {
      it(`${file} (seed ${seed}) keeps every invariant and expectation`, () => {
        const sim = Simulation.load(`${DIR}${file}`, { seed });
        const r = sim.runScenario();
        expect(r.violations, JSON.stringify(r.violations, null, 1)).to.deep.equal([]);
      });
    }
  }

  it('claim-too-big: the claim stays Pending with the walkthrough\'s ProvisioningFailed until the PV grows', () => {
    const sim = Simulation.load(`${DIR}claim-too-big.yaml`);
    sim.runFor('1m');
    expect(sim.get('PersistentVolumeClaim', 'pvc-hostpath')!.status.phase).to.equal('Pending');
    expect(sim.get('Pod', 'busybox-use-pvc')!.status.phase).to.equal('Pending');
    const ev = sim.events().find((e) => e.involvedObject.name === 'pvc-hostpath' && e.reason === 'ProvisioningFailed');
    expect(ev).to.include({ type: 'Warning', message: 'storageclass.storage.k8s.io "node-local" not found', source: 'persistentvolume-controller' });
    sim.runFor('2m');
    expect(sim.get('PersistentVolumeClaim', 'pvc-hostpath')!.status.phase).to.equal('Bound');
    expect(sim.get('Pod', 'busybox-use-pvc')!.status.phase).to.equal('Running');
  });

  it('retain-reuse: the Released Retain volume keeps its claimRef and is not rebound until the claimRef is removed', () => {
    const sim = Simulation.load(`${DIR}retain-reuse.yaml`);
    sim.runFor('4m');
    const pv = sim.get('PersistentVolume', 'pv-hostpath')!;
    expect(pv.status.phase).to.equal('Released');
    expect(pv.spec.claimRef.name).to.equal('pvc-hostpath');
    expect(sim.get('PersistentVolumeClaim', 'pvc-hostpath-2')!.status.phase).to.equal('Pending');
    sim.runFor('4m');
    expect(sim.get('PersistentVolumeClaim', 'pvc-hostpath-2')!.status.phase).to.equal('Bound');
  });

  it('statefulset-storage: claims www-web-N are provisioned, bound, and reused by the recreated pods', () => {
    const sim = Simulation.load(`${DIR}statefulset-storage.yaml`);
    sim.runFor('10m');
    for (const n of [0, 1]) {
      const claim = sim.get('PersistentVolumeClaim', `www-web-${n}`)!;
      expect(claim.status.phase).to.equal('Bound');
      expect(claim.spec.volumeName).to.match(/^pvc-[0-9a-f-]{36}$/);
      expect(claim.spec.storageClassName).to.equal('rook-ceph-block');
    }
    const reads = sim.report().results.filter((r) => r.action === 'read');
    expect(reads.map((r) => r['data'])).to.deep.equal(['hello web-0\n', 'hello web-1\n']);
  });

  it('inline-rbd: the read-only RBD volume mounts; writes fail with Read-only file system', () => {
    const sim = Simulation.load(`${DIR}inline-rbd.yaml`);
    sim.runFor('3m');
    expect(sim.get('Pod', 'rbd')!.status.phase).to.equal('Running');
    expect(sim.report().results[1]).to.include({ ok: false, error: 'Read-only file system' });
  });

  it('nfs-outage: the claim created during the outage fails to provision, is retried, and is Bound once the server answers', () => {
    const sim = Simulation.load(`${DIR}nfs-outage.yaml`);
    sim.runScenario();
    const failed = sim.events().filter((e) => e.involvedObject.name === 'late' && e.reason === 'ProvisioningFailed');
    expect(failed.map((e) => e.message)).to.deep.equal(['failed to provision volume with StorageClass "nfs-hard": rpc error: code = DeadlineExceeded desc = context deadline exceeded']);
    expect(sim.get('PersistentVolumeClaim', 'late')!.status.phase).to.equal('Bound');
  });

  it('ceph-monitor-outage: without quorum www-web-1 fails to provision (deadline, then the hung call\'s lock), then is Bound to one volume', () => {
    const sim = Simulation.load(`${DIR}ceph-monitor-outage.yaml`);
    sim.runScenario();
    const uid = sim.get('PersistentVolumeClaim', 'www-web-1')!.metadata.uid;
    const failed = sim.events().filter((e) => e.involvedObject.name === 'www-web-1' && e.reason === 'ProvisioningFailed');
    expect(failed.map((e) => e.message.replace(/^failed to provision volume with StorageClass "rook-ceph-block": /, ''))).to.deep.equal([
      'rpc error: code = DeadlineExceeded desc = context deadline exceeded',
      `rpc error: code = Aborted desc = an operation with the given Volume ID pvc-${uid} already exists`,
    ]);
    expect(failed.every((e) => e.lastAtMs < 180_000)).to.equal(true);
    expect(sim.list('PersistentVolume').map((pv) => pv.spec.claimRef.name).sort()).to.deep.equal(['www-web-0', 'www-web-1']);
    expect(sim.get('Pod', 'web-1')!.status.phase).to.equal('Running');
  });

  it('wiped-local-path: the pod starts again on node-1 with an empty volume; the lost write is an expected-data-loss warning', () => {
    const sim = Simulation.load(`${DIR}wiped-local-path.yaml`);
    const r = sim.runScenario();
    const app = sim.get('Pod', 'app')!;
    expect([app.spec.nodeName, app.status.phase, app.status.containerStatuses[0].restartCount]).to.deep.equal(['node-1', 'Running', 1]);
    expect(r.warnings.map((w) => w.warning)).to.deep.equal(['expected-data-loss']);
  });
});
