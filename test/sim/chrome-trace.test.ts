/**
 * `--trace FILE --trace-format chrome`: the run's timeline as Chrome trace-event JSON for
 * Perfetto and chrome://tracing. The file is loaded and its structure checked as those viewers
 * read it: processes per host, a thread per actor, pod phases and node conditions as balanced
 * spans, Kubernetes Events and violations as instants, faults as spans on the hosts they hit,
 * message arrows paired when asked for.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { ksimInProcess } from '../helpers/cli.ts';
import { NGINX_SERVICE, webStatefulSet } from '../helpers/scenarios.ts';
import { ChromeTraceExporter } from '../../sim/exporters/chrome-trace.ts';
import { formatFaultMark, parseFaultMark, type FaultMark } from '../../src/fault-marks.ts';
import type { Envelope } from '../../src/bus.ts';
import type { KObject } from '../../src/protocol.ts';

type Ev = Record<string, any>;

interface Loaded {
  doc: Ev;
  events: Ev[];
  /** pid -> process name */
  processes: Map<number, string>;
  /** "pid/tid" -> thread name */
  threads: Map<string, string>;
}

/**
 * Parses a trace file and checks what Perfetto's JSON reader and chrome://tracing need:
 * `traceEvents` first, `ph` and `ts` leading every timed event and no array-valued key in an
 * event, named processes and threads, B/E balanced per thread in time order, async b/e paired,
 * each flow one flow_out and one flow_in, in time order, and no two instants of one thread at
 * one time (Perfetto would stack them, as if nested).
 */
