/**
 * The StatefulSet controller's syncs read pods through their facts (podFacts), worked out once
 * per pod object; the predicates over the pod object stay the reference. Generated pods check
 * that both give the same answers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import {
  addReplicaCounts,
  countReplicas,
  factsAvailable,
  factsOwnedBy,
  factsRunningAndReady,
  factsUnavailable,
  getOrdinal,
  isMemberOf,
  isOwnedBy,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  isUnavailable,
  podFacts,
  zeroCounts,
  type PodObj,
  type Sts,
} from '../../../actors/controllers/statefulset-utils.ts';

const set: Sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default', uid: 'uid-web' }, spec: { selector: {}, template: {}, serviceName: 'nginx' } };
const NOW_EPOCH_MS = Date.parse('2025-01-01T00:10:00Z');

const arbPod: fc.Arbitrary<PodObj> = fc
  .record({
    name: fc.constantFrom('web-0', 'web-1', 'web-01', 'web-12', 'db-3', 'web', 'web-99999999999'),
    refs: fc.constantFrom(
      undefined,
      [],
      [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true }],
      [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-old', controller: true }],
      [
        { apiVersion: 'v1', kind: 'Pod', name: 'x', uid: 'uid-web' },
        { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true },
      ],
    ),
    phase: fc.constantFrom(undefined, 'Pending', 'Running', 'Succeeded', 'Failed'),
    conditions: fc.array(
      fc.record({
        type: fc.constantFrom('Ready', 'PodScheduled'),
        status: fc.constantFrom('True', 'False'),
        lastTransitionTime: fc.constantFrom(undefined, '2025-01-01T00:09:00Z', '2025-01-01T00:09:59Z', '2025-01-01T00:00:00Z'),
      }),
      { maxLength: 3 },
    ),
    deleting: fc.boolean(),
    revision: fc.constantFrom(undefined, 'web-aaa', 'web-bbb'),
  })
  .map(({ name, refs, phase, conditions, deleting, revision }): PodObj => {
    const conds: PodCondition[] = conditions.map((c) => (c.lastTransitionTime ? { type: c.type, status: c.status, lastTransitionTime: c.lastTransitionTime } : { type: c.type, status: c.status }));
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${name}`,
        ...(refs ? { ownerReferences: refs.map((r) => ({ ...r })) } : {}),
        ...(deleting ? { deletionTimestamp: '2025-01-01T00:05:00Z' } : {}),
        ...(revision ? { labels: { 'controller-revision-hash': revision } } : {}),
      },
      ...(phase || conds.length ? { status: { ...(phase ? { phase } : {}), ...(conds.length ? { conditions: conds } : {}) } } : {}),
    };
  });

describe('statefulset-utils', () => {
  it("a pod's facts answer what the pod itself answers (owner, member, readiness, availability)", () => {
    fc.assert(
      fc.property(arbPod, fc.constantFrom(0, 10, 60), (pod, minReadySeconds) => {
        const f = podFacts(pod);
        expect(f.uid).to.equal(pod.metadata.uid);
        expect(factsOwnedBy(f, set)).to.equal(isOwnedBy(pod, set));
        expect(f.parent === set.metadata.name).to.equal(isMemberOf(set, pod));
        expect(f.ordinal).to.equal(getOrdinal(pod));
        expect(f.terminating).to.equal(isTerminating(pod));
        expect(factsRunningAndReady(f)).to.equal(isRunningAndReady(pod));
        expect(factsAvailable(f, minReadySeconds, NOW_EPOCH_MS)).to.equal(isRunningAndAvailable(pod, minReadySeconds, NOW_EPOCH_MS));
        expect(factsUnavailable(f, minReadySeconds, NOW_EPOCH_MS)).to.equal(isUnavailable(pod, minReadySeconds, NOW_EPOCH_MS));
      }),
      { seed: 15, numRuns: 500 },
    );
  });

  it('status counts summed from facts equal countReplicas over the pods', () => {
    fc.assert(
      fc.property(fc.array(arbPod, { maxLength: 12 }), fc.constantFrom(0, 10, 60), (pods, minReadySeconds) => {
        const counts = zeroCounts();
        for (const p of pods) addReplicaCounts(counts, podFacts(p), minReadySeconds, NOW_EPOCH_MS, 'web-aaa', 'web-bbb');
        expect(counts).to.deep.equal(countReplicas(pods, minReadySeconds, NOW_EPOCH_MS, 'web-aaa', 'web-bbb'));
      }),
      { seed: 15, numRuns: 300 },
    );
  });
});
