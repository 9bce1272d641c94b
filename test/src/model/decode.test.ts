import { expect } from 'chai';
import { decodeObject, strictDecodingMessage } from '../../../src/model/decode.ts';
import { SCHEMA_V1_30 } from '../../../src/model/schema-v1.30.ts';
import { buildSchema, readKubernetesTypes, renderSchemaModule, SCHEMA_FILE } from '../../../scripts/gen-schema.ts';
import { readFileSync } from 'node:fs';

const sts = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', ...meta },
  spec: { serviceName: 'nginx', selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } }, ...spec },
});
const pod = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } });

describe('the strict decoder (kube-apiserver v1.30 decoding into the typed structs)', () => {
  const typeErrors: [string, unknown, string, string][] = [
    ['a string replicas is a type error, not 1', sts({ replicas: '3' }), 'StatefulSet', 'json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32'],
    ['replicas 2.5 is not an int32', sts({ replicas: 2.5 }), 'StatefulSet', 'json: cannot unmarshal number 2.5 into Go struct field StatefulSetSpec.spec.replicas of type int32'],
    ['replicas 1e30 does not fit an int32', sts({ replicas: 1e30 }), 'StatefulSet', 'json: cannot unmarshal number 1e+30 into Go struct field StatefulSetSpec.spec.replicas of type int32'],
    ['replicas 2147483648 is past int32', sts({ replicas: 2147483648 }), 'StatefulSet', 'json: cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec.spec.replicas of type int32'],
    ['replicas .nan cannot become JSON', sts({ replicas: NaN }), 'StatefulSet', 'error converting YAML to JSON: json: unsupported value: NaN'],
    ['replicas .inf cannot become JSON', sts({ replicas: Infinity }), 'StatefulSet', 'error converting YAML to JSON: json: unsupported value: +Inf'],
    ['an image that is a number', pod({ containers: [{ name: 'c', image: 5 }] }), 'Pod', 'json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string'],
    ['an image that is a list', pod({ containers: [{ name: 'c', image: ['x'] }] }), 'Pod', 'json: cannot unmarshal array into Go struct field Container.spec.containers.image of type string'],
    ['a hostPath path that is a list', pod({ volumes: [{ name: 'v', hostPath: { path: ['x'] } }] }), 'Pod', 'json: cannot unmarshal array into Go struct field HostPathVolumeSource.spec.volumes.hostPath.path of type string'],
    ['a name that is a number', pod({}, { name: 5 }), 'Pod', 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string'],
    ['a label value that is a number', pod({}, { labels: { app: 5 } }), 'Pod', 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string'],
    ['a containerPort that is a string', pod({ containers: [{ name: 'c', image: 'x', ports: [{ containerPort: '80' }] }] }), 'Pod', 'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
    ['a provisioner that is a list', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'sc' }, provisioner: ['x'] }, 'StorageClass', 'json: cannot unmarshal array into Go struct field StorageClass.provisioner of type string'],
    ['a Service spec that is a string', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: 'clus' }, 'Service', 'json: cannot unmarshal string into Go struct field Service.spec of type v1.ServiceSpec'],
    ['Node taints that are a number', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { taints: 5 } }, 'Node', 'json: cannot unmarshal number into Go struct field NodeSpec.spec.taints of type []v1.Taint'],
    ['an invalid date is not rolled over', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', creationTimestamp: '2025-02-30T00:00:00Z' } }, 'Namespace', 'parsing time "2025-02-30T00:00:00Z": day out of range'],
  ];
  for (const [name, obj, kind, message] of typeErrors) {
    it(name, () => expect(decodeObject(obj, kind).errors.map((e) => e.message)).to.deep.equal([message]));
  }

  const accepted: [string, unknown, string][] = [
    ['a valid int64 grace period far beyond int32', pod({ terminationGracePeriodSeconds: 1_000_000_000_000_000 }), 'Pod'],
    ['nulls anywhere (encoding/json leaves the zero value)', pod({ nodeName: null, containers: [{ name: 'c', image: 'x', ports: null }] }), 'Pod'],
    ['quantities as strings or numbers', { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: { capacity: { storage: 5 }, hostPath: { path: '/x' } } }, 'PersistentVolume'],
    ['a targetPort that is a name or a number', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'web' }, { port: 81, targetPort: 8080 }] } }, 'Service'],
    ['fields of the schema that ksim does not simulate', pod({ dnsConfig: { nameservers: ['1.1.1.1'] }, securityContext: { fsGroup: 2000 } }), 'Pod'],
  ];
  for (const [name, obj, kind] of accepted) {
    it(`accepts ${name}`, () => expect(decodeObject(obj, kind)).to.deep.equal({ errors: [], unknown: [] }));
  }

  const converter: [string, unknown, string, string][] = [
    ['a string replicas (unstructured converter)', sts({ replicas: 'abc' }), 'StatefulSet', 'unrecognized type: int32'],
    ['replicas 2.5 (unstructured converter)', sts({ replicas: 2.5 }), 'StatefulSet', 'cannot convert float64 to int32'],
    ['Node taints that are a number (unstructured converter)', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { taints: 5 } }, 'Node', 'cannot restore slice from int64'],
    ['a Service spec that is a string (unstructured converter)', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: 'clus' }, 'Service', 'cannot restore struct from: string'],
    ['an image that is a number (unstructured converter)', pod({ containers: [{ name: 'c', image: 5 }] }), 'Pod', 'cannot convert int64 to string'],
  ];
  for (const [name, obj, kind, message] of converter) {
    it(name, () => expect(decodeObject(obj, kind, 'strict', { flavor: 'unstructured' }).errors.map((e) => e.message)).to.deep.equal([message]));
  }

  it('the unstructured converter narrows an int64 into an int32 as Go converts it (2147483648 becomes -2147483648)', () => {
    const obj = sts({ replicas: 2147483648 });
    expect(decodeObject(obj, 'StatefulSet', 'strict', { flavor: 'unstructured' }).errors).to.deep.equal([]);
    expect((obj.spec as { replicas?: number }).replicas).to.equal(-2147483648);
  });

  it('names unknown fields by their path, with list indices, in document order', () => {
    const obj = pod({ containers: [{ name: 'c', image: 'x', imagePullPolcy: 'Always' }], volumes: [{ name: 'v', rbd: { monitors: ['m'], image: 'i', imageformat: '2' } }] });
    const r = decodeObject(obj, 'Pod');
    expect(r.errors).to.deep.equal([]);
    expect(strictDecodingMessage(r.unknown)).to.equal('strict decoding error: unknown field "spec.containers[0].imagePullPolcy", unknown field "spec.volumes[0].rbd.imageformat"');
    expect(obj.spec.containers[0]).to.have.property('imagePullPolcy');
  });

  it('drops unknown fields under warn and ignore, as decoding into the struct drops them', () => {
    for (const mode of ['warn', 'ignore'] as const) {
      const obj = pod({ containers: [{ name: 'c', image: 'x', imagePullPolcy: 'Always' }] });
      expect(decodeObject(obj, 'Pod', mode).unknown.map((u) => u.field)).to.deep.equal(['spec.containers[0].imagePullPolcy']);
      expect(obj.spec.containers[0]).to.not.have.property('imagePullPolcy');
    }
  });

  it('a __proto__ key is a field like any other: unknown in a struct, a key in a map', () => {
    const obj = JSON.parse('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"__proto__":"x"}},"spec":{"__proto__":{"nodeName":"node-2"},"containers":[{"name":"c","image":"x"}]}}');
    const r = decodeObject(obj, 'Pod');
    expect(r.unknown.map((u) => u.field)).to.deep.equal(['spec.__proto__']);
    expect(r.errors).to.deep.equal([]);
    expect(Object.getPrototypeOf(obj.spec)).to.equal(Object.prototype);
  });

  it('the committed schema is what scripts/gen-schema.ts makes of the installed kubernetes-types', () => {
    const schema = buildSchema(readKubernetesTypes);
    expect(schema).to.deep.equal(SCHEMA_V1_30);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).to.equal(renderSchemaModule(schema));
    expect(Object.keys(schema.kinds)).to.have.members(['Namespace', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'Pod', 'Service', 'StatefulSet', 'StorageClass']);
  });
});
