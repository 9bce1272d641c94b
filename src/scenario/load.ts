/**
 * Loads a scenario file (SPEC.md §1) into a validated Scenario, or into the list of every problem
 * found, one line each: `file:line:col: Kind "name": field.path: what is wrong`.
 *
 * The YAML is parsed with `parseAllDocuments` so that a syntax error in one document is reported
 * with its line and column without hiding the others' problems; each semantic problem carries a
 * field path that is walked back through the YAML node tree to its line:col (falling back to the
 * nearest enclosing node). Manifests are checked as the API server would on create (a defaulted
 * copy through src/model/validation.ts) but kept as written. Kinds ksim does not model are
 * skipped with a warning, as SPEC §1 asks; an apiVersion that does not serve a modelled kind is
 * kubectl's `no matches for kind "X" in version "Y"`.
 *
 * loadScenarioText is pure (no fs), so the core can load scenarios in a browser; only
 * loadScenarioFile touches node:fs, looked up at call time rather than imported. Nothing here
 * throws on bad input.
 */
import {
  isAlias, isMap as isYamlMap, isNode, isScalar, isSeq as isYamlSeq, LineCounter, parseAllDocuments,
  type Document,
} from 'yaml';
import { applyDefaults } from '../model/defaults.ts';
import { deepCopy, isNamespaced, qualifiedResource } from '../model/objects.ts';
import { validateObject, validateStatefulSetTemplates } from '../model/validation.ts';
import type { KObject } from '../protocol.ts';
import {
  checkKeys, durationAt, intAt, isMap, parseActions, quoteList, show, unsupported,
  type Seg, type SpecContext,
} from './actions.ts';
import { monitorNames, parseChaos, parseFaults, type FaultContext } from './faults.ts';
import type { BackendSpec, LoadWarning, Manifest, Scenario, SourcePos } from './types.ts';
import { effectiveProvisioner } from '../model/csi-translation.ts';

export type LoadResult = { ok: true; scenario: Scenario; warnings: LoadWarning[] } | { ok: false; errors: string[]; warnings: LoadWarning[] };

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
export const TIMING_DEFAULTS_MS: Readonly<Record<string, number>> = {
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
};

/** The modelled kinds and the apiVersion that serves each. */
const MODELLED: Record<string, string> = {
  Namespace: 'v1',
  Node: 'v1',
  PersistentVolume: 'v1',
  PersistentVolumeClaim: 'v1',
  StorageClass: 'storage.k8s.io/v1',
  Pod: 'v1',
  StatefulSet: 'apps/v1',
  Service: 'v1',
};

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

/** Reads and loads a scenario file; an unreadable file is an error result, never a throw. */
export function loadScenarioFile(path: string): LoadResult {
  // node:fs is looked up when called, not imported, so that this module (and loadScenarioText)
  // also loads in a browser.
  const fs = globalThis.process?.getBuiltinModule?.('node:fs');
  if (!fs) return { ok: false, errors: [`${path}: reading files needs Node.js >= 20.16; use loadScenarioText`], warnings: [] };
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    return { ok: false, errors: [`${path}: ${why}`], warnings: [] };
  }
  return loadScenarioText(text, path);
}

