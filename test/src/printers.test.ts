import { expect } from 'chai';
import { printGet, printDescribe, tabwrite, formatQuantity } from '../../src/printers.ts';
import type { DescribeEvent, PrintContext } from '../../src/printers.ts';
import type { KObject } from '../../src/protocol.ts';

const startMs = Date.parse('2025-01-01T00:00:00Z');
/** RFC 3339 at `s` simulated seconds. */
const at = (s: number): string => new Date(startMs + s * 1000).toISOString().replace('.000Z', 'Z');
const ctxAt = (nowS: number): PrintContext => ({ startMs, nowMs: nowS * 1000 });
const lines = (...ls: string[]): string => ls.map((l) => l + '\n').join('');

function obj(kind: string, name: string, createdS: number, rest: Partial<KObject> = {}, namespace?: string): KObject {
  const apiVersion = kind === 'StatefulSet' ? 'apps/v1' : kind === 'StorageClass' ? 'storage.k8s.io/v1' : 'v1';
  return { apiVersion, kind, ...rest, metadata: { name, ...(namespace ? { namespace } : {}), creationTimestamp: at(createdS), ...(rest.metadata ?? {}) } };
}

function hostPathPV(phase: string, createdS: number, capacity = '1Gi', claimed = true): KObject {
  return obj('PersistentVolume', 'pv-hostpath', createdS, {
    metadata: { labels: { type: 'local' }, finalizers: ['kubernetes.io/pv-protection'] },
    spec: {
      capacity: { storage: capacity },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'node-local',
      volumeMode: 'Filesystem',
      hostPath: { path: '/home/host-pv-dir', type: 'DirectoryOrCreate' },
      ...(claimed ? { claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'pvc-hostpath' } } : {}),
    },
    status: { phase },
  });
}

function hostPathPVC(phase: string, createdS: number, bound: { volume: string; capacity: string } | null, extra: Partial<KObject['metadata']> = {}): KObject {
  return obj(
    'PersistentVolumeClaim',
    'pvc-hostpath',
    createdS,
    {
      metadata: { finalizers: ['kubernetes.io/pvc-protection'], ...extra },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: 'node-local', volumeMode: 'Filesystem', resources: { requests: { storage: '5000Gi' } }, ...(bound ? { volumeName: bound.volume } : {}) },
      status: bound ? { phase, accessModes: ['ReadWriteMany'], capacity: { storage: bound.capacity } } : { phase },
    },
    'default',
  );
}

function runningPod(name: string, createdS: number, containers: number, extra: Record<string, unknown> = {}): KObject {
  const names = Array.from({ length: containers }, (_, i) => `c${i}`);
  return obj(
    'Pod',
    name,
    createdS,
    {
      spec: { nodeName: 'node-1', containers: names.map((n) => ({ name: n, image: 'busybox' })) },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: names.map((n) => ({ name: n, ready: true, restartCount: 0, state: { running: { startedAt: at(createdS + 2) } } })),
        ...extra,
      },
    },
    'default',
  );
}

