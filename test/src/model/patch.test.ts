import { expect } from 'chai';
import { applyPatch } from '../../../src/model/patch.ts';
import type { PatchType } from '../../../src/model/patch.ts';
import type { KObject } from '../../../src/protocol.ts';

/** Freezes the input so that any mutation by applyPatch throws (ESM code is strict). */
function frozen<T>(x: T): T {
  if (typeof x === 'object' && x !== null) {
    for (const v of Object.values(x)) frozen(v);
    Object.freeze(x);
  }
  return x;
}

function mysql(): KObject {
  return frozen({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'mysql', namespace: 'default', finalizers: ['a', 'b'] },
    spec: {
      replicas: 3,
      serviceName: 'mysql',
      selector: { matchLabels: { app: 'mysql' } },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: { app: 'mysql' } },
        spec: {
          containers: [
            {
              name: 'mysql',
              image: 'mysql:5.7',
              args: ['--a', '--b'],
              env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
              ports: [{ containerPort: 3306, name: 'mysql' }],
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }, { name: 'conf', mountPath: '/etc/mysql/conf.d' }],
            },
            { name: 'xtrabackup', image: 'gcr.io/google-samples/xtrabackup:1.0' },
          ],
          tolerations: [{ key: 'k1', operator: 'Exists' }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } }],
    },
  } as KObject);
}

function node(): KObject {
  return frozen({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'False' }] },
  } as KObject);
}

function service(): KObject {
  return frozen({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'nginx', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ port: 80, name: 'web' }, { port: 443, name: 'tls' }], selector: { app: 'nginx' } },
  } as KObject);
}

const containers = (o: KObject): { name: string; image?: string; args?: string[]; env?: unknown[]; volumeMounts?: unknown[]; ports?: unknown[] }[] => o.spec.template.spec.containers;

interface Row {
  name: string;
  obj: () => KObject;
  type: PatchType;
  patch: unknown;
  check: (out: KObject) => void;
}

