/**
 * dns-consistent (SPEC §6): after settling, each ready pod's DNS name resolves to its current
 * IP, and a pod that is not ready is not published (unless its Service has
 * publishNotReadyAddresses). Judged by asking cluster DNS itself, over the bus, at the end of
 * the run; an answer that disagrees is asked again after the cache TTL (5 s, CoreDNS
 * defaultTTL), so only a lasting disagreement is a violation.
 */
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { ObjectStore } from '../../src/store.ts';
import { isPodReady } from '../../src/model/objects.ts';
import type { Violation } from './types.ts';

export interface DnsProbe {
  pod: string;
  namespace: string;
  fqdn: string;
  /** The IP the name must resolve to, or undefined when the name must not resolve to `ip`. */
  want: string | undefined;
  ip: string;
}

/** What to ask: one probe per pod with a hostname under a headless Service of its namespace. */
export function dnsProbes(store: ObjectStore, zone = 'cluster.local'): DnsProbe[] {
  const out: DnsProbe[] = [];
  for (const pod of store.list('Pod') as Pod[]) {
    const ns = pod.metadata!.namespace!;
    const sub = pod.spec?.subdomain;
    const host = pod.spec?.hostname;
    const ip = pod.status?.podIP;
    if (!sub || !host || !ip) continue;
    const svc = store.get('Service', ns, sub) as Service | undefined;
    if (!svc || svc.spec?.clusterIP !== 'None') continue;
    const sel = svc.spec?.selector ?? {};
    const labels = pod.metadata?.labels ?? {};
    if (Object.keys(sel).length === 0 || !Object.entries(sel).every(([k, v]) => labels[k] === v)) continue;
    const ready = isPodReady(pod) && !pod.metadata!.deletionTimestamp;
    const published = ready || !!svc.spec?.publishNotReadyAddresses;
    out.push({ pod: pod.metadata!.name!, namespace: ns, fqdn: `${host}.${sub}.${ns}.svc.${zone}.`, want: published ? ip : undefined, ip });
  }
  return out;
}

export function probeHolds(p: DnsProbe, answers: readonly string[]): boolean {
  return p.want !== undefined ? answers.length === 1 && answers[0] === p.want : !answers.includes(p.ip);
}

export function dnsViolation(p: DnsProbe, answers: readonly string[], atMs: number): Violation {
  const got = answers.length ? answers.join(', ') : 'NXDOMAIN';
  return {
    invariant: 'dns-consistent',
    atMs,
    message:
      p.want !== undefined
        ? `${p.fqdn} resolves to ${got}, but ready pod ${p.namespace}/${p.pod} has IP ${p.want}`
        : `${p.fqdn} resolves to ${got}, but pod ${p.namespace}/${p.pod} is not ready`,
    objects: [`Pod/${p.namespace}/${p.pod}`],
  };
}
