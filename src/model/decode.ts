/**
 * The strict decoder every object passes before the API server validates it (SPEC §1): the
 * manifests of a scenario file, the objects of `apply` actions, and the result of every patch.
 * It does what decoding JSON into the typed Go structs does in kube-apiserver v1.30 —
 * sigs.k8s.io/json (case-sensitive encoding/json) with the field validation kubectl asks for
 * (`--validate=strict`, the default, sends fieldValidation=Strict) — over the v1.30 schema in
 * schema-v1.30.ts:
 *
 * - a value of the wrong JSON type is encoding/json's UnmarshalTypeError, always fatal:
 *   `json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type
 *   int32` (the struct that declares the field, the path of JSON names from the root without
 *   list indices, the Go type); an integer that is not one, or does not fit int32/int64, is
 *   `cannot unmarshal number 2.5 ...`;
 * - NaN and infinities cannot become JSON at all (sigs.k8s.io/yaml's YAMLToJSON:
 *   `json: unsupported value: NaN`);
 * - a field the schema does not have is `unknown field "spec.volumes[0].rbd.imageformat"`:
 *   an error under Strict (`strict decoding error: ...`), a warning under Warn, nothing under
 *   Ignore; under Warn and Ignore the field is dropped, as decoding into the struct drops it.
 *
 * Fields of the schema that ksim does not simulate are kept as they are. Nulls are accepted
 * anywhere (encoding/json leaves the zero value). Map keys are own properties: a `__proto__`
 * key is a field like any other (unknown in a struct, a key in a map). Pure.
 */
import type { FieldType, Schema, StructType } from './schema-types.ts';
import { SCHEMA_V1_30 } from './schema-v1.30.ts';

/** kubectl's --validate values and the API server's fieldValidation directive they send. */
export type FieldValidation = 'strict' | 'warn' | 'ignore';
export const FIELD_VALIDATIONS: readonly FieldValidation[] = ['strict', 'warn', 'ignore'];

/** One step of a field path: a map key or a list index. */
export type PathSeg = string | number;

export interface DecodeError {
  path: PathSeg[];
  /** The decoder's words (`json: cannot unmarshal ...`). */
  message: string;
}

export interface UnknownField {
  path: PathSeg[];
  /** `spec.containers[0].imagePullPolcy`, as strict decoding names it. */
  field: string;
}

export interface DecodeResult {
  /** Type errors: the object cannot be decoded, whatever the field validation. */
  errors: DecodeError[];
  /** Fields the schema does not have, in document order (dropped unless `strict`). */
  unknown: UnknownField[];
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
// A JS number cannot tell 2^63-1 from 2^63: both are accepted.
const INT64_LIMIT = 2 ** 63;

/** The kinds the schema knows. */
export function hasSchema(kind: string, schema: Schema = SCHEMA_V1_30): boolean {
  return Object.hasOwn(schema.kinds, kind);
}

/**
 * Decodes `obj` as a `kind` would be decoded; with `validation` other than strict, unknown
 * fields are removed from `obj` (the only change made to it). A kind without a schema decodes
 * as is.
 */
export function decodeObject(obj: unknown, kind: string, validation: FieldValidation = 'strict', opts: { flavor?: DecodeFlavor; schema?: Schema } = {}): DecodeResult {
  const schema = opts.schema ?? SCHEMA_V1_30;
  const res: DecodeResult = { errors: [], unknown: [] };
  if (!Object.hasOwn(schema.kinds, kind)) return res;
  const root = schema.types[schema.kinds[kind]!]!;
  const flavor = opts.flavor ?? 'json';
  new Walker(schema, res, validation !== 'strict', flavor).struct(obj, root, [], []);
  // The unstructured converter reports unknown fields sorted (FromUnstructuredWithValidation).
  if (flavor === 'unstructured') res.unknown.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  return res;
}

/**
 * How the object reaches its Go struct: `json` is encoding/json (manifests, JSON and merge
 * patches); `unstructured` is runtime.DefaultUnstructuredConverter, which the API server uses on
 * the result of a strategic merge patch (patch.go applyPatchToObject). The converter words its
 * errors otherwise (`unrecognized type: int32`, `cannot restore slice from int64`) and converts
 * an integer into a narrower one as Go's reflect.Value.Convert does: 2147483648 becomes
 * -2147483648, which validation then refuses.
 */
export type DecodeFlavor = 'json' | 'unstructured';

/** `strict decoding error: unknown field "a", unknown field "b"` (runtime.NewStrictDecodingError). */
export function strictDecodingMessage(unknown: readonly UnknownField[]): string {
  return `strict decoding error: ${unknown.map((u) => `unknown field ${JSON.stringify(u.field)}`).join(', ')}`;
}

/** Go's name for a field type, as UnmarshalTypeError prints it. */
function goType(t: FieldType, schema: Schema): string {
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
      case 'int32':
      case 'int64':
        return t;
      case 'bool':
        return 'bool';
      case 'quantity':
        return 'resource.Quantity';
      case 'intOrString':
        return 'intstr.IntOrString';
      case 'time':
        return 'v1.Time';
      case 'any':
        return 'interface {}';
    }
  }
  if ('list' in t) return `[]${goType(t.list, schema)}`;
  if ('map' in t) return `map[string]${goType(t.map, schema)}`;
  return schema.types[t.ref]?.go ?? t.ref;
}

