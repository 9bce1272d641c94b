/**
 * How a component talks to the API server over the bus: requests carry a reqId unique to the
 * sender; the response is matched back to its callback. A request may carry a deadline: with no
 * answer in time its callback gets the 504 Timeout status the API server's request timeout gives
 * (60 s, kube-apiserver --request-timeout); the owner routes its timer keys to `timer()`.
 * Events are sent fire-and-forget, as client-go's EventRecorder does.
 */
import type { Port } from './component.ts';
import type { ApiRequest, ApiResponse, EventReport, InvolvedObject, KObject, Msg } from './protocol.ts';
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

  /** Sends a request; `timeoutMs` arms a deadline after which `cb` gets a 504 Timeout. */
  request(body: RequestBody, cb?: Callback, timeoutMs?: number): string {
    const reqId = `${this.port.address}#${++this.n}`;
    if (cb && timeoutMs !== undefined) this.calls.await(reqId, cb, timeoutMs, () => cb({ type: 'api.response', reqId, ok: false, status: { ...REQUEST_TIMEOUT_STATUS } }));
    else if (cb) this.calls.await(reqId, cb);
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

  /** Subscribes this component to watch events for `kinds`. */
  watch(kinds: string[], nodeName?: string): void {
    this.port.send(APISERVER, nodeName ? { type: 'api.watch', kinds, nodeName } : { type: 'api.watch', kinds });
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
