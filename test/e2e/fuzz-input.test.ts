/**
 * A generated corpus of careless and hostile scenarios (issue 13): the examples and fixtures, mutated the way
 * a fuzzer mutates them (a value replaced by a hostile one, a key added or removed, the text cut
 * or a character slipped in), each run in-process through main(argv, io). Whatever the input,
 * ksim ends with exit 0, 1 or 2 within bounded time and memory, prints no stack trace and no raw
 * control character, and leaves Object.prototype as it was. fast-check prints the seed and the
 * shrunk input of a failure.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { main } from '../../sim/cli/main.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));
/** The examples, and the fixtures (faults and chaos among them). */
const SEEDS = [EXAMPLES, FIXTURES].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(dir, f), 'utf8')));
const DIR = mkdtempSync(join(tmpdir(), 'ksim-fuzz-'));

/** What a careless or hostile user writes where a value belongs. */
const HOSTILE: unknown[] = [
  5, -1, 0, 2.5, 1e30, 2147483648, 1000000000, Number.NaN, Number.POSITIVE_INFINITY, '', 'x\ny', '\u001b[31mred', '\u0000', [], {}, null, true,
  '__proto__', 'constructor', ['x'], { a: 1 }, 'é', 'x'.repeat(5000), '99999999h', '1e400h', '1ns', '0', 'constructor/x', '__proto__/x', 'pod/web-9',
  '10.96.0.10', 'garbage', '2025-02-30T00:00:00Z', { __proto__: null, polluted: true },
];
const KEYS = ['__proto__', 'constructor', 'imagePullPolcy', 'replicas', 'spec', 'toString', 'x'];

type Json = unknown;

/** Every path to a value inside `v` (maps and lists), the root included. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, Json>)[k], [...at, k], out);
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  let cur = root as Record<string | number, Json>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, Json>;
  Object.defineProperty(cur, path[path.length - 1]!, { value, writable: true, enumerable: true, configurable: true });
  return root;
}

type Mutation =
  | { kind: 'replace'; pick: number; value: number }
  | { kind: 'addKey'; pick: number; key: number; value: number }
  | { kind: 'removeKey'; pick: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicateLine'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: fc.nat() }),
  fc.record({ kind: fc.constant('addKey' as const), pick: fc.nat(), key: fc.nat(), value: fc.nat() }),
  fc.record({ kind: fc.constant('removeKey' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('[', '{', ']', ':', '\t', '- ', '"', '&a ', '*a', '\u0007', '\u0000', '---\n', '? ', '\n  x: 1\n', '<<: *a\n') }),
  fc.record({ kind: fc.constant('duplicateLine' as const), at: fc.nat() }),
);

function mutate(text: string, muts: Mutation[]): string {
  let t = text;
  for (const m of muts) {
    if (m.kind === 'cut') t = t.slice(0, m.at % (t.length + 1));
    else if (m.kind === 'insert') {
      const at = m.at % (t.length + 1);
      t = t.slice(0, at) + m.text + t.slice(at);
    } else if (m.kind === 'duplicateLine') {
      const lines = t.split('\n');
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      t = lines.join('\n');
    } else {
      // Structured mutations work on the parsed documents and write them back as YAML.
      let docs: Json[];
      try {
        docs = parseAllDocuments(t, { logLevel: 'silent' }).map((d) => (Array.isArray(d) ? null : d.toJS({ maxAliasCount: 100 })));
      } catch {
        continue;
      }
      const all = docs.flatMap((d, i) => paths(d).map((p) => [i, ...p] as (string | number)[]));
      if (all.length === 0) continue;
      const target = all[m.pick % all.length]!;
      const [di, ...p] = target as [number, ...(string | number)[]];
      if (m.kind === 'replace') docs[di] = setAt(docs[di], p, HOSTILE[m.value % HOSTILE.length]);
      else if (m.kind === 'addKey') {
        let cur = docs[di];
        for (const seg of p) cur = (cur as Record<string | number, Json>)[seg];
        if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) setAt(cur, [KEYS[m.key % KEYS.length]!], HOSTILE[m.value % HOSTILE.length]);
      } else if (p.length > 0) {
        let cur = docs[di] as Record<string | number, Json>;
        for (const seg of p.slice(0, -1)) cur = cur[seg] as Record<string | number, Json>;
        if (!Array.isArray(cur)) delete cur[p[p.length - 1]!];
      }
      try {
        t = docs.map((d) => stringify(d)).join('---\n');
      } catch {
        // A value YAML cannot write (a cycle): keep the text as it was.
      }
    }
  }
  return t;
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
let caseNo = 0;

async function runCase(text: string): Promise<{ code: number; out: string; err: string; ms: number }> {
  const file = join(DIR, `c${++caseNo}.yaml`);
  writeFileSync(file, text);
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await main(['run', file, '--until', '5m', '--max-steps', '200000'], { out: (s) => void (out += s), err: (s) => void (err += s), wallMs: () => 0 });
  return { code, out, err, ms: performance.now() - t0 };
}

describe('fuzz: mutated examples end in exit 0, 1 or 2, with no stack trace, in bounded time and memory', function () {
  this.timeout(120_000);
  const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  it('holds for generated mutations of every example', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: Number(process.env['KSIM_FUZZ_MUTATIONS'] ?? 3) }), async (seed, muts) => {
        const text = mutate(SEEDS[seed]!, muts);
        const r = await runCase(text);
        expect([0, 1, 2], `exit ${r.code}\n${r.err}`).to.include(r.code);
        expect(r.err).to.not.match(/\n\s+at .+:\d+:\d+/);
        expect(r.out + r.err).to.not.match(CONTROL);
        if (r.code === 2) expect(r.out).to.equal('');
        expect(r.ms, 'wall time of one case').to.be.below(15_000);
        expect(process.memoryUsage().heapUsed, 'heap after one case').to.be.below(2 ** 31);
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(protoKeys);
        expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      }),
      { numRuns: Number(process.env['KSIM_FUZZ_RUNS'] ?? 30) },
    );
  });

  /** Flags with what a careless or hostile user passes them (no --trace: it writes files). */
  const FLAG_VALUES = ['', '0', '-1', '7', '1e3', '9007199254740993', '99999999h', '30s', 'constructor', '__proto__', 'pod/web-0', 'constructor/x', 'bogus', 'json', 'table', 'chrome', 'strict', 'warn', 'ignore', '\u001b[2J', 'a\nb'];
  const FLAGS = ['--seed', '--until', '--describe', '--bug', '--validate', '--max-steps', '-o', '--trace-format', '--bogus'];

  it('holds for generated command lines', async () => {
    const web = join(DIR, 'web.yaml');
    writeFileSync(web, readFileSync(join(EXAMPLES, 'statefulset-web.yaml'), 'utf8'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...FLAGS), fc.constantFrom(...FLAG_VALUES)), { maxLength: 4 }), async (flags) => {
        let out = '';
        let err = '';
        const argv = ['run', web, '--until', '30s', ...flags.flat()];
        const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), wallMs: () => 0 });
        expect([0, 1, 2], `${argv.join(' ')}: exit ${code}\n${err}`).to.include(code);
        expect(err).to.not.match(/\n\s+at .+:\d+:\d+/);
        expect(out + err).to.not.match(CONTROL);
      }),
      { numRuns: Number(process.env['KSIM_FUZZ_RUNS'] ?? 30) },
    );
  });
});
