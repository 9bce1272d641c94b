/**
 * API validation of the kinds ksim models, as kube-apiserver v1.30 runs it after defaulting:
 * the create rules (`validateObject`), the update rules (`validateUpdate`: immutability and what
 * may change) and the 422 text (`invalidMessage`). Pure functions over plain objects; the API
 * server and the scenario loader both call them.
 *
 * Follows, function by function and in the same order, so that errors come out in the order
 * kubectl prints them:
 *   pkg/apis/core/validation/validation.go        (metadata, Pod, PV, PVC, Service, Namespace, Node)
 *   pkg/apis/apps/validation/validation.go        (StatefulSet)
 *   pkg/apis/storage/validation/validation.go     (StorageClass)
 *   k8s.io/apimachinery/pkg/api/validation, .../util/validation (names, labels, messages)
 *   k8s.io/apimachinery/pkg/util/validation/field (the `path: Type: value: detail` wording)
 *
 * Where v1.30 differs from what one might expect, v1.30 wins:
 *   - StatefulSet names are DNS-1123 labels (since v1.26, kubernetes#114172).
 *   - A StatefulSet's pod template spec and volumeClaimTemplates are NOT validated on create
 *     (only labels, annotations, restartPolicy and activeDeadlineSeconds); a bad template shows
 *     up later as FailedCreate when the controller creates the pod or claim. Releases after
 *     v1.33 validate them; `validateStatefulSetTemplates` runs those checks for callers that
 *     want to warn early.
 *   - `revisionHistoryLimit` of a StatefulSet is immutable in v1.30.
 *   - A negative pod terminationGracePeriodSeconds is not an error (defaulting turns it to 1).
 * ksim's own limits, worded like Kubernetes' NotSupported errors: a volume source ksim does not
 * model (`spec.volumes[i]: Unsupported value: "configMap": supported values: ...`), and an
 * emptyDir medium other than "" or "Memory".
 *
 * Multi-line messages (the `cmp.Diff` Kubernetes appends to "spec is immutable" errors) are
 * cut to their first line; Go `%#v` renderings of structs are reproduced for the common cases.
 */
import type { KObject } from '../protocol.ts';
import { parseQuantity } from '../quantity.ts';
import { matchesLabelSelector } from './selectors.ts';
import { RESOURCES, deepCopy, isNamespaced } from './objects.ts';

export interface FieldError {
  path: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// field.Error wording (k8s.io/apimachinery/pkg/util/validation/field/errors.go)

/** A value printed as Go's `%#v` would: the text is used as is. */
interface GoSyntax {
  go: string;
}
type BadValue = string | number | boolean | null | undefined | GoSyntax;

/** strconv.Quote for the characters that matter here. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

function showValue(v: BadValue): string {
  if (v === null || v === undefined) return goQuote('null');
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v.go;
}

function withDetail(s: string, detail: string): string {
  return detail ? `${s}: ${detail}` : s;
}

const required = (path: string, detail = ''): FieldError => ({ path, message: withDetail('Required value', detail) });
const forbidden = (path: string, detail: string): FieldError => ({ path, message: withDetail('Forbidden', detail) });
const invalid = (path: string, value: BadValue, detail: string): FieldError => ({
  path,
  message: withDetail(`Invalid value: ${showValue(value)}`, detail),
});
const duplicate = (path: string, value: BadValue, detail = ''): FieldError => ({
  path,
  message: withDetail(`Duplicate value: ${showValue(value)}`, detail),
});
const notFound = (path: string, value: BadValue): FieldError => ({ path, message: `Not found: ${showValue(value)}` });
const tooLong = (path: string, max: number): FieldError => ({ path, message: `Too long: must have at most ${max} bytes` });
function notSupported(path: string, value: BadValue, valid: readonly string[]): FieldError {
  const detail = valid.length ? 'supported values: ' + valid.map((v) => goQuote(v)).join(', ') : '';
  return { path, message: withDetail(`Unsupported value: ${showValue(value)}`, detail) };
}

/** field.Path: `a.b`, `a[0]`, `a[key]`. */
function child(p: string, ...names: string[]): string {
  let out = p;
  for (const n of names) {
    if (n === '') continue;
    out = out === '' ? n : `${out}.${n}`;
  }
  return out;
}
const index = (p: string, i: number): string => `${p}[${i}]`;
const key = (p: string, k: string): string => `${p}[${k}]`;

/** Go's `%#v` of a map[string]string: keys sorted, `{"k":"v", "k2":"v2"}`. */
function goStringMap(m: unknown, typeName = 'map[string]string'): GoSyntax {
  if (m === undefined || m === null) return { go: `${typeName}(nil)` };
  const entries = Object.entries(m as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { go: `${typeName}{${entries.map(([k, v]) => `${goQuote(k)}:${goQuote(String(v))}`).join(', ')}}` };
}

function goStringSlice(a: unknown, typeName = '[]string'): GoSyntax {
  if (!Array.isArray(a)) return { go: `${typeName}(nil)` };
  return { go: `${typeName}{${a.map((s) => goQuote(String(s))).join(', ')}}` };
}

// ---------------------------------------------------------------------------------------------
// Small readers over untyped manifests.

type Obj = Record<string, any>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const obj = (x: unknown): Obj => (isObj(x) ? x : {});
const arr = (x: unknown): any[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string => (typeof x === 'string' ? x : x === undefined || x === null ? '' : String(x));
const has = (o: Obj, k: string): boolean => o[k] !== undefined && o[k] !== null;
const sortedKeys = (o: Obj): string[] => Object.keys(o).sort();

// ---------------------------------------------------------------------------------------------
// Names and label syntax (k8s.io/apimachinery/pkg/util/validation/validation.go)

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = msg + ' (e.g. ';
  examples.forEach((e, i) => {
    if (i > 0) out += ' or ';
    out += `'${e}', `;
  });
  return out + `regex used for validation is '${fmt}')`;
}
const maxLenError = (n: number): string => `must be no more than ${n} characters`;
const EMPTY_ERROR = 'must be non-empty';

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + '(\\.' + DNS1123_LABEL_FMT + ')*';
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_MSG = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = '(' + QUALIFIED_NAME_FMT + ')?';
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

const reDNS1123Label = new RegExp('^' + DNS1123_LABEL_FMT + '$');
const reDNS1123Subdomain = new RegExp('^' + DNS1123_SUBDOMAIN_FMT + '$');
const reDNS1035Label = new RegExp('^' + DNS1035_LABEL_FMT + '$');
const reQualifiedName = new RegExp('^' + QUALIFIED_NAME_FMT + '$');
const reLabelValue = new RegExp('^' + LABEL_VALUE_FMT + '$');

export function isDNS1123Label(v: string): string[] {
  if (validLabels.has(v)) return [];
  const errs = dns1123LabelErrors(v);
  if (errs.length === 0) rememberValid(validLabels, v);
  return errs;
}

function dns1123LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!reDNS1123Label.test(v)) {
    // A valid subdomain that is not a valid label: since length was checked, it must be dots.
    if (reDNS1123Subdomain.test(v)) errs.push('must not contain dots');
    else errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  if (validSubdomains.has(v)) return [];
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!reDNS1123Subdomain.test(v)) errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  if (errs.length === 0) rememberValid(validSubdomains, v);
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!reDNS1035Label.test(v)) errs.push(regexError(DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  return errs;
}

/**
 * Names already found valid (a pure result, remembered): the same annotation keys, label keys,
 * finalizers, namespaces and object names come back on every write of an object. Bounded, so a
 * long run cannot grow them without end.
 */
const validQualifiedNames = new Set<string>();
const validLabelValues = new Set<string>();
const validLabels = new Set<string>();
const validSubdomains = new Set<string>();
const VALID_NAMES_MAX = 4096;
function rememberValid(set: Set<string>, v: string): void {
  if (set.size >= VALID_NAMES_MAX) set.clear();
  set.add(v);
}

export function isQualifiedName(v: string): string[] {
  if (validQualifiedNames.has(v)) return [];
  const errs = qualifiedNameErrors(v);
  if (errs.length === 0) rememberValid(validQualifiedNames, v);
  return errs;
}

function qualifiedNameErrors(v: string): string[] {
  const errs: string[] = [];
  // The common case first: a short name without a prefix.
  if (v.length > 0 && v.length <= 63 && reQualifiedName.test(v)) return errs;
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part ' + EMPTY_ERROR);
    else errs.push(...isDNS1123Subdomain(prefix).map((m) => 'prefix part ' + m));
  } else {
    return [
      'a qualified name ' +
        regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc') +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part ' + EMPTY_ERROR);
  else if (name.length > 63) errs.push('name part ' + maxLenError(63));
  if (!reQualifiedName.test(name)) errs.push('name part ' + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc'));
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  if (validLabelValues.has(v)) return [];
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!reLabelValue.test(v)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  if (errs.length === 0) rememberValid(validLabelValues, v);
  return errs;
}

function isValidPortName(p: string): string[] {
  const errs: string[] = [];
  if (p.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(p)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(p)) errs.push('must contain at least one letter (a-z)');
  if (p.includes('--')) errs.push('must not contain consecutive hyphens');
  if (p.length > 0 && (p.startsWith('-') || p.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;
const isValidPortNum = (n: number): string[] => (Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)]);

/** netutils.ParseIPSloppy: dotted quad (leading zeros allowed) or IPv6. */
export function ipFamilyOf(ip: string): 'IPv4' | 'IPv6' | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) ? 'IPv4' : undefined;
  if (!ip.includes(':') || /[^0-9a-fA-F:.]/.test(ip)) return undefined;
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] | undefined => {
    if (h === '') return [];
    const g = h.split(':');
    return g.every((x) => /^[0-9a-fA-F]{1,4}$/.test(x) || /^\d{1,3}(\.\d{1,3}){3}$/.test(x)) ? g : undefined;
  };
  const a = groups(halves[0]!);
  const b = halves.length === 2 ? groups(halves[1]!) : [];
  if (!a || !b) return undefined;
  const all = [...a, ...b];
  const width = all.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  if (all.slice(0, -1).some((g) => g.includes('.'))) return undefined;
  if (halves.length === 2 ? width > 7 : width !== 8) return undefined;
  return 'IPv6';
}
const VALID_IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

