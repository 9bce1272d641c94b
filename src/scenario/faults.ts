/**
 * spec.faults and spec.chaos (SPEC §1 "Faults"): every fault form checked against the cluster the
 * scenario describes — its nodes, control-plane hosts, storage backends (and Ceph monitors),
 * controllers by their v1.30 kube-controller-manager names — each problem reported at its field.
 * Hosts come out in SPEC §1's canonical names (`node/node-1`, `apiserver`, `backend/ceph`,
 * `backend/ceph/mon-a`), so that a fault prints back the way it is written.
 */
import type { Between, Fault, FaultBody, FaultKind } from './types.ts';
import {
  backendAt, checkKeys, checkOneAt, durationAt, intAt, isMap, nodeAt, parseTimedList, quoteList, rateAt, show, stringAt, unsupported,
  type SpecContext,
} from './actions.ts';

type Seg = string | number;

export const FAULT_KINDS: readonly FaultKind[] = [
  'crash', 'restart', 'partition', 'messageLoss', 'messageDelay', 'messageDuplicate', 'messageReorder',
  'outage', 'wipeDisk', 'dnsFailure', 'clockSkew', 'csiError', 'staleView', 'dropWatch', 'crashMidReconcile',
];

/** What chaos may draw: every kind (also the default list). */
export const CHAOS_KINDS: readonly FaultKind[] = FAULT_KINDS;

/** Hosts of the control plane a fault may name besides nodes and backends. */
export const CONTROL_PLANE = ['apiserver', 'kube-controller-manager', 'kube-scheduler', 'cluster-dns'] as const;

/**
 * The components a controller perturbation may name: kube-controller-manager's controllers by
 * their v1.30 names (cmd/kube-controller-manager/names) and the CSI external-provisioner.
 */
export const CONTROLLERS = [
  'statefulset-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-attach-detach-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
  'endpointslice-controller',
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'garbage-collector-controller',
  'pod-garbage-collector-controller',
  'external-provisioner',
] as const;

