/**
 * The kubelet's pod records and the pod status it generates from them, for each stage of a
 * pod's life: ContainerCreating, Running (Ready), terminated after a delete, or ended by itself
 * (Succeeded or Failed). Part of the one kubelet actor (kubelet.ts makes it): nothing here talks
 * to the bus; kubelet-status-manager.ts writes what is generated here.
 *
 * Follows pkg/kubelet/kubelet_pods.go at v1.30 (generateAPIPodStatus, getPhase,
 * convertToAPIContainerStatuses) and status/generate.go (the pod's conditions; a terminal pod
 * is not ready for reason PodCompleted). Container and image ids are 64 hex digits derived from
 * the pod's uid, the container's name and the image (stable per seed), as containerd's look; an
 * image's size is made up from its name (ksim has no registry).
 */
import type { Container, ContainerState, ContainerStatus, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { MemFs } from '../src/fs.ts';
import { fnv1a } from '../src/trace.ts';
import type { PodVolumes } from './kubelet-volume-manager.ts';

/** 64 hex digits from a string (eight FNV-1a rounds): ids that look like containerd's. */
function hex64(text: string): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += fnv1a(`${i}:${text}`);
  return out;
}

/** `completed`: every container has exited on its own (or the pod's deadline passed); the pod object stays. */
export type Stage = 'mounting' | 'starting' | 'running' | 'completed' | 'stopping' | 'stopped';

export interface PodRec {
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

export function containersOf(pod: Pod): Container[] {
  return pod.spec?.containers ?? [];
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

/** The statuses of a pod at each stage of its life. */
export interface PodStatuses {
  statusCreating(rec: PodRec): PodStatus;
  statusRunning(rec: PodRec): PodStatus;
  statusTerminated(rec: PodRec): PodStatus;
  statusCompleted(rec: PodRec, exitCodes: Map<string, number>, why?: { reason: string; message: string }): PodStatus;
}

/** `nowIso`: the node's own clock (skewed by a clockSkew fault); `nodeIp`: its InternalIP. */
export function podStatuses(nowIso: () => string, nodeIp: string): PodStatuses {
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

  /** A container that no longer runs (not ready, not started), in the state given. */
  function stoppedContainer(rec: PodRec, c: Container, state: ContainerState): ContainerStatus {
    return {
      name: c.name,
      image: c.image ?? '',
      imageID: rec.startedAt ? imageId(c.image ?? '') : '',
      ...(rec.startedAt ? { containerID: containerId(rec, c.name) } : {}),
      ready: false,
      restartCount: 0,
      started: false,
      state,
      lastState: {},
    };
  }

  function statusTerminated(rec: PodRec): PodStatus {
    const now = nowIso();
    return {
      ...baseStatus(rec),
      // A deleted pod whose containers all exited 0 ends Succeeded (v1.27+ kubelet sets a terminal phase).
      phase: rec.startedAt ? 'Succeeded' : 'Failed',
      conditions: conditions(rec, false, false),
      containerStatuses: containersOf(rec.pod).map((c) =>
        stoppedContainer(
          rec,
          c,
          rec.startedAt
            ? { terminated: { exitCode: 0, reason: 'Completed', startedAt: rec.startedAt, finishedAt: now, containerID: containerId(rec, c.name) } }
            : { waiting: { reason: 'ContainerCreating' } },
        ),
      ),
    };
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
        return stoppedContainer(rec, c, {
          terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: rec.startedAt ?? now, finishedAt: now, ...(rec.startedAt ? { containerID: containerId(rec, c.name) } : {}) },
        });
      }),
    };
  }

  return { statusCreating, statusRunning, statusTerminated, statusCompleted };
}
