import { expect } from 'chai';
import { CsiPlugin, csiDriverBackend, csiDriverSpecFrom, type CsiDriverSpec } from '../../backends/csi-driver.ts';
import { GRPC, type CsiAccessMode, type CsiCall, type VolumeCapability } from '../../backends/protocol.ts';
import type { Msg } from '../../src/protocol.ts';
import { FakePort } from '../helpers/fake-port.ts';

const GiB = 2 ** 30;
const cap = (accessMode: CsiAccessMode = 'SINGLE_NODE_WRITER'): VolumeCapability => ({ accessMode, accessType: 'mount', fsType: 'ext4' });

function spec(o: Partial<CsiDriverSpec> = {}): CsiDriverSpec {
  const s = csiDriverSpecFrom({}, 'disk.csi.example.com');
  if (typeof s === 'string') throw new Error(s);
  return { ...s, ...o };
}

function create(name: string, o: { sizeBytes?: number; mode?: CsiAccessMode; parameters?: Record<string, string>; node?: string } = {}): CsiCall {
  const c: CsiCall = { method: 'CreateVolume', name, capacityBytes: o.sizeBytes ?? GiB, capabilities: [cap(o.mode)], parameters: o.parameters ?? { type: 'ssd' } };
  if (o.node) c.accessibleNode = o.node;
  return c;
}

const cpub = (volumeId: string, nodeId: string, mode?: CsiAccessMode): CsiCall => ({ method: 'ControllerPublishVolume', volumeId, nodeId, capability: cap(mode), readonly: false });
const stage = (volumeId: string, nodeId: string, mode?: CsiAccessMode): CsiCall => ({ method: 'NodeStageVolume', volumeId, nodeId, stagingPath: `/staging/${volumeId}`, capability: cap(mode), volumeContext: {} });
const npub = (volumeId: string, nodeId: string, target = '/pods/a/vol', mode?: CsiAccessMode): CsiCall => ({ method: 'NodePublishVolume', volumeId, nodeId, targetPath: target, capability: cap(mode), readonly: false, volumeContext: {} });

function answer(p: CsiPlugin, call: CsiCall) {
  const a = p.handle(call, 0);
  if (a === 'unavailable') throw new Error(`${call.method}: unavailable`);
  return a;
}

function volumeOf(p: CsiPlugin, name: string, o?: Parameters<typeof create>[1]): string {
  const a = answer(p, create(name, o));
  expect(a.code, a.message).to.equal(GRPC.OK);
  return a.result!.volumeId!;
}

