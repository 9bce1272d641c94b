#!/usr/bin/env node
// ksim's command line. The sources are TypeScript; tsx compiles them on the fly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Throughput commands run with a 64 MB young generation: a simulation allocates many
// short-lived objects (every XState transition makes a new snapshot), and V8's default
// semi-space makes it collect several times more often (measured with `ksim bench`: about 15%
// of the wall time). The size can only be set when the process starts, hence the one re-exec.
const YOUNG_GENERATION_FLAG = '--max-semi-space-size=64';
const THROUGHPUT_COMMANDS = new Set(['bench']);
const args = process.argv.slice(2);
if (THROUGHPUT_COMMANDS.has(args[0]) && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const child = spawnSync(process.execPath, [YOUNG_GENERATION_FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(args);
