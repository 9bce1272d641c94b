/**
 * Loads a scenario file (SPEC.md §1) into a validated Scenario, or into the list of every problem
 * found, one line each: `file:line:col: Kind "name": field.path: what is wrong`.
 *
 * The YAML is parsed with `parseAllDocuments` so that a syntax error in one document is reported
 * with its line and column without hiding the others' problems; each semantic problem carries a
 * field path that is walked back through the YAML node tree to its line:col (falling back to the
 * nearest enclosing node). Manifests pass the strict decoder first (src/model/decode.ts:
 * types, int32, unknown fields per `--validate`), then are checked as the API server would on
 * create (a defaulted copy through src/model/validation.ts) but kept as written. Kinds ksim
 * does not model are skipped with a warning, as SPEC §1 asks; an apiVersion that does not serve
 * a modelled kind is kubectl's `no matches for kind "X" in version "Y"`.
 *
 * Input is read as kubectl reads it (sigs.k8s.io/yaml) and bounded by ksim's limits
 * (src/scenario/limits.ts, docs/input.md): control characters, duplicate and complex keys and
 * nesting are checked on the node tree in one pass; at most MAX_PROBLEMS lines are returned.
 * Every message stays on one line (user strings quoted as Go's strconv.Quote does).
 *
 * loadScenarioText is pure (no fs), so the core can load scenarios in a browser; only
 * loadScenarioFile touches node:fs, looked up at call time rather than imported. Nothing here
 * throws on bad input.
 */
import {
  isAlias, isCollection, isMap as isYamlMap, isNode, isPair, isScalar, isSeq as isYamlSeq, LineCounter, parseAllDocuments,
  type Document,
} from 'yaml';
import { applyDefaults } from '../model/defaults.ts';
import { formatDuration } from '../duration.ts';
import { deepCopy, isNamespaced, qualifiedResource } from '../model/objects.ts';
import { goQuote, isDNS1123Subdomain, validateObject, validateStatefulSetTemplates } from '../model/validation.ts';
import { decodeObject, rfc3339Problem, type FieldValidation } from '../model/decode.ts';
import { BOOTSTRAP_CLUSTER_IPS, clusterIPAllocationProblem, ksimObjectLimits } from '../model/admission.ts';
import { clusterCIDRProblem } from '../model/cidr.ts';
import { MAX_DEPTH, MAX_DOCUMENTS, MAX_DURATION_MS, MAX_FILE_BYTES, MAX_PROBLEMS, MIN_PERIOD_MS } from './limits.ts';
import type { KObject } from '../protocol.ts';
import {
  checkKeys, durationAt, intAt, isMap, nullProto, parseActions, quoteList, show, unsupported,
  type Seg, type SpecContext,
} from './actions.ts';
import { monitorNames, parseChaos, parseFaults, type FaultContext } from './faults.ts';
import type { BackendSpec, LoadWarning, Manifest, Scenario, SourcePos } from './types.ts';
import { effectiveProvisioner } from '../model/csi-translation.ts';

export type LoadResult = { ok: true; scenario: Scenario; warnings: LoadWarning[] } | { ok: false; errors: string[]; warnings: LoadWarning[] };

export interface LoadOptions {
  /**
   * kubectl's --validate (SPEC §1): `strict` (the default) makes a field the v1.30 schema does
   * not have an error, `warn` a warning, `ignore` nothing; the field is dropped unless strict.
   */
  validate?: FieldValidation;
}

/** The invariant names of SPEC §6, in table order. */
export const INVARIANTS: readonly string[] = [
  'rwo-single-node', 'rwop-single-pod', 'sts-identity-unique', 'pv-pvc-one-to-one', 'no-data-loss', 'reclaim-policy',
  'protection', 'hostpath-affinity', 'ordered-ready', 'dns-consistent', 'converges', 'expectations',
];

/**
 * Timings a Scenario may override under spec.timings, with Kubernetes' defaults in ms (the
 * timing table of reference/k8s-semantics.md, names in camelCase after the upstream flag or
 * constant). Values are durations (`40s`); names ending in `Seconds` also take a number of seconds.
 */
export const TIMING_DEFAULTS_MS: Readonly<Record<string, number>> = nullProto({
  nodeLeaseDurationSeconds: 40_000, // NodeLeaseDurationSeconds, kubelet config v1beta1 defaults
  nodeLeaseRenewInterval: 10_000, // leaseDuration × renewIntervalFraction 0.25, pkg/kubelet/nodelease/controller.go
  nodeStatusUpdateFrequency: 10_000, // kubelet config v1beta1 defaults
  nodeStatusReportFrequency: 300_000, // same
  nodeMonitorPeriod: 5_000, // pkg/controller/apis/config/v1alpha1/defaults.go
  nodeMonitorGracePeriod: 40_000, // nodelifecycle/config/v1alpha1/defaults.go
  nodeStartupGracePeriod: 60_000, // same
  podEvictionTimeout: 300_000, // same (legacy path only)
  defaultNotReadyTolerationSeconds: 300_000, // plugin/pkg/admission/defaulttolerationseconds/admission.go
  defaultUnreachableTolerationSeconds: 300_000, // same
  reconcilerLoopPeriod: 100, // attach_detach_controller.go DefaultTimerConfig
  maxWaitForUnmountDuration: 360_000, // same
  desiredStateOfWorldPopulatorLoopSleepPeriod: 60_000, // same
  desiredStateOfWorldPopulatorListPodsRetryDuration: 180_000, // same
  reconcilerSyncDuration: 60_000, // attachdetach/config/v1alpha1/defaults.go
  pvClaimBinderSyncPeriod: 15_000, // persistentvolume/config/v1alpha1/defaults.go
  bindTimeoutSeconds: 600_000, // volumebinding.DefaultBindTimeoutSeconds
  podAttachAndMountTimeout: 123_000, // pkg/kubelet/volumemanager/volume_manager.go
  waitForAttachTimeout: 600_000, // same
  initialDurationBeforeRetry: 500, // pkg/util/goroutinemap/exponentialbackoff
  maxDurationBeforeRetry: 122_000, // same
  backOffPeriod: 10_000, // container restart backoff, pkg/kubelet/kubelet.go
  maxContainerBackOff: 300_000, // same
  terminationGracePeriodSeconds: 30_000, // DefaultTerminationGracePeriodSeconds
  quarantineTime: 40_000, // podgc/gc_controller.go
  gcCheckPeriod: 20_000, // same
  dnsTtl: 5_000, // coredns plugin/kubernetes defaultTTL
  dnsNegativeTtl: 5_000, // coredns SOA minimum
  dnsCacheMinTtl: 5_000, // coredns plugin/cache
  dnsCacheMaxTtl: 3_600_000, // same
  csiTimeout: 10_000, // external-provisioner --timeout
  retryIntervalStart: 1_000, // external-provisioner --retry-interval-start
  retryIntervalMax: 300_000, // external-provisioner --retry-interval-max
  rbdWatcherWait: 49_000, // ceph-csi rbd_util.go: 1s ×1.4, 10 checks
  osdClientWatchTimeout: 30_000, // Ceph osd_client_watch_timeout
  blocklistExpiry: 3_600_000, // Ceph blocklist default expiry
  nfsTimeo: 60_000, // nfs(5) timeo for TCP
  kubeletStartDelayMin: 1_000, // ksim's seeded container start delay (SPEC §2)
  kubeletStartDelayMax: 5_000, // same
  settle: 600_000, // SPEC §6 converges: how long after the last heal the cluster must have converged
});

