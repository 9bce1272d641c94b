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
 *
 * This file is kubelet.go: the wiring, the pod source's events (HandlePodAdditions, ...), the
 * wait for the pod's volumes, and the dispatch of the timers that drive each pod. The other parts
 * of this one actor are files beside it, each named after what it follows: kubelet-pods.ts
 * (kubelet_pods.go: the pod records and the statuses generated from them),
 * kubelet-status-manager.ts (status/status_manager.go), kubelet-runtime-manager.ts
 * (kuberuntime_manager.go: sandbox, images, containers, their stop), kubelet-node-status.ts
 * (kubelet_node_status.go and nodelease/controller.go), kubelet-server.ts (exec and the node
 * shell), kubelet-volume-manager.ts (volumemanager) and kubelet-volumes.ts.
 *
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
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Component, Port } from '../src/component.ts';
import type { KObject, Msg } from '../src/protocol.ts';
import { ApiClient } from '../src/api-client.ts';
import { Informers } from '../src/informer.ts';
import { isPodReady } from '../src/model/objects.ts';
import { nodeInternalIP } from '../src/model/cidr.ts';
import type { NodeState } from './kubelet-volumes.ts';
import { NOT_ATTACHED_YET, POD_ATTACH_MOUNT_TIMEOUT_MS, VolumeManager, type PodVolumes } from './kubelet-volume-manager.ts';
import { podStatuses, type PodRec } from './kubelet-pods.ts';
import { statusManager } from './kubelet-status-manager.ts';
import { runtimeManager } from './kubelet-runtime-manager.ts';
import { nodeStatus } from './kubelet-node-status.ts';
import { kubeletServer } from './kubelet-server.ts';

export type { NodeState } from './kubelet-volumes.ts';
export { imageSizeBytes } from './kubelet-pods.ts';
export { NETWORK_NOT_READY } from './kubelet-node-status.ts';

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

// pkg/kubelet/active_deadline.go: the reason and message of a pod past activeDeadlineSeconds.
const DEADLINE_EXCEEDED = 'DeadlineExceeded';
const DEADLINE_MESSAGE = 'Pod was active on the node longer than the specified deadline';
// goroutinemap/exponentialbackoff: initialDurationBeforeRetry 500ms, maxDurationBeforeRetry 2m2s.
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 122_000;
const SANDBOX_NO_NETWORK = 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: open /run/flannel/subnet.env: no such file or directory';

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
  const pods = new Map<string, PodRec>();
  const podSubnet = opts.podSubnet === undefined ? `10.244.${opts.podCidrIndex}` : opts.podSubnet;
  const nodeIp = nodeInternalIP(opts.podCidrIndex);
  /** How far this node's clock is off (a clockSkew fault), in ms. */
  let skewMs = 0;
  /** RFC 3339 (seconds) of the node's own clock: the simulated instant, off by the skew. */
  const nowIso = (): string => (skewMs === 0 ? port.nowIso() : new Date(Date.parse(port.nowIso()) + skewMs).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const vm = new VolumeManager(port, api, {
    nodeName,
    node,
    csiAttachRequired: opts.csiAttachRequired ?? (() => true),
    event: (pod, type, reason, message) => event(pod, type, reason, message),
    onVolumesInUse: (names) => reportVolumesInUse(names),
  });

  // The parts of this actor (see the header), each handed what it works with.
  const podStatus = podStatuses(nowIso, nodeIp);
  const { statusCreating, statusRunning } = podStatus;
  const podStatusManager = statusManager(port, api, pods);
  const { writeStatus, deletePod } = podStatusManager;
  const runtime = runtimeManager({
    port,
    node,
    vm,
    event,
    nowIso,
    podSubnet,
    startDelayMsMin: opts.startDelayMsMin,
    startDelayMsMax: opts.startDelayMsMax,
    statuses: podStatus,
    status: podStatusManager,
  });
  const { pullAndStart, startNext, startContainer, pulled, complete, beginStop, finishStop, unmountAll } = runtime;
  const { start: startNodeStatus, renewLease, reportNodeStatus, reportVolumesInUse, onNode } = nodeStatus({
    port,
    api,
    nodeName,
    podSubnet,
    nowIso,
    vm,
    leaseRenewMs: opts.leaseRenewMs,
    statusReportMs: opts.statusReportMs,
  });
  const { exec, shell } = kubeletServer(port, pods, vm, node, opts.bug);

  function event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    api.event(pod as KObject, type, reason, message, SOURCE);
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

  return {
    fault(f): void {
      if (f.name === 'clockSkew') skewMs = f.on && typeof f['byMs'] === 'number' ? f['byMs'] : 0;
    },
    start(): void {
      informers.start();
      startNodeStatus();
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
