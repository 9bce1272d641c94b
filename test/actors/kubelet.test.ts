/**
 * The kubelet in a running cluster: pod lifecycle, emptyDir and hostPath volumes (every
 * `type`, with Kubernetes' FailedMount texts), reads and writes through volume mounts, and a
 * shell on the node.
 */
import { expect } from 'chai';
import { Simulation } from '../../sim/index.ts';
import { scenarioDoc, yamlDocs } from '../helpers/scenarios.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { listAndWatch, watchEvent } from '../helpers/list-and-watch.ts';
import { kubelet } from '../../actors/kubelet.ts';
import { nfsMountOptions, nfsSoftTimeoutMs } from '../../actors/kubelet-volume-manager.ts';
import { MemFs } from '../../src/fs.ts';
import type { KObject } from '../../src/protocol.ts';

function podWith(volume: string, mountPath = '/data', extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: box
spec:
  nodeName: node-1
  containers:
  - name: box
    image: busybox
    volumeMounts:
    - name: vol
      mountPath: ${mountPath}
${extra}  volumes:
  - name: vol
${volume}`;
}

function run(pod: string, actions = '', seed = 1): Simulation {
  const s = Simulation.fromYaml(yamlDocs(pod, scenarioDoc(`duration: 10m\nactions:\n${actions || '  []'}`)), { seed });
  return s;
}

const failedMount = (s: Simulation) => s.events().filter((e) => e.reason === 'FailedMount').map((e) => e.message);

describe('kubelet', () => {
  const hostPathTypes: [string, string, string | undefined, string | null][] = [
    // [behaviour, type, setup on node-1, FailedMount text or null when it mounts]
    ['an unset type mounts whatever is there (and containerd creates a missing directory)', '""', undefined, null],
    ['DirectoryOrCreate creates a missing directory', 'DirectoryOrCreate', undefined, null],
    ['Directory fails when the path is missing', 'Directory', undefined, 'MountVolume.SetUp failed for volume "vol" : hostPath type check failed: /srv/x is not a directory'],
    ['Directory mounts an existing directory', 'Directory', 'mkdir', null],
    ['FileOrCreate creates a missing file in an existing directory', 'FileOrCreate', 'parent', null],
    ['FileOrCreate does not create the parent directory', 'FileOrCreate', undefined, 'MountVolume.SetUp failed for volume "vol" : open /srv/x: no such file or directory'],
    ['File fails when the path is a directory', 'File', 'mkdir', 'MountVolume.SetUp failed for volume "vol" : hostPath type check failed: /srv/x is not a file'],
    ['Socket fails on a directory', 'Socket', 'mkdir', 'MountVolume.SetUp failed for volume "vol" : hostPath type check failed: /srv/x is not a socket file'],
    ['CharDevice fails on a directory', 'CharDevice', 'mkdir', 'MountVolume.SetUp failed for volume "vol" : hostPath type check failed: /srv/x is not a character device'],
    ['BlockDevice fails on a directory', 'BlockDevice', 'mkdir', 'MountVolume.SetUp failed for volume "vol" : hostPath type check failed: /srv/x is not a block device'],
  ];
  for (const [behaviour, type, setup, failure] of hostPathTypes) {
    it(`hostPath: ${behaviour}`, () => {
      const s = Simulation.fromYaml(podWith(`    hostPath: {path: /srv/x, type: ${type}}\n`), { seed: 2 });
      if (setup) s.act({ kind: 'mkdirNode', node: 'node-1', path: setup === 'mkdir' ? '/srv/x' : '/srv', namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never);
      s.runFor('30s');
      const pod = s.get('Pod', 'box')!;
      if (failure === null) {
        expect(pod.status.phase).to.equal('Running');
        expect(failedMount(s)).to.deep.equal([]);
      } else {
        expect(pod.status.phase).to.equal('Pending');
        expect(pod.status.containerStatuses[0].state.waiting.reason).to.equal('ContainerCreating');
        expect(failedMount(s)).to.deep.equal([failure]);
        expect(s.events().find((e) => e.reason === 'FailedMount')!.count).to.be.greaterThan(3);
      }
    });
  }

  it('hostPath on the real device files: /dev/sda is a BlockDevice, /dev/null a CharDevice, the containerd socket a Socket', () => {
    for (const [path, type] of [['/dev/sda', 'BlockDevice'], ['/dev/null', 'CharDevice'], ['/run/containerd/containerd.sock', 'Socket']]) {
      const s = Simulation.fromYaml(podWith(`    hostPath: {path: ${path}, type: ${type}}\n`, '/mnt/x'), { seed: 2 });
      s.runFor('30s');
      expect(s.get('Pod', 'box')!.status.phase, path).to.equal('Running');
    }
  });

  it('data written to a hostPath volume is on the node and outlives the pod', () => {
    const s = run(podWith('    hostPath: {path: /home/host-temp-dir, type: DirectoryOrCreate}\n'), `  - {at: 1m, write: {pod: box, path: /data/data, data: "hellok8s!"}}
  - {at: 2m, delete: pod/box}
  - {at: 4m, readNode: {node: node-1, path: /home/host-temp-dir/data, expect: "hellok8s!"}}
  - {at: 4m, readNode: {node: node-2, path: /home/host-temp-dir/data, expect: error}}`);
    s.runFor('5m');
    expect(s.get('Pod', 'box')).to.equal(undefined);
    expect(s.violations()).to.deep.equal([]);
  });

  it('an emptyDir is shared by the pod\'s containers and gone with the pod', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: busybox}
spec:
  nodeName: node-2
  containers:
  - {name: write, image: busybox, volumeMounts: [{name: temp-dir, mountPath: /write_dir}]}
  - {name: read, image: busybox, volumeMounts: [{name: temp-dir, mountPath: /read_dir}]}
  volumes:
  - {name: temp-dir, emptyDir: {}}
`;
    const s = Simulation.fromYaml(pod, { seed: 4 });
    s.runFor('30s');
    expect(s.exec('busybox', { container: 'write' }).write('/write_dir/data', 'hellok8s!').ok).to.equal(true);
    expect(s.exec('busybox', { container: 'read' }).read('/read_dir/data')).to.include({ ok: true, data: 'hellok8s!' });
    const uid = s.get('Pod', 'busybox')!.metadata.uid;
    const onNode = s.act({ kind: 'readNode', node: 'node-2', path: `/var/lib/kubelet/pods/${uid}/volumes/kubernetes.io~empty-dir/temp-dir/data`, namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never);
    expect(onNode).to.include({ ok: true, data: 'hellok8s!' });
  });

  it('a write outside every mount goes to the container layer and is gone when the pod is recreated', () => {
    const s = run(podWith('    emptyDir: {medium: Memory}\n'), `  - {at: 1m, write: {pod: box, path: /etc/motd, data: "hi"}}
  - {at: 1m1s, read: {pod: box, path: /etc/motd, expect: "hi"}}
  - {at: 1m2s, read: {pod: box, path: /etc/nothing}}`);
    s.runFor('2m');
    const r = s.report().results;
    expect(r[2]).to.include({ ok: false, error: 'No such file or directory' });
    expect(s.violations()).to.deep.equal([]);
  });

  it('exec in a pod that is not running fails with Kubernetes\' words', () => {
    const s = run(podWith('    hostPath: {path: /x, type: Directory}\n'), `  - {at: 1m, read: {pod: box, path: /data/a}}\n  - {at: 1m, read: {pod: nope, path: /a}}`);
    s.runFor('2m');
    const r = s.report().results;
    expect(r[0]).to.include({ ok: false, error: 'pod "box" is not running' });
    expect(r[1]).to.include({ ok: false, error: 'pods "nope" not found' });
  });

  it('a pod goes Pending, ContainerCreating, Running and Ready after a seeded start delay of 1-5 s', () => {
    const s = Simulation.fromYaml(podWith('    emptyDir: {}\n'), { seed: 9 });
    s.runUntil((x) => x.get('Pod', 'box')?.status?.phase === 'Running', { timeout: '1m' });
    const t = s.nowMs;
    expect(t).to.be.within(1000, 6000);
    const pod = s.get('Pod', 'box')!;
    expect(pod.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).to.equal('True');
    expect(pod.status.podIP).to.equal('10.244.1.2');
    const reasons = s.events().map((e) => e.reason);
    expect(reasons).to.include.members(['Pulling', 'Pulled', 'Created', 'Started']);
  });

  it('graceful deletion: the pod is Terminating until its containers stop, then gone', () => {
    const s = run(podWith('    emptyDir: {}\n'), '  - {at: 1m, delete: pod/box}');
    s.runFor('1m');
    s.runUntil((x) => !!x.get('Pod', 'box')?.metadata.deletionTimestamp, { timeout: '1s' });
    expect(s.get('Pod', 'box')!.metadata.deletionGracePeriodSeconds).to.equal(30);
    s.runFor('5s');
    expect(s.get('Pod', 'box')).to.equal(undefined);
    expect(s.events().some((e) => e.reason === 'Killing' && e.message === 'Stopping container box')).to.equal(true);
  });

  // The containers get SIGTERM and are killed when the grace period ends; this kubelet's
  // containers would take 1.5 s to exit (the seeded draw forced to its maximum), so a shorter
  // grace period shows. The grace period is the deletion's (deletionGracePeriodSeconds) when
  // there is one, else the pod's terminationGracePeriodSeconds (kuberuntime killPod).
  const graces: { name: string; terminationGracePeriodSeconds?: number; deletionGracePeriodSeconds: number; stopsAfterMs: number }[] = [
    { name: 'a delete with gracePeriodSeconds 1, shorter than terminationGracePeriodSeconds 30, stops the containers within 1 s', terminationGracePeriodSeconds: 30, deletionGracePeriodSeconds: 1, stopsAfterMs: 1000 },
    { name: 'a delete with the default grace period lets the containers exit by themselves (1.5 s)', deletionGracePeriodSeconds: 30, stopsAfterMs: 1500 },
    { name: 'terminationGracePeriodSeconds 1 (the delete defaulted to it) stops the containers within 1 s', terminationGracePeriodSeconds: 1, deletionGracePeriodSeconds: 1, stopsAfterMs: 1000 },
  ];
  for (const g of graces) {
    it(g.name, () => {
      const port = new FakePort('kubelet/node-1', 3);
      const k = kubelet(port, { nodeName: 'node-1', podCidrIndex: 1, node: { disk: MemFs.nodeDisk(), images: new Set(['busybox']) } });
      k.start?.();
      const watches = listAndWatch(k, port);
      const pod: KObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'box', namespace: 'default', uid: 'uid-box', resourceVersion: '1' },
        spec: { nodeName: 'node-1', containers: [{ name: 'box', image: 'busybox' }], ...(g.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: g.terminationGracePeriodSeconds } : {}) },
        status: { phase: 'Pending' },
      };
      k.receive(watchEvent(watches, 'ADDED', pod), 'apiserver');
      while (port.fireDue(k, 60_000));
      expect(port.notes).to.include('pod default/box running ip=10.244.1.2');
      port.rng.int = (_lo: number, hi: number) => hi;
      const deleting = { ...pod, metadata: { ...pod.metadata, resourceVersion: '2', deletionTimestamp: port.nowIso(), deletionGracePeriodSeconds: g.deletionGracePeriodSeconds } };
      k.receive(watchEvent(watches, 'MODIFIED', deleting), 'apiserver');
      expect(port.timers.get('stop/uid-box')! - port.nowMs).to.equal(g.stopsAfterMs);
    });
  }

  // status_manager.go syncPod: the final delete of a terminated pod is part of every sync, so
  // one that fails or is lost is sent again (syncPeriod 10 s) until the pod is gone.
  const finalDeletes: { name: string; phase: string; answer: 'lost' | 'error' }[] = [
    { name: 'a final pod delete that gets no answer is sent again at the next sync after the request deadline', phase: 'Running', answer: 'lost' },
    { name: 'a final pod delete that fails is sent again at the next sync', phase: 'Running', answer: 'error' },
    { name: 'a restarted kubelet deletes a finished pod that is being deleted (its earlier delete was lost)', phase: 'Succeeded', answer: 'error' },
  ];
  for (const f of finalDeletes) {
    it(f.name, () => {
      const port = new FakePort('kubelet/node-1', 3);
      const k = kubelet(port, { nodeName: 'node-1', podCidrIndex: 1, node: { disk: MemFs.nodeDisk(), images: new Set(['busybox']) } });
      k.start?.();
      const pod: KObject = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'box', namespace: 'default', uid: 'uid-box', resourceVersion: '1', deletionTimestamp: port.nowIso(), deletionGracePeriodSeconds: 0 },
        spec: { nodeName: 'node-1', containers: [{ name: 'box', image: 'busybox' }] },
        status: { phase: f.phase },
      };
      const watches = listAndWatch(k, port);
      k.receive(watchEvent(watches, 'ADDED', pod), 'apiserver');
      const deletes = () => port.take().filter(({ msg }) => msg.type === 'api.request' && msg.verb === 'delete').map(({ msg }) => msg as { reqId: string; uid?: string });
      let first: { reqId: string; uid?: string } | undefined;
      for (let i = 0; i < 10 && !first; i++) {
        first = deletes()[0];
        if (!first) port.fireDue(k, port.nowMs + 5_000);
      }
      expect(first?.uid).to.equal('uid-box');
      const sentAt = port.nowMs;
      if (f.answer === 'error') k.receive({ type: 'api.response', reqId: first!.reqId, ok: false, status: { code: 500, reason: 'InternalError', message: 'etcdserver: request timed out' } } as never, 'apiserver');
      let again: { reqId: string }[] = [];
      while (again.length === 0 && port.fireDue(k, sentAt + 120_000)) again = deletes();
      expect(again.length).to.equal(1);
      expect(port.nowMs - sentAt).to.equal(f.answer === 'lost' ? 70_000 : 10_000);
      // Once the pod is gone nothing more is sent.
      k.receive({ type: 'api.response', reqId: again[0]!.reqId, ok: true } as never, 'apiserver');
      const end = port.nowMs + 60_000;
      while (port.fireDue(k, end)) expect(deletes()).to.deep.equal([]);
    });
  }

  it('a re-list that shows a new pod under a running pod\'s name stops the old pod\'s containers and starts the new one (pods compared by uid)', () => {
    const port = new FakePort('kubelet/node-1', 3);
    const k = kubelet(port, { nodeName: 'node-1', podCidrIndex: 1, node: { disk: MemFs.nodeDisk(), images: new Set(['busybox']) } });
    k.start?.();
    const watches = listAndWatch(k, port);
    const pod = (uid: string, rv: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'box', namespace: 'default', uid, resourceVersion: rv },
      spec: { nodeName: 'node-1', containers: [{ name: 'box', image: 'busybox' }] },
      status: { phase: 'Pending' },
    });
    k.receive(watchEvent(watches, 'ADDED', pod('uid-old', '2')), 'apiserver');
    while (port.fireDue(k, 30_000));
    expect(port.notes).to.include('pod default/box running ip=10.244.1.2');
    port.notes = [];
    port.take();
    // The watch is too old to resume: 410 Gone, then the reflector lists again.
    const gone = { kind: 'Status', apiVersion: 'v1', metadata: {}, code: 410, reason: 'Expired', message: 'too old resource version: 2 (50)' } as unknown as KObject;
    k.receive({ type: 'watch', watchId: watches.get('Pod')!, event: 'ERROR', obj: gone }, 'apiserver');
    let list: { reqId: string } | undefined;
    while (!list && port.fireDue(k, 60_000)) list = port.take().map((x) => x.msg).find((m) => m.type === 'api.request' && m.verb === 'list' && m.kind === 'Pod') as { reqId: string } | undefined;
    expect(list, 'a new list').to.not.equal(undefined);
    k.receive({ type: 'api.response', reqId: list!.reqId, ok: true, items: [pod('uid-new', '50')], resourceVersion: '50' } as never, 'apiserver');
    const until = port.nowMs + 30_000;
    while (port.fireDue(k, until));
    expect(port.notes).to.include.members(['pod default/box stopped', 'pod default/box admitted', 'pod default/box running ip=10.244.1.3']);
  });

  it('a pod past its activeDeadlineSeconds is Failed with DeadlineExceeded, its containers killed, the object kept', () => {
    const s = run(podWith('    emptyDir: {}\n', '/data', '  activeDeadlineSeconds: 30\n'));
    s.runFor('29s');
    expect(s.get('Pod', 'box')!.status.phase).to.equal('Running');
    s.runFor('2s');
    const pod = s.get('Pod', 'box')!;
    expect(pod.status).to.include({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    expect(pod.status.containerStatuses[0].state.terminated).to.include({ exitCode: 137, reason: 'Error' });
    expect(s.events().filter((e) => e.reason === 'DeadlineExceeded').map((e) => e.message)).to.deep.equal(['Pod was active on the node longer than the specified deadline']);
    expect(s.act({ kind: 'read', pod: 'box', path: '/data/x', namespace: 'default', pos: { file: 't', line: 0, col: 0 } } as never)).to.include({ ok: false, error: 'pod "box" is not running' });
  });

  it('renews its node Lease every 10 s', () => {
    const s = Simulation.fromYaml(podWith('    emptyDir: {}\n'), { seed: 1 });
    s.runFor('1m');
    const rv1 = Number(s.get('Lease', 'node-1', 'kube-node-lease')!.metadata.resourceVersion);
    s.runFor('10s');
    const lease = s.get('Lease', 'node-1', 'kube-node-lease')!;
    expect(Number(lease.metadata.resourceVersion)).to.be.greaterThan(rv1);
    expect(lease.spec.leaseDurationSeconds).to.equal(40);
    expect(lease.spec.holderIdentity).to.equal('node-1');
  });
});

