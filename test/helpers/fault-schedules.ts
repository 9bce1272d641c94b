/**
 * The property of test/sim/fault-schedules.test.ts and its long version: on an example with a
 * workload, under a fault schedule fast-check draws (sim/arbitraries.ts faultSchedule: crashes,
 * partitions, lost, delayed, duplicated and reordered messages, within chaos's budget) and a
 * seed, every invariant holds. The examples' own `expect`s are about the run their story tells,
 * so the property drops them (and `chaos`: the drawn schedule takes its place).
 *
 * Examples left out: those whose story is one scripted fault (node-crash-*, node-partition,
 * nfs-outage, ceph-monitor-outage, wiped-local-path, hostpath-node-crash, message-loss-scale,
 * dns-failure-rolling-update, node-join-leave, stale-view-attach-detach, static-pv-pool) — their
 * scripted fault is the test —, chaos-rbd-sts (chaos already), claim-too-big (nothing runs), and
 * delete-claim-in-use: its claim is Terminating under a running pod on purpose, and a node that
 * reboots then cannot mount it again (the kubelet refuses a claim being deleted: `PVC is being
 * deleted`, desired_state_of_world_populator.go), a deadlock real Kubernetes has too; and
 * retain-reuse, whose administrator removes the PV's claimRef at 5m assuming its claim is gone by
 * then: a fault that delays the claim's deletion makes the PV controller bind the PV back to it
 * (syncBoundClaim, as Kubernetes does), so the second claim stays Pending — a race in the steps,
 * not in the cluster.
 */
import fc from 'fast-check';
import { loadScenarioFile } from '../../src/scenario/load.ts';
import type { Fault, Scenario } from '../../src/scenario/types.ts';
import { faultSchedule } from '../../sim/arbitraries.ts';
import { faultYaml } from '../../sim/fault-forms.ts';
import { ROOT, runCase } from './bug-cases.ts';

/** fast-check's seed: the same schedules every run (replay a failure with its seed and path). */
export const FC_SEED = 1014;
/** Schedules per example in npm test, and in the long script. */
export const NUM_RUNS_SHORT = 20;
export const NUM_RUNS_LONG = 200;

export const PROPERTY_EXAMPLES: readonly string[] = [
  'hostpath-pv-claim.yaml',
  'inline-rbd.yaml',
  'local-path-statefulset.yaml',
  'stateful-svc-hostpath.yaml',
  'statefulset-storage.yaml',
  'statefulset-web.yaml',
  'storageclass-aws-ebs.yaml',
  'storageclass-provisioning.yaml',
];

/** The example as the property runs it: no chaos, no `expect`s judged. */
export function propertyScenario(example: string): Scenario {
  const r = loadScenarioFile(`${ROOT}examples/${example}`);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const { chaos: _chaos, ...s } = r.scenario;
  return { ...s, file: `examples/${example}`, invariants: s.invariants.filter((i) => i !== 'expectations') };
}

export interface Draw {
  faults: Fault[];
  seed: number;
}

export function draws(scenario: Scenario): fc.Arbitrary<Draw> {
  return fc.record({ faults: faultSchedule(scenario), seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }) });
}

/** Runs one draw; throws with the seed, the faults as they would be pasted under spec.faults, and what broke. */
export function everyInvariantHolds(scenario: Scenario, d: Draw): void {
  const r = runCase({ ...scenario, faults: [...scenario.faults, ...d.faults] }, d.seed);
  const broken = [...(r.crash ? [`crash: ${r.crash.message}`] : []), ...r.violations.map((v) => `${v.invariant}: ${v.message}`)];
  if (broken.length === 0) return;
  throw new Error(
    [`${scenario.file} --seed ${d.seed} with these faults under spec.faults:`, ...d.faults.map((f) => `  ${faultYaml(f)}`), 'broke:', ...broken.map((b) => `  ${b}`)].join('\n'),
  );
}

/** fc.assert of the property on one example (shrinks a failing schedule to a smaller one). */
export function checkExample(example: string, numRuns: number): void {
  const scenario = propertyScenario(example);
  fc.assert(
    fc.property(draws(scenario), (d) => everyInvariantHolds(scenario, d)),
    { seed: FC_SEED, numRuns },
  );
}