/** gRPC status code names (google.golang.org/grpc/codes), as csiError takes them. */
export const GRPC_CODE_NAMES = [
  'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** The CSI RPCs a csiError may hit. */
export const CSI_RPCS = [
  'CreateVolume', 'DeleteVolume', 'ControllerPublishVolume', 'ControllerUnpublishVolume', 'NodeStageVolume',
  'NodeUnstageVolume', 'NodePublishVolume', 'NodeUnpublishVolume', 'GetCapacity',
] as const;

/** The Ceph monitors of an rbd backend of spec.backends (`monitors: 3` or a list); mon-a..mon-c by default. */
export function monitorNames(spec: { [k: string]: unknown } | undefined): string[] {
  const m = spec?.['monitors'];
  if (Array.isArray(m)) return m.map(String);
  const n = typeof m === 'number' && Number.isInteger(m) && m > 0 && m <= 26 ? m : 3;
  return Array.from({ length: n }, (_, i) => `mon-${String.fromCharCode(97 + i)}`);
}

/** What the fault parser needs beyond the actions' context: Ceph monitors by backend. */
export interface FaultContext extends SpecContext {
  /** The monitors of an rbd backend; undefined for a backend that is not Ceph. */
  monitors(backend: string): readonly string[] | undefined;
}

/** spec.faults: every fault checked; sorted by `at`, file order kept. */
export function parseFaults(ctx: FaultContext, raw: unknown, base: readonly Seg[]): Fault[] {
  return parseTimedList(ctx, raw, base, 'faults', parseFault);
}

/** Faults that happen once, with nothing to heal. */
const INSTANT: ReadonlySet<FaultKind> = new Set(['restart', 'wipeDisk', 'crashMidReconcile']);
/** Keys a fault item may carry beside `at`, `for` and its kind. */
const SIBLINGS: Partial<Record<FaultKind, readonly string[]>> = { partition: ['oneWay'] };

function parseFault(ctx: FaultContext, item: unknown, path: readonly Seg[], index: number): Fault | undefined {
  if (!isMap(item)) {
    ctx.error(path, `Invalid value: ${show(item)}: must be a mapping such as {at: 4m, crash: node/node-1, for: 2m}`);
    return undefined;
  }
  const kinds = FAULT_KINDS.filter((k) => Object.prototype.hasOwnProperty.call(item, k));
  const hint = kinds.length === 0 ? ` (a fault is one of: ${FAULT_KINDS.join(', ')})` : '';
  const siblings = kinds.flatMap((k) => SIBLINGS[k] ?? []);
  const unknown = checkKeys(ctx, item, ['at', 'for', ...FAULT_KINDS, ...siblings], path, hint);
  let { ok, atMs } = checkOneAt(ctx, item, path, 'fault', kinds, FAULT_KINDS, unknown);
  const kind = kinds[0];
  if (kind === undefined || kinds.length > 1) return undefined;
  let forMs: number | undefined;
  if (item['for'] !== undefined) {
    if (INSTANT.has(kind)) {
      ctx.error([...path, 'for'], `Forbidden: ${kind} happens at once and is not healed`);
      ok = false;
    } else {
      forMs = durationAt(ctx, item['for'], [...path, 'for'], { positive: true });
      if (forMs === undefined) ok = false;
    }
  }
  const body = parseBody(ctx, kind, item[kind], [...path, kind], item, path);
  if (!ok || !body || atMs === undefined) return undefined;
  const fault = { ...body, atMs, index, pos: ctx.posOf(path) } as Fault;
  if (forMs !== undefined) fault.forMs = forMs;
  return fault;
}

/** A node written `node/NAME` or `NAME`, as `node/NAME`. */
function nodeHost(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  const n = nodeAt(ctx, v, path);
  return n === undefined ? undefined : `node/${n}`;
}

/**
 * Any host a crash or a partition may name: a node (`node/x` or `x`), a control-plane host, a
 * backend (`backend/x`). `monitor`: a Ceph monitor (`backend/x/mon-a`) is allowed too.
 */
export function hostAt(ctx: FaultContext, v: unknown, path: readonly Seg[], opts: { monitor?: boolean } = {}): string | undefined {
  const s = stringAt(ctx, v, path);
  if (s === undefined) return undefined;
  if ((CONTROL_PLANE as readonly string[]).includes(s)) return s;
  if (s.startsWith('backend/')) {
    const parts = s.split('/');
    if (parts.length === 3 && opts.monitor) {
      const name = backendAt(ctx, `backend/${parts[1]}`, path);
      if (name === undefined) return undefined;
      const mons = ctx.monitors(name);
      if (!mons) {
        ctx.error(path, `Invalid value: ${show(s)}: backend "${name}" is not a Ceph cluster: only Ceph monitors can be named`);
        return undefined;
      }
      if (!mons.includes(parts[2]!)) {
        ctx.error(path, `Ceph monitor "${parts[2]}" does not exist (monitors of ${name}: ${mons.join(', ')})`);
        return undefined;
      }
      return s;
    }
    const name = backendAt(ctx, s, path);
    return name === undefined ? undefined : `backend/${name}`;
  }
  if (s.startsWith('node/') || ctx.nodes.includes(s) || ctx.extraNodes.has(s)) return nodeHost(ctx, s, path);
  if (ctx.backends.includes(s)) return `backend/${s}`;
  ctx.error(path, `"${s}" is not a host: a node (${ctx.nodes.join(', ')}), ${quoteList(CONTROL_PLANE)} or backend/NAME`);
  return undefined;
}

function controllerAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  const s = stringAt(ctx, v, path);
  if (s === undefined) return undefined;
  if ((CONTROLLERS as readonly string[]).includes(s)) return s;
  ctx.error(path, unsupported(s, CONTROLLERS));
  return undefined;
}

/** A map form's fields, or the bare value as `bare` (`{rate: 0.05}` or `0.05`). */
function fieldsOf(ctx: SpecContext, v: unknown, path: readonly Seg[], keys: readonly string[], bare: string | undefined, example: string): Record<string, unknown> | undefined {
  if (isMap(v)) return checkKeys(ctx, v, keys, path).length > 0 ? undefined : v;
  if (bare !== undefined && v !== undefined && v !== null) return { [bare]: v };
  ctx.error(path, `Invalid value: ${show(v)}: must be a mapping such as ${example}`);
  return undefined;
}

