/**
 * kubectl: the user's client (address `kubectl`). The world hands it each scenario action at the
 * action's time (user.action); it carries the action out over the bus the way kubectl does —
 * API requests to the API server, `exec` through the API server to the pod's kubelet, a shell
 * on a node straight to that node, nslookup from a pod to cluster DNS — and reports one result
 * per action to the world's collector.
 *
 * Follows staging/src/k8s.io/kubectl: `apply` (create or update labels, annotations and spec),
 * `delete` (graceful unless --force / --grace-period), `scale`, `patch` (strategic by default),
 * `cordon`/`uncordon` (spec.unschedulable), `drain` (cordon, then evict every pod on the node),
 * `taint` (get, edit spec.taints, update; retried on conflict).
 *
 * `exec` (write, read) is one connection through the API server: once the API server has reached
 * the pod's kubelet (`exec.started`, the upgrade) the command may block as long as it blocks (a
 * hard NFS mount); a connection not upgraded within the request timeout (60 s: its request was
 * lost, the API server is down or cut off) fails with the API server's Timeout text, as every
 * other request of this client does.
 *
 * nslookup asks as the pod's stub resolver does with Kubernetes' resolv.conf (no timeout or
 * attempts options: glibc's RES_TIMEOUT 5 s and RES_DFLRETRY 2, resolv/resolv.h): a query not
 * answered in 5 s is sent again, and after the second the result is `timed out`; an answer of
 * SERVFAIL is the error `SERVFAIL`.
 */
import type { Component, Port } from '../src/component.ts';
import type { ApiResponse, DnsAnswer, KObject, Msg, ShellResponse } from '../src/protocol.ts';
import type { Action } from '../src/scenario/types.ts';
import { ApiClient, REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_STATUS } from '../src/api-client.ts';
import { deepCopy } from '../src/model/objects.ts';

const DNS_TIMEOUT_MS = 5_000;
/** A manifest the API server never answered is applied again after this (ksim's choice). */
const MANIFEST_RETRY_MS = 5_000;
const DNS_ATTEMPTS = 2;
/** The nslookup error when cluster DNS never answered. */
export const DNS_TIMED_OUT = 'timed out';

export interface ActionResult {
  atMs: number;
  index: number;
  action: Action['kind'];
  ok: boolean;
  [field: string]: unknown;
}

export interface KubectlOptions {
  /** The scenario's manifests, applied in file order at start like `kubectl apply -f`. */
  manifests: readonly KObject[];
  onManifestRejected(obj: KObject, message: string): void;
  actions: readonly Action[];
  onResult(result: ActionResult): void;
  zone?: string;
  /** kubectl's --validate: the fieldValidation its patches ask for (default strict). */
  validate?: 'strict' | 'warn' | 'ignore';
}

/** The fields that name what an action was about, for the report. */
function describe(a: Action): Record<string, unknown> {
  switch (a.kind) {
    case 'apply':
      return { target: `${a.manifest.kind.toLowerCase()}/${a.manifest.metadata?.name ?? ''}` };
    case 'delete':
    case 'patch':
      return { target: `${a.target.kind.toLowerCase()}/${a.target.name}` };
    case 'scale':
      return { statefulset: a.statefulset, replicas: a.replicas };
    case 'cordon':
    case 'uncordon':
    case 'drain':
      return { node: a.node };
    case 'taint':
      return { node: a.node, key: a.key };
    case 'write':
    case 'read':
      return { pod: a.pod, path: a.path };
    case 'writeNode':
    case 'mkdirNode':
    case 'readNode':
      return { node: a.node, path: a.path };
    case 'nslookup':
      return { name: a.name, ...(a.from ? { from: a.from } : {}) };
  }
}

