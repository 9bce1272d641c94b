import { expect } from 'chai';
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { clusterDns, searchNames } from '../../actors/cluster-dns.ts';
import type { Component } from '../../src/component.ts';
import type { DnsAnswer, KObject } from '../../src/protocol.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { listAndWatch, watchEvent } from '../helpers/list-and-watch.ts';

const SEARCH = (ns: string) => [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];

let rv = 1;

function service(name: string, o: { clusterIP?: string; ports?: { name?: string; port: number; protocol?: string }[]; ns?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}`, resourceVersion: String(rv++) },
    spec: { clusterIP: o.clusterIP ?? 'None', selector: { app: name }, ports: o.ports ?? [{ name: 'web', port: 80, protocol: 'TCP' }] },
  };
}

interface Ep {
  ip: string;
  hostname?: string;
  ready?: boolean | null;
}

function slice(svc: string, eps: Ep[], ports: EndpointPort[] = [{ name: 'web', port: 80, protocol: 'TCP' }], ns = 'default'): KObject {
  const endpoints: Endpoint[] = eps.map((e) => {
    const ep: Endpoint = { addresses: [e.ip], conditions: e.ready === null ? {} : { ready: e.ready ?? true } };
    if (e.hostname) ep.hostname = e.hostname;
    return ep;
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': svc }, resourceVersion: String(rv++) },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}

function withRv(obj: KObject): KObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv++) } };
}

class Dns {
  readonly port = new FakePort('cluster-dns');
  readonly c: Component;
  private n = 0;
  /** CoreDNS's watch of each kind, opened after its informers listed an empty cluster. */
  readonly watches: Map<string, string>;
  /** What its informers asked for first. */
  readonly asked: string[];
  constructor(opts?: { ttlSeconds?: number }) {
    this.c = clusterDns(this.port, opts);
    this.c.start?.();
    this.asked = this.port.sent.map(({ msg }) => (msg.type === 'api.request' ? `${msg.verb} ${msg.kind}` : msg.type));
    this.watches = listAndWatch(this.c, this.port);
  }
  feed(event: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KObject): void {
    this.c.receive(watchEvent(this.watches, event, obj), 'apiserver');
  }
  at(ms: number): this {
    this.port.nowMs = ms;
    return this;
  }
  query(name: string, qtype: 'A' | 'SRV' = 'A', ns = 'default'): DnsAnswer {
    const reqId = `q${++this.n}`;
    this.port.take();
    this.c.receive({ type: 'dns.query', reqId, name, qtype, search: SEARCH(ns) }, 'pod/curl');
    const sent = this.port.take();
    expect(sent).to.have.length(1);
    expect(sent[0]!.to).to.equal('pod/curl');
    const msg = sent[0]!.msg;
    if (msg.type !== 'dns.answer') throw new Error(`expected dns.answer, got ${msg.type}`);
    expect(msg.reqId).to.equal(reqId);
    return msg;
  }
  /** The answers, or 'NXDOMAIN'. */
  resolve(name: string, qtype: 'A' | 'SRV' = 'A', ns = 'default'): string[] | string {
    const a = this.query(name, qtype, ns);
    return a.rcode === 'NOERROR' ? a.answers : a.rcode;
  }
}

/** A StatefulSet `web` behind the headless Service `nginx`, as in the StatefulSet tutorial. */
function tutorial(opts?: { ttlSeconds?: number }): Dns {
  const d = new Dns(opts);
  d.feed('ADDED', service('nginx'));
  d.feed('ADDED', slice('nginx', [
    { ip: '10.244.10.2', hostname: 'web-0' },
    { ip: '10.244.2.3', hostname: 'web-1' },
    { ip: '10.244.3.4', hostname: 'web-2', ready: false },
  ]));
  return d;
}

describe('cluster-dns', () => {
  it('watches Services and EndpointSlices only, never pods', () => {
    const d = new Dns();
    expect(d.asked).to.deep.equal(['list Service', 'list EndpointSlice']);
    expect([...d.watches.keys()]).to.deep.equal(['Service', 'EndpointSlice']);
  });

  it('a headless service resolves to every ready pod', () => {
    const d = tutorial();
    // Numeric order: 10.244.2.3 before 10.244.10.2.
    expect(d.resolve('nginx')).to.deep.equal(['10.244.2.3', '10.244.10.2']);
  });

  const searchRows: { name: string; from: string; want: string[] | string }[] = [
    { name: 'web-0.nginx', from: 'default', want: ['10.244.10.2'] },
    { name: 'web-1.nginx.default', from: 'default', want: ['10.244.2.3'] },
    { name: 'web-0.nginx', from: 'other', want: 'NXDOMAIN' },
    { name: 'web-0.nginx.default', from: 'other', want: ['10.244.10.2'] },
    { name: 'web-0.nginx.default.svc', from: 'other', want: ['10.244.10.2'] },
    { name: 'WEB-0.Nginx', from: 'default', want: ['10.244.10.2'] },
  ];
  for (const row of searchRows) {
    it(`a pod name resolves through the search path (web-0.nginx from default): ${row.name} from ${row.from}`, () => {
      const d = tutorial();
      d.feed('ADDED', service('x', { ns: 'other', clusterIP: '10.96.0.50' }));
      expect(d.resolve(row.name, 'A', row.from)).to.deep.equal(row.want);
    });
  }

  for (const name of ['web-0.nginx.default.svc.cluster.local', 'web-0.nginx.default.svc.cluster.local.']) {
    it(`the FQDN resolves: ${name}`, () => {
      expect(tutorial().resolve(name, 'A', 'other')).to.deep.equal(['10.244.10.2']);
    });
  }

  // web-2 exists but is not ready; `web-0.nginx.` is absolute and outside the zone.
  const unknown = ['nope', 'web-9.nginx', 'web-2.nginx', 'nginx.other', 'example.com', 'web-0.nginx.', 'a.b.web-0.nginx.default.svc.cluster.local'];
  for (const name of unknown) {
    it(`an unknown name is NXDOMAIN: ${name}`, () => {
      expect(tutorial().resolve(name)).to.equal('NXDOMAIN');
    });
  }

  it('an absolute name is not expanded with the search list', () => {
    expect(searchNames('web-0.nginx.', SEARCH('default'))).to.deep.equal(['web-0.nginx.']);
    expect(searchNames('web-0.nginx', SEARCH('default'))).to.deep.equal([
      'web-0.nginx.default.svc.cluster.local.',
      'web-0.nginx.svc.cluster.local.',
      'web-0.nginx.cluster.local.',
      'web-0.nginx.',
    ]);
    // ndots:5 reached: the name as is goes first.
    expect(searchNames('a.b.c.d.e.f', ['x'])).to.deep.equal(['a.b.c.d.e.f.', 'a.b.c.d.e.f.x.']);
  });

  it('a namespace name alone is NODATA, not NXDOMAIN', () => {
    const a = tutorial().query('default.svc.cluster.local.');
    expect(a).to.include({ rcode: 'NOERROR' });
    expect(a.answers).to.deep.equal([]);
  });

  const noReady: { what: string; eps: Ep[] }[] = [
    { what: 'no endpoints', eps: [] },
    { what: 'only not-ready endpoints', eps: [{ ip: '10.244.1.5', hostname: 'web-0', ready: false }] },
  ];
  for (const row of noReady) {
    it(`a headless service with no ready endpoints is NXDOMAIN (${row.what})`, () => {
      const d = new Dns();
      d.feed('ADDED', service('nginx'));
      d.feed('ADDED', slice('nginx', row.eps));
      expect(d.resolve('nginx')).to.equal('NXDOMAIN');
      expect(d.resolve('web-0.nginx')).to.equal('NXDOMAIN');
    });
  }

  it('a not-ready pod is not published, and ready unset counts as ready', () => {
    const d = new Dns();
    d.feed('ADDED', service('nginx'));
    d.feed('ADDED', slice('nginx', [
      { ip: '10.244.1.5', hostname: 'web-0', ready: false },
      { ip: '10.244.1.6', hostname: 'web-1', ready: null },
    ]));
    expect(d.resolve('nginx')).to.deep.equal(['10.244.1.6']);
    expect(d.resolve('web-0.nginx')).to.equal('NXDOMAIN');
    expect(d.resolve('web-1.nginx')).to.deep.equal(['10.244.1.6']);
  });

  it('an endpoint without hostname is named by its dashed IP', () => {
    const d = new Dns();
    d.feed('ADDED', service('db'));
    d.feed('ADDED', slice('db', [{ ip: '10.244.1.7' }]));
    expect(d.resolve('10-244-1-7.db')).to.deep.equal(['10.244.1.7']);
  });

  it('an answer stays cached for the 5 s TTL after its pod went away', () => {
    const d = tutorial();
    expect(d.at(0).resolve('web-0.nginx')).to.deep.equal(['10.244.10.2']);
    // web-0 is deleted: the slice no longer lists it.
    d.at(1000).feed('MODIFIED', withRv(slice('nginx', [{ ip: '10.244.2.3', hostname: 'web-1' }])));
    expect(d.at(2000).resolve('web-0.nginx')).to.deep.equal(['10.244.10.2']);
    expect(d.at(4999).resolve('web-0.nginx')).to.deep.equal(['10.244.10.2']);
    expect(d.at(5000).resolve('web-0.nginx')).to.equal('NXDOMAIN');
    // The NXDOMAIN is cached for the SOA minimum (5 s) too.
    d.at(6000).feed('MODIFIED', withRv(slice('nginx', [{ ip: '10.244.1.9', hostname: 'web-0' }])));
    expect(d.at(9999).resolve('web-0.nginx')).to.equal('NXDOMAIN');
    expect(d.at(10000).resolve('web-0.nginx')).to.deep.equal(['10.244.1.9']);
  });

  it('ttlSeconds 0 disables caching', () => {
    const d = tutorial({ ttlSeconds: 0 });
    expect(d.resolve('web-0.nginx')).to.deep.equal(['10.244.10.2']);
    d.feed('MODIFIED', withRv(slice('nginx', [{ ip: '10.244.2.3', hostname: 'web-1' }])));
    expect(d.resolve('web-0.nginx')).to.equal('NXDOMAIN');
  });

  it('a normal service resolves to its ClusterIP, even with no endpoints', () => {
    const d = new Dns();
    d.feed('ADDED', service('web', { clusterIP: '10.96.12.34' }));
    expect(d.resolve('web')).to.deep.equal(['10.96.12.34']);
    d.feed('ADDED', slice('web', [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }]));
    expect(d.at(10_000).resolve('web.default.svc.cluster.local')).to.deep.equal(['10.96.12.34']);
    // Its endpoints still have names of their own.
    expect(d.resolve('10-244-1-5.web')).to.deep.equal(['10.244.1.5']);
  });

  const srvRows: { what: string; name: string; want: string[] }[] = [
    {
      what: 'by port name',
      name: '_web._tcp.nginx',
      want: ['0 50 80 web-0.nginx.default.svc.cluster.local.', '0 50 80 web-1.nginx.default.svc.cluster.local.'],
    },
    {
      what: 'on the bare service name, every port',
      name: 'nginx.default.svc.cluster.local',
      want: [
        '0 25 80 web-0.nginx.default.svc.cluster.local.',
        '0 25 443 web-0.nginx.default.svc.cluster.local.',
        '0 25 80 web-1.nginx.default.svc.cluster.local.',
        '0 25 443 web-1.nginx.default.svc.cluster.local.',
      ],
    },
    { what: 'one endpoint', name: 'web-1.nginx', want: ['0 50 80 web-1.nginx.default.svc.cluster.local.', '0 50 443 web-1.nginx.default.svc.cluster.local.'] },
  ];
  for (const row of srvRows) {
    it(`SRV records for a headless service name each endpoint (${row.what})`, () => {
      const d = new Dns();
      d.feed('ADDED', service('nginx', { ports: [{ name: 'web', port: 80 }, { name: 'https', port: 443 }] }));
      d.feed('ADDED', slice('nginx', [
        { ip: '10.244.1.5', hostname: 'web-0' },
        { ip: '10.244.1.6', hostname: 'web-1' },
        { ip: '10.244.1.7', hostname: 'web-2', ready: false },
      ], [{ name: 'web', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' }]));
      expect(d.resolve(row.name, 'SRV')).to.deep.equal(row.want);
    });
  }

  it('SRV weights round down as CoreDNS computes them (three endpoints: 33)', () => {
    const d = new Dns();
    d.feed('ADDED', service('nginx'));
    d.feed('ADDED', slice('nginx', [{ ip: '10.244.1.5', hostname: 'web-0' }, { ip: '10.244.1.6', hostname: 'web-1' }, { ip: '10.244.1.7' }]));
    expect(d.resolve('_web._tcp.nginx', 'SRV')).to.deep.equal([
      '0 33 80 10-244-1-7.nginx.default.svc.cluster.local.',
      '0 33 80 web-0.nginx.default.svc.cluster.local.',
      '0 33 80 web-1.nginx.default.svc.cluster.local.',
    ]);
    expect(d.resolve('_nope._tcp.nginx', 'SRV')).to.equal('NXDOMAIN');
  });

  it('SRV for a normal service points at the service name', () => {
    const d = new Dns();
    d.feed('ADDED', service('web', { clusterIP: '10.96.12.34', ports: [{ name: 'http', port: 80 }] }));
    expect(d.resolve('_http._tcp.web', 'SRV')).to.deep.equal(['0 100 80 web.default.svc.cluster.local.']);
  });

  it('a headless service without ports resolves A but has no SRV answer', () => {
    const d = new Dns();
    d.feed('ADDED', service('db', { ports: [] }));
    d.feed('ADDED', slice('db', [{ ip: '10.244.1.5', hostname: 'db-0' }], []));
    expect(d.resolve('db')).to.deep.equal(['10.244.1.5']);
    const a = d.query('db', 'SRV');
    expect(a).to.deep.include({ rcode: 'NOERROR', answers: [] });
  });

  it('a pod IP name resolves in pods insecure mode', () => {
    const d = tutorial();
    expect(d.resolve('10-244-1-7.default.pod.cluster.local')).to.deep.equal(['10.244.1.7']);
    expect(d.resolve('10-244-1.default.pod.cluster.local')).to.equal('NXDOMAIN');
  });

  it('a deleted service is NXDOMAIN once the cache expires', () => {
    const d = new Dns();
    const svc = service('web', { clusterIP: '10.96.12.34' });
    d.feed('ADDED', svc);
    expect(d.at(0).resolve('web')).to.deep.equal(['10.96.12.34']);
    d.feed('DELETED', svc);
    expect(d.at(4000).resolve('web')).to.deep.equal(['10.96.12.34']);
    expect(d.at(5000).resolve('web')).to.equal('NXDOMAIN');
  });
});
