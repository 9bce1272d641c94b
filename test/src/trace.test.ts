/**
 * The trace hash is SHA-256 of the canonical lines `atMs kind actor detail\n` in UTF-8: a
 * report's traceHash can be checked with sha256sum over the lines that --trace exports.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Trace, type TraceEvent } from '../../src/trace.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { summarize, type Msg } from '../../src/protocol.ts';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const pv = (name: string, rv: string) => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, resourceVersion: rv } });
const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-web-0', namespace: 'default', resourceVersion: '7' } };

/** The canonical summaries: every trace hash depends on them, byte for byte. */
const MESSAGES: [string, Msg, string][] = [
  ['a watch event of a cluster-scoped object', { type: 'watch', watchId: 'pv/PersistentVolume#2', event: 'MODIFIED', obj: pv('pv-1', '12') }, 'watch MODIFIED PersistentVolume/pv-1 rv=12'],
  ['a watch event of a namespaced object', { type: 'watch', watchId: 'sts/PersistentVolumeClaim#1', event: 'ADDED', obj: claim }, 'watch ADDED PersistentVolumeClaim/default/data-web-0 rv=7'],
  [
    'a watch that expired',
    { type: 'watch', watchId: 'pv/Pod#3', event: 'ERROR', obj: { apiVersion: 'v1', kind: 'Status', metadata: {}, code: 410, reason: 'Expired', message: 'too old resource version: 5 (10)' } },
    'watch pv/Pod#3 ERROR 410 too old resource version: 5 (10)',
  ],
  ['a watch opened from a resourceVersion', { type: 'api.watch', watchId: 'kubelet/node-1/Pod#1', kind: 'Pod', resourceVersion: '42', nodeName: 'node-1' }, 'api.watch kubelet/node-1/Pod#1 Pod rv=42 node=node-1'],
  ['a broken watch', { type: 'watch.broken', watchId: 'pv/Pod#3' }, 'watch.broken pv/Pod#3'],
  ['an exec the kubelet took', { type: 'exec.started', reqId: 'apiserver/exec#4' }, 'exec.started apiserver/exec#4'],
  ['a request naming its object', { type: 'api.request', reqId: 'kubectl#3', verb: 'delete', kind: 'Pod', namespace: 'default', name: 'web-0' }, 'api.request kubectl#3 delete Pod/default/web-0'],
  ['a request carrying its object', { type: 'api.request', reqId: 'pv#9', verb: 'updateStatus', kind: 'PersistentVolumeClaim', obj: claim }, 'api.request pv#9 updateStatus PersistentVolumeClaim/default/data-web-0'],
  ['a response with an object', { type: 'api.response', reqId: 'pv#9', ok: true, obj: pv('pv-1', '13') }, 'api.response pv#9 ok rv=13'],
  ['a refusal', { type: 'api.response', reqId: 'pv#10', ok: false, status: { code: 409, reason: 'Conflict', message: 'x' } }, 'api.response pv#10 409 '],
  ['a list answer', { type: 'api.response', reqId: 'c#1', ok: true, items: [pv('a', '1'), pv('b', '2')], resourceVersion: '9' }, 'api.response c#1 ok  n=2 rv=9'],
  [
    'an exec write',
    { type: 'exec.request', reqId: 'kubectl/x#1', namespace: 'default', pod: 'web-0', op: 'write', path: '/usr/share/nginx/html/index.html', data: 'hello\n' },
    'exec.request kubectl/x#1 write default/web-0 /usr/share/nginx/html/index.html "hello\\n"',
  ],
  ['a node shell read', { type: 'node.request', reqId: 'kubectl/x#2', node: 'node-1', op: 'readNode', path: '/home/host-pv-dir/data' }, 'node.request kubectl/x#2 readNode node-1 /home/host-pv-dir/data'],
  ['a shell answer with data', { type: 'shell.response', reqId: 'kubectl/x#2', ok: true, data: 'hellok8s\n' }, 'shell.response kubectl/x#2 true "hellok8s\\n"'],
  ['a shell answer with an error', { type: 'shell.response', reqId: 'kubectl/x#3', ok: false, error: 'No such file or directory' }, 'shell.response kubectl/x#3 false No such file or directory'],
  ['a DNS query', { type: 'dns.query', reqId: 'kubectl/x#4', name: 'web-0.nginx', qtype: 'A', search: ['default.svc.cluster.local'] }, 'dns.query kubectl/x#4 A web-0.nginx'],
  ['a DNS answer', { type: 'dns.answer', reqId: 'kubectl/x#4', rcode: 'NOERROR', answers: ['10.244.1.2', '10.244.2.2'] }, 'dns.answer kubectl/x#4 NOERROR 10.244.1.2,10.244.2.2'],
  ['a user action', { type: 'user.action', index: 3 }, 'user.action 3'],
  [
    'a CSI call',
    { type: 'csi.request', reqId: 'kubelet/node-1/csi#1', call: { method: 'NodeStageVolume', volumeId: 'replicapool/csi-vol-1', nodeId: 'node-1' } },
    'csi.request kubelet/node-1/csi#1 NodeStageVolume replicapool/csi-vol-1 node=node-1',
  ],
  ['a CSI answer', { type: 'csi.response', reqId: 'kubelet/node-1/csi#1', code: 13, message: 'rbd image replicapool/csi-vol-1 is still being used' }, 'csi.response kubelet/node-1/csi#1 13 rbd image replicapool/csi-vol-1 is still being used'],
  [
    'a file operation on a volume',
    { type: 'file.request', reqId: 'kubelet/node-1/io#2', volumeId: 'nfs-1:/exports/a', nodeId: 'node-1', op: 'write', path: '/f', data: 'x' },
    'file.request kubelet/node-1/io#2 write nfs-1:/exports/a/f "x"',
  ],
  ['a file answer', { type: 'file.response', reqId: 'kubelet/node-1/io#2', ok: false, error: 'Input/output error' }, 'file.response kubelet/node-1/io#2 false Input/output error'],
  [
    'an Event with text beyond ASCII',
    { type: 'api.event', eventType: 'Warning', reason: 'FailedMount', message: 'MountVolume.SetUp failed: “ü” 🚀', source: 'kubelet', involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0' } },
    'api.event FailedMount Pod/default/web-0 MountVolume.SetUp failed: “ü” 🚀',
  ],
];

/**
 * Messages that differ only in what a user would see of the run: the trace lines (and so the
 * trace hash) must differ too.
 */
const DIFFERING: [string, Msg, Msg][] = [
  ['nslookup answers', { type: 'dns.answer', reqId: 'q', rcode: 'NOERROR', answers: ['10.244.1.2'] }, { type: 'dns.answer', reqId: 'q', rcode: 'NOERROR', answers: ['10.244.1.3'] }],
  ['an NXDOMAIN against an answer', { type: 'dns.answer', reqId: 'q', rcode: 'NXDOMAIN', answers: [] }, { type: 'dns.answer', reqId: 'q', rcode: 'NOERROR', answers: [] }],
  ['the CSI method called', { type: 'csi.request', reqId: 'c', call: { method: 'NodeStageVolume', volumeId: 'v', nodeId: 'node-1' } }, { type: 'csi.request', reqId: 'c', call: { method: 'NodePublishVolume', volumeId: 'v', nodeId: 'node-1' } }],
  ['the volume a CSI call names', { type: 'csi.request', reqId: 'c', call: { method: 'DeleteVolume', volumeId: 'a' } }, { type: 'csi.request', reqId: 'c', call: { method: 'DeleteVolume', volumeId: 'b' } }],
  ['the node a CSI call is for', { type: 'csi.request', reqId: 'c', call: { method: 'ControllerPublishVolume', volumeId: 'v', nodeId: 'node-1' } }, { type: 'csi.request', reqId: 'c', call: { method: 'ControllerPublishVolume', volumeId: 'v', nodeId: 'node-2' } }],
  ['a CSI error code', { type: 'csi.response', reqId: 'c', code: 0, message: '' }, { type: 'csi.response', reqId: 'c', code: 4, message: '' }],
  ['the data a file operation writes', { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'write', path: '/f', data: 'a' }, { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'write', path: '/f', data: 'b' }],
  ['the file a file operation names', { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'read', path: '/a' }, { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'read', path: '/b' }],
  ['a file operation\'s kind', { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'read', path: '/a' }, { type: 'file.request', reqId: 'f', volumeId: 'v', nodeId: 'n', op: 'clear', path: '/a' }],
  ['the data a read returns', { type: 'file.response', reqId: 'f', ok: true, data: 'a' }, { type: 'file.response', reqId: 'f', ok: true, data: 'b' }],
  ['the data a pod read returns', { type: 'shell.response', reqId: 's', ok: true, data: 'a' }, { type: 'shell.response', reqId: 's', ok: true, data: 'b' }],
  ['what a write through a pod writes', { type: 'exec.request', reqId: 'e', namespace: 'default', pod: 'p', op: 'write', path: '/f', data: 'a' }, { type: 'exec.request', reqId: 'e', namespace: 'default', pod: 'p', op: 'write', path: '/f', data: 'b' }],
  ['an Event\'s message', { type: 'api.event', eventType: 'Normal', reason: 'Pulled', message: 'a', source: 'kubelet', involvedObject: { kind: 'Pod', name: 'p' } }, { type: 'api.event', eventType: 'Normal', reason: 'Pulled', message: 'b', source: 'kubelet', involvedObject: { kind: 'Pod', name: 'p' } }],
  ['a watched object\'s resourceVersion', { type: 'watch', watchId: 'w', event: 'MODIFIED', obj: pv('pv-1', '12') }, { type: 'watch', watchId: 'w', event: 'MODIFIED', obj: pv('pv-1', '13') }],
  ['the resourceVersion a watch starts from', { type: 'api.watch', watchId: 'w', kind: 'Pod', resourceVersion: '41' }, { type: 'api.watch', watchId: 'w', kind: 'Pod', resourceVersion: '42' }],
];

/** Every kind of message; the compiler fails here when a kind is added to Msg without a pin. */
const KINDS: Record<Msg['type'], true> = {
  'api.request': true, 'api.response': true, 'api.watch': true, watch: true, 'watch.broken': true, 'api.event': true,
  'exec.request': true, 'exec.started': true, 'node.request': true, 'shell.response': true, 'dns.query': true, 'dns.answer': true,
  'user.action': true, 'csi.request': true, 'csi.response': true, 'file.request': true, 'file.response': true,
};

describe('trace', () => {
  it('pins the canonical line of every kind of message', () => {
    expect([...new Set(MESSAGES.map(([, m]) => m.type))].sort()).to.deep.equal(Object.keys(KINDS).sort());
  });

  for (const [what, a, b] of DIFFERING) {
    it(`runs that differ in ${what} get different trace hashes`, () => {
      const hash = (m: Msg) => {
        const t = new Trace(sha256Hasher);
        t.record(10, 'D', 'x>y', summarize(m));
        return t.digest();
      };
      expect(summarize(a)).to.not.equal(summarize(b));
      expect(hash(a)).to.not.equal(hash(b));
    });
  }

  for (const [what, msg, summary] of MESSAGES) {
    it(`hashes the delivery of ${what} as the line \`atMs D from>to ${summary}\``, () => {
      expect(summarize(msg)).to.equal(summary);
      const t = new Trace(sha256Hasher);
      t.record(1500, 'D', 'apiserver>kubelet/node-1', summarize(msg));
      expect(t.digest()).to.equal(sha(`1500 D apiserver>kubelet/node-1 ${summary}\n`));
    });
  }

  it('hashes any text as sha256 of its UTF-8 lines (surrogate pairs, lone surrogates, lines longer than the 64 KiB chunks)', () => {
    // Any UTF-16 code units, lone surrogates included (what a JS string can hold).
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(fc.string({ unit: codeUnit }), fc.string({ unit: 'binary', minLength: 17_000, maxLength: 18_000 }), fc.string({ unit: 'grapheme-composite' }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom('S', 'C', 'D'), text), { maxLength: 30 }), (lines) => {
        const t = new Trace(sha256Hasher);
        let joined = '';
        for (const [at, kind, detail] of lines) {
          t.record(at, kind, 'actor', detail);
          joined += `${at} ${kind} actor ${detail}\n`;
        }
        expect(t.digest()).to.equal(sha(joined));
      }),
      { numRuns: 40 },
    );
  });

  it('can be digested mid-run and go on hashing', () => {
    const t = new Trace(sha256Hasher);
    t.record(0, 'S', 'world', 'one');
    expect(t.digest()).to.equal(sha('0 S world one\n'));
    t.record(5, 'S', 'world', 'two');
    expect(t.digest()).to.equal(sha('0 S world one\n5 S world two\n'));
  });

  it('gives sinks and listeners every event with its fields', () => {
    const t = new Trace(sha256Hasher);
    const sunk: TraceEvent[] = [];
    const heard: string[] = [];
    t.sink = (e) => sunk.push(e);
    t.listeners.push((at, k, a, d) => heard.push(`${at} ${k} ${a} ${d}`));
    t.record(3, 'D', 'apiserver>pv', summarize(MESSAGES[0]![1]));
    t.record(4, 'S', 'kubelet/node-1', 'pod default/web-0 running');
    const lines = ['3 D apiserver>pv watch MODIFIED PersistentVolume/pv-1 rv=12', '4 S kubelet/node-1 pod default/web-0 running'];
    expect(sunk.map((e) => `${e.atMs} ${e.kind} ${e.actor} ${e.detail}`)).to.deep.equal(lines);
    expect(heard).to.deep.equal(lines);
  });

  it('keeps the last lines for crash reports', () => {
    const t = new Trace(sha256Hasher);
    for (let i = 0; i < 50; i++) t.record(i, 'S', 'world', `line ${i}`);
    t.record(50, 'D', 'apiserver>pv', summarize(MESSAGES.find(([what]) => what === 'a response with an object')![1]));
    expect(t.lastLines(3)).to.deep.equal(['48 S world line 48', '49 S world line 49', '50 D apiserver>pv api.response pv#9 ok rv=13']);
    expect(t.count).to.equal(51);
  });
});
