/**
 * Faults I as a user sees them: each fault kind's Kubernetes-visible effect, the node lifecycle
 * timings as windows, the liveness judge (`converges`) and the failure modes it catches.
 */
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { Simulation } from '../../sim/index.ts';
import type { Report } from '../../sim/run.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';
import { parseDuration } from '../../src/duration.ts';
import { readFileSync } from 'node:fs';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

type Ev = Report['events'][number];
const events = (r: Report, reason: string, name?: string): Ev[] => r.events.filter((e) => e.reason === reason && (name === undefined || e.involvedObject.name === name));
const sec = (ms: number) => ms / 1000;

function web(spec: string, replicas = 2): Simulation {
  return Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas }), scenarioDoc(spec)), { seed: 1 });
}

describe('faults: hosts and the node lifecycle', () => {
  it('a crashed node is Ready=Unknown 40-45 s after the last lease renewal the controller saw, then tainted unreachable; its pods marked not Ready', () => {
    const sim = web('duration: 4m\nfaults:\n  - {at: 2m, crash: node/node-1}');
    sim.runFor('4m');
    const r = sim.report();
    const lease = sim.get('Lease', 'node-1', 'kube-node-lease')!;
    const lastRenewMs = Date.parse(lease.spec.renewTime) - Date.UTC(2025, 0, 1);
    const [notReady] = events(r, 'NodeNotReady', 'node-1');
    expect(notReady, 'NodeNotReady').to.not.equal(undefined);
    expect(sec(notReady!.atMs - lastRenewMs)).to.be.within(40, 46);
    expect(sec(notReady!.atMs - 120_000)).to.be.within(30, 46);
    const node = sim.get('Node', 'node-1')!;
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready).to.include({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(node.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`).sort()).to.deep.equal(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    for (const p of sim.list('Pod', 'default').filter((x) => x.spec.nodeName === 'node-1')) {
      expect(p.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).to.equal('False');
    }
  });

  it('the taint eviction controller deletes the pod tolerationSeconds (300 s) after the node went Unknown; it stays Terminating while the node is down', () => {
    const sim = Simulation.load(`${EXAMPLES}node-crash-rbd.yaml`);
    sim.runFor('11m');
    const r = sim.report();
    const [notReady] = events(r, 'NodeNotReady', 'node-1');
    const [evicted] = events(r, 'TaintManagerEviction', 'web-0');
    expect(evicted!.message).to.equal('Marking for deletion Pod default/web-0');
    expect(sec(evicted!.atMs - notReady!.atMs)).to.be.within(300, 310);
    const pod = sim.get('Pod', 'web-0')!;
    expect(pod.metadata.deletionTimestamp, 'Terminating').to.be.a('string');
    expect(sim.list('Pod', 'default').filter((p) => p.metadata.name === 'web-0')).to.have.length(1);
    // When node-1 is back, its kubelet finishes the deletion and web-0 runs again with its data.
    const done = sim.runScenario();
    expect(done.violations).to.deep.equal([]);
    expect(done.results.find((x) => x.action === 'read')).to.include({ ok: true, data: 'hello web-0' });
  });

  it('a node that comes back before tolerationSeconds cancels the eviction', () => {
    const sim = web('duration: 8m\nfaults:\n  - {at: 1m, partition: [[node/node-1], [apiserver]], for: 2m}', 3);
    const r = sim.runScenario();
    expect(events(r, 'NodeNotReady', 'node-1')).to.have.length(1);
    const evictions = r.events.filter((e) => e.reason === 'TaintManagerEviction').map((e) => e.message);
    expect(evictions.length).to.be.greaterThan(0);
    expect(evictions.every((m) => m.startsWith('Cancelling deletion of Pod default/web-'))).to.equal(true);
    expect(r.violations).to.deep.equal([]);
    expect(sim.get('Node', 'node-1')!.spec.taints ?? []).to.deep.equal([]);
  });

  it('a partition shorter than 30 s changes nothing', () => {
    const sim = web('duration: 3m\nfaults:\n  - {at: 1m, partition: [[node/node-1], [apiserver]], for: 25s}');
    const r = sim.runScenario();
    expect(events(r, 'NodeNotReady')).to.deep.equal([]);
    expect(r.violations).to.deep.equal([]);
  });

  it('a node cut off for 10 minutes keeps its containers running; after the heal its kubelet stops the evicted pod and the StatefulSet recreates it', () => {
    const sim = Simulation.load(`${EXAMPLES}node-partition.yaml`);
    const r = sim.runScenario();
    const [evicted] = events(r, 'TaintManagerEviction', 'web-0');
    const [killing] = events(r, 'Killing', 'web-0');
    expect(sec(evicted!.atMs)).to.be.within(440, 480);
    // The containers are stopped only once the kubelet hears of the deletion: after the heal.
    expect(sec(killing!.atMs)).to.be.within(720, 760);
    expect(sim.get('Pod', 'web-0')!.status.phase).to.equal('Running');
    expect(r.violations).to.deep.equal([]);
  });

  it('a one-way partition (only what node-1 sends is lost) makes node-1 Unknown: its leases never arrive', () => {
    const sim = web('duration: 3m\nfaults:\n  - {at: 1m, partition: [[node/node-1], [apiserver]], oneWay: true, for: 1m30s}');
    sim.runFor('2m');
    expect(events(sim.report(), 'NodeNotReady', 'node-1')).to.have.length(1);
  });

  it('a node that restarts at once restarts its pods\' containers (restartCount 1, SandboxChanged)', () => {
    const sim = web('duration: 3m\nfaults:\n  - {at: 1m, restart: node/node-1}', 3);
    const r = sim.runScenario();
    const onNode1 = sim.list('Pod', 'default').filter((p) => p.spec.nodeName === 'node-1');
    expect(onNode1.length).to.be.greaterThan(0);
    for (const p of onNode1) expect(p.status.containerStatuses[0].restartCount).to.equal(1);
    expect(events(r, 'SandboxChanged').length).to.equal(onNode1.length);
    expect(r.violations).to.deep.equal([]);
  });

  it('a restarted kube-controller-manager lists again and goes on: a scale after it is carried out', () => {
    const sim = web('duration: 5m\nactions:\n  - {at: 2m, scale: {statefulset: web, replicas: 3}}\nfaults:\n  - {at: 1m, restart: kube-controller-manager}');
    const r = sim.runScenario();
    expect(sim.get('StatefulSet', 'web')!.status.readyReplicas).to.equal(3);
    expect(r.violations).to.deep.equal([]);
  });

  it('an API server down for a minute loses its watches; the cluster carries out a scale made after it is back', () => {
    const sim = web('duration: 6m\nactions:\n  - {at: 3m, scale: {statefulset: web, replicas: 3}}\nfaults:\n  - {at: 1m, crash: apiserver, for: 1m}');
    const r = sim.runScenario();
    expect(sim.get('StatefulSet', 'web')!.status.readyReplicas).to.equal(3);
    expect(r.violations).to.deep.equal([]);
    expect(r.stats.faults).to.equal(1);
  });

  // The pod is deleted and recreated under the same name while the scheduler is cut off; its
  // watch cannot resume that far back (410 Gone), so it re-lists and finds, under web-0's name,
  // a new pod (another uid) that no node runs yet.
  it('a pod replaced by a new one of the same name while the scheduler was cut off is scheduled after the re-list', () => {
    const sim = web('duration: 10m\nactions:\n  - {at: 1m30s, delete: pod/web-0}\nfaults:\n  - {at: 1m, partition: [[kube-scheduler], [apiserver]], for: 4m}', 1);
    const r = sim.runScenario();
    expect(r.violations).to.deep.equal([]);
    expect(sim.get('Pod', 'web-0')!.status.phase).to.equal('Running');
    expect(sim.get('StatefulSet', 'web')!.status.readyReplicas).to.equal(1);
  });
});

describe('faults: messages', () => {
  const scale = (fault: string) => web(`duration: 6m\nactions:\n  - {at: 1m, scale: {statefulset: web, replicas: 4}}\nfaults:\n  - ${fault}`, 1);
  const readyAt = (sim: Simulation) => {
    sim.runUntil((s) => s.get('StatefulSet', 'web')?.status?.readyReplicas === 4, { timeout: '6m' });
    return sim.nowMs;
  };

  it('message loss breaks watches and times out requests; informers resume and the set converges', () => {
    const sim = scale('{at: 50s, messageLoss: {rate: 0.3}, for: 1m}');
    const r = sim.runScenario();
    expect(sim.get('StatefulSet', 'web')!.status.readyReplicas).to.equal(4);
    expect(r.violations).to.deep.equal([]);
  });

  it('message delay slows the scale-up down (pods Ready later than without)', () => {
    const plain = readyAt(scale('{at: 5m, messageDelay: {min: 1ms}, for: 1s}'));
    const slowed = readyAt(scale('{at: 50s, messageDelay: {min: 2s, max: 3s}, for: 2m}'));
    expect(slowed).to.be.greaterThan(plain + 10_000);
  });

  it('duplicated messages create nothing twice: exactly four pods with four identities', () => {
    const sim = scale('{at: 50s, messageDuplicate: {rate: 0.5}, for: 2m}');
    const r = sim.runScenario();
    expect(sim.list('Pod', 'default').map((p) => p.metadata.name)).to.deep.equal(['web-0', 'web-1', 'web-2', 'web-3']);
    expect(r.violations).to.deep.equal([]);
  });

  it('reordered messages (a watch event overtaking an earlier one) still converge', () => {
    const sim = scale('{at: 50s, messageReorder: {rate: 0.3, window: 2s}, for: 2m}');
    const r = sim.runScenario();
    expect(sim.get('StatefulSet', 'web')!.status.readyReplicas).to.equal(4);
    expect(r.violations).to.deep.equal([]);
  });

  it('a message fault between two groups touches only the messages between them', () => {
    const sim = web('duration: 3m\nfaults:\n  - {at: 30s, messageLoss: {rate: 1, between: [[node/node-1], [apiserver]]}, for: 2m}');
    sim.runFor('3m');
    const r = sim.report();
    expect(events(r, 'NodeNotReady').map((e) => e.involvedObject.name)).to.deep.equal(['node-1']);
  });
});

describe('converges (the liveness judge)', () => {
  it('a node that never comes back leaves its pod Terminating: a violation naming the admin action Kubernetes waits for', () => {
    const sim = web('duration: 10m\nfaults:\n  - {at: 1m, crash: node/node-1}', 3);
    const r = sim.runScenario();
    const v = r.violations.filter((x) => x.invariant === 'converges');
    expect(v.length).to.be.greaterThan(0);
    const pod = v.find((x) => x.message.startsWith('pod '))!;
    expect(pod.message).to.match(/Terminating on node-1, Running and Ready without faults; node node-1 never came back \(crash node\/node-1\): .*force-delete.*out-of-service/);
    expect(v.find((x) => x.message.startsWith('statefulset default/web'))!.message).to.match(/readyReplicas \d\/3.*3\/3 without faults/);
  });

  it('what the fault-free run does not reach either is no violation (a claim that never binds)', () => {
    const sim = Simulation.fromYaml(
      yamlDocs(
        'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {accessModes: [ReadWriteOnce], storageClassName: missing, resources: {requests: {storage: 1Gi}}}\n',
        'apiVersion: v1\nkind: Pod\nmetadata: {name: user}\nspec:\n  containers: [{name: c, image: busybox}]\n  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]\n',
        scenarioDoc('duration: 3m\nfaults:\n  - {at: 1m, crash: kube-scheduler, for: 30s}'),
      ),
      { seed: 1 },
    );
    const r = sim.runScenario();
    expect(r.violations).to.deep.equal([]);
  });

  it('the run goes on past duration until the last heal plus settle, and stops as soon as the cluster converged', () => {
    const sim = web('duration: 2m\nfaults:\n  - {at: 1m50s, crash: node/node-1, for: 1m}', 3);
    sim.runScenario();
    // Judged after 2m50s (the heal) and before 12m50s (plus settle): converged in between.
    expect(sec(sim.nowMs)).to.be.within(170, 770);
  });

  it('sts-force-delete is caught by sts-identity-unique; the same scenario is clean without it', () => {
    const file = `${EXAMPLES}node-partition.yaml`;
    const withBug = Simulation.load(file, { bug: 'sts-force-delete' }).runScenario();
    expect(withBug.violations.map((v) => v.invariant)).to.include('sts-identity-unique');
    expect(Simulation.load(file).runScenario().violations).to.deep.equal([]);
  });

  it('informer-no-relist is caught by converges; the same scenario is clean without it', () => {
    const file = `${EXAMPLES}message-loss-scale.yaml`;
    const withBug = Simulation.load(file, { bug: 'informer-no-relist' }).runScenario();
    expect(withBug.violations.map((v) => v.invariant)).to.include('converges');
    expect(Simulation.load(file).runScenario().violations).to.deep.equal([]);
  });
});

describe('chaos', () => {
  const chaos = (seed: number) => Simulation.load(`${EXAMPLES}chaos-rbd-sts.yaml`, { seed });

  it('draws faults from the seed within the budget: all healed before the last quarter, never every node down', () => {
    const ms = (d: unknown) => parseDuration(String(d)) as number;
    for (let seed = 1; seed <= 30; seed++) {
      const r = chaos(seed).report();
      expect(r.faults).to.have.length(5);
      for (const f of r.faults) expect(ms(f['at']) + (f['for'] === undefined ? 0 : ms(f['for'])), JSON.stringify(f)).to.be.at.most(0.75 * 30 * 60_000);
      // At every instant a fault starts, some node is neither crashed nor cut off from the API server.
      const out = (t: number) => {
        const nodes = new Set<string>();
        for (const f of r.faults) {
          const from = ms(f['at']);
          if (t < from || t >= from + ms(f['for'] ?? '0s')) continue;
          if (typeof f['crash'] === 'string' && f['crash'].startsWith('node/')) nodes.add(f['crash']);
          const groups = f['partition'] as string[][] | undefined;
          if (groups?.some((g) => g.includes('apiserver'))) for (const g of groups) if (!g.includes('apiserver')) for (const h of g) if (h.startsWith('node/')) nodes.add(h);
        }
        return nodes.size;
      };
      for (const f of r.faults) expect(out(ms(f['at'])), `seed ${seed}`).to.be.below(4);
    }
  });

  it('the drawn faults, pasted back as spec.faults, replay the same run (same trace hash)', () => {
    const drawn = chaos(4).runScenario();
    const text = fileText(`${EXAMPLES}chaos-rbd-sts.yaml`).replace('  chaos: {faults: 5}', `  faults:\n${drawn.faults.map((f) => `    - ${JSON.stringify(f)}`).join('\n')}`);
    const replay = Simulation.fromYaml(text, { seed: 4, file: 'replay.yaml' }).runScenario();
    expect(replay.faults).to.deep.equal(drawn.faults);
    expect(replay.traceHash).to.equal(drawn.traceHash);
  });
});

describe('fault streams', () => {
  // Each fault draws from a stream named by the fault itself (kind, at, target), not by its place
  // in the list: removing one fault (as shrinking does) leaves the others' draws — which messages
  // a loss hits — and the network's jitter as they were. The fault removed here touches nothing
  // (cluster-dns and kube-scheduler never talk), so the two runs must be the same run.
  it('removing a fault that touches nothing leaves the other faults\' draws and the run as they were', () => {
    const loss = '{at: 1m, messageLoss: {rate: 0.3}, for: 2m}';
    const idle = '{at: 30s, messageDuplicate: {rate: 0.9, between: [[cluster-dns], [kube-scheduler]]}, for: 5m}';
    const runWith = (faults: string[]) => {
      const lines: string[] = [];
      const sim = Simulation.fromYaml(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 3 }), scenarioDoc(`duration: 6m\nfaults:\n${faults.map((f) => `  - ${f}`).join('\n')}`)), { seed: 5 });
      (sim as unknown as { run: { world: { trace: { listeners: ((at: number, kind: string, actor: string, detail: string) => void)[] } } } }).run.world.trace.listeners.push((at, kind, actor, detail) => {
        if (kind !== 'F') lines.push(`${at} ${kind} ${actor} ${detail}`);
      });
      sim.runScenario();
      return lines;
    };
    const both = runWith([idle, loss]);
    const alone = runWith([loss]);
    expect(both.filter((l) => l.includes(' X ')).length, 'the loss dropped messages').to.be.greaterThan(5);
    expect(both).to.deep.equal(alone);
  });
});

function fileText(path: string): string {
  return readFileSync(path, 'utf8');
}
