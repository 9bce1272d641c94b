/**
 * Persistent storage stories end to end: binding, provisioning, attach/detach, protection,
 * reclaim, and the hazards Kubernetes allows — as a user sees them in `kubectl get` and Events.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

const RBD_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: rbd}
provisioner: rbd.csi.ceph.com
parameters: {pool: replicapool}
`;
const NFS_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
parameters: {server: nfs-1, share: /exports}
`;
const LOCAL_PATH_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`;

function claim(name: string, cls: string | null, modes = 'ReadWriteOnce', size = '1Gi'): string {
  return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ${name}}
spec:
${cls === null ? '' : `  storageClassName: "${cls}"\n`}  accessModes: [${modes}]
  resources: {requests: {storage: ${size}}}
`;
}

function pod(name: string, claimName: string, node?: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
${node ? `  nodeSelector: {kubernetes.io/hostname: ${node}}\n` : ''}  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /data}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: ${claimName}}}]
`;
}

/** The storage system's own view (what an admin would see with `rbd ls`), not the API's. */
function backendVolumes(s: Simulation, name: string): string[] {
  const world = (s as unknown as { run: { world: { backends: Map<string, { model: { volumes(): { volumeId: string }[] } }> } } }).run.world;
  return world.backends.get(name)!.model.volumes().map((v) => v.volumeId);
}

const events = (s: Simulation, reason: string) => s.events().filter((e) => e.reason === reason);
const phase = (s: Simulation, kind: string, name: string) => s.get(kind, name)?.status?.phase;

