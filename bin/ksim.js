#!/usr/bin/env node
// ksim's command line: the compiled bundle dist/cli/ksim.js, which `npm install` (the `prepare`
// script) and `npm run build` make from the TypeScript sources (scripts/build.mjs).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUNDLE = new URL('../dist/cli/ksim.js', import.meta.url);

// In a clone, a source changed since the build would not run: say so (an installed package
// has neither the sources nor this check).
const STALE_CHECK = new URL('../scripts/stale-build.mjs', import.meta.url);
if (existsSync(STALE_CHECK)) {
  const newer = (await import(STALE_CHECK)).staleSource();
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
