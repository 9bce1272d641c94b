import { expect } from 'chai';
import { CephCluster, WATCHER_CHECKS_MS, cephRbdBackend, roundOffBytes } from '../../backends/ceph-rbd.ts';
import { GRPC, type CsiAccessMode, type CsiCall, type VolumeCapability } from '../../backends/protocol.ts';
import type { Msg } from '../../src/protocol.ts';
import { FakePort } from '../helpers/fake-port.ts';

const RWO: VolumeCapability = { accessMode: 'SINGLE_NODE_WRITER', accessType: 'mount', fsType: 'ext4' };
const GiB = 2 ** 30;

function create(name: string, o: { sizeBytes?: number; mode?: CsiAccessMode; accessType?: 'mount' | 'block'; parameters?: Record<string, string> } = {}): CsiCall {
  return {
    method: 'CreateVolume',
    name,
    capacityBytes: o.sizeBytes ?? GiB,
    capabilities: [{ accessMode: o.mode ?? 'SINGLE_NODE_WRITER', accessType: o.accessType ?? 'mount' }],
    parameters: o.parameters ?? { clusterID: 'ceph', pool: 'replicapool' },
  };
}

function stage(volumeId: string, nodeId: string, capability: VolumeCapability = RWO): CsiCall {
  return { method: 'NodeStageVolume', volumeId, nodeId, stagingPath: `/var/lib/kubelet/plugins/kubernetes.io/csi/rbd.csi.ceph.com/${volumeId.replace('/', '-')}/globalmount`, capability, volumeContext: {} };
}

function unstage(volumeId: string, nodeId: string): CsiCall {
  return { method: 'NodeUnstageVolume', volumeId, nodeId, stagingPath: '/staging' };
}

function answer(c: CephCluster, call: CsiCall, nowMs = 0) {
  const a = c.handle(call, nowMs);
  if (a === 'unavailable') throw new Error(`${call.method}: unavailable`);
  return a;
}

/** A cluster with one image, mapped read-write on node-1. */
function mappedOnNode1(): { ceph: CephCluster; id: string } {
  const ceph = new CephCluster('ceph');
  const id = answer(ceph, create('pvc-1')).result!.volumeId!;
  expect(answer(ceph, stage(id, 'node-1')).code).to.equal(GRPC.OK);
  return { ceph, id };
}

const write = (id: string, nodeId: string, data = 'x') => ({ volumeId: id, nodeId, op: 'write' as const, path: '/f', data });

