/**
 * Input as kubectl and the API server take it (issue 13): every class of hostile or careless
 * input a user can write in a scenario file, each with the one-line error ksim gives for it.
 */
import { expect } from 'chai';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadScenarioFile, loadScenarioText, type LoadResult } from '../../../src/scenario/load.ts';
import { MAX_FILE_BYTES, MAX_PROBLEMS } from '../../../src/scenario/limits.ts';

function y(text: string): string {
  return text.replace(/^\n/, '');
}

function errorsOf(r: LoadResult): string[] {
  if (r.ok) expect.fail('expected the scenario to be rejected');
  return r.ok ? [] : r.errors;
}

const POD = (extra = '', meta = '') => y(`
apiVersion: v1
kind: Pod
metadata:
  name: p
${meta}spec:
  containers:
  - name: c
    image: nginx
${extra}`);

const STS = (replicas: string) => y(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: ${replicas}
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: nginx}]
`);

const SCENARIO = (spec: string) => `apiVersion: ksim/v1\nkind: Scenario\nmetadata: {name: t}\nspec:\n${spec}`;

describe('scenario input: what kubectl and the API server refuse, ksim refuses', () => {
  const refused: [string, string, (string | RegExp)[]][] = [
    // Strict decoding (kubectl --validate=strict, the default)
    ['an unknown field is kubectl\'s strict decoding error', POD('    imagePullPolcy: Always\n'), ['i.yaml:9:5: Pod "p": strict decoding error: unknown field "spec.containers[0].imagePullPolcy"']],
    ['the walkthrough\'s rbd.imageformat is an unknown field', POD('  volumes:\n  - name: v\n    rbd: {monitors: [m], image: i, imageformat: "2"}\n'), ['i.yaml:11:36: Pod "p": strict decoding error: unknown field "spec.volumes[0].rbd.imageformat"']],
    ['a wrong type in encoding/json\'s words, at the field', POD('    ports: [{containerPort: "80"}]\n'), ['i.yaml:9:14: Pod "p": spec.containers[0].ports[0].containerPort: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32']],
    ['replicas: "3" is a type error, not 1', STS('"3"'), [/^i\.yaml:6:3: StatefulSet "web": spec\.replicas: json: cannot unmarshal string into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/]],
    ['replicas: 2.5', STS('2.5'), [/cannot unmarshal number 2\.5 into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/]],
    ['replicas: .nan', STS('.nan'), [/spec\.replicas: error converting YAML to JSON: json: unsupported value: NaN$/]],
    ['replicas: .inf', STS('.inf'), [/spec\.replicas: error converting YAML to JSON: json: unsupported value: \+Inf$/]],
    ['replicas: 1e30', STS('1e30'), [/cannot unmarshal number 1e\+30 into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/]],
    ['replicas: 2147483648 is past int32', STS('2147483648'), [/cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/]],
    ['replicas: 1000000000 is a valid int32 past ksim\'s object limit', STS('1000000000'), ['i.yaml:6:3: StatefulSet "web": spec.replicas: Invalid value: 1000000000: must be no more than 250000 (the most pods ksim simulates in one run, docs/input.md)']],
    ['image: 5', POD().replace('image: nginx', 'image: 5'), [/spec\.containers\[0\]\.image: json: cannot unmarshal number into Go struct field Container\.spec\.containers\.image of type string$/]],
    ['a Service spec that is a string', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: clus\n', [/Service "s": spec: json: cannot unmarshal string into Go struct field Service\.spec of type v1\.ServiceSpec$/]],
    ['a fragment gets both of kubectl\'s messages', 'volumes:\n- name: x\n', ['i.yaml:1:1: Object "": error validating data: [apiVersion not set, kind not set]']],
    // Prototypes
    ['a YAML __proto__ key in a spec is an unknown field, not a prototype', POD('  __proto__: {nodeName: node-2}\n'), ['i.yaml:9:3: Pod "p": strict decoding error: unknown field "spec.__proto__"']],
    ['a __proto__ label is an invalid label key, not dropped', POD('', '  labels: {__proto__: x}\n'), [/^i\.yaml:5:3: Pod "p": metadata\.labels: Invalid value: "__proto__": name part must consist of alphanumeric characters/]],
    ['timings: {constructor: 5s} is an unknown timing', SCENARIO('  timings: {constructor: 5s}\n'), [/^i\.yaml:5:13: Scenario "t": spec\.timings\.constructor: unknown field "constructor"/]],
    ['delete: constructor/x is an unknown resource type', SCENARIO('  actions: [{at: 1s, delete: constructor/x}]\n'), ['i.yaml:5:22: Scenario "t": spec.actions[0].delete: the server doesn\'t have a resource type "constructor"']],
    ['delete: __proto__/x is an unknown resource type', SCENARIO('  actions: [{at: 1s, delete: __proto__/x}]\n'), ['i.yaml:5:22: Scenario "t": spec.actions[0].delete: the server doesn\'t have a resource type "__proto__"']],
    ['a patch target constructor/web', SCENARIO('  actions: [{at: 1s, patch: {target: constructor/web, patch: {}}}]\n'), [/spec\.actions\[0\]\.patch\.target: the server doesn't have a resource type "constructor"$/]],
    // Limits
    ['duration: 1000h is past the longest run', SCENARIO('  duration: 1000h\n'), [/spec\.duration: Invalid value: "1000h": must be at most 720h0m0s \(30 days, the longest run ksim simulates\)$/]],
    ['duration: 99999999h overflows Go\'s time.Duration', SCENARIO('  duration: 99999999h\n'), ['i.yaml:5:3: Scenario "t": spec.duration: invalid duration "99999999h": overflows Go\'s time.Duration (at most 2562047h47m16.854775807s)']],
    ['a duration past Go\'s time.Duration', SCENARIO('  actions: [{at: 99999999999999999999h, delete: pod/x}]\n'), [/spec\.actions\[0\]\.at: invalid duration "99999999999999999999h": overflows Go's time\.Duration/]],
    ['at: 1e400 (a number YAML reads as infinity)', SCENARIO('  actions: [{at: 1e400, delete: pod/x}]\n'), [/spec\.actions\[0\]\.at: Invalid value: "Infinity": must be a duration/]],
    ['timings: {nodeLeaseRenewInterval: 1ns} would loop at t=0', SCENARIO('  timings: {nodeLeaseRenewInterval: 1ns}\n'), [/spec\.timings\.nodeLeaseRenewInterval: Invalid value: "1ns": must be at least 10ms/]],
    ['timings: {nodeLeaseRenewInterval: 0}', SCENARIO('  timings: {nodeLeaseRenewInterval: 0}\n'), [/spec\.timings\.nodeLeaseRenewInterval: Invalid value: 0: must be at least 10ms/]],
    ['kubeletStartDelayMin above its max', SCENARIO('  timings: {kubeletStartDelayMin: 10s}\n'), [/spec\.timings\.kubeletStartDelayMin: Invalid value: "10s": kubeletStartDelayMin \(10s\) must not be greater than kubeletStartDelayMax \(5s\)$/]],
    ['a seed past 2^53 would replay another seed', SCENARIO('  seed: 9007199254740993\n'), [/spec\.seed: Invalid value: 9007199254740992: must be at most 9007199254740991/]],
    ['scale to 2147483648 is the decoder\'s type error', POD() + '---\n' + SCENARIO('  actions: [{at: 1s, scale: {statefulset: web, replicas: 2147483648}}]\n'), [/spec\.actions\[0\]\.scale\.replicas: json: cannot unmarshal number 2147483648 into Go struct field StatefulSetSpec\.spec\.replicas of type int32$/]],
    ['an applied StatefulSet of 2147483648 replicas', SCENARIO('  actions:\n  - at: 1s\n    apply: {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: w}, spec: {replicas: 2147483648, serviceName: s, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}}\n'), [/StatefulSet "w": spec\.replicas: json: cannot unmarshal number 2147483648/]],
    ['startTime: 2025-02-30 is not March 2nd', SCENARIO('  startTime: "2025-02-30T00:00:00Z"\n'), [/spec\.startTime: Invalid value: "2025-02-30T00:00:00Z": parsing time "2025-02-30T00:00:00Z": day out of range$/]],
    // API server checks
    ['a podCIDR that is not a CIDR', 'apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nspec: {podCIDR: garbage}\n', [/Node "node-1": spec\.podCIDRs\[0\]: Invalid value: \[\]string\{"garbage"\}: must be valid CIDR$/]],
    ['an ownerReference without uid', POD('', '  ownerReferences: [{apiVersion: v1, kind: Pod, name: x}]\n'), [/Pod "p": metadata\.ownerReferences\.uid: Invalid value: "": uid must not be empty$/]],
    ['a resourceVersion on create', POD('', '  resourceVersion: "5"\n'), [/Pod "p": metadata\.resourceVersion: resourceVersion should not be set on objects to be created$/]],
    ['an empty volumeBindingMode', 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: sc}\nprovisioner: x.example.com\nvolumeBindingMode: ""\n', [/StorageClass "sc": volumeBindingMode: Unsupported value: "": supported values: "Immediate", "WaitForFirstConsumer"$/]],
    ['two Services with one clusterIP', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.5.5, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {clusterIP: 10.96.5.5, ports: [{port: 80}]}\n', [/Service "b": spec\.clusterIPs: Invalid value: \[\]string\{"10\.96\.5\.5"\}: failed to allocate IP 10\.96\.5\.5: provided IP is already allocated$/]],
    ['kube-dns\'s clusterIP is taken', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}\n', [/provided IP is already allocated$/]],
    ['a clusterIP outside 10.96.0.0/12', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 1.2.3.4, ports: [{port: 80}]}\n', [/failed to allocate IP 1\.2\.3\.4: the provided IP \(1\.2\.3\.4\) is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12$/]],
    // YAML
    ['a NUL byte in the file', POD().replace('nginx', 'ngi\0nx'), ['i.yaml:8:15: yaml: control characters are not allowed (U+0000)']],
    ['an ANSI escape in a scenario name is shown escaped', SCENARIO('  duration: 1m\n').replace('name: t', 'name: "\\e[31mred"'), [/^i\.yaml:3:12: Scenario "\\x1b\[31mred": metadata\.name: Invalid value: "\\x1b\[31mred": a lowercase RFC 1123 subdomain/]],
    ['a newline in a name stays on one line', POD().replace('name: p', 'name: "a\\nb"'), [/^i\.yaml:4:3: Pod "a\\nb": metadata\.name: Invalid value: "a\\nb": /]],
    ['a key given twice', POD().replace('  name: p\n', '  name: p\n  name: q\n'), ['i.yaml:5:3: yaml: key "name" already set in map']],
    ['a key that is a mapping', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n? {a: 1}\n: x\n', ['i.yaml:4:3: error converting YAML to JSON: yaml: invalid map key: {a: 1} (a key must be a string)']],
    ['nesting deeper than ksim reads', `a: ${'['.repeat(100)}${']'.repeat(100)}\n`, [/^i\.yaml:1:\d+: yaml: mappings and lists are nested more than 64 deep, the most ksim reads \(docs\/input\.md\)$/]],
  ];
  for (const [name, text, want] of refused) {
    it(name, () => {
      const errors = errorsOf(loadScenarioText(text, 'i.yaml'));
      expect(errors.length, errors.join('\n')).to.equal(want.length);
      want.forEach((w, i) => (typeof w === 'string' ? expect(errors[i]).to.equal(w) : expect(errors[i]).to.match(w)));
      for (const e of errors) expect(e).to.not.include('\n');
    });
  }

  const accepted: [string, string][] = [
    ['replicas: 100000 (the scale work asks for that many pods)', STS('100000')],
    ['gracePeriodSeconds: 1000000000000000 is a valid int64', POD() + '---\n' + SCENARIO('  actions: [{at: 1s, delete: pod/p, gracePeriodSeconds: 1000000000000000}]\n')],
    ['an empty reclaimPolicy (kept: validateReclaimPolicy accepts it)', 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: sc}\nprovisioner: x.example.com\nreclaimPolicy: ""\n'],
    ['a tab and a byte-order mark', `\uFEFF${POD()}`.replace('name: p', 'name: p\t')],
  ];
  for (const [name, text] of accepted) {
    it(`accepts ${name}`, () => {
      const r = loadScenarioText(text, 'i.yaml');
      expect(r.ok, r.ok ? '' : r.errors.join('\n')).to.equal(true);
    });
  }

  it('--validate=warn reports unknown fields as warnings and drops them; ignore says nothing', () => {
    const text = POD('    imagePullPolcy: Always\n');
    const warn = loadScenarioText(text, 'i.yaml', { validate: 'warn' });
    if (!warn.ok) expect.fail(warn.errors.join('\n'));
    expect(warn.warnings.map((w) => `${w.pos.line}:${w.pos.col}: ${w.message}`)).to.deep.equal(['9:5: Pod "p": unknown field "spec.containers[0].imagePullPolcy"']);
    expect(warn.scenario.manifests[0]!.obj.spec.containers[0]).to.not.have.property('imagePullPolcy');
    const ignore = loadScenarioText(text, 'i.yaml', { validate: 'ignore' });
    expect(ignore.ok).to.equal(true);
    expect(ignore.warnings).to.deep.equal([]);
    // A wrong type is not a matter of field validation: it never decodes.
    expect(loadScenarioText(STS('"3"'), 'i.yaml', { validate: 'ignore' }).ok).to.equal(false);
  });

  it('caps the problems of a file and says how many more there are', () => {
    const errors = errorsOf(loadScenarioText(`a: ${'['.repeat(300)}\n`, 'i.yaml'));
    expect(errors).to.have.length(MAX_PROBLEMS + 1);
    expect(errors[MAX_PROBLEMS]).to.match(/^i\.yaml: \.\.\. and \d+ more problems \(the first 50 are shown\)$/);
  });

  it('a mapping of 40,000 keys is checked for duplicates in linear time (the parser\'s own check took 8.7 s)', function () {
    this.timeout(60_000);
    const keys = Array.from({ length: 40_000 }, (_, i) => `    k${i}: v`).join('\n');
    const r = loadScenarioText(POD('', `  annotations:\n${keys}\n    k7: again\n`), 'i.yaml');
    expect(errorsOf(r)).to.deep.equal(['i.yaml:40006:5: yaml: key "k7" already set in map']);
  });

  describe('files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-input-'));
    const cases: [string, () => string, RegExp][] = [
      ['a device that never ends (/dev/zero)', () => '/dev/zero', /^\/dev\/zero: not a regular file \(a device, FIFO or socket\)/],
      ['a directory', () => dir, /: is a directory$/],
      ['a FIFO, which would block its reader', () => {
        const p = join(dir, 'fifo');
        execFileSync('mkfifo', [p]);
        return p;
      }, /fifo: not a regular file/],
      ['a file larger than 4 MiB', () => {
        const p = join(dir, 'big.yaml');
        writeFileSync(p, `# ${'x'.repeat(MAX_FILE_BYTES)}\n`);
        return p;
      }, /big\.yaml: file is \d+ bytes: ksim reads scenario files of at most 4194304 bytes \(4 MiB\)$/],
      ['a file that is not UTF-8', () => {
        const p = join(dir, 'latin1.yaml');
        writeFileSync(p, Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
        return p;
      }, /latin1\.yaml: yaml: invalid UTF-8/],
      ['a path with a NUL byte', () => join(dir, 'a\0b'), /: no such file \(a path cannot contain a NUL byte\)$/],
      ['a missing directory', () => {
        mkdirSync(join(dir, 'd'), { recursive: true });
        return join(dir, 'd', 'nope', 'x.yaml');
      }, /x\.yaml: no such file$/],
    ];
    for (const [name, path, want] of cases) {
      it(`${name} is an error, never read`, () => {
        const errors = errorsOf(loadScenarioFile(path()));
        expect(errors).to.have.length(1);
        expect(errors[0]).to.match(want);
      });
    }
  });
});
