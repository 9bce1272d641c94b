/**
 * The three patch types `kubectl patch` sends and the API server applies, as pure functions
 * over plain objects. Receives a stored object, a patch type and a patch; returns the patched
 * copy or the error the API server would answer. The input object is never mutated.
 *
 * - `json` (RFC 6902) follows gopkg.in/evanphx/json-patch.v4 as
 *   staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go (applyJSPatch) uses it: the
 *   path checks and their wording are ported from json-patch's patch.go, the edits themselves
 *   are made by fast-json-patch. A failed operation answers 422 Invalid with the generic
 *   message NewGenericServerResponse gives ("the server rejected our request due to an error
 *   in our request"): the server drops json-patch's own text, which we keep in `detail`.
 * - `merge` (RFC 7386) follows json-patch's MergePatch (nulls delete; nulls inside newly added
 *   values are pruned, as its pruneNulls does).
 * - `strategic` follows k8s.io/apimachinery/pkg/util/strategicpatch/patch.go (mergeMap,
 *   mergeSlice, normalizeElementOrder, the $patch / $retainKeys / $setElementOrder /
 *   $deleteFromPrimitiveList directives) with the patchStrategy/patchMergeKey struct tags of
 *   k8s.io/api for the kinds ksim models, written out below as a table. Errors are mapped to
 *   HTTP codes as patch.go's interpretStrategicMergePatchError does.
 */
import jsonpatch from 'fast-json-patch';
import type { KObject } from '../protocol.ts';
import type { PatchType } from '../protocol.ts';
import { deepCopy } from './objects.ts';

export type { PatchType } from '../protocol.ts';

/** A failed patch: `message` is the API server's Status message; `code`/`reason` its HTTP status. */
export interface PatchFailure {
  ok: false;
  message: string;
  code: number;
  reason: 'BadRequest' | 'Invalid' | 'InternalError';
  /** The underlying library's own words, when the server's message hides them. */
  detail?: string;
}

export type PatchResult = { ok: true; obj: KObject } | PatchFailure;

type JObj = Record<string, unknown>;

function isObj(v: unknown): v is JObj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/*
 * Patches never reach a prototype: a key is read only when it is the object's own, and written
 * as an own data property. A `__proto__` key (JSON.parse and the YAML parser make it an own
 * property) is then a key like any other: the strict decoder calls it an unknown field, label
 * validation an invalid key; it can neither replace an object's prototype nor, through
 * Object.prototype, pollute every object of the process.
 */
