/**
 * Go-style durations (`500ms`, `90s`, `1h30m`, as time.ParseDuration) to integer milliseconds,
 * and kubectl's AGE formatting (k8s.io/apimachinery/pkg/util/duration.HumanDuration).
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** The longest Go time.Duration, (2^63-1) ns, in ms. */
const MAX_GO_DURATION_MS = (2 ** 63 - 1) / 1e6;

/** Parses a Go duration to whole milliseconds; returns an error string when malformed. */
export function parseDuration(text: string): number | string {
  const s = String(text).trim();
  if (s === '0') return 0;
  if (s === '') return 'invalid duration ""';
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  let total = 0;
  let parts = 0;
  while (i < s.length) {
    PART.lastIndex = i;
    const m = PART.exec(s);
    if (!m) return `invalid duration "${s}" (use Go style: 500ms, 90s, 2m, 1h30m)`;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    i = PART.lastIndex;
    parts++;
  }
  if (parts === 0) return `invalid duration "${s}"`;
  if (neg) return `invalid duration "${s}": must not be negative`;
  // time.ParseDuration counts int64 nanoseconds: about 292 years at most.
  if (!(total <= MAX_GO_DURATION_MS)) return `invalid duration "${s}": overflows Go's time.Duration (at most 2562047h47m16.854775807s)`;
  return Math.round(total);
}

/** Formats milliseconds as Go's time.Duration.String would (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${s}s`;
  return out;
}

/** kubectl's AGE column: duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    const y = Math.floor(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
