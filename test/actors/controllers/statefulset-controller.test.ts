/**
 * The StatefulSet controller driven through a FakePort, with this file playing the API server
 * (answering its writes and feeding the matching watch events) and the kubelets (marking pods
 * Running and Ready, finishing their termination).
 */
import { expect } from 'chai';
import { FakePort } from '../../helpers/fake-port.ts';
import type { Component } from '../../../src/component.ts';
import type { ApiRequest, ApiStatus, KObject, Msg } from '../../../src/protocol.ts';
import { qualifiedResource } from '../../../src/model/objects.ts';
import { statefulSetController } from '../../../actors/controllers/statefulset-controller.ts';
import { revisionHash, revisionName } from '../../../actors/controllers/statefulset-utils.ts';

const NS = 'default';

interface Recorded {
  type: string;
  reason: string;
  message: string;
}

/** A tiny API server + kubelet: a store with resourceVersions, watch events, graceful pod deletion. */
class FakeCluster {
  readonly port = new FakePort('statefulset-controller');
  readonly ctrl: Component;
  readonly store = new Map<string, KObject>();
  readonly writes: ApiRequest[] = [];
  readonly events: Recorded[] = [];
  private rv = 0;
  private uidSeq = 0;
  private failNext: { verb: string; kind: string; status: ApiStatus }[] = [];
  /** The controller's watch of each kind. */
  private readonly watches = new Map<string, string>();
  /** While true, requests are queued unanswered (an API server that has not replied yet). */
  hold = false;
  private held: ApiRequest[] = [];

  constructor(opts: { bug?: string } = {}) {
    this.ctrl = statefulSetController(this.port, opts);
    this.ctrl.start?.();
    this.pump();
  }

  private key(kind: string, name: string): string {
    return `${kind}/${name}`;
  }
  get(kind: string, name: string): KObject | undefined {
    return this.store.get(this.key(kind, name));
  }
  pod(name: string): KObject {
    const p = this.get('Pod', name);
    expect(p, `pod ${name}`).to.not.equal(undefined);
    return p!;
  }
  names(kind: string): string[] {
    return [...this.store.values()].filter((o) => o.kind === kind).map((o) => o.metadata.name!).sort();
  }
  terminating(): string[] {
    return [...this.store.values()].filter((o) => o.kind === 'Pod' && o.metadata.deletionTimestamp).map((o) => o.metadata.name!).sort();
  }
  set(): KObject {
    return this.get('StatefulSet', 'web')!;
  }
  writesOf(verb: string, kind?: string): string[] {
    return this.writes.filter((r) => r.verb === verb && (!kind || r.kind === kind)).map((r) => r.name ?? r.obj?.metadata.name ?? '');
  }

  private deliver(msg: Msg): void {
    this.ctrl.receive(msg, 'apiserver');
  }
  private commit(event: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KObject): KObject {
    if (event === 'DELETED') this.store.delete(this.key(obj.kind, obj.metadata.name!));
    else {
      obj.metadata.resourceVersion = String(++this.rv);
      this.store.set(this.key(obj.kind, obj.metadata.name!), obj);
    }
    const watchId = this.watches.get(obj.kind);
    if (watchId) this.deliver({ type: 'watch', watchId, event, obj: structuredClone(obj) });
    return obj;
  }

