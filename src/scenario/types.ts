/**
 * The typed form of a scenario file (SPEC.md §1): the manifests to create, the actions a user
 * runs as kubectl would, the scripted faults and the chaos knobs, the invariants to judge, and
 * the cluster's shape and timing overrides. src/scenario/load.ts produces it from YAML; the CLI,
 * the library API and the world consume it. Positions point back into the file so that results
 * and violations can name the line that caused them.
 */
import type { KObject } from '../protocol.ts';

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** One manifest document of the file (never the Scenario document), as written: not defaulted. */
export interface Manifest {
  obj: KObject;
  pos: SourcePos;
}

/** A user action. `index` is its position in spec.actions; `atMs` counts from startTime. */
export type Action = { atMs: number; index: number; namespace: string; expect?: string | string[]; pos: SourcePos } & (
  | { kind: 'apply'; manifest: KObject }
  /** target.kind is the Kubernetes Kind: Pod, StatefulSet, Service, PersistentVolumeClaim, PersistentVolume, StorageClass, Node */
  | { kind: 'delete'; target: { kind: string; name: string }; force: boolean; gracePeriodSeconds?: number }
  | { kind: 'scale'; statefulset: string; replicas: number }
  | { kind: 'patch'; target: { kind: string; name: string }; patchType: 'strategic' | 'merge' | 'json'; patch: unknown }
  | { kind: 'cordon' | 'uncordon' | 'drain'; node: string }
  | { kind: 'taint'; node: string; key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'; remove: boolean }
  | { kind: 'write'; pod: string; container?: string; path: string; data: string; append: boolean }
  | { kind: 'read'; pod: string; container?: string; path: string }
  | { kind: 'writeNode'; node: string; path: string; data: string }
  | { kind: 'mkdirNode'; node: string; path: string }
  | { kind: 'readNode'; node: string; path: string }
  | { kind: 'nslookup'; name: string; from?: string /* pod name */; qtype: 'A' | 'SRV' }
);

/**
 * A fault (SPEC §1 "Faults"), scripted in spec.faults or drawn by chaos. `forMs` absent: it is
 * never healed. `index` is its position in spec.faults (drawn faults follow the scripted ones).
 * Hosts are written as SPEC §1 names them: `node/<name>`, `apiserver`,
 * `kube-controller-manager`, `kube-scheduler`, `cluster-dns`, `backend/<name>`,
 * `backend/<name>/<monitor>`.
 */
export type Fault = { atMs: number; forMs?: number; index: number; pos: SourcePos; drawn?: boolean } & FaultBody;

/** Hosts whose messages a message fault matches: between two groups (both ways), or all. */
export type Between = string[][] | undefined;

export type FaultBody =
  | { kind: 'crash'; host: string }
  | { kind: 'restart'; host: string }
  | { kind: 'partition'; groups: string[][]; oneWay: boolean }
  | { kind: 'messageLoss'; rate: number; between: Between }
  | { kind: 'messageDuplicate'; rate: number; between: Between }
  | { kind: 'messageDelay'; minMs: number; maxMs: number; rate: number; between: Between }
  | { kind: 'messageReorder'; rate: number; windowMs: number; between: Between }
  | { kind: 'outage'; backend: string }
  | { kind: 'wipeDisk'; node: string }
  | { kind: 'dnsFailure'; mode: 'SERVFAIL' | 'timeout'; rate: number }
  | { kind: 'clockSkew'; node: string; byMs: number }
  | { kind: 'csiError'; backend: string; rpc: string; code: string; rate: number }
  | { kind: 'staleView'; controller: string; byMs: number }
  | { kind: 'dropWatch'; controller: string; rate: number }
  | { kind: 'crashMidReconcile'; controller: string; afterWrites: number };

export type FaultKind = FaultBody['kind'];

/** A storage system: named in spec.backends (extra tuning fields kept) or implied by the manifests. */
export interface BackendSpec {
  name: string;
  type: 'rbd' | 'nfs' | 'csi' | 'hostpath';
  [k: string]: unknown;
}

export interface Scenario {
  name: string;
  file: string;
  seed: number;
  durationMs: number;
  startTime: string;
  startMs: number;
  /** node-1..node-N unless Node manifests are given (then their names, in file order). */
  nodes: string[];
  /**
   * spec.cluster.podCIDR: the cluster CIDR the nodes' /24 pod CIDRs are handed out from (node-N
   * gets the N-th); absent: 10.244.0.0/16 (kubeadm with flannel).
   */
  podCIDR?: string;
  latencyMsMin: number;
  latencyMsMax: number;
  /** In file order, Scenario document excluded, skipped kinds excluded. */
  manifests: Manifest[];
  /** Sorted by atMs; file order kept for equal atMs. */
  actions: Action[];
  faults: Fault[];
  chaos?: { faults: number; kinds: FaultKind[] };
  /** Names from SPEC §6 in table order; 'all' expanded to every name. */
  invariants: string[];
  /** spec.backends first (file order), then backends the manifests imply, one per name. */
  backends: BackendSpec[];
  /** Overrides from spec.timings, in ms, keyed by the names of TIMING_DEFAULTS_MS. */
  timings: Record<string, number>;
}

export interface LoadWarning {
  pos: SourcePos;
  message: string;
}
