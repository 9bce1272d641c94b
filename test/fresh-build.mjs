// Some tests start bin/ksim.js, which runs dist/ (the build): before the tests, build it again
// when it is missing or a source changed after it was built (scripts/stale-build.mjs). After
// `npm ci`, and in CI, it is fresh and nothing is built.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLE, staleSource } from '../scripts/stale-build.mjs';

export function mochaGlobalSetup() {
  const why = !existsSync(BUNDLE) ? 'dist/ is missing' : staleSource() && `${staleSource()} changed after dist/ was built`;
  if (!why) return;
  process.stdout.write(`${why}: npm run build\n`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the build failed (npm run build)');
}
