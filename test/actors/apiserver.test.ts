/**
 * The API server: optimistic concurrency, graceful deletion and finalizers, watches, admission,
 * and what a delayed watch event does to a controller that trusts its cache.
 */
import { expect } from 'chai';
import { apiServer, EventLog } from '../../actors/apiserver.ts';
import { ObjectStore } from '../../src/store.ts';
import type { ApiResponse, KObject, Msg } from '../../src/protocol.ts';
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
  const call = (body: Record<string, unknown>, from = 'client'): ApiResponse => {
    port.take();
    api.receive({ type: 'api.request', reqId: `r${++n}`, ...body } as Msg, from);
    const res = port.take().find((s) => s.to === from && s.msg.type === 'api.response');
    return res!.msg as ApiResponse;
  };
  return { store, port, api, call };
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

  it('a watch replays existing objects as ADDED and then streams changes', () => {
    const { call, api, port } = server();
    call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('a') });
    port.take();
    api.receive({ type: 'api.watch', kinds: ['PersistentVolumeClaim'] }, 'ctrl');
    const replay = port.take().map((s) => s.msg as { type: string; event: string; obj: KObject });
    expect(replay.map((m) => `${m.event} ${m.obj.metadata.name}`)).to.deep.equal(['ADDED a']);
    call({ verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('b') });
    api.receive({ type: 'api.request', reqId: 'x', verb: 'create', kind: 'PersistentVolumeClaim', obj: cm('c') }, 'client');
    const evs = port.take().filter((s) => s.to === 'ctrl').map((s) => (s.msg as { event: string; obj: KObject }).obj.metadata.name);
    expect(evs).to.deep.equal(['c']);
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
