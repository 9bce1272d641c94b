/**
 * kubelet: one per node (address `kubelet/<node>`). Owns the node's running pods, their
 * containers' writable layers, the node's disk (kept across a crash, lost on a wipe) and the
 * node's Lease.
 *
 * Receives: its informer's list and watch events for the pods bound to its node (field selector
 *           spec.nodeName; the kubelet's pod source resyncs nothing),
 *           exec.request (proxied by the API server), node.request (a shell on the node),
 *           api.response for its own writes.
 * Sends:    pod status updates, the final pod delete (grace 0) after containers stop, Lease
 *           renewals, node status reports, Events (Pulling, Pulled, Created, Started, Killing,
 *           FailedMount) — all to the API server.
 *
 * Follows pkg/kubelet (kubelet.go syncPod / syncTerminatingPod, status/status_manager.go,
 * nodelease/controller.go, volumemanager, active_deadline.go). Pod lifecycle as
 * `kubectl get pods -w` shows it: Pending -> ContainerCreating -> Running (Ready) ->
 * Terminating -> gone. Containers run until stopped, except the few processes ksim runs to
 * their end (kubelet-processes.ts: the PV recycler's scrub), after which the pod is Succeeded
 * or Failed and stays until deleted; a pod past its activeDeadlineSeconds is Failed
 * (DeadlineExceeded).
 * clockSkew (SPEC §1), a fault signal {byMs}: the node's clock runs off by byMs, so every time
 * this kubelet writes — the Lease's renewTime (nodelease/controller.go stamps c.clock.Now()), its
 * node conditions' heartbeat and transition times, its pods' status times (conditions,
 * startTime, containers' startedAt and finishedAt from the runtime on the same node) — is
 * skewed; its timers, which count durations, are not. The node lifecycle controller judges the
 * node only by whether those times change (a lease renewTime earlier than the one it saw counts
 * as no renewal), so a clock jumping back looks like a kubelet that stopped renewing.
 * Defaults: lease renewed every 10 s (40 s lease x renewIntervalFraction 0.25,
 * nodelease/controller.go); node status reported every 5 m when unchanged
 * (NodeStatusReportFrequency, kubelet config v1beta1 defaults); volume operation retries back
 * off from 500 ms to 2m2s (goroutinemap/exponentialbackoff); container start delay 1-5 s
 * seeded (SPEC §2).
 */
import type { Container, ContainerState, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Component, Port } from '../src/component.ts';
import type { KObject, Msg, NodeShellRequest, ExecRequest, ShellResponse } from '../src/protocol.ts';
import { ApiClient } from '../src/api-client.ts';
import { Informers } from '../src/informer.ts';
import { deepCopy, isPodReady } from '../src/model/objects.ts';
import { ENOENT, joinPath, MemFs } from '../src/fs.ts';
import { formatDuration } from '../src/duration.ts';
import { fnv1a } from '../src/trace.ts';
import { nodeInternalIP } from '../src/model/cidr.ts';

/** 64 hex digits from a string (eight FNV-1a rounds): ids that look like containerd's. */
function hex64(text: string): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += fnv1a(`${i}:${text}`);
  return out;
}
import { mountFor, type NodeState } from './kubelet-volumes.ts';
import { processOf } from './kubelet-processes.ts';

export type { NodeState } from './kubelet-volumes.ts';
import { NOT_ATTACHED_YET, POD_ATTACH_MOUNT_TIMEOUT_MS, VolumeManager, type PodVolumes } from './kubelet-volume-manager.ts';

export interface KubeletOptions {
  nodeName: string;
  /** N of node-N: its InternalIP (192.168.0.(10+N)) and, unless podSubnet says otherwise, its pod CIDR 10.244.N.0/24. */
  podCidrIndex: number;
  /**
   * The first three octets of the node's /24 pod CIDR (`10.245.3`), handed out by the range
   * allocator from the cluster CIDR; null when it had none left (CIDRNotAvailable): the CNI
   * plugin has no subnet, the node is not Ready and no pod sandbox can start.
   */
  podSubnet?: string | null;
  node: NodeState;
  startDelayMsMin?: number;
  startDelayMsMax?: number;
  leaseRenewMs?: number;
  statusReportMs?: number;
  /** CSIDriver.spec.attachRequired of each driver. */
  csiAttachRequired?: (driver: string) => boolean;
  /**
   * `kubelet-skip-mount`: a re-introduced failure mode — a claim's volume is set up but not
   * bind-mounted into the container, so the container writes to its own layer and the data is
   * gone with the pod (what no-data-loss must catch).
   */
  bug?: string;
}

