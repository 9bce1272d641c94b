/**
 * The kubelet's reports about its node: the node's Lease, renewed every 10 s, and the Node's
 * status (the conditions MemoryPressure, DiskPressure, PIDPressure and Ready, and volumesInUse),
 * posted every 5 m when unchanged and again within 10 s when someone else (the node lifecycle
 * controller, while this kubelet was unreachable) made the node not Ready. A node without a pod
 * CIDR is not Ready by its kubelet's own word (the runtime's network is not ready). Part of the
 * one kubelet actor (kubelet.ts makes it); its timers `lease` and `node-status` come back
 * through kubelet.ts's timer dispatch.
 *
 * Sends: api.request apply Lease (kube-node-lease/<node>), get and updateStatus Node.
 *
 * Follows pkg/kubelet/kubelet_node_status.go at v1.30 (syncNodeStatus, updateNodeStatus: read
 * the Node, change its status, write it back, again on a conflict), nodestatus/setters.go (the
 * conditions) and nodelease/controller.go (the Lease). Defaults: lease 40 s renewed every 10 s (renewIntervalFraction 0.25,
 * nodelease/controller.go); NodeStatusReportFrequency 5m and NodeStatusUpdateFrequency 10s
 * (kubelet config v1beta1 defaults).
 */
import type { Port } from '../src/component.ts';
import type { ApiClient } from '../src/api-client.ts';
import type { KObject } from '../src/protocol.ts';
import { deepCopy } from '../src/model/objects.ts';
import type { VolumeManager } from './kubelet-volume-manager.ts';

// nodelease/controller.go: leaseDuration 40 s x renewIntervalFraction 0.25.
const LEASE_DURATION_S = 40;
const LEASE_RENEW_MS = 10_000;
// kubelet config v1beta1 defaults: NodeStatusReportFrequency 5m, NodeStatusUpdateFrequency 10s.
const STATUS_REPORT_MS = 300_000;
const STATUS_UPDATE_MS = 10_000;
// A node without a pod CIDR: the runtime's network is not ready (pkg/kubelet/nodestatus
// setters.go ReadyCondition with the runtime's NetworkReady=false), and a sandbox cannot be set
// up (flannel's CNI plugin finds no subnet.env).
export const NETWORK_NOT_READY = 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

/** What the node status works with, handed over by kubelet.ts. */
export interface NodeStatusContext {
  port: Port;
  api: ApiClient;
  nodeName: string;
  /** The node's pod CIDR (`10.244.3`), null when it has none. */
  podSubnet: string | null;
  /** RFC 3339 (seconds) of the node's own clock (skewed by a clockSkew fault). */
  nowIso: () => string;
  vm: Pick<VolumeManager, 'volumesInUse'>;
  leaseRenewMs?: number | undefined;
  statusReportMs?: number | undefined;
}

export interface NodeStatus {
  /** The kubelet (re)started: its first Lease, and its node status. */
  start(): void;
  /** The `lease` timer. */
  renewLease(): void;
  /** The `node-status` timer. */
  reportNodeStatus(): void;
  /** node.status.volumesInUse: what the attach-detach controller waits on before detaching. */
  reportVolumesInUse(names: string[]): void;
  /** Its own Node changed (a watch event). */
  onNode(type: string, n: KObject): void;
}

export function nodeStatus(ctx: NodeStatusContext): NodeStatus {
  const { port, api, nodeName, podSubnet, nowIso, vm } = ctx;
  let startMs = 0;
  const leaseRenewMs = ctx.leaseRenewMs ?? LEASE_RENEW_MS;
  const statusReportMs = ctx.statusReportMs ?? STATUS_REPORT_MS;
  const micro = () => nowIso().replace('Z', '.000000Z');

  function start(): void {
    startMs = port.now();
    renewLease();
    // A kubelet that (re)starts after the cluster came up posts its node status at once
    // (kubelet.go: syncNodeStatus after registering); at time 0 the cluster registered it.
    if (startMs > 0) reportNodeStatus();
    else port.setTimer('node-status', statusReportMs);
  }

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

  return { start, renewLease, reportNodeStatus, reportVolumesInUse, onNode };
}
