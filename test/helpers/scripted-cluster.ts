/**
 * The API server and the storage backends as one controller under test sees them, scripted:
 * objects with resourceVersions (409 on a stale update or updateStatus), lists with the
 * collection's resourceVersion, watches (one per kind, by watch id), the watch echo of each
 * write delivered right after its response, Events collected, and CSI calls answered by a
 * scripted `backend`. No XState, bus or clock: the controller is a plain Component on a
 * FakePort, and `advance` runs its timers in deadline order.
 */
import type { CsiCall, CsiRequest } from '../../backends/protocol.ts';
import type { Component } from '../../src/component.ts';
import type { ApiRequest, ApiResponse, EventReport, KObject, Msg, WatchEvent } from '../../src/protocol.ts';
import { FakePort } from './fake-port.ts';

export type CsiReply = { code: number; message?: string; result?: Record<string, unknown> } | 'hold';

export abstract class ScriptedCluster {
  readonly port: FakePort;
  c!: Component;
  readonly objs = new Map<string, KObject>();
  readonly events: EventReport[] = [];
  readonly csiCalls: { atMs: number; to: string; call: CsiCall }[] = [];
  /** What happened, in order: `updateStatus Node/node-1`, `csi ControllerUnpublishVolume`, ... */
  readonly log: string[] = [];
  backend: (call: CsiCall) => CsiReply = () => ({ code: 0 });
  private rv = 1;
  private uids = 0;
  /** The controller's current watch of each kind. */
  readonly watches = new Map<string, string>();

  constructor(address: string) {
    this.port = new FakePort(address);
  }

  /** Messages other than API requests, Events and CSI calls; false leaves them unanswered. */
  protected other(_to: string, _msg: Msg): boolean {
    return false;
  }

  key(kind: string, ns: string | undefined, name: string): string {
    return `${kind}/${ns ?? ''}/${name}`;
  }

  get(kind: string, name: string, ns?: string): KObject | undefined {
    return this.objs.get(this.key(kind, ns, name));
  }

  /** Creates or replaces an object (as another component would) and delivers the watch event. */
  put(obj: KObject): KObject {
    const k = this.key(obj.kind, obj.metadata.namespace, obj.metadata.name!);
    const event: WatchEvent['event'] = this.objs.has(k) ? 'MODIFIED' : 'ADDED';
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.uid ??= this.objs.get(k)?.metadata.uid ?? `uid-${++this.uids}`;
    this.objs.set(k, o);
    this.notify(event, o);
    this.pump();
    return o;
  }

  change(kind: string, name: string, f: (o: KObject) => void, ns?: string): void {
    const o = structuredClone(this.get(kind, name, ns)!);
    f(o);
    this.put(o);
  }

  remove(kind: string, name: string, ns?: string): void {
    const k = this.key(kind, ns, name);
    const o = this.objs.get(k)!;
    this.objs.delete(k);
    this.notify('DELETED', o);
    this.pump();
  }

  /** Delivers a change to the controller's watch of its kind, if it watches it. */
  notify(event: 'ADDED' | 'MODIFIED' | 'DELETED', o: KObject): void {
    const e = this.echo(event, o);
    if (e) this.c.receive(e, 'apiserver');
  }

  private echo(event: 'ADDED' | 'MODIFIED' | 'DELETED', o: KObject): WatchEvent | undefined {
    const watchId = this.watches.get(o.kind);
    return watchId === undefined ? undefined : { type: 'watch', watchId, event, obj: structuredClone(o) };
  }

  /** Answers what the controller sent until it sends nothing more. */
  pump(): void {
    for (let guard = 0; this.port.sent.length > 0; guard++) {
      if (guard > 10_000) throw new Error('message storm');
      for (const { to, msg } of this.port.take()) {
        if (msg.type === 'api.event') this.events.push(msg);
        else if (msg.type === 'api.request') this.serve(msg);
        else if (msg.type === 'api.watch') this.watches.set(msg.kind, msg.watchId);
        else if (msg.type === 'csi.request') this.serveCsi(to, msg as unknown as CsiRequest);
        else this.other(to, msg);
      }
    }
  }

