/**
 * kube-scheduler's PreBind for a WaitForFirstConsumer claim (volumebinding binder.go
 * BindPodVolumes and checkBindings), on a FakePort: the scheduler writes the chosen node on the
 * claim, waits until the claim is Bound, and binds the pod only if the claim was provisioned for
 * that node; a changed selected node, a volume the node cannot reach or a failed write fails
 * PreBind, and the pod is scheduled again.
 */
import { expect } from 'chai';
import type { KObject, Msg } from '../../src/protocol.ts';
import { kubeScheduler } from '../../actors/kube-scheduler.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { listAndWatch, watchEvent } from '../helpers/list-and-watch.ts';

const SELECTED = 'volume.kubernetes.io/selected-node';

function node(name: string): KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}`, resourceVersion: '1', labels: { 'kubernetes.io/hostname': name } }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } } as unknown as KObject;
}
function claim(rv: string, extra: { selected?: string; volumeName?: string; bound?: boolean; noAnnotations?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'default', uid: 'uid-data', resourceVersion: rv, ...(extra.noAnnotations ? {} : { annotations: extra.selected ? { [SELECTED]: extra.selected } : {} }) },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local-path', resources: { requests: { storage: '1Gi' } }, ...(extra.volumeName ? { volumeName: extra.volumeName } : {}) },
    status: { phase: extra.bound ? 'Bound' : 'Pending' },
  } as unknown as KObject;
}
function volume(name: string, onNode: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '7' },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'local-path',
      hostPath: { path: `/opt/local-path-provisioner/${name}` },
      claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data', uid: 'uid-data' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [onNode] }] }] } },
    },
    status: { phase: 'Bound' },
  } as unknown as KObject;
}
const STORAGE_CLASS = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local-path', resourceVersion: '1' }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' } as unknown as KObject;
const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: 'uid-p', resourceVersion: '3' },
  spec: { schedulerName: 'default-scheduler', nodeSelector: { 'kubernetes.io/hostname': 'node-1' }, containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] },
  status: { phase: 'Pending' },
} as unknown as KObject;

type Step = { write: 'ok' | 'conflict' } | { claim: KObject } | { volume: KObject };

/** Starts the scheduler on node-1 and node-2, lets it pick node-1 for the pod, then plays `steps`. */
function play(steps: Step[]): { binds: string[]; failures: string[] } {
  const port = new FakePort('kube-scheduler', 1);
  const s = kubeScheduler(port);
  s.start?.();
  const watches = listAndWatch(s, port, [node('node-1'), node('node-2'), STORAGE_CLASS, claim('2'), POD], '3');
  const msgs: Msg[] = [];
  const drain = (): void => {
    while (port.fireDue(s, port.nowMs + 1_000));
    msgs.push(...port.take().map((x) => x.msg));
  };
  drain();
  const write = msgs.find((m) => m.type === 'api.request' && m.verb === 'update' && m.kind === 'PersistentVolumeClaim') as { reqId: string; obj: KObject } | undefined;
  expect(write?.obj.metadata.annotations?.[SELECTED], 'the chosen node is written on the claim').to.equal('node-1');
  for (const step of steps) {
    if ('write' in step) {
      const ok = step.write === 'ok';
      s.receive(
        ok
          ? ({ type: 'api.response', reqId: write!.reqId, ok, obj: claim('5', { selected: 'node-1' }) } as Msg)
          : ({ type: 'api.response', reqId: write!.reqId, ok, status: { code: 409, reason: 'Conflict', message: 'Operation cannot be fulfilled on persistentvolumeclaims "data": the object has been modified; please apply your changes to the latest version and try again' } } as Msg),
        'apiserver',
      );
    } else if ('claim' in step) s.receive(watchEvent(watches, 'MODIFIED', step.claim), 'apiserver');
    else s.receive(watchEvent(watches, 'ADDED', step.volume), 'apiserver');
    drain();
  }
  return {
    binds: msgs.filter((m) => m.type === 'api.request' && m.verb === 'bind').map((m) => String((m as { nodeName?: string }).nodeName)),
    failures: msgs.filter((m) => m.type === 'api.event' && m.reason === 'FailedScheduling').map((m) => (m as { message: string }).message),
  };
}

const PREBIND = 'running PreBind plugin "VolumeBinding": binding volumes: ';

describe('kube-scheduler PreBind (binder.go checkBindings)', () => {
  const rows: [string, Step[], string[], string[]][] = [
    // [behaviour, what the API server does, pods bound to, the first FailedScheduling messages]
    ['a claim provisioned on the chosen node lets the pod be bound there', [{ write: 'ok' }, { volume: volume('pv-1', 'node-1') }, { claim: claim('6', { selected: 'node-1', volumeName: 'pv-1', bound: true }) }], ['node-1'], []],
    [
      'a claim whose selected node was changed under PreBind fails it, and the pod is not bound to the chosen node',
      [{ write: 'ok' }, { volume: volume('pv-1', 'node-2') }, { claim: claim('6', { selected: 'node-2', volumeName: 'pv-1', bound: true }) }],
      [],
      [`${PREBIND}selectedNode annotation value "node-2" not set to scheduled node "node-1"`],
    ],
    [
      'a claim bound to a volume the chosen node cannot reach fails PreBind',
      [{ write: 'ok' }, { volume: volume('pv-2', 'node-2') }, { claim: claim('6', { selected: 'node-1', volumeName: 'pv-2', bound: true }) }],
      [],
      [`${PREBIND}pv "pv-2" node affinity doesn't match node "node-1": no matching NodeSelectorTerms`],
    ],
    [
      'a claim seen Bound before its volume reached the cache binds the pod once the volume arrives',
      [{ write: 'ok' }, { claim: claim('6', { selected: 'node-1', volumeName: 'pv-1', bound: true }) }, { volume: volume('pv-1', 'node-1') }],
      ['node-1'],
      [],
    ],
    ['a claim whose annotations were removed fails PreBind', [{ write: 'ok' }, { claim: claim('6', { noAnnotations: true }) }], [], [`${PREBIND}selectedNode annotation reset for PVC "data"`]],
    [
      'a cache that does not show our write yet is waited for, not taken for a change',
      [{ claim: claim('4') }, { write: 'ok' }, { claim: claim('4') }, { volume: volume('pv-1', 'node-1') }, { claim: claim('6', { selected: 'node-1', volumeName: 'pv-1', bound: true }) }],
      ['node-1'],
      [],
    ],
    [
      'a failed write of the selected node fails PreBind with the API server\'s message',
      [{ write: 'conflict' }],
      [],
      [`${PREBIND}Operation cannot be fulfilled on persistentvolumeclaims "data": the object has been modified; please apply your changes to the latest version and try again`],
    ],
  ];
  for (const [behaviour, steps, binds, failures] of rows) {
    it(behaviour, () => {
      const got = play(steps);
      // After a failed PreBind the pod is scheduled again: what that attempt says comes after.
      expect(got.failures.slice(0, Math.max(1, failures.length))).to.deep.equal(failures);
      expect(got.binds).to.deep.equal(binds);
    });
  }
});
