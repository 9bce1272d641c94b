/**
 * Cluster DNS as a user sees it from a pod (nslookup actions), fed only by Services and
 * EndpointSlices over watches: short names through the search path, FQDNs, headless services,
 * NXDOMAIN, readiness, and the 5 s TTL cache.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

const CURL = `apiVersion: v1
kind: Pod
metadata: {name: curl}
spec:
  containers: [{name: curl, image: curlimages/curl, command: [sleep, "3600"]}]
`;

function world(actions: string, extra: string[] = [], seed = 4): Simulation {
  return Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), CURL, ...extra, scenarioDoc(`duration: 10m\nactions:\n${actions}`)), { seed });
}

const ip = (s: Simulation, pod: string) => s.get('Pod', pod)!.status.podIP as string;
const results = (s: Simulation) => s.report().results;
const byIp = (a: string, b: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0) - b.split('.').reduce((x, o) => x * 256 + Number(o), 0);

describe('cluster DNS', () => {
  it('a pod name resolves through the search path (web-0.nginx from default)', () => {
    const s = world('  - {at: 2m, nslookup: {name: web-0.nginx, from: pod/curl}}');
    s.runFor('3m');
    expect(results(s)[0]).to.deep.include({ ok: true, answers: [ip(s, 'web-0')] });
  });

  it('the FQDN resolves', () => {
    const s = world('  - {at: 2m, nslookup: {name: web-1.nginx.default.svc.cluster.local, from: pod/curl}}');
    s.runFor('3m');
    expect(results(s)[0]).to.deep.include({ ok: true, answers: [ip(s, 'web-1')] });
  });

  it('a headless service resolves to every ready pod, sorted', () => {
    const s = world('  - {at: 2m, nslookup: {name: nginx, from: pod/curl}}');
    s.runFor('3m');
    expect(results(s)[0]!['answers']).to.deep.equal([ip(s, 'web-0'), ip(s, 'web-1')].sort());
  });

  it('SRV records for a headless service name each endpoint', () => {
    const s = world('  - {at: 2m, nslookup: {name: _web._tcp.nginx, type: SRV, from: pod/curl}}');
    s.runFor('3m');
    expect(results(s)[0]!['answers']).to.deep.equal(['0 50 80 web-0.nginx.default.svc.cluster.local.', '0 50 80 web-1.nginx.default.svc.cluster.local.']);
  });

  it('a normal service resolves to its ClusterIP, and kubernetes.default to 10.96.0.1', () => {
    const svc = `apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec:\n  selector: {app: nothing}\n  ports: [{port: 8080}]\n`;
    const s = world('  - {at: 1m, nslookup: {name: api, from: pod/curl}}\n  - {at: 1m, nslookup: {name: kubernetes.default, from: pod/curl}}', [svc]);
    s.runFor('2m');
    expect(results(s)[0]).to.deep.include({ ok: true, answers: [s.get('Service', 'api')!.spec.clusterIP] });
    expect(results(s)[1]).to.deep.include({ ok: true, answers: ['10.96.0.1'] });
  });

  it('an unknown name is NXDOMAIN', () => {
    const s = world('  - {at: 2m, nslookup: {name: web-9.nginx, from: pod/curl, expect: NXDOMAIN}}\n  - {at: 2m, nslookup: {name: nothing.example.com, expect: NXDOMAIN}}');
    s.runFor('3m');
    expect(results(s)[0]).to.deep.include({ ok: false, error: 'NXDOMAIN', answers: [] });
    expect(s.violations()).to.deep.equal([]);
  });

  it('a headless service with no ready endpoints is NXDOMAIN', () => {
    const s = world('  - {at: 2m, scale: {statefulset: web, replicas: 0}}\n  - {at: 4m, nslookup: {name: nginx, from: pod/curl, expect: NXDOMAIN}}');
    s.runFor('5m');
    expect(s.violations()).to.deep.equal([]);
  });

  it('a terminating pod is not published, and its replacement is', () => {
    const s = world('  - {at: 2m, delete: pod/web-1}\n  - {at: 2m1s, nslookup: {name: web-1.nginx, from: pod/curl}}\n  - {at: 4m, nslookup: {name: web-1.nginx, from: pod/curl}}');
    s.runFor('5m');
    expect(results(s)[1]).to.deep.include({ ok: false, error: 'NXDOMAIN' });
    expect(results(s)[2]).to.deep.include({ ok: true, answers: [ip(s, 'web-1')] });
  });

  it('an answer stays cached for the 5 s TTL after its pod went away', () => {
    // Ask once while web-1 runs, delete it, ask again within 5 s and after.
    const s = world('  - {at: 2m, nslookup: {name: web-1.nginx, from: pod/curl}}\n  - {at: 2m500ms, delete: pod/web-1, force: true}\n  - {at: 2m3s, nslookup: {name: web-1.nginx, from: pod/curl}}\n  - {at: 2m6s, nslookup: {name: web-1.nginx, from: pod/curl}}');
    s.runFor('2m10s');
    const [before, , cached, expired] = results(s);
    // Within the TTL the old pod's address is still served from the cache...
    expect(cached!['answers']).to.deep.equal(before!['answers']);
    // ...after it, the answer follows the EndpointSlice: gone, or the replacement's new IP.
    expect(expired!['answers']).to.not.deep.equal(before!['answers']);
  });

  it('publishNotReadyAddresses publishes pods before they are ready', () => {
    const svc = NGINX_SERVICE.replace('clusterIP: None', 'clusterIP: None\n  publishNotReadyAddresses: true').replace('name: nginx\n', 'name: nginx-all\n');
    const s = world('  - {at: 2m, nslookup: {name: nginx-all, from: pod/curl}}', [svc]);
    s.runFor('3m');
    expect(results(s)[0]!['answers']).to.deep.equal([ip(s, 'web-0'), ip(s, 'web-1')].sort());
  });

  it('a headless service of 120 pods, in two EndpointSlices, resolves to every ready pod; invariants hold through a scale-down to 40', () => {
    const actions = '  - {at: 3m, nslookup: {name: nginx, from: pod/curl}}\n  - {at: 3m, scale: {statefulset: web, replicas: 40}}\n  - {at: 5m, nslookup: {name: nginx, from: pod/curl}}';
    const s = Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 120, policy: 'Parallel' }), CURL, scenarioDoc(`duration: 6m\nactions:\n${actions}`)), { seed: 4 });
    s.runFor('3m');
    const sizes = () => s.list<{ endpoints?: unknown[] } & { metadata: { labels?: Record<string, string> } }>('EndpointSlice').filter((sl) => sl.metadata.labels?.['kubernetes.io/service-name'] === 'nginx').map((sl) => sl.endpoints?.length ?? 0);
    expect(sizes()).to.have.members([100, 20]);
    s.runScenario();
    const [before, after] = [results(s)[0]!, results(s)[2]!];
    expect(before['answers']).to.have.length(120);
    expect(after['answers']).to.deep.equal(Array.from({ length: 40 }, (_, i) => ip(s, `web-${i}`)).sort(byIp));
    expect(sizes().reduce((a, b) => a + b)).to.equal(40);
    expect(s.violations()).to.deep.equal([]);
  });
});
