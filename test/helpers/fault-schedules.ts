/**
 * The property of test/sim/fault-schedules.test.ts and its long version: on an example with a
 * workload, under a fault schedule fast-check draws (sim/arbitraries.ts faultSchedule: crashes,
 * partitions, lost, delayed, duplicated and reordered messages, within chaos's budget) and a
 * seed, every invariant holds. The examples' own `expect`s are about the run their story tells,
 * so the property drops them (and `chaos`: the drawn schedule takes its place).
 *
 * npm test runs the examples whose story is a workload (PROPERTY_EXAMPLES); the long script
 * adds those whose story is one scripted fault (LONG_EXTRA_EXAMPLES: their fault stays, the drawn
 * ones come on top). Left out: chaos-rbd-sts (chaos already: its sweeps are its test),
 * claim-too-big (nothing runs), wiped-local-path (its wipe is data loss on purpose), and the
 * examples whose user steps are only safe while the cluster keeps up with them, where a drawn
 * fault makes the steps themselves wrong, as they would be in a real cluster:
 * - delete-claim-in-use: its claim is Terminating under a running pod on purpose; a node that
 *   reboots then cannot mount it again (the kubelet refuses a claim being deleted: `PVC is being
 *   deleted`, desired_state_of_world_populator.go), a deadlock real Kubernetes has too;
 * - retain-reuse: the administrator removes the PV's claimRef at 5m assuming its claim is gone
 *   by then; a fault that delays the claim's deletion makes the PV controller bind the PV back
 *   to it (syncBoundClaim), so the second claim stays Pending;
 * - node-join-leave: the administrator deletes node-2's Node while its kubelet runs; if a fault
 *   keeps that kubelet from seeing its pods force-deleted (the pod garbage collector's orphan
 *   collection), the recreated pod and the old one run at once — the hazard of deleting the Node
 *   of a live machine;
 * - node-crash-force-delete, node-crash-out-of-service, hostpath-node-crash: an administrator
 *   force-deletes pods or taints a node out-of-service, safe only because the node is down.
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

/** The examples whose story is one scripted fault: in the long script only. */
export const LONG_EXTRA_EXAMPLES: readonly string[] = [
  'ceph-monitor-outage.yaml',
  'dns-failure-rolling-update.yaml',
  'message-loss-scale.yaml',
  'nfs-outage.yaml',
  'node-crash-rbd.yaml',
  'node-partition.yaml',
  'stale-view-attach-detach.yaml',
  'static-pv-pool.yaml',
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
