/**
 * The invariant checks are kept per change (sim/invariants/storage.ts: the pods that use each
 * claim, kept commit by commit) instead of scanning the cluster on every event. The scan is kept
 * as the reference: on runs with and without faults, both forms must answer every question the
 * same and report the same violations and warnings.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { Run } from '../../sim/run.ts';
import type { World } from '../../sim/world.ts';
import { StorageMonitor, incrementalClaimUsers, snapshotClaimUsers } from '../../sim/invariants/storage.ts';
import { desiredState, desiredStateByScan } from '../../sim/invariants/liveness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function monitor(w: World, snapshot: boolean): StorageMonitor {
  return new StorageMonitor(
    {
      store: w.store,
      get nowMs() {
        return w.nowMs;
      },
      csiAttachRequired: (d) => w.csiAttachRequired(d),
      backendType: (n) => w.backends.get(n)?.type,
      storageBackSinceMs: (ref) => w.storageBackSinceMs(ref),
    },
    { snapshot },
  );
}

/** An RWO NFS claim used from two nodes at once: Kubernetes allows it, ksim warns (rwo-not-enforced). */
const RWO_NFS_TWO_NODES = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
parameters: {server: nfs-1, share: /exports}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {storageClassName: nfs, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
${['node-1', 'node-2'].map((n, i) => `apiVersion: v1
kind: Pod
metadata: {name: p${i}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${n}}
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]
`).join('---\n')}---
apiVersion: ksim/v1
kind: Scenario
metadata: {name: two-nodes}
spec: {duration: 3m}
`;

const claimsOf = (p: Pod) => (p.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));

/** Runs `file` with `seed`, feeding both forms every commit; returns how they compared. */
function compare(file: string, seed: number): { questions: number; disagreements: string[]; snapshot: unknown; incremental: unknown; reported: number } {
  const loaded = file.includes('\n') ? loadScenarioText(file, 'two-nodes.yaml') : loadScenarioFile(`${ROOT}examples/${file}`);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  let questions = 0;
  const disagreements: string[] = [];
  let snap: StorageMonitor | undefined;
  let incr: StorageMonitor | undefined;
  const run = new Run(loaded.scenario, {
    hasher: sha256Hasher,
    seed,
    observe: (w) => {
      snap = monitor(w, true);
      incr = monitor(w, false);
      const byScan = snapshotClaimUsers(w.store);
      const kept = incrementalClaimUsers(w.store);
      w.store.onCommit((ev, obj, old) => {
        snap!.onCommit(ev, obj, old, w.nowMs);
        incr!.onCommit(ev, obj, old, w.nowMs);
        if (obj.kind === 'Pod') kept.onPodCommit(ev, obj as Pod, old as Pod | undefined);
        // Ask both forms about every claim this commit touches.
        const ns = obj.metadata.namespace ?? '';
        const claims = obj.kind === 'PersistentVolumeClaim' ? [obj.metadata.name!] : obj.kind === 'Pod' ? [...claimsOf(obj as Pod), ...(old ? claimsOf(old as Pod) : [])] : [];
        for (const c of claims) {
          questions++;
          const a = byScan.usersOf(ns, c).map((p) => p.metadata!.name);
          const b = kept.usersOf(ns, c).map((p) => p.metadata!.name);
          if (JSON.stringify(a) !== JSON.stringify(b)) disagreements.push(`${w.nowMs}ms ${ns}/${c}: scan ${JSON.stringify(a)}, kept ${JSON.stringify(b)}`);
        }
      });
    },
  });
  run.run();
  const out = (m: StorageMonitor) => ({ violations: m.violations, warnings: m.warnings });
  return { questions, disagreements, snapshot: out(snap!), incremental: out(incr!), reported: snap!.violations.length + snap!.warnings.length };
}

describe('incremental invariants agree with the snapshot form', () => {
  const rows: [string, number][] = [
    ['chaos-rbd-sts.yaml', 1],
    ['chaos-rbd-sts.yaml', 2],
    ['chaos-rbd-sts.yaml', 7],
    ['stateful-svc-hostpath.yaml', 1],
    ['storageclass-provisioning.yaml', 1],
    ['node-crash-force-delete.yaml', 1],
    [RWO_NFS_TWO_NODES, 3],
  ];
  let reported = 0;
  for (const [file, seed] of rows) {
    it(`${file.includes('\n') ? 'an RWO NFS claim used from two nodes' : file} seed ${seed}: the pods using each claim, and every violation and warning`, () => {
      const r = compare(file, seed);
      expect(r.questions, 'the run asked about some claim').to.be.greaterThan(0);
      expect(r.disagreements).to.deep.equal([]);
      expect(r.incremental).to.deep.equal(r.snapshot);
      reported += r.reported;
    });
  }
  it('those runs reported something to compare (a hazard at least)', () => {
    expect(reported).to.be.greaterThan(0);
  });
});

describe('converges: the desired state found through indexes agrees with the scan', () => {
  const rows: [string, number, number[]][] = [
    // [example, seed, instants to compare at (ms)]
    ['chaos-rbd-sts.yaml', 3, [60_000, 300_000, 900_000, 1_800_000]],
    ['dns-failure-rolling-update.yaml', 1, [60_000, 180_000]],
    ['node-crash-force-delete.yaml', 1, [60_000, 240_000]],
    ['statefulset-web.yaml', 1, [10_000, 120_000]],
  ];
  for (const [file, seed, instants] of rows) {
    it(`${file} seed ${seed}: the same items at ${instants.map((t) => `${t / 1000}s`).join(', ')}`, () => {
      const loaded = loadScenarioFile(`${ROOT}examples/${file}`);
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const run = new Run(loaded.scenario, { hasher: sha256Hasher, seed });
      let services = 0;
      for (const t of instants) {
        run.world.runUntil(t);
        const scan = desiredStateByScan(run.world.store);
        expect(desiredState(run.world.store)).to.deep.equal(scan);
        services += scan.filter((i) => i.key.startsWith('endpointslice ')).length;
      }
      expect(services, 'some Service was judged').to.be.greaterThan(0);
    });
  }
});