describe('printGet', () => {
  describe("reproduces the walkthrough's `kk get pv,pvc,pod` tables with v1.30's VOLUMEATTRIBUTESCLASS column", () => {
    const now = 6 * 3600;
    const pods = [runningPod('busybox', now - (5 * 3600 + 31 * 60), 2), runningPod('busybox-hostpath', now - (4 * 3600 + 38 * 60), 1), runningPod('busybox-use-pvc', now - 168, 1)];
    const rows: { name: string; kind: string; objs: KObject[]; want: string }[] = [
      {
        name: 'a Bound hostPath PV shows its claim and an empty REASON',
        kind: 'PersistentVolume',
        objs: [hostPathPV('Bound', now - 112)],
        want: lines(
          'NAME                           CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS   CLAIM                  STORAGECLASS   VOLUMEATTRIBUTESCLASS   REASON   AGE',
          'persistentvolume/pv-hostpath   1Gi        RWX            Retain           Bound    default/pvc-hostpath   node-local     <unset>                          112s',
        ),
      },
      {
        name: 'a Bound claim shows its volume, capacity and access modes',
        kind: 'PersistentVolumeClaim',
        objs: [hostPathPVC('Bound', now - 112, { volume: 'pv-hostpath', capacity: '1Gi' })],
        want: lines(
          'NAME                                 STATUS   VOLUME        CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE',
          'persistentvolumeclaim/pvc-hostpath   Bound    pv-hostpath   1Gi        RWX            node-local     <unset>                 112s',
        ),
      },
      {
        name: 'pods show READY, STATUS, RESTARTS and AGE like 5h31m and 2m48s',
        kind: 'Pod',
        objs: pods,
        want: lines(
          'NAME                   READY   STATUS    RESTARTS   AGE',
          'pod/busybox            2/2     Running   0          5h31m',
          'pod/busybox-hostpath   1/1     Running   0          4h38m',
          'pod/busybox-use-pvc    1/1     Running   0          2m48s',
        ),
      },
      {
        name: 'an Available PV has an empty CLAIM',
        kind: 'PersistentVolume',
        objs: [hostPathPV('Available', now - 6, '1Gi', false)],
        want: lines(
          'NAME                           CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS      CLAIM   STORAGECLASS   VOLUMEATTRIBUTESCLASS   REASON   AGE',
          'persistentvolume/pv-hostpath   1Gi        RWX            Retain           Available           node-local     <unset>                          6s',
        ),
      },
      {
        name: 'a Pending claim leaves VOLUME, CAPACITY and ACCESS MODES empty',
        kind: 'PersistentVolumeClaim',
        objs: [hostPathPVC('Pending', now - 6, null)],
        want: lines(
          'NAME                                 STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE',
          'persistentvolumeclaim/pvc-hostpath   Pending                                      node-local     <unset>                 6s',
        ),
      },
      {
        name: 'a claim being deleted but still in use is Terminating',
        kind: 'PersistentVolumeClaim',
        objs: [hostPathPVC('Bound', now - 70, { volume: 'pv-hostpath', capacity: '1Ti' }, { deletionTimestamp: at(now - 10) })],
        want: lines(
          'NAME                                 STATUS        VOLUME        CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE',
          'persistentvolumeclaim/pvc-hostpath   Terminating   pv-hostpath   1Ti        RWX            node-local     <unset>                 70s',
        ),
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        expect(printGet(r.kind, r.objs, ctxAt(now), { withKind: true })).to.equal(r.want);
      });
    }
  });

  describe("reproduces the walkthrough's `kk get svc,sc,pv,pvc,sts -o wide` tables", () => {
    const now = 44 * 3600;
    const svcs = [
      obj('Service', 'kubernetes', 0, { spec: { type: 'ClusterIP', clusterIP: '20.1.0.1', clusterIPs: ['20.1.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] } }, 'default'),
      obj('Service', 'stateful-svc', now - 144, { spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'stateful' }, ports: [{ port: 8080, protocol: 'TCP' }] } }, 'default'),
    ];
    const sc = obj('StorageClass', 'sc-hostpath', now - 144, { provisioner: 'kubernetes.io/no-provisioner', reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer' });
    const pvs = [0, 1].map((i) =>
      obj('PersistentVolume', `pv-hostpath-${i}`, now - 144, {
        spec: { capacity: { storage: '500Gi' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'sc-hostpath', volumeMode: 'Filesystem', claimRef: { namespace: 'default', name: `stateful-data-statefulset-${i}` } },
        status: { phase: 'Bound' },
      }),
    );
    const pvcs = [103, 101].map((age, i) =>
      obj(
        'PersistentVolumeClaim',
        `stateful-data-statefulset-${i}`,
        now - age,
        { spec: { storageClassName: 'sc-hostpath', volumeName: `pv-hostpath-${i}`, volumeMode: 'Filesystem' }, status: { phase: 'Bound', accessModes: ['ReadWriteMany'], capacity: { storage: '500Gi' } } },
        'default',
      ),
    );
    const sts = obj(
      'StatefulSet',
      'statefulset',
      now - 144,
      { spec: { replicas: 2, template: { spec: { containers: [{ name: 'python-svc-stateful', image: 'python:3.7' }] } } }, status: { replicas: 2, readyReplicas: 2 } },
      'default',
    );
    const rows: { name: string; kind: string; objs: KObject[]; want: string }[] = [
      {
        name: 'services: a headless CLUSTER-IP is None, ports are 443/TCP, SELECTOR is <none> when empty',
        kind: 'Service',
        objs: svcs,
        want: lines(
          'NAME                   TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)    AGE     SELECTOR',
          'service/kubernetes     ClusterIP   20.1.0.1     <none>        443/TCP    44h     <none>',
          'service/stateful-svc   ClusterIP   None         <none>        8080/TCP   2m24s   app=stateful',
        ),
      },
      {
        name: 'a StorageClass shows its defaults-filled policy, binding mode and expansion flag',
        kind: 'StorageClass',
        objs: [sc],
        want: lines(
          'NAME                                      PROVISIONER                    RECLAIMPOLICY   VOLUMEBINDINGMODE      ALLOWVOLUMEEXPANSION   AGE',
          'storageclass.storage.k8s.io/sc-hostpath   kubernetes.io/no-provisioner   Delete          WaitForFirstConsumer   false                  2m24s',
        ),
      },
      {
        name: 'wide PVs add VOLUMEMODE',
        kind: 'PersistentVolume',
        objs: pvs,
        want: lines(
          'NAME                             CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS   CLAIM                                 STORAGECLASS   VOLUMEATTRIBUTESCLASS   REASON   AGE     VOLUMEMODE',
          'persistentvolume/pv-hostpath-0   500Gi      RWX            Retain           Bound    default/stateful-data-statefulset-0   sc-hostpath    <unset>                          2m24s   Filesystem',
          'persistentvolume/pv-hostpath-1   500Gi      RWX            Retain           Bound    default/stateful-data-statefulset-1   sc-hostpath    <unset>                          2m24s   Filesystem',
        ),
      },
      {
        name: 'wide claims add VOLUMEMODE',
        kind: 'PersistentVolumeClaim',
        objs: pvcs,
        want: lines(
          'NAME                                                STATUS   VOLUME          CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE    VOLUMEMODE',
          'persistentvolumeclaim/stateful-data-statefulset-0   Bound    pv-hostpath-0   500Gi      RWX            sc-hostpath    <unset>                 103s   Filesystem',
          'persistentvolumeclaim/stateful-data-statefulset-1   Bound    pv-hostpath-1   500Gi      RWX            sc-hostpath    <unset>                 101s   Filesystem',
        ),
      },
      {
        name: 'a wide StatefulSet shows READY as ready/desired and its containers and images',
        kind: 'StatefulSet',
        objs: [sts],
        want: lines(
          'NAME                           READY   AGE     CONTAINERS            IMAGES',
          'statefulset.apps/statefulset   2/2     2m24s   python-svc-stateful   python:3.7',
        ),
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        expect(printGet(r.kind, r.objs, ctxAt(now), { wide: true, withKind: true })).to.equal(r.want);
      });
    }
  });

  describe("computes a pod's READY, STATUS and RESTARTS as printPod does", () => {
    const now = 600;
    const base = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, meta: Partial<KObject['metadata']> = {}): KObject =>
      obj('Pod', 'web-0', 0, { metadata: meta, spec: { containers: [{ name: 'nginx', image: 'nginx' }], ...spec }, status }, 'default');
    const term = (exitCode: number, reason?: string) => ({ terminated: { exitCode, ...(reason ? { reason } : {}), finishedAt: at(now - 20) } });
    const rows: { name: string; pod: KObject; want: [string, string, string] }[] = [
      { name: 'a pod not yet scheduled is Pending 0/1', pod: base({ phase: 'Pending' }), want: ['0/1', 'Pending', '0'] },
      {
        name: 'a container waiting in ContainerCreating shows ContainerCreating',
        pod: base({ phase: 'Pending', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
        want: ['0/1', 'ContainerCreating', '0'],
      },
      {
        name: 'a running ready pod is Running 1/1',
        pod: base({ phase: 'Running', containerStatuses: [{ name: 'nginx', ready: true, restartCount: 0, state: { running: {} } }] }),
        want: ['1/1', 'Running', '0'],
      },
      {
        name: 'a running container that is not ready counts 0/1',
        pod: base({ phase: 'Running', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 0, state: { running: {} } }] }),
        want: ['0/1', 'Running', '0'],
      },
      {
        name: 'a pod with a deletionTimestamp is Terminating',
        pod: base({ phase: 'Running', containerStatuses: [{ name: 'nginx', ready: true, state: { running: {} } }] }, {}, { deletionTimestamp: at(now - 5) }),
        want: ['1/1', 'Terminating', '0'],
      },
      {
        name: 'a deleted pod whose status reason is NodeLost is Unknown',
        pod: base({ phase: 'Running', reason: 'NodeLost', containerStatuses: [{ name: 'nginx', ready: false, state: { running: {} } }] }, {}, { deletionTimestamp: at(now - 5) }),
        want: ['0/1', 'Unknown', '0'],
      },
      {
        name: 'a crash-looping container shows CrashLoopBackOff and restarts with how long ago',
        pod: base({ phase: 'Running', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: term(1, 'Error') }] }),
        want: ['0/1', 'CrashLoopBackOff', '3 (20s ago)'],
      },
      {
        name: 'a pod whose container exited 0 is Completed',
        pod: base({ phase: 'Succeeded', containerStatuses: [{ name: 'nginx', ready: false, state: term(0, 'Completed') }] }),
        want: ['0/1', 'Completed', '0'],
      },
      {
        name: 'a pod whose container failed shows Error',
        pod: base({ phase: 'Failed', containerStatuses: [{ name: 'nginx', ready: false, state: term(1, 'Error') }] }),
        want: ['0/1', 'Error', '0'],
      },
      {
        name: 'a running init container shows Init:0/1',
        pod: base({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, state: { running: {} } }] }, { initContainers: [{ name: 'init', image: 'busybox' }] }),
        want: ['0/1', 'Init:0/1', '0'],
      },
      {
        name: 'a crash-looping init container shows Init:CrashLoopBackOff',
        pod: base({ phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, { initContainers: [{ name: 'init', image: 'busybox' }] }),
        want: ['0/1', 'Init:CrashLoopBackOff', '2'],
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const row = printGet('Pod', [r.pod], ctxAt(now)).split('\n')[1]!;
        const cells = row.trimEnd().split(/ {2,}/);
        expect(cells.slice(1, 4)).to.deep.equal(r.want);
      });
    }
  });

  it('a wide pod without an IP or node prints <none> for both', () => {
    const pod = obj('Pod', 'web-1', 0, { spec: { containers: [{ name: 'nginx' }] }, status: { phase: 'Pending' } }, 'default');
    expect(printGet('Pod', [pod], ctxAt(3), { wide: true })).to.equal(
      lines('NAME    READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES', 'web-1   0/1     Pending   0          3s    <none>   <none>   <none>           <none>'),
    );
  });

  it('nodes show Ready, NotReady (also for Ready=Unknown), Unknown without a Ready condition, SchedulingDisabled and roles', () => {
    const node = (name: string, ready: string | null, extra: Partial<KObject> = {}): KObject =>
      obj('Node', name, 0, { ...extra, status: { ...(ready ? { conditions: [{ type: 'Ready', status: ready }] } : {}), nodeInfo: { kubeletVersion: 'v1.30.0' } } });
    const nodes = [
      node('node-1', 'True'),
      node('node-2', 'False'),
      node('node-3', 'Unknown'),
      node('node-4', null),
      node('node-5', 'True', { spec: { unschedulable: true }, metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }),
    ];
    expect(printGet('Node', nodes, ctxAt(3600))).to.equal(
      lines(
        'NAME     STATUS                     ROLES           AGE   VERSION',
        'node-1   Ready                      <none>          60m   v1.30.0',
        'node-2   NotReady                   <none>          60m   v1.30.0',
        'node-3   NotReady                   <none>          60m   v1.30.0',
        'node-4   Unknown                    <none>          60m   v1.30.0',
        'node-5   Ready,SchedulingDisabled   control-plane   60m   v1.30.0',
      ),
    );
  });

  it('namespaces and EndpointSlices print their own columns', () => {
    const ns = obj('Namespace', 'default', 0, { status: { phase: 'Active' } });
    expect(printGet('Namespace', [ns], ctxAt(90))).to.equal(lines('NAME      STATUS   AGE', 'default   Active   90s'));
    const eps = obj(
      'EndpointSlice',
      'nginx-abcde',
      0,
      { addressType: 'IPv4', ports: [{ name: 'web', port: 80, protocol: 'TCP' }], endpoints: ['10.244.1.2', '10.244.2.2', '10.244.3.2', '10.244.1.3'].map((a) => ({ addresses: [a] })) },
      'default',
    );
    expect(printGet('EndpointSlice', [eps], ctxAt(90), { withKind: true })).to.equal(
      lines(
        'NAME                                         ADDRESSTYPE   PORTS   ENDPOINTS                                      AGE',
        'endpointslice.discovery.k8s.io/nginx-abcde   IPv4          80      10.244.1.2,10.244.2.2,10.244.3.2 + 1 more...   90s',
      ),
    );
  });

  it('the default StorageClass is suffixed (default) after its kind prefix', () => {
    const sc = obj('StorageClass', 'standard', 0, { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'rancher.io/local-path' });
    expect(printGet('StorageClass', [sc], ctxAt(5), { withKind: true })).to.equal(
      lines(
        'NAME                                             PROVISIONER             RECLAIMPOLICY   VOLUMEBINDINGMODE   ALLOWVOLUMEEXPANSION   AGE',
        'storageclass.storage.k8s.io/standard (default)   rancher.io/local-path   Delete          Immediate           false                  5s',
      ),
    );
  });

  it('an empty list prints nothing (the caller says "No resources found")', () => {
    expect(printGet('Pod', [], ctxAt(0))).to.equal('');
  });
});

