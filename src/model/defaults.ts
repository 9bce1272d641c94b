/**
 * API defaulting: the SetDefaults_* functions kube-apiserver v1.30 runs when it decodes an
 * object (pkg/apis/<group>/v1/defaults.go plus the generated zz_generated.defaults.go that
 * walks into nested structs), and the few create-time fills the REST strategies add. Mutates the
 * object it is given (callers pass a copy) and is idempotent, so the API server may run it on
 * every write, as Kubernetes does on every decode.
 *
 * Sources, cited at each default:
 *   core  pkg/apis/core/v1/defaults.go             Pod, PodSpec, Container, Volume, Service,
 *                                                  PV, PVC, Namespace, Node, Probe
 *   apps  pkg/apis/apps/v1/defaults.go             StatefulSet
 *   stor  pkg/apis/storage/v1/defaults.go          StorageClass
 *   disc  pkg/apis/discovery/v1/defaults.go        EndpointSlice ports
 *   gen   zz_generated.defaults.go / `+default=` markers in k8s.io/api types.go
 *   strat pkg/registry/core/<kind>/strategy.go     create-time status and finalizers
 * Service ipFamilyPolicy/ipFamilies/clusterIPs are filled by the service REST allocator once a
 * clusterIP exists; the allocation itself is the API server's.
 */
import type { KObject } from '../protocol.ts';
import { ipFamilyOf } from './validation.ts';
import { deepCopy } from './objects.ts';

type Obj = Record<string, any>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const arr = (x: unknown): any[] => (Array.isArray(x) ? x : []);
const unset = (x: unknown): boolean => x === undefined || x === null || x === '';

/** Applies the defaults of `obj.kind` in place. */
export function applyDefaults(obj: KObject): void {
  obj.metadata ??= {};
  switch (obj.kind) {
    case 'Pod':
      defaultPod(obj);
      break;
    case 'StatefulSet':
      defaultStatefulSet(obj);
      break;
    case 'PersistentVolumeClaim':
      defaultPvcSpec((obj.spec ??= {}));
      // core SetDefaults_PersistentVolumeClaim: a new claim is Pending.
      defaultPhase(obj, 'Pending');
      break;
    case 'PersistentVolume':
      defaultPv(obj);
      break;
    case 'StorageClass':
      // storage/v1 SetDefaults_StorageClass: both are pointers, defaulted only when nil. An
      // empty reclaimPolicy is kept (validateReclaimPolicy accepts it; the PV provisioned from
      // the class is then defaulted to Retain); an empty volumeBindingMode fails validation.
      if (obj.reclaimPolicy === undefined || obj.reclaimPolicy === null) obj.reclaimPolicy = 'Delete';
      if (obj.volumeBindingMode === undefined || obj.volumeBindingMode === null) obj.volumeBindingMode = 'Immediate';
      break;
    case 'Service':
      defaultService(obj);
      break;
    case 'Namespace':
      defaultNamespace(obj);
      break;
    case 'Node':
      // core SetDefaults_NodeStatus: allocatable defaults to capacity.
      if (isObj(obj.status) && isObj(obj.status.capacity) && !isObj(obj.status.allocatable))
        obj.status.allocatable = deepCopy(obj.status.capacity);
      break;
    case 'EndpointSlice':
      // disc SetDefaults_EndpointPort.
      for (const p of arr((obj as Obj).ports)) {
        if (!isObj(p)) continue;
        p.name ??= '';
        p.protocol ??= 'TCP';
      }
      break;
    default:
      break;
  }
}

function defaultPhase(obj: KObject, phase: string): void {
  if (!isObj(obj.status)) obj.status = {};
  if (unset(obj.status.phase)) obj.status.phase = phase;
}

// ---------------------------------------------------------------------------------------------
// Pods and pod templates

/**
 * The tag parsers.ParseImageName finds (docker reference grammar): the explicit tag, "latest"
 * when there is neither tag nor digest, "" for a digest-only or unparsable reference.
 */