describe('NFS mount options (nfs(5))', () => {
  const rows: [string, string[], { soft: boolean; timeoMs: number; retrans: number }, number][] = [
    ['no options: hard, timeo 60 s, retrans 2', [], { soft: false, timeoMs: 60_000, retrans: 2 }, 360_000],
    ['soft with the TCP defaults: 60 + 120 + 180 s', ['soft'], { soft: true, timeoMs: 60_000, retrans: 2 }, 360_000],
    ['timeo is in deciseconds', ['soft', 'timeo=100', 'retrans=3'], { soft: true, timeoMs: 10_000, retrans: 3 }, 100_000],
    ['options joined with commas in one entry', ['soft,timeo=50,retrans=1'], { soft: true, timeoMs: 5_000, retrans: 1 }, 15_000],
    ['the last of soft and hard wins', ['soft', 'hard'], { soft: false, timeoMs: 60_000, retrans: 2 }, 360_000],
    ['each retransmission waits at most 600 s', ['soft', 'timeo=3000', 'retrans=2'], { soft: true, timeoMs: 300_000, retrans: 2 }, 300_000 + 600_000 + 600_000],
    ['options that are not numbers are ignored', ['timeo=x', 'retrans=', 'nfsvers=4.1'], { soft: false, timeoMs: 60_000, retrans: 2 }, 360_000],
  ];
  for (const [name, options, want, softMs] of rows) {
    it(name, () => {
      const o = nfsMountOptions(options);
      expect(o).to.deep.equal(want);
      expect(nfsSoftTimeoutMs(o)).to.equal(softMs);
    });
  }
});
