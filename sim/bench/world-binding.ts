/**
 * The whole-world binding benchmark (issue 3): n PersistentVolumes and n claims applied at t=0
 * through kubectl, the PV controller binding every claim over the bus. Reports wall time (the
 * caller's clock: sim/ never reads it), simulated time and bus messages until every claim is
 * Bound.
 */
import type { KObject } from '../../src/protocol.ts';
import type { Scenario } from '../../src/scenario/types.ts';
import type { Hasher } from '../../src/trace.ts';
import { INVARIANTS } from '../../src/scenario/load.ts';
import { World } from '../world.ts';
import { benchClaims, benchVolumes } from './binder.ts';

export interface WorldBindingFigures {
  claims: number;
  bound: number;
  simulatedMs: number;
  messages: number;
  wallMs: number;
}

export function bindingScenario(n: number): Scenario {
  const pos = { file: '<bench>', line: 0, col: 0 };
  const namespaces: KObject[] = Array.from({ length: 10 }, (_, i) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } }));
  // Manifests as a user writes them: no status, no uid (built without them, not deleted after).
  const volumes = benchVolumes(n).map(({ status: _status, ...pv }) => pv as KObject);
  const claims = benchClaims(n).map((c) => ({ ...(c as KObject), metadata: { name: c.metadata!.name!, namespace: c.metadata!.namespace! } }) as KObject);
  return {
    name: 'bench-binding',
    file: '<bench>',
    seed: 1,
    durationMs: 3_600_000,
    startTime: '2025-01-01T00:00:00Z',
    startMs: Date.UTC(2025, 0, 1),
    nodes: ['node-1', 'node-2', 'node-3'],
    latencyMsMin: 1,
    latencyMsMax: 10,
    manifests: [...namespaces, ...volumes, ...claims].map((obj) => ({ obj, pos })),
    actions: [],
    faults: [],
    invariants: [...INVARIANTS],
    backends: [{ name: 'nfs-server', type: 'nfs' }],
    timings: {},
  };
}

export function benchWorldBinding(wallMs: () => number, hasher: () => Hasher, n = 10_000): WorldBindingFigures {
  const scenario = bindingScenario(n);
  const t0 = wallMs();
  const world = new World(scenario, { hasher });
  const bound = new Set<string>();
  world.store.onCommit((_ev, obj) => {
    if (obj.kind === 'PersistentVolumeClaim' && obj.status?.phase === 'Bound') bound.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
  });
  world.runUntil(scenario.durationMs, () => bound.size >= n);
  return { claims: n, bound: bound.size, simulatedMs: world.nowMs, messages: world.bus.delivered, wallMs: wallMs() - t0 };
}
