/**
 * The PVC and PV protection controllers driven through a FakePort, with this file playing the
 * API server: a store with resourceVersions, finalizers that hold a deletion, watch events, and
 * a live `list` of pods that can differ from what the controller's watch has shown it.
 */
import { expect } from 'chai';
import { FakePort } from '../../helpers/fake-port.ts';
import type { Component } from '../../../src/component.ts';
import type { ApiRequest, KObject, Msg } from '../../../src/protocol.ts';
import { pvcProtectionController } from '../../../actors/controllers/pvc-protection-controller.ts';
import { pvProtectionController } from '../../../actors/controllers/pv-protection-controller.ts';

const NS = 'default';

class Api {
  readonly port: FakePort;
  readonly ctrl: Component;
  readonly store = new Map<string, KObject>();
  readonly writes: ApiRequest[] = [];
  /** Responses still to lose, by verb (a lost message). */
  readonly lose = new Map<string, number>();
  /** Objects the live list returns but the watch has not delivered (a slow watch). */
  readonly unseen = new Set<string>();
  private readonly inbox: Msg[] = [];
  /** Watch id of the controller's watch of each kind. */
  private watching = new Map<string, string>();
  private rv = 10;

  constructor(make: (port: FakePort) => Component, address: string, objs: KObject[]) {
    this.port = new FakePort(address);
    for (const o of objs) this.put(structuredClone(o), false);
    this.ctrl = make(this.port);
    this.ctrl.start?.();
    this.run();
  }

  private key(o: { kind: string; metadata: { namespace?: string | undefined; name?: string | undefined } }): string {
    return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  }

  get(kind: string, name: string): KObject | undefined {
    return this.store.get(`${kind}/${kind === 'PersistentVolume' ? '' : NS}/${name}`);
  }

  private notify(event: 'ADDED' | 'MODIFIED' | 'DELETED', o: KObject): void {
    const watchId = this.watching.get(o.kind);
    if (watchId && !this.unseen.has(this.key(o))) this.inbox.push({ type: 'watch', watchId, event, obj: structuredClone(o) });
  }

  put(o: KObject, notify = true, event: 'ADDED' | 'MODIFIED' = 'MODIFIED'): KObject {
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.uid ??= `uid-${o.metadata.name}`;
    this.store.set(this.key(o), o);
    if (notify) this.notify(event, o);
    return o;
  }

  /** A user deletes: finalizers hold the object with a deletionTimestamp. */
  delete(kind: string, name: string): void {
    const cur = this.get(kind, name)!;
    if ((cur.metadata.finalizers ?? []).length === 0) {
      this.store.delete(this.key(cur));
      this.notify('DELETED', cur);
      return;
    }
    const next = structuredClone(cur);
    next.metadata.deletionTimestamp = '2025-01-01T00:00:10Z';
    this.put(next);
  }

  change(kind: string, name: string, fn: (o: KObject) => void): void {
    const next = structuredClone(this.get(kind, name)!);
    fn(next);
    this.put(next);
  }

  /** The pod reaches the controller's watch at last. */
  reveal(kind: string, name: string): void {
    const o = this.get(kind, name)!;
    this.unseen.delete(this.key(o));
    this.notify('ADDED', o);
  }

  private answer(req: ApiRequest): void {
    // The informers' own lists (cluster-wide) are not what these tests look at.
    if (req.verb !== 'list' || req.namespace !== undefined) this.writes.push(req);
    const ns = req.kind === 'PersistentVolume' ? undefined : (req.namespace ?? NS);
    const cur = this.store.get(`${req.kind}/${ns ?? ''}/${req.name ?? ''}`);
    let out: Partial<{ ok: boolean; obj: KObject; items: KObject[]; resourceVersion: string; status: { code: number; reason: 'Conflict' | 'NotFound'; message: string } }>;
    if (req.verb === 'list') {
      out = { ok: true, resourceVersion: String(this.rv), items: [...this.store.values()].filter((o) => o.kind === req.kind && (req.namespace === undefined || o.metadata.namespace === req.namespace)) };
    } else if (req.verb === 'update') {
      if (!cur) out = { ok: false, status: { code: 404, reason: 'NotFound', message: 'not found' } };
      else if (cur.metadata.resourceVersion !== req.obj!.metadata.resourceVersion) out = { ok: false, status: { code: 409, reason: 'Conflict', message: 'the object has been modified' } };
      else {
        const next = { ...structuredClone(req.obj!), status: cur.status };
        if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
          this.store.delete(this.key(cur));
          this.notify('DELETED', next);
          out = { ok: true, obj: next };
        } else out = { ok: true, obj: this.put(next) };
      }
    } else throw new Error(`unexpected verb ${req.verb}`);
    const n = this.lose.get(req.verb) ?? 0;
    if (n > 0) {
      this.lose.set(req.verb, n - 1);
      return;
    }
    this.inbox.push({ type: 'api.response', reqId: req.reqId, ...out } as Msg);
  }

  run(untilMs = this.port.nowMs): void {
    for (let guard = 0; guard < 10_000; guard++) {
      for (const { msg } of this.port.take()) {
        if (msg.type === 'api.watch') this.watching.set(msg.kind, msg.watchId);
        else if (msg.type === 'api.request') this.answer(msg);
      }
      const next = this.inbox.shift();
      if (next) {
        this.ctrl.receive(next, 'apiserver');
        continue;
      }
      if (!this.port.fireDue(this.ctrl, untilMs)) {
        this.port.nowMs = untilMs;
        return;
      }
    }
    throw new Error('did not settle');
  }
}

function claim(name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS, finalizers: ['kubernetes.io/pvc-protection'] },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv-a' },
    status: { phase: 'Bound' },
  };
}

