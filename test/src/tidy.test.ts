/**
 * Like TigerBeetle's tidy.zig: the simulation core must not read ambient time or chance. This
 * test scans src/, actors/, backends/ and sim/ and names each banned use with its replacement.
 * Only the edges listed in EDGES may read the wall clock (for stats.wallMs and the bench).
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIRS = ['src', 'actors', 'backends', 'sim'];
/** Edges allowed to read the wall clock or the environment. */
const EDGES = new Set(['sim/cli/io.ts', 'sim/cli/bench.ts', 'sim/sweep.ts', 'sim/sweep-worker.ts', 'sim/heap.ts']);

interface Ban {
  pattern: RegExp;
  what: string;
  instead: string;
  edgesMay?: boolean;
}

export const BANS: Ban[] = [
  { pattern: /\bMath\.random\s*\(/, what: 'Math.random()', instead: 'the component\'s seeded Rng (port.rng)' },
  { pattern: /\bDate\.now\s*\(/, what: 'Date.now()', instead: 'simulated time: port.now() / clock.nowMs', edgesMay: true },
  { pattern: /\bnew Date\(\s*\)/, what: 'new Date() without an argument', instead: 'isoAt(startMs, nowMs) for the simulated instant', edgesMay: true },
  { pattern: /\bperformance\.now\s*\(/, what: 'performance.now()', instead: 'simulated time; only the CLI/bench edges may time wall-clock work', edgesMay: true },
  { pattern: /\bprocess\.hrtime\b/, what: 'process.hrtime', instead: 'simulated time', edgesMay: true },
  { pattern: /(?<![.\w])(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, what: 'a global timer', instead: 'port.setTimer(key, ms) or XState `after` on the simulation clock' },
  { pattern: /\bcrypto\.(randomUUID|getRandomValues|randomBytes|randomInt)\b|\brandomBytes\s*\(|\brandomUUID\s*\(/, what: 'crypto randomness', instead: 'Ids (nanoid customRandom on a seeded stream)' },
  { pattern: /\b(asyncScheduler|asapScheduler|animationFrameScheduler|debounceTime|throttleTime|auditTime|sampleTime|bufferTime|windowTime)\b/, what: 'an RxJS real-time scheduler or time operator', instead: 'the bus and the simulation clock' },
  { pattern: /import\s*\{[^}]*\b(interval|timer|delay|timeout)\b[^}]*\}\s*from\s*'rxjs/, what: 'an RxJS time operator', instead: 'the bus and the simulation clock' },
  { pattern: /\bprocess\.env\b/, what: 'the environment', instead: 'scenario fields or CLI options', edgesMay: true },
  { pattern: /\.sessionId\b/, what: 'an XState sessionId (a process-global counter)', instead: 'the actor\'s systemId / address' },
];

/** Method definitions such as the clock's own `setTimeout(fn: ..., ms: number)` are fine. */
function isDefinition(line: string): boolean {
  return /^\s*(setTimeout|clearTimeout|setInterval)\([^)]*:/.test(line);
}

export function scan(file: string, text: string): string[] {
  const out: string[] = [];
  const edge = EDGES.has(file);
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
    if (isDefinition(code)) return;
    for (const b of BANS) {
      if (edge && b.edgesMay) continue;
      if (b.pattern.test(code)) out.push(`${file}:${i + 1}: ${b.what} — use ${b.instead}`);
    }
  });
  return out;
}

function files(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  for (const name of readdirSync(abs).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...files(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

describe('tidy: no ambient time or chance in the simulation core', () => {
  it('src/, actors/, backends/ and sim/ use no banned source of time or randomness', () => {
    const problems = DIRS.flatMap(files).flatMap((f) => scan(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  const planted: [string, string][] = [
    ['Math.random in an actor', 'const x = Math.random();'],
    ['Date.now in a controller', 'const t = Date.now();'],
    ['new Date() for the current time', 'const d = new Date();'],
    ['a global setTimeout', 'setTimeout(() => tick(), 10);'],
    ['crypto.randomUUID for an id', 'const id = crypto.randomUUID();'],
    ['an RxJS time operator', "import { map, delay } from 'rxjs';"],
    ['an XState session id in a key', 'const k = actor.sessionId;'],
  ];
  for (const [what, line] of planted) {
    it(`catches ${what}`, () => expect(scan('actors/planted.ts', line)).to.have.length(1));
  }

  it('allows the clock\'s own setTimeout method and converting a simulated instant to RFC 3339', () => {
    expect(scan('src/clock.ts', '  setTimeout(fn: () => void, ms: number): Timer {')).to.deep.equal([]);
    expect(scan('src/x.ts', 'return new Date(startMs + atMs).toISOString();')).to.deep.equal([]);
    expect(scan('src/x.ts', 'clock.setTimeout(() => {}, 5);')).to.deep.equal([]);
  });

  it('lets only the edges read the wall clock', () => {
    expect(scan('sim/cli/io.ts', 'const t0 = performance.now();')).to.deep.equal([]);
    expect(scan('sim/world.ts', 'const t0 = performance.now();')).to.have.length(1);
  });
});
