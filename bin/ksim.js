#!/usr/bin/env node
// ksim's command line: the compiled bundle dist/cli/ksim.js, which `npm install` (the `prepare`
// script) and `npm run build` make from the TypeScript sources (scripts/build.mjs). After
// changing the sources, run `npm run build` again.
import { fileURLToPath } from 'node:url';

let cli;
try {
  cli = await import('../dist/cli/ksim.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/ksim.js')) throw e;
  process.stderr.write('ksim: the compiled command line (dist/cli/ksim.js) is missing: run `npm run build` in the ksim folder (npm install runs it)\n');
  process.exit(3);
}
process.exitCode = await cli.launch(process.argv.slice(2), fileURLToPath(import.meta.url));
