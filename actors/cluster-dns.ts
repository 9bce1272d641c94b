/**
 * Cluster DNS: CoreDNS with the `kubernetes` plugin behind the `cache` plugin, plus the stub
 * resolver of the asking pod (resolv.conf search list, ndots:5).
 *
 * Owns: its informers' view of Services and EndpointSlices (never pods: CoreDNS publishes only
 * what the EndpointSlice controller wrote; slices indexed by their Service) and its answer cache.
 * Receives: its informers' lists and watch events, and `dns.query` {name, qtype A|SRV, search}; replies `dns.answer` {rcode, answers} to the sender.
 *
 * Follows coredns plugin/kubernetes (parse.go parseRequest, kubernetes.go Records/findServices/
 * endpointHostname, object/endpoint.go EndpointSliceToEndpoints and endpointsliceReady),
 * plugin/backend_lookup.go (A de-duplication, SRV weights) and plugin/cache; the search walk
 * follows glibc res_search (resolv/res_query.c).
 *
 * Defaults and their sources:
 * - record TTL 5 s: `defaultTTL`, plugin/kubernetes/kubernetes.go; negative answers carry the SOA
 *   whose minimum is that same TTL (`MinTTL`), so the cache keeps NXDOMAIN 5 s too;
 * - zone `cluster.local` (kubeadm's Corefile); `pods insecure` (kubeadm's Corefile) so
 *   `1-2-3-4.<ns>.pod.cluster.local` answers its dashed IP;
 * - ndots 5 and the search list `<ns>.svc.cluster.local svc.cluster.local cluster.local`, which
 *   the kubelet writes into every ClusterFirst pod's resolv.conf (the query carries the list).
 *
 * dnsFailure (SPEC §1), a fault signal `dnsFailure/<key>` {mode, rate}: the server breaks behind its
 * cache. In SERVFAIL mode what the cache holds is still answered from it, and each lookup that
 * reaches the kubernetes plugin fails with SERVFAIL with chance `rate`; the cache keeps a
 * SERVFAIL 5 s (the cache plugin's `servfail` default, plugin/cache/README.md). The stub resolver
 * moves on to the next search name after a SERVFAIL and reports SERVFAIL when no name answered
 * and none was NODATA (glibc res_query.c __res_context_search: got_servfail). In timeout mode
 * each query goes unanswered with chance `rate` (the server is unreachable or overloaded): the
 * client's own timeout decides (actors/kubectl.ts). Each fault draws from its own stream.
 *
 * Departures: no upstream (names outside the zone are NXDOMAIN), no AAAA, an ExternalName
 * Service answers nothing (its CNAME would need an upstream), a namespace counts as existing when
 * one of its Services is known (CoreDNS asks its Namespace informer), and the cache keeps an
 * entry exactly ttlSeconds (the cache plugin's own 5 s floor is not applied; 0 disables caching).
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Component, FaultSignal, Port } from '../src/component.ts';
import type { Rng } from '../src/rng.ts';
import { ApiClient } from '../src/api-client.ts';
import { Informers } from '../src/informer.ts';
import type { DnsAnswer, DnsQuery, KObject, Msg } from '../src/protocol.ts';
import { cmp } from '../src/model/objects.ts';

export const CLUSTER_DNS = 'cluster-dns';

const DEFAULT_TTL_SECONDS = 5;
const DEFAULT_ZONE = 'cluster.local';
const NDOTS = 5;
/** The cache plugin keeps a SERVFAIL this long unless told otherwise (`servfail` option). */
const SERVFAIL_CACHE_MS = 5_000;
/** Expired entries are swept once the cache holds this many (the cache plugin's capacity is 9984). */
const CACHE_SWEEP_SIZE = 9984;
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** EndpointSlices by `namespace/service` (coredns object/endpoint.go indexes slices by service). */
const SLICE_SERVICE_INDEX = 'service';

type Rcode = DnsAnswer['rcode'];
type QType = DnsQuery['qtype'];
type Svc = Service & KObject;
type SliceObj = EndpointSlice & KObject;

