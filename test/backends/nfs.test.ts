import { expect } from 'chai';
import { NfsServer, nfsBackend } from '../../backends/nfs.ts';
import { GRPC, type CsiCall, type CsiResponse, type FileResponse, type VolumeCapability } from '../../backends/protocol.ts';
import type { Msg } from '../../src/protocol.ts';
import { FakePort } from '../helpers/fake-port.ts';

const RWX: VolumeCapability = { accessMode: 'MULTI_NODE_MULTI_WRITER', accessType: 'mount' };

function create(name: string, parameters: Record<string, string> = { server: 'nfs-server', share: '/exports' }): CsiCall {
  return { method: 'CreateVolume', name, capacityBytes: 2 ** 30, capabilities: [RWX], parameters };
}

const target = (nodeId: string) => `/var/lib/kubelet/pods/pod-on-${nodeId}/volumes/kubernetes.io~nfs/data`;

function publish(volumeId: string, nodeId: string, readonly = false): CsiCall {
  return { method: 'NodePublishVolume', volumeId, nodeId, targetPath: target(nodeId), capability: RWX, readonly, volumeContext: {} };
}

function answer(s: NfsServer, call: CsiCall, nowMs = 0) {
  const a = s.handle(call, nowMs);
  if (a === 'unavailable') throw new Error(`${call.method}: unavailable`);
  return a;
}

