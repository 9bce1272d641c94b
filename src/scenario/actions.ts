/**
 * Parsing of the Scenario document's `spec.actions`, `spec.faults` and `spec.chaos` (SPEC.md §1)
 * into typed records. Pure: it receives plain JS values (already converted from YAML) and a
 * context that reports problems by field path, knows the scenario's nodes and backends, and
 * validates `apply` manifests; load.ts turns the paths into file:line:col.
 *
 * Words follow kubectl where it has some: `unknown field "x"`, `Required value`,
 * `Unsupported value: "x": supported values: ...`, `the server doesn't have a resource type "x"`
 * (kubectl get/delete with an unknown resource), and kubectl's short names (po, sts, svc, pvc, pv,
 * sc, no) for targets (`kubectl api-resources`).
 */
import { formatDuration, parseDuration } from '../duration.ts';
import { MAX_DURATION_MS, MAX_OBJECTS } from './limits.ts';
import type { KObject } from '../protocol.ts';
import type { Action, SourcePos } from './types.ts';

/** One step of a field path: a map key or a list index. */
export type Seg = string | number;

/** What the parsers need from the loader. Paths are from the Scenario document's root. */
export interface SpecContext {
  error(path: readonly Seg[], message: string): void;
  posOf(path: readonly Seg[]): SourcePos;
  /** The scenario's nodes (node-1..node-N or the Node manifests' names). */
  nodes: readonly string[];
  /** Nodes that `apply` actions create later: valid targets, but not listed in errors. */
  extraNodes: ReadonlySet<string>;
  /** Names of the backends the manifests and spec.backends imply. */
  backends: readonly string[];
  /** Validates an `apply` manifest, reporting its problems; undefined when it is invalid. */
  checkApplyManifest(raw: unknown, path: readonly Seg[]): KObject | undefined;
}

export const ACTION_VERBS = [
  'apply', 'delete', 'scale', 'patch', 'cordon', 'uncordon', 'drain', 'taint',
  'write', 'read', 'writeNode', 'mkdirNode', 'readNode', 'nslookup',
] as const;
type Verb = (typeof ACTION_VERBS)[number];

/** Resource names and kubectl short names accepted in `kind/name` targets, lowercased. */
const TARGET_KINDS: Readonly<Record<string, string>> = nullProto({
  pod: 'Pod', pods: 'Pod', po: 'Pod',
  statefulset: 'StatefulSet', statefulsets: 'StatefulSet', sts: 'StatefulSet', 'statefulset.apps': 'StatefulSet', 'statefulsets.apps': 'StatefulSet',
  service: 'Service', services: 'Service', svc: 'Service',
  persistentvolumeclaim: 'PersistentVolumeClaim', persistentvolumeclaims: 'PersistentVolumeClaim', pvc: 'PersistentVolumeClaim',
  persistentvolume: 'PersistentVolume', persistentvolumes: 'PersistentVolume', pv: 'PersistentVolume',
  storageclass: 'StorageClass', storageclasses: 'StorageClass', sc: 'StorageClass',
  'storageclass.storage.k8s.io': 'StorageClass', 'storageclasses.storage.k8s.io': 'StorageClass',
  node: 'Node', nodes: 'Node', no: 'Node',
});