function dns1123Label(v: string, path: string): FieldError[] {
  return isDNS1123Label(v).map((m) => invalid(path, v, m));
}
function dns1123Subdomain(v: string, path: string): FieldError[] {
  return isDNS1123Subdomain(v).map((m) => invalid(path, v, m));
}
function qualifiedName(v: string, path: string): FieldError[] {
  return isQualifiedName(v).map((m) => invalid(path, v, m));
}
function nonNegative(v: unknown, path: string): FieldError[] {
  return typeof v === 'number' && v < 0 ? [invalid(path, v, 'must be greater than or equal to 0')] : [];
}

/** ValidateLabels: keys are qualified names, values label values; both reported at `path`. */
function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const l = obj(labels);
  let valid = true;
  for (const k in l) {
    if (isQualifiedName(k).length > 0 || isValidLabelValue(str(l[k])).length > 0) {
      valid = false;
      break;
    }
  }
  if (valid) return errs;
  for (const k of sortedKeys(l)) {
    for (const m of isQualifiedName(k)) errs.push(invalid(path, k, m));
    const v = str(l[k]);
    for (const m of isValidLabelValue(v)) errs.push(invalid(path, v, m));
  }
  return errs;
}

/** ValidateAnnotations: keys are qualified names (case-insensitive); at most 256 KiB in total. */
function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const a = obj(annotations);
  let size = 0;
  let valid = true;
  for (const k in a) {
    if (isQualifiedName(k.toLowerCase()).length > 0) valid = false;
    size += k.length + str(a[k]).length;
  }
  if (valid) return size > 256 * 1024 ? [tooLong(path, 256 * 1024)] : errs;
  size = 0;
  for (const k of sortedKeys(a)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m));
    size += k.length + str(a[k]).length;
  }
  if (size > 256 * 1024) errs.push(tooLong(path, 256 * 1024));
  return errs;
}

/** ValidateLabelSelector (metav1 validation). */
function validateLabelSelector(sel: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s = obj(sel);
  errs.push(...validateLabels(s.matchLabels, child(path, 'matchLabels')));
  arr(s.matchExpressions).forEach((e, i) => {
    const p = index(child(path, 'matchExpressions'), i);
    const r = obj(e);
    const values = arr(r.values);
    switch (r.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(child(p, 'operator'), str(r.operator), 'not a valid selector operator'));
    }
    errs.push(...qualifiedName(str(r.key), child(p, 'key')));
    values.forEach((v, j) => errs.push(...isValidLabelValue(str(v)).map((m) => invalid(index(child(p, 'values'), j), str(v), m))));
  });
  return errs;
}

/** Go's `%#v` of a *metav1.LabelSelector after dereferencing. */
function goLabelSelector(sel: unknown): GoSyntax {
  const s = obj(sel);
  const exprs = Array.isArray(s.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map((e: unknown) => {
          const r = obj(e);
          return `v1.LabelSelectorRequirement{Key:${goQuote(str(r.key))}, Operator:${goQuote(str(r.operator))}, Values:${goStringSlice(r.values).go}}`;
        })
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return { go: `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels).go}, MatchExpressions:${exprs}}` };
}

// ---------------------------------------------------------------------------------------------
// ObjectMeta (apimachinery ValidateObjectMeta / ValidateObjectMetaUpdate)

type NameFn = (name: string, prefix: boolean) => string[];
/** NameIsDNS...: a generateName prefix may end with '-' (maskTrailingDash). */
const nameFn =
  (check: (v: string) => string[]): NameFn =>
  (name, prefix) =>
    check(prefix && name.length > 1 && name.endsWith('-') ? name.slice(0, -1) + 'a' : name);
const NAME_SUBDOMAIN = nameFn(isDNS1123Subdomain);
const NAME_LABEL = nameFn(isDNS1123Label);
const NAME_DNS1035 = nameFn(isDNS1035Label);

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const raw = arr(finalizers);
  // The common case: a few qualified, prefixed names, each once.
  let common = true;
  for (const f of raw) {
    if (typeof f !== 'string' || !f.includes('/') || isQualifiedName(f).length > 0) {
      common = false;
      break;
    }
  }
  if (common) return errs;
  const list = raw.map(str);
  for (const f of list) errs.push(...qualifiedName(f, path));
  if (list.includes('orphan') && list.includes('foregroundDeletion'))
    errs.push(invalid(path, { go: goStringSlice(list).go }, "finalizer orphan and foregroundDeletion cannot be both set"));
  // validateKubeFinalizerName: an unqualified finalizer must be a standard one.
  list.forEach((f, i) => {
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f))
      errs.push(invalid(index(path, i), f, 'name is neither a standard finalizer name nor is it fully qualified'));
  });
  return errs;
}

/**
 * The namespace of a namespaced object comes from the request path (the API server and the
 * loader fill it, as kubectl does); a cluster-scoped object's namespace is cleared before
 * validation. So only the format of a given namespace is checked here.
 */
/** ValidateOwnerReferences (apimachinery api/validation/objectmeta.go), errors at the list's path without an index. */
function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const r of arr(refs)) {
    const ref = obj(r);
    const apiVersion = str(ref.apiVersion);
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) errs.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (!str(ref.kind)) errs.push(invalid(child(path, 'kind'), str(ref.kind), 'kind must not be empty'));
    if (!str(ref.name)) errs.push(invalid(child(path, 'name'), str(ref.name), 'name must not be empty'));
    if (!str(ref.uid)) errs.push(invalid(child(path, 'uid'), str(ref.uid), 'uid must not be empty'));
  }
  return errs;
}

function validateObjectMeta(o: KObject, fn: NameFn, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const m = obj(o.metadata);
  const name = str(m.name);
  const generateName = str(m.generateName);
  if (generateName) for (const msg of fn(generateName, true)) errs.push(invalid('metadata.generateName', generateName, msg));
  if (!name) {
    if (!generateName) errs.push(required('metadata.name', 'name or generateName is required'));
  } else for (const msg of fn(name, false)) errs.push(invalid('metadata.name', name, msg));
  if (namespaced && m.namespace) {
    const ns = str(m.namespace);
    for (const msg of NAME_LABEL(ns, false)) errs.push(invalid('metadata.namespace', ns, msg));
  }
  if (typeof m.generation === 'number' && m.generation < 0) errs.push(...nonNegative(m.generation, 'metadata.generation'));
  if (m.labels !== undefined) errs.push(...validateLabels(m.labels, 'metadata.labels'));
  if (m.annotations !== undefined) errs.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  if (m.ownerReferences !== undefined) errs.push(...validateOwnerReferences(m.ownerReferences, 'metadata.ownerReferences'));
  if (m.finalizers !== undefined) errs.push(...validateFinalizers(m.finalizers, 'metadata.finalizers'));
  return errs;
}

function validateObjectMetaUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const n = obj(next.metadata);
  const o = obj(old.metadata);
  // Finalizers cannot be added to an object that is being deleted.
  if (o.deletionTimestamp) {
    const before = new Set(arr(o.finalizers).map(str));
    const extra = [...new Set(arr(n.finalizers).map(str))].filter((f) => !before.has(f)).sort();
    if (extra.length)
      errs.push(forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra).go}`));
  }
  if (typeof n.generation === 'number' && typeof o.generation === 'number' && n.generation < o.generation)
    errs.push(invalid('metadata.generation', n.generation, 'must not be decremented'));
  immutableMeta(errs, n, o, 'name', false);
  immutableMeta(errs, n, o, 'namespace', false);
  // rest.BeforeUpdate fills a missing uid and ignores creationTimestamp changes; a different uid is an error.
  immutableMeta(errs, n, o, 'uid', true);
  if (n.labels !== undefined) errs.push(...validateLabels(n.labels, 'metadata.labels'));
  if (n.annotations !== undefined) errs.push(...validateAnnotations(n.annotations, 'metadata.annotations'));
  return errs;
}

function immutableMeta(errs: FieldError[], n: Obj, o: Obj, k: string, emptyMeansUnchanged: boolean): void {
  const a = str(n[k]);
  const b = str(o[k]);
  if (emptyMeansUnchanged && a === '') return;
  if (a !== b) errs.push(invalid(`metadata.${k}`, a, 'field is immutable'));
}

// ---------------------------------------------------------------------------------------------
// Semantic equality (apiequality.Semantic.DeepEqual: nil and empty slices/maps are equal).

function isEmptyish(x: unknown): boolean {
  if (x === undefined || x === null) return true;
  if (Array.isArray(x)) return x.length === 0;
  if (!isObj(x)) return false;
  for (const k of Object.keys(x)) if (x[k] !== undefined) return false;
  return true;
}

/** One field of two objects: a missing value equals an empty one (see semanticEqual). */
function fieldEqual(x: unknown, y: unknown): boolean {
  if ((x === undefined || x === null) !== (y === undefined || y === null)) {
    // A missing field equals an empty list/map, not an empty struct pointer; manifests do
    // not tell those apart, so treat an absent value like an empty one of either kind.
    return isEmptyish(x) && isEmptyish(y);
  }
  return semanticEqual(x, y);
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b && (typeof a !== 'object' || a === null)) return true;
  if (isEmptyish(a) && isEmptyish(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!semanticEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObj(a) && isObj(b)) {
    // Every key of either object, each once.
    for (const k of Object.keys(a)) if (!fieldEqual(a[k], b[k])) return false;
    for (const k of Object.keys(b)) if (!Object.prototype.hasOwnProperty.call(a, k) && !fieldEqual(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}

// ---------------------------------------------------------------------------------------------
// Volumes

/** Volume sources in the order validateVolumeSource checks them. */
const POD_VOLUME_SOURCES = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flocker', 'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'quobyte', 'downwardAPI', 'fc', 'flexVolume', 'configMap',
  'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'storageos', 'projected', 'scaleIO',
  'csi', 'ephemeral', 'image',
] as const;
/** PersistentVolumeSource fields, in the order ValidatePersistentVolumeSpec checks them. */
const PV_VOLUME_SOURCES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'glusterfs', 'flocker', 'nfs', 'rbd', 'quobyte', 'cephfs', 'iscsi',
  'cinder', 'fc', 'flexVolume', 'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'scaleIO',
  'local', 'storageos', 'csi',
] as const;
/** The sources ksim simulates (SPEC.md §1); any other is rejected. */
export const MODELLED_POD_VOLUME_SOURCES = ['csi', 'emptyDir', 'hostPath', 'nfs', 'persistentVolumeClaim', 'rbd'] as const;
export const MODELLED_PV_VOLUME_SOURCES = ['csi', 'hostPath', 'local', 'nfs', 'rbd'] as const;

/** The volume source fields present on a volume (or PV spec), in check order. */
export function volumeSourcesOf(v: unknown, forPV = false): string[] {
  const o = obj(v);
  return (forPV ? PV_VOLUME_SOURCES : POD_VOLUME_SOURCES).filter((k) => has(o, k));
}

export const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'] as const;

function validatePathNoBacksteps(p: string, path: string): FieldError[] {
  return p.replace(/\\/g, '/').split('/').includes('..') ? [invalid(path, p, "must not contain '..'")] : [];
}

function validateLocalDescendingPath(p: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (p.startsWith('/')) errs.push(invalid(path, p, 'must be a relative path'));
  return [...errs, ...validatePathNoBacksteps(p, path)];
}

function validateHostPath(hp: Obj, path: string): FieldError[] {
  const p = str(hp.path);
  if (!p) return [required(child(path, 'path'))];
  const errs = validatePathNoBacksteps(p, child(path, 'path'));
  if (hp.type !== undefined && hp.type !== null && !(HOST_PATH_TYPES as readonly string[]).includes(str(hp.type)))
    errs.push(notSupported(child(path, 'type'), str(hp.type), HOST_PATH_TYPES));
  return errs;
}

function validateNFS(nfs: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!str(nfs.server)) errs.push(required(child(path, 'server')));
  const p = str(nfs.path);
  if (!p) errs.push(required(child(path, 'path')));
  if (!p.startsWith('/')) errs.push(invalid(child(path, 'path'), p, 'must be an absolute path'));
  return errs;
}

function validateRBD(rbd: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (arr(rbd.monitors).length === 0) errs.push(required(child(path, 'monitors')));
  if (!str(rbd.image)) errs.push(required(child(path, 'image')));
  return errs;
}

function validateCSIDriverName(driver: string, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!driver) errs.push(required(path));
  if (driver.length > 63) errs.push(tooLong(path, 63));
  errs.push(...isDNS1123Subdomain(driver.toLowerCase()).map((m) => invalid(path, driver, m)));
  return errs;
}

function validateSecretRef(ref: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(ref.name);
  if (!name) errs.push(required(child(path, 'name')));
  else errs.push(...dns1123Subdomain(name, child(path, 'name')));
  const ns = str(ref.namespace);
  if (!ns) errs.push(required(child(path, 'namespace')));
  else errs.push(...dns1123Label(ns, child(path, 'namespace')));
  return errs;
}

function validateQuantityField(value: unknown, path: string): { errs: FieldError[]; n?: number } {
  const q = parseQuantity(value);
  if (typeof q === 'string') return { errs: [invalid(path, str(value), q)] };
  return { errs: [], n: q };
}

/** One pod volume's source: exactly one, and one ksim models. */
function validateVolumeSource(v: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let count = 0;
  for (const src of POD_VOLUME_SOURCES) {
    if (!has(v, src)) continue;
    if (count > 0) {
      errs.push(forbidden(child(path, src), 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    const s = obj(v[src]);
    const p = child(path, src);
    switch (src) {
      case 'emptyDir': {
        if (s.sizeLimit !== undefined && s.sizeLimit !== null) {
          const q = validateQuantityField(s.sizeLimit, child(p, 'sizeLimit'));
          errs.push(...q.errs);
          if (q.n !== undefined && q.n < 0) errs.push(forbidden(child(p, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
        }
        // ksim models tmpfs and disk emptyDirs only (HugePages media are not simulated).
        const medium = str(s.medium);
        if (medium !== '' && medium !== 'Memory') errs.push(notSupported(child(p, 'medium'), medium, ['', 'Memory']));
        break;
      }
      case 'hostPath':
        errs.push(...validateHostPath(s, p));
        break;
      case 'persistentVolumeClaim':
        if (!str(s.claimName)) errs.push(required(child(p, 'claimName')));
        break;
      case 'nfs':
        errs.push(...validateNFS(s, p));
        break;
      case 'rbd':
        errs.push(...validateRBD(s, p));
        break;
      case 'csi': {
        errs.push(...validateCSIDriverName(str(s.driver), child(p, 'driver')));
        if (isObj(s.nodePublishSecretRef)) {
          const n = str(s.nodePublishSecretRef.name);
          if (!n) errs.push(required(child(p, 'nodePublishSecretRef', 'name')));
          else errs.push(...isDNS1123Subdomain(n).map((m) => invalid(child(p, 'name'), n, m)));
        }
        break;
      }
      default:
        errs.push(notSupported(path, src, MODELLED_POD_VOLUME_SOURCES));
    }
  }
  if (count === 0) errs.push(required(path, 'must specify a volume type'));
  return errs;
}

/** ValidateVolumes: returns the names of the volumes that passed (mounts may only name those). */
function validateVolumes(volumes: unknown, path: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  arr(volumes).forEach((raw, i) => {
    const v = obj(raw);
    const p = index(path, i);
    const name = str(v.name);
    const el = validateVolumeSource(v, p);
    if (!name) el.push(required(child(p, 'name')));
    else el.push(...dns1123Label(name, child(p, 'name')));
    if (names.has(name)) el.push(duplicate(child(p, 'name'), name));
    if (el.length === 0) names.add(name);
    else errs.push(...el);
  });
  return { errs, names };
}

// ---------------------------------------------------------------------------------------------
// Containers and pod spec

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validateContainerPorts(ports: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  arr(ports).forEach((raw, i) => {
    const port = obj(raw);
    const p = index(path, i);
    const name = str(port.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length) errs.push(...msgs.map((m) => invalid(child(p, 'name'), name, m)));
      else if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      else names.add(name);
    }
    const cp = port.containerPort;
    if (!cp) errs.push(required(child(p, 'containerPort')));
    else errs.push(...isValidPortNum(Number(cp)).map((m) => invalid(child(p, 'containerPort'), Number(cp), m)));
    if (port.hostPort) errs.push(...isValidPortNum(Number(port.hostPort)).map((m) => invalid(child(p, 'hostPort'), Number(port.hostPort), m)));
    const proto = str(port.protocol);
    if (!proto) errs.push(required(child(p, 'protocol')));
    else if (!PROTOCOLS.includes(proto)) errs.push(notSupported(child(p, 'protocol'), proto, PROTOCOLS));
  });
  return errs;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const mountPoints = new Set<string>();
  arr(mounts).forEach((raw, i) => {
    const m = obj(raw);
    const p = index(path, i);
    const name = str(m.name);
    if (!name) errs.push(required(child(p, 'name')));
    if (!volumes.has(name)) errs.push(notFound(child(p, 'name'), name));
    const mp = str(m.mountPath);
    if (!mp) errs.push(required(child(p, 'mountPath')));
    if (mountPoints.has(mp)) errs.push(invalid(child(p, 'mountPath'), mp, 'must be unique'));
    mountPoints.add(mp);
    // Upstream reports subPath problems at `volumeMounts.subPath` (the list's path, not the item's).
    if (str(m.subPath)) errs.push(...validateLocalDescendingPath(str(m.subPath), child(path, 'subPath')));
  });
  return errs;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

function validateContainerCommon(c: Obj, volumes: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(c.name);
  if (!name) errs.push(required(child(path, 'name')));
  else errs.push(...dns1123Label(name, child(path, 'name')));
  if (!str(c.image)) errs.push(required(child(path, 'image')));
  const tmp = str(c.terminationMessagePolicy);
  if (!tmp) errs.push(required(child(path, 'terminationMessagePolicy')));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError')
    errs.push(notSupported(child(path, 'terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  errs.push(...validateContainerPorts(c.ports, child(path, 'ports')));
  errs.push(...validateVolumeMounts(c.volumeMounts, volumes, child(path, 'volumeMounts')));
  const pull = str(c.imagePullPolicy);
  if (!pull) errs.push(required(child(path, 'imagePullPolicy')));
  else if (!PULL_POLICIES.includes(pull)) errs.push(notSupported(child(path, 'imagePullPolicy'), pull, PULL_POLICIES));
  return errs;
}

/** checkHostPortConflicts: one protocol/hostIP/hostPort per pod. */
function checkHostPortConflicts(containers: any[], path: string, seen = new Set<string>()): FieldError[] {
  const errs: FieldError[] = [];
  containers.forEach((raw, ci) => {
    arr(obj(raw).ports).forEach((pr, pi) => {
      const port = obj(pr);
      if (!port.hostPort) return;
      const k = `${str(port.protocol)}/${str(port.hostIP)}/${Number(port.hostPort)}`;
      if (seen.has(k)) errs.push(duplicate(child(index(child(index(path, ci), 'ports'), pi), 'hostPort'), k));
      else seen.add(k);
    });
  });
  return errs;
}

function validateContainers(containers: unknown, volumes: Set<string>, path: string): FieldError[] {
  const list = arr(containers);
  if (list.length === 0) return [required(path)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((raw, i) => {
    const c = obj(raw);
    const p = index(path, i);
    errs.push(...validateContainerCommon(c, volumes, p));
    const name = str(c.name);
    if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else names.add(name);
    if (has(c, 'restartPolicy')) errs.push(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  return [...errs, ...checkHostPortConflicts(list, path)];
}

function validateInitContainers(init: unknown, regular: unknown, volumes: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set(arr(regular).map((c) => str(obj(c).name)));
  arr(init).forEach((raw, i) => {
    const c = obj(raw);
    const p = index(path, i);
    errs.push(...validateContainerCommon(c, volumes, p));
    const restartAlways = c.restartPolicy === 'Always';
    if (has(c, 'restartPolicy') && !restartAlways) errs.push(notSupported(child(p, 'restartPolicy'), str(c.restartPolicy), ['Always']));
    const name = str(c.name);
    if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else if (name) names.add(name);
    errs.push(...checkHostPortConflicts([c], path));
    if (!restartAlways)
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'])
        if (has(c, f)) errs.push(forbidden(child(p, f), 'may not be set for init containers without restartPolicy=Always'));
  });
  return errs;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(tolerations).forEach((raw, i) => {
    const t = obj(raw);
    const p = index(path, i);
    const k = str(t.key);
    const op = str(t.operator);
    const effect = str(t.effect);
    if (k) errs.push(...qualifiedName(k, child(p, 'key')));
    if (!k && op !== 'Exists')
      errs.push(invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (has(t, 'tolerationSeconds') && effect !== 'NoExecute')
      errs.push(invalid(child(p, 'effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    switch (op) {
      case 'Equal':
      case '': {
        const msgs = isValidLabelValue(str(t.value));
        if (msgs.length) errs.push(invalid(child(p, 'operator'), str(t.value), msgs.join(';')));
        break;
      }
      case 'Exists':
        if (str(t.value)) errs.push(invalid(child(p, 'operator'), str(t.value), "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    }
    if (effect && !TAINT_EFFECTS.includes(effect)) errs.push(notSupported(child(p, 'effect'), effect, TAINT_EFFECTS));
  });
  return errs;
}

function validateNodeSelectorRequirement(r: Obj, path: string, checkValues: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const values = arr(r.values);
  switch (r.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(child(path, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(child(path, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(required(child(path, 'values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(child(path, 'operator'), str(r.operator), 'not a valid selector operator'));
  }
  errs.push(...qualifiedName(str(r.key), child(path, 'key')));
  if (checkValues) values.forEach((v, j) => errs.push(...isValidLabelValue(str(v)).map((m) => invalid(index(child(path, 'values'), j), str(v), m))));
  return errs;
}

function validateNodeSelectorTerm(term: Obj, path: string, checkValues: boolean): FieldError[] {
  const errs: FieldError[] = [];
  arr(term.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(obj(r), index(child(path, 'matchExpressions'), j), checkValues)));
  arr(term.matchFields).forEach((raw, j) => {
    const r = obj(raw);
    const p = index(child(path, 'matchFields'), j);
    if (r.operator === 'In' || r.operator === 'NotIn') {
      if (arr(r.values).length !== 1) errs.push(required(child(p, 'values'), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else errs.push(invalid(child(p, 'operator'), str(r.operator), 'not a valid selector operator'));
    if (str(r.key) !== 'metadata.name') errs.push(invalid(child(p, 'key'), str(r.key), 'not a valid field selector key'));
    else arr(r.values).forEach((v, k) => errs.push(...NAME_SUBDOMAIN(str(v), false).map((m) => invalid(index(child(p, 'values'), k), str(v), m))));
  });
  return errs;
}

function validateNodeSelector(sel: Obj, path: string): FieldError[] {
  const terms = arr(sel.nodeSelectorTerms);
  const p = child(path, 'nodeSelectorTerms');
  if (terms.length === 0) return [required(p, 'must have at least one node selector term')];
  return terms.flatMap((t, i) => validateNodeSelectorTerm(obj(t), index(p, i), true));
}

function validatePodAffinityTerm(term: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (has(term, 'labelSelector')) errs.push(...validateLabelSelector(term.labelSelector, child(path, 'labelSelector')));
  for (const ns of arr(term.namespaces)) errs.push(...NAME_LABEL(str(ns), false).map((m) => invalid(child(path, 'namespace'), str(ns), m)));
  const tk = str(term.topologyKey);
  if (!tk) errs.push(required(child(path, 'topologyKey'), 'can not be empty'));
  errs.push(...qualifiedName(tk, child(path, 'topologyKey')));
  return errs;
}

function validateAffinity(aff: unknown, path: string): FieldError[] {
  if (!isObj(aff)) return [];
  const errs: FieldError[] = [];
  if (isObj(aff.nodeAffinity)) {
    const na = aff.nodeAffinity;
    const p = child(path, 'nodeAffinity');
    if (isObj(na.requiredDuringSchedulingIgnoredDuringExecution))
      errs.push(...validateNodeSelector(na.requiredDuringSchedulingIgnoredDuringExecution, child(p, 'requiredDuringSchedulingIgnoredDuringExecution')));
    arr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((raw, i) => {
      const t = obj(raw);
      const tp = index(child(p, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      const w = Number(t.weight ?? 0);
      if (!(w > 0 && w <= 100)) errs.push(invalid(child(tp, 'weight'), w, 'must be in the range 1-100'));
      errs.push(...validateNodeSelectorTerm(obj(t.preference), child(tp, 'preference'), false));
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    if (!isObj(aff[kind])) continue;
    const pa = aff[kind];
    const p = child(path, kind);
    arr(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
      errs.push(...validatePodAffinityTerm(obj(t), index(child(p, 'requiredDuringSchedulingIgnoredDuringExecution'), i))),
    );
    arr(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((raw, i) => {
      const t = obj(raw);
      const tp = index(child(p, 'preferredDuringSchedulingIgnoredDuringExecution'), i);
      const w = Number(t.weight ?? 0);
      if (!(w > 0 && w <= 100)) errs.push(invalid(child(tp, 'weight'), w, 'must be in the range 1-100'));
      errs.push(...validatePodAffinityTerm(obj(t.podAffinityTerm), child(tp, 'podAffinityTerm')));
    });
  }
  return errs;
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

/** ValidatePodSpec, for a pod or (with `extraVolumes`) a template the StatefulSet controller completes. */
function validatePodSpec(specRaw: unknown, path: string, extraVolumes: readonly string[] = []): FieldError[] {
  const spec = obj(specRaw);
  const errs: FieldError[] = [];
  if (!has(spec, 'terminationGracePeriodSeconds')) errs.push(required(child(path, 'terminationGracePeriodSeconds')));
  const vols = validateVolumes(spec.volumes, child(path, 'volumes'));
  errs.push(...vols.errs);
  for (const v of extraVolumes) vols.names.add(v);
  errs.push(...validateContainers(spec.containers, vols.names, child(path, 'containers')));
  errs.push(...validateInitContainers(spec.initContainers, spec.containers, vols.names, child(path, 'initContainers')));
  const rp = str(spec.restartPolicy);
  if (!rp) errs.push(required(child(path, 'restartPolicy')));
  else if (!RESTART_POLICIES.includes(rp)) errs.push(notSupported(child(path, 'restartPolicy'), rp, RESTART_POLICIES));
  const dp = str(spec.dnsPolicy);
  if (!dp) errs.push(required(child(path, 'dnsPolicy')));
  else if (!DNS_POLICIES.includes(dp)) errs.push(notSupported(child(path, 'dnsPolicy'), dp, DNS_POLICIES));
  errs.push(...validateLabels(spec.nodeSelector, child(path, 'nodeSelector')));
  errs.push(...validateAffinity(spec.affinity, child(path, 'affinity')));
  if (dp === 'None') {
    const dc = spec.dnsConfig;
    if (!isObj(dc)) errs.push(required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
    else if (arr(dc.nameservers).length === 0)
      errs.push(required(child(path, 'dnsConfig', 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  }
  if (spec.serviceAccountName) errs.push(...NAME_SUBDOMAIN(str(spec.serviceAccountName), false).map((m) => invalid(child(path, 'serviceAccountName'), str(spec.serviceAccountName), m)));
  if (spec.nodeName) errs.push(...NAME_SUBDOMAIN(str(spec.nodeName), false).map((m) => invalid(child(path, 'nodeName'), str(spec.nodeName), m)));
  if (has(spec, 'activeDeadlineSeconds')) {
    const v = Number(spec.activeDeadlineSeconds);
    if (v < 1 || v > 2147483647) errs.push(invalid(child(path, 'activeDeadlineSeconds'), v, inclusiveRangeError(1, 2147483647)));
  }
  if (spec.hostname) errs.push(...dns1123Label(str(spec.hostname), child(path, 'hostname')));
  if (spec.subdomain) errs.push(...dns1123Label(str(spec.subdomain), child(path, 'subdomain')));
  errs.push(...validateTolerations(spec.tolerations, child(path, 'tolerations')));
  if (spec.priorityClassName) errs.push(...NAME_SUBDOMAIN(str(spec.priorityClassName), false).map((m) => invalid(child(path, 'priorityClassName'), str(spec.priorityClassName), m)));
  return errs;
}

function validatePod(pod: KObject): FieldError[] {
  const errs = validateObjectMeta(pod, NAME_SUBDOMAIN, true);
  errs.push(...validatePodSpec(pod.spec, 'spec'));
  // validateContainersOnlyForPod: an image with surrounding spaces only breaks real pods.
  for (const list of ['containers', 'initContainers'])
    arr(obj(pod.spec)[list]).forEach((c, i) => {
      const img = str(obj(c).image);
      if (img !== img.trim()) errs.push(invalid(child(index(`spec.${list}`, i), 'image'), img, 'must not have leading or trailing whitespace'));
    });
  return errs;
}

const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function validatePodUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = obj(next.spec);
  const os = obj(old.spec);
  for (const list of ['containers', 'initContainers']) {
    const a = arr(ns[list]);
    const b = arr(os[list]);
    if (a.length !== b.length) return [...errs, forbidden(`spec.${list}`, 'pod updates may not add or remove containers')];
    a.forEach((c, i) => {
      if (!str(obj(c).image)) errs.push(required(child(index(`spec.${list}`, i), 'image')));
    });
  }
  if (has(ns, 'activeDeadlineSeconds')) {
    const v = Number(ns.activeDeadlineSeconds);
    if (v < 0 || v > 2147483647) return [...errs, invalid('spec.activeDeadlineSeconds', v, inclusiveRangeError(0, 2147483647))];
    if (has(os, 'activeDeadlineSeconds') && Number(os.activeDeadlineSeconds) < v)
      return [...errs, invalid('spec.activeDeadlineSeconds', v, 'must be less than or equal to previous value')];
  } else if (has(os, 'activeDeadlineSeconds')) errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  // validateOnlyAddedTolerations: every old toleration is still there (tolerationSeconds may change).
  const nt = arr(ns.tolerations);
  for (const o of arr(os.tolerations)) {
    const found = nt.some((t) => semanticEqual({ ...obj(o), tolerationSeconds: obj(t).tolerationSeconds }, t));
    if (!found) {
      errs.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  const munged: Obj = deepCopy(ns);
  for (const list of ['containers', 'initContainers'])
    arr(munged[list]).forEach((c, i) => {
      obj(c).image = obj(arr(os[list])[i]).image;
    });
  munged.activeDeadlineSeconds = os.activeDeadlineSeconds;
  munged.tolerations = os.tolerations;
  munged.schedulingGates = os.schedulingGates;
  if (typeof os.terminationGracePeriodSeconds === 'number' && os.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  if (!semanticEqual(munged, os))
    errs.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}`));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaim and PersistentVolume

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const VOLUME_MODES = ['Block', 'Filesystem'];

