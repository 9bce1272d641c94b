/**
 * kube-scheduler in a running cluster: node selection rules and FailedScheduling texts as
 * kube-scheduler v1.30 words them, seeded tie-breaking, spreading of a StatefulSet's pods.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { parse } from 'yaml';
import { fitErrorMessage, numFeasibleNodesToFind } from '../../actors/kube-scheduler.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

function pod(spec: string, name = 'p'): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  containers: [{name: c, image: busybox}]
${spec}`;
}

const PREEMPTION = ' preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..';

describe('kube-scheduler', () => {
  const rows: [string, string, string, string | null][] = [
    // [behaviour, pod spec, actions before the pod, FailedScheduling or null when it lands]
    ['nodeSelector picks the labelled node', '  nodeSelector: {kubernetes.io/hostname: node-2}\n', '', null],
    ['a nodeSelector no node matches leaves the pod Pending', '  nodeSelector: {disk: ssd}\n', '', `0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.${PREEMPTION}`],
    [
      'required node affinity is honoured',
      '  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-3]}]}]}}}\n',
      '',
      null,
    ],
    ['cordoned nodes are skipped', '', '  - {at: 0s, cordon: node/node-1}\n  - {at: 0s, cordon: node/node-2}\n  - {at: 0s, cordon: node/node-3}\n', `0/3 nodes are available: 3 node(s) were unschedulable.${PREEMPTION}`],
    [
      'an untolerated NoSchedule taint keeps pods away, with the taint named',
      '',
      '  - {at: 0s, taint: {node: node-1, key: dedicated, value: db, effect: NoSchedule}}\n  - {at: 0s, taint: {node: node-2, key: dedicated, value: db, effect: NoSchedule}}\n  - {at: 0s, cordon: node/node-3}\n',
      `0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {dedicated: db}.${PREEMPTION}`,
    ],
    [
      'an untolerated NoExecute taint keeps pods away at scheduling too',
      '',
      '  - {at: 0s, taint: {node: node-1, key: dedicated, value: db, effect: NoExecute}}\n  - {at: 0s, taint: {node: node-2, key: maintenance, effect: NoExecute}}\n  - {at: 0s, taint: {node: node-3, key: dedicated, value: db, effect: NoExecute}}\n',
      `0/3 nodes are available: 1 node(s) had untolerated taint {maintenance: }, 2 node(s) had untolerated taint {dedicated: db}.${PREEMPTION}`,
    ],
    [
      'a NoExecute toleration lets the pod onto the NoExecute-tainted node',
      '  tolerations: [{key: dedicated, operator: Exists, effect: NoExecute}]\n  nodeSelector: {kubernetes.io/hostname: node-2}\n',
      '  - {at: 0s, taint: {node: node-2, key: dedicated, value: db, effect: NoExecute}}\n',
      null,
    ],
    [
      'a PreferNoSchedule taint does not keep pods away',
      '  nodeSelector: {kubernetes.io/hostname: node-2}\n',
      '  - {at: 0s, taint: {node: node-2, key: dedicated, value: db, effect: PreferNoSchedule}}\n',
      null,
    ],
    [
      'a node both tainted and not matching the selector is charged to the taint (TaintToleration filters before NodeAffinity)',
      '  nodeSelector: {disk: ssd}\n',
      '  - {at: 0s, taint: {node: node-1, key: dedicated, value: db, effect: NoSchedule}}\n',
      `0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 node(s) didn't match Pod's node affinity/selector.${PREEMPTION}`,
    ],
    [
      'a toleration lets the pod onto a tainted node',
      '  tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]\n  nodeSelector: {kubernetes.io/hostname: node-1}\n',
      '  - {at: 0s, taint: {node: node-1, key: dedicated, value: db, effect: NoSchedule}}\n',
      null,
    ],
  ];
  for (const [behaviour, spec, actions, failure] of rows) {
    it(behaviour, () => {
      const s = Simulation.fromYaml(scenarioDoc(`duration: 5m\nactions:\n${actions}  - {at: 5s, apply: ${applyPod(spec)}}`), { seed: 5 });
      s.runFor('1m');
      const p = s.get('Pod', 'p')!;
      const failed = s.events().filter((e) => e.reason === 'FailedScheduling').map((e) => e.message);
      if (failure === null) {
        expect(p.status.phase).to.equal('Running');
        expect(failed).to.deep.equal([]);
        if (spec.includes('node-2')) expect(p.spec.nodeName).to.equal('node-2');
        if (spec.includes('node-3')) expect(p.spec.nodeName).to.equal('node-3');
      } else {
        expect(p.spec.nodeName ?? '').to.equal('');
        expect(failed).to.deep.equal([failure]);
      }
    });
  }

  it('a pod whose claim is already Bound to a PV with node affinity is scheduled only where that affinity allows', () => {
    // A statically bound volume (no class, Immediate): VolumeBinding's Filter checks the bound
    // PV's node affinity on every node (volume_binding.go, ErrReasonNodeConflict).
    const volume = `apiVersion: v1
kind: PersistentVolume
metadata: {name: pinned}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  hostPath: {path: /srv/pinned}
  nodeAffinity:
    required:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-2]}]}]
`;
    const claim = 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n';
    const volumes = '  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]\n';
    const placed = (seed: number, spec: string) => {
      const s = Simulation.fromYaml(yamlDocs(volume, claim, scenarioDoc(`duration: 2m\nactions:\n  - {at: 30s, apply: ${applyPod(spec + volumes)}}`)), { seed });
      s.runFor('1m');
      expect(s.get('PersistentVolumeClaim', 'data')!.status.phase).to.equal('Bound');
      return s;
    };
    // Ties are broken at random: every seed must still pick node-2.
    for (const seed of [1, 2, 3, 4, 5, 6]) expect(placed(seed, '').get('Pod', 'p')!.spec.nodeName, `seed ${seed}`).to.equal('node-2');
    const conflict = placed(1, '  nodeSelector: {kubernetes.io/hostname: node-1}\n');
    expect(conflict.get('Pod', 'p')!.spec.nodeName ?? '').to.equal('');
    expect(conflict.events().filter((e) => e.reason === 'FailedScheduling').map((e) => e.message)).to.deep.equal([
      `0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector.${PREEMPTION}`,
    ]);
  });

  it('an unschedulable pod is scheduled once a node is uncordoned', () => {
    const s = Simulation.fromYaml(
      scenarioDoc(`duration: 5m\nactions:\n  - {at: 0s, cordon: node/node-1}\n  - {at: 0s, cordon: node/node-2}\n  - {at: 0s, cordon: node/node-3}\n  - {at: 5s, apply: ${applyPod('')}}\n  - {at: 1m, uncordon: node/node-2}`),
      { seed: 5 },
    );
    s.runFor('3m');
    expect(s.get('Pod', 'p')!.spec.nodeName).to.equal('node-2');
  });

  it('the Scheduled event names the node', () => {
    const s = Simulation.fromYaml(pod(''), { seed: 5 });
    s.runFor('30s');
    const node = s.get('Pod', 'p')!.spec.nodeName;
    expect(s.events().find((e) => e.reason === 'Scheduled')!.message).to.equal(`Successfully assigned default/p to ${node}`);
  });

  it('a StatefulSet\'s pods spread over the nodes', () => {
    const s = Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 3 })), { seed: 8 });
    s.runFor('3m');
    const nodes = ['web-0', 'web-1', 'web-2'].map((n) => s.get('Pod', n)!.spec.nodeName);
    expect(new Set(nodes).size).to.equal(3);
  });

  it('ties are broken by the seed: different seeds may pick different nodes, the same seed the same', () => {
    const pick = (seed: number) => {
      const s = Simulation.fromYaml(pod(''), { seed });
      s.runFor('10s');
      return s.get('Pod', 'p')!.spec.nodeName;
    };
    const picks = [1, 2, 3, 4, 5, 6, 7, 8].map(pick);
    expect(new Set(picks).size).to.be.greaterThan(1);
    expect(pick(3)).to.equal(picks[2]);
  });

  const feasible: [number, number][] = [
    // [nodes, nodes whose filters pass before the search stops] (schedule_one.go numFeasibleNodesToFind)
    [3, 3],
    [99, 99],
    [100, 100],
    [200, 100],
    [500, 230],
    [1000, 420],
    [5000, 500],
    [10000, 500],
  ];
  for (const [nodes, want] of feasible) {
    it(`with ${nodes} nodes the search for a pod stops once ${want} nodes fit`, () => {
      expect(numFeasibleNodesToFind(nodes)).to.equal(want);
    });
  }

  it('above 100 nodes each pod\'s search starts where the previous one stopped: the first pod lands among the first 100 nodes, the second among the next 100', () => {
    const firstHundred = new Set(Array.from({ length: 200 }, (_, i) => `node-${i + 1}`).sort().slice(0, 100));
    for (const seed of [1, 2, 3]) {
      const s = Simulation.fromYaml(yamlDocs(pod('', 'a'), pod('', 'b'), scenarioDoc('duration: 1m\ncluster: {nodes: 200}')), { seed });
      s.runFor('10s');
      expect([firstHundred.has(s.get('Pod', 'a')!.spec.nodeName), firstHundred.has(s.get('Pod', 'b')!.spec.nodeName)], `seed ${seed}`).to.deep.equal([true, false]);
    }
  });

  it('FailedScheduling sorts the reasons as FitError does and reports no nodes plainly', () => {
    expect(fitErrorMessage(0, new Map())).to.equal('no nodes available to schedule pods');
    expect(fitErrorMessage(3, new Map([['node(s) were unschedulable', 1], ["node(s) didn't match Pod's node affinity/selector", 2]]))).to.equal(
      `0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector.${PREEMPTION}`,
    );
  });

  it('FailedScheduling: nodes rejected as Unschedulable (ReadWriteOncePod) have no preemption victims, the others are not helped', () => {
    const rwop = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
    expect(fitErrorMessage(3, new Map([['node(s) were unschedulable', 1], [rwop, 2]]), undefined, 2)).to.equal(
      `0/3 nodes are available: 1 node(s) were unschedulable, 2 ${rwop}. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..`,
    );
  });
});

/** The pod as a YAML flow mapping for an `apply` action (the row's spec lines parsed as YAML). */
function applyPod(spec: string): string {
  const parsed = spec ? (parse(`x:\n${spec}`) as { x: Record<string, unknown> }).x : {};
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...parsed } });
}