/**
 * The timings that are periods of a loop (a timer that re-arms itself): each must be at least
 * MIN_PERIOD_MS. The others are waits and timeouts, which may be 0.
 */
const PERIOD_TIMINGS = new Set([
  'nodeLeaseRenewInterval', 'nodeStatusUpdateFrequency', 'nodeStatusReportFrequency', 'nodeMonitorPeriod', 'reconcilerLoopPeriod',
  'desiredStateOfWorldPopulatorLoopSleepPeriod', 'reconcilerSyncDuration', 'pvClaimBinderSyncPeriod', 'initialDurationBeforeRetry',
  'backOffPeriod', 'gcCheckPeriod', 'retryIntervalStart', 'nfsTimeo', 'nodeLeaseDurationSeconds',
]);

/** The modelled kinds and the apiVersion that serves each. */
const MODELLED: Readonly<Record<string, string>> = nullProto({
  Namespace: 'v1',
  Node: 'v1',
  PersistentVolume: 'v1',
  PersistentVolumeClaim: 'v1',
  StorageClass: 'storage.k8s.io/v1',
  Pod: 'v1',
  StatefulSet: 'apps/v1',
  Service: 'v1',
});

const SCENARIO_API_VERSION = 'ksim/v1';
const SPEC_KEYS = ['seed', 'duration', 'startTime', 'cluster', 'backends', 'network', 'actions', 'faults', 'chaos', 'invariants', 'timings'];
const BACKEND_TYPES = ['rbd', 'nfs', 'csi', 'hostpath'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_ALIASES = 100;
const MAX_NODES = 1000;

const DEFAULTS = {
  seed: 1,
  durationMs: 600_000,
  nodes: 3,
  latencyMsMin: 1,
  latencyMsMax: 10,
  startTime: '2025-01-01T00:00:00Z',
};

/**
 * Reads and loads a scenario file; an unreadable file is an error result, never a throw. Only
 * regular files of at most MAX_FILE_BYTES are read (a device such as /dev/zero never ends, a
 * FIFO blocks its reader), and the text must be UTF-8, as YAML requires.
 */
export function loadScenarioFile(path: string, opts: LoadOptions = {}): LoadResult {
  // node:fs is looked up when called, not imported, so that this module (and loadScenarioText)
  // also loads in a browser.
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  if (!fs) return { ok: false, errors: [`${path}: reading files needs Node.js >= 20.16; use loadScenarioText`], warnings: [] };
  const shown = quoteUnsafe(path);
  const fail = (why: string): LoadResult => ({ ok: false, errors: [`${shown}: ${why}`], warnings: [] });
  if (path.includes('\0')) return fail('no such file (a path cannot contain a NUL byte)');
  let bytes: Uint8Array;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) return fail('is a directory');
    if (!st.isFile()) return fail('not a regular file (a device, FIFO or socket): ksim reads scenarios from files');
    if (st.size > MAX_FILE_BYTES) return fail(`file is ${st.size} bytes: ksim reads scenario files of at most ${MAX_FILE_BYTES} bytes (4 MiB)`);
    // Read at most one byte more than the limit, in case the file grew since stat.
    const fd = fs.openSync(path, 'r');
    try {
      const buf = new Uint8Array(Math.min(st.size, MAX_FILE_BYTES) + 1);
      let n = 0;
      for (;;) {
        const got = fs.readSync(fd, buf, n, buf.length - n, null);
        if (got === 0) break;
        n += got;
        if (n === buf.length) break;
      }
      if (n > MAX_FILE_BYTES) return fail(`file is larger than ${MAX_FILE_BYTES} bytes: ksim reads scenario files of at most 4 MiB`);
      bytes = buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : `cannot be read (${code ?? 'error'})`;
    return fail(why);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('yaml: invalid UTF-8 (a scenario file is YAML text)');
  }
  return loadScenarioText(text, path, opts);
}

/** Loads a scenario from its text; `file` names it in messages. Pure. */
export function loadScenarioText(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  try {
    return new Loader(text, file, opts.validate ?? 'strict').load();
  } catch (e) {
    // A bug here must still not become a stack trace for the user.
    return { ok: false, errors: [`${quoteUnsafe(file)}: internal error while loading the scenario (a ksim bug): ${oneLine(String((e as Error)?.message ?? e))}`], warnings: [] };
  }
}