/** validateAccessModes finds nothing: known modes, ReadWriteOncePod alone. */
function accessModesValid(modes: unknown): boolean {
  if (!Array.isArray(modes)) return true;
  for (const m of modes) if (typeof m !== 'string' || !ACCESS_MODES.includes(m)) return false;
  return modes.length < 2 || !modes.includes('ReadWriteOncePod');
}

function validateAccessModes(modes: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let rwop = false;
  let other = false;
  for (const m of arr(modes).map(str)) {
    if (!ACCESS_MODES.includes(m)) errs.push(notSupported(path, m, ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else if (ACCESS_MODES.includes(m)) other = true;
  }
  if (rwop && other) errs.push(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}

/** ValidatePersistentVolumeClaimSpec. */
function validatePvcSpec(specRaw: unknown, path: string): FieldError[] {
  const spec = obj(specRaw);
  const errs: FieldError[] = [];
  if (arr(spec.accessModes).length === 0) errs.push(required(child(path, 'accessModes'), 'at least 1 access mode is required'));
  if (has(spec, 'selector')) errs.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
  if (!accessModesValid(spec.accessModes)) errs.push(...validateAccessModes(spec.accessModes, child(path, 'accessModes')));
  const reqs = obj(obj(spec.resources).requests);
  if (!has(reqs, 'storage')) errs.push(required(key(child(path, 'resources'), 'storage')));
  else {
    // The path is made only to report an error.
    const q = parseQuantity(reqs.storage);
    if (typeof q === 'string') errs.push(invalid(key(child(path, 'resources'), 'storage'), str(reqs.storage), q));
    else if (q <= 0) errs.push(invalid(key(child(path, 'resources'), 'storage'), str(reqs.storage), 'must be greater than zero'));
  }
  if (spec.storageClassName) errs.push(...NAME_SUBDOMAIN(str(spec.storageClassName), false).map((m) => invalid(child(path, 'storageClassName'), str(spec.storageClassName), m)));
  if (has(spec, 'volumeMode') && !VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported(child(path, 'volumeMode'), str(spec.volumeMode), VOLUME_MODES));
  for (const ds of ['dataSource', 'dataSourceRef']) {
    if (!isObj(spec[ds])) continue;
    const d = spec[ds];
    const p = child(path, ds);
    if (!str(d.name)) errs.push(required(child(p, 'name')));
    if (!str(d.kind)) errs.push(required(child(p, 'kind')));
    if (!str(d.apiGroup) && d.kind !== 'PersistentVolumeClaim') errs.push(invalid(p, str(d.kind), "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
  }
  return errs;
}

function validatePvc(pvc: KObject): FieldError[] {
  return [...validateObjectMeta(pvc, NAME_SUBDOMAIN, true), ...validatePvcSpec(pvc.spec, 'spec')];
}

const BETA_STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

const nil = (x: unknown): boolean => x === undefined || x === null;

function validatePvcUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  // Shallow copies: only top-level fields (and resources.requests, copied below) change.
  const ns: Obj = { ...obj(next.spec) };
  const os: Obj = { ...obj(old.spec) };
  const na = obj(next.metadata.annotations);
  const oa = obj(old.metadata.annotations);
  // The PV controller writes volumeName once.
  if (!str(os.volumeName)) os.volumeName = ns.volumeName;
  // Storage class: an upgrade from the beta annotation, or a first class for a claim that had
  // none (the retroactive default StorageClass assignment), may be written.
  const oldAnn = oa[BETA_STORAGE_CLASS_ANNOTATION];
  const newAnn = na[BETA_STORAGE_CLASS_ANNOTATION];
  const oldSc = os.storageClassName;
  const newSc = ns.storageClassName;
  if (oldAnn !== undefined && nil(oldSc) && !nil(newSc) && newSc === oldAnn && (newAnn === undefined || newAnn === oldAnn)) {
    delete ns.storageClassName;
  } else {
    if (str(newAnn) !== str(oldAnn)) errs.push(invalid(`metadata.annotations.${BETA_STORAGE_CLASS_ANNOTATION}`, str(newAnn), 'field is immutable'));
    if (!nil(newSc) && nil(oldSc) && (oldAnn === undefined || newSc === oldAnn)) ns.storageClassName = os.storageClassName;
  }
  // A bound claim may change its storage request (growth is judged by the resize admission plugin).
  const phase = str(obj(old.status).phase);
  if (phase === 'Bound' && isObj(obj(ns.resources).requests))
    ns.resources = { ...ns.resources, requests: { ...ns.resources.requests, storage: obj(obj(os.resources).requests).storage } };
  if (!semanticEqual(ns, os)) errs.push(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
  const oldSize = parseQuantity(obj(obj(obj(old.spec).resources).requests).storage ?? 0);
  const newSize = parseQuantity(obj(obj(obj(next.spec).resources).requests).storage ?? 0);
  if (typeof oldSize === 'number' && typeof newSize === 'number' && newSize < oldSize)
    errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  const nvm = obj(next.spec).volumeMode;
  const ovm = obj(old.spec).volumeMode;
  if (str(nvm) !== str(ovm)) errs.push(invalid('volumeMode', nil(nvm) ? null : str(nvm), 'field is immutable'));
  return errs;
}

const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];

function validatePvSpec(specRaw: unknown): FieldError[] {
  const spec = obj(specRaw);
  const errs: FieldError[] = [];
  if (arr(spec.accessModes).length === 0) errs.push(required('spec.accessModes'));
  if (!accessModesValid(spec.accessModes)) errs.push(...validateAccessModes(spec.accessModes, 'spec.accessModes'));
  const cap = obj(spec.capacity);
  const capKeys = sortedKeys(cap);
  if (capKeys.length === 0) errs.push(required('spec.capacity'));
  if (!has(cap, 'storage') || capKeys.length > 1) {
    const shown = has(spec, 'capacity') ? goStringMap(cap, 'core.ResourceList') : { go: 'core.ResourceList(nil)' };
    errs.push(notSupported('spec.capacity', shown, ['storage']));
  }
  for (const k of capKeys) {
    const p = key('spec.capacity', k);
    const q = validateQuantityField(cap[k], p);
    errs.push(...q.errs);
    if (q.n !== undefined) {
      if (q.n < 0) errs.push(invalid(p, Math.ceil(q.n), 'must be a valid resource quantity'));
      if (q.n <= 0) errs.push(invalid(p, str(cap[k]), 'must be greater than zero'));
    }
  }
  const rp = str(spec.persistentVolumeReclaimPolicy);
  if (rp && !RECLAIM_POLICIES.includes(rp)) errs.push(notSupported('spec.persistentVolumeReclaimPolicy', rp, RECLAIM_POLICIES));
  let nodeAffinitySpecified = false;
  if (isObj(spec.nodeAffinity)) {
    nodeAffinitySpecified = true;
    if (isObj(spec.nodeAffinity.required)) errs.push(...validateNodeSelector(spec.nodeAffinity.required, 'spec.nodeAffinity.required'));
    else errs.push(required('spec.nodeAffinity.required', 'must specify required node constraints'));
  }
  let count = 0;
  for (const src of PV_VOLUME_SOURCES) {
    if (!has(spec, src)) continue;
    // flexVolume is counted without the "more than 1" check upstream.
    if (count > 0 && src !== 'flexVolume') {
      errs.push(forbidden(child('spec', src), 'may not specify more than 1 volume type'));
      continue;
    }
    count++;
    const s = obj(spec[src]);
    const p = child('spec', src);
    switch (src) {
      case 'hostPath':
        errs.push(...validateHostPath(s, p));
        break;
      case 'nfs':
        errs.push(...validateNFS(s, p));
        break;
      case 'rbd':
        errs.push(...validateRBD(s, p));
        break;
      case 'local': {
        const lp = str(s.path);
        if (!lp) errs.push(required(child(p, 'path')));
        else errs.push(...validatePathNoBacksteps(lp, child(p, 'path')));
        if (!nodeAffinitySpecified) errs.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
        break;
      }
      case 'csi': {
        errs.push(...validateCSIDriverName(str(s.driver), child(p, 'driver')));
        if (!str(s.volumeHandle)) errs.push(required(child(p, 'volumeHandle')));
        for (const ref of ['controllerPublishSecretRef', 'controllerExpandSecretRef', 'nodePublishSecretRef', 'nodeExpandSecretRef'])
          if (isObj(s[ref])) errs.push(...validateSecretRef(s[ref], child(p, ref)));
        break;
      }
      default:
        errs.push(notSupported('spec', src, MODELLED_PV_VOLUME_SOURCES));
    }
  }
  if (count === 0) errs.push(required('spec', 'must specify a volume type'));
  if (isObj(spec.hostPath) && /^\/+$/.test(str(spec.hostPath.path)) && rp === 'Recycle')
    errs.push(forbidden('spec.persistentVolumeReclaimPolicy', "may not be 'recycle' for a hostPath mount of '/'"));
  if (spec.storageClassName) errs.push(...NAME_SUBDOMAIN(str(spec.storageClassName), false).map((m) => invalid('spec.storageClassName', str(spec.storageClassName), m)));
  if (has(spec, 'volumeMode') && !VOLUME_MODES.includes(str(spec.volumeMode))) errs.push(notSupported('spec.volumeMode', str(spec.volumeMode), VOLUME_MODES));
  return errs;
}

function validatePv(pv: KObject): FieldError[] {
  return [...validateObjectMeta(pv, NAME_SUBDOMAIN, false), ...validatePvSpec(pv.spec)];
}

/** The PersistentVolumeSource of a PV spec (shared, not copied: it is only compared). */
function pvSource(s: Obj, oldSpec: Obj | undefined): Obj {
  const out: Obj = {};
  for (const k of PV_VOLUME_SOURCES) if (has(s, k)) out[k] = s[k];
  // A controllerExpandSecretRef may be added to a CSI volume that had none.
  if (oldSpec && isObj(out.csi) && isObj(oldSpec.csi) && !has(oldSpec.csi, 'controllerExpandSecretRef')) {
    out.csi = { ...out.csi };
    delete out.csi.controllerExpandSecretRef;
  }
  return out;
}

function validatePvUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = obj(next.spec);
  const os = obj(old.spec);
  if (!semanticEqual(pvSource(ns, os), pvSource(os, undefined)))
    errs.push(forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
  if (str(ns.volumeMode) !== str(os.volumeMode)) errs.push(invalid('volumeMode', has(ns, 'volumeMode') ? str(ns.volumeMode) : null, 'field is immutable'));
  if (isObj(os.nodeAffinity) && !semanticEqual(ns.nodeAffinity, os.nodeAffinity))
    errs.push(invalid('nodeAffinity', { go: `core.VolumeNodeAffinity${JSON.stringify(ns.nodeAffinity ?? null)}` }, 'field is immutable'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// StatefulSet (pkg/apis/apps/validation)

const RETENTION_POLICIES = ['Retain', 'Delete'];

function validateStatefulSetSpec(specRaw: unknown): FieldError[] {
  const spec = obj(specRaw);
  const errs: FieldError[] = [];
  const pmp = str(spec.podManagementPolicy);
  if (!pmp) errs.push(required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = obj(spec.updateStrategy);
  const ru = us.rollingUpdate;
  switch (str(us.type)) {
    case '':
      errs.push(required('spec.updateStrategy'));
      break;
    case 'OnDelete':
      if (isObj(ru)) errs.push(invalid('spec.updateStrategy.rollingUpdate', goRollingUpdate(ru), "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case 'RollingUpdate':
      if (isObj(ru)) errs.push(...nonNegative(ru.partition, 'spec.updateStrategy.rollingUpdate.partition'));
      break;
    default: {
      const ruShown = isObj(ru) ? '(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)' : '(*apps.RollingUpdateStatefulSetStrategy)(nil)';
      errs.push(invalid('spec.updateStrategy', { go: `apps.StatefulSetUpdateStrategy{Type:${goQuote(str(us.type))}, RollingUpdate:${ruShown}}` }, "must be 'RollingUpdate' or 'OnDelete'"));
    }
  }
  if (isObj(spec.persistentVolumeClaimRetentionPolicy)) {
    const rp = spec.persistentVolumeClaimRetentionPolicy;
    for (const k of ['whenDeleted', 'whenScaled'])
      if (!RETENTION_POLICIES.includes(str(rp[k]))) errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, str(rp[k]), RETENTION_POLICIES));
  }
  errs.push(...nonNegative(spec.replicas, 'spec.replicas'));
  errs.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (isObj(spec.ordinals)) errs.push(...nonNegative(spec.ordinals.start, 'spec.ordinals.start'));
  const sel = spec.selector;
  if (!isObj(sel)) errs.push(required('spec.selector'));
  else {
    errs.push(...validateLabelSelector(sel, 'spec.selector'));
    if (Object.keys(obj(sel.matchLabels)).length + arr(sel.matchExpressions).length === 0)
      errs.push(invalid('spec.selector', goLabelSelector(sel), 'empty selector is invalid for statefulset'));
  }
  // ValidatePodTemplateSpecForStatefulSet: in v1.30 only the template's labels and annotations.
  const tpl = obj(spec.template);
  const tplMeta = obj(tpl.metadata);
  // LabelSelectorAsSelector: a nil selector matches nothing (so the template never matches);
  // an empty one matches everything (and is not compared).
  const selectorEmpty = isObj(sel) && Object.keys(obj(sel.matchLabels)).length + arr(sel.matchExpressions).length === 0;
  // LabelSelectorAsSelector fails on requirements labels.NewRequirement refuses.
  const selectorValid =
    !isObj(sel) ||
    arr(sel.matchExpressions).every((e) => {
      const op = str(obj(e).operator);
      const n = arr(obj(e).values).length;
      return op === 'In' || op === 'NotIn' ? n > 0 : (op === 'Exists' || op === 'DoesNotExist') && n === 0;
    });
  if (!selectorValid) errs.push(invalid('spec.selector', goLabelSelector(sel), ''));
  else if (!selectorEmpty && !(isObj(sel) && matchesLabelSelector(sel as never, tplMeta.labels as Record<string, string> | undefined)))
    errs.push(invalid('spec.template.metadata.labels', goStringMap(tplMeta.labels), '`selector` does not match template `labels`'));
  if (selectorValid) {
    errs.push(...validateLabels(tplMeta.labels, 'spec.template.labels'));
    errs.push(...validateAnnotations(tplMeta.annotations, 'spec.template.annotations'));
  }
  const tplSpec = obj(tpl.spec);
  if (str(tplSpec.restartPolicy) !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', str(tplSpec.restartPolicy), ['Always']));
  if (has(tplSpec, 'activeDeadlineSeconds')) errs.push(forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'));
  return errs;
}

function goRollingUpdate(ru: Obj): GoSyntax {
  const mu = has(ru, 'maxUnavailable') ? '(*intstr.IntOrString)(0xc000000000)' : '(*intstr.IntOrString)(nil)';
  return { go: `apps.RollingUpdateStatefulSetStrategy{Partition:${Number(ru.partition ?? 0)}, MaxUnavailable:${mu}}` };
}

function validateStatefulSet(sts: KObject): FieldError[] {
  return [...validateObjectMeta(sts, NAME_LABEL, true), ...validateStatefulSetSpec(sts.spec)];
}

function validateStatefulSetUpdate(next: KObject, old: KObject): FieldError[] {
  const n: Obj = deepCopy(obj(next.spec));
  const o = obj(old.spec);
  for (const k of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy']) n[k] = o[k];
  if (semanticEqual(n, o)) return [];
  return [
    forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

/**
 * What v1.30's API server does NOT check on a StatefulSet but the statefulset controller will
 * hit when it creates the pods and claims (and what releases after v1.33 reject up front): the
 * pod template's spec, with one claim volume per volumeClaimTemplate, and each template's
 * claim spec. For the scenario loader's early warnings; not part of `validateObject`.
 */
export function validateStatefulSetTemplates(sts: KObject): FieldError[] {
  const spec = obj(sts.spec);
  const claims = arr(spec.volumeClaimTemplates).map((c) => str(obj(obj(c).metadata).name));
  const errs = validatePodSpec(obj(spec.template).spec, 'spec.template.spec', claims);
  arr(spec.volumeClaimTemplates).forEach((c, i) => {
    const p = index('spec.volumeClaimTemplates', i);
    const name = str(obj(obj(c).metadata).name);
    if (!name) errs.push(required(child(p, 'metadata', 'name')));
    else errs.push(...dns1123Subdomain(name, child(p, 'metadata', 'name')));
    errs.push(...validatePvcSpec(obj(c).spec, child(p, 'spec')));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// StorageClass (pkg/apis/storage/validation)

const SC_RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];

function validateStorageClass(sc: KObject): FieldError[] {
  const errs = validateObjectMeta(sc, NAME_SUBDOMAIN, false);
  const prov = str(sc.provisioner);
  if (!prov) errs.push(required('provisioner'));
  else errs.push(...isQualifiedName(prov.toLowerCase()).map((m) => invalid('provisioner', prov.toLowerCase(), m)));
  const params = obj(sc.parameters);
  if (Object.keys(params).length > 512) errs.push(tooLong('parameters', 512));
  let size = 0;
  for (const k of sortedKeys(params)) {
    if (k.length < 1) errs.push(invalid('parameters', k, 'field can not be empty.'));
    size += k.length + str(params[k]).length;
  }
  if (size > 256 * 1024) errs.push(tooLong('parameters', 256 * 1024));
  const rp = str(sc.reclaimPolicy);
  if (rp && !SC_RECLAIM_POLICIES.includes(rp)) errs.push(notSupported('reclaimPolicy', rp, SC_RECLAIM_POLICIES));
  if (!has(sc, 'volumeBindingMode')) errs.push(required('volumeBindingMode'));
  else if (!BINDING_MODES.includes(str(sc.volumeBindingMode))) errs.push(notSupported('volumeBindingMode', str(sc.volumeBindingMode), BINDING_MODES));
  return errs;
}

function validateStorageClassUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!semanticEqual(next.parameters, old.parameters)) errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
  if (str(next.provisioner) !== str(old.provisioner)) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if (str(next.reclaimPolicy) !== str(old.reclaimPolicy)) errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  if (str(next.volumeBindingMode) !== str(old.volumeBindingMode)) errs.push(invalid('volumeBindingMode', str(next.volumeBindingMode), 'field is immutable'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Service

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

/** The strategy keeps clusterIP and clusterIPs in step: clusterIPs defaults to [clusterIP]. */
function clusterIPsOf(spec: Obj): string[] {
  if (Array.isArray(spec.clusterIPs)) return spec.clusterIPs.map(str);
  return spec.clusterIP ? [str(spec.clusterIP)] : [];
}
const isHeadless = (spec: Obj): boolean => {
  const ips = clusterIPsOf(spec);
  return ips.length === 1 && ips[0] === 'None';
};

function goServicePortKey(protocol: string, port: number): GoSyntax {
  return {
    go: `core.ServicePort{Name:"", Protocol:${goQuote(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  };
}

function validateService(svc: KObject): FieldError[] {
  const errs = validateObjectMeta(svc, NAME_DNS1035, true);
  const spec = obj(svc.spec);
  const type = str(spec.type);
  const ports = arr(spec.ports);
  const headless = isHeadless(spec);
  const ips = clusterIPsOf(spec);
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(required('spec.ports'));
  if ((type === 'LoadBalancer' || type === 'NodePort') && headless)
    errs.push(invalid('spec.clusterIPs[0]', ips[0], `may not be set to 'None' for ${type} services`));
  if (type === 'ExternalName') {
    if (ips.length > 0) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (arr(spec.ipFamilies).length > 0) errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (has(spec, 'ipFamilyPolicy')) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = str(spec.externalName).replace(/\.$/, '');
    if (cname) errs.push(...dns1123Subdomain(cname, 'spec.externalName'));
    else errs.push(required('spec.externalName'));
  }
  const portNames = new Set<string>();
  ports.forEach((raw, i) => {
    const sp = obj(raw);
    const p = index('spec.ports', i);
    const name = str(sp.name);
    if (ports.length > 1 && !name) errs.push(required(child(p, 'name')));
    else if (name) {
      errs.push(...dns1123Label(name, child(p, 'name')));
      if (portNames.has(name)) errs.push(duplicate(child(p, 'name'), name));
      else portNames.add(name);
    }
    errs.push(...isValidPortNum(Number(sp.port ?? 0)).map((m) => invalid(child(p, 'port'), Number(sp.port ?? 0), m)));
    const proto = str(sp.protocol);
    if (!proto) errs.push(required(child(p, 'protocol')));
    else if (!PROTOCOLS.includes(proto)) errs.push(notSupported(child(p, 'protocol'), proto, PROTOCOLS));
    const tp = sp.targetPort;
    if (typeof tp === 'string') errs.push(...isValidPortName(tp).map((m) => invalid(child(p, 'targetPort'), tp, m)));
    else errs.push(...isValidPortNum(Number(tp ?? 0)).map((m) => invalid(child(p, 'targetPort'), Number(tp ?? 0), m)));
  });
  if (has(spec, 'selector')) errs.push(...validateLabels(spec.selector, 'spec.selector'));
  const sa = str(spec.sessionAffinity);
  if (!sa) errs.push(required('spec.sessionAffinity'));
  else if (sa !== 'ClientIP' && sa !== 'None') errs.push(notSupported('spec.sessionAffinity', sa, ['ClientIP', 'None']));
  if (sa === 'None' && has(spec, 'sessionAffinityConfig')) errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  errs.push(...validateClusterIPFields(spec));
  if (!type) errs.push(required('spec.type'));
  else if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));
  if (type === 'ClusterIP')
    ports.forEach((raw, i) => {
      if (obj(raw).nodePort) errs.push(forbidden(child(index('spec.ports', i), 'nodePort'), "may not be used when `type` is 'ClusterIP'"));
    });
  const seenPorts = new Set<string>();
  ports.forEach((raw, i) => {
    const sp = obj(raw);
    const k = `${str(sp.protocol)}/${Number(sp.port ?? 0)}`;
    if (seenPorts.has(k)) errs.push(duplicate(index('spec.ports', i), goServicePortKey(str(sp.protocol), Number(sp.port ?? 0))));
    seenPorts.add(k);
  });
  if (!has(spec, 'internalTrafficPolicy')) {
    if (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer') errs.push(required('spec.internalTrafficPolicy'));
  } else if (!['Cluster', 'Local'].includes(str(spec.internalTrafficPolicy)))
    errs.push(notSupported('spec.internalTrafficPolicy', str(spec.internalTrafficPolicy), ['Cluster', 'Local']));
  return errs;
}

/** ValidateServiceClusterIPsRelatedFields (the checks that matter for single-stack IPv4). */
function validateClusterIPFields(spec: Obj): FieldError[] {
  if (str(spec.type) === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const ips = clusterIPsOf(spec);
  if (spec.clusterIP && Array.isArray(spec.clusterIPs)) {
    if (spec.clusterIPs.length === 0) errs.push(required('spec.clusterIPs'));
    else if (str(spec.clusterIPs[0]) !== str(spec.clusterIP)) errs.push(invalid('spec.clusterIPs', goStringSlice(spec.clusterIPs), 'first value must match `clusterIP`'));
  } else if (!spec.clusterIP && ips.length > 0) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), 'must be empty when `clusterIP` is not specified'));
  const families = arr(spec.ipFamilies).map(str);
  const seen = new Set<string>();
  families.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(index('spec.ipFamilies', i), f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(duplicate(index('spec.ipFamilies', i), f));
    seen.add(f);
  });
  if (has(spec, 'ipFamilyPolicy') && !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(str(spec.ipFamilyPolicy)))
    errs.push(notSupported('spec.ipFamilyPolicy', str(spec.ipFamilyPolicy), ['PreferDualStack', 'RequireDualStack', 'SingleStack']));
  let badIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        badIPs = true;
        errs.push(invalid('spec.clusterIPs', goStringSlice(ips), "'None' must be the first and only value"));
      }
      return;
    }
    if (!ipFamilyOf(ip)) {
      badIPs = true;
      errs.push(invalid(index('spec.clusterIPs', i), ip, VALID_IP_MSG));
    }
  });
  if (str(spec.ipFamilyPolicy) === 'SingleStack') {
    if (ips.length > 1) errs.push(invalid('spec.clusterIPs', goStringSlice(ips), "must be at most one value when `ipFamilyPolicy` is 'SingleStack'"));
    if (families.length > 1) errs.push(invalid('spec.ipFamilies', goStringSlice(families, '[]core.IPFamily'), "must be at most one value when `ipFamilyPolicy` is 'SingleStack'"));
  }
  if (!badIPs)
    ips.forEach((ip, i) => {
      if (ip === 'None' || i >= families.length) return;
      const fam = ipFamilyOf(ip);
      if (fam && fam !== families[i]) errs.push(invalid(index('spec.clusterIPs', i), ip, `expected an ${families[i]} value as indicated by \`ipFamilies[${i}]\``));
    });
  return errs;
}

function validateServiceUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = obj(next.spec);
  const os = obj(old.spec);
  if (str(ns.type) === 'ExternalName' || str(os.type) === 'ExternalName') return errs;
  if (isHeadless(os) && isHeadless(ns)) return errs;
  const a = clusterIPsOf(os);
  // An update that leaves clusterIP out keeps the allocated one (the REST layer copies it over).
  const b = ns.clusterIP || Array.isArray(ns.clusterIPs) ? clusterIPsOf(ns) : a;
  const shown = goStringSlice(b);
  if (a.length === b.length) {
    a.forEach((ip, i) => {
      if (ip !== b[i]) errs.push(invalid(index('spec.clusterIPs', i), shown, 'may not change once set'));
    });
  } else if (a.length > b.length) {
    if (b.length === 0) errs.push(invalid('spec.clusterIPs[0]', shown, 'primary clusterIP can not be unset'));
    if (a.length > 0 && b.length > 0 && a[0] !== b[0]) errs.push(invalid('spec.clusterIPs[0]', shown, 'may not change once set'));
  } else if (a.length > 0 && a[0] !== b[0]) errs.push(invalid('spec.clusterIPs[0]', shown, 'may not change once set'));
  const fa = arr(os.ipFamilies).map(str);
  const fb = has(ns, 'ipFamilies') ? arr(ns.ipFamilies).map(str) : fa;
  if (fa.length > 0 && fb.length > 0 && fa[0] !== fb[0])
    errs.push(invalid('spec.ipFamilies[0]', goStringSlice(fb, '[]core.IPFamily'), 'may not change once set'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Namespace, Node, and the kinds that only need a name

function validateNamespace(ns: KObject): FieldError[] {
  const errs = validateObjectMeta(ns, NAME_LABEL, false);
  for (const f of arr(obj(ns.spec).finalizers).map(str)) {
    errs.push(...qualifiedName(f, 'spec.finalizers'));
    if (!f.includes('/') && !STANDARD_FINALIZERS.has(f)) errs.push(invalid('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

function validateNodeTaints(taints: unknown): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Map<string, Set<string>>();
  // Upstream reports node taints under metadata (fldPath is the metadata path).
  arr(taints).forEach((raw, i) => {
    const t = obj(raw);
    const p = index('metadata.taints', i);
    errs.push(...qualifiedName(str(t.key), child(p, 'key')));
    const vm = isValidLabelValue(str(t.value));
    if (vm.length) errs.push(invalid(child(p, 'value'), str(t.value), vm.join(';')));
    const effect = str(t.effect);
    if (!effect) errs.push(required(child(p, 'effect')));
    else if (!TAINT_EFFECTS.includes(effect)) errs.push(notSupported(child(p, 'effect'), effect, TAINT_EFFECTS));
    const keys = seen.get(effect) ?? new Set<string>();
    if (keys.has(str(t.key))) {
      const shown = `core.Taint{Key:${goQuote(str(t.key))}, Value:${goQuote(str(t.value))}, Effect:${goQuote(effect)}, TimeAdded:(*v1.Time)(nil)}`;
      errs.push(duplicate(p, { go: shown }, 'taints must be unique by key and effect pair'));
      return;
    }
    keys.add(str(t.key));
    seen.set(effect, keys);
  });
  return errs;
}

/** net.ParseCIDR: an IP address and a prefix length that fits its family. */
function isCIDR(v: string): boolean {
  const slash = v.indexOf('/');
  if (slash < 0) return false;
  const fam = ipFamilyOf(v.slice(0, slash));
  const bits = v.slice(slash + 1);
  if (!fam || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (fam === 'IPv4' ? 32 : 128);
}

function validateNode(node: KObject): FieldError[] {
  const errs = validateObjectMeta(node, NAME_SUBDOMAIN, false);
  const spec = obj(node.spec);
  errs.push(...validateNodeTaints(spec.taints));
  // The v1 podCIDR converts to podCIDRs[0] when podCIDRs is empty; each must parse as a CIDR.
  const cidrs = arr(spec.podCIDRs).length > 0 ? arr(spec.podCIDRs).map(str) : has(spec, 'podCIDR') ? [str(spec.podCIDR)] : [];
  cidrs.forEach((c, i) => {
    if (!isCIDR(c)) errs.push(invalid(index('spec.podCIDRs', i), goStringSlice(cidrs), 'must be valid CIDR'));
  });
  return errs;
}

function validateNodeUpdate(next: KObject, old: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = obj(next.spec);
  const os = obj(old.spec);
  const oc = arr(os.podCIDRs).map(str);
  const nc = arr(ns.podCIDRs).map(str);
  if (oc.length > 0 && (oc.length !== nc.length || oc.some((c, i) => c !== nc[i])))
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  if (str(os.providerID) && str(os.providerID) !== str(ns.providerID))
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Create-time validation of a defaulted object, as the kind's REST strategy runs it. */
export function validateObject(o: KObject): FieldError[] {
  switch (o.kind) {
    case 'Pod':
      return validatePod(o);
    case 'PersistentVolumeClaim':
      return validatePvc(o);
    case 'PersistentVolume':
      return validatePv(o);
    case 'StatefulSet':
      return validateStatefulSet(o);
    case 'StorageClass':
      return validateStorageClass(o);
    case 'Service':
      return validateService(o);
    case 'Namespace':
      return validateNamespace(o);
    case 'Node':
      return validateNode(o);
    default: {
      // EndpointSlice, Lease and anything else: name and metadata only.
      return validateObjectMeta(o, NAME_SUBDOMAIN, isNamespaced(o.kind));
    }
  }
}

/**
 * Update-time rules: immutable metadata and what each kind lets change. The strategies also
 * re-run the create rules on the new object; callers do that with `validateObject(newObj)`
 * (`invalidMessage` drops repeated messages, as the API server's aggregate does).
 */
export function validateUpdate(oldObj: KObject, newObj: KObject): FieldError[] {
  const errs = validateObjectMetaUpdate(newObj, oldObj);
  switch (newObj.kind) {
    case 'Pod':
      errs.push(...validatePodUpdate(newObj, oldObj));
      break;
    case 'PersistentVolumeClaim':
      errs.push(...validatePvcUpdate(newObj, oldObj));
      break;
    case 'PersistentVolume':
      errs.push(...validatePvUpdate(newObj, oldObj));
      break;
    case 'StatefulSet':
      errs.push(...validateStatefulSetUpdate(newObj, oldObj));
      break;
    case 'StorageClass':
      errs.push(...validateStorageClassUpdate(newObj, oldObj));
      break;
    case 'Service':
      errs.push(...validateServiceUpdate(newObj, oldObj));
      break;
    case 'Node':
      errs.push(...validateNodeUpdate(newObj, oldObj));
      break;
    default:
      break;
  }
  return errs;
}

/** `field.Error.Error()`: `path: message`. */
export function formatFieldError(e: FieldError): string {
  return `${e.path}: ${e.message}`;
}

/**
 * The 422 message (apierrors.NewInvalid): `Kind.group "name" is invalid: <errors>`, one error
 * bare, several in brackets joined by ", ", repeated messages once.
 */
export function invalidMessage(o: KObject, errors: FieldError[]): string {
  const group = RESOURCES[o.kind]?.group ?? (o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0]! : '');
  const qualifiedKind = group ? `${o.kind}.${group}` : o.kind;
  const head = `${qualifiedKind} ${goQuote(str(o.metadata?.name))} is invalid`;
  const msgs: string[] = [];
  for (const e of errors) {
    const m = formatFieldError(e);
    if (!msgs.includes(m)) msgs.push(m);
  }
  if (msgs.length === 0) return head;
  return `${head}: ${msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`}`;
}