function required(ctx: SpecContext, f: Record<string, unknown>, key: string, path: readonly Seg[]): unknown {
  if (f[key] === undefined || f[key] === null) ctx.error([...path, key], 'Required value');
  return f[key];
}

/** `between: [[A...], [B...]]`: the messages between the two groups of hosts (both ways). */
function betweenAt(ctx: FaultContext, v: unknown, path: readonly Seg[]): Between | null {
  if (v === undefined || v === null) return undefined;
  const groups = groupsAt(ctx, v, path, '[[node-1], [apiserver]]');
  if (!groups) return null;
  if (groups.length !== 2) {
    ctx.error(path, `Invalid value: must be two groups of hosts, such as [[node-1], [apiserver]]`);
    return null;
  }
  return groups;
}

/** A list of non-empty host groups, each host in at most one group. */
function groupsAt(ctx: FaultContext, v: unknown, path: readonly Seg[], example: string): string[][] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    ctx.error(path, `Invalid value: ${show(v)}: must be a list of groups of hosts such as ${example}`);
    return undefined;
  }
  let ok = true;
  const seen = new Set<string>();
  const groups: string[][] = [];
  v.forEach((g, gi) => {
    if (!Array.isArray(g) || g.length === 0) {
      ctx.error([...path, gi], `Invalid value: ${show(g)}: must be a non-empty list of hosts`);
      ok = false;
      return;
    }
    const group: string[] = [];
    g.forEach((member, mi) => {
      const host = hostAt(ctx, member, [...path, gi, mi]);
      if (host === undefined) {
        ok = false;
        return;
      }
      if (seen.has(host)) {
        ctx.error([...path, gi, mi], `Duplicate value: "${host}": a host may be in one group only`);
        ok = false;
        return;
      }
      seen.add(host);
      group.push(host);
    });
    groups.push(group);
  });
  return ok ? groups : undefined;
}

/** A signed Go duration (`-90s`, `2m`). */
function signedDurationAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): number | undefined {
  if (typeof v === 'string' && v.trim().startsWith('-')) {
    const ms = durationAt(ctx, v.trim().slice(1), path);
    return ms === undefined ? undefined : -ms;
  }
  return durationAt(ctx, v, path);
}