  /** Runs the controller's timers up to `ms` from now, in deadline order. */
  advance(ms: number): void {
    const target = this.port.nowMs + ms;
    while (this.port.fireDue(this.c, target)) this.pump();
    this.port.nowMs = target;
  }

  eventsFor(name: string): string[] {
    return this.events.filter((e) => e.involvedObject.name === name).map((e) => `${e.eventType} ${e.reason} ${e.message}`);
  }

  private reply(req: ApiRequest, r: Omit<ApiResponse, 'type' | 'reqId'>, echo?: WatchEvent): void {
    this.c.receive({ type: 'api.response', reqId: req.reqId, ...r }, 'apiserver');
    if (echo) this.c.receive(echo, 'apiserver');
  }

  private serve(req: ApiRequest): void {
    const ns = req.namespace ?? req.obj?.metadata.namespace;
    const name = req.name ?? req.obj?.metadata.name ?? '';
    const k = this.key(req.kind, ns, name);
    const cur = this.objs.get(k);
    const notFound = { ok: false, status: { code: 404, reason: 'NotFound' as const, message: `${req.kind} "${name}" not found` } };
    // An informer's list (every object of a kind) is the machinery, not what the tests look at.
    const informerList = req.verb === 'list' && req.namespace === undefined;
    if (!informerList) this.log.push(`${req.verb} ${req.kind}/${name}`);
    switch (req.verb) {
      case 'list': {
        const items = [...this.objs.values()].filter((o) => o.kind === req.kind && (req.namespace === undefined || o.metadata.namespace === req.namespace) && (req.fieldNodeName === undefined || o.spec?.nodeName === req.fieldNodeName));
        return this.reply(req, { ok: true, items: structuredClone(items), resourceVersion: String(this.rv) });
      }
      case 'create': {
        if (cur) return this.reply(req, { ok: false, status: { code: 409, reason: 'AlreadyExists', message: `${req.kind} "${name}" already exists` } });
        const o = structuredClone(req.obj!);
        o.metadata.uid = `uid-${++this.uids}`;
        o.metadata.resourceVersion = String(++this.rv);
        this.objs.set(k, o);
        return this.reply(req, { ok: true, obj: structuredClone(o) }, this.echo('ADDED', o));
      }
      case 'update':
      case 'updateStatus': {
        if (!cur) return this.reply(req, notFound);
        const rv = req.obj!.metadata.resourceVersion;
        if (rv !== undefined && rv !== cur.metadata.resourceVersion) return this.reply(req, { ok: false, status: { code: 409, reason: 'Conflict', message: 'conflict' } });
        // The status subresource: an update keeps the stored status, updateStatus changes only it.
        const o =
          req.verb === 'update'
            ? { ...structuredClone(req.obj!), status: structuredClone(cur.status) }
            : { ...structuredClone(cur), status: structuredClone(req.obj!.status) };
        o.metadata.resourceVersion = String(++this.rv);
        this.objs.set(k, o);
        return this.reply(req, { ok: true, obj: structuredClone(o) }, this.echo('MODIFIED', o));
      }
      case 'delete':
        if (!cur) return this.reply(req, notFound);
        this.objs.delete(k);
        return this.reply(req, { ok: true, obj: structuredClone(cur) }, this.echo('DELETED', cur));
      case 'get':
        return this.reply(req, cur ? { ok: true, obj: structuredClone(cur) } : notFound);
      default:
        throw new Error(`unexpected verb ${req.verb}`);
    }
  }

  private serveCsi(to: string, req: CsiRequest): void {
    this.csiCalls.push({ atMs: this.port.nowMs, to, call: req.call });
    this.log.push(`csi ${req.call.method}`);
    const r = this.backend(req.call);
    if (r === 'hold') return;
    this.c.receive({ type: 'csi.response', reqId: req.reqId, code: r.code, message: r.message ?? '', ...(r.result ? { result: r.result } : {}) } as never, to);
  }
}
