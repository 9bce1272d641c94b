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
});
