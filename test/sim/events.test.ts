/**
 * The Events users look for in `kubectl describe pod`, in Kubernetes' words, order and timing:
 * Scheduled, then the image pull (Pulling, then Pulled after as long as the pull took), then
 * Created and Started; SuccessfulAttachVolume when an attachable volume is attached.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { imageSizeBytes } from '../../actors/kubelet.ts';
import { formatDuration } from '../../src/duration.ts';
import { scenarioDoc, yamlDocs } from '../helpers/scenarios.ts';

const RBD_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: rbd}
provisioner: rbd.csi.ceph.com
`;
const CLAIM = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: rbd
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`;

function pod(name: string, extra = '', node = 'node-1'): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  containers: [{name: c, image: "nginx:1.9.1"${extra ? `, volumeMounts: [{name: v, mountPath: /data}]` : ''}}]
${extra}`;
}

/** The pod's events in the order they were recorded: [reason, message, atMs]. */
function podEvents(s: Simulation, name: string): [string, string, number][] {
  return s
    .events()
    .filter((e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name === name)
    .map((e): [string, string, number] => [e.reason, e.message, e.atMs]);
}

describe('the events users look for', () => {
  it('image pulls come in real order: Scheduled, Pulling, Pulled (after as long as the pull took, with the image size), Created, Started', () => {
    const s = Simulation.fromYaml(yamlDocs(pod('first'), scenarioDoc('duration: 1m')), { seed: 6 });
    s.runScenario();
    const ev = podEvents(s, 'first');
    expect(ev.map((e) => e[0])).to.deep.equal(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
    const [, pulling, pulled, created] = ev;
    // The message says how long the pull took; the events' times (when the API server got
    // them, 1-10 ms after the kubelet sent them) are that far apart.
    const took = /^Successfully pulled image "nginx:1\.9\.1" in (\d+\.\d+)s \(\1s including waiting\)\. Image size: (\d+) bytes\.$/.exec(pulled![1]);
    expect(took, pulled![1]).to.not.equal(null);
    const tookMs = Math.round(Number(took![1]) * 1000);
    expect(formatDuration(tookMs)).to.equal(`${took![1]}s`);
    // The pod's 1-5 s start delay, less the sandbox's part of it (at most 0.5 s).
    expect(tookMs).to.be.within(500, 4500);
    expect(Math.abs(pulled![2] - pulling![2] - tookMs)).to.be.at.most(10);
    expect(Number(took![2])).to.equal(imageSizeBytes('nginx:1.9.1'));
    expect(created![2] - pulled![2]).to.be.within(-10, 10);
    expect(pulling![1]).to.equal('Pulling image "nginx:1.9.1"');
  });

  it('a second pod on the node finds the image present: Pulled "already present", then Created and Started', () => {
    const later = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'second' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'node-1' }, containers: [{ name: 'c', image: 'nginx:1.9.1' }] } };
    const s = Simulation.fromYaml(yamlDocs(pod('first'), scenarioDoc(`duration: 2m\nactions:\n  - {at: 1m, apply: ${JSON.stringify(later)}}`)), { seed: 6 });
    s.runScenario();
    expect(podEvents(s, 'second').map((e) => `${e[0]}: ${e[1]}`)).to.deep.equal([
      'Scheduled: Successfully assigned default/second to node-1',
      'Pulled: Container image "nginx:1.9.1" already present on machine',
      'Created: Created container c',
      'Started: Started container c',
    ]);
  });

  it('an attachable volume attached to the pod\'s node gives SuccessfulAttachVolume on the pod, from attachdetach-controller, before the containers start', () => {
    const s = Simulation.fromYaml(yamlDocs(RBD_CLASS, CLAIM, pod('a', '  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]\n'), scenarioDoc('duration: 2m')), { seed: 6 });
    s.runScenario();
    const pv = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
    const attach = s.events().filter((e) => e.reason === 'SuccessfulAttachVolume');
    expect(attach.map((e) => [e.involvedObject.name, e.type, e.source, e.message])).to.deep.equal([['a', 'Normal', 'attachdetach-controller', `AttachVolume.Attach succeeded for volume "${pv}" `]]);
    const reasons = podEvents(s, 'a').map((e) => e[0]);
    expect(reasons.indexOf('SuccessfulAttachVolume')).to.be.lessThan(reasons.indexOf('Started'));
  });

  const EMPTY_DIRS: [string, string][] = [
    ['a disk-backed emptyDir', '{}'],
    ['a Memory-medium emptyDir (tmpfs mounted at the same place)', '{medium: Memory}'],
  ];
  for (const [what, source] of EMPTY_DIRS) {
    it(`${what} is seen from the node under /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir, and goes with the pod`, () => {
      const s = Simulation.fromYaml(
        yamlDocs(pod('cache', `  volumes: [{name: v, emptyDir: ${source}}]\n`), scenarioDoc('duration: 3m\nactions:\n  - {at: 1m, write: {pod: cache, path: /data/f, data: cached}}\n  - {at: 2m, delete: pod/cache}')),
        { seed: 6 },
      );
      s.runFor('90s');
      const path = `/var/lib/kubelet/pods/${s.get('Pod', 'cache')!.metadata.uid}/volumes/kubernetes.io~empty-dir/v/f`;
      const readNode = () => s.act({ kind: 'readNode', node: 'node-1', path, namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never);
      expect(readNode()).to.include({ ok: true, data: 'cached' });
      s.runFor('1m');
      expect(readNode()).to.include({ ok: false, error: 'No such file or directory' });
    });
  }
});
