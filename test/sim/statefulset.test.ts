/**
 * StatefulSet stories end to end (apiserver, scheduler, kubelets, controllers on the bus), as
 * `kubectl get pods -w` shows them in the walkthroughs.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

function sim(sts: string, spec = 'duration: 30m', seed = 3): Simulation {
  return Simulation.fromYaml(yamlDocs(NGINX_SERVICE, sts, scenarioDoc(spec)), { seed });
}

const running = (s: Simulation, name: string) => s.get('Pod', name)?.status?.phase === 'Running' && !s.get('Pod', name)?.metadata.deletionTimestamp;
const createdAt = (s: Simulation, name: string) => s.report().events.find((e) => e.reason === 'SuccessfulCreate' && e.message === `create Pod ${name} in StatefulSet web successful`)?.atMs;

describe('StatefulSet controller in a running cluster', () => {
  it('OrderedReady starts pods one at a time, each after its predecessor is Running and Ready', () => {
    const s = sim(webStatefulSet({ replicas: 3 }));
    s.runFor('2m');
    for (const n of ['web-0', 'web-1', 'web-2']) expect(running(s, n), n).to.equal(true);
    const [t0, t1, t2] = ['web-0', 'web-1', 'web-2'].map((n) => createdAt(s, n)!);
    expect(t1).to.be.greaterThan(t0! + 1000);
    expect(t2).to.be.greaterThan(t1! + 1000);
    expect(s.violations()).to.deep.equal([]);
  });

  it('Parallel creates every pod at once', () => {
    const s = sim(webStatefulSet({ replicas: 3, policy: 'Parallel' }));
    s.runFor('1m');
    const times = ['web-0', 'web-1', 'web-2'].map((n) => createdAt(s, n)!);
    expect(Math.max(...times) - Math.min(...times)).to.be.lessThan(1000);
  });

  it('scale down deletes the highest ordinal first and waits for it to terminate', () => {
    const s = sim(webStatefulSet({ replicas: 3 }), 'duration: 30m\nactions:\n  - {at: 2m, scale: {statefulset: web, replicas: 1}}');
    s.runFor('5m');
    const deletes = s.report().events.filter((e) => e.reason === 'SuccessfulDelete').map((e) => [e.message, e.atMs] as const);
    expect(deletes.map((d) => d[0])).to.deep.equal(['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful']);
    expect(deletes[1]![1]).to.be.greaterThan(deletes[0]![1]);
    expect(s.get('Pod', 'web-2')).to.equal(undefined);
    expect(s.get('Pod', 'web-1')).to.equal(undefined);
    expect(running(s, 'web-0')).to.equal(true);
  });

  it('a deleted pod comes back with the same name and a new uid', () => {
    const s = sim(webStatefulSet({ replicas: 2 }), 'duration: 30m\nactions:\n  - {at: 2m, delete: pod/web-0}');
    s.runFor('1m59s');
    const uid = s.get('Pod', 'web-0')!.metadata.uid;
    s.runFor('2m');
    expect(running(s, 'web-0')).to.equal(true);
    expect(s.get('Pod', 'web-0')!.metadata.uid).to.not.equal(uid);
    expect(s.violations()).to.deep.equal([]);
  });

  it('a rolling update replaces pods from the highest ordinal down', () => {
    const patch = `{at: 2m, patch: {target: statefulset/web, type: json, patch: [{op: replace, path: /spec/template/spec/containers/0/image, value: "nginx:1.25"}]}}`;
    const s = sim(webStatefulSet({ replicas: 3 }), `duration: 30m\nactions:\n  - ${patch}`);
    s.runFor('6m');
    const deletes = s.report().events.filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
    expect(deletes).to.deep.equal(['web-2', 'web-1', 'web-0'].map((n) => `delete Pod ${n} in StatefulSet web successful`));
    for (const n of ['web-0', 'web-1', 'web-2']) expect(s.get('Pod', n)!.spec.containers[0].image).to.equal('nginx:1.25');
  });

  it('a partition keeps pods below it at the current revision, even when deleted', () => {
    const patch = `{at: 2m, patch: {target: statefulset/web, type: json, patch: [{op: replace, path: /spec/template/spec/containers/0/image, value: "nginx:1.25"}]}}`;
    const s = sim(webStatefulSet({ replicas: 3, partition: 2 }), `duration: 30m\nactions:\n  - ${patch}\n  - {at: 4m, delete: pod/web-0}`);
    s.runFor('7m');
    expect(s.get('Pod', 'web-2')!.spec.containers[0].image).to.equal('nginx:1.25');
    expect(s.get('Pod', 'web-1')!.spec.containers[0].image).to.equal('nginx:1.9.1');
    expect(s.get('Pod', 'web-0')!.spec.containers[0].image).to.equal('nginx:1.9.1');
    expect(running(s, 'web-0')).to.equal(true);
  });

  it('OnDelete does not replace pods until the user deletes them', () => {
    const patch = `{at: 2m, patch: {target: statefulset/web, type: json, patch: [{op: replace, path: /spec/template/spec/containers/0/image, value: "nginx:1.25"}]}}`;
    const s = sim(webStatefulSet({ replicas: 2, update: 'OnDelete' }), `duration: 30m\nactions:\n  - ${patch}\n  - {at: 5m, delete: pod/web-1}`);
    s.runFor('4m');
    expect(s.get('Pod', 'web-1')!.spec.containers[0].image).to.equal('nginx:1.9.1');
    s.runFor('3m');
    expect(s.get('Pod', 'web-1')!.spec.containers[0].image).to.equal('nginx:1.25');
    expect(s.get('Pod', 'web-0')!.spec.containers[0].image).to.equal('nginx:1.9.1');
  });

  it('pods get their stable identity: hostname, subdomain and the pod-name label', () => {
    const s = sim(webStatefulSet({ replicas: 1 }));
    s.runFor('1m');
    const pod = s.get('Pod', 'web-0')!;
    expect(pod.spec.hostname).to.equal('web-0');
    expect(pod.spec.subdomain).to.equal('nginx');
    expect(pod.metadata.labels!['statefulset.kubernetes.io/pod-name']).to.equal('web-0');
    expect(pod.metadata.labels!['controller-revision-hash']).to.match(/^web-[a-z0-9]+$/);
    expect(pod.status.podIP).to.match(/^10\.244\.[1-3]\.\d+$/);
  });

  it('the StatefulSet status counts ready replicas', () => {
    const s = sim(webStatefulSet({ replicas: 2 }));
    s.runFor('2m');
    const st = s.get('StatefulSet', 'web')!.status;
    expect([st.replicas, st.readyReplicas, st.currentReplicas, st.updatedReplicas]).to.deep.equal([2, 2, 2, 2]);
  });
});
