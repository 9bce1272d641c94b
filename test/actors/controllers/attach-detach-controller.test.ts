import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  attachDetachController,
  csiUniqueVolumeName,
  rbdUniqueVolumeName,
  sha256Hex,
  volumeAttachmentName,
  TAINT_OUT_OF_SERVICE,
} from '../../../actors/controllers/attach-detach-controller.ts';
import type { CsiCall } from '../../../backends/protocol.ts';
import type { Component } from '../../../src/component.ts';
import type { KObject } from '../../../src/protocol.ts';
import { ScriptedCluster } from '../../helpers/scripted-cluster.ts';

/** The API server and the backends as the attach-detach controller sees them (scripted). */
class World extends ScriptedCluster {
  constructor(readonly attachRequired: (driver: string) => boolean = (d) => d !== 'nfs.csi.k8s.io') {
    super('persistentvolume-attach-detach-controller');
    this.c = this.boot();
  }

  boot(): Component {
    this.c = attachDetachController(this.port, { csiAttachRequired: this.attachRequired });
    this.c.start?.();
    // Its informers list what exists, then watch.
    this.pump();
    return this.c;
  }

  publishes(node?: string): CsiCall[] {
    return this.csiCalls.map((c) => c.call).filter((c) => c.method === 'ControllerPublishVolume' && (!node || (c as { nodeId: string }).nodeId === node));
  }

  unpublishes(): CsiCall[] {
    return this.csiCalls.map((c) => c.call).filter((c) => c.method === 'ControllerUnpublishVolume');
  }

  vas(): KObject[] {
    return [...this.objs.values()].filter((o) => o.kind === 'VolumeAttachment');
  }
}

// --- fixtures ----------------------------------------------------------------------------------

function node(name: string, o: { ready?: boolean; inUse?: string[]; taints?: { key: string; effect: string }[] } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: o.taints ? { taints: o.taints } : {},
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'Unknown' : 'True' }],
      ...(o.inUse ? { volumesInUse: o.inUse } : {}),
    },
  };
}

interface PvSource {
  csi?: { driver: string; volumeHandle: string; volumeAttributes?: Record<string, string> };
  rbd?: { monitors: string[]; pool: string; image: string };
  nfs?: { server: string; path: string };
  local?: { path: string };
  hostPath?: { path: string };
}

const RBD_CSI: PvSource = { csi: { driver: 'rbd.csi.ceph.com', volumeHandle: '0001-ceph-replicapool-csi-vol-1', volumeAttributes: { clusterID: 'ceph' } } };
const RBD_IN_TREE: PvSource = { rbd: { monitors: ['mon-a'], pool: 'replicapool', image: 'img-1' } };

/** A PV bound to claim `data` in `default`, and the claim. */
function boundClaim(w: World, src: PvSource, accessModes: string[], claim = 'data', pvName = 'pv-1'): void {
  const pvc = w.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claim, namespace: 'default' },
    spec: { accessModes, volumeName: pvName, resources: { requests: { storage: '1Gi' } } },
    status: { phase: 'Bound' },
  });
  w.put({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: pvName },
    spec: { ...src, accessModes, capacity: { storage: '1Gi' }, claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: claim, uid: pvc.metadata.uid } },
    status: { phase: 'Bound' },
  });
}

function pod(name: string, nodeName: string, volumes: Record<string, unknown>[], o: { ns?: string; deleting?: boolean; running?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.ns ?? 'default', ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:01:00Z' } : {}) },
    spec: { nodeName, containers: [{ name: 'app', image: 'nginx' }], volumes },
    status: {
      phase: 'Running',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx', imageID: '', state: o.running === false ? { terminated: { exitCode: 0 } } : { running: {} } }],
    },
  };
}

const claimVolume = (claim = 'data') => [{ name: 'data', persistentVolumeClaim: { claimName: claim } }];
const RBD_CSI_UNIQUE = csiUniqueVolumeName('rbd.csi.ceph.com', '0001-ceph-replicapool-csi-vol-1');

/** Two Ready nodes, an RWO RBD volume attached to node-1 for pod app-a. */
function attachedOnNode1(src: PvSource = RBD_CSI, accessModes = ['ReadWriteOnce']): World {
  const w = new World();
  w.put(node('node-1'));
  w.put(node('node-2'));
  boundClaim(w, src, accessModes);
  w.put(pod('app-a', 'node-1', claimVolume()));
  w.advance(1000);
  return w;
}

