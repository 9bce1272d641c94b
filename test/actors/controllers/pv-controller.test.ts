/**
 * The PersistentVolume controller driven through a FakePort, with this file playing the API
 * server (a store with resourceVersions, 409 on stale writes, watch events sent before the
 * response, as the real one commits) and the storage backends (csi.request answered by a
 * settable function). Rows are named after Kubernetes' binder_test.go, provision_test.go,
 * delete_test.go and recycle_test.go rows where one exists.
 */
import { expect } from 'chai';
import { FakePort } from '../../helpers/fake-port.ts';
import type { Component } from '../../../src/component.ts';
import type { ApiRequest, ApiStatus, EventReport, KObject, Msg, WatchEvent } from '../../../src/protocol.ts';
import { qualifiedResource } from '../../../src/model/objects.ts';
import type { CsiCall, CsiRequest, CsiResult } from '../../../backends/protocol.ts';
import { pvController } from '../../../actors/controllers/pv-controller.ts';

const NS = 'default';
const CLASS_ANN = 'volume.beta.kubernetes.io/storage-class';

type Reply = { code: number; message: string; result?: CsiResult };

/** A small API server and storage backend for one controller. */
class Cluster {
  readonly port = new FakePort('persistentvolume-binder-controller');
  readonly ctrl: Component;
  readonly store = new Map<string, KObject>();
  readonly writes: ApiRequest[] = [];
  readonly events: EventReport[] = [];
  readonly csi: { to: string; call: CsiCall }[] = [];
  csiReply: (call: CsiCall) => Reply | undefined = (call) =>
    call.method === 'CreateVolume' ? { code: 0, message: '', result: { volumeId: `${call.parameters['pool'] ?? 'rbd'}/${call.name}`, capacityBytes: call.capacityBytes } } : { code: 0, message: '' };
  /** Runs before each request is answered (to play a concurrent writer). */
  beforeAnswer: ((req: ApiRequest) => void) | undefined;
  /** Loses the response (not the effect) of the requests it returns true for. */
  loseResponse: ((req: ApiRequest) => boolean) | undefined;
  /** The controller's watch of each kind. */
  private readonly watching = new Map<string, string>();
  private readonly inbox: Msg[] = [];
  private rv = 100;
  private uidSeq = 0;

  /** Answers to `list` requests still to lose (a lost message). */
  private dropLists: number;

  constructor(objs: KObject[] = [], opts: { resyncMs?: number; dropLists?: number } = {}) {
    this.dropLists = opts.dropLists ?? 0;
    for (const o of objs) this.put(this.defaults(structuredClone(o)), false);
    this.ctrl = pvController(this.port, opts);
    this.ctrl.start?.();
    this.run();
  }

  private key(kind: string, ns: string | undefined, name: string): string {
    return `${kind}/${ns ?? ''}/${name}`;
  }

  get(kind: string, ns: string | undefined, name: string): KObject | undefined {
    return this.store.get(this.key(kind, ns, name));
  }

  pv(name: string): KObject | undefined {
    return this.get('PersistentVolume', undefined, name);
  }

  pvc(name: string): KObject | undefined {
    return this.get('PersistentVolumeClaim', NS, name);
  }

  private defaults(o: KObject): KObject {
    o.metadata.uid ??= `uid-${o.metadata.name}-${++this.uidSeq}`;
    o.metadata.creationTimestamp ??= '2025-01-01T00:00:00Z';
    if (o.kind === 'PersistentVolume') {
      delete o.metadata.namespace;
      o.spec.persistentVolumeReclaimPolicy ??= 'Retain';
      o.spec.volumeMode ??= 'Filesystem';
      o.status ??= { phase: 'Pending' };
    } else if (o.kind === 'PersistentVolumeClaim') {
      o.metadata.namespace ??= NS;
      o.spec.volumeMode ??= 'Filesystem';
      o.status ??= { phase: 'Pending' };
    } else if (o.kind === 'StorageClass') {
      o['reclaimPolicy'] ??= 'Delete';
      o['volumeBindingMode'] ??= 'Immediate';
    } else if (o.kind === 'Pod') {
      o.metadata.namespace ??= NS;
    }
    return o;
  }

  private put(o: KObject, notify: boolean, event: WatchEvent['event'] = 'MODIFIED'): KObject {
    o.metadata.resourceVersion = String(++this.rv);
    this.store.set(this.key(o.kind, o.metadata.namespace, o.metadata.name!), o);
    const watchId = this.watching.get(o.kind);
    if (notify && watchId) this.inbox.push({ type: 'watch', watchId, event, obj: structuredClone(o) });
    return o;
  }

  private drop(o: KObject, notify: boolean): void {
    this.store.delete(this.key(o.kind, o.metadata.namespace, o.metadata.name!));
    const watchId = this.watching.get(o.kind);
    if (notify && watchId) this.inbox.push({ type: 'watch', watchId, event: 'DELETED', obj: structuredClone(o) });
  }

  /** A user creates an object. */
  create(o: KObject): KObject {
    return this.put(this.defaults(structuredClone(o)), true, 'ADDED');
  }

  /** A user (or another controller) changes an object. */
  change(kind: string, name: string, fn: (o: KObject) => void): KObject {
    const cur = this.get(kind, kind === 'PersistentVolume' || kind === 'StorageClass' ? undefined : NS, name)!;
    const next = structuredClone(cur);
    fn(next);
    return this.put(next, true);
  }

  /** A user deletes an object: finalizers keep it, Terminating. */
  delete(kind: string, name: string): void {
    const cur = this.get(kind, kind === 'PersistentVolume' || kind === 'StorageClass' ? undefined : NS, name)!;
    if ((cur.metadata.finalizers ?? []).length) {
      const next = structuredClone(cur);
      next.metadata.deletionTimestamp = '2025-01-01T00:00:01Z';
      this.put(next, true);
    } else this.drop(cur, true);
  }

  private status(code: number, reason: ApiStatus['reason'], message: string): ApiStatus {
    return { code, reason, message };
  }

