/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): `1Gi`, `500Mi`,
 * `10G`, `1.5Gi`, `100m`, `1e3`. Values are compared as numbers of base units; the text a user
 * wrote is kept on the object, as the API server keeps the canonical form for these inputs.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;

/**
 * Texts already parsed (a pure result, remembered): the same few quantities come back on every
 * write and every match. Bounded, so a long run cannot grow it without end.
 */
const parsed = new Map<string, number | string>();
const PARSED_MAX = 4096;

/** Parses a quantity to its value in base units; returns an error string when malformed. */
export function parseQuantity(input: unknown): number | string {
  if (typeof input === 'number' && Number.isFinite(input)) return input;
  if (typeof input !== 'string') return parseText('');
  let v = parsed.get(input);
  if (v === undefined) {
    v = parseText(input);
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(input, v);
  }
  return v;
}

function parseText(input: string): number | string {
  const s = input.trim();
  const m = QUANTITY.exec(s);
  // Message as the API server's quantity decoder words it.
  if (!m) return `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`;
  const num = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return num * BINARY[suffix]!;
  if (suffix in DECIMAL) return num * DECIMAL[suffix]!;
  return num * 10 ** Number(suffix.slice(1));
}

/** Value of a quantity that validation already accepted. */
export function quantityValue(input: unknown): number {
  const v = parseQuantity(input);
  return typeof v === 'number' ? v : NaN;
}