function parseBody(ctx: FaultContext, kind: FaultKind, v: unknown, kpath: readonly Seg[], item: Record<string, unknown>, path: readonly Seg[]): FaultBody | undefined {
  switch (kind) {
    case 'crash':
    case 'restart': {
      const host = hostAt(ctx, v, kpath);
      return host === undefined ? undefined : { kind, host };
    }
    case 'partition': {
      const groups = groupsAt(ctx, v, kpath, '[[node-1], [apiserver, kube-controller-manager]]');
      const oneWayRaw = item['oneWay'];
      if (oneWayRaw !== undefined && typeof oneWayRaw !== 'boolean') {
        ctx.error([...path, 'oneWay'], `Invalid value: ${show(oneWayRaw)}: must be true or false`);
        return undefined;
      }
      if (!groups) return undefined;
      if (groups.length < 2) {
        ctx.error(kpath, 'Invalid value: a partition needs at least two groups of hosts');
        return undefined;
      }
      return { kind, groups, oneWay: oneWayRaw === true };
    }
    case 'messageLoss':
    case 'messageDuplicate': {
      const f = fieldsOf(ctx, v, kpath, ['rate', 'between'], 'rate', '{rate: 0.05}');
      if (!f) return undefined;
      const rate = rateAt(ctx, required(ctx, f, 'rate', kpath), [...kpath, 'rate']);
      const between = betweenAt(ctx, f['between'], [...kpath, 'between']);
      return rate === undefined || between === null ? undefined : { kind, rate, between };
    }
    case 'messageDelay': {
      const f = fieldsOf(ctx, v, kpath, ['min', 'max', 'rate', 'between'], 'min', '{min: 1s, max: 30s, rate: 1.0}');
      if (!f) return undefined;
      const minMs = durationAt(ctx, required(ctx, f, 'min', kpath), [...kpath, 'min']);
      const maxMs = f['max'] === undefined ? minMs : durationAt(ctx, f['max'], [...kpath, 'max']);
      const rate = f['rate'] === undefined ? 1 : rateAt(ctx, f['rate'], [...kpath, 'rate']);
      const between = betweenAt(ctx, f['between'], [...kpath, 'between']);
      if (minMs === undefined || maxMs === undefined || rate === undefined || between === null) return undefined;
      if (maxMs < minMs) {
        ctx.error([...kpath, 'max'], `Invalid value: ${show(f['max'])}: must not be less than min`);
        return undefined;
      }
      return { kind, minMs, maxMs, rate, between };
    }
    case 'messageReorder': {
      const f = fieldsOf(ctx, v, kpath, ['rate', 'window', 'between'], 'rate', '{rate: 0.1, window: 2s}');
      if (!f) return undefined;
      const rate = rateAt(ctx, required(ctx, f, 'rate', kpath), [...kpath, 'rate']);
      const windowMs = f['window'] === undefined ? 1_000 : durationAt(ctx, f['window'], [...kpath, 'window'], { positive: true });
      const between = betweenAt(ctx, f['between'], [...kpath, 'between']);
      return rate === undefined || windowMs === undefined || between === null ? undefined : { kind, rate, windowMs, between };
    }
    case 'outage': {
      const host = hostAt(ctx, v, kpath, { monitor: true });
      if (host === undefined) return undefined;
      if (!host.startsWith('backend/')) {
        ctx.error(kpath, `Invalid value: ${show(v)}: an outage hits a storage system: backend/NAME or backend/NAME/MONITOR (crash stops a node or a control-plane host)`);
        return undefined;
      }
      return { kind, backend: host };
    }
    case 'wipeDisk': {
      const node = nodeHost(ctx, v, kpath);
      return node === undefined ? undefined : { kind, node };
    }
    case 'dnsFailure': {
      const f = v === null || v === true ? {} : fieldsOf(ctx, v, kpath, ['mode', 'rate'], undefined, '{mode: SERVFAIL, rate: 1.0}');
      if (!f) return undefined;
      const mode = f['mode'] ?? 'SERVFAIL';
      if (mode !== 'SERVFAIL' && mode !== 'timeout') {
        ctx.error([...kpath, 'mode'], unsupported(mode, ['SERVFAIL', 'timeout']));
        return undefined;
      }
      const rate = f['rate'] === undefined ? 1 : rateAt(ctx, f['rate'], [...kpath, 'rate']);
      return rate === undefined ? undefined : { kind, mode, rate };
    }
    case 'clockSkew': {
      const f = fieldsOf(ctx, v, kpath, ['node', 'by'], undefined, '{node: node-1, by: -90s}');
      if (!f) return undefined;
      const node = nodeHost(ctx, required(ctx, f, 'node', kpath), [...kpath, 'node']);
      const byMs = signedDurationAt(ctx, required(ctx, f, 'by', kpath), [...kpath, 'by']);
      return node === undefined || byMs === undefined ? undefined : { kind, node, byMs };
    }
    case 'csiError': {
      const f = fieldsOf(ctx, v, kpath, ['backend', 'rpc', 'code', 'rate'], undefined, '{backend: backend/ceph, rpc: ControllerPublishVolume, code: DEADLINE_EXCEEDED}');
      if (!f) return undefined;
      const host = hostAt(ctx, required(ctx, f, 'backend', kpath), [...kpath, 'backend']);
      const rpc = f['rpc'];
      const code = f['code'];
      let ok = true;
      if (host !== undefined && !host.startsWith('backend/')) {
        ctx.error([...kpath, 'backend'], `Invalid value: must be backend/NAME`);
        ok = false;
      }
      if (rpc === undefined) {
        ctx.error([...kpath, 'rpc'], 'Required value');
        ok = false;
      } else if (!(CSI_RPCS as readonly unknown[]).includes(rpc)) {
        ctx.error([...kpath, 'rpc'], unsupported(rpc, CSI_RPCS));
        ok = false;
      }
      if (code === undefined) {
        ctx.error([...kpath, 'code'], 'Required value');
        ok = false;
      } else if (!(GRPC_CODE_NAMES as readonly unknown[]).includes(code)) {
        ctx.error([...kpath, 'code'], unsupported(code, GRPC_CODE_NAMES));
        ok = false;
      }
      const rate = f['rate'] === undefined ? 1 : rateAt(ctx, f['rate'], [...kpath, 'rate']);
      if (!ok || host === undefined || rate === undefined) return undefined;
      return { kind, backend: host, rpc: rpc as string, code: code as string, rate };
    }
    case 'staleView': {
      const f = fieldsOf(ctx, v, kpath, ['controller', 'by'], undefined, '{controller: statefulset-controller, by: 30s}');
      if (!f) return undefined;
      const controller = controllerAt(ctx, required(ctx, f, 'controller', kpath), [...kpath, 'controller']);
      const byMs = durationAt(ctx, required(ctx, f, 'by', kpath), [...kpath, 'by'], { positive: true });
      return controller === undefined || byMs === undefined ? undefined : { kind, controller, byMs };
    }
    case 'dropWatch': {
      const f = fieldsOf(ctx, v, kpath, ['controller', 'rate'], 'controller', '{controller: persistentvolume-attach-detach-controller, rate: 1.0}');
      if (!f) return undefined;
      const controller = controllerAt(ctx, required(ctx, f, 'controller', kpath), [...kpath, 'controller']);
      const rate = f['rate'] === undefined ? 1 : rateAt(ctx, f['rate'], [...kpath, 'rate']);
      return controller === undefined || rate === undefined ? undefined : { kind, controller, rate };
    }
    case 'crashMidReconcile': {
      const f = fieldsOf(ctx, v, kpath, ['controller', 'afterWrites'], 'controller', '{controller: statefulset-controller, afterWrites: 1}');
      if (!f) return undefined;
      const controller = controllerAt(ctx, required(ctx, f, 'controller', kpath), [...kpath, 'controller']);
      const afterWrites = f['afterWrites'] === undefined ? 1 : intAt(ctx, f['afterWrites'], [...kpath, 'afterWrites'], 1, 1000);
      return controller === undefined || afterWrites === undefined ? undefined : { kind, controller, afterWrites };
    }
  }
}