describe('backends/csi-driver', () => {
  it('an unnamed driver gets the documented defaults', () => {
    expect(csiDriverSpecFrom({ name: 'x', type: 'csi' }, 'x')).to.deep.equal({
      name: 'x',
      attachRequired: true,
      accessModes: ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY'],
      topology: false,
      capacityBytes: 2 ** 40,
    });
  });

  it('a scenario backend entry tunes the driver or names its first problem', () => {
    const rows: { raw: Record<string, unknown>; want: Partial<CsiDriverSpec> | string }[] = [
      { raw: { attachRequired: false, accessModes: ['ReadWriteMany', 'SINGLE_NODE_WRITER'], topology: true, capacity: '10Gi', maxVolumesPerNode: 2 }, want: { attachRequired: false, accessModes: ['MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_WRITER'], topology: true, capacityBytes: 10 * GiB, maxVolumesPerNode: 2 } },
      { raw: { attachRequired: 'yes' }, want: 'attachRequired: Invalid value: "yes": must be true or false' },
      { raw: { accessModes: ['RWX'] }, want: 'accessModes[0]: Unsupported value: "RWX": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod", "SINGLE_NODE_WRITER", "SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY", "MULTI_NODE_SINGLE_WRITER", "MULTI_NODE_MULTI_WRITER", "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER"' },
      { raw: { capacity: 'lots' }, want: `capacity: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` },
      { raw: { maxVolumesPerNode: 0 }, want: 'maxVolumesPerNode: Invalid value: 0: must be a positive integer' },
    ];
    for (const row of rows) {
      const got = csiDriverSpecFrom(row.raw, 'd');
      if (typeof row.want === 'string') expect(got).to.equal(row.want);
      else expect(got).to.deep.include(row.want);
    }
  });

  it('CreateVolume is idempotent for the same name', () => {
    const p = new CsiPlugin(spec());
    const a = answer(p, create('pvc-1'));
    expect(a.code).to.equal(GRPC.OK);
    expect(answer(p, create('pvc-1'))).to.deep.equal(a);
    expect(p.volumes()).to.deep.equal([{ volumeId: a.result!.volumeId, name: 'pvc-1', capacityBytes: GiB }]);
  });

  it('an incompatible second CreateVolume is ALREADY_EXISTS', () => {
    const p = new CsiPlugin(spec());
    volumeOf(p, 'pvc-1');
    const rows: { what: string; call: CsiCall; message: string }[] = [
      { what: 'bigger', call: create('pvc-1', { sizeBytes: 2 * GiB }), message: 'Volume with the same name: pvc-1 but with different size already exist' },
      { what: 'other parameters', call: create('pvc-1', { parameters: { type: 'hdd' } }), message: 'Volume with the same name: pvc-1 but with different capabilities, parameters or topology already exist' },
      { what: 'other mode', call: create('pvc-1', { mode: 'MULTI_NODE_READER_ONLY' }), message: 'Volume with the same name: pvc-1 but with different capabilities, parameters or topology already exist' },
    ];
    for (const row of rows) {
      const a = answer(p, row.call);
      expect([a.code, a.message], row.what).to.deep.equal([GRPC.ALREADY_EXISTS, row.message]);
    }
  });

  it('DeleteVolume of a missing volume is OK', () => {
    const p = new CsiPlugin(spec());
    expect(answer(p, { method: 'DeleteVolume', volumeId: 'no-such-volume' }).code).to.equal(GRPC.OK);
    const id = volumeOf(p, 'pvc-1');
    expect(answer(p, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    expect(answer(p, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    expect(p.volumes()).to.deep.equal([]);
  });

  it('a single-node volume published to node-1 cannot be published to node-2', () => {
    const p = new CsiPlugin(spec({ accessModes: ['SINGLE_NODE_WRITER', 'MULTI_NODE_READER_ONLY'] }));
    const rwo = volumeOf(p, 'pvc-rwo');
    const rox = volumeOf(p, 'pvc-rox', { mode: 'MULTI_NODE_READER_ONLY' });
    const rows: { what: string; call: CsiCall; code: number; message?: string }[] = [
      { what: 'rwo to node-1', call: cpub(rwo, 'node-1'), code: GRPC.OK },
      { what: 'rwo to node-1 again', call: cpub(rwo, 'node-1'), code: GRPC.OK },
      { what: 'rwo to node-2', call: cpub(rwo, 'node-2'), code: GRPC.FAILED_PRECONDITION, message: `volume ${rwo} is already published to node node-1` },
      { what: 'rox to node-1', call: cpub(rox, 'node-1', 'MULTI_NODE_READER_ONLY'), code: GRPC.OK },
      { what: 'rox to node-2', call: cpub(rox, 'node-2', 'MULTI_NODE_READER_ONLY'), code: GRPC.OK },
      { what: 'unknown volume', call: cpub('nope', 'node-1'), code: GRPC.NOT_FOUND, message: 'volume id nope does not exist in the volumes list' },
      { what: 'unsupported mode', call: cpub(rwo, 'node-1', 'MULTI_NODE_MULTI_WRITER'), code: GRPC.INVALID_ARGUMENT, message: 'driver disk.csi.example.com does not support access mode MULTI_NODE_MULTI_WRITER' },
    ];
    for (const row of rows) {
      const a = answer(p, row.call);
      expect(a.code, `${row.what}: ${a.message}`).to.equal(row.code);
      if (row.message !== undefined) expect(a.message, row.what).to.equal(row.message);
    }
    expect(answer(p, { method: 'ControllerUnpublishVolume', volumeId: rwo, nodeId: 'node-1' }).code).to.equal(GRPC.OK);
    expect(answer(p, cpub(rwo, 'node-2')).code).to.equal(GRPC.OK);
    expect(answer(p, { method: 'DeleteVolume', volumeId: rwo }).code).to.equal(GRPC.FAILED_PRECONDITION);
  });

  it('node RPCs follow the spec order: attach, stage, publish', () => {
    const p = new CsiPlugin(spec({ accessModes: ['SINGLE_NODE_WRITER', 'SINGLE_NODE_SINGLE_WRITER'] }));
    const id = volumeOf(p, 'pvc-1');
    const pod = volumeOf(p, 'pvc-pod', { mode: 'SINGLE_NODE_SINGLE_WRITER' });
    const rows: { what: string; call: CsiCall; code: number }[] = [
      { what: 'stage before attach', call: stage(id, 'node-1'), code: GRPC.FAILED_PRECONDITION },
      { what: 'attach', call: cpub(id, 'node-1'), code: GRPC.OK },
      { what: 'publish before stage', call: npub(id, 'node-1'), code: GRPC.FAILED_PRECONDITION },
      { what: 'stage', call: stage(id, 'node-1'), code: GRPC.OK },
      { what: 'stage again', call: stage(id, 'node-1'), code: GRPC.OK },
      { what: 'stage with another mode', call: stage(id, 'node-1', 'SINGLE_NODE_SINGLE_WRITER'), code: GRPC.ALREADY_EXISTS },
      { what: 'publish', call: npub(id, 'node-1'), code: GRPC.OK },
      { what: 'publish again', call: npub(id, 'node-1'), code: GRPC.OK },
      { what: 'second pod on the node (RWO)', call: npub(id, 'node-1', '/pods/b/vol'), code: GRPC.OK },
      { what: 'unstage while published', call: { method: 'NodeUnstageVolume', volumeId: id, nodeId: 'node-1', stagingPath: `/staging/${id}` }, code: GRPC.FAILED_PRECONDITION },
      { what: 'stage unknown volume', call: stage('nope', 'node-1'), code: GRPC.NOT_FOUND },
      { what: 'attach RWOP', call: cpub(pod, 'node-1', 'SINGLE_NODE_SINGLE_WRITER'), code: GRPC.OK },
      { what: 'stage RWOP', call: stage(pod, 'node-1', 'SINGLE_NODE_SINGLE_WRITER'), code: GRPC.OK },
      { what: 'publish RWOP', call: npub(pod, 'node-1', '/pods/a/vol', 'SINGLE_NODE_SINGLE_WRITER'), code: GRPC.OK },
      { what: 'second pod on the node (RWOP)', call: npub(pod, 'node-1', '/pods/b/vol', 'SINGLE_NODE_SINGLE_WRITER'), code: GRPC.FAILED_PRECONDITION },
    ];
    for (const row of rows) {
      const a = answer(p, row.call);
      expect(a.code, `${row.what}: ${a.message}`).to.equal(row.code);
    }
    expect(p.file({ volumeId: id, nodeId: 'node-1', op: 'write', path: '/f', data: 'd' }, 0)).to.deep.equal({ ok: true });
    expect(p.file({ volumeId: id, nodeId: 'node-1', op: 'read', path: '/f' }, 0)).to.deep.equal({ ok: true, data: 'd' });
    expect(p.file({ volumeId: id, nodeId: 'node-2', op: 'read', path: '/f' }, 0)).to.deep.equal({ ok: false, error: 'Input/output error' });
    expect(p.attachments()).to.deep.equal([
      { volumeId: id, nodeId: 'node-1' },
      { volumeId: pod, nodeId: 'node-1' },
    ].sort((a, b) => (a.volumeId < b.volumeId ? -1 : 1)));
  });

  it('capacity runs out with RESOURCE_EXHAUSTED', () => {
    const p = new CsiPlugin(spec({ capacityBytes: 3 * GiB }));
    volumeOf(p, 'pvc-1', { sizeBytes: 2 * GiB });
    expect(answer(p, { method: 'GetCapacity', parameters: {} }).result).to.deep.equal({ availableCapacity: GiB });
    const a = answer(p, create('pvc-2', { sizeBytes: 2 * GiB }));
    expect([a.code, a.message]).to.deep.equal([GRPC.RESOURCE_EXHAUSTED, `insufficient capacity: requested ${2 * GiB} bytes, ${GiB} bytes available`]);
  });

  it('a node can hold no more volumes than maxVolumesPerNode', () => {
    const p = new CsiPlugin(spec({ maxVolumesPerNode: 1 }));
    const a = volumeOf(p, 'pvc-a');
    const b = volumeOf(p, 'pvc-b');
    expect(answer(p, cpub(a, 'node-1')).code).to.equal(GRPC.OK);
    expect(answer(p, cpub(b, 'node-1')).code).to.equal(GRPC.RESOURCE_EXHAUSTED);
    expect(answer(p, cpub(b, 'node-2')).code).to.equal(GRPC.OK);
  });

  it('a volume created for one node is only stageable on that node', () => {
    const p = new CsiPlugin(spec({ topology: true, attachRequired: false }));
    const created = answer(p, create('pvc-1', { node: 'node-2' }));
    expect(created.result!.accessibleNode).to.equal('node-2');
    const id = created.result!.volumeId!;
    const a = answer(p, stage(id, 'node-1'));
    expect([a.code, a.message]).to.deep.equal([GRPC.FAILED_PRECONDITION, `volume ${id} is only accessible from node node-2, not from node node-1`]);
    expect(answer(p, stage(id, 'node-2')).code).to.equal(GRPC.OK);
    expect(answer(p, cpub(id, 'node-2')).code).to.equal(GRPC.UNIMPLEMENTED);
  });

  it('an injected error fails the next call only', () => {
    const p = new CsiPlugin(spec());
    p.failNext('CreateVolume', GRPC.INTERNAL, 'backend exploded');
    expect(answer(p, create('pvc-1'))).to.deep.equal({ code: GRPC.INTERNAL, message: 'backend exploded' });
    expect(p.volumes()).to.deep.equal([]);
    expect(answer(p, create('pvc-1')).code).to.equal(GRPC.OK);
  });

  it('the CSI backend replies to the sender on the bus', () => {
    const model = new CsiPlugin(spec());
    const port = new FakePort('backend/disk.csi.example.com');
    const c = csiDriverBackend(port, { model });
    c.receive({ type: 'csi.request', reqId: 'c1', call: create('pvc-1') } as unknown as Msg, 'external-provisioner');
    c.receive({ type: 'csi.request', reqId: 'c2', call: stage('nope', 'node-1') } as unknown as Msg, 'kubelet/node-1');
    c.receive({ type: 'file.request', reqId: 'f1', volumeId: 'nope', nodeId: 'node-1', op: 'read', path: '/x' } as unknown as Msg, 'kubelet/node-1');
    const id = model.volumes()[0]!.volumeId;
    expect(port.take()).to.deep.equal([
      { to: 'external-provisioner', msg: { type: 'csi.response', reqId: 'c1', code: GRPC.OK, message: '', result: { volumeId: id, capacityBytes: GiB, volumeContext: { type: 'ssd' } } } },
      { to: 'kubelet/node-1', msg: { type: 'csi.response', reqId: 'c2', code: GRPC.NOT_FOUND, message: 'volume id nope does not exist in the volumes list' } },
      { to: 'kubelet/node-1', msg: { type: 'file.response', reqId: 'f1', ok: false, error: 'Input/output error' } },
    ]);
  });

  describe('a csiError fault on the plugin (SPEC §1)', () => {
    const codes = (port: FakePort) => port.take().map((s) => [(s.msg as unknown as { code: number }).code, (s.msg as unknown as { message: string }).message]);
    const struck = (fault: Record<string, unknown>) => {
      const model = new CsiPlugin(spec());
      const port = new FakePort('backend/disk.csi.example.com');
      const c = csiDriverBackend(port, { model });
      c.fault!({ name: 'csiError/k1', on: true, streamKey: 'k1', rpc: 'CreateVolume', rate: 1, ...fault });
      c.receive({ type: 'csi.request', reqId: 'c1', call: create('pvc-1') } as unknown as Msg, 'external-provisioner');
      return { model, port, c };
    };
    const rows: [string, string, [number, string][]][] = [
      ['INTERNAL fails at once and creates nothing', 'INTERNAL', [[GRPC.INTERNAL, 'CreateVolume failed: injected by a csiError fault']]],
      ['ABORTED says an operation on the volume is in progress', 'ABORTED', [[GRPC.ABORTED, 'an operation with the given Volume ID pvc-1 already exists']]],
      ['UNAVAILABLE is what a driver socket that refuses connections answers', 'UNAVAILABLE', [[GRPC.UNAVAILABLE, 'connection error: desc = "transport: Error while dialing: dial unix /csi/csi.sock: connect: connection refused"']]],
      ['CANCELED is the canceled context', 'CANCELED', [[GRPC.CANCELLED, 'context canceled']]],
    ];
    for (const [name, code, want] of rows) {
      it(name, () => {
        const { model, port } = struck({ code });
        expect(codes(port)).to.deep.equal(want);
        expect(model.volumes()).to.deep.equal([]);
      });
    }

    it('DEADLINE_EXCEEDED: the volume is created but no answer comes; after the heal the retry finds the same volume', () => {
      const { model, port, c } = struck({ code: 'DEADLINE_EXCEEDED' });
      expect(port.take()).to.deep.equal([]);
      expect(model.volumes().map((v) => v.name)).to.deep.equal(['pvc-1']);
      c.fault!({ name: 'csiError/k1', on: false, streamKey: 'k1' });
      c.receive({ type: 'csi.request', reqId: 'c2', call: create('pvc-1') } as unknown as Msg, 'external-provisioner');
      expect(codes(port)).to.deep.equal([[GRPC.OK, '']]);
      expect(model.volumes()).to.have.length(1);
    });

    it('only the named RPC is struck, and a rate draws per call from the fault\'s own stream', () => {
      const model = new CsiPlugin(spec());
      const port = new FakePort('backend/disk.csi.example.com');
      const c = csiDriverBackend(port, { model });
      c.fault!({ name: 'csiError/k2', on: true, streamKey: 'k2', rpc: 'GetCapacity', code: 'INTERNAL', rate: 0.5 });
      for (let i = 0; i < 40; i++) c.receive({ type: 'csi.request', reqId: `g${i}`, call: { method: 'GetCapacity', parameters: {} } } as unknown as Msg, 'external-provisioner');
      c.receive({ type: 'csi.request', reqId: 'c1', call: create('pvc-1') } as unknown as Msg, 'external-provisioner');
      const got = codes(port).map(([code]) => code);
      const failed = got.slice(0, 40).filter((x) => x === GRPC.INTERNAL).length;
      expect(failed).to.be.within(10, 30);
      expect(got[40]).to.equal(GRPC.OK);
    });
  });
});