describe('storage in a running cluster', () => {
  it('an RWO RBD volume attached to node-1 is not attached to node-2: Multi-Attach error naming the pod', () => {
    const s = Simulation.fromYaml(yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('a', 'data', 'node-1'), scenarioDoc(`duration: 5m\nactions:\n  - {at: 1m, apply: ${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'node-2' }, containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/data' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] } })}}`)), { seed: 3 });
    const r = s.runScenario();
    const pv = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    expect(phase(s, 'Pod', 'b')).to.equal('Pending');
    const multi = events(s, 'FailedAttachVolume').filter((e) => e.involvedObject.name === 'b');
    expect(multi.map((e) => e.message)).to.deep.equal([`Multi-Attach error for volume "${pv}" Volume is already used by pod(s) a`]);
    expect(multi[0]!.count).to.equal(1);
    // The kubelet on node-2 waits quietly, then reports the wait after podAttachAndMountTimeout (2m3s).
    const waiting = events(s, 'FailedMount').filter((e) => e.involvedObject.name === 'b');
    expect(waiting.map((e) => e.message)).to.deep.equal(['Unable to attach or mount volumes: unmounted volumes=[v], unattached volumes=[v]: timed out waiting for the condition']);
    expect(r.violations).to.deep.equal([]);
    expect(s.list('VolumeAttachment').map((v) => v.spec.nodeName)).to.deep.equal(['node-1']);
  });

  it('an RWO NFS volume is mounted on two nodes at once: allowed, with the rwo-not-enforced warning', () => {
    const s = Simulation.fromYaml(yamlDocs(NFS_CLASS, claim('data', 'nfs'), pod('a', 'data', 'node-1'), pod('b', 'data', 'node-2'), scenarioDoc('duration: 3m')), { seed: 3 });
    const r = s.runScenario();
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    expect(phase(s, 'Pod', 'b')).to.equal('Running');
    expect(r.warnings.map((w) => w.warning)).to.deep.equal(['rwo-not-enforced']);
    expect(r.violations).to.deep.equal([]);
    expect(s.list('VolumeAttachment')).to.deep.equal([]);
  });

  it('WaitForFirstConsumer: the claim waits for a pod, then is provisioned on the pod\'s node', () => {
    const s = Simulation.fromYaml(yamlDocs(LOCAL_PATH_CLASS, claim('data', 'local-path'), scenarioDoc(`duration: 5m\nactions:\n  - {at: 1m, apply: ${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/data' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] } })}}\n  - {at: 2m, write: {pod: a, path: /data/f, data: "on the node"}}`)), { seed: 3 });
    s.runFor('59s');
    expect(phase(s, 'PersistentVolumeClaim', 'data')).to.equal('Pending');
    expect(events(s, 'WaitForFirstConsumer')[0]!.message).to.equal('waiting for first consumer to be created before binding');
    s.runScenario();
    const c = s.get('PersistentVolumeClaim', 'data')!;
    const node = s.get('Pod', 'a')!.spec.nodeName;
    expect(c.metadata.annotations!['volume.kubernetes.io/selected-node']).to.equal(node);
    const pv = s.get('PersistentVolume', c.spec.volumeName)!;
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).to.deep.equal([node]);
    const onNode = s.act({ kind: 'readNode', node, path: `${pv.spec.hostPath.path}/f`, namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never);
    expect(onNode).to.include({ ok: true, data: 'on the node' });
  });

  it('a claim without a class gets the default class; an explicit "" does not', () => {
    const defaultRbd = RBD_CLASS.replace('metadata: {name: rbd}', 'metadata: {name: rbd, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}');
    const s = Simulation.fromYaml(yamlDocs(defaultRbd, claim('defaulted', null), claim('classless', ''), scenarioDoc('duration: 2m')), { seed: 3 });
    s.runScenario();
    expect(s.get('PersistentVolumeClaim', 'defaulted')!.spec.storageClassName).to.equal('rbd');
    expect(phase(s, 'PersistentVolumeClaim', 'defaulted')).to.equal('Bound');
    expect(s.get('PersistentVolumeClaim', 'classless')!.spec.storageClassName).to.equal('');
    expect(phase(s, 'PersistentVolumeClaim', 'classless')).to.equal('Pending');
    expect(events(s, 'FailedBinding').find((e) => e.involvedObject.name === 'classless')!.message).to.equal('no persistent volumes available for this claim and no storage class is set');
  });

  it('a pod with an unbound immediate claim is not scheduled', () => {
    const s = Simulation.fromYaml(yamlDocs(claim('data', 'missing-class'), pod('a', 'data'), scenarioDoc('duration: 1m')), { seed: 3 });
    s.runScenario();
    // (A first attempt may find the claim not yet in the scheduler's cache: its informers list
    // kinds one by one while kubectl creates both objects.)
    expect(events(s, 'FailedScheduling').map((e) => e.message)).to.include(
      '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..',
    );
    expect(s.get('Pod', 'a')!.spec.nodeName).to.equal(undefined);
  });

  it('a claim in use is Terminating until its pod is gone; then the Delete volume is deleted on the backend', () => {
    const s = Simulation.fromYaml(yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('a', 'data'), scenarioDoc('duration: 6m\nactions:\n  - {at: 1m, delete: persistentvolumeclaim/data}\n  - {at: 3m, delete: pod/a}')), { seed: 3 });
    s.runFor('2m');
    const c = s.get('PersistentVolumeClaim', 'data')!;
    const pvName = c.spec.volumeName;
    const handle = s.get('PersistentVolume', pvName)!.spec.csi.volumeHandle;
    expect(backendVolumes(s, 'ceph')).to.include(handle);
    expect(c.metadata.deletionTimestamp).to.be.a('string');
    expect(c.status.phase).to.equal('Bound');
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    const r = s.runScenario();
    expect(s.get('PersistentVolumeClaim', 'data')).to.equal(undefined);
    expect(s.get('PersistentVolume', pvName)).to.equal(undefined);
    expect(backendVolumes(s, 'ceph')).to.not.include(handle);
    expect(r.violations).to.deep.equal([]);
  });

  it('a pod deleted while its RBD volume is still being mapped leaves no mapping behind (found by a random sweep)', () => {
    // Slow network: the kubelet's NodeStage/NodePublish answers land after the pod is gone.
    for (const at of ['8800ms', '9200ms', '9600ms', '10s']) {
      const s = Simulation.fromYaml(
        yamlDocs(RBD_CLASS, claim('data', 'rbd'), pod('a', 'data', 'node-1'), scenarioDoc(`duration: 8m\nnetwork: {latency: {min: 300ms, max: 400ms}}\nactions:\n  - {at: ${at}, delete: pod/a}\n  - {at: 1m, delete: persistentvolumeclaim/data}`)),
        { seed: 3 },
      );
      const r = s.runScenario();
      expect(r.violations, at).to.deep.equal([]);
      expect(backendVolumes(s, 'ceph'), at).to.deep.equal([]);
      expect(s.list('PersistentVolume'), at).to.deep.equal([]);
    }
  });

  it('a Retain volume whose claim is deleted is Released and keeps its data', () => {
    const retain = RBD_CLASS.replace('provisioner: rbd.csi.ceph.com', 'provisioner: rbd.csi.ceph.com\nreclaimPolicy: Retain');
    const s = Simulation.fromYaml(yamlDocs(retain, claim('data', 'rbd'), pod('a', 'data'), scenarioDoc('duration: 6m\nactions:\n  - {at: 1m, write: {pod: a, path: /data/f, data: kept}}\n  - {at: 2m, delete: pod/a}\n  - {at: 3m, delete: persistentvolumeclaim/data}')), { seed: 3 });
    s.runFor('2m30s');
    const pvName = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
    const r = s.runScenario();
    expect(phase(s, 'PersistentVolume', pvName)).to.equal('Released');
    expect(backendVolumes(s, 'ceph')).to.include(s.get('PersistentVolume', pvName)!.spec.csi.volumeHandle);
    expect(r.violations).to.deep.equal([]);
  });

  it('a local PV with node affinity pulls its pod to that node; a nodeSelector against it is a volume node affinity conflict', () => {
    const localPv = (name: string, node: string) => `apiVersion: v1
kind: PersistentVolume
metadata: {name: ${name}}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local-storage
  local: {path: /mnt/disks/ssd1}
  nodeAffinity:
    required:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [${node}]}]}]
`;
    const cls = `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local-storage}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n`;
    const s = Simulation.fromYaml(
      yamlDocs(cls, localPv('local-pv', 'node-3'), claim('data', 'local-storage'), pod('a', 'data'), scenarioDoc('duration: 3m\nactions:\n  - {at: 0s, mkdirNode: {node: node-3, path: /mnt/disks/ssd1}}')),
      { seed: 3 },
    );
    const r = s.runScenario();
    expect(s.get('Pod', 'a')!.spec.nodeName).to.equal('node-3');
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    expect(r.violations).to.deep.equal([]);

    const t = Simulation.fromYaml(yamlDocs(cls, localPv('local-pv', 'node-3'), claim('data', 'local-storage'), pod('a', 'data', 'node-1'), scenarioDoc('duration: 1m')), { seed: 3 });
    t.runScenario();
    expect(events(t, 'FailedScheduling')[0]!.message).to.equal(
      "0/3 nodes are available: 1 node(s) didn't find available persistent volumes to bind, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..",
    );
  });

  it('a ReadWriteOncePod claim on one node: a second pod placed there by nodeName waits (FailedMount) and starts once the first is gone', () => {
    const cls = `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: csi}\nprovisioner: example.csi.vendor.io\n`;
    const second = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/data' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] } };
    const s = Simulation.fromYaml(
      yamlDocs(cls, claim('data', 'csi', 'ReadWriteOncePod'), pod('a', 'data', 'node-1'), scenarioDoc(`duration: 6m\nbackends: [{name: example.csi.vendor.io, type: csi, accessModes: [SINGLE_NODE_SINGLE_WRITER, SINGLE_NODE_WRITER]}]\nactions:\n  - {at: 1m, apply: ${JSON.stringify(second)}}\n  - {at: 3m, delete: pod/a}`)),
      { seed: 3 },
    );
    s.runFor('2m50s');
    const pv = s.get('PersistentVolumeClaim', 'data')!.spec.volumeName;
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    expect(phase(s, 'Pod', 'b')).to.equal('Pending');
    expect(s.get('Pod', 'b')!.status.containerStatuses[0].state.waiting.reason).to.equal('ContainerCreating');
    const failed = events(s, 'FailedMount').filter((e) => e.involvedObject.name === 'b');
    expect(failed.map((e) => e.message)).to.deep.equal([`MountVolume.SetUp failed for volume "${pv}" : volume uses the ReadWriteOncePod access mode and is already in use by another pod`]);
    const r = s.runScenario();
    expect(phase(s, 'Pod', 'b')).to.equal('Running');
    expect(r.violations).to.deep.equal([]);
  });

  it('a ReadWriteOncePod claim is used by one pod only', () => {
    const cls = `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: csi}\nprovisioner: example.csi.vendor.io\n`;
    const s = Simulation.fromYaml(
      yamlDocs(cls, claim('data', 'csi', 'ReadWriteOncePod'), pod('a', 'data'), scenarioDoc(`duration: 2m\nbackends: [{name: example.csi.vendor.io, type: csi, accessModes: [SINGLE_NODE_SINGLE_WRITER, SINGLE_NODE_WRITER]}]\nactions:\n  - {at: 1m, apply: ${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/data' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] } })}}`)),
      { seed: 3 },
    );
    const r = s.runScenario();
    expect(phase(s, 'Pod', 'a')).to.equal('Running');
    expect(s.get('Pod', 'b')!.spec.nodeName ?? '').to.equal('');
    expect(events(s, 'FailedScheduling').find((e) => e.involvedObject.name === 'b')!.message).to.equal(
      '0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..',
    );
    expect(r.violations).to.deep.equal([]);
  });

  it('StatefulSet claims keep their identity: www-web-0 follows web-0 wherever it runs', () => {
    const s = Simulation.fromYaml(yamlDocs(RBD_CLASS, NGINX_SERVICE, webStatefulSet({ replicas: 2, claims: 'ReadWriteOnce', storageClassName: 'rbd' }), scenarioDoc('duration: 8m\nactions:\n  - {at: 2m, write: {pod: web-0, path: /usr/share/nginx/html/index.html, data: "hello web-0"}}\n  - {at: 3m, delete: pod/web-0}\n  - {at: 7m, read: {pod: web-0, path: /usr/share/nginx/html/index.html, expect: "hello web-0"}}')), { seed: 5 });
    const r = s.runScenario();
    expect(r.violations).to.deep.equal([]);
    const created = events(s, 'SuccessfulCreate').map((e) => e.message);
    expect(created).to.include('create Claim www-web-0 Pod web-0 in StatefulSet web success');
    expect(s.get('Pod', 'web-0')!.spec.volumes[0].persistentVolumeClaim.claimName).to.equal('www-web-0');
  });

  it('a claim grows only when its class allows expansion, and never shrinks', () => {
    const expandable = RBD_CLASS.replace('metadata: {name: rbd}', 'metadata: {name: rbd-x}') + 'allowVolumeExpansion: true\n';
    const grow = (name: string, size: string) => `{at: 1m, patch: {target: persistentvolumeclaim/${name}, patch: {spec: {resources: {requests: {storage: ${size}}}}}}}`;
    const s = Simulation.fromYaml(
      yamlDocs(RBD_CLASS, expandable, claim('fixed', 'rbd'), claim('growing', 'rbd-x'), scenarioDoc(`duration: 2m\nactions:\n  - ${grow('fixed', '2Gi')}\n  - ${grow('growing', '2Gi')}\n  - ${grow('growing', '500Mi')}`)),
      { seed: 3 },
    );
    const r = s.runScenario();
    expect(r.results[0]).to.include({
      ok: false,
      error: 'persistentvolumeclaims "fixed" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    });
    expect(r.results[1]!.ok).to.equal(true);
    expect(s.get('PersistentVolumeClaim', 'growing')!.spec.resources.requests.storage).to.equal('2Gi');
    expect(r.results[2]).to.include({ ok: false });
    expect(String(r.results[2]!['error'])).to.include('spec.resources.requests.storage: Forbidden: field can not be less than previous value');
  });

  it('whenScaled: Delete removes the claims of scaled-down pods', () => {
    const sts = webStatefulSet({ replicas: 2, claims: 'ReadWriteOnce', storageClassName: 'rbd' }).replace('  serviceName: "nginx"', '  serviceName: "nginx"\n  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}');
    const s = Simulation.fromYaml(yamlDocs(RBD_CLASS, NGINX_SERVICE, sts, scenarioDoc('duration: 6m\nactions:\n  - {at: 2m, scale: {statefulset: web, replicas: 1}}')), { seed: 5 });
    s.runScenario();
    expect(s.get('PersistentVolumeClaim', 'www-web-1')).to.equal(undefined);
    expect(phase(s, 'PersistentVolumeClaim', 'www-web-0')).to.equal('Bound');
  });
});

