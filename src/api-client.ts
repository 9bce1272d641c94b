/**
 * How a component talks to the API server over the bus: requests carry a reqId unique to the
 * sender; the response is matched back to its callback. Events are sent fire-and-forget, as
 * client-go's EventRecorder does.
 */
import type { Port } from './component.ts';
import type { ApiRequest, ApiResponse, EventReport, InvolvedObject, KObject, Msg } from './protocol.ts';

export const APISERVER = 'apiserver';

type Callback = (res: ApiResponse) => void;
export type RequestBody = Omit<ApiRequest, 'type' | 'reqId'>;

export class ApiClient {
  private n = 0;
  private readonly pending = new Map<string, Callback>();

  constructor(private readonly port: Port) {}

  request(body: RequestBody, cb?: Callback): string {
    const reqId = `${this.port.address}#${++this.n}`;
    if (cb) this.pending.set(reqId, cb);
    this.port.send(APISERVER, { type: 'api.request', reqId, ...body } as ApiRequest);
    return reqId;
  }

  /** Consumes an api.response addressed to us; returns false for any other message. */
  handle(msg: Msg): boolean {
    if (msg.type !== 'api.response') return false;
    const cb = this.pending.get(msg.reqId);
    if (cb) {
      this.pending.delete(msg.reqId);
      cb(msg);
    }
    return true;
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