export function imageTag(image: string): string {
  const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
  const domain = `${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?`;
  const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
  const ref = new RegExp(`^(?:(${domain})/)?(${pathComponent}(?:/${pathComponent})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`);
  const m = ref.exec(image);
  if (!m) return '';
  // splitDockerDomain: a first component without '.', ':' or uppercase (and not "localhost")
  // is a path, so "nginx/app:1" has no domain; the regex cannot misplace a tag either way.
  const tag = m[3] ?? '';
  const digest = m[4] ?? '';
  return tag || digest ? tag : 'latest';
}

/** core SetDefaults_Container, and the generated defaults of its ports, env and probes. */
function defaultContainer(c: Obj): void {
  // core SetDefaults_Container: Always for :latest (or no tag), else IfNotPresent.
  if (unset(c.imagePullPolicy)) c.imagePullPolicy = imageTag(String(c.image ?? '')) === 'latest' ? 'Always' : 'IfNotPresent';
  if (unset(c.terminationMessagePath)) c.terminationMessagePath = '/dev/termination-log';
  if (unset(c.terminationMessagePolicy)) c.terminationMessagePolicy = 'File';
  // gen: ContainerPort.Protocol +default="TCP".
  for (const p of arr(c.ports)) if (isObj(p) && unset(p.protocol)) p.protocol = 'TCP';
  // core SetDefaults_ObjectFieldSelector: apiVersion v1.
  for (const e of arr(c.env)) {
    const fr = isObj(e) && isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isObj(fr) && unset(fr.apiVersion)) fr.apiVersion = 'v1';
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = c[probe];
    if (!isObj(p)) continue;
    // core SetDefaults_Probe.
    if (!p.timeoutSeconds) p.timeoutSeconds = 1;
    if (!p.periodSeconds) p.periodSeconds = 10;
    if (!p.successThreshold) p.successThreshold = 1;
    if (!p.failureThreshold) p.failureThreshold = 3;
    // core SetDefaults_HTTPGetAction.
    if (isObj(p.httpGet)) {
      if (unset(p.httpGet.path)) p.httpGet.path = '/';
      if (unset(p.httpGet.scheme)) p.httpGet.scheme = 'HTTP';
    }
  }
}

/** Volume source fields of v1.VolumeSource (all nil means the volume is an emptyDir). */
const VOLUME_SOURCE_FIELDS = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos', 'csi',
  'ephemeral', 'image',
];

function defaultRBD(rbd: unknown): void {
  if (!isObj(rbd)) return;
  // gen: RBDVolumeSource pool +default="rbd", user +default="admin", keyring +default="/etc/ceph/keyring".
  if (unset(rbd.pool)) rbd.pool = 'rbd';
  if (unset(rbd.user)) rbd.user = 'admin';
  if (unset(rbd.keyring)) rbd.keyring = '/etc/ceph/keyring';
}

function defaultHostPath(hp: unknown): void {
  // core SetDefaults_HostPathVolumeSource: type "" (no check).
  if (isObj(hp) && (hp.type === undefined || hp.type === null)) hp.type = '';
}

function defaultVolume(v: Obj): void {
  // core SetDefaults_Volume: a volume with no source is an emptyDir.
  if (VOLUME_SOURCE_FIELDS.every((k) => v[k] === undefined || v[k] === null)) v.emptyDir = {};
  defaultHostPath(v.hostPath);
  defaultRBD(v.rbd);
}

/** core SetDefaults_PodSpec plus the generated walk over volumes and containers. */
function defaultPodSpec(spec: Obj): void {
  if (unset(spec.dnsPolicy)) spec.dnsPolicy = 'ClusterFirst';
  if (unset(spec.restartPolicy)) spec.restartPolicy = 'Always';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  // DefaultTerminationGracePeriodSeconds = 30.
  if (typeof spec.terminationGracePeriodSeconds !== 'number') spec.terminationGracePeriodSeconds = 30;
  if (unset(spec.schedulerName)) spec.schedulerName = 'default-scheduler';
  for (const v of arr(spec.volumes)) if (isObj(v)) defaultVolume(v);
  for (const list of ['initContainers', 'containers']) for (const c of arr(spec[list])) if (isObj(c)) defaultContainer(c);
}