describe('applyPatch', () => {
  describe('successful patches', () => {
    const rows: Row[] = [
      {
        name: "the walkthrough's json patch replaces the first container's image",
        obj: mysql,
        type: 'json',
        patch: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'mysql:5.7.23' }],
        check: (o) => {
          expect(containers(o).map((c) => c.image)).to.deep.equal(['mysql:5.7.23', 'gcr.io/google-samples/xtrabackup:1.0']);
        },
      },
      {
        name: 'the walkthrough\'s -p text (a JSON string) is accepted like the parsed patch',
        obj: mysql,
        type: 'json',
        patch: '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value":"mysql:5.7.23"}]',
        check: (o) => expect(containers(o)[0]!.image).to.equal('mysql:5.7.23'),
      },
      {
        name: "the walkthrough's strategic patch sets a RollingUpdate partition of 2 and keeps the rest of spec",
        obj: mysql,
        type: 'strategic',
        patch: { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } } },
        check: (o) => {
          expect(o.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } });
          expect(o.spec.replicas).to.equal(3);
          expect(containers(o)).to.have.length(2);
        },
      },
      {
        name: "a strategic patch of one container's image keeps the other containers and fields",
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'xtrabackup', image: 'xtrabackup:2.0' }] } } } },
        check: (o) => {
          expect(containers(o).map((c) => `${c.name}=${c.image}`)).to.deep.equal(['mysql=mysql:5.7', 'xtrabackup=xtrabackup:2.0']);
          expect(containers(o)[0]!.env).to.have.length(2);
        },
      },
      {
        name: 'a strategic patch adding a container puts it before the existing ones (mergeSortedSlice order)',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox' }] } } } },
        check: (o) => expect(containers(o).map((c) => c.name)).to.deep.equal(['sidecar', 'mysql', 'xtrabackup']),
      },
      {
        name: 'a strategic patch naming an existing and a new container keeps the existing order and appends the new one',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'xtrabackup', image: 'x:2' }, { name: 'sidecar', image: 'busybox' }] } } } },
        check: (o) => expect(containers(o).map((c) => c.name)).to.deep.equal(['mysql', 'xtrabackup', 'sidecar']),
      },
      {
        name: 'a strategic $patch: delete item removes the container with that name',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'xtrabackup', $patch: 'delete' }] } } } },
        check: (o) => expect(containers(o).map((c) => c.name)).to.deep.equal(['mysql']),
      },
      {
        name: 'a strategic $patch: replace item replaces the whole containers list',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'busybox' }] } } } },
        check: (o) => expect(containers(o)).to.deep.equal([{ name: 'only', image: 'busybox' }]),
      },
      {
        name: 'a strategic $patch: replace map replaces the map instead of merging it',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { selector: { $patch: 'replace', matchLabels: { tier: 'db' } } } },
        check: (o) => expect(o.spec.selector).to.deep.equal({ matchLabels: { tier: 'db' } }),
      },
      {
        name: 'a strategic null deletes the key',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { serviceName: null, updateStrategy: { type: null } } },
        check: (o) => {
          expect(o.spec).to.not.have.property('serviceName');
          expect(o.spec.updateStrategy).to.deep.equal({});
        },
      },
      {
        name: 'a strategic null for a key the object lacks is ignored',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { minReadySeconds: null, template: { spec: { nodeSelector: { disk: 'ssd', gone: null } } } } },
        check: (o) => {
          expect(o.spec).to.not.have.property('minReadySeconds');
          expect(o.spec.template.spec.nodeSelector).to.deep.equal({ disk: 'ssd' });
        },
      },
      {
        name: 'env merges item by item by name',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'mysql', env: [{ name: 'B', value: '20' }] }] } } } },
        check: (o) => expect(containers(o)[0]!.env).to.deep.equal([{ name: 'A', value: '1' }, { name: 'B', value: '20' }]),
      },
      {
        name: 'volumeMounts merge by mountPath',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'mysql', volumeMounts: [{ mountPath: '/etc/mysql/conf.d', readOnly: true }] }] } } } },
        check: (o) =>
          expect(containers(o)[0]!.volumeMounts).to.deep.equal([
            { name: 'data', mountPath: '/var/lib/mysql' },
            { name: 'conf', mountPath: '/etc/mysql/conf.d', readOnly: true },
          ]),
      },
      {
        name: 'container ports merge by containerPort',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'mysql', ports: [{ containerPort: 3306, protocol: 'TCP' }] }] } } } },
        check: (o) => expect(containers(o)[0]!.ports).to.deep.equal([{ containerPort: 3306, name: 'mysql', protocol: 'TCP' }]),
      },
      {
        name: 'args have no merge key and are replaced',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ name: 'mysql', args: ['--c'] }] } } } },
        check: (o) => expect(containers(o)[0]!.args).to.deep.equal(['--c']),
      },
      {
        name: 'tolerations have no merge key and are replaced',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { tolerations: [{ key: 'k2', operator: 'Exists' }] } } } },
        check: (o) => expect(o.spec.template.spec.tolerations).to.deep.equal([{ key: 'k2', operator: 'Exists' }]),
      },
      {
        name: 'volumeClaimTemplates are replaced, not merged',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'] } }] } },
        check: (o) => expect(o.spec.volumeClaimTemplates.map((t: { metadata: { name: string } }) => t.metadata.name)).to.deep.equal(['www']),
      },
      {
        name: 'metadata.finalizers merge as a set',
        obj: mysql,
        type: 'strategic',
        patch: { metadata: { finalizers: ['b', 'c'] } },
        check: (o) => expect(o.metadata.finalizers).to.deep.equal(['a', 'b', 'c']),
      },
      {
        name: '$deleteFromPrimitiveList removes a finalizer',
        obj: mysql,
        type: 'strategic',
        patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
        check: (o) => expect(o.metadata.finalizers).to.deep.equal(['b']),
      },
      {
        name: '$setElementOrder orders the merged containers',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'xtrabackup' }, { name: 'mysql' }] } } } },
        check: (o) => expect(containers(o).map((c) => c.name)).to.deep.equal(['xtrabackup', 'mysql']),
      },
      {
        name: '$retainKeys drops the keys it does not list',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { updateStrategy: { $retainKeys: ['type'], type: 'OnDelete' } } },
        check: (o) => expect(o.spec.updateStrategy).to.deep.equal({ type: 'OnDelete' }),
      },
      {
        name: 'a node taint is added by sending the new list: NodeSpec.taints has no merge key',
        obj: node,
        type: 'strategic',
        patch: {
          spec: {
            taints: [
              { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
              { key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' },
            ],
          },
        },
        check: (o) => expect(o.spec.taints.map((t: { key: string }) => t.key)).to.deep.equal(['dedicated', 'node.kubernetes.io/out-of-service']),
      },
      {
        name: 'a node taint is deleted by sending the list without it: the whole list is replaced',
        obj: node,
        type: 'strategic',
        patch: { spec: { taints: [{ key: 'other', effect: 'NoExecute' }] } },
        check: (o) => expect(o.spec.taints).to.deep.equal([{ key: 'other', effect: 'NoExecute' }]),
      },
      {
        name: 'node conditions merge by type',
        obj: node,
        type: 'strategic',
        patch: { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } },
        check: (o) =>
          expect(o.status.conditions).to.deep.equal([
            { type: 'Ready', status: 'Unknown' },
            { type: 'MemoryPressure', status: 'False' },
          ]),
      },
      {
        name: 'service ports merge by port',
        obj: service,
        type: 'strategic',
        patch: { spec: { ports: [{ port: 443, targetPort: 8443 }] } },
        check: (o) => expect(o.spec.ports).to.deep.equal([{ port: 80, name: 'web' }, { port: 443, name: 'tls', targetPort: 8443 }]),
      },
      {
        name: 'a merge patch replaces the whole containers list',
        obj: mysql,
        type: 'merge',
        patch: { spec: { template: { spec: { containers: [{ name: 'mysql', image: 'mysql:8.0' }] } } } },
        check: (o) => {
          expect(containers(o)).to.deep.equal([{ name: 'mysql', image: 'mysql:8.0' }]);
          expect(o.spec.template.spec.tolerations).to.have.length(1);
        },
      },
      {
        name: 'a merge patch null deletes a key and merges maps recursively',
        obj: mysql,
        type: 'merge',
        patch: { metadata: { labels: { tier: 'db' } }, spec: { serviceName: null, updateStrategy: { rollingUpdate: { partition: 1, maxUnavailable: null } } } },
        check: (o) => {
          expect(o.metadata.labels).to.deep.equal({ tier: 'db' });
          expect(o.spec).to.not.have.property('serviceName');
          expect(o.spec.updateStrategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { partition: 1 } });
        },
      },
      {
        name: "a json patch add with '-' appends to a list",
        obj: mysql,
        type: 'json',
        patch: [{ op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--c' }],
        check: (o) => expect(containers(o)[0]!.args).to.deep.equal(['--a', '--b', '--c']),
      },
      {
        name: 'a json patch add at a negative index counts from the end of the grown list, as json-patch allows',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'add', path: '/spec/template/spec/containers/0/args/-2', value: '--z' }],
        check: (o) => expect(containers(o)[0]!.args).to.deep.equal(['--a', '--z', '--b']),
      },
      {
        name: 'a json patch that passes its test op applies the following ops',
        obj: mysql,
        type: 'json',
        patch: [
          { op: 'test', path: '/spec/replicas', value: 3 },
          { op: 'replace', path: '/spec/replicas', value: 5 },
          { op: 'remove', path: '/spec/serviceName' },
          { op: 'copy', from: '/spec/template/metadata/labels', path: '/metadata/labels' },
          { op: 'move', from: '/spec/template/spec/containers/1', path: '/spec/template/spec/containers/0' },
        ],
        check: (o) => {
          expect(o.spec.replicas).to.equal(5);
          expect(o.spec).to.not.have.property('serviceName');
          expect(o.metadata.labels).to.deep.equal({ app: 'mysql' });
          expect(containers(o).map((c) => c.name)).to.deep.equal(['xtrabackup', 'mysql']);
        },
      },
      {
        name: 'a json patch replace of a missing key sets it, as json-patch v4 does',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'replace', path: '/spec/minReadySeconds', value: 10 }],
        check: (o) => expect(o.spec.minReadySeconds).to.equal(10),
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const input = r.obj();
        const res = applyPatch(input, r.type, r.patch);
        if (!res.ok) expect.fail(`patch failed: ${res.message} ${res.detail ?? ''}`);
        r.check(res.obj);
        expect(res.obj).to.not.equal(input);
      });
    }
  });

  describe('rejected patches', () => {
    const rows: { name: string; obj: () => KObject; type: PatchType; patch: unknown; code: number; message: string; detail?: string }[] = [
      {
        name: 'a json patch adding under a missing path is 422 with json-patch\'s reason in detail',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'add', path: '/spec/x/y', value: 1 }],
        code: 422,
        message: 'the server rejected our request due to an error in our request',
        detail: 'add operation does not apply: doc is missing path: "/spec/x/y": missing value',
      },
      {
        name: 'a json patch removing a missing key is 422',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'remove', path: '/spec/x' }],
        code: 422,
        message: 'the server rejected our request due to an error in our request',
        detail: "error in remove for path: '/spec/x': Unable to remove nonexistent key: x: missing value",
      },
      {
        name: 'a json patch replacing past the end of a list is 422',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'replace', path: '/spec/template/spec/containers/5/image', value: 'x' }],
        code: 422,
        message: 'the server rejected our request due to an error in our request',
        detail: 'replace operation does not apply: doc is missing path: /spec/template/spec/containers/5/image: missing value',
      },
      {
        name: 'a failed json patch test op is 422 and nothing is applied',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'test', path: '/spec/replicas', value: 2 }, { op: 'replace', path: '/spec/replicas', value: 5 }],
        code: 422,
        message: 'the server rejected our request due to an error in our request',
        detail: 'testing value /spec/replicas failed: test failed',
      },
      {
        name: 'a json patch with an unknown op is 422',
        obj: mysql,
        type: 'json',
        patch: [{ op: 'frob', path: '/spec' }],
        code: 422,
        message: 'the server rejected our request due to an error in our request',
        detail: 'Unexpected kind: frob',
      },
      {
        name: 'a json patch that is an object, not a list, is 400',
        obj: mysql,
        type: 'json',
        patch: { op: 'add', path: '/spec/x', value: 1 },
        code: 400,
        message: 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
      },
      {
        name: 'a merge patch that is a string is 400 Invalid JSON Patch',
        obj: mysql,
        type: 'merge',
        patch: 7,
        code: 400,
        message: 'Invalid JSON Patch',
      },
      {
        name: 'a strategic patch that is a list is 400',
        obj: mysql,
        type: 'strategic',
        patch: [1],
        code: 400,
        message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
      },
      {
        name: 'a strategic list item without its merge key is an error naming the key',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
        code: 500,
        message: 'map: map[image:x] does not contain declared merge key: name',
      },
      {
        name: 'a strategic patch with an unknown $patch directive is an error',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { updateStrategy: { $patch: 'frob' } } },
        code: 500,
        message: 'unknown patch type: frob in map: map[$patch:frob]',
      },
      {
        name: 'a strategic patch with a key outside $retainKeys is 400',
        obj: mysql,
        type: 'strategic',
        patch: { spec: { updateStrategy: { $retainKeys: ['type'], rollingUpdate: { partition: 1 } } } },
        code: 400,
        message: 'invalid patch format of retainKeys',
      },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const res = applyPatch(r.obj(), r.type, r.patch);
        if (res.ok) expect.fail('patch unexpectedly succeeded');
        expect({ code: res.code, message: res.message }).to.deep.equal({ code: r.code, message: r.message });
        if (r.detail !== undefined) expect(res.detail).to.equal(r.detail);
      });
    }
  });

  it('never mutates the object it patches, whatever the type', () => {
    const input = mysql();
    const before = JSON.stringify(input);
    for (const [type, patch] of [
      ['json', [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'y' }]],
      ['merge', { spec: { replicas: 1 } }],
      ['strategic', { spec: { template: { spec: { containers: [{ name: 'mysql', image: 'z' }] } } } }],
    ] as [PatchType, unknown][]) {
      const res = applyPatch(input, type, patch);
      expect(res.ok, type).to.equal(true);
    }
    expect(JSON.stringify(input)).to.equal(before);
  });
});
