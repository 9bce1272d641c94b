/**
 * The API server: optimistic concurrency, graceful deletion and finalizers, watches, admission,
 * and what a delayed watch event does to a controller that trusts its cache.
 */
import { expect } from 'chai';
import { apiServer, EventLog } from '../../actors/apiserver.ts';
import { ObjectStore } from '../../src/store.ts';
import type { ApiResponse, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
import type { Component } from '../../src/component.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { Simulation } from '../../sim/index.ts';
import { scenarioDoc } from '../helpers/scenarios.ts';

function server() {
  const store = new ObjectStore();
  const port = new FakePort('apiserver');
  const api = apiServer(port, { store, events: new EventLog() });
  for (const ns of ['default', 'kube-system']) {
    store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, uid: ns }, status: { phase: 'Active' } });
  }
  let n = 0;
  const clock = port;
  const call = (body: Record<string, unknown>, from = 'client'): ApiResponse => {
    port.take();
    api.receive({ type: 'api.request', reqId: `r${++n}`, ...body } as Msg, from);
    const res = port.take().find((s) => s.to === from && s.msg.type === 'api.response');
    return res!.msg as ApiResponse;
  };
  return { store, port, api, call, clock };
}

const cm = (name: string, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'default' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: '' },
  ...extra,
});

