/**
 * Storage, DNS and clock faults (SPEC §1) as a user sees them: what `kubectl get` shows, the
 * Events, the results of reads, writes and lookups, and what the invariants say. One story per
 * fault kind, each a few simulated minutes.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';
import type { NfsServer } from '../../backends/nfs.ts';

const claim = (name: string, cls: string, modes = 'ReadWriteOnce') =>
  `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: ${name}}\nspec:\n  storageClassName: ${cls}\n  accessModes: [${modes}]\n  resources: {requests: {storage: 1Gi}}\n`;

function pod(name: string, claims: string[], node?: string): string {
  const mounts = claims.map((c) => `{name: ${c}, mountPath: /${c}}`).join(', ');
  const vols = claims.map((c) => `{name: ${c}, persistentVolumeClaim: {claimName: ${c}}}`).join(', ');
  return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n${node ? `  nodeSelector: {kubernetes.io/hostname: ${node}}\n` : ''}  containers: [{name: c, image: busybox, volumeMounts: [${mounts}]}]\n  volumes: [${vols}]\n`;
}

const NFS_CLASSES = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
parameters: {server: nfs-1, share: /exports}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs-soft}
provisioner: nfs.csi.k8s.io
parameters: {server: nfs-1, share: /exports}
mountOptions: [soft, timeo=100, retrans=2]
`;
const RBD_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: rbd}
provisioner: rbd.csi.ceph.com
parameters: {clusterID: ceph, pool: replicapool}
`;

type World = { backends: Map<string, { model: { volumes(): { volumeId: string }[] } }> };
const world = (s: Simulation) => (s as unknown as { run: { world: World } }).run.world;
const backendVolumes = (s: Simulation, name: string) => world(s).backends.get(name)!.model.volumes().map((v) => v.volumeId);
const events = (s: Simulation, reason: string, name?: string) => s.events().filter((e) => e.reason === reason && (name === undefined || e.involvedObject.name === name));
const phase = (s: Simulation, kind: string, name: string) => s.get(kind, name)?.status?.phase;

describe('storage, DNS and clock faults', () => {
  describe('outage of an NFS server', () => {
    const scenario = (actions: string) =>
      Simulation.fromYaml(
        yamlDocs(NFS_CLASSES, claim('hard', 'nfs', 'ReadWriteMany'), claim('soft', 'nfs-soft', 'ReadWriteMany'), pod('app', ['hard', 'soft']), scenarioDoc(`duration: 6m\nfaults:\n  - {at: 1m, outage: backend/nfs-1, for: 2m}\nactions:\n${actions}`)),
        { seed: 2 },
      );

    it('a hard mount blocks the write until the server is back, then acknowledges it; a soft mount fails it after timeo x retrans and stores nothing', () => {
      const s = scenario(
        '  - {at: 90s, write: {pod: app, path: /soft/f, data: lost}, expect: error}\n  - {at: 90s, write: {pod: app, path: /hard/f, data: kept}, expect: ok}\n  - {at: 5m, read: {pod: app, path: /hard/f}, expect: kept}\n  - {at: 5m, read: {pod: app, path: /soft/f}}',
      );
      // soft: timeo=100 (10 s), retrans 2: 10 + 20 + 30 s after 90 s, while the server is still down.
      s.runFor('2m35s');
      const mid = s.report().results;
      expect(mid[0]).to.include({ ok: false, error: 'Input/output error' });
      expect(mid[1]).to.include({ ok: false, error: 'still blocked' });
      const r = s.runScenario();
      expect(r.results.map((x) => [x.ok, x['error'] ?? x['data'] ?? null])).to.deep.equal([
        [false, 'Input/output error'],
        [true, null],
        [true, 'kept'],
        [false, 'No such file or directory'],
      ]);
      expect(r.violations).to.deep.equal([]);
    });

    it('provisioning on a down server fails (DeadlineExceeded after the provisioner\'s 10 s) and is retried until the claim is Bound', () => {
      const s = scenario(`  - {at: 70s, apply: ${JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'late' }, spec: { storageClassName: 'nfs', accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } })}}`);
      const r = s.runScenario();
      const failed = events(s, 'ProvisioningFailed', 'late');
      expect(failed.map((e) => e.message)).to.deep.equal(['failed to provision volume with StorageClass "nfs": rpc error: code = DeadlineExceeded desc = context deadline exceeded']);
      expect(failed[0]!.count).to.be.greaterThan(1);
      expect(failed[0]!.lastAtMs).to.be.below(180_000);
      expect(phase(s, 'PersistentVolumeClaim', 'late')).to.equal('Bound');
      expect(r.violations).to.deep.equal([]);
    });

    it('a Delete volume released while its server is down gets VolumeFailedDelete, stays Released, and goes once the server is back', () => {
      const s = scenario('  - {at: 90s, delete: pod/app}\n  - {at: 100s, delete: persistentvolumeclaim/hard}');
      const pv = () => s.list('PersistentVolume').find((p) => p.spec.claimRef?.name === 'hard');
      s.runFor('1m');
      const name = pv()!.metadata.name!;
      s.runFor('2m');
      expect(phase(s, 'PersistentVolume', name)).to.equal('Released');
      const r = s.runScenario();
      expect(events(s, 'VolumeFailedDelete', name).map((e) => [e.source, e.message])).to.deep.equal([
        ['nfs.csi.k8s.io_external-provisioner', 'rpc error: code = DeadlineExceeded desc = context deadline exceeded'],
      ]);
      expect(s.get('PersistentVolume', name)).to.equal(undefined);
      expect(r.violations).to.deep.equal([]);
    });
  });

  it('a Retain volume keeps its data through a node crash and an outage of its server', () => {
    const pv = `apiVersion: v1
kind: PersistentVolume
metadata: {name: kept}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  nfs: {server: nfs-1, path: /exports/kept}
`;
    const c = `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  storageClassName: ""\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n`;
    const s = Simulation.fromYaml(
      yamlDocs(pv, c, pod('app', ['data'], 'node-1'), scenarioDoc('duration: 8m\nfaults:\n  - {at: 90s, crash: node/node-1, for: 1m}\n  - {at: 2m, outage: backend/nfs-1, for: 2m}\nactions:\n  - {at: 1m, write: {pod: app, path: /data/f, data: precious}, expect: ok}\n  - {at: 5m, delete: pod/app}\n  - {at: 6m, delete: persistentvolumeclaim/data}')),
      { seed: 1 },
    );
    const r = s.runScenario();
    expect(phase(s, 'PersistentVolume', 'kept')).to.equal('Released');
    const server = (world(s).backends.get('nfs-1')!.model as unknown as NfsServer).fs;
    expect(server.readFile('/exports/kept/f')).to.deep.equal({ data: 'precious' });
    expect(r.violations).to.deep.equal([]);
  });

  describe('outage of Ceph monitors', () => {
    const ceph = (faults: string) =>
      Simulation.fromYaml(
        yamlDocs(RBD_CLASS, scenarioDoc(`duration: 5m\nfaults:\n${faults}\nactions:\n  - {at: 1m, apply: ${JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { storageClassName: 'rbd', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } })}}`)),
        { seed: 1 },
      );

    it('one monitor of three down keeps quorum: the claim is provisioned as usual', () => {
      const s = ceph('  - {at: 30s, outage: backend/ceph/mon-a, for: 3m}');
      s.runFor('70s');
      expect(phase(s, 'PersistentVolumeClaim', 'data')).to.equal('Bound');
      expect(events(s, 'ProvisioningFailed')).to.deep.equal([]);
    });

    it('the whole Ceph cluster out answers nothing: a write to a mapped image blocks until it is back, then is acknowledged', () => {
      const s = Simulation.fromYaml(
        yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('app', ['data']), scenarioDoc('duration: 5m\nfaults:\n  - {at: 1m, outage: backend/ceph, for: 1m}\nactions:\n  - {at: 70s, write: {pod: app, path: /data/f, data: late}, expect: ok}\n  - {at: 4m, read: {pod: app, path: /data/f}, expect: late}')),
        { seed: 1 },
      );
      s.runFor('2m');
      expect(s.report().results[0]).to.include({ ok: false, error: 'still blocked' });
      const r = s.runScenario();
      expect(r.results.map((x) => x.ok)).to.deep.equal([true, true]);
      expect(r.violations).to.deep.equal([]);
    });

    it('two of three down: no quorum, ProvisioningFailed (the hung CreateVolume, then its lock), Bound once quorum is back, exactly one volume', () => {
      const s = ceph('  - {at: 30s, outage: backend/ceph/mon-a, for: 2m}\n  - {at: 30s, outage: backend/ceph/mon-b, for: 2m}');
      s.runFor('2m25s');
      expect(phase(s, 'PersistentVolumeClaim', 'data')).to.equal('Pending');
      const r = s.runScenario();
      const uid = s.get('PersistentVolumeClaim', 'data')!.metadata.uid;
      expect(events(s, 'ProvisioningFailed', 'data').map((e) => e.message)).to.deep.equal([
        'failed to provision volume with StorageClass "rbd": rpc error: code = DeadlineExceeded desc = context deadline exceeded',
        `failed to provision volume with StorageClass "rbd": rpc error: code = Aborted desc = an operation with the given Volume ID pvc-${uid} already exists`,
      ]);
      expect(phase(s, 'PersistentVolumeClaim', 'data')).to.equal('Bound');
      expect(backendVolumes(s, 'ceph')).to.have.length(1);
      expect(r.violations).to.deep.equal([]);
    });
  });

  describe('csiError', () => {
    const rbdPod = (faults: string, seed = 1) =>
      Simulation.fromYaml(yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('app', ['data']), scenarioDoc(`duration: 6m\nfaults:\n${faults}`)), { seed });

    it('ControllerPublishVolume failing: FailedAttachVolume from the attach-detach controller, retried with backoff, attached after the heal', () => {
      const s = rbdPod('  - {at: 0s, csiError: {backend: backend/ceph, rpc: ControllerPublishVolume, code: INTERNAL}, for: 90s}');
      s.runFor('85s');
      expect(phase(s, 'Pod', 'app')).to.equal('Pending');
      const r = s.runScenario();
      const pv = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
      const failed = events(s, 'FailedAttachVolume', 'app');
      expect(failed.map((e) => [e.source, e.message])).to.deep.equal([
        ['attachdetach-controller', `AttachVolume.Attach failed for volume "${pv}" : rpc error: code = Internal desc = ControllerPublishVolume failed: injected by a csiError fault`],
      ]);
      expect(failed[0]!.count).to.be.greaterThan(3);
      expect(events(s, 'SuccessfulAttachVolume', 'app')[0]!.atMs).to.be.above(90_000);
      expect(phase(s, 'Pod', 'app')).to.equal('Running');
      expect(r.violations).to.deep.equal([]);
    });

    it('NodeStageVolume failing: the kubelet reports FailedMount with the rpc error and mounts after the heal', () => {
      const s = rbdPod('  - {at: 0s, csiError: {backend: backend/ceph, rpc: NodeStageVolume, code: UNAVAILABLE}, for: 2m}');
      const r = s.runScenario();
      const pv = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
      expect(events(s, 'FailedMount', 'app').map((e) => [e.source, e.message])).to.deep.include([
        'kubelet',
        `MountVolume.MountDevice failed for volume "${pv}" : rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /csi/csi.sock: connect: connection refused"`,
      ]);
      expect(phase(s, 'Pod', 'app')).to.equal('Running');
      expect(r.violations).to.deep.equal([]);
    });

    it('NodeUnstageVolume failing: the kubelet retries the unmount and keeps the volume in use meanwhile; the pod that wants it on another node gets it after the heal', () => {
      const b = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'node-2' }, containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] } });
      const s = Simulation.fromYaml(
        yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('a', ['data'], 'node-1'), scenarioDoc(`duration: 8m\nfaults:\n  - {at: 50s, csiError: {backend: backend/ceph, rpc: NodeUnstageVolume, code: INTERNAL}, for: 2m}\nactions:\n  - {at: 1m, write: {pod: a, path: /data/f, data: from-a}, expect: ok}\n  - {at: 1m, delete: pod/a}\n  - {at: 1m, apply: ${b}}\n  - {at: 7m, read: {pod: b, path: /data/f}, expect: from-a}`)),
        { seed: 1 },
      );
      s.runFor('2m30s');
      expect(s.get('Node', 'node-1')!.status.volumesInUse, 'still staged on node-1').to.have.length(1);
      expect(phase(s, 'Pod', 'b')).to.equal('Pending');
      const r = s.runScenario();
      expect(phase(s, 'Pod', 'b')).to.equal('Running');
      expect(r.violations).to.deep.equal([]);
    });

    it('CreateVolume past its deadline: ProvisioningFailed, and the idempotent retry binds the one volume it created', () => {
      const s = rbdPod('  - {at: 0s, csiError: {backend: backend/ceph, rpc: CreateVolume, code: DEADLINE_EXCEEDED, rate: 1.0}, for: 30s}');
      const r = s.runScenario();
      expect(events(s, 'ProvisioningFailed', 'data').map((e) => e.message)).to.deep.equal([
        'failed to provision volume with StorageClass "rbd": rpc error: code = DeadlineExceeded desc = context deadline exceeded',
      ]);
      expect(phase(s, 'PersistentVolumeClaim', 'data')).to.equal('Bound');
      expect(backendVolumes(s, 'ceph')).to.have.length(1);
      expect(r.violations).to.deep.equal([]);
    });
  });

  describe('wipeDisk', () => {
    const LOCAL_PATH = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;
    it('the node\'s local data is gone: reads give No such file or directory, and no-data-loss reports it as expected', () => {
      const s = Simulation.fromYaml(
        yamlDocs(LOCAL_PATH, claim('data', 'local-path'), pod('app', ['data'], 'node-1'), scenarioDoc('duration: 5m\nfaults:\n  - {at: 2m, crash: node/node-1, for: 1m}\n  - {at: 2m, wipeDisk: node/node-1}\nactions:\n  - {at: 1m, write: {pod: app, path: /data/f, data: precious}, expect: ok}\n  - {at: 4m, read: {pod: app, path: /data/f}}')),
        { seed: 1 },
      );
      const r = s.runScenario();
      expect(r.results[1]).to.include({ ok: false, error: 'No such file or directory' });
      expect(r.violations).to.deep.equal([]);
      expect(r.warnings.map((w) => [w.warning, w.message])).to.deep.equal([
        ['expected-data-loss', '/f written through claim default/data on node-1 at 60000ms ("precious") is gone on purpose: node-1\'s disk was wiped at 120000ms'],
      ]);
      // The image went with the disk: the restarted container pulls it again.
      expect(events(s, 'Pulling', 'app')[0]!.count).to.equal(2);
    });

    it('a claim deleted with reclaim policy Delete took its data on purpose: expected-data-loss, not a violation', () => {
      const s = Simulation.fromYaml(
        yamlDocs(NFS_CLASSES, claim('data', 'nfs', 'ReadWriteMany'), pod('app', ['data']), scenarioDoc('duration: 4m\nactions:\n  - {at: 1m, write: {pod: app, path: /data/f, data: gone}, expect: ok}\n  - {at: 2m, delete: pod/app}\n  - {at: 2m, delete: persistentvolumeclaim/data}')),
        { seed: 1 },
      );
      const r = s.runScenario();
      expect(r.violations).to.deep.equal([]);
      expect(r.warnings.map((w) => w.warning)).to.deep.equal(['expected-data-loss']);
      expect(r.warnings[0]!.message).to.match(/^\/f written through claim default\/data on node-\d at 60000ms \("gone"\) is gone on purpose: claim default\/data was deleted and its volume pvc-[0-9a-f-]+ \(reclaim policy Delete\) was deleted with it$/);
    });
  });

  describe('dnsFailure', () => {
    const web = (faults: string, actions: string) =>
      Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), scenarioDoc(`duration: 3m\nfaults:\n${faults}\nactions:\n${actions}`)), { seed: 1 });

    it('SERVFAIL: a name the cache holds still answers, the others are SERVFAIL until the heal', () => {
      const s = web(
        '  - {at: 60s, dnsFailure: {mode: SERVFAIL}, for: 1m}',
        '  - {at: 58s, nslookup: web-0.nginx}\n  - {at: 61s, nslookup: web-0.nginx}\n  - {at: 61s, nslookup: {name: web-1.nginx, expect: SERVFAIL}}\n  - {at: 90s, nslookup: {name: web-0.nginx, expect: SERVFAIL}}\n  - {at: 2m30s, nslookup: web-1.nginx}',
      );
      const r = s.runScenario();
      const ip0 = s.get('Pod', 'web-0')!.status.podIP;
      const ip1 = s.get('Pod', 'web-1')!.status.podIP;
      expect(r.results.map((x) => x['error'] ?? x['answers'])).to.deep.equal([[ip0], [ip0], 'SERVFAIL', 'SERVFAIL', [ip1]]);
      expect(r.violations).to.deep.equal([]);
    });

    it('timeout: nothing answers, and nslookup reports timed out after its two 5 s tries', () => {
      const s = web('  - {at: 60s, dnsFailure: {mode: timeout, rate: 1.0}, for: 30s}', '  - {at: 70s, nslookup: {name: web-0.nginx, expect: timed out}}\n  - {at: 2m, nslookup: web-0.nginx}');
      const r = s.runScenario();
      expect(r.results.map((x) => [x.ok, x['error'] ?? null])).to.deep.equal([
        [false, 'timed out'],
        [true, null],
      ]);
      expect(r.violations).to.deep.equal([]);
    });
  });

  describe('clockSkew (kubernetes/kubernetes#113081)', () => {
    const skewed = (by: string) => Simulation.fromYaml(scenarioDoc(`duration: 7m\nfaults:\n  - {at: 1m, clockSkew: {node: node-1, by: ${by}}, for: 3m}`), { seed: 1 });
    const notReady = (s: Simulation) => events(s, 'NodeNotReady', 'node-1').map((e) => e.atMs);

    it('a clock that jumps back makes a healthy node go Unknown for a while: its lease renewals look older than the last one seen', () => {
      const s = skewed('-90s');
      let unknownAtMs: number | undefined;
      s.runUntil((x) => {
        const ready = (x.get('Node', 'node-1')!.status.conditions as { type: string; status: string }[]).find((c) => c.type === 'Ready');
        if (ready?.status === 'Unknown') unknownAtMs ??= x.nowMs;
        return unknownAtMs !== undefined;
      }, { timeout: '3m' });
      // Renewals stamped 90 s back pass the last one seen only after 90 s; 40 s of grace end first.
      expect(unknownAtMs).to.be.within(60_000 + 30_000, 60_000 + 50_000);
      expect(s.get('Lease', 'node-1', 'kube-node-lease')!.spec.renewTime < '2025-01-01T00:01:00.000000Z').to.equal(true);
      s.runScenario();
      expect(notReady(s).length).to.be.greaterThan(0);
      expect(notReady(s).every((t) => t < 240_000)).to.equal(true);
    });

    it('a clock that jumps ahead changes nothing until the skew heals, which is a jump back', () => {
      const s = skewed('90s');
      s.runFor('4m');
      expect(notReady(s)).to.deep.equal([]);
      expect(s.get('Lease', 'node-1', 'kube-node-lease')!.spec.renewTime > '2025-01-01T00:05:00.000000Z').to.equal(true);
      s.runScenario();
      expect(notReady(s)).to.have.length(1);
      expect(notReady(s)[0]).to.be.within(240_000 + 30_000, 240_000 + 50_000);
    });
  });
});
