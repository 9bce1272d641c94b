/**
 * Imports run one way: src/ (the kernel) <- actors/, backends/ <- sim/. The kernel knows nothing
 * of what stands on it, the components nothing of the simulator that assembles them, and no
 * module imports itself back through a cycle. This test reads every import of the four
 * folders (static, re-export and dynamic) and names each one that runs the wrong way.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const FLOORS = ['src', 'actors', 'backends', 'sim'] as const;
type Floor = (typeof FLOORS)[number];

/** What each floor may import from (its own floor included). */
const MAY_IMPORT: Record<Floor, readonly Floor[]> = {
  src: ['src'],
  actors: ['src', 'actors', 'backends'],
  backends: ['src', 'backends'],
  sim: ['src', 'actors', 'backends', 'sim'],
};

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

/** Relative module paths a file imports, resolved against the repository root. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    out.push(relative(ROOT, normalize(join(ROOT, dirname(file), spec))));
  }
  return out;
}

function floorOf(file: string): Floor | undefined {
  const top = file.split('/')[0];
  return (FLOORS as readonly string[]).includes(top!) ? (top as Floor) : undefined;
}

/** `file: imports X (floor) — floor may import only ...` for each import that runs the wrong way. */
export function wrongWay(file: string, imports: readonly string[]): string[] {
  const from = floorOf(file);
  if (!from) return [];
  const out: string[] = [];
  for (const target of imports) {
    const to = floorOf(target);
    if (to && !MAY_IMPORT[from].includes(to)) out.push(`${file}: imports ${target} (${to}/) — ${from}/ may import only from ${MAY_IMPORT[from].join(', ')}`);
  }
  return out;
}

/** The first import cycle found (as a list of files), or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | undefined => {
    const s = state.get(f);
    if (s === 'done') return undefined;
    if (s === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (!graph.has(g)) continue;
      const c = visit(g);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of [...graph.keys()].sort()) {
    const c = visit(f);
    if (c) return c;
  }
  return undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

describe('layers: imports run one way (src <- actors, backends <- sim)', () => {
  const graph = new Map<string, string[]>();
  for (const floor of FLOORS) for (const f of sources(floor)) graph.set(f, importsOf(f, readFileSync(join(ROOT, f), 'utf8')));

  it('no file imports from a floor above its own', () => {
    const problems = [...graph].flatMap(([f, imports]) => wrongWay(f, imports));
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('no module imports itself back through a cycle', () => {
    const cycle = findCycle(graph);
    expect(cycle, cycle?.join(' -> ')).to.equal(undefined);
  });

  it('names a kernel file that imports the simulator, an actor that imports sim/, and a dynamic import', () => {
    expect(wrongWay('src/clock.ts', importsOf('src/clock.ts', "import { Run } from '../sim/run.ts';"))).to.have.length(1);
    expect(wrongWay('actors/kubelet.ts', importsOf('actors/kubelet.ts', "import type { World } from '../sim/world.ts';"))).to.have.length(1);
    expect(wrongWay('backends/nfs.ts', importsOf('backends/nfs.ts', "const m = await import('../actors/kubelet.ts');"))).to.have.length(1);
    expect(wrongWay('src/bus.ts', importsOf('src/bus.ts', "export { x } from '../actors/kubectl.ts';"))).to.have.length(1);
    expect(wrongWay('sim/run.ts', importsOf('sim/run.ts', "import { Bus } from '../src/bus.ts';"))).to.deep.equal([]);
  });

  it('finds a cycle of two files, and none in a chain', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['a']]]))).to.deep.equal(['a', 'b', 'a']);
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).to.equal(undefined);
  });
});