export interface ClusterDnsOptions {
  ttlSeconds?: number;
  zone?: string;
  /** --bug dns-ignore-ttl: the cache answers from entries whose TTL has run out. */
  bug?: string;
}

interface Result {
  rcode: Rcode;
  answers: string[];
}

/** A msg.Service of the kubernetes plugin: an address, a port (-1: none declared) and its name. */
interface Rec {
  host: string;
  port: number;
  /** The owner name SRV points at, fully qualified. */
  target: string;
}

/** parseRequest's recordRequest. */
interface RecordRequest {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  podOrSvc: string;
}

/** The names glibc's res_search tries, in order (ndots, search list, trailing-dot absolute). */
export function searchNames(name: string, search: readonly string[], ndots = NDOTS): string[] {
  if (name.endsWith('.')) return [name];
  const dots = name.split('.').length - 1;
  const out: string[] = [];
  if (dots >= ndots) out.push(`${name}.`);
  for (const s of search) {
    const domain = s.replace(/\.$/, '');
    if (domain) out.push(`${name}.${domain}.`);
  }
  if (dots < ndots) out.push(`${name}.`);
  return out;
}

/** endpointHostname: the endpoint's hostname, else its IP with `.`/`:` turned into `-`. */
export function endpointHostname(hostname: string | undefined, ip: string): string {
  if (hostname) return hostname;
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  if (ip.includes(':')) return ip.replaceAll(':', '-');
  return '';
}

