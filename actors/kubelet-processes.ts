/**
 * What a container's process does, for the few processes ksim runs to their end. Every other
 * container runs until it is stopped (ksim does not interpret commands).
 *
 * - The PV recycler's scrub (pkg/volume/plugins.go NewPersistentVolumeRecyclerPodTemplate:
 *   `/bin/sh -c 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)"
 *   || exit 1'`): empties the directory mounted at /scrub, then exits 0; exits 1 when there is
 *   nothing at /scrub or the volume refuses (read-only, gone).
 */
import type { Container } from 'kubernetes-types/core/v1.js';
import { RECYCLER_SCRUB_ARGS } from './controllers/pv-utils.ts';

export type Process = { kind: 'scrub'; path: string };

/** The process a container runs, when ksim runs it to its end. */
export function processOf(c: Container): Process | undefined {
  const cmd = [...(c.command ?? []), ...(c.args ?? [])];
  if (cmd.length === 3 && cmd[0] === '/bin/sh' && cmd[1] === RECYCLER_SCRUB_ARGS[0] && cmd[2] === RECYCLER_SCRUB_ARGS[1]) return { kind: 'scrub', path: '/scrub' };
  return undefined;
}
