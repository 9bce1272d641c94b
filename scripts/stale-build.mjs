/**
 * Whether dist/ is older than the sources, in a clone (an installed package has no sources):
 * bin/ksim.js warns, and the test run (test/fresh-build.mjs) builds again, since some tests
 * start bin/ksim.js. About a hundred stat calls, a few milliseconds.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
/** What the build writes last (scripts/build.mjs): its time is the build's. */
export const BUNDLE = `${ROOT}/dist/cli/ksim.js`;
const SOURCES = ['src', 'actors', 'backends', 'sim'];

function newerThan(dir, ms) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    const newer = e.isDirectory() ? newerThan(path, ms) : e.name.endsWith('.ts') && statSync(path).mtimeMs > ms ? path : undefined;
    if (newer) return newer;
  }
  return undefined;
}

/** The first source file changed after the build, or undefined (also when nothing is built). */
export function staleSource() {
  if (!existsSync(BUNDLE)) return undefined;
  const builtMs = statSync(BUNDLE).mtimeMs;
  for (const d of SOURCES) {
    const newer = existsSync(`${ROOT}/${d}`) ? newerThan(`${ROOT}/${d}`, builtMs) : undefined;
    if (newer) return newer;
  }
  return undefined;
}