describe('backends/nfs', () => {
  it('an RWX NFS volume is shared between two nodes', () => {
    const s = new NfsServer('nfs-server', ['/exports']);
    const created = answer(s, create('pvc-1'));
    expect(created.code).to.equal(GRPC.OK);
    const id = created.result!.volumeId!;
    expect(id).to.equal('nfs-server:/exports/pvc-1');
    for (const node of ['node-1', 'node-2']) expect(answer(s, publish(id, node)).code).to.equal(GRPC.OK);
    expect(s.file({ volumeId: id, nodeId: 'node-1', op: 'write', path: '/index.html', data: 'hello' }, 0)).to.deep.equal({ ok: true });
    expect(s.file({ volumeId: id, nodeId: 'node-2', op: 'read', path: '/index.html' }, 0)).to.deep.equal({ ok: true, data: 'hello' });
    expect(s.file({ volumeId: id, nodeId: 'node-2', op: 'write', path: '/index.html', data: ' world', append: true }, 0)).to.deep.equal({ ok: true });
    expect(s.file({ volumeId: id, nodeId: 'node-1', op: 'read', path: '/index.html' }, 0)).to.deep.equal({ ok: true, data: 'hello world' });
    expect(s.attachments()).to.deep.equal([
      { volumeId: id, nodeId: 'node-1' },
      { volumeId: id, nodeId: 'node-2' },
    ]);
  });

  it('a hard NFS mount gets no answer during an outage and its data is there after recovery', () => {
    const s = new NfsServer('nfs-server');
    const id = 'nfs-server:/exports/web';
    expect(answer(s, publish(id, 'node-1')).code).to.equal(GRPC.OK);
    expect(s.file({ volumeId: id, nodeId: 'node-1', op: 'write', path: '/a', data: 'kept' }, 0)).to.deep.equal({ ok: true });
    s.outage();
    const rows: [string, unknown][] = [
      ['read', s.file({ volumeId: id, nodeId: 'node-1', op: 'read', path: '/a' }, 1)],
      ['write', s.file({ volumeId: id, nodeId: 'node-1', op: 'write', path: '/b', data: 'x' }, 1)],
      ['mount on another node', s.handle(publish(id, 'node-2'), 1)],
      ['umount', s.handle({ method: 'NodeUnpublishVolume', volumeId: id, nodeId: 'node-1', targetPath: target('node-1') }, 1)],
      ['CreateVolume', s.handle(create('pvc-2'), 1)],
      ['DeleteVolume', s.handle({ method: 'DeleteVolume', volumeId: 'nfs-server:/exports/pvc-2' }, 1)],
    ];
    for (const [what, a] of rows) expect(a, what).to.equal('unavailable');
    s.recover();
    expect(s.file({ volumeId: id, nodeId: 'node-1', op: 'read', path: '/a' }, 2)).to.deep.equal({ ok: true, data: 'kept' });
  });

  it('a path outside the exports is refused with mount.nfs access denied', () => {
    const s = new NfsServer('nfs-server', ['/exports']);
    const rows: { path: string; output: string | undefined }[] = [
      { path: '/exports', output: undefined },
      { path: '/srv/data', output: 'mount.nfs: access denied by server while mounting nfs-server:/srv/data' },
      { path: '/exports/missing', output: 'mount.nfs: mounting nfs-server:/exports/missing failed, reason given by server: No such file or directory' },
    ];
    for (const row of rows) {
      const call = publish(`nfs-server:${row.path}`, 'node-1');
      const a = answer(s, call);
      if (row.output === undefined) {
        expect(a.code, row.path).to.equal(GRPC.OK);
      } else {
        expect(a.code, row.path).to.equal(GRPC.INTERNAL);
        expect(a.message).to.equal(`mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs nfs-server:${row.path} ${target('node-1')}\nOutput: ${row.output}`);
      }
    }
  });

  it('DeleteVolume removes the sub-directory and is idempotent', () => {
    const s = new NfsServer('nfs-server', ['/exports']);
    const id = answer(s, create('pvc-1')).result!.volumeId!;
    expect(s.fs.stat('/exports/pvc-1')).to.equal('Directory');
    expect(s.volumes()).to.deep.equal([{ volumeId: id, name: 'pvc-1', capacityBytes: 2 ** 30 }]);
    expect(answer(s, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    expect(answer(s, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    expect(s.fs.stat('/exports/pvc-1')).to.equal(undefined);
    expect(s.volumes()).to.deep.equal([]);
  });

  it('an NFS server without configured exports serves any path but not one DeleteVolume removed', () => {
    const s = new NfsServer('nfs-server');
    expect(s.exports()).to.deep.equal(['/']);
    expect(answer(s, publish('nfs-server:/srv/anything', 'node-1')).code).to.equal(GRPC.OK);
    const id = answer(s, create('pvc-1')).result!.volumeId!;
    expect(answer(s, { method: 'DeleteVolume', volumeId: id }).code).to.equal(GRPC.OK);
    const a = answer(s, publish(id, 'node-2'));
    expect(a.code).to.equal(GRPC.INTERNAL);
    expect(a.message).to.match(/Output: mount\.nfs: mounting nfs-server:\/exports\/pvc-1 failed, reason given by server: No such file or directory$/);
  });

  it('NFS has no attach step and refuses block volumes', () => {
    const s = new NfsServer('nfs-server');
    const rows: { call: CsiCall; code: number; message: string }[] = [
      { call: { method: 'ControllerPublishVolume', volumeId: 'nfs-server:/x', nodeId: 'node-1', capability: RWX, readonly: false }, code: GRPC.UNIMPLEMENTED, message: '' },
      { call: { method: 'GetCapacity', parameters: {} }, code: GRPC.UNIMPLEMENTED, message: '' },
      { call: { ...(create('pvc-b') as Extract<CsiCall, { method: 'CreateVolume' }>), capabilities: [{ accessMode: 'SINGLE_NODE_WRITER', accessType: 'block' }] }, code: GRPC.INVALID_ARGUMENT, message: 'block volume capability not supported' },
      { call: create('pvc-c', { server: 'nfs-server' }), code: GRPC.INVALID_ARGUMENT, message: 'share is a required parameter' },
    ];
    for (const row of rows) {
      const a = answer(s, row.call);
      expect([a.code, a.message], row.call.method).to.deep.equal([row.code, row.message]);
    }
  });

  it('the NFS backend answers csi and file requests on the bus and stays silent while down', () => {
    const model = new NfsServer('nfs-server');
    const port = new FakePort('backend/nfs-server');
    const c = nfsBackend(port, { name: 'nfs-server', model });
    const id = 'nfs-server:/exports/web';
    c.receive({ type: 'csi.request', reqId: 'r1', call: publish(id, 'node-1') } as unknown as Msg, 'kubelet/node-1');
    c.receive({ type: 'file.request', reqId: 'r2', volumeId: id, nodeId: 'node-1', op: 'write', path: '/f', data: 'd' } as unknown as Msg, 'kubelet/node-1');
    expect(port.take()).to.deep.equal([
      { to: 'kubelet/node-1', msg: { type: 'csi.response', reqId: 'r1', code: GRPC.OK, message: '' } satisfies CsiResponse },
      { to: 'kubelet/node-1', msg: { type: 'file.response', reqId: 'r2', ok: true } satisfies FileResponse },
    ]);
    model.outage();
    c.receive({ type: 'file.request', reqId: 'r3', volumeId: id, nodeId: 'node-1', op: 'read', path: '/f' } as unknown as Msg, 'kubelet/node-1');
    expect(port.take()).to.deep.equal([]);
    model.recover();
    c.receive({ type: 'file.request', reqId: 'r4', volumeId: id, nodeId: 'node-1', op: 'read', path: '/f' } as unknown as Msg, 'kubelet/node-1');
    expect(port.take()).to.deep.equal([{ to: 'kubelet/node-1', msg: { type: 'file.response', reqId: 'r4', ok: true, data: 'd' } }]);
  });
});