// nodelease/controller.go: leaseDuration 40 s x renewIntervalFraction 0.25.
const LEASE_DURATION_S = 40;
const LEASE_RENEW_MS = 10_000;
// kubelet config v1beta1 defaults: NodeStatusReportFrequency 5m, NodeStatusUpdateFrequency 10s.
const STATUS_REPORT_MS = 300_000;
const STATUS_UPDATE_MS = 10_000;
// pkg/kubelet/status/status_manager.go: syncPeriod, how often pod statuses are synced.
const STATUS_SYNC_MS = 10_000;
// RunPodSandbox (the pause container, its image on every node) takes at most this long of a
// pod's start delay: ksim's choice, a fraction of a second as on a node with the image cached.
const SANDBOX_MS = 500;
// pkg/kubelet/active_deadline.go: the reason and message of a pod past activeDeadlineSeconds.
const DEADLINE_EXCEEDED = 'DeadlineExceeded';
const DEADLINE_MESSAGE = 'Pod was active on the node longer than the specified deadline';
// goroutinemap/exponentialbackoff: initialDurationBeforeRetry 500ms, maxDurationBeforeRetry 2m2s.
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 122_000;
// A node without a pod CIDR: the runtime's network is not ready (pkg/kubelet/nodestatus
// setters.go ReadyCondition with the runtime's NetworkReady=false), and a sandbox cannot be set
// up (flannel's CNI plugin finds no subnet.env).
export const NETWORK_NOT_READY = 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';
const SANDBOX_NO_NETWORK = 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: open /run/flannel/subnet.env: no such file or directory';

/** `completed`: every container has exited on its own (or the pod's deadline passed); the pod object stays. */
type Stage = 'mounting' | 'starting' | 'running' | 'completed' | 'stopping' | 'stopped';

interface PodRec {
  pod: Pod;
  uid: string;
  stage: Stage;
  /**
   * Restarts of the pod's containers (containerStatuses restartCount): a kubelet that comes back
   * after its node went down finds the pod's containers gone and starts them again.
   */
  restarts: number;
  /** When the previous containers started, for lastState after a restart. */
  previousStartedAt: string | undefined;
  /** The status last written, and a count of writes (a retry sends only the latest). */
  status?: PodStatus;
  statusSeq: number;
  backoffMs: number;
  ip: string | undefined;
  startedAt: string | undefined;
  /** The pod's volumes and where each one's data lives. */
  vols: PodVolumes;
  mounting: boolean;
  /** Each container's writable layer. */
  layers: Map<string, MemFs>;
  /** Volumes torn down (once: a completed pod is torn down before its deletion). */
  unmounted: boolean;
  /** The status a pod that ended by itself was given. */
  final?: PodStatus;
  /** The pod's seeded start delay (drawn when its volumes are ready). */
  startDelayMs: number;
  /** The container being started (index into spec.containers). */
  next: number;
  pullStartedMs: number;
}

/**
 * An image's size for the Pulled event (`Image size: N bytes.`): ksim has no registry, so a
 * size between 2 and 200 MB derived from the image's name, the same in every run.
 */
export function imageSizeBytes(image: string): number {
  return 2_000_000 + (parseInt(fnv1a(image), 16) % 198_000_000);
}

const SOURCE = 'kubelet';

