/** Edge: the trace's hash function, SHA-256 from node:crypto (deterministic, no randomness). */
import { createHash } from 'node:crypto';
import type { Hasher } from './trace.ts';

export function sha256Hasher(): Hasher {
  const h = createHash('sha256');
  return {
    update: (text) => void h.update(text),
    // copy(): the trace may be digested mid-run (library API) and keep hashing afterwards.
    digest: () => h.copy().digest('hex'),
  };
}
