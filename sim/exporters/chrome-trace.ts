/**
 * A run's timeline as Chrome trace-event JSON (`ksim run --trace FILE --trace-format chrome`),
 * the format Perfetto (ui.perfetto.dev) and chrome://tracing open. What it shows:
 *
 * - a process per host, as SPEC §1 names hosts: the control plane (apiserver,
 *   kube-controller-manager with one thread per controller, kube-scheduler, cluster-dns ...),
 *   each node (`node/node-1`: its kubelet, its pods, its conditions, taints), each storage
 *   system (`backend/ceph`), the user's `kubectl`, and `ksim` (the run itself);
 * - a thread per actor, with what the actor recorded in the trace as instant events (state
 *   lines, the API server's commits, dropped messages, the user's actions and their results);
 * - pod phases as spans on a `pod NS/NAME` track of the node the pod is bound to (of
 *   kube-scheduler while unscheduled), node conditions, taints and cordons as spans on the node;
 * - faults as spans on every host they hit, from the trace's 'F' lines (src/fault-marks.ts: a
 *   `start` and its `heal` become one span; a fault never healed lasts to the end);
 * - violations as global instant events, Kubernetes Events as instant events on the thread of
 *   the component that reported them;
 * - with `messages`, every delivered bus message as a flow arrow from a slice on the sender's
 *   thread where it was sent to a slice on the receiver's thread where it was delivered.
 *
 * Streaming: every event is handed to `write` as it happens; what is kept is one entry per
 * host, thread, open span, open fault and message in flight, never the run's events.
 * Timestamps are simulated: `ts` is microseconds since the run's start; the events of one
 * simulated millisecond are spread over its microseconds in the order they happened, one
 * microsecond apart, so that their order shows when zoomed in and no two share a time (Perfetto
 * stacks instants of one time on top of each other); a burst of more than 1,000 events in one
 * millisecond pushes the ones after it later by as many microseconds. Pure: no Node APIs (the
 * caller writes the chunks to a file).
 *
 * Perfetto's JSON reader stops at the first top-level key it does not know and cannot read an
 * event whose array-valued key comes before `ts`: `traceEvents` comes first, every event starts
 * with `ph` and `ts`, and args hold no arrays.
 */
import type { Observable } from 'rxjs';
import { hostOf as busHostOf, type Envelope } from '../../src/bus.ts';
import type { KObject } from '../../src/protocol.ts';
import type { CommitListener } from '../../src/store.ts';
import type { TraceEvent } from '../../src/trace.ts';
import { parseFaultMark } from '../../src/fault-marks.ts';
import type { Violation } from '../invariants/types.ts';

/** What the exporter observes of a world (World has all of it). */
export interface ChromeTraceSource {
  readonly nowMs: number;
  readonly store: { onCommit(l: CommitListener): void; list(kind: string): KObject[] };
  readonly bus: { readonly delivered$: Observable<Envelope>; readonly sent$: Observable<Envelope>; hostFor?(address: string): string };
}

export interface ChromeTraceOptions {
  /** Receives the document in chunks, in order. */
  write: (chunk: string) => void;
  /** Every bus message as a flow arrow (`--trace-messages`). */
  messages?: boolean;
}

/** What `finish` adds: the violations, and the run's identity for the trace's metadata (otherData). */
export interface ChromeTraceEnd {
  violations?: readonly Violation[];
  scenario?: string;
  seed?: number;
  traceHash?: string;
}

type Args = Record<string, string | number | boolean>;

interface Thread {
  pid: number;
  tid: number;
}

/** A track holding at most one open span at a time (B/E events nest per thread). */
interface Track extends Thread {
  open: string | undefined;
}

/** Process order in the viewer: control plane, nodes, storage, the user, ksim. */
function hostGroup(host: string): number {
  if (host === 'apiserver') return 0;
  if (host === 'kube-controller-manager') return 1;
  if (host.startsWith('node/')) return 3;
  if (host.startsWith('backend/')) return 4;
  if (host === 'kubectl') return 5;
  if (host === 'ksim' || host === 'network') return 6;
  return 2;
}

