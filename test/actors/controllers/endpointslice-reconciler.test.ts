/**
 * The EndpointSlice reconciler on its own (reconciler.go's reconcileByPortMapping, placeholder
 * and finalize): which slices a sync creates, updates and deletes, and what they hold.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { reconcileSlices, type SliceWrites } from '../../../actors/controllers/endpointslice-reconciler.ts';
import { desiredSlice, endpointIndex, endpointPorts, podToEndpoint, sliceLabels, type SliceObj, type Svc } from '../../../actors/controllers/endpointslice-utils.ts';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KObject } from '../../../src/protocol.ts';

type PodObj = Pod & KObject;

/** Pod p-NNN (names sort as their numbers), running, ready unless said. */
function pod(i: number, ready = true): PodObj {
  const name = `p-${String(i).padStart(3, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'web', containerPort: 80 }] }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], podIP: `10.244.${i >> 8}.${i & 255}`, podIPs: [{ ip: `10.244.${i >> 8}.${i & 255}` }] },
  } as PodObj;
}

function service(labels: Record<string, string> = {}): Svc {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-svc', labels },
    spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'web', protocol: 'TCP' }] },
  } as Svc;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

interface SliceOpts {
  owner?: string;
  port?: number;
  /** Pods listed not ready. */
  notReady?: number[];
  labels?: Record<string, string>;
}

/** A stored slice of the Service listing pods `pods`, as the controller wrote it. */
function slice(name: string, pods: number[], o: SliceOpts = {}): SliceObj {
  const svc = service();
  const ports = pods.length === 0 ? [] : endpointPorts(svc, pod(0)).map((p) => ({ ...p, port: o.port ?? p.port! }));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: 'default',
      resourceVersion: '5',
      labels: o.labels ?? sliceLabels(svc),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: o.owner ?? 'uid-svc', controller: true }],
    },
    addressType: 'IPv4',
    endpoints: pods.map((i) => podToEndpoint(pod(i, !o.notReady?.includes(i)), svc)),
    ports,
  };
}

function reconcile(existing: SliceObj[], pods: PodObj[], svc = service()): SliceWrites {
  const want = desiredSlice(svc, pods);
  return reconcileSlices(svc, want, endpointIndex(want.endpoints), existing);
}

/** The writes as a user would list them: `create N`, `update NAME N`, `delete NAME`. */
function summary(w: SliceWrites): string[] {
  return [
    ...w.create.map((s) => `create ${s.endpoints.length}`),
    ...w.update.map((s) => `update ${s.metadata.name} ${s.endpoints.length}`),
    ...w.delete.map((s) => `delete ${s.metadata.name}`),
  ];
}

const names = (s: SliceObj) => s.endpoints.map((e) => e.targetRef?.name);

describe('endpointslice-reconciler', () => {
  const rows: { name: string; existing: SliceObj[]; pods: PodObj[]; svc?: Svc; want: string[] }[] = [
    { name: 'a Service of 250 pods and no slice gets 3 slices: 100, 100 and 50', existing: [], pods: range(0, 249).map((i) => pod(i)), want: ['create 100', 'create 100', 'create 50'] },
    { name: 'a Service of 100 pods gets one slice', existing: [], pods: range(0, 99).map((i) => pod(i)), want: ['create 100'] },
    { name: 'a Service with no pods gets an empty placeholder', existing: [], pods: [], want: ['create 0'] },
    { name: 'the placeholder stays while there are no pods', existing: [slice('a', [])], pods: [], want: [] },
    { name: 'an unchanged Service writes nothing', existing: [slice('a', range(0, 99)), slice('b', range(100, 149))], pods: range(0, 149).map((i) => pod(i)), want: [] },
    {
      name: 'a pod that changed is updated in the slice holding it, the others are left alone',
      existing: [slice('a', range(0, 99)), slice('b', range(100, 149))],
      pods: range(0, 149).map((i) => pod(i, i !== 120)),
      want: ['update b 50'],
    },
    { name: 'a pod gone leaves its slice', existing: [slice('a', range(0, 99)), slice('b', range(100, 149))], pods: range(1, 149).map((i) => pod(i)), want: ['update a 99'] },
    { name: 'a slice left empty is deleted', existing: [slice('a', range(0, 99)), slice('b', range(100, 104))], pods: range(0, 99).map((i) => pod(i)), want: ['delete b'] },
    {
      name: 'when every pod is gone the first slice becomes the placeholder and the others are deleted',
      existing: [slice('a', range(0, 99)), slice('b', range(100, 149))],
      pods: [],
      want: ['update a 0', 'delete b'],
    },
    {
      name: 'new pods fill the slices being updated, fullest first',
      existing: [slice('a', range(0, 59)), slice('b', range(100, 189))],
      pods: [...range(0, 58), ...range(100, 188), ...range(200, 219)].map((i) => pod(i)),
      want: ['update a 68', 'update b 100'],
    },
    {
      name: 'new pods go into the unchanged slice they bring closest to full',
      existing: [slice('a', range(0, 49)), slice('b', range(100, 179))],
      pods: [...range(0, 49), ...range(100, 179), ...range(200, 214)].map((i) => pod(i)),
      want: ['update b 95'],
    },
    {
      name: 'new pods that fit in no slice get a new one',
      existing: [slice('a', range(0, 99)), slice('b', range(100, 189))],
      pods: [...range(0, 189), ...range(200, 229)].map((i) => pod(i)),
      want: ['create 30'],
    },
    {
      name: '100 new pods get a new slice even when a slice has room; the rest then fill it',
      existing: [slice('a', range(0, 49))],
      pods: [...range(0, 49), ...range(100, 200)].map((i) => pod(i)),
      want: ['create 100', 'update a 51'],
    },
    { name: 'a slice of an earlier Service of the same name is deleted', existing: [slice('a', range(0, 9), { owner: 'uid-old' })], pods: range(0, 9).map((i) => pod(i)), want: ['create 10', 'delete a'] },
    { name: 'when the ports change the new slice takes the old one’s place', existing: [slice('a', range(0, 9), { port: 8080 })], pods: range(0, 9).map((i) => pod(i)), want: ['update a 10'] },
    { name: 'the placeholder takes the first pods', existing: [slice('a', [])], pods: range(0, 9).map((i) => pod(i)), want: ['update a 10'] },
    { name: 'an endpoint listed in two slices stays in the first only', existing: [slice('a', range(0, 9)), slice('b', range(5, 14))], pods: range(0, 14).map((i) => pod(i)), want: ['update b 5'] },
    {
      name: 'a change of the Service’s labels updates every slice',
      existing: [slice('a', range(0, 99)), slice('b', range(100, 109))],
      pods: range(0, 109).map((i) => pod(i)),
      svc: service({ tier: 'front' }),
      want: ['update a 100', 'update b 10'],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(summary(reconcile(row.existing, row.pods, row.svc))).to.deep.equal(row.want);
    });
  }

  it('new slices are named by the API server from generateName <service>-, owned by the Service, and list pods in name order', () => {
    const w = reconcile([], range(0, 149).map((i) => pod(149 - i)));
    expect(w.create.map((s) => s.metadata)).to.deep.equal(
      [0, 1].map(() => ({
        generateName: 'web-',
        namespace: 'default',
        labels: sliceLabels(service()),
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc', controller: true, blockOwnerDeletion: true }],
      })),
    );
    expect(names(w.create[0]!)).to.deep.equal(range(0, 99).map((i) => `p-${String(i).padStart(3, '0')}`));
    expect(names(w.create[1]!)).to.deep.equal(range(100, 149).map((i) => `p-${i}`));
  });

  it('an updated slice keeps its name and resourceVersion and lists its pods in name order', () => {
    const w = reconcile([slice('a', [5, 3, 1])], [1, 2, 3, 5].map((i) => pod(i)));
    expect(w.update.map((s) => [s.metadata.name, s.metadata.resourceVersion, names(s)])).to.deep.equal([['a', '5', ['p-001', 'p-002', 'p-003', 'p-005']]]);
  });

  it('whatever slices a Service has, one sync leaves it with exactly its endpoints in slices of at most 100, and a second writes nothing', () => {
    const arbSlice = fc.record({
      pods: fc.uniqueArray(fc.nat(299), { maxLength: 100 }),
      owned: fc.boolean(),
      otherPort: fc.boolean(),
      notReady: fc.array(fc.nat(299), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(arbSlice, { maxLength: 5 }), fc.uniqueArray(fc.nat(299), { maxLength: 300 }), fc.array(fc.nat(299), { maxLength: 10 }), (stored, wanted, notReady) => {
        const svc = service();
        let n = 0;
        const store = new Map<string, SliceObj>();
        for (const s of stored) {
          const name = `s-${n++}`;
          store.set(name, slice(name, s.pods, { ...(s.owned ? {} : { owner: 'uid-old' }), ...(s.otherPort ? { port: 8080 } : {}), notReady: s.notReady }));
        }
        const pods = wanted.map((i) => pod(i, !notReady.includes(i)));
        const want = desiredSlice(svc, pods);
        const sync = () => {
          const sorted = [...store.values()].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
          return reconcileSlices(svc, want, endpointIndex(want.endpoints), sorted);
        };
        const w = sync();
        for (const s of w.delete) store.delete(s.metadata.name!);
        for (const s of w.update) store.set(s.metadata.name!, s);
        for (const s of w.create) {
          const name = `s-${n++}`;
          store.set(name, { ...s, metadata: { ...s.metadata, name } });
        }
        const slices = [...store.values()];
        expect(slices.every((s) => s.endpoints.length <= 100 && s.metadata.ownerReferences?.[0]?.uid === 'uid-svc')).to.equal(true);
        const listed = slices.flatMap((s) => s.endpoints.map((e) => JSON.stringify(e)));
        expect(listed.sort()).to.deep.equal(want.endpoints.map((e) => JSON.stringify(e)).sort());
        if (want.endpoints.length === 0) expect(slices.map((s) => [s.endpoints.length, (s.ports ?? []).length])).to.deep.equal([[0, 0]]);
        expect(summary(sync())).to.deep.equal([]);
      }),
      { seed: 15, numRuns: 200 },
    );
  });
});
