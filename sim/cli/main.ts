/**
 * The command line (SPEC §4): one file per command beside this one (run.ts, bench.ts), this
 * file the program that parses the arguments and hands them over. An edge of the system: it
 * reads files, the wall clock (only for stats.wallMs and timings) and writes to stdout/stderr.
 * Exit codes: 0 every invariant holds, 1 a violation, 2 bad input or usage, 3 ksim itself
 * failed — never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { cmdRun } from './run.ts';
import { cmdSweep } from './sweep.ts';
import { cmdMerge } from './merge.ts';
import { cmdShrink } from './shrink.ts';
import { defaultIo, terminalSafe, UsageError, type Io } from './io.ts';
import { DEFAULT_MAX_STEPS, MAX_DURATION_MS, MAX_FILE_BYTES, MAX_OBJECTS } from '../../src/scenario/limits.ts';

/** `ksim --version`: the package's version and the Kubernetes version it models. */
function version(): string {
  let v = 'unknown';
  try {
    v = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    // A packaging problem must not stop --version.
  }
  return `ksim ${v} (models Kubernetes v1.30)`;
}

const LIMITS_HELP = `
Limits (docs/input.md): scenario files of at most ${MAX_FILE_BYTES / 1024 / 1024} MiB, at most ${MAX_OBJECTS} objects
of a kind (StatefulSet replicas), at most ${MAX_DURATION_MS / 86_400_000} days of simulated time, timing periods of at
least 10ms, and ${DEFAULT_MAX_STEPS} simulation steps per run unless --max-steps raises it.
Exit codes: 0 every invariant holds, 1 a violation, 2 bad input or usage, 3 ksim itself failed.`;

