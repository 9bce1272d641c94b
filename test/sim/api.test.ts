/** The library API as SPEC §7 shows it to users writing their own tests. */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Simulation, ScenarioError } from 'ksim';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('library API (import from "ksim")', () => {
  it('runs the SPEC §7 example: load, run, write through a pod, wait for a condition, no violations', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-storage.yaml`, { seed: 7 });
    sim.runFor('2m');
    expect(sim.exec('web-0').write('/usr/share/nginx/html/index.html', 'hello')).to.include({ ok: true });
    const ok = sim.runUntil((s) => s.get('Pod', 'web-0')?.status?.phase === 'Running', { timeout: '10m' });
    expect(ok).to.equal(true);
    expect(sim.exec('web-0').read('/usr/share/nginx/html/index.html')).to.include({ ok: true, data: 'hello' });
    expect(sim.violations()).to.deep.equal([]);
  });

  it('is synchronous and deterministic: the same seed gives the same state and trace', () => {
    const a = Simulation.load(`${ROOT}examples/statefulset-web.yaml`, { seed: 3 });
    const b = Simulation.load(`${ROOT}examples/statefulset-web.yaml`, { seed: 3 });
    a.runFor('2m');
    b.runFor('2m');
    expect(a.nowMs).to.equal(120_000);
    expect(a.report().traceHash).to.equal(b.report().traceHash);
    expect(a.get('Pod', 'web-0')!.status.podIP).to.equal(b.get('Pod', 'web-0')!.status.podIP);
  });

  it('get and list give kubernetes-types\' v1.30 types when asked (get<Pod>)', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-web.yaml`, { seed: 3 });
    sim.runFor('1m');
    const pod = sim.get<Pod>('Pod', 'web-0');
    // @ts-expect-error a Pod's spec has no field imagePullPolcy: the type is kubernetes-types' Pod
    expect(pod?.spec?.imagePullPolcy).to.equal(undefined);
    expect(pod?.status?.phase).to.equal('Running');
    expect(sim.list<Pod>('Pod', 'default').map((p) => p.metadata?.name)).to.include('web-0');
  });

  it('runUntil reports a condition that did not come within the timeout', () => {
    const sim = Simulation.load(`${ROOT}examples/statefulset-web.yaml`);
    expect(sim.runUntil((s) => s.get('Pod', 'web-7') !== undefined, { timeout: '30s' })).to.equal(false);
    expect(sim.nowMs).to.equal(30_000);
  });

  it('bad YAML throws a ScenarioError carrying the file:line:col lines', () => {
    let err: unknown;
    try {
      Simulation.fromYaml('apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: x}]}\n', { file: 'bad.yaml' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ScenarioError);
    expect((err as ScenarioError).lines[0]).to.match(/^bad\.yaml:3:\d+: Pod "Bad_Name": metadata\.name: Invalid value: "Bad_Name"/);
  });
});
