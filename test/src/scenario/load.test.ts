import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { INVARIANTS, loadScenarioFile, loadScenarioText, type LoadResult } from '../../../src/scenario/load.ts';
import type { Scenario } from '../../../src/scenario/types.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/scenarios/web.yaml', import.meta.url));

/** YAML written flush-left in a template literal; the first newline is dropped so line 1 is the first line. */
function y(text: string): string {
  return text.replace(/^\n/, '');
}

function errorsOf(r: LoadResult): string[] {
  expect(r.ok, 'expected the scenario to be rejected').to.equal(false);
  return r.ok ? [] : r.errors;
}

function scenarioOf(r: LoadResult): Scenario {
  if (!r.ok) expect.fail(`expected the scenario to load, got:\n${r.errors.join('\n')}`);
  return r.scenario;
}

const SERVICE = y(`
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  ports:
  - port: 80
    name: web
  selector:
    app: nginx
`);

/** A Scenario document with the given lines under `spec:` (two-space indented). */
function scenarioDoc(specLines: string): string {
  return `apiVersion: ksim/v1\nkind: Scenario\nmetadata:\n  name: t\nspec:\n${specLines}`;
}

describe('scenario loading', () => {
  it('a valid multi-document file loads with its manifests, actions, faults and chaos', () => {
    const s = scenarioOf(loadScenarioFile(FIXTURE));
    expect(s.name).to.equal('web-node-crash');
    expect(s.seed).to.equal(42);
    expect(s.durationMs).to.equal(900_000);
    expect(s.nodes).to.deep.equal(['node-1', 'node-2', 'node-3']);
    expect([s.latencyMsMin, s.latencyMsMax]).to.deep.equal([1, 20]);
    expect(s.manifests.map((m) => `${m.obj.kind}/${m.obj.metadata.name}@${m.pos.line}`)).to.deep.equal(['Service/nginx@3', 'StatefulSet/web@17']);
    expect(s.manifests[1]!.obj.spec.podManagementPolicy, 'the manifest is kept as written, not defaulted').to.equal(undefined);
    expect(s.actions.map((a) => `${a.atMs / 1000}s ${a.kind}`)).to.deep.equal([
      '120s write', '180s delete', '300s read', '300s nslookup', '360s scale', '420s patch', '540s readNode',
    ]);
    expect(s.actions[1]).to.include({ kind: 'delete', force: false, namespace: 'default' });
    expect((s.actions[1] as { target: unknown }).target).to.deep.equal({ kind: 'Pod', name: 'web-0' });
    expect(s.actions[2]).to.include({ kind: 'read', pod: 'web-0', expect: 'hello web-0' });
    expect(s.actions[3]).to.include({ kind: 'nslookup', name: 'web-0.nginx', from: 'curl', qtype: 'A' });
    expect(s.actions[5]).to.include({ kind: 'patch', patchType: 'json' });
    expect(s.actions[0]!.pos).to.deep.equal({ file: FIXTURE, line: 65, col: 7 });
    expect(s.faults.map((f) => f.kind)).to.deep.equal(['messageLoss', 'crash', 'partition', 'wipeDisk']);
    expect(s.faults[1]).to.include({ kind: 'crash', host: 'node/node-1', atMs: 240_000, forMs: 120_000 });
    expect((s.faults[2] as { groups: unknown }).groups).to.deep.equal([['node/node-1'], ['apiserver']]);
    expect(s.chaos).to.deep.equal({ faults: 4, kinds: ['crash', 'partition', 'messageLoss', 'messageDelay', 'messageDuplicate', 'dnsFailure'] });
    expect(s.invariants).to.deep.equal([...INVARIANTS]);
    expect(s.backends).to.deep.equal([{ name: 'ceph', type: 'rbd', monitors: 3 }]);
  });

  it('default values apply when the Scenario document is absent', () => {
    const s = scenarioOf(loadScenarioText(SERVICE, 'examples/plain-service.yaml'));
    expect(s).to.deep.include({
      name: 'plain-service', seed: 1, durationMs: 600_000, startTime: '2025-01-01T00:00:00Z',
      startMs: Date.UTC(2025, 0, 1), nodes: ['node-1', 'node-2', 'node-3'], latencyMsMin: 1, latencyMsMax: 10,
      actions: [], faults: [], backends: [], timings: {},
    });
    expect(s.invariants).to.have.length(12);
    expect(s.chaos).to.equal(undefined);
  });

  it('actions at the same time keep file order, after sorting by time', () => {
    const s = scenarioOf(loadScenarioText(SERVICE + '---\n' + scenarioDoc(y(`
  actions:
  - {at: 2m, cordon: node/node-2}
  - {at: 1m, readNode: {node: node-1, path: /c}}
  - {at: 2m, uncordon: node-2}
  - {at: 1m, mkdirNode: {node: node-1, path: /a}}
  - {at: 1m, writeNode: {node: node-1, path: /b, data: x}}
`)), 's.yaml'));
    expect(s.actions.map((a) => `${a.kind}#${a.index}`)).to.deep.equal(['readNode#1', 'mkdirNode#3', 'writeNode#4', 'cordon#0', 'uncordon#2']);
  });

  it('Node manifests name the nodes instead of node-1..N', () => {
    const s = scenarioOf(loadScenarioText(y(`
apiVersion: v1
kind: Node
metadata: {name: worker-a}
---
apiVersion: v1
kind: Node
metadata: {name: worker-b}
`), 'n.yaml'));
    expect(s.nodes).to.deep.equal(['worker-a', 'worker-b']);
  });

  it('backends are implied by nfs, rbd and csi sources and by provisioners', () => {
    const s = scenarioOf(loadScenarioText(y(`
apiVersion: v1
kind: PersistentVolume
metadata: {name: nfs-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  nfs: {server: nfs-server, path: /exports}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: rbd-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  rbd: {monitors: ['10.16.154.78:6789'], image: foo}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
---
apiVersion: ksim/v1
kind: Scenario
spec:
  faults:
  - {at: 1m, outage: backend/nfs-server, for: 30s}
  - {at: 1m, outage: backend/ceph}
  - {at: 1m, outage: ebs.csi.aws.com}
`), 'b.yaml'));
    expect(s.backends).to.deep.equal([
      { name: 'nfs-server', type: 'nfs' }, { name: 'ceph', type: 'rbd' }, { name: 'ebs.csi.aws.com', type: 'csi' },
    ]);
    expect(s.faults.map((f) => (f as { backend: string }).backend)).to.deep.equal(['backend/nfs-server', 'backend/ceph', 'backend/ebs.csi.aws.com']);
  });

  it('timings are overrides in ms under their camelCase names', () => {
    const s = scenarioOf(loadScenarioText(scenarioDoc(y(`
  timings: {nodeMonitorGracePeriod: 50s, terminationGracePeriodSeconds: 5, reconcilerLoopPeriod: 100ms}
`)), 't.yaml'));
    expect(s.timings).to.deep.equal({ nodeMonitorGracePeriod: 50_000, terminationGracePeriodSeconds: 5_000, reconcilerLoopPeriod: 100 });
  });

  it('a Deployment is skipped with a warning naming file:line', () => {
    const text = SERVICE + y(`
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec: {}
`);
    const r = loadScenarioText(text, 'd.yaml');
    const s = scenarioOf(r);
    expect(s.manifests.map((m) => m.obj.kind)).to.deep.equal(['Service']);
    expect(r.warnings.map((w) => `${w.pos.file}:${w.pos.line}: ${w.message}`)).to.deep.equal(['d.yaml:13: skipping Deployment "frontend": kind not modelled by ksim']);
  });

  // Rows: a file, and the exact lines the loader must print (all of them, in order).
  const rejected: { name: string; text: string; errors: (string | RegExp)[] }[] = [
    {
      name: 'a YAML syntax error reports line:col',
      text: y(`
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels: {app: nginx
spec: {}
`),
      errors: [/^e\.yaml:6:1: yaml: /],
    },
    {
      name: 'two errors in two documents are both reported',
      text: y(`
apiVersion: v1
kind: Service
metadata:
  name: a
  labels: [unclosed
---
apiVersion: apps/v1beta1
kind: StatefulSet
metadata:
  name: web
`),
      errors: [/^e\.yaml:6:1: yaml: /, 'e.yaml:7:1: StatefulSet "web": apiVersion: no matches for kind "StatefulSet" in version "apps/v1beta1"'],
    },
    {
      name: 'an invalid duration in an action names the action\'s field',
      text: scenarioDoc(y(`
  actions:
  - {at: 1m, cordon: node/node-1}
  - {at: 2m, uncordon: node/node-1}
  - {at: 5x, drain: node/node-1}
`)),
      errors: [/^e\.yaml:9:6: Scenario "t": spec\.actions\[2\]\.at: invalid duration "5x"/],
    },
    {
      name: 'an unknown fault target node lists the nodes',
      text: scenarioDoc(y(`
  faults:
  - {at: 4m, crash: node/node-9, for: 2m}
`)),
      errors: ['e.yaml:7:14: Scenario "t": spec.faults[0].crash: node "node-9" does not exist (nodes: node-1, node-2, node-3)'],
    },
    {
      name: 'an outage of a backend no manifest implies is an error',
      text: scenarioDoc(y(`
  faults:
  - {at: 1m, outage: backend/nfs-server}
`)),
      errors: [/^e\.yaml:7:14: Scenario "t": spec\.faults\[0\]\.outage: backend "nfs-server" does not exist/],
    },
    {
      name: 'a partition group naming something that is neither node nor component is an error',
      text: scenarioDoc(y(`
  faults:
  - at: 1m
    partition: [[node-1], [apiserver, kubelet]]
`)),
      errors: [/^e\.yaml:8:39: Scenario "t": spec\.faults\[0\]\.partition\[1\]\[1\]: "kubelet" is not a host: a node \(node-1, node-2, node-3\), "apiserver", /],
    },
    {
      name: 'an unknown action verb is an unknown field',
      text: scenarioDoc(y(`
  actions:
  - {at: 1m, restart: pod/web-0}
`)),
      errors: [/^e\.yaml:7:14: Scenario "t": spec\.actions\[0\]\.restart: unknown field "restart" \(an action is one of: apply, delete, /],
    },
    {
      name: 'an action without `at` or with two verbs is an error',
      text: scenarioDoc(y(`
  actions:
  - {cordon: node/node-1}
  - {at: 1m, cordon: node/node-1, drain: node/node-1}
`)),
      errors: [
        'e.yaml:7:5: Scenario "t": spec.actions[0].at: Required value',
        'e.yaml:8:5: Scenario "t": spec.actions[1]: Invalid value: may not specify more than one action: cordon, drain',
      ],
    },
    {
      name: 'unknown fields in the Scenario spec, actions and faults are errors',
      text: scenarioDoc(y(`
  sed: 4
  actions:
  - {atx: 1m, at: 1m, cordon: node/node-1}
  faults:
  - {at: 1m, dnsFailure: {}, until: 2m}
`)),
      errors: [
        'e.yaml:6:3: Scenario "t": spec.sed: unknown field "sed"',
        'e.yaml:8:6: Scenario "t": spec.actions[0].atx: unknown field "atx"',
        'e.yaml:10:30: Scenario "t": spec.faults[0].until: unknown field "until"',
      ],
    },
    {
      name: 'a delete of a kind kubectl does not know is an error',
      text: scenarioDoc(y(`
  actions:
  - {at: 1m, delete: deployment/web}
`)),
      errors: ['e.yaml:7:14: Scenario "t": spec.actions[0].delete: the server doesn\'t have a resource type "deployment"'],
    },
    {
      name: 'cluster.nodes must be between 1 and 1000',
      text: scenarioDoc(y(`
  cluster: {nodes: 0}
`)),
      errors: ['e.yaml:6:13: Scenario "t": spec.cluster.nodes: Invalid value: 0: must be between 1 and 1000, inclusive'],
    },
    {
      name: 'a chaos kind outside SPEC §1 is an error',
      text: scenarioDoc(y(`
  chaos: {faults: 2, kinds: [crash, meteor]}
`)),
      errors: [/^e\.yaml:6:37: Scenario "t": spec\.chaos\.kinds\[1\]: Unsupported value: "meteor": supported values: "crash", /],
    },
    {
      name: 'an unknown invariant name is an error',
      text: scenarioDoc(y(`
  invariants: [rwo-single-node, no-split-brain]
`)),
      errors: [/^e\.yaml:6:33: Scenario "t": spec\.invariants\[1\]: Unsupported value: "no-split-brain"/],
    },
    {
      name: 'a Scenario of the wrong apiVersion is an error',
      text: 'apiVersion: ksim/v2\nkind: Scenario\n',
      errors: ['e.yaml:1:1: Scenario "e": apiVersion: no matches for kind "Scenario" in version "ksim/v2"'],
    },
    {
      name: 'a duplicate object is an error at the second one',
      text: SERVICE + '---\n' + SERVICE,
      errors: ['e.yaml:16:3: Service "nginx": metadata.name: services "nginx" already exists (first defined at e.yaml:1:1)'],
    },
    {
      name: 'a volume source ksim does not model is an error, also in a StatefulSet template',
      text: y(`
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers: [{name: nginx, image: nginx, volumeMounts: [{name: cfg, mountPath: /etc/nginx}]}]
      volumes:
      - name: cfg
        configMap: {name: nginx-conf}
`),
      errors: [/^e\.yaml:13:9: StatefulSet "web": spec\.template\.spec\.volumes\[0\]: Unsupported value: "configMap": supported values: "csi", /],
    },
    {
      name: 'an alias bomb is bounded instead of expanded',
      text: y(`
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
`),
      errors: [/^e\.yaml:1:1: yaml: Excessive alias count/],
    },
  ];
  for (const row of rejected) {
    it(row.name, () => {
      const errors = errorsOf(loadScenarioText(row.text, 'e.yaml'));
      expect(errors, errors.join('\n')).to.have.length(row.errors.length);
      row.errors.forEach((want, i) => {
        if (typeof want === 'string') expect(errors[i]).to.equal(want);
        else expect(errors[i]).to.match(want);
      });
    });
  }

  it('spec.cluster.podCIDR widens the cluster CIDR; one that cannot hold a node\'s /24 is an error at its line', () => {
    expect(scenarioOf(loadScenarioText(scenarioDoc('  cluster: {nodes: 3, podCIDR: 10.244.0.0/14}\n'), 's.yaml')).podCIDR).to.equal('10.244.0.0/14');
    expect(scenarioOf(loadScenarioText(scenarioDoc('  cluster: {nodes: 3}\n'), 's.yaml')).podCIDR).to.equal(undefined);
    expect(errorsOf(loadScenarioText(scenarioDoc('  cluster: {nodes: 3, podCIDR: 10.244.0.0/25}\n'), 's.yaml'))).to.deep.equal([
      `s.yaml:6:23: Scenario "t": spec.cluster.podCIDR: Invalid value: "10.244.0.0/25": must hold at least one node's /24 (node-cidr-mask-size 24): a prefix of at most /24`,
    ]);
    expect(errorsOf(loadScenarioText(scenarioDoc('  cluster: {podCIDR: 42}\n'), 's.yaml'))[0]).to.match(/spec\.cluster\.podCIDR: Invalid value: 42: must be a CIDR such as 10\.244\.0\.0\/16$/);
  });

  it('a negative replicas in a StatefulSet reports the line of `replicas:`', () => {
    const text = y(`
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: -1
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - {name: nginx, image: nginx}
`);
    const errors = errorsOf(loadScenarioText(text, 'sts.yaml'));
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^sts\.yaml:7:3: StatefulSet "web": spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
  });

  it('an applied manifest is validated and its errors point into the action', () => {
    const text = scenarioDoc(y(`
  actions:
  - at: 1m
    apply:
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: web}
      spec:
        serviceName: nginx
        replicas: -2
        selector: {matchLabels: {app: nginx}}
        template:
          metadata: {labels: {app: nginx}}
          spec: {containers: [{name: nginx, image: nginx}]}
`));
    const errors = errorsOf(loadScenarioText(text, 'a.yaml'));
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^a\.yaml:14:9: StatefulSet "web": spec\.replicas: Invalid value: -2/);
  });

  it('an unreadable file is an error, not an exception', () => {
    expect(loadScenarioFile('/nonexistent/x.yaml')).to.deep.equal({ ok: false, errors: ['/nonexistent/x.yaml: no such file'], warnings: [] });
  });

  it('garbage never throws: every input gives a result', () => {
    const inputs = ['', '---\n---\n', '42', '[1, 2]', 'kind: Scenario\nspec: 7', 'apiVersion: v1\nkind: Pod\nmetadata: 3',
      '\t- x', '{{{', 'kind: [Pod]', scenarioDoc('  actions: {a: 1}\n  faults: [7, null, {at: null}]\n  chaos: []\n'),
      scenarioDoc('  actions:\n  - {at: 1m, patch: {target: sts/web, type: json, patch: "not json"}}\n  - {at: 1m, apply: 5}\n')];
    for (const text of inputs) {
      const r = loadScenarioText(text, 'g.yaml');
      expect(r).to.have.property('ok');
      if (!r.ok) for (const e of r.errors) expect(e).to.match(/^g\.yaml:\d+:\d+: /);
    }
  });
});