function getOwn(o: JObj, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

function setOwn(o: JObj, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/** Applies `patch` of `type` to a copy of `obj`. */
export function applyPatch(obj: KObject, type: PatchType, patch: unknown): PatchResult {
  let p = patch;
  if (typeof p === 'string') {
    // kubectl sends -p text as is; accept it the same way.
    try {
      p = JSON.parse(p);
    } catch (e) {
      return fail(400, 'BadRequest', `error decoding patch: ${(e as Error).message}`);
    }
  }
  switch (type) {
    case 'json':
      return applyJsonPatch(obj, p);
    case 'merge':
      return applyMergePatch(obj, p);
    case 'strategic':
      return applyStrategicPatch(obj, p);
  }
}

function fail(code: number, reason: PatchFailure['reason'], message: string, detail?: string): PatchFailure {
  return detail === undefined ? { ok: false, code, reason, message } : { ok: false, code, reason, message, detail };
}

/** The object as decoding into its typed struct leaves it: kind and apiVersion always set. */
function finish(orig: KObject, out: unknown): PatchResult {
  if (!isObj(out)) {
    // jsonPatcher.applyPatchToCurrentObject: the patched JSON does not decode into an object.
    const cause = `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(out)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`;
    return fail(422, 'Invalid', `"" is invalid: patch: Invalid value: ${JSON.stringify(JSON.stringify(out))}: ${cause}`);
  }
  const res = out as KObject;
  if (typeof res.kind !== 'string' || res.kind === '') res.kind = orig.kind;
  if (typeof res.apiVersion !== 'string' || res.apiVersion === '') res.apiVersion = orig.apiVersion;
  if (!isObj(res.metadata)) res.metadata = {};
  return { ok: true, obj: res };
}

/**
 * The API server's answer when the patched object does not decode (patch.go: jsonPatcher and
 * applyPatchToObject): 422 with the patched JSON (json, merge) or the patch as Go prints a map
 * (strategic) as the invalid value of `patch`, and the decoder's error. The value is cut to 200
 * characters here.
 */
export function patchDecodeFailure(type: PatchType, patch: unknown, patched: unknown, cause: string): PatchFailure {
  let value = type === 'strategic' ? goFmt(typeof patch === 'string' ? safeParse(patch) : patch) : JSON.stringify(patched) ?? '';
  if (value.length > 200) value = `${value.slice(0, 197)}...`;
  return fail(422, 'Invalid', `"" is invalid: patch: Invalid value: ${JSON.stringify(value)}: ${cause}`);
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Go's encoding/json name for a JSON value's type, as its unmarshal errors print it. */
function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'object':
      return 'object';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'value';
  }
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 JSON patch (json-patch.v4 semantics, fast-json-patch edits)

/** NewGenericServerResponse(422, ...) drops the server message and says this. */
const JSON_PATCH_REJECTED = 'the server rejected our request due to an error in our request';
const ErrMissing = 'missing value';
const ErrTestFailed = 'test failed';
const ErrInvalidIndex = 'invalid index referenced';

type Container = JObj | unknown[];
type Found = { con: Container; key: string; pointer: string } | null;

class OpError extends Error {}

function applyJsonPatch(obj: KObject, patch: unknown): PatchResult {
  // jsonpatch.DecodePatch: a JSON null is an empty patch; anything but an array of objects is 400.
  if (patch === null || patch === undefined) return finish(obj, deepCopy(obj));
  if (!Array.isArray(patch)) return fail(400, 'BadRequest', `json: cannot unmarshal ${goJsonType(patch)} into Go value of type jsonpatch.Patch`);
  for (const op of patch) {
    if (!isObj(op)) return fail(400, 'BadRequest', `json: cannot unmarshal ${goJsonType(op)} into Go value of type jsonpatch.Operation`);
  }
  const doc = deepCopy(obj) as unknown as JObj;
  for (const op of patch as JObj[]) {
    try {
      applyJsonOp(doc, op);
    } catch (e) {
      const detail = e instanceof OpError ? e.message : `jsonpatch: ${(e as Error).message}`;
      return fail(422, 'Invalid', JSON_PATCH_REJECTED, detail);
    }
  }
  return finish(obj, doc);
}

function opString(op: JObj, field: 'path' | 'from'): string {
  const v = op[field];
  if (v === undefined || v === null) {
    throw new OpError(field === 'path' ? `operation missing path field: ${ErrMissing}` : `operation, missing from field: ${ErrMissing}`);
  }
  if (typeof v !== 'string') throw new OpError(`json: cannot unmarshal ${goJsonType(v)} into Go value of type string`);
  return v;
}

/** Operation.Path()/From() wrapped as each operation wraps it. */
function decodePath(op: JObj, field: 'path' | 'from', wrap: string, keepCause: boolean): string {
  try {
    return opString(op, field);
  } catch (e) {
    throw new OpError(keepCause ? `${wrap}: ${(e as Error).message}` : `${wrap}: ${ErrMissing}`);
  }
}

/** strconv.Atoi */
function atoi(key: string): number {
  if (!/^[+-]?\d+$/.test(key)) throw new OpError(`strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`);
  return Number(key);
}

function decodeKey(k: string): string {
  return k.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** json-patch's container.get: objects yield undefined for a missing key, arrays an error. */
function conGet(con: Container, key: string): unknown {
  if (Array.isArray(con)) {
    const idx = atoi(key);
    if (idx >= con.length || idx < 0) throw new OpError(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
    return con[idx];
  }
  return Object.prototype.hasOwnProperty.call(con, key) ? con[key] : undefined;
}

/** json-patch's findObject: walks all but the last token; a missing or scalar step is nil. */
function findObject(doc: JObj, path: string): Found {
  const split = path.split('/');
  if (split.length < 2) return null;
  const parts = split.slice(1, -1);
  const key = decodeKey(split[split.length - 1]!);
  let cur: Container = doc;
  let pointer = '';
  for (const raw of parts) {
    const part = decodeKey(raw);
    let next: unknown;
    try {
      next = conGet(cur, part);
    } catch {
      return null;
    }
    if (next === undefined || next === null) return null;
    if (!Array.isArray(next) && !isObj(next)) return null;
    pointer += '/' + jsonpatch.escapePathComponent(Array.isArray(cur) ? String(atoi(part)) : part);
    cur = next;
  }
  return { con: cur, key, pointer };
}

function child(f: { pointer: string }, key: string | number): string {
  return `${f.pointer}/${jsonpatch.escapePathComponent(String(key))}`;
}

function patchOp(doc: JObj, op: jsonpatch.Operation): void {
  jsonpatch.applyOperation(doc, op, false, true, true);
}

/** json-patch's container.add, made by fast-json-patch at a normalised pointer. */
function conAdd(doc: JObj, f: NonNullable<Found>, value: unknown): void {
  if (Array.isArray(f.con)) {
    if (f.key === '-') {
      patchOp(doc, { op: 'add', path: child(f, '-'), value });
      return;
    }
    let idx: number;
    try {
      idx = atoi(f.key);
    } catch (e) {
      throw new OpError(`value was not a proper array index: '${f.key}': ${(e as Error).message}`);
    }
    const size = f.con.length + 1;
    if (idx >= size || idx < -size) throw new OpError(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
    if (idx < 0) idx += size;
    patchOp(doc, { op: 'add', path: child(f, idx), value });
    return;
  }
  patchOp(doc, { op: 'add', path: child(f, f.key), value });
}

function conRemove(doc: JObj, f: NonNullable<Found>): void {
  if (Array.isArray(f.con)) {
    let idx = atoi(f.key);
    const len = f.con.length;
    if (idx >= len || idx < -len) throw new OpError(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
    if (idx < 0) idx += len;
    patchOp(doc, { op: 'remove', path: child(f, idx) });
    return;
  }
  if (!Object.prototype.hasOwnProperty.call(f.con, f.key)) throw new OpError(`Unable to remove nonexistent key: ${f.key}: ${ErrMissing}`);
  patchOp(doc, { op: 'remove', path: child(f, f.key) });
}

/** The operation's value; a missing value is JSON null, as json-patch's lazyNode marshals it. */
function opValue(op: JObj): unknown {
  return op.value === undefined ? null : deepCopy(op.value);
}

function applyJsonOp(doc: JObj, op: JObj): void {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  switch (kind) {
    case 'add': {
      const path = decodePath(op, 'path', 'add operation failed to decode path', false);
      const f = findObject(doc, path);
      if (!f) throw new OpError(`add operation does not apply: doc is missing path: "${path}": ${ErrMissing}`);
      wrap(`error in add for path: '${path}'`, () => conAdd(doc, f, opValue(op)));
      return;
    }
    case 'remove': {
      const path = decodePath(op, 'path', 'remove operation failed to decode path', false);
      const f = findObject(doc, path);
      if (!f) throw new OpError(`remove operation does not apply: doc is missing path: "${path}": ${ErrMissing}`);
      wrap(`error in remove for path: '${path}'`, () => conRemove(doc, f));
      return;
    }
    case 'replace': {
      const path = decodePath(op, 'path', 'replace operation failed to decode path', true);
      const f = findObject(doc, path);
      if (!f) throw new OpError(`replace operation does not apply: doc is missing path: ${path}: ${ErrMissing}`);
      try {
        conGet(f.con, f.key);
      } catch {
        throw new OpError(`replace operation does not apply: doc is missing key: ${path}: ${ErrMissing}`);
      }
      // json-patch v4 sets a missing object key rather than failing (partialDoc.get never errors).
      const at = Array.isArray(f.con) ? atoi(f.key) : f.key;
      if (Array.isArray(f.con)) patchOp(doc, { op: 'replace', path: child(f, at), value: opValue(op) });
      else patchOp(doc, { op: 'add', path: child(f, at), value: opValue(op) });
      return;
    }
    case 'move': {
      const from = decodePath(op, 'from', 'move operation failed to decode from', true);
      const f = findObject(doc, from);
      if (!f) throw new OpError(`move operation does not apply: doc is missing from path: ${from}: ${ErrMissing}`);
      const val = wrap(`error in move for path: '${f.key}'`, () => conGet(f.con, f.key));
      const moved = val === undefined ? null : deepCopy(val);
      wrap(`error in move for path: '${f.key}'`, () => conRemove(doc, f));
      const path = decodePath(op, 'path', 'move operation failed to decode path', true);
      const t = findObject(doc, path);
      if (!t) throw new OpError(`move operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
      wrap(`error in move for path: '${path}'`, () => conAdd(doc, t, moved));
      return;
    }
    case 'copy': {
      const from = decodePath(op, 'from', 'copy operation failed to decode from', true);
      const f = findObject(doc, from);
      if (!f) throw new OpError(`copy operation does not apply: doc is missing from path: ${from}: ${ErrMissing}`);
      const val = wrap(`error in copy for from: '${from}'`, () => conGet(f.con, f.key));
      const path = decodePath(op, 'path', 'copy operation failed to decode path', false);
      const t = findObject(doc, path);
      if (!t) throw new OpError(`copy operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
      wrap('error while adding value during copy', () => conAdd(doc, t, val === undefined ? null : deepCopy(val)));
      return;
    }
    case 'test': {
      const path = decodePath(op, 'path', 'test operation failed to decode path', true);
      const f = findObject(doc, path);
      if (!f) throw new OpError(`test operation does not apply: is missing path: ${path}: ${ErrMissing}`);
      const val = wrap(`error in test for path: '${path}'`, () => conGet(f.con, f.key));
      const want = op.value;
      if (val === undefined || val === null) {
        if (want === undefined || want === null) return;
        throw new OpError(`testing value ${path} failed: ${ErrTestFailed}`);
      }
      if (want === undefined || !lazyEqual(val, want)) throw new OpError(`testing value ${path} failed: ${ErrTestFailed}`);
      return;
    }
    default:
      throw new OpError(`Unexpected kind: ${kind}`);
  }
}

function wrap<T>(prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OpError) throw new OpError(`${prefix}: ${e.message}`);
    throw e;
  }
}

/**
 * json-patch v4's lazyNode.equal: objects compare only the keys of the stored value (the
 * test value may carry more), arrays element by element, scalars by their JSON text.
 */
function lazyEqual(a: unknown, b: unknown): boolean {
  if (isObj(a)) {
    if (!isObj(b)) return false;
    for (const [k, v] of Object.entries(a)) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
      const w = b[k];
      if ((v === null || v === undefined) && (w === null || w === undefined)) continue;
      if (v === null || v === undefined || w === null || w === undefined) return false;
      if (!lazyEqual(v, w)) return false;
    }
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => lazyEqual(v, b[i]));
  }
  if (isObj(b) || Array.isArray(b)) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 JSON merge patch (json-patch's MergePatch)

function applyMergePatch(obj: KObject, patch: unknown): PatchResult {
  // doMergePatch: null or a scalar patch is ErrBadJSONPatch (400); an array replaces the
  // document and then fails to decode as an object (422).
  if (patch === null || patch === undefined || (!isObj(patch) && !Array.isArray(patch))) {
    return fail(400, 'BadRequest', 'Invalid JSON Patch');
  }
  if (Array.isArray(patch)) return finish(obj, pruneNulls(deepCopy(patch)));
  const doc = deepCopy(obj) as unknown as JObj;
  mergeDocs(doc, patch);
  return finish(obj, doc);
}

function mergeDocs(doc: JObj, patch: JObj): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = getOwn(doc, k);
    if (cur === undefined || cur === null) setOwn(doc, k, pruneNulls(deepCopy(v)));
    else setOwn(doc, k, mergeValue(cur, v));
  }
}

/** json-patch's merge(): a document merges into a document; anything else is replaced. */
function mergeValue(cur: unknown, patch: unknown): unknown {
  if (!isObj(cur)) return pruneNulls(deepCopy(patch));
  if (!isObj(patch)) return deepCopy(patch);
  mergeDocs(cur, patch);
  return cur;
}

/** pruneNulls / pruneAryNulls: nulls vanish from added objects and arrays. */
function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(pruneNulls);
  if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else setOwn(v, k, pruneNulls(x));
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch)

/**
 * Patch metadata of one field, from the struct tags of k8s.io/api:
 * `merge` is patchStrategy:"merge" on a list, `key` its patchMergeKey, `fields` the schema of
 * the struct (or of the list's elements). Fields not listed merge as maps or are replaced as
 * lists, which is what untagged struct fields do.
 */
interface FieldMeta {
  merge?: boolean;
  key?: string;
  fields?: Schema;
}
type Schema = Readonly<Record<string, FieldMeta>>;

const mergeList = (key?: string, fields?: Schema): FieldMeta => ({ merge: true, ...(key ? { key } : {}), ...(fields ? { fields } : {}) });
const struct = (fields: Schema): FieldMeta => ({ fields });

// k8s.io/apimachinery/pkg/apis/meta/v1/types.go: ObjectMeta.
const OBJECT_META: Schema = {
  finalizers: mergeList(),
  ownerReferences: mergeList('uid'),
};
// k8s.io/api/core/v1/types.go: Container.
const CONTAINER: Schema = {
  ports: mergeList('containerPort'),
  env: mergeList('name'),
  volumeMounts: mergeList('mountPath'),
  volumeDevices: mergeList('devicePath'),
};
// core/v1 PodSpec: tolerations, readinessGates, args/command are atomic (replaced).
const POD_SPEC: Schema = {
  volumes: mergeList('name'),
  initContainers: mergeList('name', CONTAINER),
  containers: mergeList('name', CONTAINER),
  ephemeralContainers: mergeList('name', CONTAINER),
  imagePullSecrets: mergeList('name'),
  hostAliases: mergeList('ip'),
  topologySpreadConstraints: mergeList('topologyKey'),
  schedulingGates: mergeList('name'),
  resourceClaims: mergeList('name'),
};
const POD_STATUS: Schema = {
  conditions: mergeList('type'),
  podIPs: mergeList('ip'),
  hostIPs: mergeList('ip'),
  resourceClaimStatuses: mergeList('name'),
};
const CONDITIONS: Schema = { conditions: mergeList('type') };
const POD_TEMPLATE: Schema = { metadata: struct(OBJECT_META), spec: struct(POD_SPEC) };

/** Per kind, the schema of the whole object. volumeClaimTemplates and node taints are atomic. */
const KIND_SCHEMA: Readonly<Record<string, Schema>> = {
  Pod: { metadata: struct(OBJECT_META), spec: struct(POD_SPEC), status: struct(POD_STATUS) },
  StatefulSet: {
    metadata: struct(OBJECT_META),
    spec: struct({ template: struct(POD_TEMPLATE) }),
    status: struct(CONDITIONS),
  },
  Service: { metadata: struct(OBJECT_META), spec: struct({ ports: mergeList('port') }), status: struct(CONDITIONS) },
  PersistentVolumeClaim: { metadata: struct(OBJECT_META), status: struct(CONDITIONS) },
  PersistentVolume: { metadata: struct(OBJECT_META) },
  Node: {
    metadata: struct(OBJECT_META),
    spec: struct({ podCIDRs: mergeList() }),
    status: struct({ conditions: mergeList('type'), addresses: mergeList('type') }),
  },
  Namespace: { metadata: struct(OBJECT_META), status: struct(CONDITIONS) },
};
const DEFAULT_SCHEMA: Schema = { metadata: struct(OBJECT_META) };

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const SET_ELEMENT_ORDER = '$setElementOrder/';

// k8s.io/apimachinery/pkg/util/mergepatch/errors.go
const ErrBadPatchFormatForPrimitiveList = 'invalid patch format of primitive list';
const ErrBadPatchFormatForRetainKeys = 'invalid patch format of retainKeys';
const ErrBadPatchFormatForSetElementOrderList = 'invalid patch format of setElementOrder list';
const ErrNoListOfLists = 'lists of lists are not supported';

/** A strategic-merge error with the HTTP status interpretStrategicMergePatchError gives it. */
class SmpError extends Error {
  constructor(
    message: string,
    readonly code: number = 500,
  ) {
    super(message);
  }
}
const badRequest = (m: string): SmpError => new SmpError(m, 400);

function applyStrategicPatch(obj: KObject, patch: unknown): PatchResult {
  // kjson.UnmarshalCaseSensitivePreserveInts into a map: null is an empty patch.
  if (patch === null || patch === undefined) return finish(obj, deepCopy(obj));
  if (!isObj(patch)) return fail(400, 'BadRequest', `json: cannot unmarshal ${goJsonType(patch)} into Go value of type map[string]interface {}`);
  try {
    const out = mergeMap(deepCopy(obj) as unknown as JObj, deepCopy(patch), KIND_SCHEMA[obj.kind] ?? DEFAULT_SCHEMA);
    return finish(obj, out);
  } catch (e) {
    if (!(e instanceof SmpError)) throw e;
    if (e.code === 400) return fail(400, 'BadRequest', e.message);
    if (e.code === 422) return fail(422, 'Invalid', JSON_PATCH_REJECTED, e.message);
    return fail(500, 'InternalError', e.message);
  }
}

function metaOf(schema: Schema | undefined, key: string): FieldMeta {
  return (schema && Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined) ?? {};
}

type JKind = 'map' | 'list' | 'string' | 'number' | 'bool' | 'null';
function jkind(v: unknown): JKind {
  if (Array.isArray(v)) return 'list';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  return 'bool';
}

/**
 * A value the patch adds where the original has none. Go stores it as is (nulls discarded)
 * and decoding into the typed object drops directive keys; do both here.
 */
function cleanNew(v: unknown): unknown {
  if (Array.isArray(v)) {
    return v
      .filter((x) => !(isObj(x) && (x[DIRECTIVE] === 'delete' || Object.keys(x).every((k) => k.startsWith('$')))))
      .map(cleanNew);
  }
  if (isObj(v)) {
    const out: JObj = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null || k.startsWith('$')) continue;
      setOwn(out, k, cleanNew(x));
    }
    return out;
  }
  return v;
}