export function kubectl(port: Port, opts: KubectlOptions): Component {
  const api = new ApiClient(port);
  const zone = opts.zone ?? 'cluster.local';
  const waiting = new Map<string, (msg: ShellResponse | DnsAnswer) => void>();
  /** DNS queries waiting for an answer: what to do when their 5 s are up. */
  const dnsTimeouts = new Map<string, () => void>();
  let seq = 0;

  function finish(a: Action, ok: boolean, extra: Record<string, unknown>): void {
    opts.onResult({ atMs: a.atMs, index: a.index, action: a.kind, ...describe(a), ok, ...extra });
  }

  function apiResult(a: Action): (res: ApiResponse) => void {
    return (res) => finish(a, res.ok, { ...(res.ok ? {} : { error: res.status?.message ?? 'error' }), ...(res.warnings ? { warnings: res.warnings } : {}) });
  }

  function expectReply(cb: (msg: ShellResponse | DnsAnswer) => void): string {
    const reqId = `kubectl/x#${++seq}`;
    waiting.set(reqId, cb);
    return reqId;
  }

  function taint(a: Action & { kind: 'taint' }, attempt: number): void {
    api.request({ verb: 'get', kind: 'Node', name: a.node }, (res) => {
      if (!res.ok || !res.obj) return apiResult(a)(res);
      const node = deepCopy(res.obj);
      const taints: { key: string; value?: string; effect: string }[] = (node.spec ??= {}).taints ?? [];
      const rest = taints.filter((t) => !(t.key === a.key && (a.remove ? true : t.effect === a.effect)));
      if (a.remove && rest.length === taints.length) return finish(a, false, { error: `taint "${a.key}" not found` });
      node.spec.taints = a.remove ? rest : [...rest, { key: a.key, ...(a.value !== undefined ? { value: a.value } : {}), effect: a.effect }];
      if (node.spec.taints.length === 0) delete node.spec.taints;
      api.request({ verb: 'update', kind: 'Node', name: a.node, obj: node }, (up) => {
        if (!up.ok && up.status?.code === 409 && attempt < 5) return taint(a, attempt + 1);
        apiResult(a)(up);
      });
    });
  }

  function drain(a: Action & { node: string }): void {
    api.request({ verb: 'patch', kind: 'Node', name: a.node, patchType: 'merge', patch: { spec: { unschedulable: true } } }, (res) => {
      if (!res.ok) return apiResult(a)(res);
      api.request({ verb: 'list', kind: 'Pod', fieldNodeName: a.node }, (list) => {
        const pods = (list.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
        if (pods.length === 0) return finish(a, true, {});
        let left = pods.length;
        const evicted: string[] = [];
        for (const p of pods) {
          api.request({ verb: 'delete', kind: 'Pod', namespace: p.metadata.namespace!, name: p.metadata.name! }, () => {
            evicted.push(`${p.metadata.namespace}/${p.metadata.name}`);
            if (--left === 0) finish(a, true, { evicted: evicted.sort() });
          });
        }
      });
    });
  }

  function run(a: Action): void {
    const ns = a.namespace;
    switch (a.kind) {
      case 'apply': {
        const m = a.manifest;
        const obj: KObject = { ...m, metadata: { ...m.metadata, ...(m.metadata?.namespace ? {} : { namespace: ns }) } };
        api.request({ verb: 'apply', kind: m.kind, namespace: obj.metadata.namespace!, name: m.metadata?.name ?? '', obj }, apiResult(a));
        return;
      }
      case 'delete': {
        const grace = a.force ? 0 : a.gracePeriodSeconds;
        api.request({ verb: 'delete', kind: a.target.kind, namespace: ns, name: a.target.name, ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}) }, apiResult(a));
        return;
      }
      case 'scale':
        api.request({ verb: 'patch', kind: 'StatefulSet', namespace: ns, name: a.statefulset, patchType: 'merge', patch: { spec: { replicas: a.replicas } } }, apiResult(a));
        return;
      case 'patch':
        api.request({ verb: 'patch', kind: a.target.kind, namespace: ns, name: a.target.name, patchType: a.patchType, patch: a.patch, fieldValidation: opts.validate ?? 'strict' }, apiResult(a));
        return;
      case 'cordon':
      case 'uncordon':
        api.request(
          { verb: 'patch', kind: 'Node', name: a.node, patchType: 'merge', patch: { spec: { unschedulable: a.kind === 'cordon' ? true : null } } },
          apiResult(a),
        );
        return;
      case 'drain':
        return drain(a);
      case 'taint':
        return taint(a, 0);
      case 'write':
      case 'read': {
        const reqId = expectReply((r) => {
          const s = r as ShellResponse;
          finish(a, s.ok, s.ok ? (a.kind === 'read' ? { data: s.data ?? '' } : {}) : { error: s.error ?? 'error' });
        });
        port.setTimer(`exec/${reqId}`, REQUEST_TIMEOUT_MS);
        port.send('apiserver', {
          type: 'exec.request',
          reqId,
          namespace: ns,
          pod: a.pod,
          op: a.kind,
          path: a.path,
          ...(a.container ? { container: a.container } : {}),
          ...(a.kind === 'write' ? { data: a.data, append: a.append } : {}),
        });
        return;
      }
      case 'writeNode':
      case 'mkdirNode':
      case 'readNode': {
        const reqId = expectReply((r) => {
          const s = r as ShellResponse;
          finish(a, s.ok, s.ok ? (a.kind === 'readNode' ? { data: s.data ?? '' } : {}) : { error: s.error ?? 'error' });
        });
        port.send(`kubelet/${a.node}`, { type: 'node.request', reqId, node: a.node, op: a.kind, path: a.path, ...(a.kind === 'writeNode' ? { data: a.data } : {}) });
        return;
      }
      case 'nslookup': {
        const query = (attempt = 1) => {
          const reqId = expectReply((r) => {
            port.cancelTimer(`dns/${reqId}`);
            const d = r as DnsAnswer;
            const ok = d.rcode === 'NOERROR' && d.answers.length > 0;
            finish(a, ok, ok ? { answers: d.answers } : { answers: [], error: d.rcode === 'NOERROR' ? 'NODATA' : d.rcode });
          });
          dnsTimeouts.set(reqId, () => (attempt < DNS_ATTEMPTS ? query(attempt + 1) : finish(a, false, { answers: [], error: DNS_TIMED_OUT })));
          port.setTimer(`dns/${reqId}`, DNS_TIMEOUT_MS);
          // resolv.conf of a pod in namespace `ns` (kubelet's dns.go): search <ns>.svc.<zone> svc.<zone> <zone>.
          port.send('cluster-dns', { type: 'dns.query', reqId, name: a.name, qtype: a.qtype, search: [`${ns}.svc.${zone}`, `svc.${zone}`, zone] });
        };
        if (!a.from) return query();
        api.request({ verb: 'get', kind: 'Pod', namespace: ns, name: a.from }, (res) => {
          if (!res.ok) return finish(a, false, { error: res.status?.message ?? 'error' });
          if (res.obj?.status?.phase !== 'Running') return finish(a, false, { error: `pod "${a.from}" is not running` });
          query();
        });
        return;
      }
    }
  }

  /**
   * `kubectl apply -f FILE`: one object after the other, each waiting for its response. The
   * manifests are the scenario's starting point: one the API server never answered (its request
   * or answer lost, the server down) is applied again after MANIFEST_RETRY_MS, as whoever runs
   * `kubectl apply -f` runs it again (apply is idempotent); one the API server refused is
   * reported (manifest-rejected) and skipped.
   */
  function applyManifest(i: number): void {
    const m = opts.manifests[i];
    if (!m) return;
    api.request({ verb: 'apply', kind: m.kind, ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}), name: m.metadata.name ?? '', obj: m }, (res) => {
      if (!res.ok && res.status?.code === REQUEST_TIMEOUT_STATUS.code) return port.setTimer(`manifest/${i}`, MANIFEST_RETRY_MS);
      if (!res.ok) opts.onManifestRejected(m, res.status?.message ?? 'error');
      applyManifest(i + 1);
    });
  }

  return {
    start(): void {
      applyManifest(0);
    },
    receive(msg: Msg): void {
      if (api.handle(msg)) return;
      switch (msg.type) {
        case 'user.action': {
          const a = opts.actions[msg.index];
          if (a) run(a);
          return;
        }
        case 'exec.started':
          port.cancelTimer(`exec/${msg.reqId}`);
          return;
        case 'shell.response':
        case 'dns.answer': {
          if (msg.type === 'shell.response') port.cancelTimer(`exec/${msg.reqId}`);
          const cb = waiting.get(msg.reqId);
          if (cb) {
            waiting.delete(msg.reqId);
            dnsTimeouts.delete(msg.reqId);
            cb(msg);
          }
          return;
        }
        default:
          return;
      }
    },
    timer(key: string): void {
      // A request the API server never answered fails with its Timeout after 60 s.
      if (api.timer(key)) return;
      if (key.startsWith('manifest/')) return applyManifest(Number(key.slice('manifest/'.length)));
      if (key.startsWith('exec/')) {
        // The exec connection was never upgraded: the command did not start.
        const cb = waiting.get(key.slice('exec/'.length));
        waiting.delete(key.slice('exec/'.length));
        cb?.({ type: 'shell.response', reqId: key.slice('exec/'.length), ok: false, error: REQUEST_TIMEOUT_STATUS.message });
        return;
      }
      if (!key.startsWith('dns/')) return;
      const reqId = key.slice('dns/'.length);
      const onTimeout = dnsTimeouts.get(reqId);
      if (!onTimeout) return;
      dnsTimeouts.delete(reqId);
      waiting.delete(reqId);
      onTimeout();
    },
  };
}
