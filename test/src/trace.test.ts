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
  ['a request naming its object', { type: 'api.request', reqId: 'kubectl#3', verb: 'delete', kind: 'Pod', namespace: 'default', name: 'web-0' }, 'api.request kubectl#3 delete Pod/default/web-0'],
  ['a request carrying its object', { type: 'api.request', reqId: 'pv#9', verb: 'updateStatus', kind: 'PersistentVolumeClaim', obj: claim }, 'api.request pv#9 updateStatus PersistentVolumeClaim/default/data-web-0'],
  ['a response with an object', { type: 'api.response', reqId: 'pv#9', ok: true, obj: pv('pv-1', '13') }, 'api.response pv#9 ok rv=13'],
  ['a refusal', { type: 'api.response', reqId: 'pv#10', ok: false, status: { code: 409, reason: 'Conflict', message: 'x' } }, 'api.response pv#10 409 '],
  ['a list answer', { type: 'api.response', reqId: 'c#1', ok: true, items: [pv('a', '1'), pv('b', '2')], resourceVersion: '9' }, 'api.response c#1 ok  n=2 rv=9'],
  [
    'an Event with text beyond ASCII',
    { type: 'api.event', eventType: 'Warning', reason: 'FailedMount', message: 'MountVolume.SetUp failed: “ü” 🚀', source: 'kubelet', involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0' } },
    'api.event FailedMount Pod/default/web-0 MountVolume.SetUp failed: “ü” 🚀',
  ],
];

describe('trace', () => {
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
    t.record(50, 'D', 'apiserver>pv', summarize(MESSAGES[7]![1]));
    expect(t.lastLines(3)).to.deep.equal(['48 S world line 48', '49 S world line 49', '50 D apiserver>pv api.response pv#9 ok rv=13']);
    expect(t.count).to.equal(51);
  });
});