describe('apiserver', () => {
  it('create fills uid, resourceVersion, creationTimestamp and defaults', () => {
    const { call } = server();
    const r = call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
    expect(r.ok).to.equal(true);
    expect(r.obj!.metadata.uid).to.match(/^[0-9a-f-]{36}$/);
    expect(Number(r.obj!.metadata.resourceVersion)).to.be.greaterThan(0);
    expect(r.obj!.metadata.creationTimestamp).to.equal('2025-01-01T00:00:00Z');
    expect(r.obj!.spec.volumeMode).to.equal('Filesystem');
    expect(r.obj!.status.phase).to.equal('Pending');
    expect(r.obj!.metadata.finalizers).to.deep.equal(['kubernetes.io/pvc-protection']);
  });

  it('a second create of the same name is 409 AlreadyExists', () => {
    const { call } = server();
    call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
    const r = call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
    expect(r.status).to.deep.equal({ code: 409, reason: 'AlreadyExists', message: 'persistentvolumeclaims "a" already exists' });
  });

  it('a write with a stale resourceVersion gets 409 Conflict', () => {
    const { call } = server();
    const created = call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') }).obj!;
    const first = { ...created, metadata: { ...created.metadata, labels: { a: '1' } } };
    expect(call({ verb: 'update', kind: 'PersistentVolumeClaim', obj: first }).ok).to.equal(true);
    const stale = { ...created, metadata: { ...created.metadata, labels: { a: '2' } } };
    const r = call({ verb: 'update', kind: 'PersistentVolumeClaim', obj: stale });
    expect(r.status!.code).to.equal(409);
    expect(r.status!.message).to.equal('Operation cannot be fulfilled on persistentvolumeclaims "a": the object has been modified; please apply your changes to the latest version and try again');
  });

  it('an invalid object is 422 with the field path', () => {
    const { call } = server();
    const r = call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('Bad_Name') });
    expect(r.status!.code).to.equal(422);
    expect(r.status!.message).to.match(/^PersistentVolumeClaim "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  });

  it('an object with finalizers stays with a deletionTimestamp until the last finalizer goes', () => {
    const { call, store } = server();
    call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
    expect(call({ verb: 'delete', kind: 'PersistentVolumeClaim', namespace: 'default', name: 'a' }).ok).to.equal(true);
    const terminating = store.get('PersistentVolumeClaim', 'default', 'a')!;
    expect(terminating.metadata.deletionTimestamp).to.equal('2025-01-01T00:00:00Z');
    const released = { ...terminating, metadata: { ...terminating.metadata, finalizers: [] } };
    expect(call({ verb: 'update', kind: 'PersistentVolumeClaim', obj: released }).ok).to.equal(true);
    expect(store.get('PersistentVolumeClaim', 'default', 'a')).to.equal(undefined);
  });

  it('deleting an unknown object is 404 NotFound in kubectl\'s words', () => {
    const { call } = server();
    expect(call({ verb: 'delete', kind: 'Pod', namespace: 'default', name: 'web-9' }).status).to.deep.equal({ code: 404, reason: 'NotFound', message: 'pods "web-9" not found' });
  });

  describe('list and watch, as the watch cache serves them', () => {
    /** The watch events `to` got since the last take, as `EVENT name` (ERROR: its message). */
    const events = (port: FakePort, to = 'ctrl') =>
      port
        .take()
        .filter((s) => s.to === to && s.msg.type === 'watch')
        .map((s) => {
          const m = s.msg as WatchEvent;
          return m.event === 'ERROR' ? `ERROR ${String(m.obj['code'])} ${String(m.obj['message'])}` : `${m.event} ${m.obj.metadata.name}`;
        });
    const watch = (api: Component, kind: string, resourceVersion: string, watchId = 'w1', from = 'ctrl', nodeName?: string) =>
      api.receive({ type: 'api.watch', watchId, kind, resourceVersion, ...(nodeName ? { nodeName } : {}) }, from);

    it('a list carries the collection resourceVersion; a watch from it gets every later change, in order', () => {
      const { call, api, port } = server();
      call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
      const list = call({ verb: 'list', kind: 'PersistentVolumeClaim' });
      expect(list.items!.map((o) => o.metadata.name)).to.deep.equal(['a']);
      watch(api, 'PersistentVolumeClaim', list.resourceVersion!);
      expect(events(port), 'nothing changed since the list').to.deep.equal([]);
      api.receive({ type: 'api.request', reqId: 'x', verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('b') }, 'client');
      api.receive({ type: 'api.request', reqId: 'y', verb: 'delete', kind: 'PersistentVolumeClaim', name: 'a', namespace: 'default' }, 'client');
      // The claim has the pvc-protection finalizer: its deletion is a change (deletionTimestamp).
      expect(events(port)).to.deep.equal(['ADDED b', 'MODIFIED a']);
    });

    it('a watch resumed from an earlier resourceVersion gets the changes it missed, then new ones', () => {
      const { call, api, port } = server();
      const rv = call({ verb: 'list', kind: 'PersistentVolumeClaim' }).resourceVersion!;
      call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
      call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('b') });
      call({ verb: 'delete', kind: 'PersistentVolumeClaim', name: 'a' });
      port.take();
      watch(api, 'PersistentVolumeClaim', rv);
      expect(events(port)).to.deep.equal(['ADDED a', 'ADDED b', 'MODIFIED a']);
    });

    it('a watch from a resourceVersion the watch cache no longer holds gets 410 Expired, too old resource version', () => {
      const { call, api, port, clock } = server();
      const rv = call({ verb: 'list', kind: 'PersistentVolumeClaim' }).resourceVersion!;
      // 150 changes, 80 s apart from the first: the 100-event ring does not grow (its oldest
      // event is older than 75 s) and evicts the first 50.
      for (let i = 0; i < 150; i++) {
        clock.nowMs = i < 100 ? 0 : 80_000;
        call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm(`c${i}`) });
      }
      port.take();
      watch(api, 'PersistentVolumeClaim', rv);
      const [only] = events(port);
      expect(only).to.match(/^ERROR 410 too old resource version: \d+ \(\d+\)$/);
    });

    it('events of the last 75 s are kept even beyond 100: the ring grows', () => {
      const { call, api, port } = server();
      const rv = call({ verb: 'list', kind: 'PersistentVolumeClaim' }).resourceVersion!;
      for (let i = 0; i < 150; i++) call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm(`c${i}`) });
      port.take();
      watch(api, 'PersistentVolumeClaim', rv);
      expect(events(port)).to.have.length(150);
    });

    it('a restarted API server keeps objects and resourceVersions but not its watch cache: older watches get 410', () => {
      const { call, store, port } = server();
      const rv = call({ verb: 'list', kind: 'PersistentVolumeClaim' }).resourceVersion!;
      call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
      const restarted = apiServer(port, { store, events: new EventLog() });
      expect(store.get('PersistentVolumeClaim', 'default', 'a')!.metadata.resourceVersion).to.equal(String(Number(rv) + 1));
      port.take();
      watch(restarted, 'PersistentVolumeClaim', rv);
      expect(events(port)[0]).to.match(/^ERROR 410 too old resource version/);
      watch(restarted, 'PersistentVolumeClaim', String(store.resourceVersion), 'w2');
      expect(events(port)).to.deep.equal([]);
    });

    it("a node's watch sees a pod that comes onto its node as ADDED and no other node's pods", () => {
      const { call, api, port } = server();
      const rv = call({ verb: 'list', kind: 'Pod' }).resourceVersion!;
      watch(api, 'Pod', rv, 'k1', 'kubelet/node-1', 'node-1');
      watch(api, 'Pod', rv, 'k2', 'kubelet/node-2', 'node-2');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
      call({ verb: 'create', kind: 'Pod', obj: pod });
      api.receive({ type: 'api.request', reqId: 'b', verb: 'bind', kind: 'Pod', namespace: 'default', name: 'web-0', nodeName: 'node-1' }, 'kube-scheduler');
      const sent = port.take();
      const to = (a: string) => sent.filter((s) => s.to === a && s.msg.type === 'watch').map((s) => `${(s.msg as WatchEvent).event} ${(s.msg as WatchEvent).obj.metadata.name}`);
      expect(to('kubelet/node-1')).to.deep.equal(['ADDED web-0']);
      expect(to('kubelet/node-2')).to.deep.equal([]);
    });

    it('a watch whose connection broke is forgotten; a new watch of the same kind replaces the old one', () => {
      const { call, api, port } = server();
      const rv = call({ verb: 'list', kind: 'PersistentVolumeClaim' }).resourceVersion!;
      watch(api, 'PersistentVolumeClaim', rv, 'w1');
      watch(api, 'PersistentVolumeClaim', rv, 'w2');
      api.receive({ type: 'api.request', reqId: 'x', verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') }, 'client');
      expect(port.take().filter((s) => s.msg.type === 'watch').map((s) => (s.msg as WatchEvent).watchId)).to.deep.equal(['w2']);
      api.receive({ type: 'watch.broken', watchId: 'w2' }, 'ctrl');
      api.receive({ type: 'api.request', reqId: 'y', verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('b') }, 'client');
      expect(events(port)).to.deep.equal([]);
    });
  });

  it('pod ClusterIPs are allocated from 10.96.0.0/12, deterministically for a seed', () => {
    const ips = (seed: number) => {
      const s = Simulation.fromYaml(`apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  selector: {app: a}\n  ports: [{port: 80}]\n`, { seed });
      s.runFor('5s');
      return s.get('Service', 'a')!.spec.clusterIP as string;
    };
    expect(ips(1)).to.match(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(ips(1)).to.equal(ips(1));
  });

  it('a delayed watch event leads a controller to act on a stale view: the scheduler binds a pod to a node cordoned a moment ago', () => {
    const doc = scenarioDoc(`duration: 2m
cluster: {nodes: 1}
actions:
  - {at: 10s, cordon: node/node-1}
  - {at: 11s, apply: {apiVersion: v1, kind: Pod, metadata: {name: late}, spec: {containers: [{name: c, image: busybox}]}}}`);
    const fresh = Simulation.fromYaml(doc, { seed: 1 });
    fresh.runFor('1m');
    expect(fresh.get('Pod', 'late')!.spec.nodeName ?? '').to.equal('');

    const stale = Simulation.fromYaml(doc, { seed: 1 });
    // Hold back the Node watch event carrying the cordon on its way to the scheduler.
    const world = (stale as unknown as { run: { world: { bus: { faults: unknown } } } }).run.world;
    world.bus.faults = {
      route: (env: { to: string; msg: Msg }) =>
        env.to === 'kube-scheduler' && env.msg.type === 'watch' && env.msg.obj.kind === 'Node' && env.msg.obj.spec?.unschedulable ? { delaysMs: [30_000] } : undefined,
    };
    stale.runFor('1m');
    expect(stale.get('Pod', 'late')!.spec.nodeName).to.equal('node-1');
    expect(stale.get('Node', 'node-1')!.spec.unschedulable).to.equal(true);
  });
});