/** The Kubernetes Kind a `kind/name` target's resource names (kubectl's names and short names), if any. */
export function targetKind(resource: string): string | undefined {
  const k = resource.toLowerCase();
  return Object.hasOwn(TARGET_KINDS, k) ? TARGET_KINDS[k] : undefined;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
const PATCH_TYPES = ['strategic', 'merge', 'json'] as const;
const JSON_PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// ---------------------------------------------------------------------------------------------
// Small value helpers shared with load.ts

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A lookup table keyed by what users type (kinds, timing names, bug names) with no prototype:
 * `table['constructor']` and `'__proto__' in table` find nothing that was not put there.
 */
export function nullProto<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

/** A value as Kubernetes prints it in `Invalid value: ...` (strings quoted). */
export function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'null' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function quoteList(items: readonly string[]): string {
  return items.map((s) => `"${s}"`).join(', ');
}

export function unsupported(v: unknown, allowed: readonly string[]): string {
  return `Unsupported value: ${show(v)}: supported values: ${quoteList(allowed)}`;
}

/** Reports every key of `obj` that is not in `allowed`. Returns the unknown keys. */
export function checkKeys(ctx: Pick<SpecContext, 'error'>, obj: Record<string, unknown>, allowed: readonly string[], path: readonly Seg[], hint = ''): string[] {
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  for (const k of unknown) ctx.error([...path, k], `unknown field "${k}"${hint}`);
  return unknown;
}

/**
 * A Go duration in ms (numbers count as Go would read them: only 0 has no unit). No duration
 * of a scenario may exceed MAX_DURATION_MS, the longest run ksim simulates (a longer one could
 * never elapse); `minMs` is the shortest a period may be.
 */
export function durationAt(ctx: Pick<SpecContext, 'error'>, v: unknown, path: readonly Seg[], opts: { positive?: boolean; minMs?: number } = {}): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') {
    ctx.error(path, `Invalid value: ${show(v)}: must be a duration such as 90s, 2m or 1h30m`);
    return undefined;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) {
    ctx.error(path, `Invalid value: ${show(String(v))}: must be a duration such as 90s, 2m or 1h30m`);
    return undefined;
  }
  const ms = parseDuration(String(v));
  if (typeof ms === 'string') {
    ctx.error(path, ms);
    return undefined;
  }
  if (opts.positive && ms <= 0) {
    ctx.error(path, `Invalid value: ${show(v)}: must be greater than 0`);
    return undefined;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.error(path, `Invalid value: ${show(v)}: must be at most ${formatDuration(MAX_DURATION_MS)} (30 days, the longest run ksim simulates)`);
    return undefined;
  }
  if (opts.minMs !== undefined && ms < opts.minMs) {
    ctx.error(path, `Invalid value: ${show(v)}: must be at least ${formatDuration(opts.minMs)} (a shorter period would loop without letting time pass)`);
    return undefined;
  }
  return ms;
}

export function intAt(ctx: Pick<SpecContext, 'error'>, v: unknown, path: readonly Seg[], min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    ctx.error(path, `Invalid value: ${show(v)}: must be an integer`);
    return undefined;
  }
  if (v < min || v > max) {
    ctx.error(path, max === Number.MAX_SAFE_INTEGER
      ? v < min ? `Invalid value: ${v}: must be greater than or equal to ${min}` : `Invalid value: ${v}: must be at most ${max} (2^53-1, the largest integer ksim reads exactly)`
      : `Invalid value: ${v}: must be between ${min} and ${max}, inclusive`);
    return undefined;
  }
  return v;
}

export function rateAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    ctx.error(path, `Invalid value: ${show(v)}: must be a number between 0 and 1`);
    return undefined;
  }
  if (v < 0 || v > 1) {
    ctx.error(path, `Invalid value: ${v}: must be between 0 and 1, inclusive`);
    return undefined;
  }
  return v;
}

/** A required non-empty string; numbers and booleans are read as YAML users mean them. */
export function stringAt(ctx: SpecContext, v: unknown, path: readonly Seg[], required = true): string | undefined {
  if (v === undefined || v === null || v === '') {
    if (required) ctx.error(path, 'Required value');
    return undefined;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') {
    ctx.error(path, `Invalid value: ${show(v)}: must be a string`);
    return undefined;
  }
  return v;
}

/** Data written by write/writeNode: any scalar, kept as text; empty string allowed. */
function dataAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  if (v === undefined || v === null) {
    ctx.error(path, 'Required value');
    return undefined;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  ctx.error(path, `Invalid value: ${show(v)}: must be a string`);
  return undefined;
}

function boolAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') {
    ctx.error(path, `Invalid value: ${show(v)}: must be true or false`);
    return false;
  }
  return v;
}

function absPathAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  const s = stringAt(ctx, v, path);
  if (s === undefined) return undefined;
  if (!s.startsWith('/')) {
    ctx.error(path, `Invalid value: ${show(s)}: must be an absolute path`);
    return undefined;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Targets

/** `kind/name` with kubectl's resource names and short names. */
function targetAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): { kind: string; name: string } | undefined {
  const s = stringAt(ctx, v, path);
  if (s === undefined) return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) {
    ctx.error(path, `Invalid value: ${show(s)}: must be KIND/NAME, e.g. pod/web-0`);
    return undefined;
  }
  const resource = s.slice(0, slash);
  const name = s.slice(slash + 1);
  const kind = targetKind(resource);
  if (!kind) {
    ctx.error(path, `the server doesn't have a resource type ${JSON.stringify(resource)}`);
    return undefined;
  }
  if (name === '' || name.includes('/')) {
    ctx.error(path, `Invalid value: ${show(s)}: must be KIND/NAME, e.g. pod/web-0`);
    return undefined;
  }
  if (kind === 'Node' && !nodeExists(ctx, name, path)) return undefined;
  return { kind, name };
}

/** A name that may carry its kind as a prefix (`pod/web-0` or `web-0`). */
function namedAt(ctx: SpecContext, v: unknown, path: readonly Seg[], kind: string, required = true): string | undefined {
  const s = stringAt(ctx, v, path, required);
  if (s === undefined) return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return s;
  const prefix = s.slice(0, slash);
  const name = s.slice(slash + 1);
  if (targetKind(prefix) !== kind || name === '' || name.includes('/')) {
    ctx.error(path, `Invalid value: ${show(s)}: must be a ${kind} name or ${kind.toLowerCase()}/NAME`);
    return undefined;
  }
  return name;
}

function nodeExists(ctx: SpecContext, name: string, path: readonly Seg[]): boolean {
  if (ctx.nodes.includes(name) || ctx.extraNodes.has(name)) return true;
  ctx.error(path, `node ${JSON.stringify(name)} does not exist (nodes: ${ctx.nodes.join(', ')})`);
  return false;
}

export function nodeAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  const name = namedAt(ctx, v, path, 'Node');
  if (name === undefined) return undefined;
  return nodeExists(ctx, name, path) ? name : undefined;
}

