/**
 * How a fault is written back (SPEC §1's scripted form): the record the report's `faults` lists
 * and a drawn schedule prints, which pasted into spec.faults replays the same faults, and the
 * one-line text the trace and the terminal show. Pure functions of the Fault record.
 */
import type { Fault } from '../src/scenario/types.ts';
import { formatDuration } from '../src/duration.ts';

/** A scripted fault as YAML/JSON: `{at: '4m', crash: 'node/node-1', for: '2m'}`. */
export type ScriptedFault = Record<string, unknown>;

const rate = (r: number): number => Math.round(r * 1e6) / 1e6;

function between(b: string[][] | undefined): Record<string, unknown> {
  return b ? { between: b.map((g) => [...g]) } : {};
}

/** The fault's own field (`crash: node/node-1`, `messageLoss: {rate: 0.05}`), without at/for. */
export function faultBody(f: Fault): Record<string, unknown> {
  switch (f.kind) {
    case 'crash':
    case 'restart':
      return { [f.kind]: f.host };
    case 'partition':
      return { partition: f.groups.map((g) => [...g]), ...(f.oneWay ? { oneWay: true } : {}) };
    case 'messageLoss':
    case 'messageDuplicate':
      return { [f.kind]: { rate: rate(f.rate), ...between(f.between) } };
    case 'messageDelay':
      return { messageDelay: { min: formatDuration(f.minMs), max: formatDuration(f.maxMs), rate: rate(f.rate), ...between(f.between) } };
    case 'messageReorder':
      return { messageReorder: { rate: rate(f.rate), window: formatDuration(f.windowMs), ...between(f.between) } };
    case 'outage':
      return { outage: f.backend };
    case 'wipeDisk':
      return { wipeDisk: f.node };
    case 'dnsFailure':
      return { dnsFailure: { mode: f.mode, rate: rate(f.rate) } };
    case 'clockSkew':
      return { clockSkew: { node: f.node, by: f.byMs < 0 ? `-${formatDuration(-f.byMs)}` : formatDuration(f.byMs) } };
    case 'csiError':
      return { csiError: { backend: f.backend, rpc: f.rpc, code: f.code, rate: rate(f.rate) } };
    case 'staleView':
      return { staleView: { controller: f.controller, by: formatDuration(f.byMs) } };
    case 'dropWatch':
      return { dropWatch: { controller: f.controller, rate: rate(f.rate) } };
    case 'crashMidReconcile':
      return { crashMidReconcile: { controller: f.controller, afterWrites: f.afterWrites } };
  }
}

/** The scripted form: `at`, the fault's field, then `for` when it heals. */
export function scriptedFault(f: Fault): ScriptedFault {
  return { at: formatDuration(f.atMs), ...faultBody(f), ...(f.forMs !== undefined ? { for: formatDuration(f.forMs) } : {}) };
}

/** YAML flow text of a value, as a user writes it in a scenario. */
function flow(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')}}`;
  if (typeof v === 'string') return /^[A-Za-z0-9_./-]+$/.test(v) && !/^[0-9.-]+$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

/** One line of YAML that pastes into spec.faults: `- {at: 4m, crash: node/node-1, for: 2m}`. */
export function faultYaml(f: Fault): string {
  return `- ${flow(scriptedFault(f))}`;
}

/** A short text for the trace and timelines: `crash node/node-1 for 2m`. */
export function faultText(f: Fault): string {
  const [name, value] = Object.entries(faultBody(f))[0]!;
  const extra = f.kind === 'partition' && f.oneWay ? ' oneWay' : '';
  return `${name} ${flow(value)}${extra}${f.forMs !== undefined ? ` for ${formatDuration(f.forMs)}` : ''}`;
}

/** The hosts a fault hits, in SPEC §1's names (empty: every host, a message fault without `between`). */
export function faultHosts(f: Fault): string[] {
  switch (f.kind) {
    case 'crash':
    case 'restart':
      return [f.host];
    case 'partition':
      return f.groups.flat();
    case 'messageLoss':
    case 'messageDuplicate':
    case 'messageDelay':
    case 'messageReorder':
      return f.between ? f.between.flat() : [];
    case 'outage':
    case 'csiError':
      return [f.backend];
    case 'wipeDisk':
      return [f.node];
    case 'clockSkew':
      return [f.node];
    case 'dnsFailure':
      return ['cluster-dns'];
    case 'staleView':
    case 'dropWatch':
    case 'crashMidReconcile':
      return [f.controller === 'external-provisioner' ? 'external-provisioner' : 'kube-controller-manager'];
  }
}