/** spec.chaos: `{faults: N, kinds: [...]}`. */
export function parseChaos(ctx: SpecContext, raw: unknown, base: readonly Seg[]): { faults: number; kinds: FaultKind[] } | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMap(raw)) {
    ctx.error(base, `Invalid value: ${show(raw)}: must be a mapping such as {faults: 4, kinds: [crash, partition]}`);
    return undefined;
  }
  checkKeys(ctx, raw, ['faults', 'kinds'], base);
  let faults: number | undefined;
  if (raw['faults'] === undefined) ctx.error([...base, 'faults'], 'Required value: how many faults to draw');
  else faults = intAt(ctx, raw['faults'], [...base, 'faults'], 0, 1_000);
  let kinds: FaultKind[] = [...CHAOS_KINDS];
  const rawKinds = raw['kinds'];
  if (rawKinds !== undefined) {
    if (!Array.isArray(rawKinds) || rawKinds.length === 0) {
      ctx.error([...base, 'kinds'], `Invalid value: ${show(rawKinds)}: must be a non-empty list of ${quoteList(CHAOS_KINDS)}`);
      return undefined;
    }
    kinds = [];
    let ok = true;
    rawKinds.forEach((k, i) => {
      if (!(CHAOS_KINDS as readonly unknown[]).includes(k)) {
        ctx.error([...base, 'kinds', i], unsupported(k, CHAOS_KINDS));
        ok = false;
      } else if (!kinds.includes(k as FaultKind)) kinds.push(k as FaultKind);
    });
    if (!ok) return undefined;
  }
  if (faults === undefined) return undefined;
  return { faults, kinds };
}
