/**
 * The messages that travel on the bus: the Kubernetes API (requests, responses, watch events,
 * Event reports), kubelet exec and node-shell requests, and DNS queries. Every message is a plain
 * immutable record; objects inside messages are never mutated by a receiver (copy first).
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

/** ObjectMeta without kubernetes-types' readonly markers: the API server fills these fields in. */
export type Meta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

/** Any stored Kubernetes object. Concrete shapes come from kubernetes-types. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: any;
  status?: any;
  [field: string]: unknown;
}

/** Kubernetes' metav1.Status, as an API error travels. */
export interface ApiStatus {
  code: number;
  reason: 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Forbidden' | 'BadRequest' | 'Timeout' | 'InternalError';
  message: string;
}

export type PatchType = 'strategic' | 'merge' | 'json';

export type ApiVerb = 'create' | 'update' | 'updateStatus' | 'patch' | 'apply' | 'delete' | 'get' | 'list' | 'bind';

export interface ApiRequest {
  type: 'api.request';
  reqId: string;
  verb: ApiVerb;
  kind: string;
  namespace?: string;
  name?: string;
  obj?: KObject;
  patch?: unknown;
  patchType?: PatchType;
  gracePeriodSeconds?: number;
  /** delete precondition: only delete the object with this uid. */
  uid?: string;
  /** bind: the node to assign. */
  nodeName?: string;
  /** list: only objects on this node (pods' spec.nodeName). */
  fieldNodeName?: string;
  /** list: only the object of this name (field selector metadata.name). */
  fieldName?: string;
  /**
   * patch: the fieldValidation directive (kubectl's --validate: `strict` by default). Unknown
   * fields in the patched object are an error under strict, a warning under warn.
   */
  fieldValidation?: 'strict' | 'warn' | 'ignore';
}

export interface ApiResponse {
  type: 'api.response';
  reqId: string;
  ok: boolean;
  obj?: KObject;
  items?: KObject[];
  /** list: the collection's resourceVersion (ListMeta), where a watch can start from. */
  resourceVersion?: string;
  status?: ApiStatus;
  /** Warning headers of the response (unknown fields under fieldValidation=warn). */
  warnings?: string[];
}

/**
 * Opens a watch of one kind (client-go opens one per resource) from `resourceVersion`: the API
 * server sends every change after that revision from its watch cache, in order, then keeps
 * streaming; a revision older than the cache holds gets an ERROR event (410 Expired). A new
 * watch from the same client for the same kind replaces the previous one.
 */