/** endpointsliceReady: nil counts as ready. */
function endpointReady(ready: boolean | undefined | null): boolean {
  return ready === undefined || ready === null || ready;
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

function matchPortAndProtocol(aPort: string, bPort: string, aProto: string, bProto: string): boolean {
  return (aPort === '' || aPort === bPort.toLowerCase()) && (aProto === '' || aProto === bProto.toLowerCase());
}

function ipv4Key(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}


export function clusterDns(port: Port, opts: ClusterDnsOptions = {}): Component {
  const api = new ApiClient(port);
  // CoreDNS's own informers (plugin/kubernetes controller.go) resync nothing: resyncPeriod 0.
  const informers = new Informers(port, api, { kinds: ['Service', 'EndpointSlice'], onChange: () => {} });
  const informer = informers.cache;
  informer.addIndex('EndpointSlice', SLICE_SERVICE_INDEX, (o) => {
    const svc = o.metadata.labels?.[LABEL_SERVICE_NAME];
    return svc ? [`${o.metadata.namespace ?? ''}/${svc}`] : [];
  });
  const ttlMs = (opts.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000;
  const ignoreTtl = opts.bug === 'dns-ignore-ttl';
  const zone = `${(opts.zone ?? DEFAULT_ZONE).replace(/\.$/, '').toLowerCase()}.`;
  /** The cache plugin: (qname, qtype) → answer, until it expires. */
  const answerCache = new Map<string, Result & { expiresAtMs: number }>();
  /** dnsFailure faults in force, in the order they started (each with its own stream). */
  let failures: { key: string; mode: 'SERVFAIL' | 'timeout'; rate: number; rng: Rng }[] = [];

  /** Whether a dnsFailure of `mode` strikes this query (one draw per fault in force). */
  function struck(mode: 'SERVFAIL' | 'timeout'): boolean {
    let hit = false;
    for (const f of failures) if (f.mode === mode && f.rng.chance(f.rate)) hit = true;
    return hit;
  }

  function namespaceExposed(ns: string): boolean {
    return informer.sizeIn('Service', ns) > 0;
  }

  /** Slices of a Service, by their kubernetes.io/service-name label, sorted by name. */
  function slicesOf(ns: string, svc: string): SliceObj[] {
    return informer.byIndex<SliceObj>('EndpointSlice', SLICE_SERVICE_INDEX, `${ns}/${svc}`);
  }

  /** parseRequest; undefined stands for errInvalidRequest (a name error). */
  function parseRequest(base: string): RecordRequest | undefined {
    const r: RecordRequest = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
    if (base === '') return r;
    const segs = base.split('.');
    let last = segs.length - 1;
    r.podOrSvc = segs[last]!;
    if (r.podOrSvc !== 'pod' && r.podOrSvc !== 'svc') return undefined;
    if (--last < 0) return r;
    r.namespace = segs[last]!;
    if (--last < 0) return r;
    r.service = segs[last]!;
    if (--last < 0) return r;
    if (last === 0) {
      r.endpoint = segs[0]!;
    } else if (last === 1) {
      r.protocol = stripUnderscore(segs[1]!);
      r.port = stripUnderscore(segs[0]!);
    } else {
      return undefined;
    }
    return r;
  }

  /** Records: the kubernetes plugin's answer set for a name; null records mean a name error. */
  function records(fqdn: string): Rec[] | null {
    const base = fqdn === zone ? '' : fqdn.slice(0, -(zone.length + 1));
    const r = parseRequest(base);
    if (!r) return null;
    if (r.podOrSvc === '') return [];
    if (!namespaceExposed(r.namespace)) return null;
    if (r.podOrSvc === 'pod') return findPods(r);
    return findServices(r);
  }

  /** findPods in `pods insecure` mode: the dashed IP answers for itself. */
  function findPods(r: RecordRequest): Rec[] | null {
    if (r.service === '') return [];
    const podname = r.service;
    if ((podname.match(/-/g) ?? []).length !== 3 || podname.includes('--')) return null;
    const ip = podname.replaceAll('-', '.');
    if (!isIPv4(ip)) return null;
    return [{ host: ip, port: 0, target: `${podname}.${r.namespace}.pod.${zone}` }];
  }

  function findServices(r: RecordRequest): Rec[] | null {
    if (r.service === '') return [];
    const svc = informer.get<Svc>('Service', r.namespace, r.service);
    if (!svc) return null;
    const svcName = `${r.service}.${r.namespace}.svc.${zone}`;
    if (svc.spec?.type === 'ExternalName') return r.endpoint !== '' ? null : [];
    const out: Rec[] = [];
    let found = false;
    if (svc.spec?.clusterIP === 'None' || r.endpoint !== '') {
      // Endpoint query or headless Service: every ready endpoint address, per port.
      for (const slice of slicesOf(r.namespace, r.service)) {
        const ports = (slice.ports ?? []).length === 0
          ? [{ port: -1, name: '', protocol: '' }]
          : (slice.ports ?? []).map((p) => ({ port: p.port ?? -1, name: p.name ?? '', protocol: p.protocol ?? '' }));
        for (const ep of slice.endpoints ?? []) {
          if (!endpointReady(ep.conditions?.ready)) continue;
          for (const ip of ep.addresses) {
            const host = endpointHostname(ep.hostname, ip);
            if (r.endpoint !== '' && r.endpoint !== host.toLowerCase()) continue;
            for (const p of ports) {
              if (!matchPortAndProtocol(r.port, p.name, r.protocol, p.protocol)) continue;
              found = true;
              out.push({ host: ip, port: p.port, target: `${host}.${svcName}` });
            }
          }
        }
      }
      return found ? out : null;
    }
    // ClusterIP Service: its ClusterIP(s), per port, whether or not it has endpoints.
    const ips = (svc.spec?.clusterIPs as string[] | undefined) ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP as string] : []);
    for (const p of svc.spec?.ports ?? []) {
      if (!matchPortAndProtocol(r.port, p.name ?? '', r.protocol, p.protocol ?? 'TCP')) continue;
      found = true;
      for (const ip of ips) out.push({ host: ip, port: p.port, target: svcName });
    }
    return found ? out : null;
  }

  /** What CoreDNS answers for one fully-qualified name (the kubernetes plugin alone). */
  function serve(fqdn: string, qtype: QType): Result {
    if (fqdn !== zone && !fqdn.endsWith(`.${zone}`)) return { rcode: 'NXDOMAIN', answers: [] };
    const recs = records(fqdn);
    if (recs === null) return { rcode: 'NXDOMAIN', answers: [] };
    if (qtype === 'A') {
      const ips = [...new Set(recs.map((x) => x.host).filter(isIPv4))];
      ips.sort((a, b) => ipv4Key(a) - ipv4Key(b));
      return { rcode: 'NOERROR', answers: ips };
    }
    // SRV (backend_lookup.go): weight = floor(100 / total weight of the priority × 100), at
    // least 1; records without a port are counted in the total but not answered.
    const weight = Math.max(1, Math.floor((100 / (100 * recs.length)) * 100));
    const seen = new Set<string>();
    const srv: { target: string; port: number }[] = [];
    for (const x of recs) {
      if (x.port === -1) continue;
      const k = `${x.target} ${x.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      srv.push({ target: x.target, port: x.port });
    }
    srv.sort((a, b) => cmp(a.target, b.target) || a.port - b.port);
    return { rcode: 'NOERROR', answers: srv.map((x) => `0 ${weight} ${x.port} ${x.target}`) };
  }

  /** The cache plugin in front of the kubernetes plugin, keyed by (qname, qtype). */
  function lookup(fqdn: string, qtype: QType): Result {
    const key = `${fqdn} ${qtype}`;
    const now = port.now();
    if (ttlMs > 0) {
      const hit = answerCache.get(key);
      // BUG (--bug dns-ignore-ttl): an expired entry is answered as if it were fresh.
      if (hit && (now < hit.expiresAtMs || ignoreTtl)) return { rcode: hit.rcode, answers: hit.answers };
    }
    const res: Result = struck('SERVFAIL') ? { rcode: 'SERVFAIL', answers: [] } : serve(fqdn, qtype);
    if (ttlMs > 0) {
      if (answerCache.size >= CACHE_SWEEP_SIZE) for (const [k, v] of answerCache) if (v.expiresAtMs <= now) answerCache.delete(k);
      answerCache.set(key, { ...res, expiresAtMs: now + (res.rcode === 'SERVFAIL' ? SERVFAIL_CACHE_MS : ttlMs) });
    }
    return res;
  }

  /**
   * The pod's stub resolver: first name with answers wins; then NODATA if a name had no
   * records of the type, SERVFAIL if a name failed, NXDOMAIN only if every name was.
   */
  function resolve(q: DnsQuery): Result {
    let gotNodata = false;
    let gotServfail = false;
    for (const name of searchNames(q.name.toLowerCase(), q.search.map((s) => s.toLowerCase()))) {
      const res = lookup(name, q.qtype);
      if (res.rcode === 'NOERROR' && res.answers.length > 0) return res;
      if (res.rcode === 'NOERROR') gotNodata = true;
      if (res.rcode === 'SERVFAIL') gotServfail = true;
    }
    if (gotNodata) return { rcode: 'NOERROR', answers: [] };
    return { rcode: gotServfail ? 'SERVFAIL' : 'NXDOMAIN', answers: [] };
  }

  function fault(f: FaultSignal): void {
    if (f.name !== 'dnsFailure' && !f.name.startsWith('dnsFailure/')) return;
    if (!f.on) {
      failures = f.streamKey === undefined ? [] : failures.filter((x) => x.key !== f.streamKey);
      return;
    }
    const key = f.streamKey ?? f.name;
    const mode = f['mode'] === 'timeout' ? 'timeout' : 'SERVFAIL';
    failures = [...failures.filter((x) => x.key !== key), { key, mode, rate: typeof f['rate'] === 'number' ? f['rate'] : 1, rng: port.rng.fork(key) }];
  }

  return {
    start() {
      informers.start();
    },
    fault,
    receive(msg: Msg, from: string) {
      if (api.handle(msg) || informers.handle(msg)) return;
      switch (msg.type) {
        case 'dns.query': {
          if (struck('timeout')) return;
          const res = resolve(msg);
          port.send(from, { type: 'dns.answer', reqId: msg.reqId, rcode: res.rcode, answers: res.answers });
          return;
        }
        default:
          return;
      }
    },
    timer(key: string) {
      if (!api.timer(key)) informers.timer(key);
    },
  };
}
