/**
 * The `--bug` failure modes and the scenario each is shown on: a sweep of that scenario with the
 * bug finds a violation of the invariant SPEC §4 pairs it with, and the same sweep without the
 * bug finds none. The perturbation cases plant a mistake that only a controller perturbation
 * (staleView, dropWatch, crashMidReconcile) brings out: there the bug alone is clean too.
 * test/sim/bugs.test.ts sweeps 20 seeds of each, test/long/bugs.long.ts 200.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/types.ts';
import { Run, type Report } from '../../sim/run.ts';
import { sha256Hasher } from '../../src/node-hash.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BugCase {
  bug: string;
  /** The scenario, relative to the repository root. */
  file: string;
  /** The invariant that must catch it (SPEC §4). */
  invariant: string;
  /** The controller perturbation that brings it out, for the planted cases. */
  perturbation?: 'staleView' | 'dropWatch' | 'crashMidReconcile';
}

export const BUG_CASES: readonly BugCase[] = [
  { bug: 'sts-force-delete', file: 'examples/node-partition.yaml', invariant: 'sts-identity-unique' },
  { bug: 'kubelet-skip-mount', file: 'examples/statefulset-storage.yaml', invariant: 'no-data-loss' },
  { bug: 'informer-no-relist', file: 'examples/message-loss-scale.yaml', invariant: 'converges' },
  { bug: 'binder-ignore-access-modes', file: 'examples/static-pv-pool.yaml', invariant: 'converges' },
  { bug: 'attach-skip-multiattach-check', file: 'examples/statefulset-storage.yaml', invariant: 'rwo-single-node' },
  { bug: 'dns-ignore-ttl', file: 'examples/statefulset-web.yaml', invariant: 'dns-consistent' },
  { bug: 'reclaim-delete-while-bound', file: 'examples/delete-claim-in-use.yaml', invariant: 'protection' },
  { bug: 'scheduler-ignore-volume-affinity', file: 'examples/local-path-statefulset.yaml', invariant: 'hostpath-affinity' },
  { bug: 'attach-check-in-use', file: 'test/fixtures/scenarios/perturbations/stale-view-shared-claim.yaml', invariant: 'rwo-single-node', perturbation: 'staleView' },
  { bug: 'attach-pod-node-cached', file: 'test/fixtures/scenarios/perturbations/drop-watch-pod-move.yaml', invariant: 'converges', perturbation: 'dropWatch' },
  { bug: 'attach-adopt-from-node-status', file: 'test/fixtures/scenarios/perturbations/crash-mid-detach.yaml', invariant: 'rwo-single-node', perturbation: 'crashMidReconcile' },
];

export function loadCase(file: string): Scenario {
  const r = loadScenarioFile(`${ROOT}${file}`);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return { ...r.scenario, file };
}

/** The scenario without its scripted faults (the perturbation) and without chaos. */
export function withoutFaults(file: string): Scenario {
  const r = loadScenarioText(readFileSync(`${ROOT}${file}`, 'utf8'), file);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const { chaos: _chaos, ...rest } = r.scenario;
  return { ...rest, faults: [] };
}

export function runCase(scenario: Scenario, seed: number, bug?: string): Report {
  return new Run(scenario, { hasher: sha256Hasher, seed, ...(bug ? { bug } : {}) }).run();
}

/** `seed N: invariant: message` lines of a report's violations and crash, for failure messages. */
export function describeFailures(seed: number, r: Report): string[] {
  return [...(r.crash ? [`seed ${seed}: crash: ${r.crash.message}`] : []), ...r.violations.map((v) => `seed ${seed}: ${v.invariant}: ${v.message}`)];
}
