/**
 * The build (`npm run build`; `npm install` and `npm pack` run it through `prepare`):
 *
 * 1. tsc compiles the runtime sources (src/, actors/, backends/, sim/) to dist/ as JavaScript
 *    with type declarations (tsconfig.build.json): the library that `import ... from 'ksim'`
 *    loads (package.json `exports`).
 * 2. esbuild bundles that JavaScript, with the dependencies, into dist/cli/: the command line
 *    (ksim.js, which bin/ksim.js loads) and the sweep's worker (sweep-worker.js, started by
 *    sim/sweep.ts from the same folder). A process then reads a few files instead of about 430
 *    (rxjs alone is 224 modules, yaml 72): that, not the simulation, was most of `ksim run`'s
 *    start (docs/speed.md). The bundle is made from tsc's output, so it runs the same code.
 *
 * dist/cli/ sits two folders below the package root, as sim/cli/ does: the command line finds
 * package.json (`--version`) and examples/ (`bench`) at `../../` from its own module.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const require = createRequire(import.meta.url);

/** Where a package is installed, or undefined: `npm ci --omit=dev` leaves out the compilers. */
function installed(name) {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

const typescript = installed('typescript');
if (typescript === undefined || installed('esbuild') === undefined) {
  process.stderr.write('ksim: dist/ is not built: the build needs the devDependencies typescript and esbuild (npm install without --omit=dev)\n');
  // As `prepare` of an install that omitted them, the install itself is not an error.
  process.exit(process.env.npm_lifecycle_event === 'prepare' ? 0 : 1);
}

rmSync(join(ROOT, 'dist'), { recursive: true, force: true });

const tsc = join(typescript, 'bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const esbuild = await import('esbuild');
await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: { ksim: 'dist/sim/cli/launch.js', 'sweep-worker': 'dist/sim/sweep-worker.js' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'node20',
  // 'neutral' and the ES module builds of the dependencies (rxjs, yaml): esbuild drops what
  // ksim does not use from them, where their CommonJS builds for Node come whole.
  platform: 'neutral',
  mainFields: ['module', 'main'],
  external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
  // The CommonJS dependencies (commander, seedrandom, ...) call require() for Node's modules.
  banner: { js: "import { createRequire as __ksimCreateRequire } from 'node:module'; const require = __ksimCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