/** Loads a scenario from its text; `file` names it in messages. Pure. */
export function loadScenarioText(text: string, file: string): LoadResult {
  try {
    return new Loader(text, file).load();
  } catch (e) {
    // A bug here must still not become a stack trace for the user.
    return { ok: false, errors: [`${file}:1:1: internal error while loading the scenario: ${(e as Error)?.message ?? String(e)}`], warnings: [] };
  }
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
  ) {}

  load(): LoadResult {
    const docs = parseAllDocuments(this.text, { lineCounter: this.lc, prettyErrors: false, merge: true, uniqueKeys: true });
    if ('empty' in docs) {
      for (const e of docs.errors) this.problem(this.pos(e.pos[0]), `yaml: ${e.message}`);
    }
    const manifests: Manifest[] = [];
    const seen = new Map<string, SourcePos>();
    let scenarioDoc: Doc | undefined;
    for (const doc of docs) {
      const d = this.toValue(doc);
      if (!d) continue;
      if (isMap(d.value) && d.value.kind === 'Scenario') {
        if (scenarioDoc) {
          this.problem(this.posIn(doc, []), `Scenario "${String((d.value.metadata as { name?: unknown } | undefined)?.name ?? '')}": kind: a file may hold at most one Scenario document`);
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
        this.problem(this.posIn(doc, ['metadata', 'name']), `${m.obj.kind} "${name}": metadata.name: ${qualifiedResource(m.obj.kind)} "${name}" already exists (first defined at ${fmtPos(first)})`);
        continue;
      }
      seen.set(key, m.pos);
      manifests.push({ obj: m.obj, pos: m.pos });
    }
    const scenario = this.scenario(scenarioDoc, manifests);
    if (this.problems.length > 0 || !scenario) {
      const sorted = [...this.problems].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
      return { ok: false, errors: sorted.map((p) => p.text), warnings: this.warnings };
    }
    return { ok: true, scenario, warnings: this.warnings };
  }

  // -------------------------------------------------------------------------------------------
  // YAML

  /** A document's JS value, or undefined when it is empty or broken (its problems reported). */
  private toValue(doc: Document.Parsed): Doc | undefined {
    for (const w of doc.warnings) this.warnings.push({ pos: this.pos(w.pos[0]), message: `yaml: ${w.message}` });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) this.problem(this.pos(e.pos[0]), `yaml: ${e.message}`);
      return undefined;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return undefined;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      this.problem(this.posIn(doc, []), `yaml: ${(e as Error).message} (aliases are limited to ${MAX_ALIASES} expansions)`);
      return undefined;
    }
    return { doc, value };
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
        const pair = node.items.find((p) => keyText(p.key) === String(seg));
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

  private problem(pos: SourcePos, text: string): void {
    this.problems.push({ pos, text: `${fmtPos(pos)}: ${text}` });
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
    if (typeof kind !== 'string' || kind === '') {
      this.problem(at(['kind']), `Object "${name}": kind: Required value: kind not set`);
      return undefined;
    }
    const label = `${kind} "${name}"`;
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      this.problem(at(['apiVersion']), `${label}: apiVersion: Required value: apiVersion not set`);
      return undefined;
    }
    const served = MODELLED[kind];
    if (served === undefined) {
      if (mode === 'document') {
        this.warnings.push({ pos, message: `skipping ${kind} "${name}": kind not modelled by ksim` });
      } else {
        this.problem(at(['kind']), `${label}: kind: kind not modelled by ksim (modelled: ${Object.keys(MODELLED).join(', ')})`);
      }
      return undefined;
    }
    if (apiVersion !== served) {
      this.problem(at(['apiVersion']), `${label}: apiVersion: no matches for kind "${kind}" in version "${apiVersion}"`);
      return undefined;
    }
    if (meta !== undefined && !isMap(meta)) {
      this.problem(at(['metadata']), `${label}: metadata: Invalid value: ${show(meta)}: must be a mapping`);
      return undefined;
    }
    const obj = raw as KObject;
    obj.metadata ??= {};
    let errors: { path: string; message: string }[];
    const later: { path: string; message: string }[] = [];
    try {
      const copy = deepCopy(obj);
      if (isNamespaced(kind)) copy.metadata.namespace ??= namespace ?? 'default';
      applyDefaults(copy);
      errors = validateObject(copy);
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
      this.problem(pos, `${label}: could not be validated: ${(e as Error)?.message ?? String(e)}`);
      return undefined;
    }
    for (const fe of errors) {
      const segs = parseFieldPath(fe.path);
      this.problem(at(segs), fe.path ? `${label}: ${fe.path}: ${fe.message}` : `${label}: ${fe.message}`);
    }
    if (errors.length > 0) return undefined;
    for (const fe of later) {
      this.warnings.push({ pos: at(parseFieldPath(fe.path)), message: `${label}: ${fe.path}: ${fe.message} (accepted by the API server; the StatefulSet controller will fail to create its pods)` });
    }
    return { obj, pos };
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
    const label = `Scenario "${base.name}"`;
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
      else ctxError(['apiVersion'], `no matches for kind "Scenario" in version "${String(raw.apiVersion)}"`);
    }
    if (meta !== undefined && meta !== null) {
      if (!isMap(meta)) ctxError(['metadata'], `Invalid value: ${show(meta)}: must be a mapping`);
      else {
        checkKeys(r, meta, ['name', 'labels', 'annotations'], ['metadata']);
        if (meta.name !== undefined && typeof meta.name !== 'string') ctxError(['metadata', 'name'], `Invalid value: ${show(meta.name)}: must be a string`);
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
      const ms = typeof spec.startTime === 'string' && RFC3339.test(spec.startTime) ? Date.parse(spec.startTime) : NaN;
      if (Number.isNaN(ms)) ctxError(['spec', 'startTime'], `Invalid value: ${show(spec.startTime)}: must be an RFC 3339 time such as ${DEFAULTS.startTime}`);
      else {
        base.startTime = spec.startTime as string;
        base.startMs = ms;
      }
    }

    // cluster.nodes: node-1..node-N, unless Node manifests name the nodes.
    if (spec.cluster !== undefined) {
      if (!isMap(spec.cluster)) ctxError(['spec', 'cluster'], `Invalid value: ${show(spec.cluster)}: must be a mapping such as {nodes: 3}`);
      else {
        checkKeys(r, spec.cluster, ['nodes'], ['spec', 'cluster']);
        if (spec.cluster.nodes !== undefined) {
          const n = intAt(r, spec.cluster.nodes, ['spec', 'cluster', 'nodes'], 1, MAX_NODES);
          if (n !== undefined && nodeManifests.length === 0) base.nodes = numberedNodes(n);
          if (n !== undefined && nodeManifests.length > 0 && n !== nodeManifests.length) {
            warn(['spec', 'cluster', 'nodes'], `ignored: the file's ${nodeManifests.length} Node manifests define the nodes (${nodeManifests.join(', ')})`);
          }
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
      if (!(name in TIMING_DEFAULTS_MS)) {
        const near = Object.keys(TIMING_DEFAULTS_MS).filter((n) => n.startsWith(name) || name.startsWith(n) || editDistance(n.toLowerCase(), name.toLowerCase()) <= Math.max(3, Math.floor(name.length / 4)));
        const hint = near.length > 0 ? `did you mean ${quoteList(near)}?` : `timings: ${Object.keys(TIMING_DEFAULTS_MS).join(', ')}`;
        r.error(vpath, `unknown field "${name}" (${hint})`);
        continue;
      }
      let ms: number | undefined;
      if (typeof v === 'number' && name.endsWith('Seconds')) {
        if (!Number.isInteger(v) || v < 0) r.error(vpath, `Invalid value: ${v}: must be a non-negative integer number of seconds`);
        else ms = v * 1000;
      } else {
        ms = durationAt(r, v, vpath);
      }
      if (ms !== undefined) s.timings[name] = ms;
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
  return `${p.file}:${p.line}:${p.col}`;
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