export function kubelet(port: Port, opts: KubeletOptions): Component {
  const api = new ApiClient(port);
  const { nodeName, node } = opts;
  // Its pods (spec.nodeName) and its own Node (metadata.name), as the kubelet's informers have them.
  const informers = new Informers(port, api, {
    kinds: ['Pod', 'Node'],
    nodeName,
    only: { Node: nodeName },
    onChange: (type, obj, old) => {
      if (obj.kind !== 'Pod') return onNode(type, obj);
      // A re-list that shows a new pod under a gone pod's name: the kubelet's pod config
      // compares by UID, so the old one is removed and the new one added (config/config.go).
      if (type === 'MODIFIED' && old && old.metadata.uid !== obj.metadata.uid) {
        onPodEvent('DELETED', old as Pod);
        return onPodEvent('ADDED', obj as Pod);
      }
      onPodEvent(type, obj as Pod);
    },
  });
  let startMs = 0;
  const pods = new Map<string, PodRec>();
  const leaseRenewMs = opts.leaseRenewMs ?? LEASE_RENEW_MS;
  const statusReportMs = opts.statusReportMs ?? STATUS_REPORT_MS;
  const delayMin = opts.startDelayMsMin ?? 1000;
  const delayMax = opts.startDelayMsMax ?? 5000;
  let nextIp = 2;
  const podSubnet = opts.podSubnet === undefined ? `10.244.${opts.podCidrIndex}` : opts.podSubnet;
  const nodeIp = nodeInternalIP(opts.podCidrIndex);
  /** How far this node's clock is off (a clockSkew fault), in ms. */
  let skewMs = 0;
  /** RFC 3339 (seconds) of the node's own clock: the simulated instant, off by the skew. */
  const nowIso = (): string => (skewMs === 0 ? port.nowIso() : new Date(Date.parse(port.nowIso()) + skewMs).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const micro = () => nowIso().replace('Z', '.000000Z');
  const vm = new VolumeManager(port, api, {
    nodeName,
    node,
    csiAttachRequired: opts.csiAttachRequired ?? (() => true),
    event: (pod, type, reason, message) => event(pod, type, reason, message),
    onVolumesInUse: (names) => reportVolumesInUse(names),
  });

  /** node.status.volumesInUse: what the attach-detach controller waits on before detaching. */
  function reportVolumesInUse(names: string[]): void {
    updateNodeStatus((n) => {
      if (names.length) n.status.volumesInUse = names;
      else delete n.status.volumesInUse;
    });
  }

  /** Reads the Node, changes its status, writes it back; again on 409 (someone wrote between). */
  function updateNodeStatus(change: (node: KObject) => void): void {
    api.request({ verb: 'get', kind: 'Node', name: nodeName }, (res) => {
      if (!res.ok || !res.obj) return;
      const n = deepCopy(res.obj);
      change(n);
      api.request({ verb: 'updateStatus', kind: 'Node', name: nodeName, obj: n }, (up) => {
        if (!up.ok && up.status?.code === 409) updateNodeStatus(change);
      });
    });
  }


  function event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    api.event(pod as KObject, type, reason, message, SOURCE);
  }

  function renewLease(): void {
    const lease: KObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: nodeName, namespace: 'kube-node-lease' },
      spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_S, renewTime: micro() },
    };
    api.request({ verb: 'apply', kind: 'Lease', namespace: 'kube-node-lease', name: nodeName, obj: lease });
    port.setTimer('lease', leaseRenewMs);
  }

  /**
   * The conditions the kubelet posts (pkg/kubelet/nodestatus/setters.go): memory, disk and PID
   * pressure False and Ready True; a condition whose status changes gets a new transition time.
   */
  function postConditions(n: KObject): void {
    const now = nowIso();
    // The volumes in use as this kubelet knows them (a kubelet back after its node went down
    // knows of none: what its previous life reported is stale).
    const inUse = vm.volumesInUse();
    const status = (n.status ??= {});
    if (inUse.length > 0) status.volumesInUse = [...inUse];
    else delete status.volumesInUse;
    const want: [string, string, string, string][] = [
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
      podSubnet === null ? ['Ready', 'False', 'KubeletNotReady', NETWORK_NOT_READY] : ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
    ];
    const conds: Record<string, unknown>[] = ((n.status ??= {}).conditions ??= []);
    for (const [type, status, reason, message] of want) {
      const cur = conds.find((c) => c['type'] === type);
      const next = { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: cur && cur['status'] === status ? cur['lastTransitionTime'] : now };
      if (cur) Object.assign(cur, next);
      else conds.push(next);
    }
  }

  function reportNodeStatus(): void {
    updateNodeStatus(postConditions);
    port.setTimer('node-status', statusReportMs);
  }

  /**
   * Its own Node changed. When someone else (the node lifecycle controller, while this kubelet
   * was unreachable) made it not Ready, the kubelet's next status sync — every
   * nodeStatusUpdateFrequency (10 s), posting when what it would write differs — sets it back.
   */
  function onNode(type: string, n: KObject): void {
    // Without a pod CIDR the node is not Ready by its kubelet's own word: nothing to set back.
    if (type === 'DELETED' || podSubnet === null) return;
    const ready = ((n.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return;
    const since = (port.now() - startMs) % STATUS_UPDATE_MS;
    port.setTimer('node-status', since === 0 ? 0 : STATUS_UPDATE_MS - since);
  }

  function containersOf(pod: Pod): Container[] {
    return pod.spec?.containers ?? [];
  }

  /**
   * The status manager: the kubelet owns pod status and writes it like a patch would (no
   * resourceVersion). A write that fails or gets no answer (a lost message, the API server away)
   * is written again at the next sync, syncPeriod (10 s) later (status_manager.go), with the
   * latest status; the pod being gone ends it.
   */
  function writeStatus(rec: PodRec, status: PodStatus): void {
    rec.status = status;
    const { resourceVersion: _rv, ...metadata } = rec.pod.metadata!;
    const obj: KObject = { ...(rec.pod as KObject), metadata, status };
    const seq = ++rec.statusSeq;
    api.request({ verb: 'updateStatus', kind: 'Pod', namespace: rec.pod.metadata!.namespace!, name: rec.pod.metadata!.name!, obj }, (res) => {
      if (res.ok || res.status?.code === 404 || seq !== rec.statusSeq || pods.get(rec.uid) !== rec) return;
      port.setTimer(`status/${rec.uid}`, STATUS_SYNC_MS);
    });
  }

  function conditions(rec: PodRec, ready: boolean, sandbox: boolean): NonNullable<PodStatus['conditions']> {
    const now = nowIso();
    const names = containersOf(rec.pod).map((c) => c.name);
    const notReady = ready ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` };
    const scheduled = (rec.pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    return [
      { type: 'PodReadyToStartContainers', status: sandbox ? 'True' : 'False', lastProbeTime: null as never, lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastProbeTime: null as never, lastTransitionTime: rec.pod.status?.startTime ?? now },
      { type: 'Ready', status: ready ? 'True' : 'False', lastProbeTime: null as never, lastTransitionTime: now, ...notReady },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastProbeTime: null as never, lastTransitionTime: now, ...notReady },
      scheduled ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null as never, lastTransitionTime: now },
    ];
  }

  function baseStatus(rec: PodRec): PodStatus {
    const s: PodStatus = {
      phase: 'Pending',
      hostIP: nodeIp,
      hostIPs: [{ ip: nodeIp }],
      startTime: rec.pod.status?.startTime ?? nowIso(),
      qosClass: 'BestEffort',
    };
    if (rec.ip) {
      s.podIP = rec.ip;
      s.podIPs = [{ ip: rec.ip }];
    }
    return s;
  }

  function statusCreating(rec: PodRec): PodStatus {
    return {
      ...baseStatus(rec),
      conditions: conditions(rec, false, false),
      containerStatuses: containersOf(rec.pod).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        restartCount: rec.restarts,
        started: false,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: lastState(rec, c.name),
      })),
    };
  }

  /** The previous containers after a node restart: gone without an exit status (containerd: 255, Unknown). */
  function lastState(rec: PodRec, name: string): ContainerState {
    if (rec.restarts === 0) return {};
    const startedAt = rec.previousStartedAt ?? rec.pod.status?.startTime ?? nowIso();
    return { terminated: { exitCode: 255, reason: 'Unknown', startedAt, finishedAt: startedAt, containerID: containerId(rec, `${name}#${rec.restarts - 1}`) } };
  }

  /** A 64-hex containerd id, derived from the pod uid and container name (stable per seed). */
  function containerId(rec: PodRec, name: string): string {
    return `containerd://${hex64(`${rec.uid}/${name}`)}`;
  }

  /** `docker.io/library/nginx@sha256:...`: the repo digest an image id shows. */
  function imageId(image: string): string {
    const repo = image.split(':')[0]!;
    const full = repo.includes('/') ? (repo.split('/')[0]!.includes('.') ? repo : `docker.io/${repo}`) : `docker.io/library/${repo}`;
    return `${full}@sha256:${hex64(image)}`;
  }

  function statusRunning(rec: PodRec): PodStatus {
    return {
      ...baseStatus(rec),
      phase: 'Running',
      conditions: conditions(rec, true, true),
      containerStatuses: containersOf(rec.pod).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: imageId(c.image ?? ''),
        containerID: containerId(rec, rec.restarts === 0 ? c.name : `${c.name}#${rec.restarts}`),
        ready: true,
        restartCount: rec.restarts,
        started: true,
        state: { running: { startedAt: rec.startedAt! } },
        lastState: lastState(rec, c.name),
      })),
    };
  }

  function statusTerminated(rec: PodRec): PodStatus {
    const now = nowIso();
    return {
      ...baseStatus(rec),
      // A deleted pod whose containers all exited 0 ends Succeeded (v1.27+ kubelet sets a terminal phase).
      phase: rec.startedAt ? 'Succeeded' : 'Failed',
      conditions: conditions(rec, false, false),
      containerStatuses: containersOf(rec.pod).map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: rec.startedAt ? imageId(c.image ?? '') : '',
        ...(rec.startedAt ? { containerID: containerId(rec, c.name) } : {}),
        ready: false,
        restartCount: 0,
        started: false,
        state: rec.startedAt
          ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: rec.startedAt, finishedAt: now, containerID: containerId(rec, c.name) } }
          : { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      })),
    };
  }

  function unmountAll(rec: PodRec): void {
    if (rec.unmounted) return;
    rec.unmounted = true;
    vm.unmount(rec.vols);
    rec.layers.clear();
  }

  /**
   * A terminal pod's status (kubelet_pods.go getPhase: restartPolicy Never and every container
   * exited — Succeeded when all exited 0, else Failed), with the reason and message of an
   * eviction such as the active deadline.
   */
  function statusCompleted(rec: PodRec, exitCodes: Map<string, number>, why?: { reason: string; message: string }): PodStatus {
    const now = nowIso();
    const ok = [...exitCodes.values()].every((code) => code === 0);
    return {
      ...baseStatus(rec),
      phase: ok && !why ? 'Succeeded' : 'Failed',
      ...(why ? { reason: why.reason, message: why.message } : {}),
      // status.GeneratePodReadyCondition: a terminal pod is not ready for reason PodCompleted.
      conditions: conditions(rec, false, false).map((c) => {
        if (c.type !== 'Ready' && c.type !== 'ContainersReady') return c;
        const { message: _message, ...rest } = c;
        return { ...rest, reason: 'PodCompleted' };
      }),
      containerStatuses: containersOf(rec.pod).map((c) => {
        const code = exitCodes.get(c.name) ?? 137;
        return {
          name: c.name,
          image: c.image ?? '',
          imageID: rec.startedAt ? imageId(c.image ?? '') : '',
          ...(rec.startedAt ? { containerID: containerId(rec, c.name) } : {}),
          ready: false,
          restartCount: 0,
          started: false,
          state: { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: rec.startedAt ?? now, finishedAt: now, ...(rec.startedAt ? { containerID: containerId(rec, c.name) } : {}) } },
          lastState: {},
        };
      }),
    };
  }

  /** The pod has ended by itself: its final status is written, its volumes are torn down. */
  function complete(rec: PodRec, exitCodes: Map<string, number>, why?: { reason: string; message: string }): void {
    if (rec.stage === 'completed' || rec.stage === 'stopping' || rec.stage === 'stopped') return;
    for (const k of ['mount', 'mount-timeout', 'sandbox', 'pull', 'start', 'deadline']) port.cancelTimer(`${k}/${rec.uid}`);
    rec.stage = 'completed';
    rec.final = statusCompleted(rec, exitCodes, why);
    const m = rec.pod.metadata!;
    port.note(`pod ${m.namespace}/${m.name} ${rec.final.phase}`);
    writeStatus(rec, rec.final);
    unmountAll(rec);
  }

  /**
   * Runs the containers' processes that ksim runs to their end (kubelet-processes.ts) when
   * every container of the pod has one; the pod completes when the last one exits.
   */
  function runProcesses(rec: PodRec): void {
    const cs = containersOf(rec.pod);
    const procs = cs.map(processOf);
    if (cs.length === 0 || procs.some((p) => p === undefined)) return;
    const exitCodes = new Map<string, number>();
    cs.forEach((c, i) => {
      const proc = procs[i]!;
      const exit = (code: number) => {
        exitCodes.set(c.name, code);
        if (exitCodes.size === cs.length && rec.stage === 'running') complete(rec, exitCodes);
      };
      // scrub: `find <path> -mindepth 1 -delete` through the volume mounted there.
      const hit = mountFor(c.volumeMounts, proc.path);
      const vol = hit && rec.vols.vols.find((v) => v.name === hit.mount.name);
      if (!hit || !vol?.backing) return exit(1);
      vm.io(vol.backing, 'clear', joinPath(hit.mount.subPath ?? '', hit.rel), undefined, false, (r) => exit(r.ok ? 0 : 1));
    });
  }

  function admit(pod: Pod): void {
    const uid = pod.metadata!.uid!;
    const vols: PodVolumes = { uid, pod, vols: (pod.spec?.volumes ?? []).map((v) => ({ name: v.name, ready: false, unattached: false })) };
    // A pod the API shows with running containers that this kubelet does not run: the node went
    // down under it (a kubelet's memory does not outlive its node here), so its containers are
    // gone and start again, one restart more (kuberuntime: the sandbox changed).
    const statuses = pod.status?.containerStatuses ?? [];
    const wasRunning = statuses.some((c) => c.state?.running);
    const restarts = wasRunning ? Math.max(...statuses.map((c) => c.restartCount ?? 0)) + 1 : 0;
    const previousStartedAt = statuses.find((c) => c.state?.running)?.state?.running?.startedAt;
    const rec: PodRec = {
      pod, uid, stage: 'mounting', backoffMs: BACKOFF_INITIAL_MS, ip: undefined, startedAt: undefined, vols, mounting: false, layers: new Map(),
      unmounted: false, startDelayMs: 0, next: 0, pullStartedMs: 0, restarts, previousStartedAt, statusSeq: 0,
    };
    pods.set(uid, rec);
    port.note(`pod ${pod.metadata!.namespace}/${pod.metadata!.name} admitted`);
    if (pod.metadata!.deletionTimestamp) return;
    if (wasRunning) event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    writeStatus(rec, statusCreating(rec));
    port.setTimer(`mount/${uid}`, 0);
    port.setTimer(`mount-timeout/${uid}`, POD_ATTACH_MOUNT_TIMEOUT_MS);
    // activeDeadlineSeconds counts from the pod's start (active_deadline.go).
    const deadlineS = pod.spec?.activeDeadlineSeconds;
    if (typeof deadlineS === 'number') port.setTimer(`deadline/${uid}`, deadlineS * 1000);
  }

  function tryMount(rec: PodRec): void {
    if (rec.stage !== 'mounting' || rec.mounting) return;
    rec.mounting = true;
    vm.mount(rec.vols, (err) => {
      rec.mounting = false;
      if (rec.stage !== 'mounting') return;
      if (err) {
        if (err !== NOT_ATTACHED_YET) event(rec.pod, 'Warning', 'FailedMount', err);
        port.setTimer(`mount/${rec.uid}`, rec.backoffMs);
        rec.backoffMs = Math.min(rec.backoffMs * 2, BACKOFF_MAX_MS);
        return;
      }
      port.cancelTimer(`mount-timeout/${rec.uid}`);
      pullAndStart(rec);
    });
  }

  /**
   * Starts the containers one after the other, as SyncPod does (kuberuntime_manager.go): the
   * pod's sandbox first (RunPodSandbox), then for each container EnsureImageExists
   * (images/image_manager.go: `Pulling`, then `Pulled` when the pull is done, or `Pulled` at once
   * when the image is present and the policy allows), then `Created` and `Started`. The first
   * container is up after the pod's seeded start delay (SPEC §2): the sandbox takes its first
   * part (half, at most SANDBOX_MS), the image pull or the container's creation the rest; a later
   * container's pull takes a delay of its own.
   */
  function pullAndStart(rec: PodRec): void {
    rec.stage = 'starting';
    rec.startDelayMs = port.rng.int(delayMin, delayMax);
    rec.next = 0;
    const sandboxMs = Math.min(SANDBOX_MS, Math.floor(rec.startDelayMs / 2));
    rec.startDelayMs -= sandboxMs;
    port.setTimer(`sandbox/${rec.uid}`, sandboxMs);
  }

  function needsPull(c: Container): boolean {
    return !node.images.has(c.image ?? '') || c.imagePullPolicy === 'Always';
  }

  function startNext(rec: PodRec): void {
    const c = containersOf(rec.pod)[rec.next];
    if (!c) return podRunning(rec);
    const image = c.image ?? '';
    if (needsPull(c)) {
      event(rec.pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
      rec.pullStartedMs = port.now();
      port.setTimer(`pull/${rec.uid}`, rec.next === 0 ? rec.startDelayMs : port.rng.int(delayMin, delayMax));
      return;
    }
    event(rec.pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
    if (rec.next === 0) port.setTimer(`start/${rec.uid}`, rec.startDelayMs);
    else startContainer(rec);
  }

  function pulled(rec: PodRec): void {
    if (rec.stage !== 'starting') return;
    const image = containersOf(rec.pod)[rec.next]?.image ?? '';
    const took = formatDuration(port.now() - rec.pullStartedMs);
    event(rec.pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${imageSizeBytes(image)} bytes.`);
    node.images.add(image);
    startContainer(rec);
  }

  function startContainer(rec: PodRec): void {
    if (rec.stage !== 'starting') return;
    const c = containersOf(rec.pod)[rec.next];
    if (!c) return podRunning(rec);
    if (!rec.startedAt) rec.startedAt = nowIso();
    rec.layers.set(c.name, new MemFs());
    event(rec.pod, 'Normal', 'Created', `Created container ${c.name}`);
    event(rec.pod, 'Normal', 'Started', `Started container ${c.name}`);
    rec.next++;
    startNext(rec);
  }

  function podRunning(rec: PodRec): void {
    rec.stage = 'running';
    rec.ip = `${podSubnet}.${nextIp}`;
    // host-local IPAM hands addresses out in order and wraps at the end of the range.
    nextIp = nextIp >= 254 ? 2 : nextIp + 1;
    rec.startedAt ??= nowIso();
    port.note(`pod ${rec.pod.metadata!.namespace}/${rec.pod.metadata!.name} running ip=${rec.ip}`);
    writeStatus(rec, statusRunning(rec));
    runProcesses(rec);
  }

  function beginStop(rec: PodRec): void {
    if (rec.stage === 'stopping' || rec.stage === 'stopped') return;
    port.cancelTimer(`deadline/${rec.uid}`);
    const wasRunning = rec.stage === 'running';
    rec.stage = 'stopping';
    port.cancelTimer(`mount/${rec.uid}`);
    port.cancelTimer(`mount-timeout/${rec.uid}`);
    port.cancelTimer(`sandbox/${rec.uid}`);
    port.cancelTimer(`start/${rec.uid}`);
    port.cancelTimer(`pull/${rec.uid}`);
    let delay = 0;
    if (wasRunning) {
      for (const c of containersOf(rec.pod)) event(rec.pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
      // Containers exit on SIGTERM after a seeded moment, never later than the grace period.
      const graceMs = (rec.pod.metadata!.deletionGracePeriodSeconds ?? rec.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      delay = Math.min(graceMs, port.rng.int(100, 1500));
    }
    port.setTimer(`stop/${rec.uid}`, delay);
  }

  function finishStop(rec: PodRec): void {
    if (rec.stage !== 'stopping') return;
    rec.stage = 'stopped';
    writeStatus(rec, rec.final ?? statusTerminated(rec));
    unmountAll(rec);
    const m = rec.pod.metadata!;
    port.note(`pod ${m.namespace}/${m.name} stopped`);
    deletePod(rec);
  }

  /**
   * The status manager's final delete of a terminated pod (grace 0, with the pod's uid as
   * precondition): one that fails or gets no answer is sent again at the next sync, syncPeriod
   * later (status_manager.go syncPod: canBeDeleted), until the pod is gone.
   */
  function deletePod(rec: PodRec): void {
    const m = rec.pod.metadata!;
    api.request({ verb: 'delete', kind: 'Pod', namespace: m.namespace!, name: m.name!, gracePeriodSeconds: 0, uid: rec.uid }, (res) => {
      if (res.ok || res.status?.code === 404 || res.status?.code === 409 || pods.get(rec.uid) !== rec) return;
      port.setTimer(`delete/${rec.uid}`, STATUS_SYNC_MS);
    });
  }

  function finishedDeleting(pod: Pod): void {
    const uid = pod.metadata!.uid!;
    const rec: PodRec = {
      pod, uid, stage: 'stopped', backoffMs: BACKOFF_INITIAL_MS, ip: undefined, startedAt: undefined,
      vols: { uid, pod, vols: [] }, mounting: false, layers: new Map(), unmounted: true, startDelayMs: 0, next: 0,
      pullStartedMs: 0, restarts: 0, previousStartedAt: undefined, statusSeq: 0,
    };
    pods.set(uid, rec);
    deletePod(rec);
  }

  function onPodEvent(ev: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod): void {
    const uid = pod.metadata!.uid!;
    const rec = pods.get(uid);
    if (ev === 'DELETED') {
      if (rec) {
        for (const k of ['mount', 'mount-timeout', 'sandbox', 'pull', 'start', 'stop', 'deadline', 'status', 'delete']) port.cancelTimer(`${k}/${uid}`);
        // Force-deleted (or deleted before we finished): the containers are killed now.
        if (rec.stage === 'running' || rec.stage === 'stopping') port.note(`pod ${pod.metadata!.namespace}/${pod.metadata!.name} stopped`);
        unmountAll(rec);
        pods.delete(uid);
      }
      return;
    }
    if (!rec) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') {
        // A finished pod being deleted: its containers are long gone (a kubelet that restarted
        // before its final delete got through sends it now).
        if (pod.metadata!.deletionTimestamp) finishedDeleting(pod);
        return;
      }
      admit(pod);
      if (pod.metadata!.deletionTimestamp) beginStop(pods.get(uid)!);
      return;
    }
    rec.pod = pod;
    rec.vols.pod = pod;
    if (pod.metadata!.deletionTimestamp) return beginStop(rec);
    // The status manager syncs what differs from what it would write: a pod someone else marked
    // not Ready (the node lifecycle controller, while the node was unreachable) is Ready again.
    if (rec.stage === 'running' && !isPodReady(pod as KObject)) writeStatus(rec, statusRunning(rec));
  }

  /** Exec streams served, by `from|reqId`. */
  const execStreams = new Set<string>();

  function respond(req: { reqId: string }, to: string, ok: boolean, extra: { data?: string; error?: string }): void {
    port.send(to, { type: 'shell.response', reqId: req.reqId, ok, ...extra } satisfies ShellResponse);
  }

  function exec(req: ExecRequest, from: string): void {
    // One exec is one stream (the API server's upgraded connection): a duplicated request runs nothing twice.
    const stream = `${from}|${req.reqId}`;
    if (execStreams.has(stream)) return;
    execStreams.add(stream);
    const rec = [...pods.values()].find((r) => r.pod.metadata!.name === req.pod && r.pod.metadata!.namespace === req.namespace);
    if (!rec || rec.stage !== 'running') return respond(req, from, false, { error: `pod "${req.pod}" is not running` });
    const c = req.container ? containersOf(rec.pod).find((x) => x.name === req.container) : containersOf(rec.pod)[0];
    if (!c) return respond(req, from, false, { error: `container ${req.container} is not valid for pod ${req.pod}` });
    port.send(from, { type: 'exec.started', reqId: req.reqId });
    let hit = mountFor(c.volumeMounts, req.path);
    if (hit && opts.bug === 'kubelet-skip-mount' && (rec.pod.spec?.volumes ?? []).some((v) => v.name === hit!.mount.name && v.persistentVolumeClaim)) hit = undefined;
    const reply = (r: { ok: boolean; data?: string; error?: string }) =>
      respond(req, from, r.ok, r.ok ? (req.op === 'read' ? { data: r.data ?? '' } : {}) : { error: r.error ?? 'error' });
    if (!hit) {
      // Outside every mount: the container's own writable layer, which has whatever
      // directories its image has (parents are created).
      const layer = rec.layers.get(c.name)!;
      const path = joinPath(req.path);
      if (req.op === 'read') {
        const r = layer.readFile(path);
        return reply('data' in r ? { ok: true, data: r.data } : { ok: false, error: r.error });
      }
      layer.mkdirAll(path.slice(0, path.lastIndexOf('/')) || '/');
      const err = layer.writeFile(path, req.data ?? '', !!req.append);
      return reply(err ? { ok: false, error: err } : { ok: true });
    }
    const vol = rec.vols.vols.find((v) => v.name === hit.mount.name);
    if (!vol?.backing) return reply({ ok: false, error: `volume "${hit.mount.name}" is not mounted` });
    if (req.op === 'write' && hit.mount.readOnly) return reply({ ok: false, error: 'Read-only file system' });
    vm.io(vol.backing, req.op, joinPath(hit.mount.subPath ?? '', hit.rel), req.data, !!req.append, reply);
  }

  function shell(req: NodeShellRequest, from: string): void {
    const path = joinPath(req.path);
    switch (req.op) {
      case 'readNode': {
        const r = node.disk.readFile(path);
        return 'data' in r ? respond(req, from, true, { data: r.data }) : respond(req, from, false, { error: r.error });
      }
      case 'mkdirNode': {
        const err = node.disk.mkdirAll(path);
        return respond(req, from, !err, err ? { error: err } : {});
      }
      case 'writeNode': {
        const err = node.disk.writeFile(path, req.data ?? '');
        return respond(req, from, !err, err ? { error: err === ENOENT ? ENOENT : err } : {});
      }
    }
  }

  return {
    fault(f): void {
      if (f.name === 'clockSkew') skewMs = f.on && typeof f['byMs'] === 'number' ? f['byMs'] : 0;
    },
    start(): void {
      startMs = port.now();
      informers.start();
      renewLease();
      // A kubelet that (re)starts after the cluster came up posts its node status at once
      // (kubelet.go: syncNodeStatus after registering); at time 0 the cluster registered it.
      if (startMs > 0) reportNodeStatus();
      else port.setTimer('node-status', statusReportMs);
    },
    receive(msg: Msg, from: string): void {
      if (api.handle(msg) || vm.handle(msg) || informers.handle(msg)) return;
      switch (msg.type) {
        case 'exec.request':
          exec(msg, from);
          return;
        case 'node.request':
          shell(msg, from);
          return;
        default:
          return;
      }
    },
    timer(key: string): void {
      if (key === 'lease') return renewLease();
      if (key === 'node-status') return reportNodeStatus();
      if (vm.timer(key) || api.timer(key) || informers.timer(key)) return;
      const slash = key.indexOf('/');
      const rec = pods.get(key.slice(slash + 1));
      if (!rec) return;
      switch (key.slice(0, slash)) {
        case 'mount':
          return tryMount(rec);
        case 'sandbox':
          if (rec.stage !== 'starting') return;
          if (podSubnet === null) {
            // No pod CIDR, no CNI configuration: RunPodSandbox fails and the pod worker retries.
            event(rec.pod, 'Warning', 'FailedCreatePodSandBox', SANDBOX_NO_NETWORK);
            port.setTimer(key, rec.backoffMs);
            rec.backoffMs = Math.min(rec.backoffMs * 2, BACKOFF_MAX_MS);
            return;
          }
          return startNext(rec);
        case 'start':
          return startContainer(rec);
        case 'pull':
          return pulled(rec);
        case 'stop':
          return finishStop(rec);
        case 'delete':
          return deletePod(rec);
        case 'deadline':
          // active_deadline.go ShouldEvict: the pod is failed, its containers killed.
          if (rec.stage !== 'mounting' && rec.stage !== 'starting' && rec.stage !== 'running') return;
          event(rec.pod, 'Normal', DEADLINE_EXCEEDED, DEADLINE_MESSAGE);
          return complete(rec, new Map(), { reason: DEADLINE_EXCEEDED, message: DEADLINE_MESSAGE });
        case 'status':
          if (rec.status) writeStatus(rec, rec.status);
          return;
        case 'mount-timeout':
          if (rec.stage !== 'mounting') return;
          event(rec.pod, 'Warning', 'FailedMount', vm.timeoutMessage(rec.vols));
          port.setTimer(key, POD_ATTACH_MOUNT_TIMEOUT_MS);
          return;
      }
    },
  };
}