/** mergeMap: merges `patch` into `original` (mutated and returned). */
function mergeMap(original: JObj, patchIn: JObj, schema: Schema | undefined): JObj {
  if (Object.prototype.hasOwnProperty.call(patchIn, DIRECTIVE)) return handleDirectiveInMergeMap(patchIn[DIRECTIVE], patchIn);
  const patch: JObj = { ...patchIn };
  applyRetainKeysDirective(original, patch);
  mergePatchIntoOriginal(original, patch, schema);
  for (const [k0, patchV] of Object.entries(patch)) {
    let k = k0;
    let isDeleteList = false;
    if (k0.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = k0.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (k === '') throw badRequest(ErrBadPatchFormatForPrimitiveList);
      isDeleteList = true;
    } else if (k0.startsWith('$')) {
      continue;
    }
    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(original, k) || original[k] === undefined) {
      if (!isDeleteList) setOwn(original, k, cleanNew(patchV));
      continue;
    }
    const cur = original[k];
    if (jkind(cur) !== jkind(patchV)) {
      setOwn(original, k, cleanNew(patchV));
      continue;
    }
    const meta = metaOf(schema, k);
    if (isObj(cur) && isObj(patchV)) {
      setOwn(original, k, mergeMap(cur, patchV, meta.fields));
    } else if (Array.isArray(cur) && Array.isArray(patchV)) {
      setOwn(original, k, mergeSliceHandler(cur, patchV, meta, isDeleteList));
    } else {
      setOwn(original, k, patchV);
    }
  }
  return original;
}