describe('attach-detach controller', () => {
  // Each watch arrives on its own stream, so the pod, its claim and the claim's volume can reach
  // the controller in any order; only events a pass reads may start one (the claim of a pod, the
  // volume of such a claim), and none of those may be missed.
  const parts = ['pod', 'claim', 'volume'] as const;
  const orders = parts.flatMap((a) => parts.filter((b) => b !== a).map((b) => [a, b, parts.find((c) => c !== a && c !== b)!] as const));
  for (const order of orders) {
    it(`a pod's RBD volume is attached to its node whatever order the ${order.join(', then ')} arrive in`, () => {
      const w = new World();
      w.put(node('node-1'));
      const put = {
        pod: () => w.put(pod('app-a', 'node-1', claimVolume())),
        claim: () =>
          w.put({
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'data', namespace: 'default', uid: 'uid-claim' },
            spec: { accessModes: ['ReadWriteOnce'], volumeName: 'pv-1', resources: { requests: { storage: '1Gi' } } },
            status: { phase: 'Bound' },
          }),
        volume: () =>
          w.put({
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: 'pv-1' },
            spec: { ...RBD_CSI, accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data', uid: 'uid-claim' } },
            status: { phase: 'Bound' },
          }),
      };
      for (const part of order) {
        put[part]();
        w.advance(1000);
      }
      expect(w.publishes('node-1')).to.have.length(1);
      expect(w.vas().map((va) => va.spec.nodeName)).to.deep.equal(['node-1']);
    });
  }

  const rows = [
    { source: 'a CSI RBD volume', src: RBD_CSI, attacher: 'rbd.csi.ceph.com', volumeId: '0001-ceph-replicapool-csi-vol-1', unique: RBD_CSI_UNIQUE },
    { source: 'an in-tree RBD volume', src: RBD_IN_TREE, attacher: 'kubernetes.io/rbd', volumeId: 'replicapool/img-1', unique: rbdUniqueVolumeName('replicapool', 'img-1') },
  ];
  for (const row of rows) {
    it(`a claim on an RWO RBD volume attached to node-1 is not attached to node-2 (Multi-Attach error with the pods named): ${row.source}`, () => {
      const w = attachedOnNode1(row.src);
      // Attached to node-1 as the external-attacher does it.
      expect(w.publishes()).to.deep.equal([
        { method: 'ControllerPublishVolume', volumeId: row.volumeId, nodeId: 'node-1', capability: { accessMode: 'SINGLE_NODE_WRITER', accessType: 'mount' }, readonly: false },
      ]);
      expect(w.csiCalls[0]!.to).to.equal('backend/ceph');
      const vaName = volumeAttachmentName(row.volumeId, row.attacher, 'node-1');
      const va = w.get('VolumeAttachment', vaName)!;
      expect(va.spec).to.deep.equal({ attacher: row.attacher, nodeName: 'node-1', source: { persistentVolumeName: 'pv-1' } });
      expect(va.status).to.deep.equal({ attached: true, attachmentMetadata: {} });
      expect(w.get('Node', 'node-1')!.status.volumesAttached).to.deep.equal([{ name: row.unique, devicePath: '' }]);

      // A second and a third pod want it on node-2.
      w.put(pod('app-b', 'node-2', claimVolume()));
      w.put(pod('app-c', 'node-2', claimVolume()));
      w.advance(10_000);
      expect(w.publishes('node-2')).to.deep.equal([]);
      expect(w.vas().map((v) => v.spec.nodeName)).to.deep.equal(['node-1']);
      const msg = 'Warning FailedAttachVolume Multi-Attach error for volume "pv-1" Volume is already used by pod(s) app-a';
      expect(w.eventsFor('app-b')).to.deep.equal([msg]);
      expect(w.eventsFor('app-c')).to.deep.equal([msg]);
      expect(w.eventsFor('app-a')).to.deep.equal(['Normal SuccessfulAttachVolume AttachVolume.Attach succeeded for volume "pv-1" ']);
    });
  }

  it('a Multi-Attach with no pod left on the old node says the volume is exclusively attached', () => {
    const w = attachedOnNode1();
    w.change('Node', 'node-1', (n) => (n.status.volumesInUse = [RBD_CSI_UNIQUE]));
    // The pod is gone from node-1 but the kubelet still reports the volume in use.
    w.remove('Pod', 'app-a', 'default');
    w.put(pod('app-b', 'node-2', claimVolume()));
    w.advance(1000);
    expect(w.eventsFor('app-b')).to.deep.equal([
      `Warning FailedAttachVolume Multi-Attach error for volume "pv-1" Volume is already exclusively attached to one node and can't be attached to another`,
    ]);
    expect(w.publishes('node-2')).to.deep.equal([]);
  });

  it('the Multi-Attach event is emitted once per volume and node', () => {
    const w = attachedOnNode1();
    w.put(node('node-3'));
    w.put(pod('app-b', 'node-2', claimVolume()));
    w.advance(60_000);
    // Pod and node churn does not repeat it.
    w.change('Pod', 'app-b', (p) => (p.metadata.labels = { touched: 'yes' }), 'default');
    w.put(pod('app-c', 'node-2', claimVolume()));
    w.advance(60_000);
    // Another node is another (volume, node) pair.
    w.put(pod('app-d', 'node-3', claimVolume()));
    w.advance(60_000);
    const multi = w.events.filter((e) => e.message.startsWith('Multi-Attach error')).map((e) => e.involvedObject.name);
    expect(multi).to.deep.equal(['app-b', 'app-d']);
  });

  it('an RWX volume may be attached to two nodes', () => {
    const w = new World((d) => d === 'csi.example.com');
    w.put(node('node-1'));
    w.put(node('node-2'));
    boundClaim(w, { csi: { driver: 'csi.example.com', volumeHandle: 'vol-rwx' } }, ['ReadWriteMany']);
    w.put(pod('app-a', 'node-1', claimVolume()));
    w.put(pod('app-b', 'node-2', claimVolume()));
    w.advance(1000);
    expect(w.publishes().map((c) => (c as { nodeId: string }).nodeId)).to.deep.equal(['node-1', 'node-2']);
    expect(w.publishes()[0]).to.include({ volumeId: 'vol-rwx' });
    expect(w.csiCalls[0]!.to).to.equal('backend/csi.example.com');
    expect(w.vas().map((v) => [v.spec.nodeName, v.status.attached])).to.deep.equal(
      [['node-1', true], ['node-2', true]].sort((a, b) => (volumeAttachmentName('vol-rwx', 'csi.example.com', a[0] as string) < volumeAttachmentName('vol-rwx', 'csi.example.com', b[0] as string) ? -1 : 1)),
    );
    // No Multi-Attach error: each pod hears only that its node got the volume.
    for (const p of ['app-a', 'app-b']) expect(w.eventsFor(p)).to.deep.equal(['Normal SuccessfulAttachVolume AttachVolume.Attach succeeded for volume "pv-1" ']);
  });

  it('detach waits while the kubelet still reports the volume in use', () => {
    const w = attachedOnNode1();
    w.change('Node', 'node-1', (n) => (n.status.volumesInUse = [RBD_CSI_UNIQUE]));
    w.remove('Pod', 'app-a', 'default');
    w.advance(10 * 60_000);
    expect(w.unpublishes()).to.deep.equal([]);
    expect(w.vas()).to.have.length(1);
    expect(w.port.workTimers().length, 'no timer while waiting on a Ready node').to.equal(0);

    // The kubelet unmounted and says so.
    w.log.length = 0;
    w.change('Node', 'node-1', (n) => (n.status.volumesInUse = []));
    w.advance(1000);
    expect(w.unpublishes()).to.deep.equal([{ method: 'ControllerUnpublishVolume', volumeId: '0001-ceph-replicapool-csi-vol-1', nodeId: 'node-1' }]);
    expect(w.vas()).to.deep.equal([]);
    expect(w.get('Node', 'node-1')!.status.volumesAttached).to.equal(undefined);
    // The Node stops reporting it before the backend detaches, and the object goes last.
    const vaName = volumeAttachmentName('0001-ceph-replicapool-csi-vol-1', 'rbd.csi.ceph.com', 'node-1');
    expect(w.log).to.deep.equal(['updateStatus Node/node-1', 'csi ControllerUnpublishVolume', `delete VolumeAttachment/${vaName}`]);
  });

  for (const row of [
    { ready: true, detached: false },
    { ready: false, detached: true },
  ]) {
    it(`force detach after 6 minutes only when the node is not Ready (${row.ready ? 'Ready: waits' : 'NotReady: detaches'})`, () => {
      const w = attachedOnNode1();
      w.change('Node', 'node-1', (n) => {
        n.status.volumesInUse = [RBD_CSI_UNIQUE];
        if (!row.ready) n.status.conditions = [{ type: 'Ready', status: 'Unknown' }];
      });
      // The pod is force-deleted; the node's volumesInUse is stale.
      const deletedAt = w.port.nowMs;
      w.remove('Pod', 'app-a', 'default');
      w.put(pod('app-b', 'node-2', claimVolume()));
      w.advance(6 * 60_000 - 1);
      expect(w.unpublishes(), 'nothing before 6 minutes').to.deep.equal([]);
      w.advance(300);
      expect(w.unpublishes().length).to.equal(row.detached ? 1 : 0);
      if (row.detached) {
        // Detached at the first 100 ms tick after 6 minutes, then attached on node-2.
        const at = w.csiCalls.find((c) => c.call.method === 'ControllerUnpublishVolume')!.atMs;
        expect(at).to.be.greaterThan(deletedAt + 6 * 60_000);
        expect(at).to.be.at.most(deletedAt + 6 * 60_000 + 200);
        w.advance(1000);
        expect(w.publishes('node-2')).to.have.length(1);
        expect(w.vas().map((v) => v.spec.nodeName)).to.deep.equal(['node-2']);
      } else {
        // Heartbeats keep coming from the Ready node; none of them detaches.
        for (let i = 0; i < 6; i++) {
          w.change('Node', 'node-1', (n) => (n.status.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: `t${i}` }]));
          w.advance(10 * 60_000);
        }
        expect(w.unpublishes()).to.deep.equal([]);
        expect(w.publishes('node-2')).to.deep.equal([]);
      }
    });
  }

  it('the out-of-service taint detaches at once', () => {
    const w = attachedOnNode1();
    w.change('Node', 'node-1', (n) => {
      n.status.volumesInUse = [RBD_CSI_UNIQUE];
      n.status.conditions = [{ type: 'Ready', status: 'Unknown' }];
      n.spec.taints = [{ key: TAINT_OUT_OF_SERVICE, value: 'nodeshutdown', effect: 'NoExecute' }];
    });
    const t = w.port.nowMs;
    w.remove('Pod', 'app-a', 'default');
    w.advance(200);
    expect(w.unpublishes()).to.have.length(1);
    expect(w.csiCalls.find((c) => c.call.method === 'ControllerUnpublishVolume')!.atMs).to.be.at.most(t + 100);
  });

  it('a deleted pod whose containers still run keeps its volume attached', () => {
    const w = attachedOnNode1();
    // The node died: the pod is Terminating but its last status says running (case 96).
    w.change('Node', 'node-1', (n) => (n.status.conditions = [{ type: 'Ready', status: 'Unknown' }]));
    w.put(pod('app-a', 'node-1', claimVolume(), { deleting: true }));
    w.advance(30 * 60_000);
    expect(w.unpublishes()).to.deep.equal([]);
    // Once its containers are reported stopped, it is terminated and the volume goes.
    w.put(pod('app-a', 'node-1', claimVolume(), { deleting: true, running: false }));
    w.advance(1000);
    expect(w.unpublishes()).to.have.length(1);
  });

  it('NFS and hostPath volumes get no VolumeAttachment', () => {
    const w = new World();
    w.put(node('node-1'));
    w.put(node('node-2'));
    boundClaim(w, { nfs: { server: 'nfs-server', path: '/exports/a' } }, ['ReadWriteOnce'], 'nfs-claim', 'pv-nfs');
    boundClaim(w, { csi: { driver: 'nfs.csi.k8s.io', volumeHandle: 'nfs-server#exports#b', volumeAttributes: { server: 'nfs-server' } } }, ['ReadWriteOnce'], 'csi-nfs-claim', 'pv-csi-nfs');
    boundClaim(w, { local: { path: '/mnt/disks/a' } }, ['ReadWriteOnce'], 'local-claim', 'pv-local');
    boundClaim(w, { hostPath: { path: '/home/host-pv-dir' } }, ['ReadWriteOnce'], 'host-claim', 'pv-host');
    const volumes = [
      ...['nfs-claim', 'csi-nfs-claim', 'local-claim', 'host-claim'].map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
      { name: 'inline-nfs', nfs: { server: 'nfs-server', path: '/exports' } },
      { name: 'inline-host', hostPath: { path: '/data', type: 'DirectoryOrCreate' } },
      { name: 'scratch', emptyDir: {} },
    ];
    w.put(pod('app-a', 'node-1', volumes));
    w.put(pod('app-b', 'node-2', volumes));
    w.advance(60_000);
    expect(w.csiCalls).to.deep.equal([]);
    expect(w.log).to.deep.equal([]);
    expect(w.events).to.deep.equal([]);
  });

  it('an idle controller arms no timer', () => {
    const w = new World();
    w.put(node('node-1'));
    w.put(pod('web-0', 'node-1', [{ name: 'html', emptyDir: {} }]));
    expect(w.port.workTimers().length, 'pods without attachable volumes').to.equal(0);

    const a = attachedOnNode1();
    expect(a.port.workTimers().length, 'after an attach completed').to.equal(0);
    a.change('Pod', 'app-a', (p) => (p.status.podIP = '10.244.1.2'), 'default');
    expect(a.port.workTimers().length, 'pod status churn').to.equal(0);
  });

  it('a failed ControllerPublish emits FailedAttachVolume and retries with backoff from 500 ms', () => {
    const w = new World();
    let failures = 3;
    w.backend = (call) => (call.method === 'ControllerPublishVolume' && failures-- > 0 ? { code: 13, message: 'rbd: map failed' } : { code: 0 });
    w.put(node('node-1'));
    boundClaim(w, RBD_CSI, ['ReadWriteOnce']);
    w.put(pod('app-a', 'node-1', claimVolume()));
    w.advance(10_000);
    // Ticks every 100 ms; a retry waits more than 500 ms, 1 s, 2 s after each failure.
    expect(w.csiCalls.map((c) => c.atMs)).to.deep.equal([100, 700, 1800, 3900]);
    expect(w.eventsFor('app-a')).to.deep.equal([
      ...Array(3).fill('Warning FailedAttachVolume AttachVolume.Attach failed for volume "pv-1" : rpc error: code = Internal desc = rbd: map failed'),
      'Normal SuccessfulAttachVolume AttachVolume.Attach succeeded for volume "pv-1" ',
    ]);
    const va = w.vas()[0]!;
    expect(va.status.attached).to.equal(true);
    expect(w.get('Node', 'node-1')!.status.volumesAttached).to.have.length(1);
  });

  it('an attach error is written on the VolumeAttachment', () => {
    const w = new World();
    w.backend = () => ({ code: 9, message: 'volume is published to node node-9' });
    w.put(node('node-1'));
    boundClaim(w, RBD_CSI, ['ReadWriteOnce']);
    w.put(pod('app-a', 'node-1', claimVolume()));
    w.advance(150);
    const va = w.vas()[0]!;
    expect(va.status.attached).to.equal(false);
    expect(va.status.attachError.message).to.equal('rpc error: code = FailedPrecondition desc = volume is published to node node-9');
    expect(w.get('Node', 'node-1')!.status.volumesAttached).to.equal(undefined);
  });

  it('a restarted controller adopts the VolumeAttachments it finds and detaches what is no longer wanted', () => {
    const w = attachedOnNode1();
    w.remove('Pod', 'app-a', 'default');
    // Crash before the next tick: memory lost, then a fresh controller replays the world.
    w.port.timers.clear();
    w.port.take();
    w.boot();
    w.advance(1000);
    expect(w.unpublishes()).to.have.length(1);
    expect(w.vas()).to.deep.equal([]);
  });

  it('VolumeAttachment names are the CSI attacher\'s sha256', () => {
    for (const input of ['', 'abc', 'x'.repeat(55), 'y'.repeat(64), '0001-ceph-replicapool-csi-vol-1rbd.csi.ceph.comnode-1', 'ünïcode']) {
      expect(sha256Hex(input)).to.equal(createHash('sha256').update(input).digest('hex'));
    }
    expect(volumeAttachmentName('h', 'd', 'n')).to.equal(`csi-${createHash('sha256').update('hdn').digest('hex')}`);
  });
});
