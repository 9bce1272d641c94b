/**
 * API validation as kubectl reports it: each row is a manifest (defaulted first, as the API
 * server does) and the exact `path: message` lines Kubernetes v1.30 prints for it.
 */
import { expect } from 'chai';
import type { KObject } from '../../../src/protocol.ts';
import { applyDefaults } from '../../../src/model/defaults.ts';
import {
  formatFieldError,
  invalidMessage,
  validateObject,
  validateStatefulSetTemplates,
  validateUpdate,
} from '../../../src/model/validation.ts';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const POD_SOURCES = 'supported values: "csi", "emptyDir", "hostPath", "nfs", "persistentVolumeClaim", "rbd"';

function defaulted(o: KObject): KObject {
  const c = structuredClone(o);
  applyDefaults(c);
  return c;
}
function errorsOf(o: KObject): string[] {
  return validateObject(defaulted(o)).map(formatFieldError);
}

// ---------------------------------------------------------------------------------------------
// Fixtures: minimal valid objects, and a way to change one part of them.

type Patch = (o: any) => void;
function make(base: () => KObject): (patch?: Patch) => KObject {
  return (patch) => {
    const o = base();
    patch?.(o);
    return o;
  };
}

const pod = make(() => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } },
  spec: {
    containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80, name: 'web' }], volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] }],
    volumes: [{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-0' } }],
  },
}));

const sts = make(() => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    serviceName: 'nginx',
    replicas: 2,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx', volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginx/html' }] }] },
    },
    volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
  },
}));

const pvc = make(() => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'default' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
}));

const pv = make(() => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv-1' },
  spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteMany'], nfs: { server: 'nfs-server', path: '/exports/pv-1' } },
}));

const sc = make(() => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'fast' },
  provisioner: 'rbd.csi.ceph.com',
  parameters: { pool: 'rbd' },
}));

const svc = make(() => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'nginx', namespace: 'default' },
  spec: { selector: { app: 'nginx' }, ports: [{ port: 80, name: 'web' }] },
}));

const ns = make(() => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }));
const node = make(() => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } }, spec: {} }));

// ---------------------------------------------------------------------------------------------

interface Row {
  name: string;
  obj: KObject;
  errors: string[];
}

function table(rows: Row[]): void {
  for (const r of rows)
    it(r.name, () => {
      expect(errorsOf(r.obj)).to.deep.equal(r.errors);
    });
}