describe('backends/ceph-rbd', () => {
  it('CreateVolume is idempotent for the same name', () => {
    const ceph = new CephCluster('ceph');
    const a = answer(ceph, create('pvc-1'));
    const b = answer(ceph, create('pvc-1'));
    expect(a.code).to.equal(GRPC.OK);
    expect(b).to.deep.equal(a);
    expect(a.result!.volumeId).to.match(/^replicapool\/csi-vol-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.result!.volumeContext).to.include({ pool: 'replicapool', imageName: a.result!.volumeId!.split('/')[1] });
    expect(ceph.volumes()).to.have.length(1);
  });

  it('an incompatible second CreateVolume is ALREADY_EXISTS', () => {
    const ceph = new CephCluster('ceph');
    const img = answer(ceph, create('pvc-1')).result!.volumeId!.split('/')[1];
    const a = answer(ceph, create('pvc-1', { sizeBytes: 5 * GiB }));
    expect([a.code, a.message]).to.deep.equal([GRPC.ALREADY_EXISTS, `volume name conflict: image with the same name (${img}) but with different size already exists`]);
  });

  it('pools, image names and sizes follow ceph-csi and the in-tree plugin', () => {
    const rows: { what: string; call: CsiCall; volumeId: RegExp; capacityBytes: number }[] = [
      { what: 'csi default pool', call: create('pvc-a', { parameters: { clusterID: 'ceph' } }), volumeId: /^replicapool\/csi-vol-/, capacityBytes: GiB },
      { what: 'csi pool parameter, MiB rounding', call: create('pvc-b', { sizeBytes: 100 * 2 ** 20 + 1, parameters: { clusterID: 'ceph', pool: 'fast' } }), volumeId: /^fast\/csi-vol-/, capacityBytes: 101 * 2 ** 20 },
      { what: 'csi GiB rounding', call: create('pvc-c', { sizeBytes: GiB + 1 }), volumeId: /^replicapool\/csi-vol-/, capacityBytes: 2 * GiB },
      { what: 'in-tree default pool', call: create('pvc-d', { parameters: { monitors: '10.0.0.1:6789' } }), volumeId: /^rbd\/kubernetes-dynamic-pvc-/, capacityBytes: GiB },
    ];
    const ceph = new CephCluster('ceph');
    for (const row of rows) {
      const a = answer(ceph, row.call);
      expect(a.result!.volumeId, row.what).to.match(row.volumeId);
      expect(a.result!.capacityBytes, row.what).to.equal(row.capacityBytes);
    }
    expect(roundOffBytes(0)).to.equal(GiB);
  });

  it('DeleteVolume of a missing volume is OK', () => {
    const ceph = new CephCluster('ceph');
    expect(answer(ceph, { method: 'DeleteVolume', volumeId: 'replicapool/csi-vol-nope' }).code).to.equal(GRPC.OK);
  });

  it('DeleteVolume of a watched image is INTERNAL still being used', () => {
    const { ceph, id } = mappedOnNode1();
    const a = answer(ceph, { method: 'DeleteVolume', volumeId: id });
    expect([a.code, a.message]).to.deep.equal([GRPC.INTERNAL, `rbd ${id.split('/')[1]} is still being used`]);
    answer(ceph, unstage(id, 'node-1'));
    expect(answer(ceph, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    expect(ceph.volumes()).to.deep.equal([]);
  });

  it('NodeStage on a new node fails while the dead node still watches the image', () => {
    const { ceph, id } = mappedOnNode1();
    ceph.nodeLost('node-1', 10_000);
    const rows = [10_000, 25_000, 39_999];
    for (const at of rows) {
      const a = answer(ceph, stage(id, 'node-2'), at);
      expect([a.code, a.message], `at ${at}`).to.deep.equal([GRPC.INTERNAL, `rbd image ${id} is still being used`]);
    }
    expect(ceph.attachments(39_999)).to.deep.equal([{ volumeId: id, nodeId: 'node-1' }]);
  });

  it('the watch times out 30 s after the node is lost and the new node can map', () => {
    const { ceph, id } = mappedOnNode1();
    ceph.nodeLost('node-1', 10_000);
    expect(answer(ceph, stage(id, 'node-2'), 40_000).code).to.equal(GRPC.OK);
    expect(ceph.attachments(40_000)).to.deep.equal([{ volumeId: id, nodeId: 'node-2' }]);
    expect(ceph.lockOwner(id)).to.equal('node-2');
    expect(ceph.file(write(id, 'node-2'), 40_001)).to.deep.equal({ ok: true });
  });

  it('a live client on another node keeps the image in use for good', () => {
    const { ceph, id } = mappedOnNode1();
    expect(answer(ceph, stage(id, 'node-2'), 3_600_000).code).to.equal(GRPC.INTERNAL);
  });

  it('a restarted node is a new client that waits for its own stale watch', () => {
    const { ceph, id } = mappedOnNode1();
    ceph.nodeLost('node-1', 0);
    expect(ceph.file(write(id, 'node-1'), 1)).to.deep.equal({ ok: false, error: 'Input/output error' });
    expect(answer(ceph, stage(id, 'node-1'), 5_000).code).to.equal(GRPC.INTERNAL);
    expect(answer(ceph, stage(id, 'node-1'), 30_000).code).to.equal(GRPC.OK);
  });

  it('a blocklisted client cannot write', () => {
    const { ceph, id } = mappedOnNode1();
    expect(ceph.file(write(id, 'node-1', 'before'), 0)).to.deep.equal({ ok: true });
    ceph.blocklist('node-1');
    const rows = [
      { op: 'write' as const, data: 'after' },
      { op: 'read' as const },
      { op: 'mkdir' as const },
    ];
    for (const row of rows) expect(ceph.file({ volumeId: id, nodeId: 'node-1', path: '/f', ...row }, 1), row.op).to.deep.equal({ ok: false, error: 'Input/output error' });
    // Fencing dropped the watch: another node maps at once, and sees what was written before.
    expect(answer(ceph, stage(id, 'node-2'), 2).code).to.equal(GRPC.OK);
    expect(ceph.file({ volumeId: id, nodeId: 'node-2', op: 'read', path: '/f' }, 3)).to.deep.equal({ ok: true, data: 'before' });
    expect(answer(ceph, stage('replicapool/other', 'node-1'), 4).code).to.equal(GRPC.INTERNAL);
    expect(ceph.blocklisted()).to.deep.equal(['node-1']);
    ceph.unblocklist('node-1');
    expect(ceph.blocklisted()).to.deep.equal([]);
  });

  it('taking the lock from a dead owner blocklists that client', () => {
    const { ceph, id } = mappedOnNode1();
    ceph.nodeLost('node-1', 0);
    expect(answer(ceph, stage(id, 'node-2'), 30_000).code).to.equal(GRPC.OK);
    // The old instance of node-1 is blocklisted, the restarted one is not.
    expect(ceph.blocklisted()).to.deep.equal(['node-1#0']);
    expect(ceph.isBlocklisted('node-1')).to.equal(false);
    expect(ceph.lockOwner(id)).to.equal('node-2');
  });

  it('without monitor quorum a new map hangs but a mapped client keeps writing', () => {
    const { ceph, id } = mappedOnNode1();
    const other = answer(ceph, create('pvc-2')).result!.volumeId!;
    ceph.monitorDown('mon-a');
    expect(ceph.hasQuorum()).to.equal(true);
    ceph.monitorDown('mon-b');
    expect(ceph.hasQuorum()).to.equal(false);
    const rows: [string, CsiCall][] = [
      ['map', stage(other, 'node-2')],
      ['CreateVolume', create('pvc-3')],
      ['DeleteVolume', { method: 'DeleteVolume', volumeId: other }],
    ];
    for (const [what, call] of rows) expect(ceph.handle(call, 1), what).to.equal('unavailable');
    expect(ceph.file(write(id, 'node-1', 'still'), 1)).to.deep.equal({ ok: true });
    expect(ceph.file({ volumeId: id, nodeId: 'node-1', op: 'read', path: '/f' }, 1)).to.deep.equal({ ok: true, data: 'still' });
    ceph.monitorUp('mon-b');
    expect(answer(ceph, stage(other, 'node-2'), 2).code).to.equal(GRPC.OK);
  });

  it('RWX filesystem RBD volumes are refused', () => {
    const ceph = new CephCluster('ceph');
    const rows: { what: string; call: CsiCall; code: number; message: string }[] = [
      { what: 'CreateVolume RWX mount', call: create('pvc-x', { mode: 'MULTI_NODE_MULTI_WRITER' }), code: GRPC.INVALID_ARGUMENT, message: 'multi node access modes are only supported on rbd `block` type volumes' },
      { what: 'CreateVolume RWX block', call: create('pvc-y', { mode: 'MULTI_NODE_MULTI_WRITER', accessType: 'block' }), code: GRPC.OK, message: '' },
      { what: 'CreateVolume ROX mount', call: create('pvc-z', { mode: 'MULTI_NODE_READER_ONLY' }), code: GRPC.OK, message: '' },
      {
        what: 'NodeStage RWX mount of a static volume',
        call: stage('rbd/static', 'node-1', { accessMode: 'MULTI_NODE_MULTI_WRITER', accessType: 'mount' }),
        code: GRPC.INVALID_ARGUMENT,
        message: 'rbd: RWX access mode request is only valid for volumes with access type `block`',
      },
    ];
    for (const row of rows) {
      const a = answer(ceph, row.call);
      expect([a.code, a.message], row.what).to.deep.equal([row.code, row.message]);
    }
  });

  it('ROX read-only maps on several nodes are fine and cannot write', () => {
    const ceph = new CephCluster('ceph');
    ceph.createImage('rbd', 'shared');
    const rox: VolumeCapability = { accessMode: 'MULTI_NODE_READER_ONLY', accessType: 'mount' };
    for (const node of ['node-1', 'node-2', 'node-3']) expect(answer(ceph, stage('rbd/shared', node, rox)).code, node).to.equal(GRPC.OK);
    expect(ceph.watchers('rbd/shared', 0)).to.deep.equal([]);
    expect(ceph.file(write('rbd/shared', 'node-2'), 0)).to.deep.equal({ ok: false, error: 'Read-only file system' });
    expect(ceph.attachments(0).map((a) => a.nodeId)).to.deep.equal(['node-1', 'node-2', 'node-3']);
  });

  it('the RBD backend waits for a dead watcher as ceph-csi does and answers when it expires', () => {
    const { ceph, id } = mappedOnNode1();
    const port = new FakePort('backend/ceph');
    const c = cephRbdBackend(port, { name: 'ceph', model: ceph });
    ceph.nodeLost('node-1', 0);
    port.nowMs = 5_000;
    c.receive({ type: 'csi.request', reqId: 's1', call: stage(id, 'node-2') } as unknown as Msg, 'kubelet/node-2');
    expect(port.take()).to.deep.equal([]);
    // A second call on that volume and node while ceph-csi holds its lock.
    c.receive({ type: 'csi.request', reqId: 's2', call: stage(id, 'node-2') } as unknown as Msg, 'kubelet/node-2');
    expect(port.take()).to.deep.equal([
      { to: 'kubelet/node-2', msg: { type: 'csi.response', reqId: 's2', code: GRPC.ABORTED, message: `an operation with the given Volume ID ${id} already exists` } },
    ]);
    // Run the timers: checks at 5 s + 0, 1, 2.4, 4.36, 7.1, 10.9, 16.3, 23.9, 34.4 s; the watch ends at 30 s.
    let replied: { at: number; msg: Msg } | undefined;
    while (!replied) {
      const [key, at] = [...port.timers.entries()][0]!;
      port.timers.delete(key);
      port.nowMs = at;
      c.timer!(key);
      const sent = port.take();
      if (sent.length > 0) replied = { at, msg: sent[0]!.msg };
    }
    expect(replied.at).to.equal(5_000 + WATCHER_CHECKS_MS[8]!);
    expect(replied.msg).to.deep.equal({ type: 'csi.response', reqId: 's1', code: GRPC.OK, message: '' });
  });

  it('the RBD backend gives up after the last check while a live node watches', () => {
    const { ceph, id } = mappedOnNode1();
    const port = new FakePort('backend/ceph');
    const c = cephRbdBackend(port, { name: 'ceph', model: ceph });
    c.receive({ type: 'csi.request', reqId: 's1', call: stage(id, 'node-2') } as unknown as Msg, 'kubelet/node-2');
    let last = 0;
    while (port.timers.size > 0) {
      const [key, at] = [...port.timers.entries()][0]!;
      port.timers.delete(key);
      port.nowMs = last = at;
      c.timer!(key);
    }
    expect(WATCHER_CHECKS_MS).to.deep.equal([0, 1000, 2400, 4360, 7104, 10946, 16324, 23853, 34395, 49153]);
    expect(last).to.equal(49_153);
    expect(port.take()).to.deep.equal([
      { to: 'kubelet/node-2', msg: { type: 'csi.response', reqId: 's1', code: GRPC.INTERNAL, message: `rbd image ${id} is still being used` } },
    ]);
  });

  it('a node lost while its NodeStage waits for watchers maps nothing: its stale wait leaves no watch behind', () => {
    const { ceph, id } = mappedOnNode1();
    const port = new FakePort('backend/ceph');
    const c = cephRbdBackend(port, { name: 'ceph', model: ceph });
    ceph.nodeLost('node-1', 0);
    port.nowMs = 1_000;
    c.receive({ type: 'csi.request', reqId: 's1', call: stage(id, 'node-2') } as unknown as Msg, 'kubelet/node-2');
    // node-2 goes down during the wait, before node-1's dead watch expires.
    port.nowMs = 3_000;
    ceph.nodeLost('node-2', 3_000);
    while (port.timers.size > 0) {
      const [key, at] = [...port.timers.entries()][0]!;
      port.timers.delete(key);
      port.nowMs = at;
      c.timer!(key);
    }
    expect(port.take()).to.deep.equal([]);
    expect(ceph.watchers(id, port.nowMs + 60_000)).to.deep.equal([]);
    // node-3 maps it once node-1's watch has expired.
    expect(answer(ceph, stage(id, 'node-3'), 40_000).code).to.equal(GRPC.OK);
  });

  it('without monitor quorum a CreateVolume hangs holding its lock: the retry is ABORTED; the hung call goes on when quorum returns, and the retry finds the one image', () => {
    const ceph = new CephCluster('ceph');
    const port = new FakePort('backend/ceph');
    const c = cephRbdBackend(port, { name: 'ceph', model: ceph });
    const call = (reqId: string) => c.receive({ type: 'csi.request', reqId, call: create('pvc-1') } as unknown as Msg, 'external-provisioner');
    ceph.monitorDown('mon-a');
    call('c0');
    expect(port.take().map((s) => (s.msg as unknown as { code: number }).code), 'one monitor of three down: quorum').to.deep.equal([GRPC.OK]);
    ceph.monitorDown('mon-b');
    call('c1');
    expect(port.take(), 'no quorum: no answer').to.deep.equal([]);
    call('c2');
    expect(port.take().map((s) => s.msg)).to.deep.equal([{ type: 'csi.response', reqId: 'c2', code: GRPC.ABORTED, message: 'an operation with the given Volume ID pvc-1 already exists' }]);
    ceph.monitorUp('mon-b');
    c.fault!({ name: 'outage/mon-b', on: false, monitor: 'mon-b' });
    expect(port.take().map((s) => [(s.msg as unknown as { reqId: string }).reqId, (s.msg as unknown as { code: number }).code])).to.deep.equal([['c1', GRPC.OK]]);
    call('c3');
    expect(port.take().map((s) => (s.msg as unknown as { code: number }).code)).to.deep.equal([GRPC.OK]);
    expect(ceph.volumes()).to.have.length(1);
  });
});