function handleDirectiveInMergeMap(directive: unknown, patch: JObj): JObj {
  if (directive === 'replace') return cleanNew(patch) as JObj;
  if (directive === 'delete') return {};
  throw new SmpError(`unknown patch type: ${goFmt(directive)} in map: ${goFmt(patch)}`);
}

function applyRetainKeysDirective(original: JObj, patch: JObj): void {
  if (!Object.prototype.hasOwnProperty.call(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest(ErrBadPatchFormatForRetainKeys);
  const keep = new Set(retain);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw badRequest(ErrBadPatchFormatForRetainKeys);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** mergePatchIntoOriginal: the $setElementOrder/<list> directive and its list, merged and ordered. */
function mergePatchIntoOriginal(original: JObj, patch: JObj, schema: Schema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw new SmpError(`expected a []interface {}, but received a ${goTypeName(order)}`);
    const originalKey = key.slice(SET_ELEMENT_ORDER.length);
    if (originalKey === '') throw badRequest(ErrBadPatchFormatForSetElementOrderList);
    const foundOriginal = Object.prototype.hasOwnProperty.call(original, originalKey);
    const foundPatch = Object.prototype.hasOwnProperty.call(patch, originalKey);
    const originalList = getOwn(original, originalKey);
    const patchList = getOwn(patch, originalKey);
    if (foundOriginal && !Array.isArray(originalList)) throw new SmpError(`expected a []interface {}, but received a ${goTypeName(originalList)}`);
    if (foundPatch && !Array.isArray(patchList)) throw new SmpError(`expected a []interface {}, but received a ${goTypeName(patchList)}`);
    const ol = foundOriginal ? (originalList as unknown[]) : [];
    const pl = foundPatch ? (patchList as unknown[]) : [];
    const meta = metaOf(schema, originalKey);
    const mergeKey = meta.key ?? '';
    validatePatchWithSetOrderList(pl, order, mergeKey);
    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = ol;
    else if (!foundOriginal && foundPatch) merged = pl;
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(ol, pl, meta, false);
    else continue;
    const [patchItems, serverOnly] = mergeKey ? partitionMapsByPresentInList(merged, order, mergeKey) : partitionPrimitivesByPresentInList(merged, order);
    const kind = sliceElementKind(ol, pl);
    setOwn(original, originalKey, normalizeElementOrder(patchItems, serverOnly, order, ol, mergeKey, kind));
    delete patch[originalKey];
  }
}

function validatePatchWithSetOrderList(patchList: unknown[], setOrder: unknown[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  let nonDelete = patchList;
  if (mergeKey) nonDelete = extractToDeleteItems(patchList)[0];
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < setOrder.length) {
    const item = nonDelete[pi];
    if (isObj(item) && Object.prototype.hasOwnProperty.call(item, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (mergeKeyValueEqual(item, setOrder[si], mergeKey)) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= setOrder.length) {
    throw new SmpError(`The order in patch list:\n${goFmt(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFmt(setOrder)}\n`);
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObj(left)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeName(left)}`);
  if (!isObj(right)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeName(right)}`);
  if (!(mergeKey in left)) throw new SmpError(errNoMergeKey(left, mergeKey));
  if (!(mergeKey in right)) throw new SmpError(errNoMergeKey(right, mergeKey));
  return left[mergeKey] === right[mergeKey];
}

function mergeSliceHandler(original: unknown[], patch: unknown[], meta: FieldMeta, isDeleteList: boolean): unknown[] {
  if (meta.merge) return mergeSlice(original, patch, meta, isDeleteList);
  // An atomic list is replaced by the patch's list; decoding drops directive keys from its items.
  return cleanNew(patch) as unknown[];
}

/** sliceElementType: all elements one kind, and not lists. */
function sliceElementKind(...slices: unknown[][]): 'map' | 'scalar' {
  let prev: JKind | undefined;
  for (const s of slices) {
    for (const v of s) {
      const k = jkind(v);
      if (prev === undefined) {
        prev = k;
        if (k === 'list') throw new SmpError(ErrNoListOfLists, 422);
      } else if (prev !== k) {
        throw new SmpError(`list element types are not identical: ${goFmt(slices)}`);
      }
    }
  }
  if (prev === undefined) throw new SmpError('no elements in any of the given slices');
  return prev === 'map' ? 'map' : 'scalar';
}

function mergeSlice(originalIn: unknown[], patchIn: unknown[], meta: FieldMeta, isDeleteList: boolean): unknown[] {
  let original = originalIn;
  let patch = patchIn;
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  const mergeKey = meta.key ?? '';
  let merged: unknown[];
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (!mergeKey) throw new SmpError('cannot merge lists without merge key for type map');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, meta.fields);
  }
  const [patchItems, serverOnly] = mergeKey ? partitionMapsByPresentInList(merged, patch, mergeKey) : partitionPrimitivesByPresentInList(merged, patch);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

function mergeSliceWithSpecialElements(originalIn: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  let original = originalIn;
  const without: unknown[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as JObj;
    if (!Object.prototype.hasOwnProperty.call(m, DIRECTIVE)) {
      without.push(v);
      continue;
    }
    const directive = m[DIRECTIVE];
    if (directive === 'delete') {
      if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw new SmpError(errNoMergeKey(m, mergeKey));
      original = original.filter((o) => !(isObj(o) && Object.prototype.hasOwnProperty.call(o, mergeKey) && o[mergeKey] === m[mergeKey]));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive === 'merge') {
      throw new SmpError('merging lists cannot yet be specified in the patch');
    } else {
      throw new SmpError(`unknown patch type: ${goFmt(directive)} in map: ${goFmt(m)}`);
    }
  }
  if (replace) return [without, []];
  return [original, without];
}

function mergeSliceWithoutSpecialElements(originalIn: unknown[], patch: unknown[], mergeKey: string, elem: Schema | undefined): unknown[] {
  const original = [...originalIn];
  for (const v of patch) {
    const m = v as JObj;
    if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw new SmpError(errNoMergeKey(m, mergeKey));
    const idx = findMapInSlice(original, mergeKey, m[mergeKey]);
    if (idx >= 0) original[idx] = mergeMap(original[idx] as JObj, m, elem);
    else original.push(cleanNew(m));
  }
  return original;
}

function findMapInSlice(list: unknown[], key: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isObj(v)) throw new SmpError(`value for key ${i} is not a map.`);
    if (Object.prototype.hasOwnProperty.call(v, key) && v[key] === value) return i;
  }
  return -1;
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const del = new Set(toDelete);
  return current.filter((v) => !del.has(v));
}

