/**
 * `sim.fault` (SPEC §7): each fault form injected from code does to the cluster exactly what the
 * same fault scripted at that instant does (the same trace hash), is listed in the report in the
 * scripted form, heals from code, and a bad argument is a FaultError in the loader's words.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FaultError, Simulation, type Report } from 'ksim';
import { formatDuration } from '../../src/duration.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
/** The chaos example without chaos, 4 minutes: three RBD (ceph-csi) pods on four nodes. */
const BASE = readFileSync(`${EXAMPLES}chaos-rbd-sts.yaml`, 'utf8').replace('  chaos: {faults: 5}\n', '').replace('duration: 30m', 'duration: 4m');
const withFaults = (lines: string[]) => `${BASE}  faults:\n${lines.map((l) => `    - ${l}\n`).join('')}`;
const SEED = 5;
const fromCode = (at: string, inject: (s: Simulation) => unknown, text = BASE): Simulation => {
  const sim = Simulation.fromYaml(text, { seed: SEED, file: 'chaos.yaml' });
  sim.runFor(at);
  inject(sim);
  return sim;
};
const scripted = (lines: string[]): Report => Simulation.fromYaml(withFaults(lines), { seed: SEED, file: 'chaos.yaml' }).runScenario();
/** What a user sees of a run: everything but the trace hash and the wall time. */
const seen = (r: Report) => ({ ...r, traceHash: '', stats: { ...r.stats, wallMs: 0 } });