describe('CSI migration of in-tree provisioners (v1.30)', () => {
  const MIGRATED: [string, string][] = [
    ['kubernetes.io/aws-ebs', 'ebs.csi.aws.com'],
    ['kubernetes.io/gce-pd', 'pd.csi.storage.gke.io'],
    ['kubernetes.io/azure-disk', 'disk.csi.azure.com'],
    ['kubernetes.io/azure-file', 'file.csi.azure.com'],
    ['kubernetes.io/cinder', 'cinder.csi.openstack.org'],
    ['kubernetes.io/vsphere-volume', 'csi.vsphere.vmware.com'],
  ];
  for (const [inTree, driver] of MIGRATED) {
    it(`a StorageClass with ${inTree} is provisioned by ${driver}: ExternalProvisioning naming the driver, the claim annotated with it, then Bound`, () => {
      // The walkthrough's `slow` class, with the in-tree provisioner of the row.
      const slow = `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: slow}\nprovisioner: ${inTree}\nparameters: {type: io1, iopsPerGB: "10", fsType: ext4}\n`;
      const s = Simulation.fromYaml(yamlDocs(slow, claim('data', 'slow'), scenarioDoc('duration: 1m')), { seed: 3 });
      s.runScenario();
      const c = s.get('PersistentVolumeClaim', 'data')!;
      expect(c.metadata.annotations).to.include({ 'volume.kubernetes.io/storage-provisioner': driver, 'volume.beta.kubernetes.io/storage-provisioner': driver });
      expect(events(s, 'ExternalProvisioning')[0]!.message).to.equal(
        `Waiting for a volume to be created either by the external provisioner '${driver}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      expect(events(s, 'ProvisioningFailed')).to.deep.equal([]);
      expect(c.status.phase).to.equal('Bound');
      const pv = s.get('PersistentVolume', c.spec.volumeName)!;
      expect(pv.spec.csi.driver).to.equal(driver);
      expect(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by']).to.equal(driver);
      expect(backendVolumes(s, driver)).to.deep.equal([pv.spec.csi.volumeHandle]);
    });
  }

  it('kubernetes.io/rbd is not migrated in v1.30 (CSIMigrationRBD is off): the PV controller provisions it in-tree', () => {
    const cls = `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: rbd-in-tree}\nprovisioner: kubernetes.io/rbd\nparameters: {monitors: "10.16.154.78:6789", pool: kube}\n`;
    const s = Simulation.fromYaml(yamlDocs(cls, claim('data', 'rbd-in-tree'), scenarioDoc('duration: 1m')), { seed: 3 });
    s.runScenario();
    expect(events(s, 'ExternalProvisioning')).to.deep.equal([]);
    expect(events(s, 'ProvisioningSucceeded')[0]!.message).to.match(/^Successfully provisioned volume pvc-[0-9a-f-]+ using kubernetes\.io\/rbd$/);
  });
});

describe('volumes implied by the manifests, whether applied at the start or by a later action', () => {
  // The first walkthrough's Pod `rbd` (seeds 000/003): an inline, read-only Ceph RBD volume.
  const RBD_POD = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'rbd' },
    spec: {
      containers: [{ image: 'kubernetes/pause', name: 'rbd-rw', volumeMounts: [{ name: 'rbdpd', mountPath: '/mnt/rbd' }] }],
      volumes: [{ name: 'rbdpd', rbd: { monitors: ['10.16.154.78:6789'], pool: 'kube', image: 'foo', fsType: 'ext4', readOnly: true, user: 'admin', keyring: '/etc/ceph/keyring' } }],
    },
  };
  const rows: [string, string][] = [
    ['in the initial manifests', yamlDocs(JSON.stringify(RBD_POD) + '\n', scenarioDoc('duration: 2m'))],
    ['applied by an action at 30s', scenarioDoc(`duration: 2m\nactions:\n  - {at: 30s, apply: ${JSON.stringify(RBD_POD)}}`)],
  ];
  for (const [when, yaml] of rows) {
    it(`the walkthrough's inline rbd Pod ${when} runs: its image kube/foo exists in the Ceph cluster`, () => {
      const s = Simulation.fromYaml(yaml, { seed: 3 });
      s.runScenario();
      expect(phase(s, 'Pod', 'rbd')).to.equal('Running');
      expect(backendVolumes(s, 'ceph')).to.deep.equal(['kube/foo']);
      expect(events(s, 'FailedMount')).to.deep.equal([]);
    });
  }

  it('an in-tree rbd volume whose image is gone fails as the in-tree plugin words it (rbd status in WaitForAttach), not as ceph-csi would', () => {
    const s = Simulation.fromYaml(yamlDocs(JSON.stringify(RBD_POD) + '\n', scenarioDoc('duration: 1m')), { seed: 3 });
    // `rbd rm kube/foo` by an administrator before the pod comes.
    const world = (s as unknown as { run: { world: { backends: Map<string, { model: { handle(c: unknown, now: number): unknown } }> } } }).run.world;
    world.backends.get('ceph')!.model.handle({ method: 'DeleteVolume', volumeId: 'kube/foo' }, 0);
    s.runScenario();
    expect(phase(s, 'Pod', 'rbd')).to.equal('Pending');
    expect(events(s, 'FailedMount')[0]!.message).to.equal(
      'MountVolume.WaitForAttach failed for volume "rbdpd" : fail to check rbd image status with: (exit status 2), rbd output: (rbd: error opening image foo: (2) No such file or directory)',
    );
  });
});