function defaultPod(pod: KObject): void {
  const spec: Obj = (pod.spec ??= {});
  // core SetDefaults_Pod: requests default to limits, per container.
  for (const list of ['containers', 'initContainers'])
    for (const c of arr(spec[list])) {
      if (!isObj(c) || !isObj(c.resources) || !isObj(c.resources.limits)) continue;
      const req: Obj = isObj(c.resources.requests) ? c.resources.requests : (c.resources.requests = {});
      for (const [k, v] of Object.entries(c.resources.limits)) if (req[k] === undefined) req[k] = v;
    }
  // core SetDefaults_Pod: DefaultEnableServiceLinks = true.
  if (typeof spec.enableServiceLinks !== 'boolean') spec.enableServiceLinks = true;
  // core SetDefaults_Pod: with host networking, container ports are host ports.
  if (spec.hostNetwork === true)
    for (const list of ['containers', 'initContainers'])
      for (const c of arr(spec[list])) for (const p of arr(obj(c).ports)) if (isObj(p) && !p.hostPort) p.hostPort = p.containerPort;
  defaultPodSpec(spec);
  // kubernetes#115606 (v1.27): a negative grace period is treated as 1.
  if (spec.terminationGracePeriodSeconds < 0) spec.terminationGracePeriodSeconds = 1;
  // strat (pod PrepareForCreate): a new pod is Pending with its QoS class computed.
  defaultPhase(pod, 'Pending');
  if (unset(pod.status.qosClass)) pod.status.qosClass = qosClass(spec);
}

const obj = (x: unknown): Obj => (isObj(x) ? x : {});

/** qos.GetPodQOS over cpu and memory (pkg/apis/core/helper/qos). */
export function qosClass(spec: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const num = (v: unknown): number => {
    const s = String(v ?? '0');
    const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(s);
    if (!m) return Number(s) || 0;
    const f: Record<string, number> = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
    return Number(m[1]) * (m[2] ? f[m[2]]! : 1);
  };
  for (const list of ['containers', 'initContainers'])
    for (const c of arr(spec[list])) {
      const r = obj(obj(obj(c).resources).requests);
      const l = obj(obj(obj(c).resources).limits);
      const found = new Set<string>();
      for (const res of ['cpu', 'memory']) {
        if (r[res] !== undefined && num(r[res]) !== 0) requests.set(res, (requests.get(res) ?? 0) + num(r[res]));
        if (l[res] !== undefined && num(l[res]) !== 0) {
          found.add(res);
          limits.set(res, (limits.get(res) ?? 0) + num(l[res]));
        }
      }
      if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
    }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [k, v] of requests) if (limits.get(k) !== v) guaranteed = false;
    if (requests.size !== limits.size) guaranteed = false;
  }
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ---------------------------------------------------------------------------------------------
// StatefulSet

