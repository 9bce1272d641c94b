/**
 * Checks a manifest against the Kubernetes v1.30 API schema as kubernetes-types 1.30 declares it
 * (the .d.ts files are generated from the API's OpenAPI document): every field must exist on its
 * type (`unknown field "spec.template.spec.containers[0].imagePullPolcy"`, as kubectl's strict
 * validation says), every required field must be there, and values must have their field's type.
 * For manifests ksim does not simulate (a Job that runs ksim itself); ksim's own loader checks
 * the kinds it models.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Field {
  type: string;
  required: boolean;
}

interface Module {
  interfaces: Map<string, Map<string, Field>>;
  aliases: Map<string, string>;
  /** name -> module file it is imported from */
  imports: Map<string, string>;
}

const ROOT = dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
const modules = new Map<string, Module>();

function loadModule(file: string): Module {
  let m = modules.get(file);
  if (m) return m;
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  m = { interfaces: new Map(), aliases: new Map(), imports: new Map() };
  for (const im of text.matchAll(/^import \{([^}]*)\} from "([^"]+)";/gm)) {
    const target = join(dirname(file), `${im[2]}.d.ts`);
    for (const name of im[1]!.split(',').map((s) => s.trim())) m.imports.set(name, target);
  }
  for (const al of text.matchAll(/^export type (\w+) = ([^;]+);/gm)) m.aliases.set(al[1]!, al[2]!.trim());
  for (const it of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields = new Map<string, Field>();
    // Fields are 4-space indented `name?: Type;`, a map type spanning three lines.
    for (const f of it[2]!.matchAll(/^ {4}"?([\w$-]+)"?(\??): ((?:\{\n\s+\[name: string\]: [^;]+;\n\s+\})|[^;\n]+);$/gm)) {
      fields.set(f[1]!, { type: f[3]!.replace(/\s+/g, ' '), required: f[2] !== '?' });
    }
    m.interfaces.set(it[1]!, fields);
  }
  modules.set(file, m);
  return m;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(value: unknown, type: string, file: string, path: string, out: string[]): void {
  type = type.trim();
  const alternatives = type.split(' | ');
  if (alternatives.length > 1 && !type.startsWith('{')) {
    const tries = alternatives.map((t) => {
      const o: string[] = [];
      check(value, t, file, path, o);
      return o;
    });
    if (!tries.some((o) => o.length === 0)) out.push(...tries.sort((a, b) => a.length - b.length)[0]!);
    return;
  }
  if (type === 'string' || type === 'number' || type === 'boolean') {
    if (typeof value !== type) out.push(`${path}: a ${type} expected, got ${JSON.stringify(value)}`);
    return;
  }
  if (/^"[^"]*"$/.test(type)) {
    if (value !== JSON.parse(type)) out.push(`${path}: ${type} expected, got ${JSON.stringify(value)}`);
    return;
  }
  const array = /^Array<(.+)>$/.exec(type) ?? /^(\w+)\[\]$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) out.push(`${path}: a list expected`);
    else value.forEach((v, i) => check(v, array[1]!, file, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[name: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isObject(value)) out.push(`${path}: a map expected`);
    else for (const [k, v] of Object.entries(value)) check(v, map[1]!, file, `${path}.${k}`, out);
    return;
  }
  const m = loadModule(file);
  if (m.imports.has(type)) return check(value, type, m.imports.get(type)!, path, out);
  if (m.aliases.has(type)) return check(value, m.aliases.get(type)!, file, path, out);
  const fields = m.interfaces.get(type);
  if (!fields) throw new Error(`kubernetes-schema: no type ${type} in ${file}`);
  if (!isObject(value)) {
    out.push(`${path}: an object (${type}) expected`);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const f = fields.get(k);
    const at = path ? `${path}.${k}` : k;
    if (!f) out.push(`unknown field "${at}"`);
    else check(v, f.type, file, at, out);
  }
  for (const [k, f] of fields) if (f.required && !(k in value)) out.push(`${path ? `${path}.` : ''}${k}: required`);
}

/** Where each apiVersion's types live in kubernetes-types (`batch/v1` -> batch/v1.d.ts, `v1` -> core/v1.d.ts). */
function moduleOf(apiVersion: string): string {
  return apiVersion.includes('/') ? `${apiVersion.split('/')[0]!.replace(/\.k8s\.io$/, '')}/${apiVersion.split('/')[1]}.d.ts` : `core/${apiVersion}.d.ts`;
}

/** The problems of one manifest against the v1.30 schema of its apiVersion and kind; [] when it is valid. */
export function schemaProblems(manifest: unknown): string[] {
  if (!isObject(manifest) || typeof manifest['apiVersion'] !== 'string' || typeof manifest['kind'] !== 'string') return ['apiVersion and kind: required'];
  const out: string[] = [];
  check(manifest, manifest['kind'], moduleOf(manifest['apiVersion']), '', out);
  return out;
}