/** encoding/json's name for the JSON value that did not fit (`number 2.5` when it had to parse it). */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

/** A JS number as Go's encoding/json writes it (JSON has no NaN or infinities). */
function numberText(v: number): string {
  return String(v);
}

const QUANTITY_REGEX_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00';
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** time.Parse(time.RFC3339, s) as metav1.Time's UnmarshalJSON runs it: undefined when it parses. */
export function rfc3339Problem(s: string): string | undefined {
  const m = RFC3339.exec(s);
  if (!m) return `parsing time ${JSON.stringify(s)} as ${JSON.stringify(RFC3339_LAYOUT)}: cannot parse ${JSON.stringify(s)} as "2006"`;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12) return `parsing time ${JSON.stringify(s)}: month out of range`;
  const daysIn = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  if (day < 1 || day > daysIn) return `parsing time ${JSON.stringify(s)}: day out of range`;
  if (hour > 23) return `parsing time ${JSON.stringify(s)}: hour out of range`;
  if (minute > 59) return `parsing time ${JSON.stringify(s)}: minute out of range`;
  if (second > 59) return `parsing time ${JSON.stringify(s)}: second out of range`;
  return undefined;
}

/** Formats a field path the way strict decoding errors name fields: `spec.containers[0].image`. */
export function fieldPathText(path: readonly PathSeg[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** The Go kind of a decoded JSON value, as the unstructured converter names it. */
function unstructuredKind(v: unknown): string {
  if (Array.isArray(v)) return 'slice';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(v) ? 'int64' : 'float64';
    case 'boolean':
      return 'bool';
    default:
      return 'map';
  }
}

class Walker {
  constructor(
    private readonly schema: Schema,
    private readonly res: DecodeResult,
    private readonly prune: boolean,
    private readonly flavor: DecodeFlavor,
  ) {}

  /**
   * fromUnstructured for the kinds it converts itself: true when it handled `v` (an error
   * reported, or accepted); the custom unmarshalers (Quantity, IntOrString, Time) go through
   * JSON and are left to the json checks.
   */
  private converted(v: unknown, t: FieldType, path: PathSeg[], set: (nv: unknown) => void): boolean {
    const fail = (message: string) => {
      this.res.errors.push({ path, message });
      return true;
    };
    if (typeof t === 'string') {
      switch (t) {
        case 'string':
          if (typeof v === 'string') return true;
          if (typeof v === 'number') return fail(`cannot convert ${unstructuredKind(v)} to string`);
          return fail('unrecognized type: string');
        case 'bool':
          return typeof v === 'boolean' ? true : fail('unrecognized type: bool');
        case 'int32':
        case 'int64':
          if (typeof v !== 'number') return fail(`unrecognized type: ${t}`);
          if (!Number.isInteger(v)) return fail(`cannot convert float64 to ${t}`);
          if (t === 'int32' && (v < INT32_MIN || v > INT32_MAX) && Number.isSafeInteger(v)) set(Number(BigInt.asIntN(32, BigInt(v))));
          return true;
        default:
          return false;
      }
    }
    if ('list' in t) return Array.isArray(v) ? false : fail(`cannot restore slice from ${unstructuredKind(v)}`);
    if ('map' in t) return typeof v === 'object' && !Array.isArray(v) ? false : fail(`cannot restore map from ${unstructuredKind(v)}`);
    return typeof v === 'object' && !Array.isArray(v) ? false : fail(`cannot restore struct from: ${unstructuredKind(v)}`);
  }

  /** `names`: the JSON field names from the root (no indices), as Go's errorContext keeps them. */
  struct(v: unknown, st: StructType, path: PathSeg[], names: string[]): void {
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const fieldPath = [...path, key];
      const t = Object.hasOwn(st.fields, key) ? st.fields[key]! : undefined;
      if (t === undefined) {
        this.res.unknown.push({ path: fieldPath, field: fieldPathText(fieldPath) });
        if (this.prune) delete obj[key];
        continue;
      }
      this.value(obj[key], t, fieldPath, [...names, key], goStructName(st), (nv) => (obj[key] = nv));
    }
  }

  private typeError(v: unknown, t: FieldType, path: PathSeg[], names: string[], structName: string, valueText?: string): void {
    const what = valueText ?? jsonKind(v);
    const field = names.length ? `Go struct field ${structName}.${names.join('.')}` : 'Go value';
    this.res.errors.push({ path, message: `json: cannot unmarshal ${what} into ${field} of type ${goType(t, this.schema)}` });
  }

  private value(v: unknown, t: FieldType, path: PathSeg[], names: string[], structName: string, set: (nv: unknown) => void): void {
    if (v === null || v === undefined) return;
    if (typeof v === 'number' && !Number.isFinite(v)) {
      this.res.errors.push({ path, message: `error converting YAML to JSON: json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}` });
      return;
    }
    if (this.flavor === 'unstructured' && this.converted(v, t, path, set)) return;
    if (typeof t === 'string') {
      switch (t) {
        case 'string':
          if (typeof v !== 'string') this.typeError(v, t, path, names, structName);
          return;
        case 'bool':
          if (typeof v !== 'boolean') this.typeError(v, t, path, names, structName);
          return;
        case 'int32':
        case 'int64': {
          if (typeof v !== 'number') return this.typeError(v, t, path, names, structName);
          const ok = Number.isInteger(v) && (t === 'int32' ? v >= INT32_MIN && v <= INT32_MAX : v >= -INT64_LIMIT && v <= INT64_LIMIT);
          if (!ok) this.typeError(v, t, path, names, structName, `number ${numberText(v)}`);
          return;
        }
        case 'quantity':
          if (typeof v !== 'string' && typeof v !== 'number') this.res.errors.push({ path, message: QUANTITY_REGEX_ERROR });
          return;
        case 'intOrString':
          if (typeof v === 'string') return;
          if (typeof v !== 'number') return this.typeError(v, 'int32', path, [], structName);
          if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) this.typeError(v, 'int32', path, [], structName, `number ${numberText(v)}`);
          return;
        case 'time': {
          if (typeof v !== 'string') return this.typeError(v, 'string', path, [], structName);
          const why = rfc3339Problem(v);
          if (why) this.res.errors.push({ path, message: why });
          return;
        }
        case 'any':
          this.anyValue(v, path);
          return;
      }
    }
    if ('list' in t) {
      if (!Array.isArray(v)) return this.typeError(v, t, path, names, structName);
      for (let i = 0; i < v.length; i++) this.value(v[i], t.list, [...path, i], names, structName, (nv) => (v[i] = nv));
      return;
    }
    if ('map' in t) {
      if (typeof v !== 'object' || Array.isArray(v)) return this.typeError(v, t, path, names, structName);
      const m = v as Record<string, unknown>;
      for (const k of Object.keys(m)) this.value(m[k], t.map, [...path, k], names, structName, (nv) => (m[k] = nv));
      return;
    }
    const st = this.schema.types[t.ref];
    if (!st) return;
    if (typeof v !== 'object' || Array.isArray(v)) return this.typeError(v, t, path, names, structName);
    this.struct(v, st, path, names);
  }

  /** Free-form JSON: only NaN and infinities cannot be encoded. */
  private anyValue(v: unknown, path: PathSeg[]): void {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      this.res.errors.push({ path, message: `error converting YAML to JSON: json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}` });
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) v.forEach((x, i) => this.anyValue(x, [...path, i]));
    else for (const k of Object.keys(v)) this.anyValue((v as Record<string, unknown>)[k], [...path, k]);
  }
}

/** `v1.PodSpec` -> `PodSpec`: UnmarshalTypeError names the struct without its package. */
function goStructName(st: StructType): string {
  const dot = st.go.lastIndexOf('.');
  return dot < 0 ? st.go : st.go.slice(dot + 1);
}
