import { expect } from 'chai';
import { externalProvisioner, formatBinarySI } from '../../../actors/controllers/external-provisioner.ts';
import type { KObject, Msg, NodeShellRequest } from '../../../src/protocol.ts';
import type { CsiCall } from '../../../backends/protocol.ts';
import { ScriptedCluster, type CsiReply as Reply } from '../../helpers/scripted-cluster.ts';

const SERVED = new Set(['rbd.csi.ceph.com', 'csi.example.com', 'nfs.csi.k8s.io', 'rancher.io/local-path', 'hostpath.csi.k8s.io']);

/** The API server, the backends and the kubelets' node shells, scripted. */
class World extends ScriptedCluster {
  readonly shells: { to: string; req: NodeShellRequest }[] = [];
  shell: (req: NodeShellRequest) => { ok: boolean; error?: string } = () => ({ ok: true });

  constructor() {
    super('external-provisioner');
    this.backend = (call) =>
      call.method === 'CreateVolume' ? { code: 0, result: { volumeId: `vol-${call.name}`, capacityBytes: call.capacityBytes, volumeContext: { pool: 'replicapool' } } } : { code: 0 };
    this.c = externalProvisioner(this.port, { provisioners: (p) => SERVED.has(p) });
    this.c.start?.();
    this.pump();
  }

  protected override other(to: string, msg: Msg): boolean {
    if (msg.type !== 'node.request') return false;
    this.shells.push({ to, req: msg });
    this.log.push(`shell ${msg.op} ${msg.node} ${msg.path}`);
    this.c.receive({ type: 'shell.response', reqId: msg.reqId, ...this.shell(msg) }, to);
    return true;
  }

  creates(): { atMs: number; name: string }[] {
    return this.csiCalls.filter((c) => c.call.method === 'CreateVolume').map((c) => ({ atMs: c.atMs, name: (c.call as { name: string }).name }));
  }
}

// --- fixtures ----------------------------------------------------------------------------------

function storageClass(name: string, provisioner: string, o: { wffc?: boolean; parameters?: Record<string, string>; reclaimPolicy?: string; mountOptions?: string[] } = {}): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
    parameters: o.parameters ?? {},
    reclaimPolicy: o.reclaimPolicy ?? 'Delete',
    volumeBindingMode: o.wffc ? 'WaitForFirstConsumer' : 'Immediate',
    ...(o.mountOptions ? { mountOptions: o.mountOptions } : {}),
  };
}

function claim(name: string, cls: string, provisioner: string, o: { node?: string; modes?: string[]; size?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: 'default',
      uid: `u-${name}`,
      annotations: { 'volume.kubernetes.io/storage-provisioner': provisioner, ...(o.node ? { 'volume.kubernetes.io/selected-node': o.node } : {}) },
    },
    spec: { accessModes: o.modes ?? ['ReadWriteOnce'], storageClassName: cls, resources: { requests: { storage: o.size ?? '1Gi' } }, volumeMode: 'Filesystem' },
    status: { phase: 'Pending' },
  };
}

const RBD_CLASS = storageClass('ceph-rbd', 'rbd.csi.ceph.com', {
  parameters: { clusterID: 'ceph', pool: 'replicapool', 'csi.storage.k8s.io/fstype': 'ext4', 'csi.storage.k8s.io/provisioner-secret-name': 'csi-rbd-secret' },
  mountOptions: ['discard'],
});

