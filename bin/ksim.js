#!/usr/bin/env node
// ksim's command line. The sources are TypeScript; tsx compiles them on the fly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Throughput commands run with a young generation of up to 256 MB semi-spaces: a simulation
// allocates many short-lived objects (every XState transition allocates about 4.6 KB), and with
// V8's default size the collector runs far more often (measured with `ksim bench`: 64 MB saves
// 12-15% of the wall time, 256 MB another 5-10% on the 10,000-claim binding, with the same peak
// memory). The size can only be set when the process starts, hence the one re-exec.
const YOUNG_GENERATION_FLAG = '--max-semi-space-size=256';
// bench also collects the garbage of one run before the next (global.gc), so that a run does
// not pay for the previous run's world.
const EXPOSE_GC_FLAG = '--expose-gc';
const THROUGHPUT_COMMANDS = new Set(['bench']);
const args = process.argv.slice(2);
if (THROUGHPUT_COMMANDS.has(args[0]) && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const child = spawnSync(process.execPath, [YOUNG_GENERATION_FLAG, EXPOSE_GC_FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../sim/cli/main.ts');
process.exitCode = await main(args);