describe('formatQuantity prints the canonical form as resource.Quantity.String does', () => {
  const rows: [string, string][] = [
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['500Gi', '500Gi'],
    ['10G', '10G'],
    ['1000M', '1G'],
    ['2000000', '2M'],
    ['0.5', '500m'],
  ];
  for (const [input, want] of rows) {
    it(`${input} prints as ${want}`, () => expect(formatQuantity(input)).to.equal(want));
  }
});

describe('tabwrite', () => {
  it('pads each column to its widest cell plus padding and leaves the last cell unpadded', () => {
    expect(tabwrite('a\tbb\tc\naaa\tb\tc\n', 0, 2)).to.equal('a    bb  c\naaa  b   c\n');
  });
  it('a line without tabs ends a column block, so the next block aligns on its own', () => {
    expect(tabwrite('Name:\tx\nIPs:\n  IP:\ty\nControlled By:\tz\n', 0, 2)).to.equal('Name:  x\nIPs:\n  IP:           y\nControlled By:  z\n');
  });
  it('minwidth widens narrow columns', () => {
    expect(tabwrite('IP\tX\n1\tY\n', 6, 3)).to.equal('IP    X\n1     Y\n');
  });
});

describe('printDescribe', () => {
  const pvcEvent = (atS: number): DescribeEvent => ({
    type: 'Warning',
    reason: 'ProvisioningFailed',
    message: 'storageclass.storage.k8s.io "node-local" not found',
    source: 'persistentvolume-controller',
    count: 1,
    firstAtMs: atS * 1000,
    lastAtMs: atS * 1000,
  });

  it("reproduces the walkthrough's describe of a Pending claim used by a pod", () => {
    const pvc = hostPathPVC('Pending', 100, null);
    expect(printDescribe(pvc, [pvcEvent(289)], ctxAt(300), { podsUsingClaim: ['busybox-use-pvc'] })).to.equal(
      lines(
        'Name:          pvc-hostpath',
        'Namespace:     default',
        'StorageClass:  node-local',
        'Status:        Pending',
        'Volume:        ',
        'Labels:        <none>',
        'Annotations:   <none>',
        'Finalizers:    [kubernetes.io/pvc-protection]',
        'Capacity:      ',
        'Access Modes:  ',
        'VolumeMode:    Filesystem',
        'Used By:       busybox-use-pvc',
        'Events:',
        '  Type     Reason              Age   From                         Message',
        '  ----     ------              ----  ----                         -------',
        '  Warning  ProvisioningFailed  11s   persistentvolume-controller  storageclass.storage.k8s.io "node-local" not found',
      ),
    );
  });

  it("reproduces the walkthrough's describe of a second claim no pod uses", () => {
    const pvc = { ...hostPathPVC('Pending', 100, null), metadata: { name: 'pvc-hostpath-2', namespace: 'default', creationTimestamp: at(100), finalizers: ['kubernetes.io/pvc-protection'] } };
    expect(printDescribe(pvc, [pvcEvent(292)], ctxAt(300))).to.equal(
      lines(
        'Name:          pvc-hostpath-2',
        'Namespace:     default',
        'StorageClass:  node-local',
        'Status:        Pending',
        'Volume:        ',
        'Labels:        <none>',
        'Annotations:   <none>',
        'Finalizers:    [kubernetes.io/pvc-protection]',
        'Capacity:      ',
        'Access Modes:  ',
        'VolumeMode:    Filesystem',
        'Used By:       <none>',
        'Events:',
        '  Type     Reason              Age   From                         Message',
        '  ----     ------              ----  ----                         -------',
        '  Warning  ProvisioningFailed  8s    persistentvolume-controller  storageclass.storage.k8s.io "node-local" not found',
      ),
    );
  });

  it('a claim without events ends with an aligned Events: <none>, a terminating one says how long', () => {
    const pvc = hostPathPVC('Bound', 100, { volume: 'pv-hostpath', capacity: '1Ti' }, { deletionTimestamp: at(230) });
    expect(printDescribe(pvc, [], ctxAt(300), { podsUsingClaim: ['b', 'a'] })).to.equal(
      lines(
        'Name:          pvc-hostpath',
        'Namespace:     default',
        'StorageClass:  node-local',
        'Status:        Terminating (lasts 70s)',
        'Volume:        pv-hostpath',
        'Labels:        <none>',
        'Annotations:   <none>',
        'Finalizers:    [kubernetes.io/pvc-protection]',
        'Capacity:      1Ti',
        'Access Modes:  RWX',
        'VolumeMode:    Filesystem',
        'Used By:       a',
        '               b',
        'Events:        <none>',
      ),
    );
  });

  it('repeated events show "last (xN over first)" and are sorted by last time', () => {
    const events: DescribeEvent[] = [
      { type: 'Warning', reason: 'FailedMount', message: 'MountVolume.SetUp failed', source: 'kubelet', count: 3, firstAtMs: 0, lastAtMs: 180_000 },
      { type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web-0 to node-1', source: 'default-scheduler', count: 1, firstAtMs: 0, lastAtMs: 0 },
    ];
    const out = printDescribe(obj('ConfigMap', 'x', 0, {}, 'default'), events, ctxAt(300));
    expect(out.split('Events:\n')[1]).to.equal(
      lines(
        '  Type     Reason       Age              From               Message',
        '  ----     ------       ----             ----               -------',
        '  Normal   Scheduled    5m               default-scheduler  Successfully assigned default/web-0 to node-1',
        '  Warning  FailedMount  2m (x3 over 5m)  kubelet            MountVolume.SetUp failed',
      ),
    );
  });

  it('describes a bound hostPath PersistentVolume with its source', () => {
    expect(printDescribe(hostPathPV('Bound', 0), [], ctxAt(300))).to.equal(
      lines(
        'Name:            pv-hostpath',
        'Labels:          type=local',
        'Annotations:     <none>',
        'Finalizers:      [kubernetes.io/pv-protection]',
        'StorageClass:    node-local',
        'Status:          Bound',
        'Claim:           default/pvc-hostpath',
        'Reclaim Policy:  Retain',
        'Access Modes:    RWX',
        'VolumeMode:      Filesystem',
        'Capacity:        1Gi',
        'Node Affinity:   <none>',
        'Message:         ',
        'Source:',
        '    Type:          HostPath (bare host directory volume)',
        '    Path:          /home/host-pv-dir',
        '    HostPathType:  DirectoryOrCreate',
        'Events:            <none>',
      ),
    );
  });

  it('describes a running StatefulSet pod: containers, conditions, volumes, tolerations, events', () => {
    const pod = obj(
      'Pod',
      'web-0',
      10,
      {
        metadata: {
          labels: { app: 'nginx', 'apps.kubernetes.io/pod-index': '0', 'statefulset.kubernetes.io/pod-name': 'web-0' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true }],
        },
        spec: {
          nodeName: 'node-1',
          priority: 0,
          serviceAccountName: 'default',
          containers: [{ name: 'nginx', image: 'nginx:1.9.1', ports: [{ containerPort: 80, name: 'web', protocol: 'TCP' }], volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] }],
          volumes: [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } }],
          tolerations: [
            { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          ],
        },
        status: {
          phase: 'Running',
          hostIP: '10.0.0.1',
          podIP: '10.244.1.2',
          podIPs: [{ ip: '10.244.1.2' }],
          startTime: at(12),
          conditions: [
            { type: 'Initialized', status: 'True' },
            { type: 'Ready', status: 'True' },
            { type: 'PodScheduled', status: 'True' },
          ],
          containerStatuses: [{ name: 'nginx', containerID: 'containerd://abc', image: 'nginx:1.9.1', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: at(15) } } }],
        },
      },
      'default',
    );
    const events: DescribeEvent[] = [{ type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web-0 to node-1', source: 'default-scheduler', count: 1, firstAtMs: 10_000, lastAtMs: 10_000 }];
    expect(printDescribe(pod, events, ctxAt(300))).to.equal(
      lines(
        'Name:             web-0',
        'Namespace:        default',
        'Priority:         0',
        'Service Account:  default',
        'Node:             node-1/10.0.0.1',
        'Start Time:       Wed, 01 Jan 2025 00:00:12 +0000',
        'Labels:           app=nginx',
        '                  apps.kubernetes.io/pod-index=0',
        '                  statefulset.kubernetes.io/pod-name=web-0',
        'Annotations:      <none>',
        'Status:           Running',
        'IP:               10.244.1.2',
        'IPs:',
        '  IP:           10.244.1.2',
        'Controlled By:  StatefulSet/web',
        'Containers:',
        '  nginx:',
        '    Container ID:   containerd://abc',
        '    Image:          nginx:1.9.1',
        '    Image ID:       ',
        '    Port:           80/TCP',
        '    Host Port:      0/TCP',
        '    State:          Running',
        '      Started:      Wed, 01 Jan 2025 00:00:15 +0000',
        '    Ready:          True',
        '    Restart Count:  0',
        '    Environment:    <none>',
        '    Mounts:',
        '      /usr/share/nginx/html from www (rw)',
        'Conditions:',
        '  Type           Status',
        '  Initialized    True ',
        '  Ready          True ',
        '  PodScheduled   True ',
        'Volumes:',
        '  www:',
        '    Type:        PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)',
        '    ClaimName:   www-web-0',
        '    ReadOnly:    false',
        'QoS Class:       BestEffort',
        'Node-Selectors:  <none>',
        'Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s',
        '                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s',
        'Events:',
        '  Type    Reason     Age    From               Message',
        '  ----    ------     ----   ----               -------',
        '  Normal  Scheduled  4m50s  default-scheduler  Successfully assigned default/web-0 to node-1',
      ),
    );
  });

  it('describes a StatefulSet with its partition, pod counts, template and claim templates', () => {
    const sts = obj(
      'StatefulSet',
      'web',
      0,
      {
        metadata: { uid: 'u1' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'nginx' } },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
          template: {
            metadata: { labels: { app: 'nginx' } },
            spec: { containers: [{ name: 'nginx', image: 'nginx:1.9.1', ports: [{ containerPort: 80, name: 'web', protocol: 'TCP' }], volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] }] },
          },
          volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
        },
        status: { replicas: 2 },
      },
      'default',
    );
    const owned = (name: string, phase: string): KObject =>
      obj('Pod', name, 0, { metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true }] }, status: { phase } }, 'default');
    const stranger = obj('Pod', 'other', 0, { status: { phase: 'Running' } }, 'default');
    expect(printDescribe(sts, [], ctxAt(300), { pods: [owned('web-0', 'Running'), owned('web-1', 'Pending'), stranger] })).to.equal(
      lines(
        'Name:               web',
        'Namespace:          default',
        'CreationTimestamp:  Wed, 01 Jan 2025 00:00:00 +0000',
        'Selector:           app=nginx',
        'Labels:             <none>',
        'Annotations:        <none>',
        'Replicas:           2 desired | 2 total',
        'Update Strategy:    RollingUpdate',
        '  Partition:        0',
        'Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed',
        'Pod Template:',
        '  Labels:  app=nginx',
        '  Containers:',
        '   nginx:',
        '    Image:        nginx:1.9.1',
        '    Port:         80/TCP',
        '    Host Port:    0/TCP',
        '    Environment:  <none>',
        '    Mounts:',
        '      /usr/share/nginx/html from www (rw)',
        '  Volumes:         <none>',
        '  Node-Selectors:  <none>',
        '  Tolerations:     <none>',
        'Volume Claims:',
        '  Name:          www',
        '  StorageClass:  ',
        '  Labels:        <none>',
        '  Annotations:   <none>',
        '  Capacity:      1Gi',
        '  Access Modes:  [ReadWriteOnce]',
        'Events:          <none>',
      ),
    );
  });

  it('describes a headless Service with its ready endpoints per port', () => {
    const svc = obj(
      'Service',
      'nginx',
      0,
      {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          type: 'ClusterIP',
          clusterIP: 'None',
          clusterIPs: ['None'],
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          selector: { app: 'nginx' },
          ports: [{ name: 'web', port: 80, protocol: 'TCP', targetPort: 80 }],
          sessionAffinity: 'None',
          internalTrafficPolicy: 'Cluster',
        },
      },
      'default',
    );
    const slice = obj(
      'EndpointSlice',
      'nginx-abcde',
      0,
      {
        addressType: 'IPv4',
        ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['10.244.1.2'], conditions: { ready: true } },
          { addresses: ['10.244.2.2'], conditions: { ready: true } },
          { addresses: ['10.244.3.2'], conditions: { ready: false } },
        ],
      },
      'default',
    );
    expect(printDescribe(svc, [], ctxAt(60), { endpointSlices: [slice] })).to.equal(
      lines(
        'Name:                     nginx',
        'Namespace:                default',
        'Labels:                   app=nginx',
        'Annotations:              <none>',
        'Selector:                 app=nginx',
        'Type:                     ClusterIP',
        'IP Family Policy:         SingleStack',
        'IP Families:              IPv4',
        'IP:                       None',
        'IPs:                      None',
        'Port:                     web  80/TCP',
        'TargetPort:               80/TCP',
        'Endpoints:                10.244.1.2:80,10.244.2.2:80',
        'Session Affinity:         None',
        'Internal Traffic Policy:  Cluster',
        'Events:                   <none>',
      ),
    );
  });

  it('describes an unreachable Node with its taints, conditions and system info', () => {
    const n = obj('Node', 'node-1', 0, {
      metadata: { labels: { 'kubernetes.io/hostname': 'node-1' } },
      spec: {
        podCIDR: '10.244.1.0/24',
        podCIDRs: ['10.244.1.0/24'],
        taints: [
          { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: at(100) },
          { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(105) },
        ],
      },
      status: {
        conditions: [{ type: 'Ready', status: 'Unknown', lastHeartbeatTime: at(60), lastTransitionTime: at(100), reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }],
        addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'node-1' }],
        nodeInfo: { kubeletVersion: 'v1.30.0', operatingSystem: 'linux', architecture: 'amd64' },
      },
    });
    expect(printDescribe(n, [], ctxAt(300))).to.equal(
      lines(
        'Name:               node-1',
        'Roles:              <none>',
        'Labels:             kubernetes.io/hostname=node-1',
        'Annotations:        <none>',
        'CreationTimestamp:  Wed, 01 Jan 2025 00:00:00 +0000',
        'Taints:             node.kubernetes.io/unreachable:NoExecute',
        '                    node.kubernetes.io/unreachable:NoSchedule',
        'Unschedulable:      false',
        'Conditions:',
        '  Type    Status    LastHeartbeatTime                 LastTransitionTime                Reason              Message',
        '  ----    ------    -----------------                 ------------------                ------              -------',
        '  Ready   Unknown   Wed, 01 Jan 2025 00:01:00 +0000   Wed, 01 Jan 2025 00:01:40 +0000   NodeStatusUnknown   Kubelet stopped posting node status.',
        'Addresses:',
        '  InternalIP:  10.0.0.1',
        '  Hostname:    node-1',
        'System Info:',
        '  Machine ID:                 ',
        '  System UUID:                ',
        '  Boot ID:                    ',
        '  Kernel Version:             ',
        '  OS Image:                   ',
        '  Operating System:           linux',
        '  Architecture:               amd64',
        '  Container Runtime Version:  ',
        '  Kubelet Version:            v1.30.0',
        '  Kube-Proxy Version:         ',
        'PodCIDR:                      10.244.1.0/24',
        'PodCIDRs:                     10.244.1.0/24',
        'Events:                       <none>',
      ),
    );
  });
});