/** strategicpatch's deduplicateScalars, including its swap-with-last order. */
function deduplicateScalars(input: unknown[]): unknown[] {
  const s = [...input];
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length];
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

function partitionPrimitivesByPresentInList(list: unknown[], by: unknown[]): [unknown[], unknown[]] {
  const inPatch = new Set(by);
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) (inPatch.has(v) ? patch : serverOnly).push(v);
  return [patch, serverOnly];
}

function partitionMapsByPresentInList(list: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const patch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of list) {
    if (!isObj(v)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeName(v)}`);
    if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw new SmpError(errNoMergeKey(v, mergeKey));
    (findMapInSlice(by, mergeKey, v[mergeKey]) >= 0 ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

function extractToDeleteItems(list: unknown[]): [unknown[], unknown[]] {
  const nonDelete: unknown[] = [];
  const toDelete: unknown[] = [];
  for (const v of list) {
    if (!isObj(v)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeName(v)}`);
    (v[DIRECTIVE] === 'delete' ? toDelete : nonDelete).push(v);
  }
  return [nonDelete, toDelete];
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, kind: 'map' | 'scalar'): number {
  const val = (x: unknown): unknown => (kind === 'map' ? (isObj(x) ? x[mergeKey] : undefined) : x);
  const want = val(item);
  for (let i = 0; i < list.length; i++) if (val(list[i]) === want) return i;
  return -1;
}