  /** Stores an object as a user would (kubectl create), with a uid and defaults. */
  add(obj: KObject): KObject {
    const o = structuredClone(obj);
    if (o.kind !== 'Node') o.metadata.namespace ??= NS;
    o.metadata.uid = `uid-${o.metadata.name}-${++this.uidSeq}`;
    o.metadata.creationTimestamp = this.port.nowIso();
    if (o.kind === 'Pod' || o.kind === 'PersistentVolumeClaim') o.status ??= { phase: 'Pending' };
    if (o.kind === 'StatefulSet') o.metadata.generation = 1;
    return this.commit('ADDED', o);
  }
  /** Changes an object in place (kubectl edit / a kubelet status update). */
  modify(kind: string, name: string, fn: (o: KObject) => void): void {
    const o = structuredClone(this.get(kind, name)!);
    const before = JSON.stringify(o.spec);
    fn(o);
    if (kind === 'StatefulSet' && JSON.stringify(o.spec) !== before) o.metadata.generation = (o.metadata.generation ?? 1) + 1;
    this.commit('MODIFIED', o);
  }
  /** The kubelet reports the pod Running and Ready. */
  ready(name: string): void {
    this.modify('Pod', name, (p) => {
      p.spec.nodeName ??= 'node-1';
      p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: this.port.nowIso() }] };
    });
  }
  running(name: string): void {
    this.modify('Pod', name, (p) => {
      p.spec.nodeName ??= 'node-1';
      p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: this.port.nowIso() }] };
    });
  }
  readyAll(): void {
    for (const n of this.names('Pod')) if (this.pod(n).status?.phase !== 'Running' && !this.pod(n).metadata.deletionTimestamp) this.ready(n);
  }
  /** The kubelet confirms a terminating pod is gone. */
  terminate(name: string): void {
    const p = this.pod(name);
    expect(p.metadata.deletionTimestamp, `${name} is terminating`).to.be.a('string');
    this.commit('DELETED', p);
  }
  /** An object leaves the store (its last finalizer was removed). */
  drop(kind: string, name: string): void {
    this.commit('DELETED', this.get(kind, name)!);
  }
  userDelete(name: string): void {
    this.remove({ type: 'api.request', reqId: 'user', verb: 'delete', kind: 'Pod', namespace: NS, name });
  }
  fail(verb: string, kind: string, status: ApiStatus): void {
    this.failNext.push({ verb, kind, status });
  }

  private remove(req: ApiRequest): { ok: boolean; obj?: KObject; status?: ApiStatus } {
    const old = this.get(req.kind, req.name!);
    if (!old) return { ok: false, status: { code: 404, reason: 'NotFound', message: `${qualifiedResource(req.kind)} "${req.name}" not found` } };
    const graceful = req.kind === 'Pod' && old.status?.phase === 'Running' && req.gracePeriodSeconds !== 0;
    if (!graceful) {
      this.commit('DELETED', old);
      return { ok: true, obj: old };
    }
    if (old.metadata.deletionTimestamp) return { ok: true, obj: old };
    const next = structuredClone(old);
    next.metadata.deletionTimestamp = this.port.nowIso();
    next.metadata.deletionGracePeriodSeconds = 30;
    return { ok: true, obj: this.commit('MODIFIED', next) };
  }

  private serve(req: ApiRequest): void {
    if (req.verb === 'list') {
      // An informer's list: what the store holds of the kind.
      const items = [...this.store.values()].filter((o) => o.kind === req.kind).map((o) => structuredClone(o));
      return this.deliver({ type: 'api.response', reqId: req.reqId, ok: true, items, resourceVersion: String(this.rv) });
    }
    this.writes.push(req);
    const name = req.name ?? req.obj?.metadata.name ?? '';
    const inject = this.failNext.findIndex((f) => f.verb === req.verb && f.kind === req.kind);
    let out: { ok: boolean; obj?: KObject; status?: ApiStatus };
    if (inject >= 0) {
      out = { ok: false, status: this.failNext[inject]!.status };
      this.failNext.splice(inject, 1);
    } else if (req.verb === 'create') {
      out = this.get(req.kind, name)
        ? { ok: false, status: { code: 409, reason: 'AlreadyExists', message: `${qualifiedResource(req.kind)} "${name}" already exists` } }
        : { ok: true, obj: this.add(req.obj!) };
    } else if (req.verb === 'delete') {
      out = this.remove(req);
    } else if (req.verb === 'update' || req.verb === 'updateStatus') {
      const old = this.get(req.kind, name);
      if (!old) out = { ok: false, status: { code: 404, reason: 'NotFound', message: `${qualifiedResource(req.kind)} "${name}" not found` } };
      else if (req.obj!.metadata.resourceVersion !== old.metadata.resourceVersion)
        out = {
          ok: false,
          status: {
            code: 409,
            reason: 'Conflict',
            message: `Operation cannot be fulfilled on ${qualifiedResource(req.kind)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          },
        };
      else {
        const next = req.verb === 'updateStatus' ? { ...structuredClone(old), status: structuredClone(req.obj!.status) } : { ...structuredClone(req.obj!), status: structuredClone(old.status) };
        out = { ok: true, obj: this.commit('MODIFIED', next) };
      }
    } else throw new Error(`unexpected verb ${req.verb}`);
    this.deliver({ type: 'api.response', reqId: req.reqId, ...out });
  }

  /** Delivers everything the controller sent and fires its due timers, until it is quiet. */
  pump(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const msgs = this.port.take();
      for (const { msg } of msgs) {
        if (msg.type === 'api.request') {
          if (this.hold) this.held.push(msg);
          else this.serve(msg);
        } else if (msg.type === 'api.event') this.events.push({ type: msg.eventType, reason: msg.reason, message: msg.message });
        else if (msg.type === 'api.watch') this.watches.set(msg.kind, msg.watchId);
      }
      const due = [...this.port.timers].filter(([, at]) => at <= this.port.nowMs).sort((a, b) => a[1] - b[1]);
      for (const [k] of due) {
        this.port.timers.delete(k);
        this.ctrl.timer?.(k);
      }
      if (msgs.length === 0 && due.length === 0) return;
    }
    throw new Error('controller never went quiet');
  }
  /** Answers the requests held so far. */
  release(): void {
    this.hold = false;
    const h = this.held;
    this.held = [];
    for (const r of h) this.serve(r);
    this.pump();
  }
  advance(ms: number): void {
    this.port.nowMs += ms;
    this.pump();
  }
  /** Marks pods Ready one at a time, as kubelets would, until nothing is left to create. */
  settle(): void {
    for (let i = 0; i < 50; i++) {
      this.pump();
      const pending = this.names('Pod').filter((n) => this.pod(n).status?.phase !== 'Running' && !this.pod(n).metadata.deletionTimestamp);
      const dying = this.terminating();
      if (pending.length === 0 && dying.length === 0) return;
      for (const n of dying) this.terminate(n);
      for (const n of pending) this.ready(n);
    }
  }
}

function statefulSet(spec: Record<string, unknown> = {}, withClaims = false): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.24', volumeMounts: withClaims ? [{ name: 'www', mountPath: '/usr/share/nginx/html' }] : [] }] },
      },
      ...(withClaims
        ? {
            volumeClaimTemplates: [
              {
                metadata: { name: 'www', labels: { tier: 'storage' } },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            ],
          }
        : {}),
      ...spec,
    },
  };
}

function bumpImage(c: FakeCluster, image = 'nginx:1.25'): void {
  c.modify('StatefulSet', 'web', (s) => {
    s.spec.template.spec.containers[0].image = image;
  });
}

const rev = (p: KObject) => p.metadata.labels?.['controller-revision-hash'];
const image = (p: KObject) => p.spec.containers[0].image;

interface Row {
  name: string;
  run(): void;
}

const rows: Row[] = [
  {
    name: 'OrderedReady creates web-1 only after web-0 is Running and Ready',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0']);
      c.running('web-0'); // Running but not Ready yet
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0']);
      c.ready('web-0');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1']);
      c.ready('web-1');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
      expect(c.events).to.deep.include({ type: 'Normal', reason: 'SuccessfulCreate', message: 'create Pod web-0 in StatefulSet web successful' });
      const p = c.pod('web-1');
      expect(p.metadata.labels).to.include({ app: 'nginx', 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1' });
      expect(p.spec.hostname).to.equal('web-1');
      expect(p.spec.subdomain).to.equal('nginx');
      expect(p.metadata.ownerReferences).to.deep.equal([
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: c.set().metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
    },
  },
  {
    name: 'Parallel creates all pods at once',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ podManagementPolicy: 'Parallel' }));
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
    },
  },
  {
    name: 'scale down deletes the highest ordinal first and waits for it to terminate',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.settle();
      c.modify('StatefulSet', 'web', (s) => (s.spec.replicas = 1));
      c.pump();
      expect(c.terminating()).to.deep.equal(['web-2']);
      c.pump();
      expect(c.terminating()).to.deep.equal(['web-2']);
      expect(c.writesOf('delete', 'Pod')).to.deep.equal(['web-2']);
      c.terminate('web-2');
      c.pump();
      expect(c.terminating()).to.deep.equal(['web-1']);
      c.terminate('web-1');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0']);
      expect(c.events).to.deep.include({ type: 'Normal', reason: 'SuccessfulDelete', message: 'delete Pod web-2 in StatefulSet web successful' });
    },
  },
  {
    name: 'a deleted pod comes back with the same name',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.settle();
      const oldUid = c.pod('web-1').metadata.uid;
      c.userDelete('web-1');
      c.pump();
      expect(c.writesOf('create', 'Pod')).to.have.length(3); // not while web-1 is terminating
      c.terminate('web-1');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
      expect(c.pod('web-1').metadata.uid).to.not.equal(oldUid);
      expect(c.pod('web-1').spec.hostname).to.equal('web-1');
    },
  },
  {
    name: 'OrderedReady waits for a terminating pod before creating higher ordinals',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.settle();
      c.userDelete('web-0'); // still Running and Ready while it terminates
      c.userDelete('web-2');
      c.terminate('web-2');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1']);
      c.terminate('web-0');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1']); // web-0 again, not yet Ready
      c.ready('web-0');
      c.pump();
      expect(c.names('Pod')).to.deep.equal(['web-0', 'web-1', 'web-2']);
    },
  },
  {
    name: 'a failed pod is deleted and recreated',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.settle();
      const oldUid = c.pod('web-0').metadata.uid;
      c.modify('Pod', 'web-0', (p) => (p.status = { phase: 'Failed' }));
      c.pump();
      expect(c.writesOf('delete', 'Pod')).to.deep.equal(['web-0']);
      expect(c.pod('web-0').metadata.uid).to.not.equal(oldUid);
      const verbs = c.writes.filter((r) => r.kind === 'Pod').map((r) => `${r.verb} ${r.name ?? r.obj?.metadata.name}`);
      expect(verbs.slice(-2)).to.deep.equal(['delete web-0', 'create web-0']);
    },
  },
  {
    name: 'a succeeded pod is deleted and recreated too',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ replicas: 1 }));
      c.settle();
      c.modify('Pod', 'web-0', (p) => (p.status = { phase: 'Succeeded' }));
      c.pump();
      expect(c.writesOf('delete', 'Pod')).to.deep.equal(['web-0']);
      expect(c.names('Pod')).to.deep.equal(['web-0']);
      expect(c.pod('web-0').status.phase).to.equal('Pending');
    },
  },
  {
    name: 'rolling update replaces pods from the highest ordinal down',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.settle();
      const oldRev = rev(c.pod('web-0'));
      bumpImage(c);
      c.pump();
      expect(c.terminating()).to.deep.equal(['web-2']);
      c.terminate('web-2');
      c.pump();
      expect(image(c.pod('web-2'))).to.equal('nginx:1.25');
      const newRev = rev(c.pod('web-2'));
      expect(newRev).to.not.equal(oldRev);
      c.pump();
      expect(c.terminating()).to.deep.equal([]); // waits for web-2 to be Ready
      c.ready('web-2');
      c.pump();
      expect(c.terminating()).to.deep.equal(['web-1']);
      c.settle();
      expect(c.writesOf('delete', 'Pod')).to.deep.equal(['web-2', 'web-1', 'web-0']);
      expect(c.names('Pod').map((n) => rev(c.pod(n)))).to.deep.equal([newRev, newRev, newRev]);
      expect(c.set().status).to.include({ currentRevision: newRev, updateRevision: newRev, currentReplicas: 3, updatedReplicas: 3 });
    },
  },
  {
    name: 'partition keeps pods below it at the current revision, even when deleted',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
      c.settle();
      const oldRev = rev(c.pod('web-0'));
      bumpImage(c);
      c.settle();
      expect(c.writesOf('delete', 'Pod')).to.deep.equal(['web-2']);
      expect(image(c.pod('web-2'))).to.equal('nginx:1.25');
      c.userDelete('web-0');
      c.terminate('web-0');
      c.settle();
      expect(rev(c.pod('web-0'))).to.equal(oldRev);
      expect(image(c.pod('web-0'))).to.equal('nginx:1.24');
      expect(rev(c.pod('web-1'))).to.equal(oldRev);
      expect(c.set().status).to.include({ currentRevision: oldRev, currentReplicas: 2, updatedReplicas: 1 });
    },
  },
  {
    name: 'OnDelete does not replace pods until they are deleted',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ updateStrategy: { type: 'OnDelete' } }));
      c.settle();
      bumpImage(c);
      c.settle();
      expect(c.writesOf('delete', 'Pod')).to.deep.equal([]);
      expect(c.names('Pod').map((n) => image(c.pod(n)))).to.deep.equal(['nginx:1.24', 'nginx:1.24', 'nginx:1.24']);
      c.userDelete('web-1');
      c.terminate('web-1');
      c.settle();
      expect(image(c.pod('web-1'))).to.equal('nginx:1.25');
      expect(image(c.pod('web-0'))).to.equal('nginx:1.24');
    },
  },
  {
    name: 'claims are created from volumeClaimTemplates before the pod, named <template>-<set>-<ordinal>',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ replicas: 2 }, true));
      c.settle();
      const order = c.writes.filter((r) => r.verb === 'create').map((r) => `${r.kind} ${r.obj!.metadata.name}`);
      expect(order).to.deep.equal(['PersistentVolumeClaim www-web-0', 'Pod web-0', 'PersistentVolumeClaim www-web-1', 'Pod web-1']);
      const pvc = c.get('PersistentVolumeClaim', 'www-web-0')!;
      expect(pvc.metadata.labels).to.deep.equal({ tier: 'storage', app: 'nginx' });
      expect(pvc.metadata.ownerReferences ?? []).to.deep.equal([]);
      expect(pvc.spec.resources.requests.storage).to.equal('1Gi');
      expect(c.pod('web-0').spec.volumes).to.deep.equal([{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } }]);
      expect(c.events.slice(0, 2)).to.deep.equal([
        { type: 'Normal', reason: 'SuccessfulCreate', message: 'create Claim www-web-0 Pod web-0 in StatefulSet web success' },
        { type: 'Normal', reason: 'SuccessfulCreate', message: 'create Pod web-0 in StatefulSet web successful' },
      ]);
    },
  },
  {
    name: 'an existing claim is reused as is',
    run() {
      const c = new FakeCluster();
      c.add({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'www-web-0', namespace: NS },
        spec: { accessModes: ['ReadWriteMany'], storageClassName: 'nfs', resources: { requests: { storage: '5Gi' } } },
      });
      const before = structuredClone(c.get('PersistentVolumeClaim', 'www-web-0'));
      c.add(statefulSet({ replicas: 1 }, true));
      c.settle();
      expect(c.writesOf('create', 'PersistentVolumeClaim')).to.deep.equal([]);
      expect(c.writesOf('update', 'PersistentVolumeClaim')).to.deep.equal([]);
      expect(c.get('PersistentVolumeClaim', 'www-web-0')).to.deep.equal(before);
      expect(c.pod('web-0').spec.volumes[0].persistentVolumeClaim.claimName).to.equal('www-web-0');
    },
  },
  {
    name: 'a claim being deleted blocks its pod',
    run() {
      const c = new FakeCluster();
      c.add({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'www-web-0', namespace: NS, deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['kubernetes.io/pvc-protection'] }, spec: {} });
      c.add(statefulSet({ replicas: 1 }, true));
      c.pump();
      expect(c.names('Pod')).to.deep.equal([]);
      expect(c.events).to.deep.include({ type: 'Warning', reason: 'FailedCreate', message: 'create Pod web-0 in StatefulSet web failed error: pvc www-web-0 is being deleted' });
      c.drop('PersistentVolumeClaim', 'www-web-0');
      c.pump();
      expect(c.names('PersistentVolumeClaim')).to.deep.equal(['www-web-0']);
      expect(c.names('Pod')).to.deep.equal(['web-0']);
    },
  },
  {
    name: 'never two pods with one identity',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ replicas: 1 }));
      c.hold = true; // the API server is slow to answer the create
      c.pump();
      // More events reach the controller while its create is in flight.
      c.modify('StatefulSet', 'web', (s) => (s.metadata.annotations = { touched: 'yes' }));
      c.pump();
      c.advance(10);
      c.release();
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0']);
      // A pod that is still terminating keeps its name: no replacement until it is gone.
      c.settle();
      c.userDelete('web-0');
      c.pump();
      c.advance(60_000);
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0']);
      c.terminate('web-0');
      c.pump();
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0', 'web-0']);
    },
  },
  {
    name: 'a pod of that name owned by someone else is never overwritten',
    run() {
      const c = new FakeCluster();
      c.add({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: NS }, spec: { containers: [{ name: 'x', image: 'busybox' }] } });
      c.add(statefulSet({ replicas: 1 }));
      c.pump();
      c.advance(1000);
      expect(c.writesOf('create', 'Pod')).to.deep.equal([]);
      expect(c.pod('web-0').metadata.ownerReferences).to.equal(undefined);
    },
  },
  {
    name: 'status counts ready and updated replicas',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet());
      c.pump();
      c.ready('web-0');
      c.pump();
      c.ready('web-1');
      c.pump();
      const r = revisionName('web', revisionHash(c.set().spec.template, 0));
      expect(c.set().status).to.deep.equal({
        observedGeneration: 1,
        replicas: 3,
        readyReplicas: 2,
        currentReplicas: 3,
        updatedReplicas: 3,
        currentRevision: r,
        updateRevision: r,
        collisionCount: 0,
        availableReplicas: 2,
      });
      const writes = c.writesOf('updateStatus').length;
      c.modify('StatefulSet', 'web', (s) => (s.metadata.annotations = { touched: 'yes' }));
      c.pump();
      expect(c.writesOf('updateStatus')).to.have.length(writes); // unchanged status is not written
      bumpImage(c);
      c.pump();
      // web-2 is not Ready, so the rollout waits; no pod is at the new revision yet.
      expect(c.set().status).to.include({ observedGeneration: 2, replicas: 3, readyReplicas: 2, currentReplicas: 3, currentRevision: r });
      expect(c.set().status.updateRevision).to.match(/^web-[bcdfghjklmnpqrstvwxz2456789]+$/).and.not.equal(r);
      expect(c.set().status).to.not.have.property('updatedReplicas'); // omitempty, as the Go client writes it
    },
  },
  {
    name: 'a conflict is retried',
    run() {
      const c = new FakeCluster();
      const conflict = { code: 409, reason: 'Conflict' as const, message: 'Operation cannot be fulfilled on statefulsets.apps "web": the object has been modified; please apply your changes to the latest version and try again' };
      c.fail('updateStatus', 'StatefulSet', conflict);
      c.fail('updateStatus', 'StatefulSet', conflict);
      c.add(statefulSet({ replicas: 0 }));
      c.pump();
      expect(c.set().status).to.equal(undefined);
      expect(c.port.timers.get('sets/delay')).to.equal(5); // the work queue's rate limiter: 5 ms
      c.advance(5);
      expect(c.set().status).to.equal(undefined);
      expect(c.port.timers.get('sets/delay')).to.equal(15); // 10 ms after the second failure
      c.advance(10);
      expect(c.set().status).to.include({ observedGeneration: 1, replicas: 0 });
      expect(c.writesOf('updateStatus')).to.have.length(3);
    },
  },
  {
    name: 'a failed pod create is reported and retried',
    run() {
      const c = new FakeCluster();
      c.fail('create', 'Pod', { code: 403, reason: 'Forbidden', message: 'pods "web-0" is forbidden: exceeded quota' });
      c.add(statefulSet({ replicas: 1 }));
      c.pump();
      expect(c.events).to.deep.include({ type: 'Warning', reason: 'FailedCreate', message: 'create Pod web-0 in StatefulSet web failed error: pods "web-0" is forbidden: exceeded quota' });
      c.advance(5);
      expect(c.names('Pod')).to.deep.equal(['web-0']);
      expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0', 'web-0']);
      expect(c.events.filter((e) => e.reason === 'SuccessfulCreate')).to.have.length(1);
    },
  },
  {
    name: 'whenDeleted Delete gives each claim an ownerReference to the set',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ replicas: 1, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }, true));
      c.settle();
      expect(c.get('PersistentVolumeClaim', 'www-web-0')!.metadata.ownerReferences).to.deep.equal([
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: c.set().metadata.uid },
      ]);
    },
  },
  {
    name: 'whenScaled Delete gives a scaled-down pod\'s claim an ownerReference to the pod',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ replicas: 2, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } }, true));
      c.settle();
      expect(c.get('PersistentVolumeClaim', 'www-web-1')!.metadata.ownerReferences ?? []).to.deep.equal([]);
      const podUid = c.pod('web-1').metadata.uid;
      c.modify('StatefulSet', 'web', (s) => (s.spec.replicas = 1));
      c.pump();
      expect(c.get('PersistentVolumeClaim', 'www-web-1')!.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: podUid }]);
      expect(c.terminating()).to.deep.equal(['web-1']);
    },
  },
  {
    name: 'a claim deleted under a Pending pod is created again at the next sync',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ podManagementPolicy: 'Parallel', replicas: 2 }, true));
      c.pump();
      expect(c.writesOf('create', 'PersistentVolumeClaim')).to.deep.equal(['www-web-0', 'www-web-1']);
      // The syncs since found both claims; then www-web-1 goes while web-1 is still Pending.
      c.modify('Pod', 'web-0', (p) => (p.spec.nodeName = 'node-1'));
      c.pump();
      c.drop('PersistentVolumeClaim', 'www-web-1');
      c.pump();
      expect(c.writesOf('create', 'PersistentVolumeClaim')).to.deep.equal(['www-web-0', 'www-web-1', 'www-web-1']);
      expect(c.names('PersistentVolumeClaim')).to.deep.equal(['www-web-0', 'www-web-1']);
    },
  },
  {
    name: 'an ownerReference someone removed from a claim is put back at the next sync',
    run() {
      const c = new FakeCluster();
      c.add(statefulSet({ podManagementPolicy: 'Parallel', replicas: 2, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }, true));
      c.settle();
      const setRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: c.set().metadata.uid };
      expect(c.get('PersistentVolumeClaim', 'www-web-1')!.metadata.ownerReferences).to.deep.equal([setRef]);
      // Someone strips the reference; a claim update alone does not sync the set, a pod event does.
      c.modify('PersistentVolumeClaim', 'www-web-1', (pvc) => delete pvc.metadata.ownerReferences);
      c.pump();
      expect(c.get('PersistentVolumeClaim', 'www-web-1')!.metadata.ownerReferences).to.equal(undefined);
      c.modify('Pod', 'web-0', (p) => (p.metadata.annotations = { touched: 'yes' }));
      c.pump();
      expect(c.get('PersistentVolumeClaim', 'www-web-1')!.metadata.ownerReferences).to.deep.equal([setRef]);
      expect(c.get('PersistentVolumeClaim', 'www-web-0')!.metadata.ownerReferences).to.deep.equal([setRef]);
    },
  },
];

describe('statefulset-controller', () => {
  for (const row of rows) it(row.name, row.run);

  it('the revision name is the hash Kubernetes gives the same template', () => {
    // pkg/controller/statefulset/testdata/compatibility_revision_1.33.0.json: ControllerRevision test-c77f6d978.
    const template = {
      metadata: { annotations: { test: 'value' }, creationTimestamp: null, labels: { app: 'foo' } },
      spec: {
        containers: [{ image: 'test', imagePullPolicy: 'Always', name: 'test', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: {},
        terminationGracePeriodSeconds: 30,
      },
    };
    expect(revisionName('test', revisionHash(template as never, 0))).to.equal('test-c77f6d978');
  });

  it('with the sts-force-delete bug, a terminating pod on an unreachable node is force-deleted and recreated', () => {
    for (const bug of [undefined, 'sts-force-delete']) {
      const c = new FakeCluster(bug ? { bug } : {});
      c.add({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, spec: {} });
      c.add(statefulSet({ replicas: 1 }));
      c.settle();
      c.userDelete('web-0'); // evicted: the kubelet on node-1 never confirms
      c.modify('Node', 'node-1', (n) => (n.spec.taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]));
      c.pump();
      if (bug) {
        expect(c.writes.filter((r) => r.verb === 'delete').map((r) => r.gracePeriodSeconds)).to.deep.equal([0]);
        expect(c.terminating()).to.deep.equal([]);
        expect(c.writesOf('create', 'Pod')).to.deep.equal(['web-0', 'web-0']);
      } else {
        expect(c.writesOf('delete')).to.deep.equal([]);
        expect(c.terminating()).to.deep.equal(['web-0']);
      }
    }
  });
});