export function backendAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): string | undefined {
  const s = stringAt(ctx, v, path);
  if (s === undefined) return undefined;
  const name = s.startsWith('backend/') ? s.slice('backend/'.length) : s;
  if (name === '' || name.includes('/')) {
    ctx.error(path, `Invalid value: ${show(s)}: must be backend/NAME`);
    return undefined;
  }
  if (!ctx.backends.includes(name)) {
    const known = ctx.backends.length ? ctx.backends.join(', ') : 'none: no manifest uses nfs, rbd or csi storage';
    ctx.error(path, `backend ${JSON.stringify(name)} does not exist (backends: ${known})`);
    return undefined;
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// Actions

const COMMON_ACTION_KEYS = ['at', 'namespace', 'expect'];
const DELETE_KEYS = ['force', 'gracePeriodSeconds'];

/** Fields of each map-form verb; `expect` (and `namespace` for namespaced verbs) may sit inside too. */
const VERB_FIELDS: Partial<Record<Verb, readonly string[]>> = {
  scale: ['statefulset', 'replicas', 'namespace', 'expect'],
  patch: ['target', 'type', 'patch', 'namespace', 'expect'],
  taint: ['node', 'key', 'value', 'effect', 'remove', 'expect'],
  write: ['pod', 'container', 'path', 'data', 'append', 'namespace', 'expect'],
  read: ['pod', 'container', 'path', 'namespace', 'expect'],
  writeNode: ['node', 'path', 'data', 'expect'],
  mkdirNode: ['node', 'path', 'expect'],
  readNode: ['node', 'path', 'expect'],
  nslookup: ['name', 'from', 'type', 'namespace', 'expect'],
};

type ActionBody = Action extends infer A ? (A extends unknown ? Omit<A, 'atMs' | 'index' | 'namespace' | 'expect' | 'pos'> : never) : never;

/**
 * A list of timed entries (actions, faults): every entry checked, every problem reported;
 * sorted by `at`, file order kept for equal times.
 */
export function parseTimedList<T extends { atMs: number; index: number }, C extends SpecContext>(
  ctx: C,
  raw: unknown,
  base: readonly Seg[],
  noun: string,
  parseOne: (ctx: C, item: unknown, path: readonly Seg[], index: number) => T | undefined,
): T[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    ctx.error(base, `Invalid value: ${show(raw)}: must be a list of ${noun}`);
    return [];
  }
  const out: T[] = [];
  raw.forEach((item, index) => {
    const entry = parseOne(ctx, item, [...base, index], index);
    if (entry) out.push(entry);
  });
  return out.sort((x, y) => x.atMs - y.atMs || x.index - y.index);
}

/**
 * What every timed entry needs: exactly one verb (of `all`) and an `at` that is a duration.
 * `ok` is false when anything was reported (including the unknown keys found before).
 */
export function checkOneAt(
  ctx: SpecContext,
  item: Record<string, unknown>,
  path: readonly Seg[],
  noun: 'action' | 'fault',
  present: readonly string[],
  all: readonly string[],
  unknown: readonly string[],
): { ok: boolean; atMs: number | undefined } {
  let ok = unknown.length === 0;
  if (present.length === 0 && unknown.length === 0) {
    ctx.error(path, `Required value: must specify one ${noun}: ${all.join(', ')}`);
    ok = false;
  }
  if (present.length > 1) {
    ctx.error(path, `Invalid value: may not specify more than one ${noun}: ${present.join(', ')}`);
    ok = false;
  }
  let atMs: number | undefined;
  if (item['at'] === undefined || item['at'] === null) {
    ctx.error([...path, 'at'], 'Required value');
    ok = false;
  } else {
    atMs = durationAt(ctx, item['at'], [...path, 'at']);
    if (atMs === undefined) ok = false;
  }
  return { ok, atMs };
}

/** spec.actions: every action checked, every problem reported; sorted by `at`, file order kept. */
export function parseActions(ctx: SpecContext, raw: unknown, base: readonly Seg[]): Action[] {
  return parseTimedList(ctx, raw, base, 'actions', parseAction);
}

function parseAction(ctx: SpecContext, item: unknown, path: readonly Seg[], index: number): Action | undefined {
  if (!isMap(item)) {
    ctx.error(path, `Invalid value: ${show(item)}: must be a mapping such as {at: 2m, delete: pod/web-0}`);
    return undefined;
  }
  const verbs = ACTION_VERBS.filter((v) => Object.hasOwn(item, v));
  const allowed = [...COMMON_ACTION_KEYS, ...ACTION_VERBS, ...(verbs.includes('delete') ? DELETE_KEYS : [])];
  const hint = verbs.length === 0 ? ` (an action is one of: ${ACTION_VERBS.join(', ')})` : '';
  const unknown = checkKeys(ctx, item, allowed, path, hint);
  let { ok, atMs } = checkOneAt(ctx, item, path, 'action', verbs, ACTION_VERBS, unknown);
  const verb = verbs[0];
  if (verb === undefined || verbs.length > 1) return undefined;
  const vpath = [...path, verb];
  const value = item[verb];

  // namespace and expect: siblings of the verb, or inside its map.
  const inner = isMap(value) && VERB_FIELDS[verb] ? value : undefined;
  const nsRaw = pickOnce(ctx, item, inner, 'namespace', path, vpath);
  const expectRaw = pickOnce(ctx, item, inner, 'expect', path, vpath);
  let namespace: string | undefined;
  if (nsRaw.value !== undefined) {
    namespace = stringAt(ctx, nsRaw.value, nsRaw.path);
    if (namespace !== undefined && !DNS1123_LABEL.test(namespace)) {
      ctx.error(nsRaw.path, `Invalid value: ${show(namespace)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`);
      namespace = undefined;
    }
    if (namespace === undefined) ok = false;
  }
  let expect: string | string[] | undefined;
  if (expectRaw.value !== undefined) {
    expect = parseExpect(ctx, verb, expectRaw.value, expectRaw.path);
    if (expect === undefined) ok = false;
  }

  let body: ActionBody | undefined;
  if (verb === 'apply') {
    const manifest = ctx.checkApplyManifest(value, vpath);
    if (manifest) {
      const own = manifest.metadata?.namespace;
      if (own !== undefined && namespace !== undefined && own !== namespace) {
        ctx.error(nsRaw.path, `the namespace from the provided object "${own}" does not match the namespace "${namespace}". You must pass '--namespace=${own}' to perform this operation.`);
      } else {
        namespace ??= own;
        body = { kind: 'apply', manifest };
      }
    }
  } else {
    body = parseVerb(ctx, verb, value, vpath, item, path);
  }
  if (!ok || !body || atMs === undefined) return undefined;
  const action = { ...body, atMs, index, namespace: namespace ?? 'default', pos: ctx.posOf(path) } as Action;
  if (expect !== undefined) action.expect = expect;
  return action;
}

/** A field given either beside the verb or inside its map, but not both. */
function pickOnce(ctx: SpecContext, outer: Record<string, unknown>, inner: Record<string, unknown> | undefined, key: string, path: readonly Seg[], vpath: readonly Seg[]): { value: unknown; path: readonly Seg[] } {
  const a = outer[key];
  const b = inner?.[key];
  if (a !== undefined && b !== undefined) ctx.error([...vpath, key], `Invalid value: ${show(b)}: ${key} is also given beside the action; give it once`);
  if (a !== undefined) return { value: a, path: [...path, key] };
  return { value: b, path: [...vpath, key] };
}

function parseExpect(ctx: SpecContext, verb: Verb, v: unknown, path: readonly Seg[]): string | string[] | undefined {
  if (verb === 'nslookup') {
    if (Array.isArray(v)) {
      const out: string[] = [];
      let ok = true;
      v.forEach((x, i) => {
        const s = stringAt(ctx, x, [...path, i]);
        if (s === undefined) ok = false;
        else out.push(s);
      });
      return ok ? out : undefined;
    }
    return stringAt(ctx, v, path);
  }
  if (verb === 'read' || verb === 'readNode') return dataAt(ctx, v, path);
  if (v !== 'ok' && v !== 'error') {
    ctx.error(path, unsupported(v, ['ok', 'error']));
    return undefined;
  }
  return v;
}

/** The fields of a map-form verb, or an error when the value is not a map. */
function fieldsOf(ctx: SpecContext, verb: Verb, value: unknown, vpath: readonly Seg[], example: string): Record<string, unknown> | undefined {
  if (!isMap(value)) {
    ctx.error(vpath, `Invalid value: ${show(value)}: must be a mapping such as ${example}`);
    return undefined;
  }
  return checkKeys(ctx, value, VERB_FIELDS[verb] ?? [], vpath).length ? undefined : value;
}

function parseVerb(ctx: SpecContext, verb: Exclude<Verb, 'apply'>, value: unknown, vpath: readonly Seg[], item: Record<string, unknown>, path: readonly Seg[]): ActionBody | undefined {
  const at = (k: string): Seg[] => [...vpath, k];
  switch (verb) {
    case 'delete': {
      const target = targetAt(ctx, value, vpath);
      const force = boolAt(ctx, item.force, [...path, 'force']);
      let grace: number | undefined;
      if (item.gracePeriodSeconds !== undefined) grace = intAt(ctx, item.gracePeriodSeconds, [...path, 'gracePeriodSeconds'], 0);
      if (!target || (item.gracePeriodSeconds !== undefined && grace === undefined)) return undefined;
      return grace === undefined ? { kind: 'delete', target, force } : { kind: 'delete', target, force, gracePeriodSeconds: grace };
    }
    case 'scale': {
      const f = fieldsOf(ctx, verb, value, vpath, '{statefulset: web, replicas: 3}');
      if (!f) return undefined;
      const statefulset = namedAt(ctx, f.statefulset, at('statefulset'), 'StatefulSet');
      const replicas = f.replicas === undefined ? (ctx.error(at('replicas'), 'Required value'), undefined) : replicasAt(ctx, f.replicas, at('replicas'));
      if (statefulset === undefined || replicas === undefined) return undefined;
      return { kind: 'scale', statefulset, replicas };
    }
    case 'patch': {
      const f = fieldsOf(ctx, verb, value, vpath, '{target: statefulset/web, type: merge, patch: {...}}');
      if (!f) return undefined;
      const target = targetAt(ctx, f.target, at('target'));
      let patchType: (typeof PATCH_TYPES)[number] | undefined = 'strategic';
      if (f.type !== undefined) {
        patchType = PATCH_TYPES.find((t) => t === f.type);
        if (!patchType) ctx.error(at('type'), unsupported(f.type, PATCH_TYPES));
      }
      const patch = patchType ? patchAt(ctx, f.patch, at('patch'), patchType) : undefined;
      if (!target || !patchType || patch === undefined) return undefined;
      return { kind: 'patch', target, patchType, patch };
    }
    case 'cordon':
    case 'uncordon':
    case 'drain': {
      const node = nodeAt(ctx, value, vpath);
      return node === undefined ? undefined : { kind: verb, node };
    }
    case 'taint': {
      const f = fieldsOf(ctx, verb, value, vpath, '{node: node-1, key: k, value: v, effect: NoSchedule}');
      if (!f) return undefined;
      const node = nodeAt(ctx, f.node, at('node'));
      const key = stringAt(ctx, f.key, at('key'));
      const val = f.value === undefined || f.value === null ? undefined : stringAt(ctx, f.value, at('value'), false);
      let effect: (typeof TAINT_EFFECTS)[number] | undefined;
      if (f.effect === undefined || f.effect === null) ctx.error(at('effect'), `Required value: one of ${quoteList(TAINT_EFFECTS)}`);
      else {
        effect = TAINT_EFFECTS.find((e) => e === f.effect);
        if (!effect) ctx.error(at('effect'), unsupported(f.effect, TAINT_EFFECTS));
      }
      const remove = boolAt(ctx, f.remove, at('remove'));
      if (node === undefined || key === undefined || !effect) return undefined;
      return val === undefined ? { kind: 'taint', node, key, effect, remove } : { kind: 'taint', node, key, value: val, effect, remove };
    }
    case 'write':
    case 'read': {
      const example = verb === 'write' ? '{pod: web-0, path: /data/f, data: hello}' : '{pod: web-0, path: /data/f}';
      const f = fieldsOf(ctx, verb, value, vpath, example);
      if (!f) return undefined;
      const pod = namedAt(ctx, f.pod, at('pod'), 'Pod');
      const container = f.container === undefined ? undefined : stringAt(ctx, f.container, at('container'));
      const p = absPathAt(ctx, f.path, at('path'));
      if (verb === 'read') {
        if (pod === undefined || p === undefined || (f.container !== undefined && container === undefined)) return undefined;
        return container === undefined ? { kind: 'read', pod, path: p } : { kind: 'read', pod, container, path: p };
      }
      const data = dataAt(ctx, f.data, at('data'));
      const append = boolAt(ctx, f.append, at('append'));
      if (pod === undefined || p === undefined || data === undefined || (f.container !== undefined && container === undefined)) return undefined;
      return container === undefined ? { kind: 'write', pod, path: p, data, append } : { kind: 'write', pod, container, path: p, data, append };
    }
    case 'writeNode':
    case 'mkdirNode':
    case 'readNode': {
      const f = fieldsOf(ctx, verb, value, vpath, `{node: node-1, path: /mnt/data${verb === 'writeNode' ? ', data: hello' : ''}}`);
      if (!f) return undefined;
      const node = nodeAt(ctx, f.node, at('node'));
      const p = absPathAt(ctx, f.path, at('path'));
      if (verb === 'writeNode') {
        const data = dataAt(ctx, f.data, at('data'));
        if (node === undefined || p === undefined || data === undefined) return undefined;
        return { kind: 'writeNode', node, path: p, data };
      }
      if (f.data !== undefined) ctx.error(at('data'), `unknown field "data"`);
      if (node === undefined || p === undefined || f.data !== undefined) return undefined;
      return { kind: verb, node, path: p };
    }
    case 'nslookup': {
      // `nslookup: web-0.nginx` is short for `nslookup: {name: web-0.nginx}`.
      const f = typeof value === 'string' ? { name: value } : fieldsOf(ctx, verb, value, vpath, '{name: web-0.nginx, from: pod/curl}');
      if (!f) return undefined;
      const name = stringAt(ctx, f.name, typeof value === 'string' ? vpath : at('name'));
      const from = f.from === undefined ? undefined : namedAt(ctx, f.from, at('from'), 'Pod');
      let qtype: 'A' | 'SRV' | undefined = 'A';
      if (f.type !== undefined) {
        qtype = f.type === 'A' || f.type === 'SRV' ? f.type : undefined;
        if (!qtype) ctx.error(at('type'), unsupported(f.type, ['A', 'SRV']));
      }
      if (name === undefined || !qtype || (f.from !== undefined && from === undefined)) return undefined;
      return from === undefined ? { kind: 'nslookup', name, qtype } : { kind: 'nslookup', name, from, qtype };
    }
  }
}

/**
 * `scale`'s replicas: what the API server would decode into the int32 spec.replicas (a number
 * that is not an int32 is the decoder's type error), then ksim's object limit.
 */
function replicasAt(ctx: SpecContext, v: unknown, path: readonly Seg[]): number | undefined {
  if (typeof v === 'number' && !Number.isFinite(v)) {
    ctx.error(path, `error converting YAML to JSON: json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}`);
    return undefined;
  }
  if (typeof v === 'number' && Number.isFinite(v) && (!Number.isInteger(v) || v > 2 ** 31 - 1 || v < -(2 ** 31))) {
    ctx.error(path, `json: cannot unmarshal number ${v} into Go struct field StatefulSetSpec.spec.replicas of type int32`);
    return undefined;
  }
  if (typeof v !== 'number') {
    ctx.error(path, `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'string' : 'object'} into Go struct field StatefulSetSpec.spec.replicas of type int32`);
    return undefined;
  }
  if (v > MAX_OBJECTS) {
    ctx.error(path, `Invalid value: ${v}: must be no more than ${MAX_OBJECTS} (the most pods ksim simulates in one run, docs/input.md)`);
    return undefined;
  }
  return intAt(ctx, v, path, 0);
}

/** A patch body: json is an RFC 6902 operation list, strategic and merge a map; a JSON string is read as kubectl -p. */
function patchAt(ctx: SpecContext, v: unknown, path: readonly Seg[], type: 'strategic' | 'merge' | 'json'): unknown {
  if (v === undefined || v === null) {
    ctx.error(path, 'Required value');
    return undefined;
  }
  let p = v;
  if (typeof v === 'string') {
    try {
      p = JSON.parse(v);
    } catch (e) {
      ctx.error(path, `Invalid value: ${show(v)}: unable to parse the patch: ${(e as Error).message}`);
      return undefined;
    }
  }
  if (type === 'json') {
    if (!Array.isArray(p)) {
      ctx.error(path, `Invalid value: ${show(v)}: a json patch must be a list of operations such as [{op: replace, path: /spec/replicas, value: 3}]`);
      return undefined;
    }
    let ok = true;
    p.forEach((op, i) => {
      const opPath = typeof v === 'string' ? path : [...path, i];
      if (!isMap(op)) {
        ctx.error(opPath, `Invalid value: ${show(op)}: must be an operation such as {op: replace, path: /spec/replicas, value: 3}`);
        ok = false;
        return;
      }
      if (!JSON_PATCH_OPS.includes(op.op as string)) {
        ctx.error(typeof v === 'string' ? path : [...opPath, 'op'], op.op === undefined ? 'Required value' : unsupported(op.op, JSON_PATCH_OPS));
        ok = false;
      }
      if (typeof op.path !== 'string') {
        ctx.error(typeof v === 'string' ? path : [...opPath, 'path'], 'Required value: a JSON pointer such as /spec/replicas');
        ok = false;
      }
      if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') {
        ctx.error(typeof v === 'string' ? path : [...opPath, 'from'], 'Required value');
        ok = false;
      }
      if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) {
        ctx.error(typeof v === 'string' ? path : [...opPath, 'value'], 'Required value');
        ok = false;
      }
    });
    return ok ? p : undefined;
  }
  if (!isMap(p)) {
    ctx.error(path, `Invalid value: ${show(v)}: a ${type} patch must be a mapping such as {spec: {replicas: 3}}`);
    return undefined;
  }
  return p;
}