export interface WatchRequest {
  type: 'api.watch';
  /** Names this watch's stream: its events carry it, and a broken stream is reported by it. */
  watchId: string;
  kind: string;
  resourceVersion: string;
  /** Only pods with this spec.nodeName (the kubelet's field selector). */
  nodeName?: string;
  /** Only the object of this name (field selector metadata.name: the kubelet's own Node). */
  name?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';

export interface WatchEvent {
  type: 'watch';
  watchId: string;
  event: WatchEventType;
  /** The object; for ERROR a metav1.Status (kind Status, code, reason, message). */
  obj: KObject;
  /**
   * summarize()'s text for this event (`watchSummary`), when the sender made it once for all the
   * watchers of one commit: the trace line of every copy is the same.
   */
  summary?: string;
}

/**
 * The client's end of a watch stream broke (a lost message, a partition, the server gone): what
 * a reflector sees when its watch's connection fails. Delivered by the network, not a peer.
 */
export interface WatchBroken {
  type: 'watch.broken';
  watchId: string;
}

export interface InvolvedObject {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** An Event as EventRecorder creates it; the API server aggregates like the events library. */
export interface EventReport {
  type: 'api.event';
  eventType: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: string;
  involvedObject: InvolvedObject;
}

export type ExecOp = 'write' | 'read';
export interface ExecRequest {
  type: 'exec.request';
  reqId: string;
  namespace: string;
  pod: string;
  container?: string;
  op: ExecOp;
  path: string;
  data?: string;
  append?: boolean;
}

export type NodeShellOp = 'writeNode' | 'mkdirNode' | 'readNode';
export interface NodeShellRequest {
  type: 'node.request';
  reqId: string;
  node: string;
  op: NodeShellOp;
  path: string;
  data?: string;
}

/**
 * The kubelet took an exec request: the stream is connected and the command runs (its result
 * follows as a shell.response, however long the command blocks).
 */
export interface ExecStarted {
  type: 'exec.started';
  reqId: string;
}

/** Reply to exec and node-shell requests. */
export interface ShellResponse {
  type: 'shell.response';
  reqId: string;
  ok: boolean;
  data?: string;
  error?: string;
}

export interface DnsQuery {
  type: 'dns.query';
  reqId: string;
  name: string;
  qtype: 'A' | 'SRV';
  /** resolv.conf search list of the asking pod's namespace. */
  search: string[];
}

export interface DnsAnswer {
  type: 'dns.answer';
  reqId: string;
  rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';
  answers: string[];
}

export type Msg =
  | ApiRequest
  | ApiResponse
  | WatchRequest
  | WatchEvent
  | WatchBroken
  | EventReport
  | ExecRequest
  | NodeShellRequest
  | ExecStarted
  | ShellResponse
  | DnsQuery
  | DnsAnswer
  | UserAction
  | ExtMsg;

/**
 * Messages defined outside the kernel (backends/protocol.ts: csi.request, file.request, ...).
 * The kernel only needs their type and a one-line summary for the trace.
 */
export interface ExtMsg {
  type: 'csi.request' | 'csi.response' | 'file.request' | 'file.response';
  reqId: string;
  [field: string]: unknown;
}

export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function keyOf(obj: KObject): string {
  return objectKey(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '');
}

function ref(kind: string, ns: string | undefined, name: string | undefined): string {
  return ns ? `${kind}/${ns}/${name ?? ''}` : `${kind}/${name ?? ''}`;
}

/** summarize()'s text for a watch event other than ERROR (no watch id: the same for every watcher). */
export function watchSummary(event: WatchEventType, obj: KObject): string {
  return `watch ${event} ${ref(obj.kind, obj.metadata.namespace, obj.metadata.name)} rv=${obj.metadata.resourceVersion}`;
}

/** The compact, canonical summary of a message that the trace hashes. */
export function summarize(m: Msg): string {
  switch (m.type) {
    case 'api.request':
      return `api.request ${m.reqId} ${m.verb} ${ref(m.kind, m.namespace ?? m.obj?.metadata.namespace, m.name ?? m.obj?.metadata.name)}`;
    case 'api.response':
      return `api.response ${m.reqId} ${m.ok ? 'ok' : m.status?.code} ${m.obj ? `rv=${m.obj.metadata.resourceVersion}` : ''}${m.items ? ` n=${m.items.length} rv=${m.resourceVersion ?? ''}` : ''}`;
    case 'api.watch':
      return `api.watch ${m.watchId} ${m.kind} rv=${m.resourceVersion}${m.nodeName ? ` node=${m.nodeName}` : ''}${m.name ? ` name=${m.name}` : ''}`;
    case 'watch':
      return m.event === 'ERROR'
        ? `watch ${m.watchId} ERROR ${String(m.obj['code'])} ${String(m.obj['message'])}`
        : (m.summary ?? watchSummary(m.event, m.obj));
    case 'watch.broken':
      return `watch.broken ${m.watchId}`;
    case 'api.event':
      return `api.event ${m.reason} ${ref(m.involvedObject.kind, m.involvedObject.namespace, m.involvedObject.name)} ${m.message}`;
    case 'exec.request':
      return `exec.request ${m.reqId} ${m.op} ${m.namespace}/${m.pod} ${m.path}${m.data !== undefined ? ` ${JSON.stringify(m.data)}` : ''}`;
    case 'node.request':
      return `node.request ${m.reqId} ${m.op} ${m.node} ${m.path}${m.data !== undefined ? ` ${JSON.stringify(m.data)}` : ''}`;
    case 'exec.started':
      return `exec.started ${m.reqId}`;
    case 'shell.response':
      return `shell.response ${m.reqId} ${m.ok} ${m.data !== undefined ? JSON.stringify(m.data) : (m.error ?? '')}`;
    case 'dns.query':
      return `dns.query ${m.reqId} ${m.qtype} ${m.name}`;
    case 'dns.answer':
      return `dns.answer ${m.reqId} ${m.rcode} ${m.answers.join(',')}`;
    case 'user.action':
      return `user.action ${m.index}`;
    case 'csi.request': {
      const c = m['call'] as { method: string; volumeId?: string; name?: string; nodeId?: string };
      return `csi.request ${m.reqId} ${c.method} ${c.volumeId ?? c.name ?? ''}${c.nodeId ? ` node=${c.nodeId}` : ''}`;
    }
    case 'csi.response':
      return `csi.response ${m.reqId} ${String(m['code'])} ${String(m['message'] ?? '')}`;
    case 'file.request':
      return `file.request ${m.reqId} ${String(m['op'])} ${String(m['volumeId'])}${String(m['path'])}${m['data'] !== undefined ? ` ${JSON.stringify(m['data'])}` : ''}`;
    case 'file.response':
      return `file.response ${m.reqId} ${String(m['ok'])} ${m['data'] !== undefined ? JSON.stringify(m['data']) : String(m['error'] ?? '')}`;
  }
}

/** The world hands a scenario action to the kubectl actor at the action's time. */
export interface UserAction {
  type: 'user.action';
  index: number;
}