describe('validation: create', () => {
  describe('Pod', () => {
    table([
      { name: 'a well-formed pod is accepted', obj: pod(), errors: [] },
      {
        name: 'a pod name that is not a DNS subdomain is rejected with the RFC 1123 message',
        obj: pod((o) => (o.metadata.name = 'Web_0')),
        errors: [`metadata.name: Invalid value: "Web_0": ${SUBDOMAIN_MSG}`],
      },
      {
        name: 'an object with neither name nor generateName is rejected',
        obj: pod((o) => delete o.metadata.name),
        errors: ['metadata.name: Required value: name or generateName is required'],
      },
      { name: 'a generateName stands in for the name', obj: pod((o) => ((o.metadata.generateName = 'web-'), delete o.metadata.name)), errors: [] },
      {
        name: 'a namespace that is not a DNS label is rejected',
        obj: pod((o) => (o.metadata.namespace = 'My_NS')),
        errors: [`metadata.namespace: Invalid value: "My_NS": ${LABEL_MSG}`],
      },
      {
        name: 'a label key with a space is rejected at metadata.labels',
        obj: pod((o) => (o.metadata.labels = { 'bad key': 'x' })),
        errors: [
          `metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
        ],
      },
      {
        name: 'a label value that ends in a dash is rejected',
        obj: pod((o) => (o.metadata.labels = { app: 'web-' })),
        errors: [
          `metadata.labels: Invalid value: "web-": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        ],
      },
      { name: 'a pod without containers is rejected', obj: pod((o) => (o.spec.containers = [])), errors: ['spec.containers: Required value'] },
      {
        name: 'a container needs a name and an image',
        obj: pod((o) => (o.spec.containers = [{}])),
        errors: ['spec.containers[0].name: Required value', 'spec.containers[0].image: Required value'],
      },
      {
        name: 'two containers may not share a name',
        obj: pod((o) => o.spec.containers.push({ name: 'nginx', image: 'busybox' })),
        errors: ['spec.containers[1].name: Duplicate value: "nginx"'],
      },
      {
        name: 'a container name must be a DNS label',
        obj: pod((o) => (o.spec.containers[0].name = 'Nginx')),
        errors: [`spec.containers[0].name: Invalid value: "Nginx": ${LABEL_MSG}`],
      },
      {
        name: 'a mount must name a volume of the pod',
        obj: pod((o) => (o.spec.containers[0].volumeMounts[0].name = 'data')),
        errors: ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
      },
      {
        name: 'a mount needs a mountPath, unique within the container',
        obj: pod((o) => {
          o.spec.containers[0].volumeMounts = [{ name: 'www' }, { name: 'www', mountPath: '/a' }, { name: 'www', mountPath: '/a' }];
        }),
        errors: ['spec.containers[0].volumeMounts[0].mountPath: Required value', 'spec.containers[0].volumeMounts[2].mountPath: Invalid value: "/a": must be unique'],
      },
      {
        name: 'a pod volume of an unmodelled kind is rejected',
        obj: pod((o) => o.spec.volumes.push({ name: 'cfg', configMap: { name: 'nginx-conf' } })),
        errors: [`spec.volumes[1]: Unsupported value: "configMap": ${POD_SOURCES}`],
      },
      {
        name: 'a mount of a rejected volume is not found either',
        obj: pod((o) => {
          o.spec.volumes = [{ name: 'www', secret: { secretName: 's' } }];
        }),
        errors: [`spec.volumes[0]: Unsupported value: "secret": ${POD_SOURCES}`, 'spec.containers[0].volumeMounts[0].name: Not found: "www"'],
      },
      {
        name: 'a volume with two sources is rejected at the later one in upstream check order',
        obj: pod((o) => (o.spec.volumes[0].nfs = { server: 's', path: '/x' })),
        errors: ['spec.volumes[0].persistentVolumeClaim: Forbidden: may not specify more than 1 volume type', 'spec.containers[0].volumeMounts[0].name: Not found: "www"'],
      },
      {
        name: 'two volumes may not share a name',
        obj: pod((o) => o.spec.volumes.push({ name: 'www', emptyDir: {} })),
        errors: ['spec.volumes[1].name: Duplicate value: "www"'],
      },
      {
        name: 'a persistentVolumeClaim volume needs a claimName',
        obj: pod((o) => (o.spec.volumes[0].persistentVolumeClaim = {})),
        errors: ['spec.volumes[0].persistentVolumeClaim.claimName: Required value', 'spec.containers[0].volumeMounts[0].name: Not found: "www"'],
      },
      {
        name: 'a hostPath type outside the known list is rejected',
        obj: pod((o) => o.spec.volumes.push({ name: 'h', hostPath: { path: '/data', type: 'Dir' } })),
        errors: ['spec.volumes[1].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'],
      },
      {
        name: 'every hostPath type Kubernetes knows is accepted',
        obj: pod((o) => {
          for (const [i, t] of ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'].entries())
            o.spec.volumes.push({ name: `h${i}`, hostPath: { path: '/dev/x', type: t } });
        }),
        errors: [],
      },
      {
        name: "a hostPath path may not contain '..'",
        obj: pod((o) => o.spec.volumes.push({ name: 'h', hostPath: { path: '/data/../etc' } })),
        errors: [`spec.volumes[1].hostPath.path: Invalid value: "/data/../etc": must not contain '..'`],
      },
      {
        name: 'a hostPath needs a path',
        obj: pod((o) => o.spec.volumes.push({ name: 'h', hostPath: {} })),
        errors: ['spec.volumes[1].hostPath.path: Required value'],
      },
      {
        name: 'an nfs volume needs a server and an absolute path',
        obj: pod((o) => o.spec.volumes.push({ name: 'n', nfs: { path: 'exports' } })),
        errors: ['spec.volumes[1].nfs.server: Required value', 'spec.volumes[1].nfs.path: Invalid value: "exports": must be an absolute path'],
      },
      {
        name: 'an rbd volume needs monitors and an image',
        obj: pod((o) => o.spec.volumes.push({ name: 'r', rbd: {} })),
        errors: ['spec.volumes[1].rbd.monitors: Required value', 'spec.volumes[1].rbd.image: Required value'],
      },
      {
        name: 'a csi volume needs a driver',
        obj: pod((o) => o.spec.volumes.push({ name: 'c', csi: {} })),
        errors: ['spec.volumes[1].csi.driver: Required value', `spec.volumes[1].csi.driver: Invalid value: "": ${SUBDOMAIN_MSG}`],
      },
      {
        name: 'an emptyDir on a medium ksim does not model is rejected',
        obj: pod((o) => o.spec.volumes.push({ name: 'e', emptyDir: { medium: 'HugePages' } })),
        errors: ['spec.volumes[1].emptyDir.medium: Unsupported value: "HugePages": supported values: "", "Memory"'],
      },
      { name: 'a Memory emptyDir with a size limit is accepted', obj: pod((o) => o.spec.volumes.push({ name: 'e', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } })), errors: [] },
      {
        name: 'a negative emptyDir sizeLimit is rejected',
        obj: pod((o) => o.spec.volumes.push({ name: 'e', emptyDir: { sizeLimit: '-1Gi' } })),
        errors: ['spec.volumes[1].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity'],
      },
      {
        name: 'a restartPolicy outside Always, OnFailure, Never is rejected',
        obj: pod((o) => (o.spec.restartPolicy = 'Sometimes')),
        errors: ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
      },
      {
        name: 'an unknown dnsPolicy is rejected',
        obj: pod((o) => (o.spec.dnsPolicy = 'Cluster')),
        errors: ['spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
      },
      {
        name: 'dnsPolicy None needs a dnsConfig',
        obj: pod((o) => (o.spec.dnsPolicy = 'None')),
        errors: ['spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None'],
      },
      { name: 'a negative terminationGracePeriodSeconds is accepted (it becomes 1)', obj: pod((o) => (o.spec.terminationGracePeriodSeconds = -5)), errors: [] },
      {
        name: 'a container port of 0 is missing, one above 65535 out of range',
        obj: pod((o) => (o.spec.containers[0].ports = [{ containerPort: 0 }, { containerPort: 70000 }])),
        errors: ['spec.containers[0].ports[0].containerPort: Required value', 'spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive'],
      },
      {
        name: 'an uppercase container port name is rejected',
        obj: pod((o) => (o.spec.containers[0].ports[0].name = 'gameTCP')),
        errors: ['spec.containers[0].ports[0].name: Invalid value: "gameTCP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'],
      },
      {
        name: 'an unknown imagePullPolicy is rejected',
        obj: pod((o) => (o.spec.containers[0].imagePullPolicy = 'Sometimes')),
        errors: ['spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'],
      },
      {
        name: 'an Exists toleration with a value is rejected',
        obj: pod((o) => (o.spec.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }])),
        errors: ['spec.tolerations[0].operator: Invalid value: "v": value must be empty when `operator` is \'Exists\''],
      },
      {
        name: 'a toleration with no key must use Exists',
        obj: pod((o) => (o.spec.tolerations = [{ operator: 'Equal', value: 'v' }])),
        errors: ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
      },
      {
        name: 'tolerationSeconds needs the NoExecute effect',
        obj: pod((o) => (o.spec.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 10 }])),
        errors: ["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"],
      },
      {
        name: 'an unknown toleration operator and effect are rejected',
        obj: pod((o) => (o.spec.tolerations = [{ key: 'k', operator: 'Has', effect: 'NoRun' }])),
        errors: [
          'spec.tolerations[0].operator: Unsupported value: "Has": supported values: "Equal", "Exists"',
          'spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
        ],
      },
      {
        name: 'required node affinity needs a term',
        obj: pod((o) => (o.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } })),
        errors: ['spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term'],
      },
      {
        name: 'an In node selector requirement needs values',
        obj: pod((o) => {
          o.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' }] }] } } };
        }),
        errors: ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
      },
      {
        name: 'a preferred node affinity weight must be 1-100',
        obj: pod((o) => {
          o.spec.affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } }] } };
        }),
        errors: ['spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100'],
      },
      {
        name: 'a nodeSelector value must be a label value',
        obj: pod((o) => (o.spec.nodeSelector = { disk: 'ssd!' })),
        errors: [
          `spec.nodeSelector: Invalid value: "ssd!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        ],
      },
      {
        name: 'a hostname with dots is not a DNS label',
        obj: pod((o) => (o.spec.hostname = 'web.0')),
        errors: ['spec.hostname: Invalid value: "web.0": must not contain dots'],
      },
      {
        name: 'an image with surrounding spaces is rejected for a pod',
        obj: pod((o) => (o.spec.containers[0].image = ' nginx')),
        errors: ['spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'],
      },
    ]);
  });

  describe('StatefulSet', () => {
    table([
      { name: 'a well-formed StatefulSet is accepted', obj: sts(), errors: [] },
      {
        name: 'a StatefulSet whose selector does not match its template labels is rejected',
        obj: sts((o) => (o.spec.template.metadata.labels = { app: 'db' })),
        errors: ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`'],
      },
      {
        name: 'a StatefulSet without a selector is rejected (and then matches no template)',
        obj: sts((o) => delete o.spec.selector),
        errors: ['spec.selector: Required value', 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: `selector` does not match template `labels`'],
      },
      {
        name: 'an empty selector is rejected',
        obj: sts((o) => (o.spec.selector = {})),
        errors: ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset'],
      },
      {
        name: 'a selector requirement without values is rejected and not compared with the template',
        obj: sts((o) => (o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In' }] })),
        errors: [
          "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
          'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"app", Operator:"In", Values:[]string(nil)}}}',
        ],
      },
      { name: 'a selector matching by expression is accepted', obj: sts((o) => (o.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx'] }] })), errors: [] },
      {
        name: 'negative replicas are rejected',
        obj: sts((o) => (o.spec.replicas = -1)),
        errors: ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
      },
      {
        name: 'a podManagementPolicy other than OrderedReady or Parallel is rejected',
        obj: sts((o) => (o.spec.podManagementPolicy = 'Sometimes')),
        errors: ["spec.podManagementPolicy: Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'"],
      },
      {
        name: 'a negative partition is rejected',
        obj: sts((o) => (o.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: -1 } })),
        errors: ['spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0'],
      },
      {
        name: 'an unknown update strategy is rejected',
        obj: sts((o) => (o.spec.updateStrategy = { type: 'Recreate' })),
        errors: [
          "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Recreate\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'",
        ],
      },
      {
        name: 'OnDelete does not take rollingUpdate settings',
        obj: sts((o) => (o.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } })),
        errors: [
          "spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
        ],
      },
      {
        name: 'the template must restart Always',
        obj: sts((o) => (o.spec.template.spec.restartPolicy = 'Never')),
        errors: ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
      },
      {
        name: 'a PVC retention policy other than Retain or Delete is rejected',
        obj: sts((o) => (o.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Keep' })),
        errors: ['spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"'],
      },
      {
        name: 'a StatefulSet name must be a DNS label (pod hostnames derive from it)',
        obj: sts((o) => (o.metadata.name = 'web.v1')),
        errors: ['metadata.name: Invalid value: "web.v1": must not contain dots'],
      },
      {
        name: 'v1.30 accepts a template whose pod spec is invalid (the controller fails later)',
        obj: sts((o) => {
          delete o.spec.template.spec.containers[0].image;
          delete o.spec.volumeClaimTemplates[0].spec.accessModes;
        }),
        errors: [],
      },
    ]);

    it('the template checks newer releases run find what the controller would hit', () => {
      const o = defaulted(
        sts((x) => {
          delete x.spec.template.spec.containers[0].image;
          delete x.spec.volumeClaimTemplates[0].spec.accessModes;
        }),
      );
      expect(validateStatefulSetTemplates(o).map(formatFieldError)).to.deep.equal([
        'spec.template.spec.containers[0].image: Required value',
        'spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required',
      ]);
    });

    it('a mount of a volumeClaimTemplate is found by the template checks', () => {
      expect(validateStatefulSetTemplates(defaulted(sts()))).to.deep.equal([]);
    });
  });

  describe('PersistentVolumeClaim', () => {
    table([
      { name: 'a well-formed claim is accepted', obj: pvc(), errors: [] },
      {
        name: 'a claim needs an access mode',
        obj: pvc((o) => delete o.spec.accessModes),
        errors: ['spec.accessModes: Required value: at least 1 access mode is required'],
      },
      {
        name: 'an unknown access mode is rejected',
        obj: pvc((o) => (o.spec.accessModes = ['ReadWriteAll'])),
        errors: ['spec.accessModes: Unsupported value: "ReadWriteAll": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'],
      },
      {
        name: 'ReadWriteOncePod cannot be combined with another mode',
        obj: pvc((o) => (o.spec.accessModes = ['ReadWriteOncePod', 'ReadWriteOnce'])),
        errors: ['spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes'],
      },
      { name: 'a claim needs a storage request', obj: pvc((o) => (o.spec.resources = {})), errors: ['spec.resources[storage]: Required value'] },
      {
        name: 'a zero storage request is rejected',
        obj: pvc((o) => (o.spec.resources.requests.storage = '0')),
        errors: ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
      },
      {
        name: 'a malformed storage quantity is rejected',
        obj: pvc((o) => (o.spec.resources.requests.storage = 'lots')),
        errors: ["spec.resources[storage]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
      },
      {
        name: 'a volumeMode other than Filesystem or Block is rejected',
        obj: pvc((o) => (o.spec.volumeMode = 'Raw')),
        errors: ['spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"'],
      },
      {
        name: 'a storageClassName must be a DNS subdomain',
        obj: pvc((o) => (o.spec.storageClassName = 'Fast_SSD')),
        errors: [`spec.storageClassName: Invalid value: "Fast_SSD": ${SUBDOMAIN_MSG}`],
      },
      { name: 'an explicit empty storageClassName is accepted', obj: pvc((o) => (o.spec.storageClassName = '')), errors: [] },
    ]);
  });

  describe('PersistentVolume', () => {
    const local = (o: any): void => {
      delete o.spec.nfs;
      o.spec.local = { path: '/mnt/disks/ssd1' };
    };
    table([
      { name: 'a well-formed NFS PV is accepted', obj: pv(), errors: [] },
      { name: 'a local PV without nodeAffinity is rejected', obj: pv(local), errors: ['spec.nodeAffinity: Required value: Local volume requires node affinity'] },
      {
        name: 'a local PV with nodeAffinity is accepted',
        obj: pv((o) => {
          local(o);
          o.spec.nodeAffinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] }] } };
        }),
        errors: [],
      },
      {
        name: 'a PV needs a capacity with storage',
        obj: pv((o) => delete o.spec.capacity),
        errors: ['spec.capacity: Required value', 'spec.capacity: Unsupported value: core.ResourceList(nil): supported values: "storage"'],
      },
      { name: 'a PV needs an access mode', obj: pv((o) => delete o.spec.accessModes), errors: ['spec.accessModes: Required value'] },
      { name: 'a PV needs a volume source', obj: pv((o) => delete o.spec.nfs), errors: ['spec: Required value: must specify a volume type'] },
      {
        name: 'a PV source ksim does not model is rejected',
        obj: pv((o) => {
          delete o.spec.nfs;
          o.spec.iscsi = { targetPortal: '10.0.0.1:3260', iqn: 'iqn.2001-04.com.example:storage', lun: 0 };
        }),
        errors: ['spec: Unsupported value: "iscsi": supported values: "csi", "hostPath", "local", "nfs", "rbd"'],
      },
      {
        name: 'a PV with two sources is rejected at the second',
        obj: pv((o) => (o.spec.hostPath = { path: '/data' })),
        errors: ['spec.nfs: Forbidden: may not specify more than 1 volume type'],
      },
      {
        name: 'an unknown reclaim policy is rejected',
        obj: pv((o) => (o.spec.persistentVolumeReclaimPolicy = 'Keep')),
        errors: ['spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"'],
      },
      {
        name: 'a CSI PV needs a driver and a volumeHandle',
        obj: pv((o) => {
          delete o.spec.nfs;
          o.spec.csi = { driver: 'rbd.csi.ceph.com' };
        }),
        errors: ['spec.csi.volumeHandle: Required value'],
      },
      {
        name: 'a PV that is not a DNS subdomain is rejected',
        obj: pv((o) => (o.metadata.name = 'PV 1')),
        errors: [`metadata.name: Invalid value: "PV 1": ${SUBDOMAIN_MSG}`],
      },
    ]);
  });

  describe('StorageClass', () => {
    table([
      { name: 'a well-formed StorageClass is accepted', obj: sc(), errors: [] },
      { name: 'a StorageClass needs a provisioner', obj: sc((o) => delete o.provisioner), errors: ['provisioner: Required value'] },
      {
        name: 'a reclaimPolicy of Recycle is not allowed for classes',
        obj: sc((o) => (o.reclaimPolicy = 'Recycle')),
        errors: ['reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"'],
      },
      {
        name: 'an unknown volumeBindingMode is rejected',
        obj: sc((o) => (o.volumeBindingMode = 'Lazy')),
        errors: ['volumeBindingMode: Unsupported value: "Lazy": supported values: "Immediate", "WaitForFirstConsumer"'],
      },
    ]);
  });

  describe('Service', () => {
    table([
      { name: 'a well-formed Service is accepted', obj: svc(), errors: [] },
      { name: 'a headless Service without ports is accepted', obj: svc((o) => ((o.spec.clusterIP = 'None'), delete o.spec.ports)), errors: [] },
      {
        name: 'a Service name must be a DNS-1035 label',
        obj: svc((o) => (o.metadata.name = '1web')),
        errors: [`metadata.name: Invalid value: "1web": ${DNS1035_MSG}`],
      },
      { name: 'a Service with a clusterIP needs ports', obj: svc((o) => delete o.spec.ports), errors: ['spec.ports: Required value'] },
      {
        name: 'a port of 0 is out of range',
        obj: svc((o) => (o.spec.ports = [{ port: 0, targetPort: 80 }])),
        errors: ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'],
      },
      {
        name: 'several ports must be named, each name once',
        obj: svc((o) => (o.spec.ports = [{ port: 80 }, { port: 81, name: 'a' }, { port: 82, name: 'a' }])),
        errors: ['spec.ports[0].name: Required value', 'spec.ports[2].name: Duplicate value: "a"'],
      },
      {
        name: 'an unknown protocol is rejected',
        obj: svc((o) => (o.spec.ports[0].protocol = 'HTTP')),
        errors: ['spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
      },
      {
        name: 'the same port and protocol twice is a duplicate',
        obj: svc((o) => o.spec.ports.push({ port: 80, name: 'again' })),
        errors: [
          'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
        ],
      },
      {
        name: 'a clusterIP that is not an IP is rejected',
        obj: svc((o) => (o.spec.clusterIP = '10.96.0.300')),
        errors: ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
      },
      {
        name: 'an unknown type is rejected',
        obj: svc((o) => (o.spec.type = 'Internal')),
        errors: ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'],
      },
      {
        name: 'a NodePort service may not be headless',
        obj: svc((o) => ((o.spec.type = 'NodePort'), (o.spec.clusterIP = 'None'))),
        errors: ["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"],
      },
      {
        name: 'a selector value must be a label value',
        obj: svc((o) => (o.spec.selector = { app: 'a b' })),
        errors: [
          `spec.selector: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        ],
      },
    ]);
  });

  describe('Namespace, Node, EndpointSlice, Lease', () => {
    table([
      { name: 'a well-formed Namespace is accepted', obj: ns(), errors: [] },
      { name: 'a Namespace name with dots is not a DNS label', obj: ns((o) => (o.metadata.name = 'my.ns')), errors: ['metadata.name: Invalid value: "my.ns": must not contain dots'] },
      { name: 'an uppercase Namespace name is rejected', obj: ns((o) => (o.metadata.name = 'Shop')), errors: [`metadata.name: Invalid value: "Shop": ${LABEL_MSG}`] },
      { name: 'a well-formed Node is accepted', obj: node(), errors: [] },
      { name: 'a Node name must be a DNS subdomain', obj: node((o) => (o.metadata.name = 'Node_1')), errors: [`metadata.name: Invalid value: "Node_1": ${SUBDOMAIN_MSG}`] },
      {
        name: 'a Node taint needs an effect, and a key+effect pair once',
        obj: node((o) => (o.spec.taints = [{ key: 'k', value: 'v', effect: 'NoSchedule' }, { key: 'k', effect: 'NoSchedule' }, { key: 'j' }])),
        errors: [
          'metadata.taints[1]: Duplicate value: core.Taint{Key:"k", Value:"", Effect:"NoSchedule", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair',
          'metadata.taints[2].effect: Required value',
        ],
      },
      {
        name: 'an EndpointSlice name must be a DNS subdomain',
        obj: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'Nginx_abc', namespace: 'default' }, addressType: 'IPv4', endpoints: [] } as KObject,
        errors: [`metadata.name: Invalid value: "Nginx_abc": ${SUBDOMAIN_MSG}`],
      },
      {
        name: 'a Lease with a valid name is accepted',
        obj: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-1', namespace: 'kube-node-lease' }, spec: {} } as KObject,
        errors: [],
      },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

interface UpdateRow {
  name: string;
  old: KObject;
  next: (o: any) => void;
  errors: string[];
}

function updateTable(rows: UpdateRow[]): void {
  for (const r of rows)
    it(r.name, () => {
      const old = defaulted(r.old);
      old.metadata.uid = 'uid-1';
      old.metadata.resourceVersion = '7';
      old.metadata.creationTimestamp = '2025-01-01T00:00:00Z';
      const next = structuredClone(old);
      r.next(next);
      applyDefaults(next);
      expect(validateUpdate(old, next).map(formatFieldError)).to.deep.equal(r.errors);
    });
}

const STS_FORBIDDEN =
  "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
const PVC_IMMUTABLE = 'spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';
const POD_IMMUTABLE =
  'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';
const bound = (o: any): void => {
  o.status = { phase: 'Bound' };
  o.spec.volumeName = 'pv-1';
};

describe('validation: update', () => {
  describe('metadata', () => {
    updateTable([
      { name: 'labels and annotations may change', old: pod(), next: (o) => ((o.metadata.labels.tier = 'web'), (o.metadata.annotations = { note: 'x' })), errors: [] },
      { name: 'the name is immutable', old: pod(), next: (o) => (o.metadata.name = 'web-1'), errors: ['metadata.name: Invalid value: "web-1": field is immutable'] },
      { name: 'the namespace is immutable', old: pod(), next: (o) => (o.metadata.namespace = 'other'), errors: ['metadata.namespace: Invalid value: "other": field is immutable'] },
      { name: 'the uid is immutable', old: pod(), next: (o) => (o.metadata.uid = 'uid-2'), errors: ['metadata.uid: Invalid value: "uid-2": field is immutable'] },
      { name: 'a missing uid is taken from the stored object', old: pod(), next: (o) => delete o.metadata.uid, errors: [] },
      {
        name: 'no finalizer may be added to an object being deleted',
        old: pvc((o) => ((o.metadata.deletionTimestamp = '2025-01-01T00:01:00Z'), (o.metadata.finalizers = ['kubernetes.io/pvc-protection']))),
        next: (o) => o.metadata.finalizers.push('example.com/hold'),
        errors: ['metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/hold"}'],
      },
      {
        name: 'finalizers may be removed from an object being deleted',
        old: pvc((o) => ((o.metadata.deletionTimestamp = '2025-01-01T00:01:00Z'), (o.metadata.finalizers = ['kubernetes.io/pvc-protection']))),
        next: (o) => (o.metadata.finalizers = []),
        errors: [],
      },
    ]);
  });

  describe('StatefulSet', () => {
    updateTable([
      { name: 'replicas may change', old: sts(), next: (o) => (o.spec.replicas = 5), errors: [] },
      { name: 'the template may change', old: sts(), next: (o) => (o.spec.template.spec.containers[0].image = 'nginx:1.25'), errors: [] },
      { name: 'the update strategy may change', old: sts(), next: (o) => (o.spec.updateStrategy = { type: 'OnDelete' }), errors: [] },
      { name: 'the PVC retention policy may change', old: sts(), next: (o) => (o.spec.persistentVolumeClaimRetentionPolicy.whenScaled = 'Delete'), errors: [] },
      { name: 'minReadySeconds and ordinals may change', old: sts(), next: (o) => ((o.spec.minReadySeconds = 10), (o.spec.ordinals = { start: 1 })), errors: [] },
      { name: 'volumeClaimTemplates cannot change', old: sts(), next: (o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi'), errors: [STS_FORBIDDEN] },
      { name: 'serviceName cannot change', old: sts(), next: (o) => (o.spec.serviceName = 'web'), errors: [STS_FORBIDDEN] },
      { name: 'the selector cannot change', old: sts(), next: (o) => ((o.spec.selector.matchLabels.tier = 'x'), (o.spec.template.metadata.labels.tier = 'x')), errors: [STS_FORBIDDEN] },
      { name: 'podManagementPolicy cannot change', old: sts(), next: (o) => (o.spec.podManagementPolicy = 'Parallel'), errors: [STS_FORBIDDEN] },
      { name: 'revisionHistoryLimit cannot change in v1.30', old: sts(), next: (o) => (o.spec.revisionHistoryLimit = 3), errors: [STS_FORBIDDEN] },
    ]);
  });

  describe('PersistentVolumeClaim', () => {
    updateTable([
      { name: 'a claim cannot shrink', old: pvc(bound), next: (o) => (o.spec.resources.requests.storage = '500Mi'), errors: ['spec.resources.requests.storage: Forbidden: field can not be less than previous value'] },
      { name: 'a bound claim may ask for more storage', old: pvc(bound), next: (o) => (o.spec.resources.requests.storage = '2Gi'), errors: [] },
      { name: 'an unbound claim cannot change its request', old: pvc(), next: (o) => (o.spec.resources.requests.storage = '2Gi'), errors: [PVC_IMMUTABLE] },
      {
        name: 'an unbound claim that shrinks gets both errors',
        old: pvc(),
        next: (o) => (o.spec.resources.requests.storage = '500Mi'),
        errors: [PVC_IMMUTABLE, 'spec.resources.requests.storage: Forbidden: field can not be less than previous value'],
      },
      { name: 'access modes cannot change', old: pvc(bound), next: (o) => (o.spec.accessModes = ['ReadWriteMany']), errors: [PVC_IMMUTABLE] },
      { name: 'volumeName may be set once, from empty', old: pvc(), next: (o) => (o.spec.volumeName = 'pv-1'), errors: [] },
      { name: 'volumeName cannot change once set', old: pvc(bound), next: (o) => (o.spec.volumeName = 'pv-2'), errors: [PVC_IMMUTABLE] },
      { name: 'a claim with no class may get one (retroactive default class)', old: pvc(), next: (o) => (o.spec.storageClassName = 'standard'), errors: [] },
      { name: 'a storageClassName cannot change', old: pvc((o) => (o.spec.storageClassName = 'fast')), next: (o) => (o.spec.storageClassName = 'slow'), errors: [PVC_IMMUTABLE] },
      { name: 'an explicit empty class cannot become a class', old: pvc((o) => (o.spec.storageClassName = '')), next: (o) => (o.spec.storageClassName = 'slow'), errors: [PVC_IMMUTABLE] },
      { name: 'volumeMode is immutable', old: pvc(), next: (o) => (o.spec.volumeMode = 'Block'), errors: [PVC_IMMUTABLE, 'volumeMode: Invalid value: "Block": field is immutable'] },
    ]);
  });

  describe('Pod', () => {
    updateTable([
      { name: 'a container image may change', old: pod(), next: (o) => (o.spec.containers[0].image = 'nginx:1.26'), errors: [] },
      { name: 'a toleration may be added', old: pod(), next: (o) => (o.spec.tolerations = [...o.spec.tolerations ?? [], { key: 'k', operator: 'Exists' }]), errors: [] },
      {
        name: 'an existing toleration cannot be modified except its tolerationSeconds',
        old: pod((o) => (o.spec.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }])),
        next: (o) => (o.spec.tolerations[0].tolerationSeconds = 60),
        errors: [],
      },
      {
        name: 'removing a toleration is forbidden',
        old: pod((o) => (o.spec.tolerations = [{ key: 'k', operator: 'Exists' }])),
        next: (o) => (o.spec.tolerations = []),
        errors: ['spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds'],
      },
      { name: 'other spec fields, such as nodeName, cannot change by update', old: pod(), next: (o) => (o.spec.nodeName = 'node-2'), errors: [POD_IMMUTABLE] },
      { name: 'containers cannot be added', old: pod(), next: (o) => o.spec.containers.push({ name: 'side', image: 'busybox' }), errors: ['spec.containers: Forbidden: pod updates may not add or remove containers'] },
      {
        name: 'activeDeadlineSeconds may only go down',
        old: pod((o) => (o.spec.activeDeadlineSeconds = 60)),
        next: (o) => (o.spec.activeDeadlineSeconds = 120),
        errors: ['spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value'],
      },
    ]);
  });

  describe('PersistentVolume, StorageClass, Service, Node', () => {
    updateTable([
      { name: 'a PV may get a claimRef and new capacity', old: pv(), next: (o) => ((o.spec.claimRef = { namespace: 'default', name: 'data' }), (o.spec.capacity.storage = '10Gi')), errors: [] },
      { name: 'a PV source cannot change', old: pv(), next: (o) => (o.spec.nfs.path = '/exports/other'), errors: ['spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation'] },
      { name: 'a PV reclaim policy may change', old: pv(), next: (o) => (o.spec.persistentVolumeReclaimPolicy = 'Delete'), errors: [] },
      { name: 'StorageClass parameters cannot change', old: sc(), next: (o) => (o.parameters.pool = 'other'), errors: ['parameters: Forbidden: updates to parameters are forbidden.'] },
      { name: 'a StorageClass provisioner cannot change', old: sc(), next: (o) => (o.provisioner = 'example.com/x'), errors: ['provisioner: Forbidden: updates to provisioner are forbidden.'] },
      { name: 'a StorageClass reclaimPolicy cannot change', old: sc(), next: (o) => (o.reclaimPolicy = 'Retain'), errors: ['reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.'] },
      { name: 'a StorageClass volumeBindingMode cannot change', old: sc(), next: (o) => (o.volumeBindingMode = 'WaitForFirstConsumer'), errors: ['volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable'] },
      { name: 'a StorageClass may change allowVolumeExpansion', old: sc(), next: (o) => (o.allowVolumeExpansion = true), errors: [] },
      {
        name: 'a Service clusterIP cannot change once set',
        old: svc((o) => (o.spec.clusterIP = '10.96.0.20')),
        next: (o) => ((o.spec.clusterIP = '10.96.0.21'), (o.spec.clusterIPs = ['10.96.0.21'])),
        errors: ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.21"}: may not change once set'],
      },
      { name: 'an update that leaves clusterIP out keeps it', old: svc((o) => (o.spec.clusterIP = '10.96.0.20')), next: (o) => (delete o.spec.clusterIP, delete o.spec.clusterIPs), errors: [] },
      { name: 'Service ports may change', old: svc((o) => (o.spec.clusterIP = '10.96.0.20')), next: (o) => (o.spec.ports[0].port = 8080), errors: [] },
      { name: 'a Node may be cordoned and tainted', old: node(), next: (o) => ((o.spec.unschedulable = true), (o.spec.taints = [{ key: 'k', effect: 'NoSchedule' }])), errors: [] },
      {
        name: 'a Node podCIDR cannot change once set',
        old: node((o) => (o.spec.podCIDRs = ['10.244.1.0/24'])),
        next: (o) => (o.spec.podCIDRs = ['10.244.2.0/24']),
        errors: ['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'],
      },
    ]);
  });
});

describe('validation: the 422 message', () => {
  const rows: { name: string; obj: KObject; errors: { path: string; message: string }[]; message: string }[] = [
    {
      name: 'one error is printed bare after the qualified kind',
      obj: sts(),
      errors: [{ path: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }],
      message: 'StatefulSet.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    },
    {
      name: 'several errors are bracketed and comma-joined',
      obj: pod((o) => (o.metadata.name = 'x')),
      errors: [
        { path: 'spec.containers[0].name', message: 'Required value' },
        { path: 'spec.containers[0].image', message: 'Required value' },
      ],
      message: 'Pod "x" is invalid: [spec.containers[0].name: Required value, spec.containers[0].image: Required value]',
    },
    {
      name: 'a repeated error is printed once',
      obj: pvc(),
      errors: [
        { path: 'spec', message: 'Forbidden: x' },
        { path: 'spec', message: 'Forbidden: x' },
      ],
      message: 'PersistentVolumeClaim "data" is invalid: spec: Forbidden: x',
    },
    {
      name: 'a storage.k8s.io kind carries its group',
      obj: sc(),
      errors: [{ path: 'provisioner', message: 'Required value' }],
      message: 'StorageClass.storage.k8s.io "fast" is invalid: provisioner: Required value',
    },
  ];
  for (const r of rows)
    it(r.name, () => {
      expect(invalidMessage(r.obj, r.errors)).to.equal(r.message);
    });

  it('validation output feeds the message unchanged', () => {
    const o = defaulted(pod((x) => ((x.metadata.name = 'x'), (x.spec.containers = [{}]))));
    expect(invalidMessage(o, validateObject(o))).to.equal('Pod "x" is invalid: [spec.containers[0].name: Required value, spec.containers[0].image: Required value]');
  });
});
