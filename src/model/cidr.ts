/**
 * The cluster CIDR and the nodes' pod CIDRs (kube-controller-manager's range allocator,
 * pkg/controller/nodeipam/ipam/cidrset/cidr_set.go): the cluster CIDR (`--cluster-cidr`,
 * spec.cluster.podCIDR) is cut into /24s (`--node-cidr-mask-size` 24, its IPv4 default) and
 * node-N gets the N-th one; a node beyond the room gets none (CIDRNotAvailable). IPv4 only, as
 * ksim's cluster is. Pure.
 */

/** kubeadm with flannel: --cluster-cidr 10.244.0.0/16. */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
/** --node-cidr-mask-size for IPv4 (cmd/kube-controller-manager defaults: 24). */
export const NODE_CIDR_MASK_SIZE = 24;

export interface ClusterCIDR {
  /** The network address as a 32-bit unsigned number. */
  base: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** net.ParseCIDR for IPv4: the address is masked to its network, as Go does. */
export function parseClusterCIDR(text: string): ClusterCIDR | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const parts = m[1]!.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const ip = parts.reduce((acc, p) => acc * 256 + Number(p), 0);
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), prefix };
}

/** Why `text` cannot be the cluster's pod CIDR, or undefined when it can. */
export function clusterCIDRProblem(text: string): string | undefined {
  const c = parseClusterCIDR(text);
  if (!c) return 'must be an IPv4 CIDR such as 10.244.0.0/16';
  if (c.prefix > NODE_CIDR_MASK_SIZE) return `must hold at least one node's /${NODE_CIDR_MASK_SIZE} (node-cidr-mask-size ${NODE_CIDR_MASK_SIZE}): a prefix of at most /${NODE_CIDR_MASK_SIZE}`;
  if (c.prefix < 8) return 'must be a prefix of at least /8';
  return undefined;
}

function dotted(n: number): string {
  return `${Math.floor(n / 16_777_216) % 256}.${Math.floor(n / 65_536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/**
 * The `index`-th /24 of the cluster CIDR, as its first three octets (`10.244.7`), or undefined
 * when the cluster CIDR has no such subnet (CIDRNotAvailable).
 */
export function nodeSubnet(cluster: ClusterCIDR, index: number): string | undefined {
  const count = 2 ** (NODE_CIDR_MASK_SIZE - cluster.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count) return undefined;
  return dotted(cluster.base + index * 256).replace(/\.0$/, '');
}

/** Node-N's InternalIP: 192.168.0.0/16 counted on from .11 (node-1 192.168.0.11). */
export function nodeInternalIP(n: number): string {
  const k = 10 + n;
  return `192.168.${Math.floor(k / 256) % 256}.${k % 256}`;
}
