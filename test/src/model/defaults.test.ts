/**
 * API defaulting as `kubectl get -o yaml` shows it right after a create: each row applies the
 * defaults to a manifest and checks the fields Kubernetes v1.30 fills in.
 */
import { expect } from 'chai';
import type { KObject } from '../../../src/protocol.ts';
import { applyDefaults, imageTag, qosClass } from '../../../src/model/defaults.ts';

function defaulted(o: KObject): any {
  const c = structuredClone(o);
  applyDefaults(c);
  return c;
}

const pod = (spec: any, extra: any = {}): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec, ...extra });
const one = (c: any = {}): any => ({ containers: [{ name: 'c', image: 'nginx:1.25', ...c }] });

interface Row {
  name: string;
  obj: KObject;
  check: (o: any) => void;
}
function table(rows: Row[]): void {
  for (const r of rows) it(r.name, () => r.check(defaulted(r.obj)));
}

describe('defaults', () => {
  describe('Pod', () => {
    table([
      {
        name: 'a pod spec gets restartPolicy, grace period, DNS policy, scheduler and security context',
        obj: pod(one()),
        check: (o) => {
          expect(o.spec.restartPolicy).to.equal('Always');
          expect(o.spec.terminationGracePeriodSeconds).to.equal(30);
          expect(o.spec.dnsPolicy).to.equal('ClusterFirst');
          expect(o.spec.schedulerName).to.equal('default-scheduler');
          expect(o.spec.securityContext).to.deep.equal({});
          expect(o.spec.enableServiceLinks).to.equal(true);
        },
      },
      {
        name: 'explicit pod spec values are kept',
        obj: pod({ ...one(), restartPolicy: 'Never', terminationGracePeriodSeconds: 0, dnsPolicy: 'Default', enableServiceLinks: false }),
        check: (o) => {
          expect(o.spec.restartPolicy).to.equal('Never');
          expect(o.spec.terminationGracePeriodSeconds).to.equal(0);
          expect(o.spec.dnsPolicy).to.equal('Default');
          expect(o.spec.enableServiceLinks).to.equal(false);
        },
      },
      {
        name: 'a container gets its termination message path and policy',
        obj: pod(one()),
        check: (o) => {
          expect(o.spec.containers[0].terminationMessagePath).to.equal('/dev/termination-log');
          expect(o.spec.containers[0].terminationMessagePolicy).to.equal('File');
        },
      },
      { name: 'container ports default to TCP', obj: pod(one({ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] })), check: (o) => expect(o.spec.containers[0].ports.map((p: any) => p.protocol)).to.deep.equal(['TCP', 'UDP']) },
      {
        name: 'a volume with no source becomes an emptyDir',
        obj: pod({ ...one(), volumes: [{ name: 'scratch' }] }),
        check: (o) => expect(o.spec.volumes[0]).to.deep.equal({ name: 'scratch', emptyDir: {} }),
      },
      { name: 'an emptyDir keeps its medium unset', obj: pod({ ...one(), volumes: [{ name: 'e', emptyDir: {} }] }), check: (o) => expect(o.spec.volumes[0].emptyDir).to.deep.equal({}) },
      { name: 'a hostPath volume gets type ""', obj: pod({ ...one(), volumes: [{ name: 'h', hostPath: { path: '/data' } }] }), check: (o) => expect(o.spec.volumes[0].hostPath).to.deep.equal({ path: '/data', type: '' }) },
      {
        name: 'an rbd volume gets pool rbd, user admin and the default keyring',
        obj: pod({ ...one(), volumes: [{ name: 'r', rbd: { monitors: ['mon-a:6789'], image: 'img' } }] }),
        check: (o) => expect(o.spec.volumes[0].rbd).to.deep.equal({ monitors: ['mon-a:6789'], image: 'img', pool: 'rbd', user: 'admin', keyring: '/etc/ceph/keyring' }),
      },
      {
        name: 'container requests default to limits',
        obj: pod(one({ resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } } })),
        check: (o) => expect(o.spec.containers[0].resources.requests).to.deep.equal({ cpu: '100m', memory: '128Mi' }),
      },
      {
        name: 'probes get their timing defaults and an httpGet its path and scheme',
        obj: pod(one({ readinessProbe: { httpGet: { port: 80 } } })),
        check: (o) =>
          expect(o.spec.containers[0].readinessProbe).to.deep.equal({ httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 }),
      },
      { name: 'a new pod is Pending', obj: pod(one()), check: (o) => expect(o.status.phase).to.equal('Pending') },
      { name: 'a pod without requests is BestEffort', obj: pod(one()), check: (o) => expect(o.status.qosClass).to.equal('BestEffort') },
      { name: 'a pod with equal cpu and memory limits is Guaranteed', obj: pod(one({ resources: { limits: { cpu: '1', memory: '1Gi' } } })), check: (o) => expect(o.status.qosClass).to.equal('Guaranteed') },
      { name: 'a pod with requests below limits is Burstable', obj: pod(one({ resources: { requests: { cpu: '100m' } } })), check: (o) => expect(o.status.qosClass).to.equal('Burstable') },
      { name: 'a negative grace period becomes 1', obj: pod({ ...one(), terminationGracePeriodSeconds: -1 }), check: (o) => expect(o.spec.terminationGracePeriodSeconds).to.equal(1) },
      {
        name: 'with host networking, container ports become host ports',
        obj: pod({ ...one({ ports: [{ containerPort: 8080 }] }), hostNetwork: true }),
        check: (o) => expect(o.spec.containers[0].ports[0].hostPort).to.equal(8080),
      },
    ]);

    const pullRows: [string, string, string][] = [
      ['untagged images default to imagePullPolicy Always', 'nginx', 'Always'],
      [':latest images default to imagePullPolicy Always', 'nginx:latest', 'Always'],
      ['tagged images default to imagePullPolicy IfNotPresent', 'nginx:1.25', 'IfNotPresent'],
      ['a registry port is not a tag', 'registry.local:5000/team/app', 'Always'],
      ['a tag after a registry port is a tag', 'registry.local:5000/team/app:v2', 'IfNotPresent'],
      ['a digest-only image defaults to IfNotPresent', 'nginx@sha256:' + 'a'.repeat(64), 'IfNotPresent'],
      ['an unparsable image defaults to IfNotPresent', 'Nginx', 'IfNotPresent'],
    ];
    for (const [name, image, policy] of pullRows)
      it(name, () => {
        expect(defaulted(pod(one({ image }))).spec.containers[0].imagePullPolicy).to.equal(policy);
      });

    it('an explicit imagePullPolicy is kept', () => {
      expect(defaulted(pod(one({ image: 'nginx', imagePullPolicy: 'Never' }))).spec.containers[0].imagePullPolicy).to.equal('Never');
    });

    it('init containers are defaulted like containers', () => {
      const o = defaulted(pod({ ...one(), initContainers: [{ name: 'init', image: 'busybox:1.36' }] }));
      expect(o.spec.initContainers[0]).to.include({ imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File' });
    });

    it('the tag parser reads the docker reference grammar', () => {
      expect([imageTag('a/b/c:1'), imageTag('localhost/app'), imageTag('app:v1@sha256:' + 'b'.repeat(64))]).to.deep.equal(['1', 'latest', 'v1']);
    });

    it('QoS is computed over cpu and memory of all containers', () => {
      expect(qosClass({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' } } }, { resources: {} }] })).to.equal('Burstable');
    });
  });

  describe('StatefulSet', () => {
    const sts = (spec: any = {}): KObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: one() },
        volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        ...spec,
      },
    });
    table([
      {
        name: 'a StatefulSet gets 1 replica, OrderedReady, RollingUpdate with partition 0 and 10 revisions',
        obj: sts(),
        check: (o) => {
          expect(o.spec.replicas).to.equal(1);
          expect(o.spec.podManagementPolicy).to.equal('OrderedReady');
          expect(o.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
          expect(o.spec.revisionHistoryLimit).to.equal(10);
        },
      },
      { name: 'the PVC retention policy defaults to Retain/Retain', obj: sts(), check: (o) => expect(o.spec.persistentVolumeClaimRetentionPolicy).to.deep.equal({ whenDeleted: 'Retain', whenScaled: 'Retain' }) },
      { name: 'an explicit RollingUpdate without settings gets no partition', obj: sts({ updateStrategy: { type: 'RollingUpdate' } }), check: (o) => expect(o.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate' }) },
      { name: 'OnDelete stays without rollingUpdate', obj: sts({ updateStrategy: { type: 'OnDelete' } }), check: (o) => expect(o.spec.updateStrategy).to.deep.equal({ type: 'OnDelete' }) },
      { name: 'explicit replicas of 0 are kept', obj: sts({ replicas: 0 }), check: (o) => expect(o.spec.replicas).to.equal(0) },
      {
        name: 'the pod template gets the PodSpec defaults but not the pod-only ones',
        obj: sts(),
        check: (o) => {
          const spec = o.spec.template.spec;
          expect(spec).to.include({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30, schedulerName: 'default-scheduler' });
          expect(spec.containers[0]).to.include({ imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
          expect(spec).to.not.have.property('enableServiceLinks');
        },
      },
      {
        name: 'volumeClaimTemplates get the claim defaults, a Pending status and their type',
        obj: sts(),
        check: (o) => {
          const c = o.spec.volumeClaimTemplates[0];
          expect(c).to.include({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
          expect(c.spec.volumeMode).to.equal('Filesystem');
          expect(c.status).to.deep.equal({ phase: 'Pending' });
        },
      },
    ]);
  });

  describe('storage', () => {
    table([
      {
        name: 'a claim gets volumeMode Filesystem and phase Pending',
        obj: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } },
        check: (o) => {
          expect(o.spec.volumeMode).to.equal('Filesystem');
          expect(o.status.phase).to.equal('Pending');
          expect(o.spec).to.not.have.property('storageClassName');
        },
      },
      {
        name: 'a PV gets reclaim policy Retain, volumeMode Filesystem and phase Pending',
        obj: { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: { hostPath: { path: '/data' } } },
        check: (o) => {
          expect(o.spec.persistentVolumeReclaimPolicy).to.equal('Retain');
          expect(o.spec.volumeMode).to.equal('Filesystem');
          expect(o.status.phase).to.equal('Pending');
          expect(o.spec.hostPath.type).to.equal('');
        },
      },
      {
        name: 'a PV keeps an explicit Delete policy and its phase',
        obj: { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: { persistentVolumeReclaimPolicy: 'Delete' }, status: { phase: 'Bound' } },
        check: (o) => {
          expect(o.spec.persistentVolumeReclaimPolicy).to.equal('Delete');
          expect(o.status.phase).to.equal('Bound');
        },
      },
      {
        name: 'a StorageClass gets reclaimPolicy Delete and volumeBindingMode Immediate',
        obj: { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'x.example.com' },
        check: (o) => expect(o).to.include({ reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate' }),
      },
      {
        name: 'a StorageClass keeps WaitForFirstConsumer and Retain',
        obj: { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local' }, provisioner: 'kubernetes.io/no-provisioner', reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' },
        check: (o) => expect(o).to.include({ reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' }),
      },
    ]);
  });

  describe('Service', () => {
    const svc = (spec: any): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx', namespace: 'default' }, spec });
    table([
      {
        name: 'a Service gets type ClusterIP, sessionAffinity None and internalTrafficPolicy Cluster',
        obj: svc({ ports: [{ port: 80 }] }),
        check: (o) => expect(o.spec).to.include({ type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' }),
      },
      { name: 'a port gets protocol TCP and targetPort = port', obj: svc({ ports: [{ port: 80 }] }), check: (o) => expect(o.spec.ports[0]).to.deep.equal({ port: 80, protocol: 'TCP', targetPort: 80 }) },
      { name: 'a named targetPort is kept', obj: svc({ ports: [{ port: 80, targetPort: 'web' }] }), check: (o) => expect(o.spec.ports[0].targetPort).to.equal('web') },
      { name: 'no IP family fields before a clusterIP exists', obj: svc({ ports: [{ port: 80 }] }), check: (o) => expect(o.spec).to.not.have.any.keys('ipFamilies', 'ipFamilyPolicy', 'clusterIPs') },
      {
        name: 'once a clusterIP is set the service is SingleStack IPv4',
        obj: svc({ clusterIP: '10.96.0.20', ports: [{ port: 80 }] }),
        check: (o) => expect(o.spec).to.deep.include({ clusterIPs: ['10.96.0.20'], ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] }),
      },
      {
        name: 'a headless service with a selector is SingleStack IPv4',
        obj: svc({ clusterIP: 'None', selector: { app: 'nginx' }, ports: [{ port: 80 }] }),
        check: (o) => expect(o.spec).to.deep.include({ clusterIPs: ['None'], ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] }),
      },
      { name: 'a NodePort service gets externalTrafficPolicy Cluster', obj: svc({ type: 'NodePort', ports: [{ port: 80 }] }), check: (o) => expect(o.spec.externalTrafficPolicy).to.equal('Cluster') },
      {
        name: 'ClientIP affinity gets the 3h timeout',
        obj: svc({ sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
        check: (o) => expect(o.spec.sessionAffinityConfig).to.deep.equal({ clientIP: { timeoutSeconds: 10800 } }),
      },
    ]);
  });

  describe('Namespace, Node, EndpointSlice', () => {
    table([
      {
        name: 'a new Namespace gets its name label, the kubernetes finalizer and phase Active',
        obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        check: (o) => {
          expect(o.metadata.labels).to.deep.equal({ 'kubernetes.io/metadata.name': 'shop' });
          expect(o.spec.finalizers).to.deep.equal(['kubernetes']);
          expect(o.status.phase).to.equal('Active');
        },
      },
      {
        name: 'a stored Namespace whose finalizer was removed does not get it back',
        obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { finalizers: [] }, status: { phase: 'Terminating' } },
        check: (o) => {
          expect(o.spec.finalizers).to.deep.equal([]);
          expect(o.status.phase).to.equal('Terminating');
        },
      },
      {
        name: 'a Node without allocatable gets its capacity',
        obj: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } },
        check: (o) => expect(o.status.allocatable).to.deep.equal({ cpu: '4', memory: '8Gi', pods: '110' }),
      },
      {
        name: 'EndpointSlice ports get an empty name and TCP',
        obj: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'nginx-abc' }, addressType: 'IPv4', ports: [{ port: 80 }] } as KObject,
        check: (o) => expect(o.ports).to.deep.equal([{ port: 80, name: '', protocol: 'TCP' }]),
      },
    ]);
  });

  const samples: KObject[] = [
    pod({ ...one({ ports: [{ containerPort: 80 }] }), volumes: [{ name: 's' }] }),
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'w' }, spec: { template: { spec: one() }, volumeClaimTemplates: [{ metadata: { name: 'd' }, spec: {} }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: '10.96.0.9', ports: [{ port: 80 }] } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
    { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'p' }, spec: { rbd: { monitors: ['m'], image: 'i' } } },
  ];
  for (const s of samples)
    it(`defaulting a ${s.kind} twice gives the same object as once`, () => {
      const once = defaulted(s);
      expect(defaulted(once)).to.deep.equal(once);
    });
});