/**
 * Characters YAML does not allow in a stream (c-printable of YAML 1.2; go-yaml, which kubectl
 * uses, rejects them with "control characters are not allowed"): C0 controls but tab, LF and
 * CR, DEL, C1 controls but NEL, U+FFFE/U+FFFF and unpaired surrogates.
 */
const NOT_PRINTABLE = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A text shown to the user on one line: control characters escaped, long text cut. */
export function oneLine(s: string, max = 300): string {
  const q = goQuote(s);
  const inner = q.slice(1, -1).replace(/[\u0080-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return inner.length > max ? `${inner.slice(0, max - 3)}...` : inner;
}

/** A file name or other user text printed as is unless it holds characters a terminal would act on. */
export function quoteUnsafe(s: string): string {
  return s === '' || /[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(s) ? goQuote(s) : s;
}

// ---------------------------------------------------------------------------------------------

interface Problem {
  pos: SourcePos;
  text: string;
}

/** One YAML document and where it sits. */
interface Doc {
  doc: Document.Parsed;
  value: unknown;
}

/** A manifest that passed its checks, with where it came from. */
interface Checked {
  obj: KObject;
  pos: SourcePos;
}

class Loader {
  private readonly lc = new LineCounter();
  private readonly problems: Problem[] = [];
  private readonly warnings: LoadWarning[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
    private readonly validation: FieldValidation,
  ) {}

  load(): LoadResult {
    const bad = NOT_PRINTABLE.exec(this.text);
    if (bad && !(bad.index === 0 && bad[0] === '\uFEFF')) {
      this.lc.addNewLine(0);
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) this.lc.addNewLine(i + 1);
      const code = bad[0].charCodeAt(0).toString(16).padStart(4, '0');
      this.problem(this.pos(bad.index), `yaml: control characters are not allowed (U+${code.toUpperCase()})`);
      return this.result(undefined);
    }
    // Duplicate keys are found by checkStructure in linear time (the parser's own check is
    // quadratic in the keys of a mapping); warnings are collected, never printed by the library.
    const docs = parseAllDocuments(this.text, { lineCounter: this.lc, prettyErrors: false, merge: true, uniqueKeys: false, logLevel: 'silent' });
    if ('empty' in docs) {
      for (const e of docs.errors) this.problem(this.pos(e.pos[0]), this.yamlMessage(e.message));
    }
    const manifests: Manifest[] = [];
    const seen = new Map<string, SourcePos>();
    let scenarioDoc: Doc | undefined;
    let count = 0;
    for (const doc of docs) {
      if (++count > MAX_DOCUMENTS) {
        this.problem(this.pos(doc.range[0]), `the file holds more than ${MAX_DOCUMENTS} YAML documents, the most ksim reads (docs/input.md)`);
        break;
      }
      const d = this.toValue(doc);
      if (!d) continue;
      if (isMap(d.value) && d.value.kind === 'Scenario') {
        if (scenarioDoc) {
          this.problem(this.posIn(doc, []), `Scenario ${goQuote(String((d.value.metadata as { name?: unknown } | undefined)?.name ?? ''))}: kind: a file may hold at most one Scenario document`);
          continue;
        }
        scenarioDoc = d;
        continue;
      }
      const m = this.checkManifest(d.value, doc, [], 'document');
      if (!m) continue;
      const key = identity(m.obj);
      const first = seen.get(key);
      if (first) {
        const name = m.obj.metadata.name ?? '';
        this.problem(this.posIn(doc, ['metadata', 'name']), `${m.obj.kind} ${goQuote(name)}: metadata.name: ${qualifiedResource(m.obj.kind)} ${goQuote(name)} already exists (first defined at ${fmtPos(first)})`);
        continue;
      }
      seen.set(key, m.pos);
      this.docOf.set(m.obj, doc);
      manifests.push({ obj: m.obj, pos: m.pos });
    }
    this.checkClusterIPs(manifests);
    return this.result(this.scenario(scenarioDoc, manifests));
  }

  private result(scenario: Scenario | undefined): LoadResult {
    if (this.problems.length > 0 || !scenario) {
      const sorted = [...this.problems].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
      const errors = sorted.slice(0, MAX_PROBLEMS).map((p) => p.text);
      if (sorted.length > MAX_PROBLEMS) errors.push(`${quoteUnsafe(this.file)}: ... and ${sorted.length - MAX_PROBLEMS} more problems (the first ${MAX_PROBLEMS} are shown)`);
      return { ok: false, errors, warnings: this.warnings };
    }
    return { ok: true, scenario, warnings: this.warnings };
  }

  // -------------------------------------------------------------------------------------------
  // YAML

  /** A document's JS value, or undefined when it is empty or broken (its problems reported). */
  private toValue(doc: Document.Parsed): Doc | undefined {
    for (const w of doc.warnings) this.warnings.push({ pos: this.pos(w.pos[0]), message: `yaml: ${oneLine(w.message)}` });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) this.problem(this.pos(e.pos[0]), this.yamlMessage(e.message));
      return undefined;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return undefined;
    if (!this.checkStructure(doc)) return undefined;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      const msg = (e as Error).message;
      this.problem(this.posIn(doc, []), /call stack/i.test(msg) ? this.yamlMessage(msg) : `yaml: ${oneLine(msg)} (aliases are limited to ${MAX_ALIASES} expansions)`);
      return undefined;
    }
    return { doc, value };
  }

  /**
   * What sigs.k8s.io/yaml (kubectl's YAML) rejects and the parser lets through, checked in one
   * pass over the node tree without recursion: a key given twice in one mapping, a key that is
   * itself a mapping or list (JSON keys are strings), and nesting deeper than MAX_DEPTH.
   * Aliases are not followed (toJS bounds their expansion).
   */
  private checkStructure(doc: Document.Parsed): boolean {
    let ok = true;
    const stack: [unknown, number][] = [[doc.contents, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      if (!isCollection(node)) continue;
      if (depth > MAX_DEPTH) {
        this.problem(this.pos(node.range?.[0] ?? 0), `yaml: mappings and lists are nested more than ${MAX_DEPTH} deep, the most ksim reads (docs/input.md)`);
        return false;
      }
      if (isYamlMap(node)) {
        const keys = new Set<string>();
        for (const pair of node.items) {
          if (!isPair(pair)) continue;
          const k = pair.key;
          if (isCollection(k)) {
            const at = k.range ? k.range[0] : 0;
            const src = k.range ? this.text.slice(k.range[0], k.range[1]) : '';
            this.problem(this.pos(at), `error converting YAML to JSON: yaml: invalid map key: ${oneLine(src, 60)} (a key must be a string)`);
            ok = false;
            continue;
          }
          const text = keyText(k);
          if (text !== '<<') {
            if (keys.has(text)) {
              this.problem(this.pos(isNode(k) && k.range ? k.range[0] : 0), `yaml: key ${goQuote(text)} already set in map`);
              ok = false;
            }
            keys.add(text);
          }
          stack.push([pair.value, depth + 1]);
        }
      } else {
        for (const item of node.items) stack.push([item, depth + 1]);
      }
    }
    return ok;
  }

  private pos(offset: number): SourcePos {
    const { line, col } = this.lc.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Where a field path points in a document: the key of the deepest field that exists. */
  private posIn(doc: Document.Parsed, path: readonly Seg[]): SourcePos {
    let node: unknown = doc.contents;
    let best = isNode(node) && node.range ? node.range[0] : doc.range[0];
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isYamlMap(node)) {
        const pair = this.pairOf(node, String(seg));
        if (!pair) break;
        if (isNode(pair.key) && pair.key.range) best = pair.key.range[0];
        node = pair.value;
      } else if (isYamlSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (!isNode(item) || !item.range) break;
        best = item.range[0];
        node = item;
      } else {
        break;
      }
    }
    return this.pos(best);
  }

  /** The pairs of each mapping by key, built on first use: a lookup per problem stays O(1). */
  /** The document each manifest came from, for positions of checks across documents. */
  private readonly docOf = new Map<KObject, Document.Parsed>();

  private readonly pairIndex = new WeakMap<object, Map<string, { key: unknown; value: unknown }>>();

  private pairOf(node: { items: { key: unknown; value: unknown }[] }, key: string): { key: unknown; value: unknown } | undefined {
    if (node.items.length < 16) return node.items.find((p) => keyText(p.key) === key);
    let idx = this.pairIndex.get(node);
    if (!idx) {
      idx = new Map();
      for (const p of node.items) {
        const k = keyText(p.key);
        if (!idx.has(k)) idx.set(k, p);
      }
      this.pairIndex.set(node, idx);
    }
    return idx.get(key);
  }

  private problem(pos: SourcePos, text: string): void {
    this.problems.push({ pos, text: `${fmtPos(pos)}: ${text}` });
  }

  /** A YAML library message for the user; its own stack overflow on deep nesting is ksim's depth limit. */
  private yamlMessage(message: string): string {
    if (/call stack/i.test(message)) return `yaml: mappings and lists are nested more than ${MAX_DEPTH} deep, the most ksim reads (docs/input.md)`;
    return `yaml: ${oneLine(message)}`;
  }

  /** ksim's warnings of the loader, one line each. */
  private warn(pos: SourcePos, message: string): void {
    this.warnings.push({ pos, message });
  }

  // -------------------------------------------------------------------------------------------
  // Manifests

  /**
   * Checks one manifest at `base` inside `doc`: kind and apiVersion, then validation of a
   * defaulted copy. Documents of unmodelled kinds are skipped with a warning; in an `apply`
   * action such a kind is an error (it cannot exist).
   */
  private checkManifest(raw: unknown, doc: Document.Parsed, base: readonly Seg[], mode: 'document' | 'apply', namespace?: string): Checked | undefined {
    const pos = this.posIn(doc, base);
    const at = (path: readonly Seg[]) => this.posIn(doc, [...base, ...path]);
    if (!isMap(raw)) {
      this.problem(pos, `Invalid value: ${show(raw)}: a manifest must be a mapping with apiVersion, kind and metadata`);
      return undefined;
    }
    const meta = raw.metadata;
    const metaName = isMap(meta) ? (meta.name ?? meta.generateName) : undefined;
    const name = typeof metaName === 'string' ? metaName : '';
    const kind = raw.kind;
    const apiVersion = raw.apiVersion;
    const noKind = typeof kind !== 'string' || kind === '';
    const noApiVersion = typeof apiVersion !== 'string' || apiVersion === '';
    if (noKind || noApiVersion) {
      // kubectl's client-side check of every document: `error validating data: [apiVersion not
      // set, kind not set]` (a fragment such as `volumes:` gets both).
      const missing = [...(noApiVersion ? ['apiVersion not set'] : []), ...(noKind ? ['kind not set'] : [])];
      const what = noKind ? 'Object' : String(kind);
      this.problem(noKind && noApiVersion ? pos : at([noKind ? 'kind' : 'apiVersion']), `${oneLine(what, 60)} ${goQuote(name)}: error validating data: ${missing.length > 1 ? `[${missing.join(', ')}]` : missing[0]}`);
      return undefined;
    }
    const label = `${oneLine(kind as string, 60)} ${goQuote(name)}`;
    const served = Object.hasOwn(MODELLED, kind as string) ? MODELLED[kind as string] : undefined;
    if (served === undefined) {
      if (mode === 'document') {
        this.warn(pos, `skipping ${label}: kind not modelled by ksim`);
      } else {
        this.problem(at(['kind']), `${label}: kind: kind not modelled by ksim (modelled: ${Object.keys(MODELLED).join(', ')})`);
      }
      return undefined;
    }
    if (apiVersion !== served) {
      this.problem(at(['apiVersion']), `${label}: apiVersion: no matches for kind ${goQuote(kind as string)} in version ${goQuote(apiVersion as string)}`);
      return undefined;
    }
    // The strict decoder first (src/model/decode.ts): types, int32, unknown fields.
    const decoded = decodeObject(raw, kind as string, this.validation);
    for (const e of decoded.errors) this.problem(at(e.path), `${label}: ${fmtPath(e.path)}: ${e.message}`);
    for (const u of decoded.unknown) {
      const p = at(u.path);
      if (this.validation === 'strict') this.problem(p, `${label}: strict decoding error: unknown field ${goQuote(u.field)}`);
      else if (this.validation === 'warn') this.warn(p, `${label}: unknown field ${goQuote(u.field)}`);
    }
    if (decoded.errors.length > 0 || (this.validation === 'strict' && decoded.unknown.length > 0)) return undefined;
    if (meta !== undefined && meta !== null && !isMap(meta)) {
      this.problem(at(['metadata']), `${label}: metadata: Invalid value: ${show(meta)}: must be a mapping`);
      return undefined;
    }
    if (mode === 'document' && isMap(meta) && meta.resourceVersion !== undefined && meta.resourceVersion !== null && meta.resourceVersion !== '') {
      // rest.BeforeCreate: the file's objects are created, and a create may not carry one (on
      // an `apply` action of an existing object it is a precondition, for the API server).
      this.problem(at(['metadata', 'resourceVersion']), `${label}: metadata.resourceVersion: resourceVersion should not be set on objects to be created`);
      return undefined;
    }
    const obj = raw as KObject;
    if (obj.metadata === null || obj.metadata === undefined) obj.metadata = {};
    let errors: { path: string; message: string }[];
    const later: { path: string; message: string }[] = [];
    try {
      const copy = deepCopy(obj);
      if (isNamespaced(kind)) copy.metadata.namespace ??= namespace ?? 'default';
      applyDefaults(copy);
      errors = [...validateObject(copy), ...ksimObjectLimits(copy)];
      // v1.30 does not validate a StatefulSet's templates on create: the controller's pod and
      // claim creation fails later. A volume source ksim does not model is still an error here
      // (SPEC §1); the rest is a warning, so the run shows the FailedCreate Kubernetes would.
      if (kind === 'StatefulSet' && errors.length === 0) {
        for (const fe of validateStatefulSetTemplates(copy)) {
          if (/^spec\.template\.spec\.volumes\[\d+\]$/.test(fe.path) && fe.message.startsWith('Unsupported value')) errors.push(fe);
          else later.push(fe);
        }
      }
    } catch (e) {
      this.problem(pos, `${label}: could not be validated (a ksim bug): ${oneLine(String((e as Error)?.message ?? e))}`);
      return undefined;
    }
    for (const fe of errors) {
      const segs = parseFieldPath(fe.path);
      this.problem(at(segs), fe.path ? `${label}: ${fe.path}: ${fe.message}` : `${label}: ${fe.message}`);
    }
    if (errors.length > 0) return undefined;
    for (const fe of later) {
      this.warn(at(parseFieldPath(fe.path)), `${label}: ${fe.path}: ${fe.message} (accepted by the API server; the StatefulSet controller will fail to create its pods)`);
    }
    return { obj, pos };
  }

  /**
   * The ClusterIPs the file's Services ask for, as the allocator would take them in file order:
   * each in the service range and not taken (by the cluster's own kubernetes and kube-dns
   * Services, or an earlier Service of the file).
   */
  private checkClusterIPs(manifests: Manifest[]): void {
    const used = new Set(BOOTSTRAP_CLUSTER_IPS);
    for (const m of manifests) {
      if (m.obj.kind !== 'Service') continue;
      const ip = m.obj.spec?.clusterIP;
      if (typeof ip !== 'string' || ip === '' || ip === 'None') continue;
      const why = clusterIPAllocationProblem(ip, used);
      const doc = this.docOf.get(m.obj);
      const pos = doc ? this.posIn(doc, ['spec', 'clusterIP']) : m.pos;
      if (why) this.problem(pos, `Service ${goQuote(m.obj.metadata.name ?? '')}: spec.clusterIPs: Invalid value: []string{${goQuote(ip)}}: ${why}`);
      else used.add(ip);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The Scenario document

  private scenario(sd: Doc | undefined, manifests: Manifest[]): Scenario | undefined {
    const nodeManifests = manifests.filter((m) => m.obj.kind === 'Node').map((m) => m.obj.metadata.name ?? '');
    const base: Scenario = {
      name: baseName(this.file),
      file: this.file,
      seed: DEFAULTS.seed,
      durationMs: DEFAULTS.durationMs,
      startTime: DEFAULTS.startTime,
      startMs: Date.parse(DEFAULTS.startTime),
      nodes: nodeManifests.length > 0 ? nodeManifests : numberedNodes(DEFAULTS.nodes),
      latencyMsMin: DEFAULTS.latencyMsMin,
      latencyMsMax: DEFAULTS.latencyMsMax,
      manifests,
      actions: [],
      faults: [],
      invariants: [...INVARIANTS],
      backends: impliedBackends(manifests.map((m) => m.obj), []),
      timings: {},
    };
    if (!sd) return base;
    const { doc, value } = sd;
    const raw = value as Record<string, unknown>;
    const meta = raw.metadata;
    if (isMap(meta) && typeof meta.name === 'string' && meta.name !== '') base.name = meta.name;
    const label = `Scenario ${goQuote(base.name)}`;
    const ctxError = (path: readonly Seg[], message: string) => {
      const p = fmtPath(path);
      this.problem(this.posIn(doc, path), p ? `${label}: ${p}: ${message}` : `${label}: ${message}`);
    };
    const warn = (path: readonly Seg[], message: string) => {
      this.warnings.push({ pos: this.posIn(doc, path), message: `${label}: ${fmtPath(path)}: ${message}` });
    };
    const r = { error: ctxError };

    checkKeys(r, raw, ['apiVersion', 'kind', 'metadata', 'spec'], []);
    if (raw.apiVersion !== SCENARIO_API_VERSION) {
      if (raw.apiVersion === undefined) ctxError(['apiVersion'], `Required value: apiVersion not set (use ${SCENARIO_API_VERSION})`);
      else ctxError(['apiVersion'], `no matches for kind "Scenario" in version ${goQuote(typeof raw.apiVersion === 'string' ? raw.apiVersion : show(raw.apiVersion))}`);
    }
    if (meta !== undefined && meta !== null) {
      if (!isMap(meta)) ctxError(['metadata'], `Invalid value: ${show(meta)}: must be a mapping`);
      else {
        checkKeys(r, meta, ['name', 'labels', 'annotations'], ['metadata']);
        if (meta.name !== undefined && typeof meta.name !== 'string') ctxError(['metadata', 'name'], `Invalid value: ${show(meta.name)}: must be a string`);
        // A Scenario is named like any object (ValidateObjectMeta: a DNS-1123 subdomain): its
        // name is printed in every report and on the terminal.
        else if (typeof meta.name === 'string') for (const why of isDNS1123Subdomain(meta.name)) ctxError(['metadata', 'name'], `Invalid value: ${goQuote(meta.name)}: ${why}`);
      }
    }
    const spec = raw.spec ?? {};
    if (!isMap(spec)) {
      ctxError(['spec'], `Invalid value: ${show(spec)}: must be a mapping`);
      return undefined;
    }
    checkKeys(r, spec, SPEC_KEYS, ['spec']);

    if (spec.seed !== undefined) base.seed = intAt(r, spec.seed, ['spec', 'seed'], 0) ?? base.seed;
    if (spec.duration !== undefined) base.durationMs = durationAt(r, spec.duration, ['spec', 'duration'], { positive: true }) ?? base.durationMs;
    if (spec.startTime !== undefined) {
      // time.Parse(RFC3339): 2025-02-30 is "day out of range", not March 2nd.
      const bad = typeof spec.startTime === 'string' && RFC3339.test(spec.startTime) ? rfc3339Problem(spec.startTime) : 'not RFC 3339';
      const ms = bad === undefined ? Date.parse(spec.startTime as string) : NaN;
      if (bad !== undefined && bad !== 'not RFC 3339') ctxError(['spec', 'startTime'], `Invalid value: ${show(spec.startTime)}: ${bad}`);
      else if (Number.isNaN(ms) || Math.abs(ms) > 8.64e15 - MAX_DURATION_MS) ctxError(['spec', 'startTime'], `Invalid value: ${show(spec.startTime)}: must be an RFC 3339 time such as ${DEFAULTS.startTime}`);
      else {
        base.startTime = spec.startTime as string;
        base.startMs = ms;
      }
    }

    // cluster.nodes: node-1..node-N, unless Node manifests name the nodes.
    if (spec.cluster !== undefined) {
      if (!isMap(spec.cluster)) ctxError(['spec', 'cluster'], `Invalid value: ${show(spec.cluster)}: must be a mapping such as {nodes: 3}`);
      else {
        checkKeys(r, spec.cluster, ['nodes', 'podCIDR'], ['spec', 'cluster']);
        if (spec.cluster.nodes !== undefined) {
          const n = intAt(r, spec.cluster.nodes, ['spec', 'cluster', 'nodes'], 1, MAX_NODES);
          if (n !== undefined && nodeManifests.length === 0) base.nodes = numberedNodes(n);
          if (n !== undefined && nodeManifests.length > 0 && n !== nodeManifests.length) {
            warn(['spec', 'cluster', 'nodes'], `ignored: the file's ${nodeManifests.length} Node manifests define the nodes (${nodeManifests.join(', ')})`);
          }
        }
        if (spec.cluster.podCIDR !== undefined) {
          const why = typeof spec.cluster.podCIDR === 'string' ? clusterCIDRProblem(spec.cluster.podCIDR) : 'must be a CIDR such as 10.244.0.0/16';
          if (why) ctxError(['spec', 'cluster', 'podCIDR'], `Invalid value: ${show(spec.cluster.podCIDR)}: ${why}`);
          else base.podCIDR = spec.cluster.podCIDR as string;
        }
      }
    }

    this.network(spec.network, base, r);
    this.invariants(spec.invariants, base, r);
    this.timings(spec.timings, base, r);

    // Backends: spec.backends name and tune them; manifests (also those applied later) imply more.
    const specBackends = this.specBackends(spec.backends, r);
    const rawActions = Array.isArray(spec.actions) ? spec.actions : [];
    const applied = rawActions.map((a) => (isMap(a) && isMap(a.apply) ? (a.apply as KObject) : undefined)).filter((a): a is KObject => a !== undefined);
    base.backends = impliedBackends([...manifests.map((m) => m.obj), ...applied], specBackends, (name, type, other) => {
      const i = specBackends.findIndex((b) => b.name === name);
      ctxError(['spec', 'backends', i, 'type'], `Invalid value: "${type}": the manifests use backend "${name}" as ${other}`);
    });
    const extraNodes = new Set(applied.filter((o) => o.kind === 'Node' && typeof o.metadata?.name === 'string').map((o) => o.metadata.name as string));

    const ctx: FaultContext = {
      monitors: (name) => {
        const b = base.backends.find((x) => x.name === name);
        return b?.type === 'rbd' ? monitorNames(b) : undefined;
      },
      error: ctxError,
      posOf: (path) => this.posIn(doc, path),
      nodes: base.nodes,
      extraNodes,
      backends: base.backends.map((b) => b.name),
      checkApplyManifest: (m, path) => {
        const action = rawActions[path[2] as number];
        const ns = isMap(action) && typeof action.namespace === 'string' ? action.namespace : undefined;
        return this.checkManifest(m, doc, path, 'apply', ns)?.obj;
      },
    };
    base.actions = parseActions(ctx, spec.actions, ['spec', 'actions']);
    base.faults = parseFaults(ctx, spec.faults, ['spec', 'faults']);
    const chaos = parseChaos(ctx, spec.chaos, ['spec', 'chaos']);
    if (chaos) base.chaos = chaos;

    for (const a of base.actions) {
      if (a.atMs > base.durationMs) warn(['spec', 'actions', a.index, 'at'], `runs after the end of the run (duration ${show(spec.duration ?? '10m')}): it runs only with a later --until`);
    }
    for (const f of base.faults) {
      if (f.atMs > base.durationMs) warn(['spec', 'faults', f.index, 'at'], `is after the end of the run (duration ${show(spec.duration ?? '10m')})`);
    }
    return base;
  }

  private network(raw: unknown, s: Scenario, r: Pick<SpecContext, 'error'>): void {
    if (raw === undefined || raw === null) return;
    const path = ['spec', 'network'];
    if (!isMap(raw)) {
      r.error(path, `Invalid value: ${show(raw)}: must be a mapping such as {latency: {min: 1ms, max: 20ms}}`);
      return;
    }
    checkKeys(r, raw, ['latency'], path);
    const lat = raw.latency;
    if (lat === undefined || lat === null) return;
    const lpath = [...path, 'latency'];
    if (!isMap(lat)) {
      // `latency: 5ms`: every message takes exactly that long.
      const ms = durationAt(r, lat, lpath);
      if (ms !== undefined) s.latencyMsMin = s.latencyMsMax = ms;
      return;
    }
    checkKeys(r, lat, ['min', 'max'], lpath);
    const min = lat.min === undefined ? undefined : durationAt(r, lat.min, [...lpath, 'min']);
    const max = lat.max === undefined ? undefined : durationAt(r, lat.max, [...lpath, 'max']);
    if (min !== undefined && max !== undefined && min > max) {
      r.error([...lpath, 'max'], `Invalid value: ${show(lat.max)}: must be greater than or equal to min (${show(lat.min)})`);
      return;
    }
    // One bound given: the other default moves so that min <= max still holds.
    if (min !== undefined) {
      s.latencyMsMin = min;
      s.latencyMsMax = Math.max(min, s.latencyMsMax);
    }
    if (max !== undefined) {
      s.latencyMsMax = max;
      if (min === undefined) s.latencyMsMin = Math.min(max, s.latencyMsMin);
    }
  }

  private invariants(raw: unknown, s: Scenario, r: Pick<SpecContext, 'error'>): void {
    if (raw === undefined || raw === null) return;
    const path = ['spec', 'invariants'];
    const list = raw === 'all' ? ['all'] : raw;
    if (!Array.isArray(list)) {
      r.error(path, `Invalid value: ${show(raw)}: must be a list of invariant names or [all]`);
      return;
    }
    const chosen = new Set<string>();
    list.forEach((name, i) => {
      if (name === 'all') for (const n of INVARIANTS) chosen.add(n);
      else if (typeof name === 'string' && INVARIANTS.includes(name)) chosen.add(name);
      else r.error([...path, i], unsupported(name, ['all', ...INVARIANTS]));
    });
    s.invariants = INVARIANTS.filter((n) => chosen.has(n));
  }

  private timings(raw: unknown, s: Scenario, r: Pick<SpecContext, 'error'>): void {
    if (raw === undefined || raw === null) return;
    const path = ['spec', 'timings'];
    if (!isMap(raw)) {
      r.error(path, `Invalid value: ${show(raw)}: must be a mapping such as {nodeMonitorGracePeriod: 40s}`);
      return;
    }
    for (const [name, v] of Object.entries(raw)) {
      const vpath = [...path, name];
      if (!Object.hasOwn(TIMING_DEFAULTS_MS, name)) {
        const near = Object.keys(TIMING_DEFAULTS_MS).filter((n) => n.startsWith(name) || name.startsWith(n) || editDistance(n.toLowerCase(), name.toLowerCase()) <= Math.max(3, Math.floor(name.length / 4)));
        const hint = near.length > 0 ? `did you mean ${quoteList(near)}?` : `timings: ${Object.keys(TIMING_DEFAULTS_MS).join(', ')}`;
        r.error(vpath, `unknown field ${goQuote(name)} (${hint})`);
        continue;
      }
      const period = PERIOD_TIMINGS.has(name) ? { minMs: MIN_PERIOD_MS } : {};
      let ms: number | undefined;
      if (typeof v === 'number' && name.endsWith('Seconds')) {
        if (!Number.isInteger(v) || v < 0) r.error(vpath, `Invalid value: ${show(v)}: must be a non-negative integer number of seconds`);
        else ms = durationAt(r, `${v}s`, vpath, period);
      } else {
        ms = durationAt(r, v, vpath, period);
      }
      if (ms !== undefined) s.timings[name] = ms;
    }
    // The seeded container start delay is drawn from [min, max].
    const min = s.timings['kubeletStartDelayMin'] ?? TIMING_DEFAULTS_MS['kubeletStartDelayMin']!;
    const max = s.timings['kubeletStartDelayMax'] ?? TIMING_DEFAULTS_MS['kubeletStartDelayMax']!;
    if (min > max) {
      const which = s.timings['kubeletStartDelayMin'] !== undefined ? 'kubeletStartDelayMin' : 'kubeletStartDelayMax';
      r.error([...path, which], `Invalid value: ${show(raw[which])}: kubeletStartDelayMin (${formatDuration(min)}) must not be greater than kubeletStartDelayMax (${formatDuration(max)})`);
    }
  }

  private specBackends(raw: unknown, r: Pick<SpecContext, 'error'>): BackendSpec[] {
    if (raw === undefined || raw === null) return [];
    const path = ['spec', 'backends'];
    if (!Array.isArray(raw)) {
      r.error(path, `Invalid value: ${show(raw)}: must be a list such as [{name: ceph, type: rbd, monitors: 3}]`);
      return [];
    }
    const out: BackendSpec[] = [];
    raw.forEach((b, i) => {
      const bpath = [...path, i];
      if (!isMap(b)) {
        r.error(bpath, `Invalid value: ${show(b)}: must be a mapping such as {name: ceph, type: rbd}`);
        return;
      }
      let ok = true;
      if (typeof b.name !== 'string' || b.name === '') {
        r.error([...bpath, 'name'], b.name === undefined ? 'Required value' : `Invalid value: ${show(b.name)}: must be a non-empty string`);
        ok = false;
      } else if (b.name.includes('/')) {
        r.error([...bpath, 'name'], `Invalid value: ${show(b.name)}: may not contain '/'`);
        ok = false;
      } else if (out.some((o) => o.name === b.name)) {
        r.error([...bpath, 'name'], `Duplicate value: ${show(b.name)}`);
        ok = false;
      }
      if (!(BACKEND_TYPES as readonly unknown[]).includes(b.type)) {
        r.error([...bpath, 'type'], b.type === undefined ? `Required value: one of ${quoteList(BACKEND_TYPES)}` : unsupported(b.type, BACKEND_TYPES));
        ok = false;
      }
      if (b.monitors !== undefined && intAt(r, b.monitors, [...bpath, 'monitors'], 1, 9) === undefined) ok = false;
      if (ok) out.push({ ...b } as BackendSpec);
    });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Backends implied by manifests (SPEC §3)

type BackendType = BackendSpec['type'];

/** Provisioners whose volumes live on the selected node: no backend to name. */
const NODE_LOCAL_PROVISIONERS = new Set(['kubernetes.io/no-provisioner', 'rancher.io/local-path', 'kubernetes.io/host-path', 'hostpath.csi.k8s.io']);
const RBD_DRIVERS = new Set(['kubernetes.io/rbd', 'rbd.csi.ceph.com']);
const NFS_CSI_DRIVER = 'nfs.csi.k8s.io';

/**
 * The backends a set of manifests needs: spec.backends first, then an NFS server per `server`,
 * one Ceph cluster (`ceph` unless spec.backends names an rbd one), a CSI plugin per driver.
 * `conflict` is told when spec.backends gives a name another type than the manifests use.
 */
export function impliedBackends(objs: readonly KObject[], spec: readonly BackendSpec[], conflict?: (name: string, type: string, usedAs: string) => void): BackendSpec[] {
  const out: BackendSpec[] = spec.map((b) => ({ ...b }));
  const rbdName = spec.find((b) => b.type === 'rbd')?.name ?? 'ceph';
  const add = (name: unknown, type: BackendType) => {
    if (typeof name !== 'string' || name === '') return;
    const existing = out.find((b) => b.name === name);
    if (!existing) out.push({ name, type });
    else if (existing.type !== type) conflict?.(name, existing.type, `an ${type} backend`);
  };
  const source = (v: unknown) => {
    if (!isMap(v)) return;
    if (isMap(v.nfs)) add(v.nfs.server, 'nfs');
    if (isMap(v.rbd)) add(rbdName, 'rbd');
    if (isMap(v.csi)) {
      const driver = v.csi.driver;
      if (typeof driver !== 'string') return;
      if (RBD_DRIVERS.has(driver)) add(rbdName, 'rbd');
      else if (driver === NFS_CSI_DRIVER) add(isMap(v.csi.volumeAttributes) ? v.csi.volumeAttributes.server : undefined, 'nfs');
      else if (!NODE_LOCAL_PROVISIONERS.has(driver)) add(driver, 'csi');
    }
  };
  const volumes = (podSpec: unknown) => {
    if (isMap(podSpec) && Array.isArray(podSpec.volumes)) for (const v of podSpec.volumes) source(v);
  };
  for (const o of objs) {
    if (!isMap(o)) continue;
    const spec = (o as Record<string, unknown>).spec;
    switch (o.kind) {
      case 'Pod':
        volumes(spec);
        break;
      case 'StatefulSet':
        if (isMap(spec) && isMap(spec.template)) volumes(spec.template.spec);
        break;
      case 'PersistentVolume':
        source(spec);
        break;
      case 'StorageClass': {
        const provisioner = (o as Record<string, unknown>).provisioner;
        const params = (o as Record<string, unknown>).parameters;
        if (typeof provisioner !== 'string' || NODE_LOCAL_PROVISIONERS.has(provisioner)) break;
        const isNfs = isMap(params) && params.server !== undefined && (params.path !== undefined || params.share !== undefined);
        if (RBD_DRIVERS.has(provisioner)) add(rbdName, 'rbd');
        else if (provisioner === NFS_CSI_DRIVER || isNfs) add(isMap(params) ? params.server : undefined, 'nfs');
        else add(effectiveProvisioner(provisioner), 'csi');
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function identity(obj: KObject): string {
  const ns = isNamespaced(obj.kind) ? (obj.metadata.namespace ?? 'default') : '';
  return `${obj.kind}/${ns}/${obj.metadata.name ?? ''}`;
}

function numberedNodes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${i + 1}`);
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function fmtPos(p: SourcePos): string {
  return `${quoteUnsafe(p.file)}:${p.line}:${p.col}`;
}

/** ['spec', 'actions', 2, 'at'] -> spec.actions[2].at */
export function fmtPath(path: readonly Seg[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** Kubernetes field paths (`spec.containers[0].image`, `metadata.labels[app.kubernetes.io/name]`) to segments. */
export function parseFieldPath(path: string): Seg[] {
  const out: Seg[] = [];
  let i = 0;
  let cur = '';
  while (i < path.length) {
    const c = path[i]!;
    if (c === '.') {
      if (cur) out.push(cur);
      cur = '';
      i++;
    } else if (c === '[') {
      if (cur) out.push(cur);
      cur = '';
      const end = path.indexOf(']', i);
      const inner = end < 0 ? path.slice(i + 1) : path.slice(i + 1, end);
      out.push(/^\d+$/.test(inner) ? Number(inner) : inner);
      i = end < 0 ? path.length : end + 1;
    } else {
      cur += c;
      i++;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Levenshtein distance, for suggesting the timing name a user meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The file's base name without its extension: the scenario's name when metadata.name is absent. */
function baseName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
