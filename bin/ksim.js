#!/usr/bin/env node
// ksim's command line: the compiled bundle dist/cli/ksim.js, which `npm install` (the `prepare`
// script) and `npm run build` make from the TypeScript sources (scripts/build.mjs).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUNDLE = new URL('../dist/cli/ksim.js', import.meta.url);

// In a clone, the sources sit beside dist/: a source changed since the build would not run.
// About a hundred stat calls, a few milliseconds; an installed package has no sources to check.
function newerThan(dir, ms) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    const newer = e.isDirectory() ? newerThan(path, ms) : e.name.endsWith('.ts') && statSync(path).mtimeMs > ms ? path : undefined;
    if (newer) return newer;
  }
  return undefined;
}
const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
if (existsSync(BUNDLE) && existsSync(`${ROOT}/sim`)) {
  const builtMs = statSync(BUNDLE).mtimeMs;
  let newer;
  for (const d of ['src', 'actors', 'backends', 'sim']) if (!newer && existsSync(`${ROOT}/${d}`)) newer = newerThan(`${ROOT}/${d}`, builtMs);
  if (newer) process.stderr.write(`ksim: warning: ${newer} changed after dist/ was built: this runs the build from before; run \`npm run build\`\n`);
}

let cli;
try {
  cli = await import(BUNDLE);
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || existsSync(BUNDLE)) throw e;
  process.stderr.write('ksim: the compiled command line (dist/cli/ksim.js) is missing: run `npm run build` in the ksim folder (npm install runs it)\n');
  process.exit(3);
}
process.exitCode = await cli.launch(process.argv.slice(2), fileURLToPath(import.meta.url));
