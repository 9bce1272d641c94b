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

/** A scripted fault. `forMs` absent: the fault is never healed. `index` is its position in spec.faults. */
export type Fault = { atMs: number; forMs?: number; index: number; pos: SourcePos } & (
  | { kind: 'crash'; node: string }
  | { kind: 'partition'; groups: string[][] }
  | { kind: 'outage'; backend: string }
  | { kind: 'wipeDisk'; node: string }
  | { kind: 'messageLoss'; rate: number }
  | { kind: 'messageDelay'; delayMs: number }
  | { kind: 'messageDuplicate'; rate: number }
  | { kind: 'messageReorder'; rate: number }
  | { kind: 'dnsFailure' }
);

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
  latencyMsMin: number;
  latencyMsMax: number;
  /** In file order, Scenario document excluded, skipped kinds excluded. */
  manifests: Manifest[];
  /** Sorted by atMs; file order kept for equal atMs. */
  actions: Action[];
  faults: Fault[];
  chaos?: { faults: number; kinds: string[] };
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
