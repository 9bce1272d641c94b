/**
 * The shape of the object schema the strict decoder walks (src/model/decode.ts): for each Go
 * struct of the API, its JSON fields and their types. The data itself is generated
 * (schema-v1.30.ts, by scripts/gen-schema.ts from kubernetes-types).
 */

/**
 * A field's JSON type: the scalar kinds Go decodes them into, `quantity`
 * (resource.Quantity: a string or a number), `intOrString` (intstr.IntOrString), `time`
 * (metav1.Time: an RFC 3339 string), `any` (free-form JSON: RawExtension, FieldsV1), a list, a
 * map with string keys, or another struct by reference.
 */
export type FieldType =
  | 'string' | 'bool' | 'int32' | 'int64' | 'quantity' | 'intOrString' | 'time' | 'any'
  | { list: FieldType } | { map: FieldType } | { ref: string };

export interface StructType {
  /** The Go type as encoding/json names it in errors (`v1.PodSpec`). */
  go: string;
  fields: Record<string, FieldType>;
}

export interface Schema {
  /** Kind -> the ref of its type in `types`. */
  kinds: Record<string, string>;
  types: Record<string, StructType>;
}