function pod(name: string, claimName: string, o: { node?: string; phase?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
    status: { phase: o.phase ?? 'Running' },
  };
}

function volume(name: string, phase: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, finalizers: ['kubernetes.io/pv-protection'] },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/a' } },
    status: { phase },
  };
}

const pvcCtl = (objs: KObject[]) => new Api(pvcProtectionController, 'persistentvolumeclaim-protection-controller', objs);
const pvCtl = (objs: KObject[]) => new Api(pvProtectionController, 'persistentvolume-protection-controller', objs);

describe('pvc-protection-controller', () => {
  const rows: { name: string; pods: KObject[]; gone: boolean }[] = [
    { name: 'a claim used by a scheduled pod stays Terminating', pods: [pod('web-0', 'data', { node: 'node-1' })], gone: false },
    { name: 'a finished pod still blocks', pods: [pod('job-0', 'data', { node: 'node-1', phase: 'Succeeded' })], gone: false },
    { name: 'a failed pod still blocks', pods: [pod('job-0', 'data', { node: 'node-1', phase: 'Failed' })], gone: false },
    { name: 'an unscheduled pod does not block', pods: [pod('web-0', 'data', { phase: 'Pending' })], gone: true },
    { name: 'a pod using another claim does not block', pods: [pod('web-0', 'other', { node: 'node-1' })], gone: true },
    { name: 'a claim nobody uses is removed at once', pods: [], gone: true },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const api = pvcCtl([claim('data'), ...row.pods]);
      api.delete('PersistentVolumeClaim', 'data');
      api.run();
      const c = api.get('PersistentVolumeClaim', 'data');
      if (row.gone) expect(c).to.equal(undefined);
      else {
        expect(c!.metadata.deletionTimestamp).to.be.a('string');
        expect(c!.metadata.finalizers).to.deep.equal(['kubernetes.io/pvc-protection']);
      }
    });
  }

  it('a claim is released when its last pod is deleted', () => {
    const api = pvcCtl([claim('data'), pod('web-0', 'data', { node: 'node-1' })]);
    api.delete('PersistentVolumeClaim', 'data');
    api.run();
    expect(api.get('PersistentVolumeClaim', 'data')).to.not.equal(undefined);
    api.delete('Pod', 'web-0');
    api.run();
    expect(api.get('PersistentVolumeClaim', 'data')).to.equal(undefined);
  });

  it('a pod the watch has not shown yet is found by the live list and keeps the claim', () => {
    const api = pvcCtl([claim('data')]);
    const p = pod('web-0', 'data', { node: 'node-1' });
    api.unseen.add(`Pod/${NS}/web-0`);
    api.put(structuredClone(p), true, 'ADDED');
    api.delete('PersistentVolumeClaim', 'data');
    api.run();
    expect(api.writes.some((w) => w.verb === 'list' && w.kind === 'Pod' && w.namespace === NS)).to.equal(true);
    expect(api.get('PersistentVolumeClaim', 'data')).to.not.equal(undefined);
  });

  it('a lost answer to the live list is retried after the request timeout', () => {
    const api = pvcCtl([claim('data')]);
    api.lose.set('list', 1);
    api.delete('PersistentVolumeClaim', 'data');
    api.run(59_000);
    expect(api.get('PersistentVolumeClaim', 'data')).to.not.equal(undefined);
    api.run(61_000);
    expect(api.get('PersistentVolumeClaim', 'data')).to.equal(undefined);
  });

  it('a claim not being deleted is left alone', () => {
    const api = pvcCtl([claim('data')]);
    api.run(60_000);
    expect(api.writes).to.deep.equal([]);
  });

  it('a 409 on the finalizer update is retried with the newer claim', () => {
    const api = pvcCtl([claim('data')]);
    api.delete('PersistentVolumeClaim', 'data');
    // Someone else changes the claim between the controller's read and its write.
    const orig = api.ctrl.receive.bind(api.ctrl);
    let touched = false;
    api.ctrl.receive = (msg, from) => {
      if (!touched && msg.type === 'api.response' && msg.items) {
        touched = true;
        api.change('PersistentVolumeClaim', 'data', (o) => (o.metadata.labels = { x: 'y' }));
      }
      orig(msg, from);
    };
    api.run(1_000);
    expect(touched).to.equal(true);
    expect(api.writes.filter((w) => w.verb === 'update').length).to.equal(2);
    expect(api.get('PersistentVolumeClaim', 'data')).to.equal(undefined);
  });
});

describe('pv-protection-controller', () => {
  it('a Bound PV stays Terminating until released', () => {
    const api = pvCtl([volume('pv-a', 'Bound')]);
    api.delete('PersistentVolume', 'pv-a');
    api.run();
    expect(api.get('PersistentVolume', 'pv-a')!.metadata.deletionTimestamp).to.be.a('string');
    api.change('PersistentVolume', 'pv-a', (o) => (o.status = { phase: 'Released' }));
    api.run();
    expect(api.get('PersistentVolume', 'pv-a')).to.equal(undefined);
  });

  for (const phase of ['Available', 'Released', 'Failed', 'Pending']) {
    it(`a ${phase} PV being deleted loses its finalizer`, () => {
      const api = pvCtl([volume('pv-a', phase)]);
      api.delete('PersistentVolume', 'pv-a');
      api.run();
      expect(api.get('PersistentVolume', 'pv-a')).to.equal(undefined);
    });
  }

  it('a PV not being deleted is left alone', () => {
    const api = pvCtl([volume('pv-a', 'Available')]);
    api.run(60_000);
    expect(api.writes).to.deep.equal([]);
  });
});