export type { Io } from './io.ts';

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const program = new Command('ksim')
    .description('deterministic simulator of Kubernetes stateful machinery')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(terminalSafe(s)) })
    .version(version(), '-V, --version', 'print the version of ksim and of Kubernetes it models')
    .addHelpText('after', LIMITS_HELP)
    .showHelpAfterError(false);
  let code = 0;
  program
    .command('run')
    .description('simulate a scenario and print the cluster as kubectl would')
    .argument('[scenario]', 'scenario YAML file (not with --bug list)')
    .option('--seed <n>', 'seed (default: the scenario\'s spec.seed, else 1)')
    .option('--until <duration>', 'stop the clock at this simulated time (e.g. 4m30s)')
    .addOption(new Option('-o, --output <format>', 'table or json').default('table'))
    .option('--trace <file>', 'write the trace to FILE')
    .addOption(new Option('--trace-format <format>', 'jsonl or chrome').default('jsonl'))
    .option('--trace-messages', 'with --trace-format chrome: every bus message as a flow arrow')
    .option('--describe <kind/name>', 'print kubectl describe for an object, with its Events')
    .option('--bug <name>', 're-introduce a known failure mode into one component (--bug list: print them)')
    .option('--validate <mode>', 'fields the v1.30 schema does not have: strict (an error), warn or ignore', 'strict')
    .option('--max-steps <n>', `simulation steps the run may take (default ${DEFAULT_MAX_STEPS})`)
    .addHelpText('after', LIMITS_HELP)
    .exitOverride()
    .action(async (file: string | undefined, o: Record<string, string | undefined>) => {
      code = await cmdRun(file, o, io);
    });
  program
    .command('sweep')
    .description('run many seeds of a scenario on worker threads and summarize the failing ones')
    .argument('<scenario>', 'scenario YAML file')
    .option('--seeds <n>', 'how many seeds to run')
    .option('--start <s>', 'first seed (default 1)')
    .option('--workers <w>', 'worker threads (default: one per core)')
    .option('--shard <i/n>', 'run only the seeds whose offset from the first is I modulo N')
    .option('--jsonl <file>', 'write one JSON line per seed as it finishes')
    .option('--bug <name>', 're-introduce a known failure mode into one component')
    .addOption(new Option('-o, --output <format>', 'text or json').default('text'))
    .exitOverride()
    .action(async (file: string, o: Record<string, string | undefined>) => {
      code = await cmdSweep(file, o, io);
    });
  program
    .command('merge')
    .description('merge the --jsonl files of a sweep\'s shards into the summary of the whole sweep')
    .argument('<files...>', 'JSONL files written by ksim sweep --jsonl')
    .addOption(new Option('-o, --output <format>', 'text or json').default('text'))
    .exitOverride()
    .action(async (files: string[], o: { output?: string }) => {
      code = await cmdMerge(files, o, io);
    });
  program
    .command('shrink')
    .description('from a failing seed, the fewest scripted faults that still break the same invariant, as a scenario file')
    .argument('<scenario>', 'scenario YAML file')
    .option('--seed <n>', 'the failing seed (default: the scenario\'s spec.seed, else 1)')
    .option('--out <file>', 'where to write the shrunk scenario (default: <scenario>-seed<N>-shrunk.yaml here)')
    .option('--bug <name>', 're-introduce a known failure mode into one component')
    .option('--max-runs <n>', 'stop after this many candidate runs with the smallest list found (default 400)')
    .exitOverride()
    .action(async (file: string, o: Record<string, string | undefined>) => {
      code = await cmdShrink(file, o, io);
    });
  program
    .command('bench')
    .description('measure simulation speed')
    .option('--json', 'print the figures as JSON')
    .option('--claims <n>', 'claims and volumes in the binding benchmark', '10000')
    .option('--sweep-seeds <n>', 'seeds per worker in the sweep benchmark', '100')
    .option('--scale [parts]', 'the scale benchmarks instead: target, cluster, set, chaos, 100k, comma-separated (default: all)')
    .option('--scale-seeds <n>', 'seeds of the chaos scale benchmark', '10')
    .option('--scale-scenario <shape>', 'print the scale scenario NODESxSETSxREPLICAS[+chaosN] as YAML (to ksim run it)')
    .addOption(new Option('--scale-run <shape>', 'run one scale scenario and print its figures (a child of --scale)').hideHelp())
    .addOption(new Option('--scale-seed <n>', 'the seed of --scale-run').hideHelp().default('1'))
    .exitOverride()
    .action(async (o: { json?: boolean; claims?: string; sweepSeeds?: string; scale?: string | true; scaleSeeds?: string; scaleScenario?: string; scaleRun?: string; scaleSeed?: string }) => {
      if (o.claims !== undefined && !/^[1-9]\d*$/.test(o.claims)) throw new UsageError(`--claims: "${o.claims}" is not a positive integer`);
      if (o.sweepSeeds !== undefined && !/^[1-9]\d*$/.test(o.sweepSeeds)) throw new UsageError(`--sweep-seeds: "${o.sweepSeeds}" is not a positive integer`);
      if (o.scaleSeeds !== undefined && !/^[1-9]\d*$/.test(o.scaleSeeds)) throw new UsageError(`--scale-seeds: "${o.scaleSeeds}" is not a positive integer`);
      if (o.scaleSeed !== undefined && !/^[1-9]\d*$/.test(o.scaleSeed)) throw new UsageError(`--scale-seed: "${o.scaleSeed}" is not a positive integer`);
      if (o.scaleScenario !== undefined) {
        const { parseScaleShape, scaleScenarioYaml } = await import('../bench/scale.ts');
        const shape = parseScaleShape(o.scaleScenario);
        if (!shape) throw new UsageError(`--scale-scenario: "${o.scaleScenario}" is not NODESxSETSxREPLICAS[+chaosN], such as 1000x1000x10`);
        io.out(scaleScenarioYaml(shape));
        return;
      }
      if (o.scaleRun !== undefined || o.scale !== undefined) {
        const b = await import('./bench-scale.ts');
        if (o.scaleRun !== undefined) code = b.scaleRunChild(o.scaleRun, Number(o.scaleSeed ?? '1'), io);
        else code = await b.benchScale({ ...o, scale: o.scale! }, io);
        return;
      }
      const { bench } = await import('./bench.ts');
      code = await bench(o, io);
    });
  try {
    if (argv.length === 0) {
      io.err(program.helpInformation());
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(terminalSafe(`ksim: ${e.message}`));
      return 2;
    }
    // A bug in ksim: one line, never a stack trace.
    io.err(terminalSafe(`ksim: internal error (a ksim bug): ${String((e as Error)?.message ?? e).split('\n')[0]}`));
    return 3;
  }
}
