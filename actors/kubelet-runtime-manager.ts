/**
 * The kubelet's container runtime side of a pod's life, once its volumes are mounted: the pod's
 * sandbox, then each container's image (pulled, or already present) and its start, one after the
 * other; the pod Running with an IP from the node's pod CIDR; the few processes ksim runs to their
 * end (kubelet-processes.ts) and the pod's completion when they exit; and the stop of a deleted
 * pod's containers, its volumes torn down. Part of the one kubelet actor (kubelet.ts makes it);
 * its timers `sandbox/`, `pull/`, `start/` and `stop/<uid>` come back through kubelet.ts's timer
 * dispatch.
 *
 * Sends: Events (Pulling, Pulled, Created, Started, Killing) through kubelet.ts; pod statuses
 *        and the final delete through kubelet-status-manager.ts.
 *
 * Follows pkg/kubelet/kuberuntime/kuberuntime_manager.go at v1.30 (SyncPod: RunPodSandbox, then
 * each container; KillPod), kuberuntime_container.go (startContainer, the Created and Started
 * events), images/image_manager.go (EnsureImageExists: Pulling and Pulled) and kubelet.go's
 * syncTerminatingPod. Defaults: container start delay 1-5 s seeded (SPEC §2), of which the
 * sandbox takes half, at most 500 ms; containers exit on SIGTERM after a seeded 100-1500 ms,
 * never later than the grace period. host-local IPAM hands pod IPs out in order.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Port } from '../src/component.ts';
import { joinPath, MemFs } from '../src/fs.ts';
import { formatDuration } from '../src/duration.ts';
import { mountFor, type NodeState } from './kubelet-volumes.ts';
import { processOf } from './kubelet-processes.ts';
import type { VolumeManager } from './kubelet-volume-manager.ts';
import { containersOf, imageSizeBytes, type PodRec, type PodStatuses } from './kubelet-pods.ts';
import type { StatusManager } from './kubelet-status-manager.ts';

// RunPodSandbox (the pause container, its image on every node) takes at most this long of a
// pod's start delay: ksim's choice, a fraction of a second as on a node with the image cached.
const SANDBOX_MS = 500;

/** What the runtime manager works with, handed over by kubelet.ts. */
export interface RuntimeManagerContext {
  port: Port;
  node: NodeState;
  vm: Pick<VolumeManager, 'unmount' | 'io'>;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** RFC 3339 (seconds) of the node's own clock (skewed by a clockSkew fault). */
  nowIso: () => string;
  /** The node's pod CIDR (`10.244.3`): pod IPs are handed out from it. */
  podSubnet: string | null;
  startDelayMsMin?: number | undefined;
  startDelayMsMax?: number | undefined;
  statuses: PodStatuses;
  status: StatusManager;
}

export interface RuntimeManager {
  /** The pod's volumes are mounted: its sandbox and containers start. */
  pullAndStart(rec: PodRec): void;
  /** The `sandbox` timer, the sandbox up: the next container's image, then the container. */
  startNext(rec: PodRec): void;
  /** The `start` timer. */
  startContainer(rec: PodRec): void;
  /** The `pull` timer: the image is pulled. */
  pulled(rec: PodRec): void;
  /** The pod has ended by itself: its final status is written, its volumes are torn down. */
  complete(rec: PodRec, exitCodes: Map<string, number>, why?: { reason: string; message: string }): void;
  /** The pod is being deleted: its containers are stopped. */
  beginStop(rec: PodRec): void;
  /** The `stop` timer: the containers have exited. */
  finishStop(rec: PodRec): void;
  unmountAll(rec: PodRec): void;
}

export function runtimeManager(ctx: RuntimeManagerContext): RuntimeManager {
  const { port, node, vm, event, nowIso, podSubnet } = ctx;
  const { statusRunning, statusTerminated, statusCompleted } = ctx.statuses;
  const { writeStatus, deletePod } = ctx.status;
  const delayMin = ctx.startDelayMsMin ?? 1000;
  const delayMax = ctx.startDelayMsMax ?? 5000;
  let nextIp = 2;

  function unmountAll(rec: PodRec): void {
    if (rec.unmounted) return;
    rec.unmounted = true;
    vm.unmount(rec.vols);
    rec.layers.clear();
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

  return { pullAndStart, startNext, startContainer, pulled, complete, beginStop, finishStop, unmountAll };
}