function podStatus(pod: KObject): string {
  const status = (pod['status'] ?? {}) as { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { state?: { waiting?: { reason?: string } } }[] };
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const phase = status.phase ?? 'Pending';
  if (phase === 'Pending') {
    const waiting = status.containerStatuses?.find((c) => c.state?.waiting?.reason)?.state?.waiting?.reason;
    if (waiting) return waiting;
    return (pod['spec'] as { nodeName?: string } | undefined)?.nodeName ? 'Pending' : 'Pending (unscheduled)';
  }
  if (phase === 'Running') return status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running, Ready' : 'Running, not Ready';
  return phase;
}

interface NodeView {
  /** condition type -> open span name */
  conditions: Map<string, string>;
  taints: Set<string>;
  unschedulable: boolean;
}

export class ChromeTraceExporter {
  private readonly hosts = new Map<string, number>();
  private readonly threads = new Map<string, Thread>();
  private readonly tracks = new Map<string, Track>();
  private readonly pods = new Map<string, { track: Track; status: string }>();
  private readonly nodes = new Map<string, NodeView>();
  private readonly faults = new Map<string, { hosts: string[]; name: string }>();
  private readonly violationsSeen = new Set<string>();
  private hostFor: (address: string) => string = busHostOf;
  /** Messages sent and not delivered yet (seq), when `messages`: their arrows have started. */
  private readonly inFlight = new Set<number>();
  private first = true;
  private nextTid = 1;
  private lastTs = -1;
  private lastDelivery: { ts: number; route: string } | undefined;
  private finished = false;

  constructor(private readonly opts: ChromeTraceOptions) {
    opts.write('{"traceEvents":[\n');
  }

  /** Observes a world: its commits (pods, nodes), deliveries (Events, message arrows), hosts. */
  attach(world: ChromeTraceSource): void {
    const bus = world.bus;
    if (bus.hostFor) this.hostFor = (a) => bus.hostFor!(a);
    for (const node of world.store.list('Node')) this.node(node, world.nowMs, false);
    world.store.onCommit((kind, obj) => {
      if (obj.kind === 'Pod') this.pod(obj, world.nowMs, kind === 'DELETED');
      else if (obj.kind === 'Node') this.node(obj, world.nowMs, kind === 'DELETED');
    });
    bus.delivered$.subscribe((env) => this.delivered(env));
    if (this.opts.messages) bus.sent$.subscribe((env) => this.sent(env));
  }