describe('external provisioner', () => {
  it('a claim of an external class is provisioned into a PV named pvc-<uid> bound by claimRef', () => {
    const w = new World();
    w.put(RBD_CLASS);
    const pvc = w.put(claim('www-web-0', 'ceph-rbd', 'rbd.csi.ceph.com'));
    w.advance(100);
    expect(w.csiCalls).to.have.length(1);
    expect(w.csiCalls[0]!.to).to.equal('backend/ceph');
    expect(w.csiCalls[0]!.call).to.deep.equal({
      method: 'CreateVolume',
      name: 'pvc-u-www-web-0',
      capacityBytes: 2 ** 30,
      capabilities: [{ accessMode: 'SINGLE_NODE_WRITER', accessType: 'mount', fsType: 'ext4' }],
      parameters: { clusterID: 'ceph', pool: 'replicapool' },
    });
    const pv = w.get('PersistentVolume', 'pvc-u-www-web-0')!;
    expect(pv.metadata.annotations).to.deep.equal({ 'pv.kubernetes.io/provisioned-by': 'rbd.csi.ceph.com' });
    const { volumeAttributes, ...csi } = pv.spec.csi;
    expect(csi).to.deep.equal({ driver: 'rbd.csi.ceph.com', volumeHandle: 'vol-pvc-u-www-web-0', fsType: 'ext4' });
    expect(volumeAttributes.pool).to.equal('replicapool');
    expect(volumeAttributes.clusterID).to.equal('ceph');
    expect(volumeAttributes['storage.kubernetes.io/csiProvisionerIdentity']).to.match(/^\d+-\d+-rbd\.csi\.ceph\.com$/);
    const { csi: _csi, ...rest } = pv.spec;
    expect(rest).to.deep.equal({
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '1Gi' },
      claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'www-web-0', uid: 'u-www-web-0', apiVersion: 'v1', resourceVersion: pvc.metadata.resourceVersion },
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'ceph-rbd',
      volumeMode: 'Filesystem',
      mountOptions: ['discard'],
    });
    expect(w.eventsFor('www-web-0')).to.deep.equal([
      'Normal Provisioning External provisioner is provisioning volume for claim "default/www-web-0"',
      'Normal ProvisioningSucceeded Successfully provisioned volume pvc-u-www-web-0',
    ]);
    expect(w.events.every((e) => e.source === 'rbd.csi.ceph.com_external-provisioner')).to.equal(true);

    // Claim updates and a resync never provision it again.
    w.put({ ...w.get('PersistentVolumeClaim', 'www-web-0', 'default')!, metadata: { ...w.get('PersistentVolumeClaim', 'www-web-0', 'default')!.metadata, labels: { a: 'b' } } });
    w.advance(60_000);
    expect(w.creates()).to.have.length(1);
  });

  it('claims it does not serve, WaitForFirstConsumer claims without a node and bound claims are left alone', () => {
    const w = new World();
    w.put(RBD_CLASS);
    w.put(storageClass('wffc', 'csi.example.com', { wffc: true }));
    w.put(storageClass('other', 'example.com/other'));
    w.put(claim('a', 'wffc', 'csi.example.com'));
    w.put(claim('b', 'other', 'example.com/other'));
    w.put({ ...claim('c', 'ceph-rbd', 'rbd.csi.ceph.com'), spec: { ...claim('c', 'ceph-rbd', 'rbd.csi.ceph.com').spec, volumeName: 'pv-static' } });
    w.put({ ...claim('d', 'ceph-rbd', 'rbd.csi.ceph.com'), metadata: { name: 'd', namespace: 'default', uid: 'u-d' } });
    w.advance(10_000);
    expect(w.csiCalls).to.deep.equal([]);
    expect(w.events).to.deep.equal([]);
    // The scheduler picks a node: now it is provisioned there.
    w.put(claim('a', 'wffc', 'csi.example.com', { node: 'node-2' }));
    w.advance(100);
    expect(w.csiCalls.map((c) => [c.to, (c.call as { accessibleNode?: string }).accessibleNode])).to.deep.equal([['backend/csi.example.com', 'node-2']]);
  });

  for (const row of [
    { case: 'Unavailable', reply: { code: 14, message: 'connection refused' } as Reply, text: 'rpc error: code = Unavailable desc = connection refused' },
    { case: 'no answer within 10 s', reply: 'hold' as Reply, text: 'rpc error: code = DeadlineExceeded desc = context deadline exceeded' },
    { case: 'Aborted', reply: { code: 10, message: 'an operation with the given Volume ID pvc-u-data already exists' } as Reply, text: 'rpc error: code = Aborted desc = an operation with the given Volume ID pvc-u-data already exists' },
  ]) {
    it(`an Unavailable CreateVolume is retried with the same name (${row.case})`, () => {
      const w = new World();
      let failures = 2;
      w.backend = (call) => (failures-- > 0 ? row.reply : { code: 0, result: { volumeId: 'vol-1', capacityBytes: (call as { capacityBytes: number }).capacityBytes } });
      w.put(RBD_CLASS);
      w.put(claim('data', 'ceph-rbd', 'rbd.csi.ceph.com'));
      // The claim goes away meanwhile: the half-created volume is still finished.
      w.advance(1);
      w.remove('PersistentVolumeClaim', 'data', 'default');
      w.advance(120_000);
      const creates = w.creates();
      expect(creates.map((c) => c.name)).to.deep.equal(['pvc-u-data', 'pvc-u-data', 'pvc-u-data']);
      const t = row.reply === 'hold' ? 10_000 : 0;
      // 1 s, then 2 s after each failure (plus the 10 s timeout when no answer comes).
      expect(creates.map((c) => c.atMs)).to.deep.equal([0, t + 1_000, 2 * t + 3_000]);
      expect(w.eventsFor('data').filter((e) => e.startsWith('Warning'))).to.deep.equal(
        Array(2).fill(`Warning ProvisioningFailed failed to provision volume with StorageClass "ceph-rbd": ${row.text}`),
      );
      expect(w.get('PersistentVolume', 'pvc-u-data')).to.not.equal(undefined);
    });
  }

  it('a claim is never provisioned twice while its CreateVolume is in flight', () => {
    const w = new World();
    const held: CsiCall[] = [];
    w.backend = (call) => (held.push(call), 'hold');
    w.put(RBD_CLASS);
    w.put(claim('data', 'ceph-rbd', 'rbd.csi.ceph.com'));
    for (let i = 0; i < 5; i++) {
      w.advance(1_000);
      w.put({ ...claim('data', 'ceph-rbd', 'rbd.csi.ceph.com'), metadata: { ...claim('data', 'ceph-rbd', 'rbd.csi.ceph.com').metadata, labels: { n: String(i) } } });
      w.put(RBD_CLASS);
    }
    expect(w.creates().map((c) => c.atMs)).to.deep.equal([0]);
  });

  it('a final error emits ProvisioningFailed and retries with backoff', () => {
    const w = new World();
    let failures = 4;
    w.backend = (call) => (failures-- > 0 ? { code: 3, message: 'missing required parameter imageFeatures' } : { code: 0, result: { volumeId: 'vol-1', capacityBytes: (call as { capacityBytes: number }).capacityBytes } });
    w.put(RBD_CLASS);
    w.put(claim('data', 'ceph-rbd', 'rbd.csi.ceph.com'));
    w.advance(60_000);
    expect(w.creates().map((c) => c.atMs)).to.deep.equal([0, 1_000, 3_000, 7_000, 15_000]);
    expect(w.eventsFor('data').filter((e) => e.startsWith('Warning'))).to.deep.equal(
      Array(4).fill('Warning ProvisioningFailed failed to provision volume with StorageClass "ceph-rbd": rpc error: code = InvalidArgument desc = missing required parameter imageFeatures'),
    );
    expect(w.get('PersistentVolume', 'pvc-u-data')).to.not.equal(undefined);

    // A final error is not pursued once the claim is gone.
    const v = new World();
    v.backend = () => ({ code: 3, message: 'bad' });
    v.put(RBD_CLASS);
    v.put(claim('data', 'ceph-rbd', 'rbd.csi.ceph.com'));
    v.advance(1);
    v.remove('PersistentVolumeClaim', 'data', 'default');
    v.advance(60_000);
    expect(v.creates()).to.have.length(1);
    expect(v.port.workTimers().length).to.equal(0);
  });

  it('ResourceExhausted on the selected node removes the annotation so that the scheduler picks again', () => {
    const w = new World();
    w.backend = () => ({ code: 8, message: 'not enough space on node-1' });
    w.put(storageClass('topo', 'csi.example.com', { wffc: true }));
    w.put(claim('data', 'topo', 'csi.example.com', { node: 'node-1' }));
    w.advance(60_000);
    expect(w.creates()).to.have.length(1);
    expect(w.get('PersistentVolumeClaim', 'data', 'default')!.metadata.annotations).to.deep.equal({ 'volume.kubernetes.io/storage-provisioner': 'csi.example.com' });
    expect(w.eventsFor('data').at(-1)).to.equal('Warning ProvisioningFailed failed to provision volume with StorageClass "topo": rpc error: code = ResourceExhausted desc = not enough space on node-1');
  });

  for (const row of [
    {
      provisioner: 'rancher.io/local-path',
      path: '/opt/local-path-provisioner/pvc-u-data_default_data',
      source: { hostPath: { path: '/opt/local-path-provisioner/pvc-u-data_default_data', type: 'DirectoryOrCreate' } },
    },
    { provisioner: 'hostpath.csi.k8s.io', path: '/var/lib/csi-hostpath-data/pvc-u-data', source: { csi: { driver: 'hostpath.csi.k8s.io', volumeHandle: 'pvc-u-data' } } },
  ]) {
    it(`a node-local class creates the directory on the selected node (${row.provisioner})`, () => {
      const w = new World();
      w.put(storageClass('local', row.provisioner, { wffc: true }));
      w.put(claim('data', 'local', row.provisioner, { node: 'node-2', size: '128Mi' }));
      w.advance(100);
      expect(w.csiCalls).to.deep.equal([]);
      expect(w.shells.map((s) => [s.to, s.req.op, s.req.node, s.req.path])).to.deep.equal([['kubelet/node-2', 'mkdirNode', 'node-2', row.path]]);
      const pv = w.get('PersistentVolume', 'pvc-u-data')!;
      if (pv.spec.csi) delete pv.spec.csi.volumeAttributes;
      expect(pv.spec).to.deep.include({
        ...row.source,
        capacity: { storage: '128Mi' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-2'] }] }] } },
      });
      expect(w.log.indexOf(`shell mkdirNode node-2 ${row.path}`)).to.be.lessThan(w.log.indexOf('create PersistentVolume/pvc-u-data'));
    });
  }

  it('a node-local class without a selected node fails as local-path-provisioner does', () => {
    const w = new World();
    w.put(storageClass('local-immediate', 'rancher.io/local-path'));
    w.put(claim('data', 'local-immediate', 'rancher.io/local-path'));
    w.advance(100);
    expect(w.shells).to.deep.equal([]);
    expect(w.eventsFor('data')).to.deep.equal([
      'Normal Provisioning External provisioner is provisioning volume for claim "default/data"',
      'Warning ProvisioningFailed failed to provision volume with StorageClass "local-immediate": configuration error, no node was specified',
    ]);
  });

  it('a Released Delete volume is deleted on the backend, then the PV object goes', () => {
    const w = new World();
    let failures = 1;
    w.backend = (call) => (call.method === 'DeleteVolume' && failures-- > 0 ? { code: 13, message: 'rbd csi-vol-1 is still being used' } : { code: 0 });
    const pv = (name: string, o: { phase?: string; policy?: string; by?: string } = {}): KObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': o.by ?? 'rbd.csi.ceph.com' } },
      spec: {
        csi: { driver: 'rbd.csi.ceph.com', volumeHandle: `handle-${name}`, volumeAttributes: { clusterID: 'ceph' } },
        persistentVolumeReclaimPolicy: o.policy ?? 'Delete',
        claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'gone', uid: 'u-gone' },
      },
      status: { phase: o.phase ?? 'Released' },
    });
    w.put(pv('pv-bound', { phase: 'Bound' }));
    w.put(pv('pv-retain', { policy: 'Retain' }));
    w.put(pv('pv-other', { by: 'example.com/other' }));
    w.put(pv('pv-1'));
    w.advance(10_000);
    expect(w.csiCalls.map((c) => [c.to, c.call])).to.deep.equal([
      ['backend/ceph', { method: 'DeleteVolume', volumeId: 'handle-pv-1' }],
      ['backend/ceph', { method: 'DeleteVolume', volumeId: 'handle-pv-1' }],
    ]);
    expect(w.csiCalls.map((c) => c.atMs)).to.deep.equal([0, 1_000]);
    expect(w.eventsFor('pv-1')).to.deep.equal(['Warning VolumeFailedDelete rpc error: code = Internal desc = rbd csi-vol-1 is still being used']);
    expect(w.get('PersistentVolume', 'pv-1')).to.equal(undefined);
    expect(w.log.filter((l) => l.includes('pv-1') || l.startsWith('csi'))).to.deep.equal([
      'get PersistentVolume/pv-1',
      'csi DeleteVolume',
      'get PersistentVolume/pv-1',
      'csi DeleteVolume',
      'delete PersistentVolume/pv-1',
    ]);
    expect([...w.objs.keys()].sort()).to.deep.equal(['PersistentVolume//pv-bound', 'PersistentVolume//pv-other', 'PersistentVolume//pv-retain']);
  });

  it('a volume bound again before its deletion runs is kept (the PV is read again first)', () => {
    const w = new World();
    const released: KObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1', annotations: { 'pv.kubernetes.io/provisioned-by': 'rbd.csi.ceph.com' } },
      spec: { csi: { driver: 'rbd.csi.ceph.com', volumeHandle: 'h-1' }, persistentVolumeReclaimPolicy: 'Delete' },
      status: { phase: 'Released' },
    };
    w.put(released);
    // The API server already has it Bound; the watch event has not arrived yet.
    w.objs.get('PersistentVolume//pv-1')!.status.phase = 'Bound';
    w.advance(10_000);
    expect(w.csiCalls).to.deep.equal([]);
    expect(w.get('PersistentVolume', 'pv-1')).to.not.equal(undefined);
  });

  it('capacities print as Kubernetes prints binary quantities', () => {
    expect([2 ** 30, 5 * 2 ** 20, 1_000_000_000, 1536, 3 * 2 ** 40].map(formatBinarySI)).to.deep.equal(['1Gi', '5Mi', '1000000000', '1536', '3Ti']);
  });
});