function load(file: string): Loaded {
  const text = readFileSync(file, 'utf8');
  expect(text.startsWith('{"traceEvents":[')).to.equal(true);
  const doc = JSON.parse(text) as Ev;
  const events = doc['traceEvents'] as Ev[];
  const processes = new Map<number, string>();
  const threads = new Map<string, string>();
  for (const e of events) {
    expect(Object.keys(e).slice(0, 2), JSON.stringify(e)).to.deep.equal(e.ph === 'M' ? ['ph', 'pid'] : ['ph', 'ts']);
    for (const [k, v] of Object.entries(e)) expect(Array.isArray(v), `${k} of ${JSON.stringify(e)}`).to.equal(false);
    if (e.ph === 'M' && e.name === 'process_name') processes.set(e.pid, e.args.name);
    if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}/${e.tid}`, e.args.name);
  }
  const stacks = new Map<string, Ev[]>();
  const lastTs = new Map<string, number>();
  const async = new Map<string, number>();
  const flows = new Map<number, { out?: number; in?: number }>();
  const instantAt = new Set<string>();
  for (const e of events) {
    if (e.ph === 'M') continue;
    expect(e.ts, JSON.stringify(e)).to.be.a('number');
    if (!(e.ph === 'i' && e.s === 'g')) expect(processes.has(e.pid), `process of ${JSON.stringify(e)}`).to.equal(true);
    if (['B', 'E', 'X'].includes(e.ph) || (e.ph === 'i' && e.s === 't')) expect(threads.has(`${e.pid}/${e.tid}`), `thread of ${JSON.stringify(e)}`).to.equal(true);
    const t = `${e.pid}/${e.tid}`;
    if ((e.ph === 'i' && e.s === 't') || (e.ph === 'X' && e.dur === 0)) {
      expect(instantAt.has(`${t}@${e.ts}`), `two instants at ${e.ts} on ${t}: ${JSON.stringify(e)}`).to.equal(false);
      instantAt.add(`${t}@${e.ts}`);
    }
    if (e.ph === 'B' || e.ph === 'E') {
      expect(e.ts).to.be.at.least(lastTs.get(t) ?? 0);
      lastTs.set(t, e.ts);
      const stack = stacks.get(t) ?? [];
      stacks.set(t, stack);
      if (e.ph === 'B') stack.push(e);
      else expect(stack.pop()?.name, `E without its B: ${JSON.stringify(e)}`).to.equal(e.name);
    }
    if (e.ph === 'b' || e.ph === 'e') {
      const k = `${e.pid}/${e.cat}/${e.id2.local}`;
      async.set(k, (async.get(k) ?? 0) + (e.ph === 'b' ? 1 : -1));
      expect(async.get(k)).to.be.within(0, 1);
    }
    if (e.bind_id !== undefined) {
      const f = flows.get(e.bind_id) ?? {};
      flows.set(e.bind_id, f);
      if (e.flow_out) f.out = e.ts;
      if (e.flow_in) f.in = e.ts;
    }
  }
  for (const [t, stack] of stacks) expect(stack, `open spans on ${threads.get(t)}`).to.deep.equal([]);
  for (const [k, n] of async) expect(n, `async span ${k} not ended`).to.equal(0);
  for (const [id, f] of flows) {
    expect(f.out, `flow ${id} has no start`).to.be.a('number');
    expect(f.in, `flow ${id} has no end`).to.be.a('number');
    expect(f.out!).to.be.at.most(f.in!);
  }
  return { doc, events, processes, threads };
}

/** The spans of one named track, in order. */
function spans(l: Loaded, process: string, thread: string): string[] {
  return l.events.filter((e) => e.ph === 'B' && l.processes.get(e.pid) === process && l.threads.get(`${e.pid}/${e.tid}`) === thread).map((e) => e.name);
}

describe('Chrome trace export', function () {
  this.timeout(60_000);

  it('a run opens as processes per host, threads per actor, pod phases and node conditions as spans, Events as instants, messages as arrows', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ksim-chrome-')), 'run.json');
    const r = await ksimInProcess('run', 'examples/statefulset-storage.yaml', '--trace', file, '--trace-format', 'chrome', '--trace-messages', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const report = JSON.parse(r.out);
    const l = load(file);
    expect(l.doc['otherData']).to.deep.equal({ apiVersion: 'ksim/v1', kind: 'ChromeTrace', scenario: 'statefulset-storage', seed: report.seed, traceHash: report.traceHash });
    expect(l.doc).to.include({ apiVersion: 'ksim/v1', kind: 'ChromeTrace' });
    const names = [...l.processes.values()];
    expect(names).to.include.members(['apiserver', 'kube-controller-manager', 'kube-scheduler', 'cluster-dns', 'node/node-1', 'node/node-2', 'node/node-3', 'backend/ceph', 'kubectl']);
    const threadsOf = (p: string) => [...l.threads].filter(([k]) => l.processes.get(Number(k.split('/')[0])) === p).map(([, n]) => n);
    expect(threadsOf('kube-controller-manager')).to.include.members(['statefulset-controller', 'persistentvolume-binder-controller', 'persistentvolume-attach-detach-controller']);
    expect(threadsOf('node/node-1')).to.include('kubelet/node-1');
    // web-0 as `kubectl get pods -w` tells it: scheduled, created, running, deleted by the
    // scenario and back on a node with its claim.
    const web0 = ['node/node-1', 'node/node-2', 'node/node-3'].flatMap((n) => spans(l, n, 'pod default/web-0'));
    expect(web0).to.include.members(['Pending', 'ContainerCreating', 'Running, Ready', 'Terminating']);
    expect(spans(l, 'kube-scheduler', 'pod default/web-0')[0]).to.equal('Pending (unscheduled)');
    expect(spans(l, 'node/node-1', 'condition Ready')).to.deep.equal(['Ready=True']);
    const created = l.events.find((e) => e.cat === 'event' && e.name === 'SuccessfulCreate');
    expect(l.threads.get(`${created!.pid}/${created!.tid}`)).to.equal('statefulset-controller');
    expect(created!.args).to.include({ type: 'Normal', object: 'StatefulSet/default/web' });
    // Every delivered message is one arrow.
    const arrows = l.events.filter((e) => e.flow_out).length;
    expect(arrows).to.equal(report.stats.messages);
  });

  it('a run\'s faults are spans on the hosts they hit, beside what they did: node-1 Ready=Unknown and tainted while it is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-chrome-'));
    writeFileSync(join(dir, 'crash.yaml'), `${NGINX_SERVICE}---\n${webStatefulSet({ replicas: 2 })}---
apiVersion: ksim/v1
kind: Scenario
metadata: {name: crash}
spec:
  duration: 5m
  faults:
    - {at: 30s, partition: [[node-2], [apiserver]], for: 20s}
    - {at: 1m, crash: node/node-1, for: 2m}
`);
    const file = join(dir, 'crash.json');
    const r = await ksimInProcess('run', join(dir, 'crash.yaml'), '--trace', file, '--trace-format', 'chrome', '-o', 'json');
    expect(r.code, r.err).to.equal(0);
    const l = load(file);
    const faults = l.events.filter((e) => e.cat === 'fault').map((e) => [e.ph, l.processes.get(e.pid), e.ts / 1e6, e.name]);
    expect(faults).to.deep.equal([
      ['b', 'node/node-2', 30, 'partition [[node/node-2], [apiserver]] for 20s'],
      ['b', 'apiserver', 30, 'partition [[node/node-2], [apiserver]] for 20s'],
      ['e', 'node/node-2', 50, 'partition [[node/node-2], [apiserver]] for 20s'],
      ['e', 'apiserver', 50, 'partition [[node/node-2], [apiserver]] for 20s'],
      ['b', 'node/node-1', 60, 'crash node/node-1 for 2m0s'],
      ['e', 'node/node-1', 180, 'crash node/node-1 for 2m0s'],
    ]);
    const ready = l.events.filter((e) => e.ph === 'B' && l.processes.get(e.pid) === 'node/node-1' && l.threads.get(`${e.pid}/${e.tid}`) === 'condition Ready');
    expect(ready.map((e) => e.name)).to.deep.equal(['Ready=True', 'Ready=Unknown', 'Ready=True']);
    expect(ready[1]!.ts / 1e6).to.be.within(60, 180);
    expect(spans(l, 'node/node-1', 'taint node.kubernetes.io/unreachable:NoExecute')).to.deep.equal(['node.kubernetes.io/unreachable:NoExecute']);
  });

  it('without --trace-messages there are no arrows; --trace-messages alone is a usage error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ksim-chrome-')), 'run.json');
    const r = await ksimInProcess('run', 'examples/statefulset-web.yaml', '--until', '1m', '--trace', file, '--trace-format', 'chrome');
    expect(r.code, r.err).to.equal(0);
    const l = load(file);
    expect(l.events.filter((e) => e.bind_id !== undefined)).to.deep.equal([]);
    expect(l.events.some((e) => e.cat === 'commit')).to.equal(true);
    const bad = await ksimInProcess('run', 'examples/statefulset-web.yaml', '--trace', file, '--trace-messages');
    expect(bad.code).to.equal(2);
    expect(bad.err).to.include('--trace-messages: needs --trace-format chrome');
  });
});

describe('Chrome trace of faults and violations', () => {
  /** An exporter over a cluster of two nodes, its output gathered as it is written. */
  function exporter() {
    const chunks: string[] = [];
    const commits: ((kind: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KObject, old: KObject | undefined) => void)[] = [];
    const node = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const x = new ChromeTraceExporter({ write: (s) => chunks.push(s) });
    x.attach({ nowMs: 0, store: { onCommit: (l) => commits.push(l), list: (kind) => (kind === 'Node' ? [node('node-1'), node('node-2')] : []) }, bus: { delivered$: new Subject<Envelope>(), sent$: new Subject<Envelope>() } });
    const f = (atMs: number, m: FaultMark) => x.event({ atMs, kind: 'F', actor: 'faults', detail: formatFaultMark(m) });
    const doc = (): Ev[] => JSON.parse(chunks.join('')).traceEvents;
    return { x, f, chunks, doc, commits, node };
  }
  const processOf = (events: Ev[], pid: number) => events.find((e) => e.ph === 'M' && e.name === 'process_name' && e.pid === pid)?.args.name;

  const marks: [string, FaultMark, FaultMark | undefined, string[]][] = [
    ['a crash of node-1 is a span on node/node-1', { phase: 'start', id: 'f1', hosts: ['node/node-1'], fault: 'crash node/node-1 for 2m' }, { phase: 'heal', id: 'f1', hosts: ['node/node-1'], fault: 'crash node/node-1' }, ['node/node-1']],
    ['a partition is a span on every host it cuts', { phase: 'start', id: 'p', hosts: ['node-2', 'apiserver'], fault: 'partition [[node-2], [apiserver]] for 90s' }, { phase: 'heal', id: 'p', hosts: ['node-2', 'apiserver'], fault: 'partition' }, ['node/node-2', 'apiserver']],
    ['a Ceph monitor outage is a span on its backend', { phase: 'start', id: 'o', hosts: ['backend/ceph/mon-a'], fault: 'outage backend/ceph/mon-a for 30s' }, { phase: 'heal', id: 'o', hosts: ['backend/ceph/mon-a'], fault: 'outage' }, ['backend/ceph']],
    ['message loss everywhere is a span on the network', { phase: 'start', id: 'm', hosts: [], fault: 'messageLoss rate 0.05 for 5m' }, { phase: 'heal', id: 'm', hosts: [], fault: 'messageLoss' }, ['network']],
  ];
  for (const [name, start, heal, hosts] of marks) {
    it(name, () => {
      const { x, f, doc } = exporter();
      f(240_000, start);
      if (heal) f(360_000, heal);
      x.finish(600_000);
      const events = doc().filter((e) => e.cat === 'fault');
      expect(events.filter((e) => e.ph === 'b').map((e) => processOf(doc(), e.pid))).to.deep.equal(hosts);
      expect(events.filter((e) => e.ph === 'e').map((e) => [processOf(doc(), e.pid), e.ts, e.args.healed])).to.deep.equal(hosts.map((h) => [h, 360_000_000, true]));
      for (const e of events) expect(e).to.include({ name: start.fault }).and.have.nested.property('id2.local', start.id);
    });
  }

  it('a fault never healed lasts to the end of the run; a fault without duration is an instant on its host', () => {
    const { x, f, doc } = exporter();
    f(60_000, { phase: 'start', id: 'c', hosts: ['node/node-1'], fault: 'crash node/node-1' });
    f(90_000, { phase: 'once', id: 'w', hosts: ['node/node-2'], fault: 'wipeDisk node/node-2' });
    x.finish(600_000);
    const ev = doc();
    expect(ev.find((e) => e.ph === 'e')).to.deep.include({ ts: 600_000_000, args: { healed: false } });
    const once = ev.find((e) => e.ph === 'n')!;
    expect([processOf(ev, once.pid), once.name, once.ts]).to.deep.equal(['node/node-2', 'wipeDisk node/node-2', 90_000_000]);
  });

  it('an F line in another form is still shown, as a global instant', () => {
    const { x, doc } = exporter();
    x.event({ atMs: 5_000, kind: 'F', actor: 'faults', detail: 'restart kube-scheduler' });
    x.finish(10_000);
    expect(doc().find((e) => e.cat === 'fault')).to.deep.include({ ph: 'i', s: 'g', name: 'restart', args: { detail: 'restart kube-scheduler' } });
  });

  it('violations are global instants, once each whether the trace or the report names them', () => {
    const { x, doc } = exporter();
    x.event({ atMs: 61_000, kind: 'V', actor: 'invariants', detail: 'rwo-single-node pv-1 on node-1 and node-2' });
    x.finish(600_000, { violations: [{ invariant: 'rwo-single-node', atMs: 61_000, message: 'pv-1 on node-1 and node-2', objects: ['PersistentVolume/pv-1'] }, { invariant: 'no-data-loss', atMs: 600_000, message: 'lost', objects: ['PersistentVolumeClaim/default/www-web-0', 'Pod/default/web-0'] }] });
    const v = doc().filter((e) => e.cat === 'violation');
    expect(v.map((e) => [e.name, e.ts, e.s])).to.deep.equal([
      ['violation rwo-single-node', 61_000_000, 'g'],
      ['violation no-data-loss', 600_000_000, 'g'],
    ]);
    expect(v[1]!.args.objects).to.equal('PersistentVolumeClaim/default/www-web-0, Pod/default/web-0');
  });

  it('node conditions and taints become spans as the node changes; written as they happen, not at the end', () => {
    const { x, commits, chunks, node, doc } = exporter();
    const notReady = { ...node('node-1'), spec: { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }, status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] } };
    for (const c of commits) c('MODIFIED', notReady, undefined);
    expect(chunks.join('')).to.include('"Ready=Unknown"');
    for (const c of commits) c('MODIFIED', node('node-1'), undefined);
    x.finish(1_000);
    const names = doc().filter((e) => e.ph === 'B').map((e) => e.name);
    expect(names).to.deep.equal(['Ready=True', 'Ready=True', 'Ready=Unknown', 'node.kubernetes.io/unreachable:NoExecute', 'Ready=True']);
  });

  it('fault marks read back as written', () => {
    const m: FaultMark = { phase: 'start', id: 'f7', hosts: ['node/node-1', 'apiserver'], fault: 'partition [[node-1], [apiserver]] oneWay for 90s' };
    expect(parseFaultMark(formatFaultMark(m))).to.deep.equal(m);
    expect(parseFaultMark(formatFaultMark({ ...m, hosts: [] }))).to.deep.equal({ ...m, hosts: [] });
    expect(parseFaultMark('node-1 crashed')).to.equal(undefined);
  });
});