  /** One trace line (hand it every line, in order: the Run's traceSink). */
  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'D': {
        const [from, to] = splitRoute(e.actor);
        this.thread(from);
        this.thread(to);
        this.lastDelivery = { ts: this.ts(e.atMs), route: e.actor };
        return;
      }
      case 'X': {
        const [from, to] = splitRoute(e.actor);
        this.instant(this.thread(from), this.ts(e.atMs), `dropped ${e.detail.split(' ')[0]}`, 'dropped', { to, message: e.detail });
        return;
      }
      case 'F':
        return this.fault(e);
      case 'V': {
        const invariant = e.detail.split(' ')[0] ?? '';
        this.violationsSeen.add(`${e.atMs} ${invariant}`);
        this.emit({ ph: 'i', ts: this.ts(e.atMs), s: 'g', pid: 0, tid: 0, name: `violation ${invariant}`, cat: 'violation', args: { message: e.detail } });
        return;
      }
      case 'C': {
        const name = e.detail.replace(/ rv=\d+$/, '');
        this.instant(this.thread(e.actor), this.ts(e.atMs), name, 'commit', { detail: e.detail });
        return;
      }
      case 'A': {
        const [index, action] = e.detail.split(' ');
        this.instant(this.thread(e.actor), this.ts(e.atMs), action ?? e.detail, 'action', { index: Number(index) });
        return;
      }
      case 'R': {
        const [index, action, ok] = e.detail.split(' ');
        this.instant(this.thread(e.actor), this.ts(e.atMs), `${action} ${ok === 'true' ? 'ok' : 'failed'}`, 'result', { index: Number(index) });
        return;
      }
      default:
        this.instant(this.thread(e.actor), this.ts(e.atMs), e.detail.length > 80 ? `${e.detail.slice(0, 77)}...` : e.detail, e.kind, { detail: e.detail });
    }
  }

  /**
   * Ends what is still open at `endMs` (spans, faults never healed), adds the violations not
   * already seen as 'V' lines, and closes the document. Safe to call once, also after a crash.
   */
  finish(endMs: number, extra: ChromeTraceEnd = {}): void {
    if (this.finished) return;
    this.finished = true;
    const end = Math.max(endMs * 1000, this.lastTs + 1);
    for (const t of this.tracks.values()) this.close(t, end);
    for (const [id, f] of this.faults) for (const h of f.hosts) this.emit({ ph: 'e', ts: end, pid: this.process(h), cat: 'fault', name: f.name, id2: { local: id }, args: { healed: false } });
    this.faults.clear();
    for (const v of extra.violations ?? []) {
      if (this.violationsSeen.has(`${v.atMs} ${v.invariant}`)) continue;
      this.emit({ ph: 'i', ts: v.atMs * 1000, s: 'g', pid: 0, tid: 0, name: `violation ${v.invariant}`, cat: 'violation', args: { message: v.message, objects: v.objects.join(', ') } });
    }
    const meta = { apiVersion: 'ksim/v1', kind: 'ChromeTrace', ...(extra.scenario !== undefined ? { scenario: extra.scenario } : {}), ...(extra.seed !== undefined ? { seed: extra.seed } : {}), ...(extra.traceHash ? { traceHash: extra.traceHash } : {}) };
    this.opts.write(`\n],\n"displayTimeUnit":"ms",\n"otherData":${JSON.stringify(meta)},\n"apiVersion":"ksim/v1","kind":"ChromeTrace"}\n`);
  }

  // --- what the world tells ---

  /** The start of a message's arrow: a slice on the sender's thread, right where it sent it. */
  private sent(env: Envelope): void {
    const from = this.thread(env.from);
    this.inFlight.add(env.seq);
    this.emit({ ph: 'X', ts: this.ts(env.sentAtMs), dur: 0, pid: from.pid, tid: from.tid, name: `send ${env.msg.type}`, cat: 'message', bind_id: env.seq + 1, flow_out: true, args: { to: env.to } });
  }

  private delivered(env: Envelope): void {
    const msg = env.msg;
    // The bus traces a delivery ('D', which set lastDelivery) just before handing it over.
    const ts = this.lastDelivery?.route === env.route ? this.lastDelivery.ts : this.lastTs;
    if (msg.type === 'api.event') {
      const io = msg.involvedObject;
      const object = `${io.kind}/${io.namespace ? `${io.namespace}/` : ''}${io.name}`;
      this.instant(this.thread(env.from), ts, `${msg.eventType === 'Warning' ? 'Warning ' : ''}${msg.reason}`, 'event', { type: msg.eventType, reason: msg.reason, object, message: msg.message, source: msg.source });
    }
    if (!this.opts.messages) return;
    const to = this.thread(env.to);
    // Messages the bus made itself (a broken watch's notice) were not sent by an actor: no arrow.
    const arrow = this.inFlight.delete(env.seq) ? { bind_id: env.seq + 1, flow_in: true } : {};
    this.emit({ ph: 'X', ts, dur: 0, pid: to.pid, tid: to.tid, name: msg.type, cat: 'message', ...arrow, args: { from: env.from, sentAtMs: env.sentAtMs } });
  }

  private pod(pod: KObject, atMs: number, deleted: boolean): void {
    const ns = pod.metadata.namespace ?? 'default';
    const key = `${ns}/${pod.metadata.name}`;
    const had = this.pods.get(key);
    const ts = this.ts(atMs);
    if (deleted) {
      if (had) this.close(had.track, ts);
      this.pods.delete(key);
      return;
    }
    const nodeName = (pod['spec'] as { nodeName?: string } | undefined)?.nodeName;
    const host = nodeName ? `node/${nodeName}` : 'kube-scheduler';
    const track = this.track(host, `pod ${key}`);
    const status = podStatus(pod);
    if (had && had.track === track && had.status === status) return;
    if (had && had.track !== track) this.close(had.track, ts);
    const st = (pod['status'] ?? {}) as { phase?: string; podIP?: string };
    this.openSpan(track, status, ts, { phase: st.phase ?? 'Pending', ...(nodeName ? { node: nodeName } : {}), ...(st.podIP ? { podIP: st.podIP } : {}), uid: pod.metadata.uid ?? '' });
    this.pods.set(key, { track, status });
  }

  private node(node: KObject, atMs: number, deleted: boolean): void {
    const name = node.metadata.name!;
    const host = `node/${name}`;
    let view = this.nodes.get(name);
    if (!view) this.nodes.set(name, (view = { conditions: new Map(), taints: new Set(), unschedulable: false }));
    const ts = this.ts(atMs);
    const spec = (node['spec'] ?? {}) as { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
    const conditions = deleted ? [] : (((node['status'] as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []));
    const seen = new Set<string>();
    for (const c of conditions) {
      seen.add(c.type);
      // Ready is shown all along; the others (pressure and the like) only while not False.
      const span = c.type === 'Ready' || c.status !== 'False' ? `${c.type}=${c.status}` : undefined;
      if (view.conditions.get(c.type) === span) continue;
      const track = this.track(host, `condition ${c.type}`);
      if (span) this.openSpan(track, span, ts, { status: c.status, reason: c.reason ?? '', message: c.message ?? '' });
      else this.close(track, ts);
      if (span) view.conditions.set(c.type, span);
      else view.conditions.delete(c.type);
    }
    for (const type of [...view.conditions.keys()]) {
      if (seen.has(type)) continue;
      this.close(this.track(host, `condition ${type}`), ts);
      view.conditions.delete(type);
    }
    const taints = new Map((deleted ? [] : (spec.taints ?? [])).map((t) => [`${t.key}:${t.effect}`, t]));
    for (const [k, t] of taints) if (!view.taints.has(k)) this.openSpan(this.track(host, `taint ${k}`), k, ts, { key: t.key, value: t.value ?? '', effect: t.effect });
    for (const k of view.taints) if (!taints.has(k)) this.close(this.track(host, `taint ${k}`), ts);
    view.taints = new Set(taints.keys());
    const cordoned = !deleted && spec.unschedulable === true;
    if (cordoned !== view.unschedulable) {
      const track = this.track(host, 'unschedulable');
      if (cordoned) this.openSpan(track, 'SchedulingDisabled', ts, {});
      else this.close(track, ts);
      view.unschedulable = cordoned;
    }
    if (deleted) this.nodes.delete(name);
  }

  private fault(e: TraceEvent): void {
    const ts = this.ts(e.atMs);
    const mark = parseFaultMark(e.detail);
    if (!mark) {
      this.emit({ ph: 'i', ts, s: 'g', pid: 0, tid: 0, name: e.detail.split(' ')[0] ?? 'fault', cat: 'fault', args: { detail: e.detail } });
      return;
    }
    const hosts = mark.hosts.length === 0 ? ['network'] : [...new Set(mark.hosts.map((h) => this.faultHost(h)))];
    const name = mark.fault || mark.id;
    if (mark.phase === 'start') {
      this.faults.set(mark.id, { hosts, name });
      for (const h of hosts) this.emit({ ph: 'b', ts, pid: this.process(h), cat: 'fault', name, id2: { local: mark.id }, args: { fault: mark.fault, hosts: mark.hosts.join(', ') || '*' } });
    } else if (mark.phase === 'heal') {
      const open = this.faults.get(mark.id);
      if (!open) return;
      for (const h of open.hosts) this.emit({ ph: 'e', ts, pid: this.process(h), cat: 'fault', name: open.name, id2: { local: mark.id }, args: { healed: true } });
      this.faults.delete(mark.id);
    } else {
      for (const h of hosts) this.emit({ ph: 'n', ts, pid: this.process(h), cat: 'fault', name, id2: { local: mark.id }, args: { fault: mark.fault } });
    }
  }

  /** SPEC §1 host names in faults: `node-1` may stand for `node/node-1`; `backend/ceph/mon-a` is on `backend/ceph`. */
  private faultHost(h: string): string {
    if (!h.includes('/') && this.nodes.has(h)) return `node/${h}`;
    if (h.startsWith('backend/')) return h.split('/').slice(0, 2).join('/');
    return h;
  }

  // --- hosts, threads, tracks and the document ---

  /** The host (process) of an actor address: the bus's host, in SPEC §1's names; the user's and the run's own addresses on `kubectl` and `ksim`. */
  private hostOfAddress(address: string): string {
    if (address === 'user' || address === 'kubectl') return 'kubectl';
    if (address === 'world' || address === 'dns-probe') return 'ksim';
    return this.hostFor(address);
  }

  private process(host: string): number {
    let pid = this.hosts.get(host);
    if (pid === undefined) {
      pid = this.hosts.size + 1;
      this.hosts.set(host, pid);
      this.emit({ ph: 'M', pid, tid: 0, name: 'process_name', args: { name: host } });
      this.emit({ ph: 'M', pid, tid: 0, name: 'process_sort_index', args: { sort_index: hostGroup(host) * 1000 + pid } });
    }
    return pid;
  }

  private named(host: string, name: string, key: string): Thread {
    let t = this.threads.get(key);
    if (!t) {
      const pid = this.process(host);
      t = { pid, tid: this.nextTid++ };
      this.threads.set(key, t);
      this.emit({ ph: 'M', pid, tid: t.tid, name: 'thread_name', args: { name } });
      this.emit({ ph: 'M', pid, tid: t.tid, name: 'thread_sort_index', args: { sort_index: t.tid } });
    }
    return t;
  }

  /** The thread of an actor. */
  private thread(address: string): Thread {
    const t = this.threads.get(address);
    return t ?? this.named(this.hostOfAddress(address), address, address);
  }

  /** A span track on a host (a pod, a node condition ...). */
  private track(host: string, name: string): Track {
    const key = `${host}\u0000${name}`;
    let t = this.tracks.get(key);
    if (!t) {
      t = { ...this.named(host, name, key), open: undefined };
      this.tracks.set(key, t);
    }
    return t;
  }

  private openSpan(t: Track, name: string, ts: number, args: Args): void {
    this.close(t, ts);
    this.emit({ ph: 'B', ts, pid: t.pid, tid: t.tid, name, cat: 'state', args });
    t.open = name;
  }

  private close(t: Track, ts: number): void {
    if (t.open === undefined) return;
    this.emit({ ph: 'E', ts, pid: t.pid, tid: t.tid, name: t.open, cat: 'state' });
    t.open = undefined;
  }

  private instant(t: Thread, ts: number, name: string, cat: string, args: Args): void {
    this.emit({ ph: 'i', ts, s: 't', pid: t.pid, tid: t.tid, name, cat, args });
  }

  /** Microseconds for an event happening now at `atMs`: one after the previous event, at the earliest. */
  private ts(atMs: number): number {
    this.lastTs = Math.max(atMs * 1000, this.lastTs + 1);
    return this.lastTs;
  }

  private emit(ev: Record<string, unknown>): void {
    this.opts.write((this.first ? '' : ',\n') + JSON.stringify(ev));
    this.first = false;
  }
}

function splitRoute(route: string): [string, string] {
  const i = route.indexOf('>');
  return i < 0 ? [route, route] : [route.slice(0, i), route.slice(i + 1)];
}
