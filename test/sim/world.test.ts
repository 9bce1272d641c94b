/**
 * The world as a whole: bootstrap objects, a crashing actor stops the run with what is needed to
 * replay it, kubectl verbs that touch nodes, strategic patches as `kubectl patch` sends them.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { parse as parseYaml } from 'yaml';
import type { Action } from '../../src/scenario/types.ts';
import type { KObject } from '../../src/protocol.ts';
import { WorldCrash } from '../../sim/world.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

const world = (s: Simulation) => (s as unknown as { run: { world: import('../../sim/world.ts').World } }).run.world;

describe('world', () => {
  it('a fresh cluster has the usual namespaces, the kubernetes and kube-dns Services, and Ready nodes with pod CIDRs', () => {
    const s = Simulation.fromYaml(scenarioDoc('duration: 1m\ncluster: {nodes: 2}'));
    s.runFor('1s');
    expect(s.list('Namespace').map((n) => n.metadata.name)).to.deep.equal(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    expect(s.get('Service', 'kubernetes')!.spec.clusterIP).to.equal('10.96.0.1');
    expect(s.get('Service', 'kube-dns', 'kube-system')!.spec.clusterIP).to.equal('10.96.0.10');
    expect(s.list('Node').map((n) => [n.metadata.name, n.spec.podCIDR, n.status.conditions.find((c: { type: string }) => c.type === 'Ready').status])).to.deep.equal([
      ['node-1', '10.244.1.0/24', 'True'],
      ['node-2', '10.244.2.0/24', 'True'],
    ]);
  });

  it('spec.cluster.podCIDR: node-N gets the N-th /24 of it; a node past its room gets CIDRNotAvailable, is not Ready and takes no pod', () => {
    const pods = Array.from({ length: 4 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec:\n  containers: [{name: c, image: busybox}]\n`);
    const s = Simulation.fromYaml(yamlDocs(...pods, scenarioDoc('duration: 2m\ncluster: {nodes: 3, podCIDR: 10.8.0.0/23}')), { seed: 2 });
    s.runFor('1m');
    const nodes = s.list('Node').map((n) => [n.metadata.name, n.spec.podCIDR ?? '<none>', n.status.conditions.find((c: { type: string }) => c.type === 'Ready').status]);
    expect(nodes).to.deep.equal([
      ['node-1', '10.8.1.0/24', 'True'],
      ['node-2', '<none>', 'False'],
      ['node-3', '<none>', 'False'],
    ]);
    expect(s.events().filter((e) => e.reason === 'CIDRNotAvailable').map((e) => e.message)).to.deep.equal(['Node node-2 status is now: CIDRNotAvailable', 'Node node-3 status is now: CIDRNotAvailable']);
    // Every pod runs on the one node with a pod network, with an address from its /24.
    expect(s.list('Pod').map((p) => [p.spec.nodeName, p.status.phase, p.status.podIP.startsWith('10.8.1.')])).to.deep.equal(Array.from({ length: 4 }, () => ['node-1', 'Running', true]));
  });

  it('a thousand nodes on a /14 each have their /24 and an InternalIP of their own', () => {
    const s = Simulation.fromYaml(scenarioDoc('duration: 1m\ncluster: {nodes: 1000, podCIDR: 10.244.0.0/14}'));
    s.runFor('1s');
    const byName = new Map(s.list('Node').map((n) => [n.metadata.name, n]));
    expect(byName.get('node-1000')!.spec.podCIDR).to.equal('10.247.232.0/24');
    expect(byName.get('node-256')!.spec.podCIDR).to.equal('10.245.0.0/24');
    const ips = new Set(s.list('Node').map((n) => n.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address));
    expect(ips.size).to.equal(1000);
  });

  it('an actor that throws stops the run with the seed, the time, the replay command and the last trace lines', () => {
    const s = Simulation.fromYaml(scenarioDoc('duration: 1m'), { seed: 42, file: 'crash.yaml' });
    s.runFor('1s');
    let err: unknown;
    try {
      // An update request without its object: the API server's handler throws.
      world(s).inject('apiserver', { type: 'api.request', reqId: 'bad', verb: 'update', kind: 'Service', namespace: 'default', name: 'kubernetes' });
      s.runFor('1s');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(WorldCrash);
    const msg = (err as Error).message;
    expect(msg).to.match(/^actor apiserver failed at \d+ms \(seed 42\)/);
    expect(msg).to.include('replay: ksim run crash.yaml --seed 42');
    expect(msg).to.include('last trace lines:');
  });

  it('drain cordons the node and evicts its pods; the StatefulSet brings them back elsewhere', () => {
    const s = Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), scenarioDoc('duration: 5m\ncluster: {nodes: 3}')), { seed: 2 });
    s.runFor('1m');
    const node = s.get('Pod', 'web-0')!.spec.nodeName as string;
    const r = s.act({ kind: 'drain', node, namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never);
    expect(r.ok).to.equal(true);
    expect(r['evicted']).to.include('default/web-0');
    s.runFor('2m');
    expect(s.get('Node', node)!.spec.unschedulable).to.equal(true);
    expect(s.get('Pod', 'web-0')!.spec.nodeName).to.not.equal(node);
    expect(s.get('Pod', 'web-0')!.status.phase).to.equal('Running');
  });

  it('taint adds and removes a taint by key, as kubectl taint does', () => {
    const s = Simulation.fromYaml(scenarioDoc('duration: 1m\nactions:\n  - {at: 1s, taint: {node: node-1, key: dedicated, value: db, effect: NoSchedule}}\n  - {at: 5s, taint: {node: node-1, key: dedicated, effect: NoSchedule, remove: true}}'));
    s.runFor('3s');
    expect(s.get('Node', 'node-1')!.spec.taints).to.deep.equal([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    s.runFor('5s');
    expect(s.get('Node', 'node-1')!.spec.taints).to.equal(undefined);
  });

  it('a strategic patch sets the partition like `kubectl patch statefulset -p` and keeps the rest of the spec', () => {
    const s = Simulation.fromYaml(
      yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), scenarioDoc('duration: 2m\nactions:\n  - {at: 1m, patch: {target: statefulset/web, patch: {spec: {updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}}}}')),
    );
    s.runFor('2m');
    const sts = s.get('StatefulSet', 'web')!;
    expect(sts.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } });
    expect(sts.spec.template.spec.containers[0].image).to.equal('nginx:1.9.1');
    expect(sts.metadata.generation).to.equal(2);
  });

  it('a patch that breaks validation is refused with the API server\'s 422 text', () => {
    const s = Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), scenarioDoc('duration: 2m\nactions:\n  - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {spec: {replicas: -3}}}}\n  - {at: 1m, patch: {target: statefulset/web, type: merge, patch: {spec: {serviceName: other}}}}')));
    const r = s.runScenario();
    expect(r.results[0]).to.include({ ok: false, error: 'StatefulSet.apps "web" is invalid: spec.replicas: Invalid value: -3: must be greater than or equal to 0' });
    expect(r.results[1]!.ok).to.equal(false);
    expect(String(r.results[1]!['error'])).to.match(/^StatefulSet\.apps "web" is invalid: spec: Forbidden: updates to statefulset spec for fields other than/);
  });

  it('external-provisioner runs only where a CSI driver it serves is installed (a class, a provisioned PV or a csi backend)', () => {
    const running = (yaml: string) => world(Simulation.fromYaml(yaml)).actor('external-provisioner') !== undefined;
    const sc = (provisioner: string) => `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: sc}\nprovisioner: ${provisioner}\n`;
    const table: [string, string, boolean][] = [
      ['no storage at all', scenarioDoc('duration: 1m'), false],
      ['an in-tree class only', sc('kubernetes.io/no-provisioner'), false],
      ['an out-of-tree class', sc('ebs.csi.aws.com'), true],
      ['a class applied by a later action', scenarioDoc(`duration: 1m\nactions:\n  - {at: 10s, apply: {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: late}, provisioner: rancher.io/local-path}}`), true],
      ['a csi backend', scenarioDoc('duration: 1m\nbackends:\n  - {name: ebs.csi.aws.com, type: csi}'), true],
    ];
    for (const [what, yaml, want] of table) expect(running(yaml), what).to.equal(want);
  });

  it('a partition of kube-controller-manager cuts off its controllers: the StatefulSet gets no pod', () => {
    const doc = yamlDocs(scenarioDoc('duration: 10m'), NGINX_SERVICE, webStatefulSet({ replicas: 1 }));
    const run = (partitioned: boolean) => {
      const s = Simulation.fromYaml(doc, { seed: 1 });
      if (partitioned) world(s).bus.partition([['kube-controller-manager'], ['apiserver']]);
      s.runFor('1m');
      return s.get('Pod', 'web-0')?.status?.phase;
    };
    expect(run(false)).to.equal('Running');
    expect(run(true)).to.equal(undefined);
  });

  it('a StatefulSet applied while kube-controller-manager is cut off for 3 minutes gets its pods after the heal', () => {
    const s = Simulation.fromYaml(yamlDocs(scenarioDoc('duration: 10m'), NGINX_SERVICE), { seed: 1 });
    s.runFor('30s');
    world(s).bus.cut('kcm', [['kube-controller-manager'], ['apiserver']]);
    s.runFor('30s');
    const manifest = parseYaml(webStatefulSet({ replicas: 2 })) as KObject;
    const apply = { kind: 'apply', namespace: 'default', pos: { file: '<test>', line: 0, col: 0 }, manifest } as Omit<Action, 'atMs' | 'index'>;
    expect(s.act(apply).ok).to.equal(true);
    s.runFor('2m30s');
    expect(s.get('Pod', 'web-0'), 'no pod while the controllers are cut off').to.equal(undefined);
    world(s).bus.heal('kcm');
    s.runFor('3m');
    expect(s.list('Pod', 'default').map((p) => `${p.metadata.name} ${p.status?.phase}`)).to.deep.equal(['web-0 Running', 'web-1 Running']);
  });
});
