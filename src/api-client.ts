/**
 * How a component talks to the API server over the bus: requests carry a reqId unique to the
 * sender; the response is matched back to its callback. Every request with a callback has a
 * deadline (by default the API server's own request timeout, 60 s, kube-apiserver
 * --request-timeout): with no answer in time — the request or its answer was lost, the API
 * server is down or cut off — its callback gets the 504 Timeout status, and the caller retries
 * as its client-go code would. The owner routes its timer keys to `timer()`.
 * Events are sent fire-and-forget, as client-go's EventRecorder does.
 */
import { perBoot, type Port } from './component.ts';
import type { ApiRequest, ApiResponse, EventReport, InvolvedObject, KObject, Msg, WatchRequest } from './protocol.ts';
import { Calls } from './calls.ts';

export const APISERVER = 'apiserver';
/** kube-apiserver --request-timeout default. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** What the API server's timeout filter answers (staging/.../server/filters/timeout.go). */
export const REQUEST_TIMEOUT_STATUS = { code: 504, reason: 'Timeout', message: 'Timeout: request did not complete within requested timeout - context deadline exceeded' } as const;

type Callback = (res: ApiResponse) => void;
export type RequestBody = Omit<ApiRequest, 'type' | 'reqId'>;

export class ApiClient {
  private n = 0;
  private readonly calls: Calls<ApiResponse>;

  constructor(private readonly port: Port) {
    this.calls = new Calls<ApiResponse>(port, 'api-timeout');
  }

  /** Sends a request; `cb` gets the answer, or a 504 Timeout after `timeoutMs` (default 60 s). */
  request(body: RequestBody, cb?: Callback, timeoutMs = REQUEST_TIMEOUT_MS): string {
    const reqId = perBoot(this.port, `${this.port.address}#${++this.n}`);
    if (cb) this.calls.await(reqId, cb, timeoutMs, () => cb({ type: 'api.response', reqId, ok: false, status: { ...REQUEST_TIMEOUT_STATUS } }));
    this.port.send(APISERVER, { type: 'api.request', reqId, ...body } as ApiRequest);
    return reqId;
  }

  /** Consumes an api.response addressed to us; returns false for any other message. */
  handle(msg: Msg): boolean {
    if (msg.type !== 'api.response') return false;
    this.calls.resolve(msg);
    return true;
  }

  /** Routes the owner's timer keys; true when `key` was a request deadline. */
  timer(key: string): boolean {
    return this.calls.timer(key);
  }

  /** Opens the watch `watchId` of `kind` from `resourceVersion` (see WatchRequest). */
  watch(watchId: string, kind: string, resourceVersion: string, nodeName?: string, name?: string): void {
    const req: WatchRequest = { type: 'api.watch', watchId, kind, resourceVersion };
    if (nodeName !== undefined) req.nodeName = nodeName;
    if (name !== undefined) req.name = name;
    this.port.send(APISERVER, req);
  }

  event(obj: KObject | InvolvedObject, eventType: 'Normal' | 'Warning', reason: string, message: string, source: string): void {
    const involvedObject: InvolvedObject =
      'metadata' in obj
        ? { kind: obj.kind, name: obj.metadata.name ?? '', ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}), ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}) }
        : obj;
    const ev: EventReport = { type: 'api.event', eventType, reason, message, source, involvedObject };
    this.port.send(APISERVER, ev);
  }
}
