/**
 * Generates src/model/schema-v1.30.ts, the v1.30 object schema the strict decoder walks
 * (src/model/decode.ts), from the declarations of the `kubernetes-types` package (1.30.0, the
 * version SPEC §2 names): every field of every type reachable from the kinds ksim models, with
 * its JSON type. Run `npm run schema` after upgrading kubernetes-types; a test fails when the
 * committed file and the package disagree.
 *
 * kubernetes-types writes every integer as `number`; the Go types say which are int64. The few
 * int64 fields reachable from the modelled kinds are listed in INT64 below (k8s.io/api
 * core/v1, apps/v1 and k8s.io/apimachinery meta/v1 types.go at v1.30: the fields declared
 * `int64` / `*int64` / `[]int64`); every other integer is int32. No field of these kinds is a
 * float.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { FieldType, Schema, StructType } from '../src/model/schema-types.ts';

/** The modelled kinds (SPEC §1) and the module of kubernetes-types that declares each. */
export const ROOTS: readonly [kind: string, module: string][] = [
  ['Namespace', 'core/v1'], ['Node', 'core/v1'], ['PersistentVolume', 'core/v1'], ['PersistentVolumeClaim', 'core/v1'],
  ['Pod', 'core/v1'], ['Service', 'core/v1'], ['StatefulSet', 'apps/v1'], ['StorageClass', 'storage/v1'],
];

/** `Type.field` of the int64 fields (see the comment at the top). */
export const INT64 = new Set([
  'ObjectMeta.generation', 'ObjectMeta.deletionGracePeriodSeconds',
  'PodSpec.activeDeadlineSeconds', 'PodSpec.terminationGracePeriodSeconds',
  'Probe.terminationGracePeriodSeconds', 'SleepAction.seconds',
  'SecurityContext.runAsUser', 'SecurityContext.runAsGroup',
  'PodSecurityContext.runAsUser', 'PodSecurityContext.runAsGroup', 'PodSecurityContext.fsGroup', 'PodSecurityContext.supplementalGroups',
  'Toleration.tolerationSeconds', 'ContainerImage.sizeBytes', 'Condition.observedGeneration', 'ServiceAccountTokenProjection.expirationSeconds',
  'StatefulSetStatus.observedGeneration', 'PodCondition.observedGeneration',
]);

/** The Go package name of each module, as Go prints a type (`v1.Container`). */
function goPackage(module: string): string {
  return module.split('/').pop()!;
}

type Decl = { kind: 'interface'; fields: [string, string][] } | { kind: 'alias'; type: string };

interface Module {
  imports: Map<string, string>;
  decls: Map<string, Decl>;
}

/** Parses one generated .d.ts of kubernetes-types: its imports, interfaces and type aliases. */
export function parseModule(text: string, module: string): Module {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const imports = new Map<string, string>();
  for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    const target = new URL(m[2]!, `file:///${module}`).pathname.slice(1);
    for (const name of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) imports.set(name, target);
  }
  const decls = new Map<string, Decl>();
  for (const m of code.matchAll(/export\s+type\s+(\w+)\s*=\s*([^;]+);/g)) decls.set(m[1]!, { kind: 'alias', type: m[2]!.trim() });
  const re = /export\s+interface\s+(\w+)\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(code))) {
    // The body ends at the brace that closes the interface (map types nest braces).
    let depth = 1;
    let i = re.lastIndex;
    while (depth > 0 && i < code.length) {
      if (code[i] === '{') depth++;
      else if (code[i] === '}') depth--;
      i++;
    }
    const body = code.slice(re.lastIndex, i - 1);
    decls.set(m[1]!, { kind: 'interface', fields: splitFields(body) });
    re.lastIndex = i;
  }
  return { imports, decls };
}

/** `name?: Type;` members of an interface body, braces of inline map types kept together. */
function splitFields(body: string): [string, string][] {
  const out: [string, string][] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '{' || ch === '<') depth++;
    if (ch === '}' || ch === '>') depth--;
    if (ch === ';' && depth === 0) {
      const t = cur.trim();
      if (t) {
        const mm = /^(?:readonly\s+)?([\w$]+)\??\s*:\s*([\s\S]+)$/.exec(t);
        if (!mm) throw new Error(`cannot parse member "${t}"`);
        out.push([mm[1]!, mm[2]!.replace(/\s+/g, ' ').trim()]);
      }
      cur = '';
      continue;
    }
    cur += ch;
  }
  return out;
}