function defaultStatefulSet(sts: KObject): void {
  const spec: Obj = (sts.spec ??= {});
  // apps SetDefaults_StatefulSet.
  if (unset(spec.podManagementPolicy)) spec.podManagementPolicy = 'OrderedReady';
  const us: Obj = isObj(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
  if (unset(us.type)) {
    us.type = 'RollingUpdate';
    if (!isObj(us.rollingUpdate)) us.rollingUpdate = {};
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && typeof us.rollingUpdate.partition !== 'number') us.rollingUpdate.partition = 0;
  // StatefulSetAutoDeletePVC is on by default in v1.30: Retain/Retain.
  const rp: Obj = isObj(spec.persistentVolumeClaimRetentionPolicy) ? spec.persistentVolumeClaimRetentionPolicy : (spec.persistentVolumeClaimRetentionPolicy = {});
  if (unset(rp.whenDeleted)) rp.whenDeleted = 'Retain';
  if (unset(rp.whenScaled)) rp.whenScaled = 'Retain';
  if (typeof spec.replicas !== 'number') spec.replicas = 1;
  if (typeof spec.revisionHistoryLimit !== 'number') spec.revisionHistoryLimit = 10;
  // gen: the template's PodSpec is defaulted like any PodSpec (SetDefaults_Pod is pod-only).
  const tpl: Obj = isObj(spec.template) ? spec.template : (spec.template = {});
  defaultPodSpec(isObj(tpl.spec) ? tpl.spec : (tpl.spec = {}));
  // gen: each claim template gets the PVC and PVC spec defaults (so status.phase Pending too).
  for (const c of arr(spec.volumeClaimTemplates)) {
    if (!isObj(c)) continue;
    c.apiVersion ??= 'v1';
    c.kind ??= 'PersistentVolumeClaim';
    defaultPvcSpec(isObj(c.spec) ? c.spec : (c.spec = {}));
    if (!isObj(c.status)) c.status = {};
    if (unset(c.status.phase)) c.status.phase = 'Pending';
  }
}

// ---------------------------------------------------------------------------------------------
// Storage

function defaultPvcSpec(spec: Obj): void {
  // core SetDefaults_PersistentVolumeClaimSpec.
  if (unset(spec.volumeMode)) spec.volumeMode = 'Filesystem';
}

function defaultPv(pv: KObject): void {
  const spec: Obj = (pv.spec ??= {});
  // core SetDefaults_PersistentVolume: Retain, Filesystem, and a new PV is Pending (the PV
  // controller makes it Available).
  if (unset(spec.persistentVolumeReclaimPolicy)) spec.persistentVolumeReclaimPolicy = 'Retain';
  if (unset(spec.volumeMode)) spec.volumeMode = 'Filesystem';
  defaultPhase(pv, 'Pending');
  defaultHostPath(spec.hostPath);
  defaultRBD(spec.rbd);
}

// ---------------------------------------------------------------------------------------------
// Service

function defaultService(svc: KObject): void {
  const spec: Obj = (svc.spec ??= {});
  // core SetDefaults_Service.
  if (unset(spec.sessionAffinity)) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = obj(spec.sessionAffinityConfig);
    if (typeof obj(cfg.clientIP).timeoutSeconds !== 'number') spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (unset(spec.type)) spec.type = 'ClusterIP';
  for (const p of arr(spec.ports)) {
    if (!isObj(p)) continue;
    if (unset(p.protocol)) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  const externallyAccessible = spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
  if (externallyAccessible && unset(spec.externalTrafficPolicy)) spec.externalTrafficPolicy = 'Cluster';
  if (unset(spec.internalTrafficPolicy) && ['ClusterIP', 'NodePort', 'LoadBalancer'].includes(spec.type)) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && typeof spec.allocateLoadBalancerNodePorts !== 'boolean') spec.allocateLoadBalancerNodePorts = true;
  // Service REST allocator: once a clusterIP exists, clusterIPs and the IP family fields follow
  // it. Headless services with a selector are SingleStack; without one, RequireDualStack.
  if (spec.type !== 'ExternalName' && typeof spec.clusterIP === 'string' && spec.clusterIP !== '') {
    if (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) spec.clusterIPs = [spec.clusterIP];
    const headless = spec.clusterIP === 'None';
    const hasSelector = isObj(spec.selector) && Object.keys(spec.selector).length > 0;
    if (unset(spec.ipFamilyPolicy)) spec.ipFamilyPolicy = headless && !hasSelector ? 'RequireDualStack' : 'SingleStack';
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = [headless ? 'IPv4' : (ipFamilyOf(spec.clusterIP) ?? 'IPv4')];
  }
}

// ---------------------------------------------------------------------------------------------
// Namespace

function defaultNamespace(ns: KObject): void {
  const name = ns.metadata.name;
  // core SetDefaults_Namespace: the immutable kubernetes.io/metadata.name label.
  if (name) ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
  // strat (namespace PrepareForCreate): a new namespace carries the "kubernetes" finalizer. Not
  // a decode-time default (the namespace controller removes it), so only before creation, which
  // is when the object has no creationTimestamp yet.
  if (!ns.metadata.creationTimestamp) {
    const spec: Obj = (ns.spec ??= {});
    const fin = arr(spec.finalizers);
    if (!fin.includes('kubernetes')) spec.finalizers = [...fin, 'kubernetes'];
  }
  // core SetDefaults_NamespaceStatus.
  defaultPhase(ns, 'Active');
}