function normalizeSliceOrder(toSortIn: unknown[], order: unknown[], mergeKey: string, kind: 'map' | 'scalar'): unknown[] {
  let toSort = toSortIn;
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isObj(item)) throw new SmpError(`expected a map[string]interface {}, but received a ${goTypeName(item)}`);
        if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw new SmpError(errNoMergeKey(item, mergeKey));
      }
    }
    [toSort, toDelete] = extractToDeleteItems(toSort);
  }
  // sort.SliceStable by position in `order`; items not found keep their relative place.
  const sorted = toSort
    .map((v, i) => ({ v, i, at: indexIn(order, v, mergeKey, kind) }))
    .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i))
    .map((x) => x.v);
  return [...sorted, ...toDelete];
}

/** normalizeElementOrder + mergeSortedSlice: server-only items slotted between the patch items. */
function normalizeElementOrder(patchIn: unknown[], serverOnlyIn: unknown[], patchOrder: unknown[], serverOrder: unknown[], mergeKey: string, kind: 'map' | 'scalar'): unknown[] {
  const right = normalizeSliceOrder(patchIn, patchOrder, mergeKey, kind);
  const left = normalizeSliceOrder(serverOnlyIn, serverOrder, mergeKey, kind);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function errNoMergeKey(m: JObj, key: string): string {
  return `map: ${goFmt(m)} does not contain declared merge key: ${key}`;
}

function goTypeName(v: unknown): string {
  switch (jkind(v)) {
    case 'map':
      return 'map[string]interface {}';
    case 'list':
      return '[]interface {}';
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    case 'bool':
      return 'bool';
    case 'null':
      return '<nil>';
  }
}

/** fmt's %v for decoded JSON: map[k:v ...] with sorted keys, [a b] for slices. */
function goFmt(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goFmt).join(' ')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFmt(v[k])}`).join(' ')}]`;
  }
  if (v === null || v === undefined) return '<nil>';
  return String(v);
}
