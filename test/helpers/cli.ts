/** Runs the command line in this process with captured output (no process start per call). */
import { main } from '../../sim/cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function ksimInProcess(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (s) => (out += s.endsWith('\n') ? s : s + '\n'),
    err: (s) => (err += s.endsWith('\n') ? s : s + '\n'),
    wallMs: () => performance.now(),
  });
  return { code, out, err };
}