describe('Recycle scrubs the volume before it is Available again', () => {
  it('a recycler pod that cannot reach its NFS server fails at its deadline (300 s) and fails the volume', () => {
    const volume = 'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-recycle}\nspec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Recycle\n  storageClassName: ""\n  nfs: {server: nfs-1, path: /exports/pv-recycle}\n';
    const pvcDoc = 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: first}\nspec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n';
    const s = Simulation.fromYaml(yamlDocs(volume, pvcDoc, scenarioDoc('duration: 8m\nactions:\n  - {at: 1m, delete: persistentvolumeclaim/first}')), { seed: 3 });
    s.runFor('30s');
    const world = (s as unknown as { run: { world: { backends: Map<string, { model: { outage(): void } }> } } }).run.world;
    world.backends.get('nfs-1')!.model.outage();
    s.runScenario();
    expect(phase(s, 'PersistentVolume', 'pv-recycle')).to.equal('Failed');
    expect(events(s, 'VolumeFailedRecycle').map((e) => e.message)).to.deep.equal(['Recycle failed: failed to recycle volume: Pod was active on the node longer than the specified deadline']);
    expect(events(s, 'VolumeRecycled')).to.deep.equal([]);
  });

  const RECYCLED: { name: string; nodes: number; source: string }[] = [
    { name: 'an NFS volume', nodes: 3, source: '  nfs: {server: nfs-1, path: /exports/pv-recycle}' },
    // The recycler pod has no node affinity: in a one-node cluster it lands where the data is.
    { name: 'a hostPath volume (one-node cluster: the recycler pod scrubs the node the data is on)', nodes: 1, source: '  hostPath: {path: /srv/pv-recycle}' },
  ];
  for (const row of RECYCLED) {
    it(`${row.name}: the next claim's pod does not read the old file`, () => {
      const volume = `apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-recycle}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Recycle
  storageClassName: ""
${row.source}
`;
      const pvcDoc = (name: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { storageClassName: '', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
      const podDoc = (name: string, claimName: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'v', mountPath: '/data' }] }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] } });
      const s = Simulation.fromYaml(
        yamlDocs(
          volume,
          JSON.stringify(pvcDoc('first')) + '\n',
          JSON.stringify(podDoc('a', 'first')) + '\n',
          scenarioDoc(
            `duration: 6m\ncluster: {nodes: ${row.nodes}}\nactions:\n  - {at: 1m, write: {pod: a, path: /data/secret, data: "first tenant"}}\n  - {at: 2m, delete: pod/a}\n  - {at: 2m30s, delete: persistentvolumeclaim/first}\n  - {at: 4m, apply: ${JSON.stringify(pvcDoc('second'))}}\n  - {at: 4m, apply: ${JSON.stringify(podDoc('b', 'second'))}}\n  - {at: 5m, read: {pod: b, path: /data/secret}, expect: error}`,
          ),
        ),
        { seed: 3 },
      );
      s.runFor('2m40s');
      // The recycler pod ran (and is gone again) only after the claim went.
      const r = s.runScenario();
      expect(events(s, 'VolumeRecycled').map((e) => [e.involvedObject.name, e.message])).to.deep.equal([['pv-recycle', 'Volume recycled']]);
      expect(s.get('PersistentVolumeClaim', 'second')!.spec.volumeName).to.equal('pv-recycle');
      expect(r.results.at(-1)).to.include({ action: 'read', ok: false, error: 'No such file or directory' });
      expect(s.get('Pod', 'recycler-for-pv-recycle')).to.equal(undefined);
      expect(r.violations).to.deep.equal([]);
    });
  }
});
