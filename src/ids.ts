/**
 * Identifiers drawn from a seeded stream through nanoid's customRandom, so the same seed gives
 * the same UIDs. nanoid is pinned exactly (package.json): majors map bytes to ids differently.
 */
import { customRandom } from 'nanoid';
import type { Rng } from './rng.ts';

// Alphabet Kubernetes uses for generateName suffixes (k8s.io/apimachinery/pkg/util/rand).
const K8S_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export class Ids {
  private readonly hex: () => string;
  private readonly suffix5: () => string;

  constructor(rng: Rng) {
    const bytes = (n: number) => rng.bytes(n);
    this.hex = customRandom('0123456789abcdef', 32, bytes);
    this.suffix5 = customRandom(K8S_ALPHANUMS, 5, bytes);
  }

  /** A UID shaped like the API server's (RFC 4122 version 4, as google/uuid.NewRandom). */
  uid(): string {
    const h = this.hex();
    const variant = '89ab'[parseInt(h[16]!, 16) & 3];
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** The 5-character suffix generateName appends (names.SimpleNameGenerator). */
  nameSuffix(): string {
    return this.suffix5();
  }
}