describe('sim.fault: faults injected from code', function () {
  this.timeout(60_000);
  const quiet = Simulation.fromYaml(BASE, { seed: SEED, file: 'chaos.yaml' }).runScenario();

  const forms: [string, (s: Simulation) => unknown, string][] = [
    ['crash', (s) => s.fault.crash('node/node-2', { for: '1m' }), '{at: 20s, crash: node/node-2, for: 1m}'],
    ['restart', (s) => s.fault.restart('kube-controller-manager'), '{at: 20s, restart: kube-controller-manager}'],
    ['partition', (s) => s.fault.partition([['node-2'], ['apiserver']], { oneWay: true, for: 90_000 }), '{at: 20s, partition: [[node-2], [apiserver]], oneWay: true, for: 90s}'],
    ['messageLoss', (s) => s.fault.messageLoss({ rate: 0.2, between: [['node-1'], ['apiserver']] }, { for: '1m' }), '{at: 20s, messageLoss: {rate: 0.2, between: [[node-1], [apiserver]]}, for: 1m}'],
    ['messageDuplicate', (s) => s.fault.messageDuplicate({ rate: 0.3 }, { for: '1m' }), '{at: 20s, messageDuplicate: {rate: 0.3}, for: 1m}'],
    ['messageDelay', (s) => s.fault.messageDelay({ min: '1s', max: 3000, rate: 0.5 }, { for: '1m' }), '{at: 20s, messageDelay: {min: 1s, max: 3s, rate: 0.5}, for: 1m}'],
    ['messageReorder', (s) => s.fault.messageReorder({ rate: 0.3, window: '2s' }, { for: '1m' }), '{at: 20s, messageReorder: {rate: 0.3, window: 2s}, for: 1m}'],
    ['outage', (s) => s.fault.outage('backend/ceph', { for: '1m' }), '{at: 20s, outage: backend/ceph, for: 1m}'],
    ['wipeDisk', (s) => s.fault.wipeDisk('node-3'), '{at: 20s, wipeDisk: node/node-3}'],
    ['dnsFailure', (s) => s.fault.dnsFailure({ mode: 'timeout' }, { for: '1m' }), '{at: 20s, dnsFailure: {mode: timeout}, for: 1m}'],
    ['clockSkew', (s) => s.fault.clockSkew({ node: 'node-1', by: -90_000 }, { for: '3m' }), '{at: 20s, clockSkew: {node: node-1, by: -90s}, for: 3m}'],
    ['csiError', (s) => s.fault.csiError({ backend: 'backend/ceph', rpc: 'CreateVolume', code: 'UNAVAILABLE', rate: 0.5 }, { for: '1m' }), '{at: 20s, csiError: {backend: backend/ceph, rpc: CreateVolume, code: UNAVAILABLE, rate: 0.5}, for: 1m}'],
    ['staleView', (s) => s.fault.staleView({ controller: 'statefulset-controller', by: '30s' }, { for: '1m' }), '{at: 20s, staleView: {controller: statefulset-controller, by: 30s}, for: 1m}'],
    ['dropWatch', (s) => s.fault.dropWatch({ controller: 'persistentvolume-attach-detach-controller' }, { for: '1m' }), '{at: 20s, dropWatch: {controller: persistentvolume-attach-detach-controller}, for: 1m}'],
    ['crashMidReconcile', (s) => s.fault.crashMidReconcile({ controller: 'statefulset-controller' }), '{at: 20s, crashMidReconcile: {controller: statefulset-controller}}'],
  ];
  for (const [kind, inject, line] of forms) {
    it(`${kind} injected from code at 20s runs exactly as \`${line}\` scripted (same trace hash), and changes the run`, () => {
      const sim = fromCode('20s', inject);
      const r = sim.runScenario();
      const s = scripted([line]);
      expect(r.faults).to.deep.equal(s.faults);
      expect(r.faults[0]).to.include({ at: '20s' });
      expect(r.traceHash).to.equal(s.traceHash);
      expect(r.traceHash, 'the fault changed nothing: the test would prove nothing').to.not.equal(quiet.traceHash);
    });
  }

  it('a fault healed from code is listed with the `for` it lasted, and that scripted form replays what the cluster did', () => {
    const sim = fromCode('1m', (s) => s.fault.crash('node/node-1'));
    sim.runFor('2m');
    expect(sim.get('Node', 'node-1')!.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).to.equal('Unknown');
    expect(sim.fault.heal()).to.equal(1);
    const r = sim.runScenario();
    expect(r.faults).to.deep.equal([{ at: '1m0s', crash: 'node/node-1', for: '2m0s' }]);
    expect(seen(r)).to.deep.equal(seen(scripted(['{at: 1m, crash: node/node-1, for: 2m}'])));
    expect(sim.get('Node', 'node-1')!.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).to.equal('True');
  });

  it('heal() heals every fault still in force, scripted ones too; a handle heals its own only', () => {
    const sim = fromCode('1m', (s) => s.fault.partition([['node-3'], ['apiserver']]), withFaults(['{at: 30s, crash: node/node-2}']));
    const loss = sim.fault.messageLoss({ rate: 0.1 });
    sim.runFor('30s');
    loss.heal();
    expect(loss.scripted).to.deep.equal({ at: '1m0s', messageLoss: { rate: 0.1 }, for: '30s' });
    sim.runFor('30s');
    expect(sim.fault.heal()).to.equal(2);
    expect(sim.fault.heal(), 'nothing is left in force').to.equal(0);
    expect(sim.report().faults).to.deep.equal([
      { at: '30s', crash: 'node/node-2', for: '1m30s' },
      { at: '1m0s', partition: [['node/node-3'], ['apiserver']], for: '1m0s' },
      { at: '1m0s', messageLoss: { rate: 0.1 }, for: '30s' },
    ]);
  });

  it('after runUntil, which stops inside an instant, a fault begins at the next millisecond, and its scripted form replays the run', () => {
    const sim = Simulation.fromYaml(BASE, { seed: SEED, file: 'chaos.yaml' });
    expect(sim.runUntil((s) => s.get('Pod', 'web-1')?.status?.phase === 'Running')).to.equal(true);
    const at = formatDuration(sim.nowMs + 1);
    const h = sim.fault.crash('node/node-4', { for: '2m' });
    expect(h.scripted).to.deep.equal({ at, crash: 'node/node-4', for: '2m0s' });
    expect(sim.runScenario().traceHash).to.equal(scripted([`{at: ${at}, crash: node/node-4, for: 2m}`]).traceHash);
  });

  const bad: [string, (s: Simulation) => unknown, string][] = [
    ['a node that does not exist', (s) => s.fault.crash('node-9'), 'sim.fault.crash: crash: "node-9" is not a host: a node (node-1, node-2, node-3, node-4), "apiserver", "kube-controller-manager", "kube-scheduler", "cluster-dns" or backend/NAME'],
    ['a partition of one group', (s) => s.fault.partition([['node-1']]), 'sim.fault.partition: partition: Invalid value: a partition needs at least two groups of hosts'],
    ['a rate above 1', (s) => s.fault.messageLoss({ rate: 2 }), 'sim.fault.messageLoss: messageLoss.rate: Invalid value: 2: must be between 0 and 1, inclusive'],
    ['a backend that does not exist', (s) => s.fault.outage('backend/nfs-9'), 'sim.fault.outage: outage: backend "nfs-9" does not exist'],
    ['an unknown controller', (s) => s.fault.staleView({ controller: 'job-controller' as 'statefulset-controller', by: '1s' }), 'sim.fault.staleView: staleView.controller: Unsupported value: "job-controller"'],
    ['a duration that is not one', (s) => s.fault.crash('node-1', { for: 'soon' }), 'sim.fault.crash: for: invalid duration "soon"'],
  ];
  for (const [name, call, message] of bad) {
    it(`a bad call throws a FaultError in the loader's words and injects nothing: ${name}`, () => {
      const sim = Simulation.fromYaml(BASE, { seed: SEED, file: 'chaos.yaml' });
      let err: unknown;
      try {
        call(sim);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(FaultError);
      expect((err as FaultError).lines[0]).to.include(message);
      expect(sim.report().faults).to.deep.equal([]);
    });
  }
});