/** Builds the schema of the modelled kinds from the declarations `read(module)` returns. */
export function buildSchema(read: (module: string) => string): Schema {
  const modules = new Map<string, Module>();
  const mod = (name: string): Module => {
    let m = modules.get(name);
    if (!m) modules.set(name, (m = parseModule(read(name), name)));
    return m;
  };
  const types: Record<string, StructType> = {};
  const kinds: Record<string, string> = {};
  const queue: [string, string][] = [];

  const refOf = (module: string, name: string): string => `${module}.${name}`;
  const resolve = (module: string, t: string, owner: string, field: string): FieldType => {
    t = t.trim();
    if (/^".*"$/.test(t) || t === 'string') return 'string';
    if (t === 'boolean') return 'bool';
    if (t === 'number') return INT64.has(`${owner}.${field}`) ? 'int64' : 'int32';
    if (t === 'number | string' || t === 'string | number') return 'intOrString';
    let m = /^Array<([\s\S]+)>$/.exec(t);
    if (m) return { list: resolve(module, m[1]!, owner, field) };
    m = /^\{ ?\[\w+: string\]: ([\s\S]+?);? ?\}$/.exec(t);
    if (m) return { map: resolve(module, m[1]!, owner, field) };
    if (!/^\w+$/.test(t)) throw new Error(`${owner}.${field}: unsupported type "${t}"`);
    const home = mod(module).decls.has(t) ? module : mod(module).imports.get(t);
    if (home === undefined) throw new Error(`${owner}.${field}: unknown type "${t}" in ${module}`);
    if (t === 'Quantity') return 'quantity';
    if (t === 'Time' || t === 'MicroTime') return 'time';
    const decl = mod(home).decls.get(t);
    if (!decl) throw new Error(`${t} not declared in ${home}`);
    if (decl.kind === 'alias') return resolve(home, decl.type, owner, field);
    // Types with no fields hold free-form JSON (RawExtension, FieldsV1).
    if (decl.fields.length === 0) return 'any';
    const ref = refOf(home, t);
    if (!types[ref]) {
      types[ref] = { go: `${goPackage(home)}.${t}`, fields: {} };
      queue.push([home, t]);
    }
    return { ref };
  };

  for (const [kind, module] of ROOTS) {
    const r = resolve(module, kind, kind, '');
    if (typeof r !== 'object' || !('ref' in r)) throw new Error(`${kind} is not a struct`);
    kinds[kind] = r.ref;
  }
  while (queue.length) {
    const [module, name] = queue.shift()!;
    const decl = mod(module).decls.get(name)!;
    if (decl.kind !== 'interface') continue;
    const st = types[refOf(module, name)]!;
    for (const [field, t] of decl.fields) st.fields[field] = resolve(module, t, name, field);
  }
  const sorted: Record<string, StructType> = {};
  for (const k of Object.keys(types).sort()) sorted[k] = types[k]!;
  return { kinds, types: sorted };
}

/** The text of src/model/schema-v1.30.ts for a schema. */
export function renderSchemaModule(schema: Schema): string {
  return `/**
 * The Kubernetes v1.30 object schema of the kinds ksim models, generated by
 * scripts/gen-schema.ts from the declarations of kubernetes-types 1.30.0 (do not edit; run
 * \`npm run schema\`). Every type reachable from a modelled kind, with the JSON type of each
 * field; src/model/decode.ts walks it.
 */
import type { Schema } from './schema-types.ts';

export const SCHEMA_V1_30: Schema = ${JSON.stringify(schema, null, 1)};
`;
}

const TYPES_DIR = fileURLToPath(new URL('../node_modules/kubernetes-types/', import.meta.url));
export const readKubernetesTypes = (module: string): string => readFileSync(`${TYPES_DIR}${module}.d.ts`, 'utf8');
export const SCHEMA_FILE = fileURLToPath(new URL('../src/model/schema-v1.30.ts', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, renderSchemaModule(buildSchema(readKubernetesTypes)));
  console.log(`wrote ${SCHEMA_FILE}`);
}