  private answer(req: ApiRequest): void {
    this.beforeAnswer?.(req);
    // The informers' own lists (cluster-wide) are the machinery, not what these tests look at.
    if (req.verb !== 'list' || req.namespace !== undefined) this.writes.push(req);
    const ns = req.kind === 'PersistentVolume' || req.kind === 'StorageClass' ? undefined : (req.namespace ?? req.obj?.metadata.namespace ?? NS);
    const name = req.name ?? req.obj?.metadata.name ?? '';
    const cur = this.get(req.kind, ns, name);
    const notFound = () => this.status(404, 'NotFound', `${qualifiedResource(req.kind)} "${name}" not found`);
    let out: { ok: boolean; obj?: KObject; items?: KObject[]; resourceVersion?: string; status?: ApiStatus };
    switch (req.verb) {
      case 'get':
        out = cur ? { ok: true, obj: structuredClone(cur) } : { ok: false, status: notFound() };
        break;
      case 'list':
        out = {
          ok: true,
          items: [...this.store.values()].filter((o) => o.kind === req.kind && (req.namespace === undefined || o.metadata.namespace === req.namespace)).map((o) => structuredClone(o)),
          resourceVersion: String(this.rv),
        };
        break;
      case 'create': {
        if (cur) {
          out = { ok: false, status: this.status(409, 'AlreadyExists', `${qualifiedResource(req.kind)} "${name}" already exists`) };
          break;
        }
        const o = this.defaults(structuredClone(req.obj!));
        delete o.metadata.uid;
        o.metadata.uid = `uid-${name}-${++this.uidSeq}`;
        // PrepareForCreate: a new PV starts Pending whatever its creator wrote.
        if (o.kind === 'PersistentVolume') o.status = { phase: 'Pending' };
        out = { ok: true, obj: structuredClone(this.put(o, true, 'ADDED')) };
        break;
      }
      case 'update':
      case 'updateStatus': {
        if (!cur) {
          out = { ok: false, status: notFound() };
          break;
        }
        if (req.obj!.metadata.resourceVersion !== cur.metadata.resourceVersion) {
          out = { ok: false, status: this.status(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(req.kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`) };
          break;
        }
        const next = req.verb === 'update' ? { ...structuredClone(req.obj!), status: structuredClone(cur.status) } : { ...structuredClone(cur), status: structuredClone(req.obj!.status) };
        if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
          this.drop(cur, true);
          out = { ok: true, obj: next };
          break;
        }
        out = { ok: true, obj: structuredClone(this.put(next, true)) };
        break;
      }
      case 'delete':
        if (!cur) out = { ok: false, status: notFound() };
        else {
          this.delete(req.kind, name);
          out = { ok: true };
        }
        break;
      default:
        throw new Error(`unexpected verb ${req.verb}`);
    }
    if (this.loseResponse?.(req)) return;
    if (req.verb === 'list' && this.dropLists > 0) {
      this.dropLists--;
      return;
    }
    this.inbox.push({ type: 'api.response', reqId: req.reqId, ...out } as Msg);
  }

  private handle(to: string, msg: Msg): void {
    switch (msg.type) {
      case 'api.watch':
        this.watching.set(msg.kind, msg.watchId);
        return;
      case 'api.request':
        this.answer(msg);
        return;
      case 'api.event':
        this.events.push(msg);
        return;
      case 'csi.request': {
        const req = msg as unknown as CsiRequest;
        this.csi.push({ to, call: req.call });
        const r = this.csiReply(req.call);
        if (r) this.inbox.push({ type: 'csi.response', reqId: req.reqId, ...r } as unknown as Msg);
        return;
      }
      default:
        throw new Error(`unexpected message ${msg.type}`);
    }
  }

  /** Delivers everything and runs the timers due up to `untilMs` (default: now). */
  run(untilMs = this.port.nowMs): void {
    for (let guard = 0; guard < 100_000; guard++) {
      for (const { to, msg } of this.port.take()) this.handle(to, msg);
      const next = this.inbox.shift();
      if (next) {
        this.ctrl.receive(next, next.type === 'csi.response' ? 'backend/ceph' : 'apiserver');
        continue;
      }
      if (!this.port.fireDue(this.ctrl, untilMs)) {
        this.port.nowMs = untilMs;
        return;
      }
    }
    throw new Error('did not settle');
  }

  /** `reason message` of the events about one object, in order. */
  eventsFor(name: string): string[] {
    return this.events.filter((e) => e.involvedObject.name === name).map((e) => `${e.eventType} ${e.reason} ${e.message}`);
  }

  /** `verb kind` of the writes (gets and lists left out). */
  writeLog(): string[] {
    return this.writes.filter((w) => w.verb !== 'get' && w.verb !== 'list').map((w) => `${w.verb} ${w.kind}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Builders

interface PvOpts {
  cls?: string;
  modes?: string[];
  policy?: string;
  claim?: string;
  claimUid?: string;
  phase?: string;
  ann?: Record<string, string>;
  source?: Record<string, unknown>;
  volumeMode?: string;
}

function pv(name: string, size: string, o: PvOpts = {}): KObject {
  const spec: Record<string, unknown> = {
    capacity: { storage: size },
    accessModes: o.modes ?? ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: o.policy ?? 'Retain',
    ...(o.source ?? { nfs: { server: 'nfs-server', path: `/exports/${name}` } }),
  };
  if (o.cls !== undefined) spec['storageClassName'] = o.cls;
  if (o.volumeMode) spec['volumeMode'] = o.volumeMode;
  if (o.claim) spec['claimRef'] = { kind: 'PersistentVolumeClaim', namespace: NS, name: o.claim, ...(o.claimUid ? { uid: o.claimUid } : {}) };
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, ...(o.ann ? { annotations: o.ann } : {}) },
    spec,
    ...(o.phase ? { status: { phase: o.phase } } : {}),
  };
}

interface ClaimOpts {
  cls?: string | null;
  modes?: string[];
  volumeName?: string;
  uid?: string;
  phase?: string;
  ann?: Record<string, string>;
  volumeMode?: string;
}

function pvc(name: string, size: string, o: ClaimOpts = {}): KObject {
  const spec: Record<string, unknown> = { accessModes: o.modes ?? ['ReadWriteOnce'], resources: { requests: { storage: size } } };
  if (o.cls !== undefined && o.cls !== null) spec['storageClassName'] = o.cls;
  if (o.volumeName) spec['volumeName'] = o.volumeName;
  if (o.volumeMode) spec['volumeMode'] = o.volumeMode;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS, ...(o.uid ? { uid: o.uid } : {}), ...(o.ann ? { annotations: o.ann } : {}) },
    spec,
    ...(o.phase ? { status: { phase: o.phase } } : {}),
  };
}

function sc(name: string, provisioner: string, o: { mode?: string; policy?: string; params?: Record<string, string>; mountOptions?: string[]; isDefault?: boolean } = {}): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, ...(o.isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    provisioner,
    ...(o.mode ? { volumeBindingMode: o.mode } : {}),
    ...(o.policy ? { reclaimPolicy: o.policy } : {}),
    ...(o.params ? { parameters: o.params } : {}),
    ...(o.mountOptions ? { mountOptions: o.mountOptions } : {}),
  };
}

function pod(name: string, claim: string, o: { node?: string; phase?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] },
    status: { phase: o.phase ?? 'Pending' },
  };
}

/** A PV and claim bound to each other, as the controller leaves them. */
function boundPair(pvName: string, claimName: string, o: PvOpts = {}): KObject[] {
  const uid = `uid-${claimName}`;
  return [
    pv(pvName, '1Gi', { ...o, claim: claimName, claimUid: uid, phase: 'Bound', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes', ...(o.ann ?? {}) } }),
    pvc(claimName, '1Gi', { uid, volumeName: pvName, phase: 'Bound', ann: { 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
  ];
}

const FAILED_BINDING = 'Normal FailedBinding no persistent volumes available for this claim and no storage class is set';

// ---------------------------------------------------------------------------------------------

describe('persistentvolume-controller', () => {
  describe('binding', () => {
    it('case 16 - a bind writes the PV claimRef, the PV phase, the claim, then the claim phase', () => {
      const c = new Cluster([pv('pv-a', '10Gi', { modes: ['ReadWriteOnce', 'ReadOnlyMany'] }), pvc('claim-a', '1Gi')]);
      expect(c.writeLog()).to.deep.equal([
        'updateStatus PersistentVolume', // Pending -> Available
        'update PersistentVolume',
        'updateStatus PersistentVolume',
        'update PersistentVolumeClaim',
        'updateStatus PersistentVolumeClaim',
      ]);
      const v = c.pv('pv-a')!;
      const claim = c.pvc('claim-a')!;
      expect(v.spec.claimRef).to.include({ kind: 'PersistentVolumeClaim', namespace: NS, name: 'claim-a', uid: claim.metadata.uid });
      expect(v.metadata.annotations).to.deep.equal({ 'pv.kubernetes.io/bound-by-controller': 'yes' });
      expect(v.status.phase).to.equal('Bound');
      expect(claim.spec.volumeName).to.equal('pv-a');
      expect(claim.metadata.annotations).to.deep.equal({ 'pv.kubernetes.io/bound-by-controller': 'yes', 'pv.kubernetes.io/bind-completed': 'yes' });
      expect(claim.status).to.deep.equal({ phase: 'Bound', accessModes: ['ReadWriteOnce', 'ReadOnlyMany'], capacity: { storage: '10Gi' } });
      expect(c.events).to.deep.equal([]);
    });

    const resumeRows: { name: string; objs: KObject[]; writes: string[] }[] = [
      {
        name: '1-8 - complete bind after crash - PV bound',
        objs: [
          pv('pv-a', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Available', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
          pvc('claim-a', '1Gi', { uid: 'uid-claim-a' }),
        ],
        writes: ['updateStatus PersistentVolume', 'update PersistentVolumeClaim', 'updateStatus PersistentVolumeClaim'],
      },
      {
        name: '1-9 - complete bind after crash - PV status saved',
        objs: [
          pv('pv-a', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
          pvc('claim-a', '1Gi', { uid: 'uid-claim-a' }),
        ],
        writes: ['update PersistentVolumeClaim', 'updateStatus PersistentVolumeClaim'],
      },
      {
        name: '1-10 - complete bind after crash - PVC bound',
        objs: [
          pv('pv-a', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
          pvc('claim-a', '1Gi', { uid: 'uid-claim-a', volumeName: 'pv-a', ann: { 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
        ],
        writes: ['updateStatus PersistentVolumeClaim'],
      },
    ];
    for (const row of resumeRows) {
      it(row.name, () => {
        const c = new Cluster(row.objs);
        expect(c.writeLog()).to.deep.equal(row.writes);
        expect(c.pv('pv-a')!.status.phase).to.equal('Bound');
        expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
        expect(c.pvc('claim-a')!.spec.volumeName).to.equal('pv-a');
      });
    }

    it('1-5 - a volume prebound by name gets the claim uid and the claim its capacity', () => {
      const c = new Cluster([pv('pv-big', '10Gi', { claim: 'claim-a', phase: 'Available' }), pv('pv-small', '1Gi', { phase: 'Available' }), pvc('claim-a', '1Gi', { uid: 'uid-claim-a' })]);
      expect(c.pv('pv-big')!.spec.claimRef.uid).to.equal('uid-claim-a');
      // Pre-bound by the user: the controller does not claim the binding as its own.
      expect(c.pv('pv-big')!.metadata.annotations).to.equal(undefined);
      expect(c.pvc('claim-a')!.status.capacity).to.deep.equal({ storage: '10Gi' });
      expect(c.pv('pv-small')!.status.phase).to.equal('Available');
    });

    it('1-2 - noop: a claim no volume fits stays Pending with FailedBinding, repeated on every resync', () => {
      const c = new Cluster([pv('pv-a', '1Gi'), pvc('claim-a', '10Gi')]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      const first = c.eventsFor('claim-a').length;
      expect(c.eventsFor('claim-a')[0]).to.equal(FAILED_BINDING);
      c.run(30_000);
      expect(c.eventsFor('claim-a').length).to.equal(first + 2);
      expect(new Set(c.eventsFor('claim-a'))).to.deep.equal(new Set([FAILED_BINDING]));
    });

    it('1-3 - reset to Pending: a claim marked Bound without bind-completed and no volume', () => {
      const c = new Cluster([pvc('claim-a', '1Gi', { phase: 'Bound' })]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      expect(c.eventsFor('claim-a')).to.include(FAILED_BINDING);
    });

    it('a claim waits for the resync to see a volume that became Available after it looked', () => {
      const c = new Cluster([pvc('claim-a', '1Gi')]);
      c.create(pv('pv-a', '1Gi'));
      c.run(c.port.nowMs);
      expect(c.pv('pv-a')!.status.phase).to.equal('Available');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      c.run(15_000);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('a write refused with 409 is retried when the watch brings the newer object', () => {
      let touched = false;
      const c = new Cluster([]);
      c.beforeAnswer = (req) => {
        if (!touched && req.verb === 'update' && req.kind === 'PersistentVolumeClaim') {
          touched = true;
          c.change('PersistentVolumeClaim', 'claim-a', (o) => (o.metadata.labels = { touched: 'yes' }));
        }
      };
      c.create(pv('pv-a', '1Gi', { phase: 'Available' }));
      c.create(pvc('claim-a', '1Gi'));
      c.run();
      expect(touched).to.equal(true);
      const claimUpdates = c.writes.filter((w) => w.verb === 'update' && w.kind === 'PersistentVolumeClaim');
      expect(claimUpdates.length).to.equal(2);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
      expect(c.pvc('claim-a')!.metadata.labels).to.deep.equal({ touched: 'yes' });
    });

    it('a lost response fails the sync after the request timeout and the bind completes later', () => {
      let lost = 0;
      const c = new Cluster([pv('pv-a', '1Gi', { phase: 'Available' })]);
      c.loseResponse = (req) => req.verb === 'update' && req.kind === 'PersistentVolume' && lost++ === 0;
      c.create(pvc('claim-a', '1Gi'));
      c.run(30_000);
      expect(c.pv('pv-a')!.spec.claimRef.name).to.equal('claim-a');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      c.run(90_000);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('resync costs nothing when every claim is bound: the timer stops, no message is sent', () => {
      const c = new Cluster([pv('pv-a', '1Gi'), pvc('claim-a', '1Gi')]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
      const before = c.writes.length + c.events.length;
      // The tick armed while the claim was Pending finds nothing to do and is not re-armed.
      c.run(15_000);
      expect(c.port.timers.has('resync')).to.equal(false);
      c.run(120_000);
      expect(c.writes.length + c.events.length).to.equal(before);
    });

    it('2-1 - a claim prebound to a volume that does not exist stays Pending without an event', () => {
      const c = new Cluster([pvc('claim-a', '1Gi', { volumeName: 'pv-missing' })]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      expect(c.eventsFor('claim-a')).to.deep.equal([]);
    });

    // checkVolumeSatisfyClaim, in its order: deletion, size, class, volumeMode, access modes.
    const mismatches: { name: string; volume: KObject; claim: KObject; why: string }[] = [
      { name: '2-9 - a claim prebound to an unbound volume that is too small', volume: pv('pv-a', '1Gi'), claim: pvc('claim-a', '10Gi', { volumeName: 'pv-a' }), why: 'requested PV is too small' },
      { name: '2-10 - a claim prebound to an unbound volume of another storage class', volume: pv('pv-a', '10Gi', { cls: 'gold' }), claim: pvc('claim-a', '1Gi', { volumeName: 'pv-a', cls: 'silver' }), why: 'storageClassName does not match' },
      { name: 'a claim with no class prebound to a volume of a class', volume: pv('pv-a', '10Gi', { cls: 'gold' }), claim: pvc('claim-a', '1Gi', { volumeName: 'pv-a', cls: '' }), why: 'storageClassName does not match' },
      { name: 'a Block claim prebound to a Filesystem volume', volume: pv('pv-a', '10Gi'), claim: pvc('claim-a', '1Gi', { volumeName: 'pv-a', volumeMode: 'Block' }), why: 'incompatible volumeMode' },
      { name: 'an RWX claim prebound to an RWO volume', volume: pv('pv-a', '10Gi'), claim: pvc('claim-a', '1Gi', { volumeName: 'pv-a', modes: ['ReadWriteMany'] }), why: 'incompatible accessMode' },
    ];
    for (const m of mismatches) {
      it(`${m.name} stays Pending with VolumeMismatch "${m.why}"`, () => {
        const c = new Cluster([m.volume, m.claim]);
        expect(c.eventsFor('claim-a')[0]).to.equal(`Warning VolumeMismatch Cannot bind to requested volume "pv-a": ${m.why}`);
        expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
        expect(c.pv('pv-a')!.spec.claimRef).to.equal(undefined);
      });
    }

    it('2-8 - a claim prebound to a volume binds even when its selector does not match', () => {
      const claim = pvc('claim-a', '1Gi', { volumeName: 'pv-a' });
      claim.spec.selector = { matchLabels: { disk: 'ssd' } };
      const c = new Cluster([pv('pv-a', '1Gi'), claim]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('2-6 - a claim prebound to a volume bound to another claim gets FailedBinding', () => {
      const c = new Cluster([...boundPair('pv-a', 'claim-a'), pvc('claim-b', '1Gi', { volumeName: 'pv-a' })]);
      expect(c.eventsFor('claim-b')).to.include('Warning FailedBinding volume "pv-a" already bound to a different claim.');
      expect(c.pvc('claim-b')!.status.phase).to.equal('Pending');
    });

    it('14-13 - a volume prebound to a claim of another volumeMode warns on both', () => {
      const c = new Cluster([pv('pv-a', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', volumeMode: 'Block' }), pvc('claim-a', '1Gi', { uid: 'uid-claim-a' })]);
      expect(c.eventsFor('pv-a')).to.include('Warning VolumeMismatch Cannot bind PersistentVolume to requested PersistentVolumeClaim "claim-a" due to incompatible volumeMode.');
      expect(c.eventsFor('claim-a')).to.include('Warning VolumeMismatch Cannot bind PersistentVolume "pv-a" to requested PersistentVolumeClaim due to incompatible volumeMode.');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
    });

    it('4-7 - a volume the controller bound to a claim now bound elsewhere is rolled back to Available', () => {
      const c = new Cluster([
        ...boundPair('pv-a', 'claim-a'),
        pv('pv-b', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
      ]);
      expect(c.pv('pv-b')!.spec.claimRef).to.equal(undefined);
      expect(c.pv('pv-b')!.metadata.annotations).to.equal(undefined);
      expect(c.pv('pv-b')!.status.phase).to.equal('Available');
    });

    it('4-8 - a volume a user pre-bound to a claim bound elsewhere keeps the claim name, not its uid', () => {
      const c = new Cluster([...boundPair('pv-a', 'claim-a'), pv('pv-b', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound' })]);
      expect(c.pv('pv-b')!.spec.claimRef).to.deep.equal({ kind: 'PersistentVolumeClaim', namespace: NS, name: 'claim-a' });
      expect(c.pv('pv-b')!.status.phase).to.equal('Available');
    });
  });

  describe('lost claims', () => {
    const rows: { name: string; objs: KObject[]; event: string }[] = [
      {
        name: '3-1 - a bound claim whose volumeName was cleared is Lost',
        objs: [pvc('claim-a', '1Gi', { phase: 'Bound', ann: { 'pv.kubernetes.io/bind-completed': 'yes' } })],
        event: 'Warning ClaimLost Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      },
      {
        name: '3-2 - a bound claim whose volume is gone is Lost',
        objs: [pvc('claim-a', '1Gi', { phase: 'Bound', volumeName: 'pv-gone', ann: { 'pv.kubernetes.io/bind-completed': 'yes' } })],
        event: 'Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      },
      {
        name: '3-4 - a bound claim whose volume names another claim uid is misbound',
        objs: [
          pv('pv-a', '1Gi', { claim: 'claim-a', claimUid: 'uid-other', phase: 'Bound' }),
          pvc('claim-a', '1Gi', { uid: 'uid-claim-a', phase: 'Bound', volumeName: 'pv-a', ann: { 'pv.kubernetes.io/bind-completed': 'yes' } }),
        ],
        event: 'Warning ClaimMisbound Two claims are bound to the same volume, this one is bound incorrectly',
      },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const c = new Cluster(row.objs);
        expect(c.pvc('claim-a')!.status.phase).to.equal('Lost');
        expect(c.eventsFor('claim-a')).to.deep.equal([row.event]);
        // Lost is terminal and the event is not repeated.
        c.run(60_000);
        expect(c.eventsFor('claim-a')).to.deep.equal([row.event]);
      });
    }

    it('case 20 - deleting a Bound volume without protection makes its claim Lost', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a'));
      c.delete('PersistentVolume', 'pv-a');
      c.run();
      expect(c.pvc('claim-a')!.status.phase).to.equal('Lost');
    });
  });

  describe('reclaim', () => {
    it('4-3 - a Bound volume whose claim is deleted is Released after asking the API server; Retain keeps its claimRef', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a'));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.writes.some((w) => w.verb === 'get' && w.kind === 'PersistentVolumeClaim' && w.name === 'claim-a')).to.equal(true);
      expect(c.pv('pv-a')!.status.phase).to.equal('Released');
      expect(c.pv('pv-a')!.spec.claimRef).to.include({ name: 'claim-a', uid: 'uid-claim-a' });
      // Retain: nothing left to do, so no resync timer.
      expect(c.port.timers.has('resync')).to.equal(false);
    });

    it('4-4 - a claim re-created with a new uid does not get the Released Retain volume back', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a'));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      c.create(pvc('claim-a', '1Gi', { uid: 'uid-claim-a-2' }));
      c.run(60_000);
      expect(c.pv('pv-a')!.status.phase).to.equal('Released');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      expect(c.eventsFor('claim-a')).to.include(FAILED_BINDING);
    });

    it('8-1 - Delete of an in-tree rbd volume calls DeleteVolume, then deletes the PV', () => {
      const rbd = { rbd: { monitors: ['mon-a'], pool: 'kube', image: 'pvc-x' } };
      const c = new Cluster(boundPair('pvc-x', 'claim-a', { policy: 'Delete', source: rbd, ann: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/rbd' } }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.csi).to.deep.equal([{ to: 'backend/ceph', call: { method: 'DeleteVolume', volumeId: 'kube/pvc-x' } }]);
      expect(c.pv('pvc-x')).to.equal(undefined);
      expect(c.writeLog()).to.include('delete PersistentVolume');
    });

    it('8-5 - a failed delete marks the volume Failed with VolumeFailedDelete and is retried', () => {
      const rbd = { rbd: { monitors: ['mon-a'], pool: 'kube', image: 'pvc-x' } };
      const c = new Cluster(boundPair('pvc-x', 'claim-a', { policy: 'Delete', source: rbd, ann: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/rbd' } }));
      c.csiReply = () => ({ code: 13, message: 'rbd image kube/pvc-x is still being used' });
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.pv('pvc-x')!.status).to.deep.equal({ phase: 'Failed', message: 'rbd image kube/pvc-x is still being used' });
      expect(c.eventsFor('pvc-x')).to.deep.equal(['Warning VolumeFailedDelete rbd image kube/pvc-x is still being used']);
      c.csiReply = () => ({ code: 0, message: '' });
      c.run(15_000);
      expect(c.pv('pvc-x')).to.equal(undefined);
    });

    const failRows: { name: string; source: Record<string, unknown>; message: string }[] = [
      {
        name: 'a static hostPath volume outside /tmp cannot be deleted',
        source: { hostPath: { path: '/data/pv' } },
        message: 'host_path deleter only supports /tmp/.+ but received provided /data/pv',
      },
      {
        name: '8-3 - an NFS volume has no deleter',
        source: { nfs: { server: 'nfs-server', path: '/exports/a' } },
        message: 'error getting deleter volume plugin for volume "pv-a": no deletable volume plugin matched',
      },
    ];
    for (const row of failRows) {
      it(row.name, () => {
        const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Delete', source: row.source }));
        c.delete('PersistentVolumeClaim', 'claim-a');
        c.run();
        expect(c.pv('pv-a')!.status.phase).to.equal('Failed');
        expect(c.eventsFor('pv-a')).to.deep.equal([`Warning VolumeFailedDelete ${row.message}`]);
      });
    }

    it('a static hostPath volume under /tmp is deleted', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Delete', source: { hostPath: { path: '/tmp/data' } } }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.pv('pv-a')).to.equal(undefined);
    });

    it('8-10 - an externally provisioned volume is left Released for its provisioner', () => {
      const csi = { csi: { driver: 'rbd.csi.ceph.com', volumeHandle: 'h' } };
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Delete', source: csi, ann: { 'pv.kubernetes.io/provisioned-by': 'rbd.csi.ceph.com' } }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run(60_000);
      expect(c.pv('pv-a')!.status.phase).to.equal('Released');
      expect(c.csi).to.deep.equal([]);
      expect(c.writeLog()).to.not.include('delete PersistentVolume');
      // Nothing for this controller to do: no resync left armed.
      expect(c.port.timers.has('resync')).to.equal(false);
    });

    it('6-1 - Recycle runs the recycler pod; once it succeeded the pod is deleted and the volume is Available again with VolumeRecycled', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Recycle' }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      // NewPersistentVolumeRecyclerPodTemplate with the NFS plugin's overrides.
      const recycler = c.get('Pod', 'default', 'recycler-for-pv-a')!;
      expect(recycler.spec).to.deep.include({ activeDeadlineSeconds: 300, restartPolicy: 'Never', volumes: [{ name: 'vol', nfs: { server: 'nfs-server', path: '/exports/pv-a' } }] });
      expect(recycler.spec.containers[0]).to.deep.include({ name: 'pv-recycler', command: ['/bin/sh'], args: ['-c', 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1'], volumeMounts: [{ name: 'vol', mountPath: '/scrub' }] });
      expect(recycler.spec.nodeName ?? recycler.spec.affinity).to.equal(undefined);
      // Nothing is recycled before the pod has scrubbed the volume.
      expect(c.pv('pv-a')!.status.phase).to.equal('Released');
      expect(c.eventsFor('pv-a')).to.deep.equal([]);
      c.change('Pod', 'recycler-for-pv-a', (p) => (p.status = { phase: 'Succeeded' }));
      c.run();
      expect(c.get('Pod', 'default', 'recycler-for-pv-a')).to.equal(undefined);
      expect(c.eventsFor('pv-a')).to.deep.equal(['Normal VolumeRecycled Volume recycled']);
      expect(c.pv('pv-a')!.status.phase).to.equal('Available');
      expect(c.pv('pv-a')!.spec.claimRef).to.equal(undefined);
    });

    it('6-5 - a recycler pod that fails fails the volume: Recycle failed, the pod is deleted', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Recycle', source: { hostPath: { path: '/srv/a' } } }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.get('Pod', 'default', 'recycler-for-pv-a')!.spec).to.deep.include({ activeDeadlineSeconds: 60, volumes: [{ name: 'vol', hostPath: { path: '/srv/a' } }] });
      c.change('Pod', 'recycler-for-pv-a', (p) => (p.status = { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }));
      c.run();
      expect(c.get('Pod', 'default', 'recycler-for-pv-a')).to.equal(undefined);
      expect(c.pv('pv-a')!.status.phase).to.equal('Failed');
      expect(c.eventsFor('pv-a')).to.deep.equal(['Warning VolumeFailedRecycle Recycle failed: failed to recycle volume: Pod was active on the node longer than the specified deadline']);
    });

    it('6-11 - Recycle waits while a running pod still uses the volume', () => {
      const c = new Cluster([...boundPair('pv-a', 'claim-a', { policy: 'Recycle' }), pod('web-0', 'claim-a', { node: 'node-1', phase: 'Running' })]);
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.eventsFor('pv-a')).to.deep.equal(['Normal VolumeFailedRecycle Volume is used by pods: default/web-0']);
      expect(c.pv('pv-a')!.status.phase).to.equal('Released');
    });

    it('6-3 - Recycle of a volume without a recycler fails', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Recycle', source: { rbd: { monitors: ['m'], image: 'i' } } }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.pv('pv-a')!.status.phase).to.equal('Failed');
      expect(c.eventsFor('pv-a')).to.deep.equal(['Warning VolumeFailedRecycle No recycler plugin found for the volume!']);
    });

    it('6-10 - an unknown reclaim policy fails the volume', () => {
      const c = new Cluster(boundPair('pv-a', 'claim-a', { policy: 'Shred' }));
      c.delete('PersistentVolumeClaim', 'claim-a');
      c.run();
      expect(c.pv('pv-a')!.status).to.deep.equal({ phase: 'Failed', message: 'Volume has unrecognized PersistentVolumeReclaimPolicy' });
      expect(c.eventsFor('pv-a')).to.deep.equal(['Warning VolumeUnknownReclaimPolicy Volume has unrecognized PersistentVolumeReclaimPolicy']);
    });

    it('8-11 - a provisioned volume whose claim bound another volume is released and deleted', () => {
      const c = new Cluster([
        ...boundPair('pv-a', 'claim-a'),
        pv('pvc-extra', '1Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound', policy: 'Delete', source: { hostPath: { path: '/tmp/x' } }, ann: { 'pv.kubernetes.io/provisioned-by': 'kubernetes.io/host-path', 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
      ]);
      expect(c.pv('pvc-extra')).to.equal(undefined);
      expect(c.pv('pv-a')!.status.phase).to.equal('Bound');
    });
  });

  describe('provisioning', () => {
    it('11-1 - in-tree kubernetes.io/rbd: CreateVolume on the Ceph cluster, a PV pvc-<uid>, then bound', () => {
      const fast = sc('fast', 'kubernetes.io/rbd', { params: { monitors: 'm1:6789, m2:6789', pool: 'kube' }, mountOptions: ['discard'], policy: 'Retain' });
      const c = new Cluster([fast, pvc('claim-a', '2Gi', { cls: 'fast', uid: 'u1' })]);
      expect(c.csi.length).to.equal(1);
      expect(c.csi[0]!.to).to.equal('backend/ceph');
      expect(c.csi[0]!.call).to.deep.equal({
        method: 'CreateVolume',
        name: 'pvc-u1',
        capacityBytes: 2 * 2 ** 30,
        capabilities: [{ accessMode: 'SINGLE_NODE_WRITER', accessType: 'mount' }],
        parameters: { monitors: 'm1:6789, m2:6789', pool: 'kube' },
      });
      const v = c.pv('pvc-u1')!;
      expect(v.spec.rbd).to.deep.equal({ monitors: ['m1:6789', 'm2:6789'], image: 'pvc-u1', pool: 'kube', user: 'admin' });
      expect(v.spec.capacity).to.deep.equal({ storage: '2Gi' });
      expect(v.spec.persistentVolumeReclaimPolicy).to.equal('Retain');
      expect(v.spec.mountOptions).to.deep.equal(['discard']);
      expect(v.spec.storageClassName).to.equal('fast');
      expect(v.metadata.annotations).to.deep.equal({
        'kubernetes.io/createdby': 'rbd-dynamic-provisioner',
        'pv.kubernetes.io/bound-by-controller': 'yes',
        'pv.kubernetes.io/provisioned-by': 'kubernetes.io/rbd',
      });
      expect(v.status.phase).to.equal('Bound');
      const claim = c.pvc('claim-a')!;
      expect(claim.metadata.annotations).to.include({ 'volume.beta.kubernetes.io/storage-provisioner': 'kubernetes.io/rbd', 'volume.kubernetes.io/storage-provisioner': 'kubernetes.io/rbd' });
      expect(claim.status.phase).to.equal('Bound');
      expect(claim.spec.volumeName).to.equal('pvc-u1');
      expect(c.eventsFor('claim-a')).to.deep.equal(['Normal ProvisioningSucceeded Successfully provisioned volume pvc-u1 using kubernetes.io/rbd']);
    });

    it('an rbd class without monitors uses the default Ceph monitors and pool rbd', () => {
      const c = new Cluster([sc('fast', 'kubernetes.io/rbd'), pvc('claim-a', '1Gi', { cls: 'fast', uid: 'u1' })]);
      expect(c.pv('pvc-u1')!.spec.rbd).to.deep.equal({ monitors: ['mon-a', 'mon-b', 'mon-c'], image: 'pvc-u1', pool: 'rbd', user: 'admin' });
      expect(c.pv('pvc-u1')!.spec.persistentVolumeReclaimPolicy).to.equal('Delete');
    });

    it('11-4 - a failed CreateVolume is ProvisioningFailed with the error, retried later', () => {
      const c = new Cluster([sc('fast', 'kubernetes.io/rbd')]);
      c.csiReply = () => ({ code: 14, message: 'ceph monitors have no quorum' });
      c.create(pvc('claim-a', '1Gi', { cls: 'fast', uid: 'u1' }));
      c.run();
      expect(c.eventsFor('claim-a')).to.deep.equal(['Warning ProvisioningFailed Failed to provision volume with StorageClass "fast": ceph monitors have no quorum']);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      c.csiReply = (call) => ({ code: 0, message: '', result: { volumeId: `rbd/${(call as { name: string }).name}` } });
      c.run(15_000);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('an rbd claim asking ReadWriteMany is refused by the in-tree plugin', () => {
      const c = new Cluster([sc('fast', 'kubernetes.io/rbd'), pvc('claim-a', '1Gi', { cls: 'fast', modes: ['ReadWriteMany'] })]);
      expect(c.eventsFor('claim-a')[0]).to.equal(
        'Warning ProvisioningFailed Failed to provision volume with StorageClass "fast": invalid AccessModes [ReadWriteMany]: only AccessModes [ReadWriteOnce ReadOnlyMany] are supported',
      );
      expect(c.csi).to.deep.equal([]);
    });

    it('11-23 - kubernetes.io/host-path provisions under /tmp/hostpath_pv with affinity to the selected node', () => {
      const c = new Cluster([sc('local', 'kubernetes.io/host-path', { mode: 'WaitForFirstConsumer' }), pvc('claim-a', '1Gi', { cls: 'local', uid: 'u1', ann: { 'volume.kubernetes.io/selected-node': 'node-2' } })]);
      const v = c.pv('pvc-u1')!;
      expect(v.spec.hostPath.path).to.match(/^\/tmp\/hostpath_pv\/[0-9a-f-]{36}$/);
      expect(v.spec.nodeAffinity).to.deep.equal({ required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-2'] }] }] } });
      expect(v.metadata.annotations?.['pv.kubernetes.io/provisioned-by']).to.equal('kubernetes.io/host-path');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('11-20 - host-path with class mount options is ProvisioningFailed', () => {
      const c = new Cluster([sc('local', 'kubernetes.io/host-path', { mountOptions: ['noatime', 'ro'] }), pvc('claim-a', '1Gi', { cls: 'local' })]);
      expect(c.eventsFor('claim-a')).to.include('Warning ProvisioningFailed Mount options are not supported by the provisioner but StorageClass "local" has mount options [noatime ro]');
    });

    it('11-17 - an external provisioner gets the claim annotated and ExternalProvisioning, repeated while Pending', () => {
      const c = new Cluster([sc('csi', 'rbd.csi.ceph.com'), pvc('claim-a', '1Gi', { cls: 'csi' })]);
      const claim = c.pvc('claim-a')!;
      expect(claim.metadata.annotations).to.deep.equal({ 'volume.beta.kubernetes.io/storage-provisioner': 'rbd.csi.ceph.com', 'volume.kubernetes.io/storage-provisioner': 'rbd.csi.ceph.com' });
      const msg =
        "Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'rbd.csi.ceph.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.";
      expect(c.eventsFor('claim-a')).to.include(msg);
      const n = c.eventsFor('claim-a').length;
      c.run(15_000);
      expect(c.eventsFor('claim-a').length).to.be.greaterThan(n);
      expect(c.pv(`pvc-${claim.metadata.uid}`)).to.equal(undefined);
    });

    const failures: { name: string; objs: KObject[]; message: string }[] = [
      {
        name: '11-14 - a claim of a class that does not exist is ProvisioningFailed',
        objs: [pvc('claim-a', '1Gi', { cls: 'node-local' })],
        message: 'Warning ProvisioningFailed storageclass.storage.k8s.io "node-local" not found',
      },
      {
        name: '11-18 - an unknown in-tree provisioner is ProvisioningFailed',
        objs: [sc('foo', 'kubernetes.io/foo'), pvc('claim-a', '1Gi', { cls: 'foo' })],
        message: 'Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/foo',
      },
      {
        name: 'an in-tree plugin that cannot provision is ProvisioningFailed',
        objs: [sc('nfs', 'kubernetes.io/nfs'), pvc('claim-a', '1Gi', { cls: 'nfs' })],
        message: 'Warning ProvisioningFailed no provisionable volume plugin matched',
      },
      {
        name: 'kubernetes.io/no-provisioner with Immediate binding has no plugin to provision',
        objs: [sc('local', 'kubernetes.io/no-provisioner'), pvc('claim-a', '1Gi', { cls: 'local' })],
        message: 'Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/no-provisioner',
      },
    ];
    for (const row of failures) {
      it(row.name, () => {
        const c = new Cluster(row.objs);
        expect(c.eventsFor('claim-a')[0]).to.equal(row.message);
        c.run(15_000);
        // Retried (and reported) on every sync, as upstream.
        expect(c.eventsFor('claim-a').filter((e) => e === row.message).length).to.be.greaterThan(1);
        expect(c.csi).to.deep.equal([]);
      });
    }

    for (const [name, cls] of [
      ["11-15 - no provisioning with class=''", ''],
      ['11-16 - no provisioning with class=nil', null],
    ] as const) {
      it(name, () => {
        const c = new Cluster([sc('fast', 'kubernetes.io/rbd'), pvc('claim-a', '1Gi', { cls })]);
        expect(c.eventsFor('claim-a')).to.deep.equal([FAILED_BINDING]);
        expect(c.csi).to.deep.equal([]);
      });
    }

    it('case 37 - a nil-class claim gets the default class once it exists, then provisions', () => {
      const c = new Cluster([pvc('claim-a', '1Gi', { uid: 'u1' })]);
      expect(c.eventsFor('claim-a')).to.deep.equal([FAILED_BINDING]);
      c.create(sc('fast', 'kubernetes.io/rbd', { isDefault: true }));
      c.run(15_000);
      expect(c.pvc('claim-a')!.spec.storageClassName).to.equal('fast');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('case 37 - an explicit empty class is never given the default class', () => {
      const c = new Cluster([sc('fast', 'kubernetes.io/rbd', { isDefault: true }), pvc('claim-a', '1Gi', { cls: '' })]);
      c.run(15_000);
      expect(c.pvc('claim-a')!.spec.storageClassName).to.equal('');
      expect(c.csi).to.deep.equal([]);
    });

    it('the beta class annotation decides the class to provision from', () => {
      const c = new Cluster([sc('fast', 'kubernetes.io/rbd'), pvc('claim-a', '1Gi', { cls: 'slow', uid: 'u1', ann: { [CLASS_ANN]: 'fast' } })]);
      expect(c.pv('pvc-u1')!.spec.storageClassName).to.equal('fast');
    });
  });

  describe('WaitForFirstConsumer', () => {
    it('39 - a WFFC claim with no pod waits for its first consumer', () => {
      const c = new Cluster([sc('local', 'kubernetes.io/no-provisioner', { mode: 'WaitForFirstConsumer' }), pv('pv-a', '1Gi', { cls: 'local' }), pvc('claim-a', '1Gi', { cls: 'local' })]);
      expect(c.eventsFor('claim-a')[0]).to.equal('Normal WaitForFirstConsumer waiting for first consumer to be created before binding');
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      expect(c.pv('pv-a')!.status.phase).to.equal('Available');
    });

    it('39 - with unscheduled pods the event names them', () => {
      const c = new Cluster([
        sc('local', 'kubernetes.io/no-provisioner', { mode: 'WaitForFirstConsumer' }),
        pvc('claim-a', '1Gi', { cls: 'local' }),
        pod('web-0', 'claim-a'),
        pod('web-1', 'claim-a'),
        pod('done', 'claim-a', { phase: 'Succeeded' }),
      ]);
      expect(c.eventsFor('claim-a')[0]).to.equal('Normal WaitForPodScheduled waiting for pods web-0,web-1 to be scheduled');
    });

    it('39 - a single unscheduled pod is named alone', () => {
      const c = new Cluster([sc('local', 'kubernetes.io/no-provisioner', { mode: 'WaitForFirstConsumer' }), pvc('claim-a', '1Gi', { cls: 'local' }), pod('web-0', 'claim-a'), pod('web-1', 'claim-a', { node: 'node-1' })]);
      expect(c.eventsFor('claim-a')[0]).to.equal('Normal WaitForPodScheduled waiting for pod web-0 to be scheduled');
    });

    it('1-13 - a WFFC claim still binds the volume the scheduler pre-bound to it', () => {
      const c = new Cluster([
        sc('local', 'kubernetes.io/no-provisioner', { mode: 'WaitForFirstConsumer' }),
        pv('pv-a', '1Gi', { cls: 'local', claim: 'claim-a', claimUid: 'uid-claim-a', ann: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }),
        pvc('claim-a', '1Gi', { cls: 'local', uid: 'uid-claim-a' }),
      ]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });
  });

  describe('start', () => {
    it('waits for every informer to list before syncing: a class listed last is still seen', () => {
      // Informers list in order (PersistentVolume, PersistentVolumeClaim, Pod, StorageClass).
      const c = new Cluster([pvc('claim-a', '1Gi', { cls: 'zz-fast', uid: 'u1' }), sc('zz-fast', 'kubernetes.io/rbd')]);
      expect(c.eventsFor('claim-a').some((e) => e.includes('not found'))).to.equal(false);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });

    it('does nothing until every kind is listed; a lost list answer is listed again after the request timeout and the backoff', () => {
      const c = new Cluster([pv('pv-a', '1Gi'), pvc('claim-a', '1Gi')], { dropLists: 1 });
      c.run(59_999);
      expect(c.writes).to.deep.equal([]);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Pending');
      // 60 s: the list times out (504); the reflector lists again 0.8-1.6 s later.
      c.run(60_799);
      expect(c.writes).to.deep.equal([]);
      c.run(61_600);
      expect(c.pvc('claim-a')!.status.phase).to.equal('Bound');
    });
  });
});
