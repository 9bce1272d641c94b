/**
 * What `kubectl get` and `kubectl describe` print, as pure functions over plain objects.
 * Receives objects (and, for describe, their aggregated Events and a few related objects);
 * returns text. Nothing here reads the clock: "now" comes in the PrintContext.
 *
 * Follows kubernetes v1.30:
 * - columns and cells: pkg/printers/internalversion/printers.go (printPod, printStatefulSet,
 *   printService, printPersistentVolume(Claim), printStorageClass, printNode, printNamespace,
 *   printEndpointSlice), headers upper-cased as the human-readable table printer does, and
 *   laid out by text/tabwriter with kubectl's settings (cli-runtime printers/tabwriter.go:
 *   minwidth 6, padding 3, pad char ' ');
 * - describe: staging/src/k8s.io/kubectl/pkg/describe/describe.go (describePod,
 *   describePersistentVolume(Claim), describeStatefulSet, describeService, describeNode,
 *   DescribeEvents), whose tabbedString uses tabwriter with minwidth 0, padding 2.
 * Timestamps inside describe are RFC 1123Z in UTC, as kubectl on a UTC machine prints them.
 */
import type { KObject } from './protocol.ts';
import { humanDuration } from './duration.ts';
import { RESOURCES } from './model/objects.ts';

/** Simulated now (`nowMs` since `startMs = Date.parse(spec.startTime)`). */
export interface PrintContext {
  nowMs: number;
  startMs: number;
}

/** An aggregated Event as describe shows it; `firstAtMs`/`lastAtMs` count from startMs like nowMs. */
export interface DescribeEvent {
  type: string;
  reason: string;
  message: string;
  source: string;
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/** Objects describe looks up besides the described one (kubectl lists them from the API). */
export interface DescribeRelated {
  /** PersistentVolumeClaim: names of pods whose volumes use the claim ("Used By"). */
  podsUsingClaim?: string[];
  /** StatefulSet: its pods, counted by phase for "Pods Status". */
  pods?: KObject[];
  /** Service: its EndpointSlices, for each port's "Endpoints". */
  endpointSlices?: KObject[];
}

/** Objects here are plain decoded JSON; fields are read defensively. */
type Any = any;

// ---------------------------------------------------------------------------------------------
// text/tabwriter

function runeLen(s: string): number {
  return [...s].length;
}

/**
 * Go's text/tabwriter (no flags): a tab terminates a cell; a column block is a run of
 * consecutive lines with a cell in that column; each block is as wide as its widest cell
 * plus padding, at least minwidth. The text after a line's last tab is not padded.
 */
export function tabwrite(text: string, minwidth: number, padding: number): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  let out = '';
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      for (let j = 0; j < line.length; j++) {
        const c = line[j]!;
        out += c;
        if (j < widths.length) out += ' '.repeat(Math.max(0, widths[j]! - runeLen(c)));
      }
      if (i + 1 < lines.length) out += '\n';
    }
  };
  const format = (line0In: number, line1: number): void => {
    let line0 = line0In;
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const l = lines[t]!;
        if (column >= l.length - 1) break;
        const w = runeLen(l[column]!) + padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}

/** kubectl get's table: upper-cased headers, one row per object. */
function table(headers: string[], rows: string[][]): string {
  const text = [headers.map((h) => h.toUpperCase()), ...rows].map((r) => r.join('\t') + '\n').join('');
  return tabwrite(text, 6, 3);
}

// ---------------------------------------------------------------------------------------------
// shared helpers

function nowAbs(ctx: PrintContext): number {
  return ctx.startMs + ctx.nowMs;
}

/** translateTimestampSince */
function since(ts: string | undefined | null, ctx: PrintContext): string {
  if (!ts) return '<unknown>';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(nowAbs(ctx) - t);
}

/** time.RFC1123Z in UTC: "Wed, 01 Jan 2025 00:02:00 +0000". */
function rfc1123z(ts: string | undefined | null): string {
  const t = ts ? Date.parse(ts) : NaN;
  if (Number.isNaN(t)) return 'Mon, 01 Jan 0001 00:00:00 +0000';
  return new Date(t).toUTCString().replace(/ GMT$/, ' +0000');
}

const SI_SUFFIX: Record<number, string> = { 18: 'E', 15: 'P', 12: 'T', 9: 'G', 6: 'M', 3: 'k', 0: '', [-3]: 'm', [-6]: 'u', [-9]: 'n' };
const BIN_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DEC_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * resource.Quantity.String(): the canonical form (1024Mi prints 1Gi, 1500M stays 1500M,
 * 2000000 prints 2M). Exponent notation and anything unexpected print as written.
 */
export function formatQuantity(q: unknown): string {
  if (q === undefined || q === null) return '0';
  const s = String(q).trim();
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(s);
  if (!m) return s;
  const num = Number(m[1]);
  const suffix = m[2] ?? '';
  const bin = BIN_SUFFIX.indexOf(suffix);
  if (bin > 0) {
    const bytes = num * 1024 ** bin;
    if (!Number.isInteger(bytes) || bytes === 0) return bytes === 0 ? '0' : s;
    let k = 0;
    while (k < BIN_SUFFIX.length - 1 && bytes % 1024 ** (k + 1) === 0) k++;
    return `${bytes / 1024 ** k}${BIN_SUFFIX[k]}`;
  }
  if (num === 0) return '0';
  const exp = DEC_EXP[suffix] ?? 0;
  for (let e = 18; e >= -9; e -= 3) {
    const mant = num * 10 ** (exp - e);
    const r = Math.round(mant);
    if (Math.abs(mant - r) < 1e-9 * Math.max(1, Math.abs(mant)) && r !== 0) {
      return `${r}${SI_SUFFIX[e]}`;
    }
  }
  return s;
}

/** storageutil.GetAccessModesAsString */
function accessModes(modes: string[] | undefined): string {
  const m = new Set(modes ?? []);
  const out: string[] = [];
  if (m.has('ReadWriteOnce')) out.push('RWO');
  if (m.has('ReadOnlyMany')) out.push('ROX');
  if (m.has('ReadWriteMany')) out.push('RWX');
  if (m.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/** storageutil.GetPersistentVolume(Claim)Class: the beta annotation wins over the field. */
function storageClassOf(obj: KObject): string {
  const ann = obj.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (ann !== undefined) return ann;
  return obj.spec?.storageClassName ?? '';
}

/** labels.FormatLabels */
function formatLabels(m: Record<string, string> | undefined | null): string {
  const keys = Object.keys(m ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${m![k]}`).join(',');
}

/** metav1.LabelSelectorAsSelector(sel).String() */
function formatSelector(sel: Any): string {
  if (!sel) return '<none>';
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v as string}` });
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, text: `${e.key} in (${vals})` });
        break;
      case 'NotIn':
        reqs.push({ key: e.key, text: `${e.key} notin (${vals})` });
        break;
      case 'Exists':
        reqs.push({ key: e.key, text: e.key });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, text: `!${e.key}` });
        break;
    }
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** `pod/web-0`, `statefulset.apps/web`: the NAME cell of `kubectl get a,b`. */
function kindPrefix(kind: string): string {
  const group = RESOURCES[kind]?.group ?? '';
  return group ? `${kind.toLowerCase()}.${group}` : kind.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// kubectl get

/** One `kubectl get` table for objects of one kind, in the order given. */
export function printGet(kind: string, objs: KObject[], ctx: PrintContext, opts?: { wide?: boolean; withKind?: boolean }): string {
  if (objs.length === 0) return '';
  const wide = opts?.wide ?? false;
  const def = COLUMNS[kind] ?? DEFAULT_COLUMNS;
  const headers = [...def.headers, ...(wide ? def.wideHeaders : [])];
  const rows = objs.map((o) => {
    const cells = def.row(o, ctx, wide);
    if (opts?.withKind) cells[0] = `${kindPrefix(kind)}/${cells[0]}`;
    return wide ? cells : cells.slice(0, def.headers.length);
  });
  return table(headers, rows);
}

interface Columns {
  headers: string[];
  wideHeaders: string[];
  /** All cells, wide ones last (as printers.go appends them). */
  row: (o: KObject, ctx: PrintContext, wide: boolean) => string[];
}

const DEFAULT_COLUMNS: Columns = {
  headers: ['Name', 'Age'],
  wideHeaders: [],
  row: (o, ctx) => [o.metadata.name ?? '', since(o.metadata.creationTimestamp, ctx)],
};

const COLUMNS: Record<string, Columns> = {
  Pod: {
    headers: ['Name', 'Ready', 'Status', 'Restarts', 'Age'],
    wideHeaders: ['IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    row: podRow,
  },
  StatefulSet: {
    headers: ['Name', 'Ready', 'Age'],
    wideHeaders: ['Containers', 'Images'],
    row: (o, ctx) => {
      const containers: Any[] = o.spec?.template?.spec?.containers ?? [];
      return [
        o.metadata.name ?? '',
        `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
        since(o.metadata.creationTimestamp, ctx),
        containers.map((c) => c.name).join(','),
        containers.map((c) => c.image).join(','),
      ];
    },
  },
  Service: {
    headers: ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age'],
    wideHeaders: ['Selector'],
    row: (o, ctx) => {
      const spec: Any = o.spec ?? {};
      const ports: Any[] = spec.ports ?? [];
      const portStr = ports.map((p) => (p.nodePort > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
      return [
        o.metadata.name ?? '',
        spec.type ?? 'ClusterIP',
        spec.clusterIPs?.[0] ?? spec.clusterIP ?? '<none>',
        serviceExternalIP(spec, o.status),
        portStr || '<none>',
        since(o.metadata.creationTimestamp, ctx),
        formatLabels(spec.selector),
      ];
    },
  },
  PersistentVolume: {
    headers: ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age'],
    wideHeaders: ['VolumeMode'],
    row: (o, ctx) => {
      const spec: Any = o.spec ?? {};
      const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
      return [
        o.metadata.name ?? '',
        formatQuantity(spec.capacity?.storage),
        accessModes(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? '',
        o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''),
        claim,
        storageClassOf(o),
        spec.volumeAttributesClassName ?? '<unset>',
        o.status?.reason ?? '',
        since(o.metadata.creationTimestamp, ctx),
        spec.volumeMode ?? '<unset>',
      ];
    },
  },
  PersistentVolumeClaim: {
    headers: ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age'],
    wideHeaders: ['VolumeMode'],
    row: (o, ctx) => {
      const spec: Any = o.spec ?? {};
      const bound = !!spec.volumeName;
      return [
        o.metadata.name ?? '',
        o.metadata.deletionTimestamp ? 'Terminating' : (o.status?.phase ?? ''),
        spec.volumeName ?? '',
        bound ? formatQuantity(o.status?.capacity?.storage) : '',
        bound ? accessModes(o.status?.accessModes) : '',
        storageClassOf(o),
        spec.volumeAttributesClassName ?? '<unset>',
        since(o.metadata.creationTimestamp, ctx),
        spec.volumeMode ?? '<unset>',
      ];
    },
  },
  StorageClass: {
    headers: ['Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age'],
    wideHeaders: [],
    row: (o, ctx) => {
      const sc: Any = o;
      const ann = o.metadata.annotations ?? {};
      const isDefault = ann['storageclass.kubernetes.io/is-default-class'] === 'true' || ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
      return [
        `${o.metadata.name ?? ''}${isDefault ? ' (default)' : ''}`,
        sc.provisioner ?? '',
        sc.reclaimPolicy ?? 'Delete',
        sc.volumeBindingMode ?? 'Immediate',
        String(sc.allowVolumeExpansion ?? false),
        since(o.metadata.creationTimestamp, ctx),
      ];
    },
  },
  Node: {
    headers: ['Name', 'Status', 'Roles', 'Age', 'Version'],
    wideHeaders: ['Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime'],
    row: (o, ctx) => {
      const info: Any = o.status?.nodeInfo ?? {};
      const addr = (type: string): string => (o.status?.addresses ?? []).find((a: Any) => a.type === type)?.address ?? '<none>';
      const roles = nodeRoles(o).join(',');
      return [
        o.metadata.name ?? '',
        nodeStatus(o),
        roles || '<none>',
        since(o.metadata.creationTimestamp, ctx),
        // ksim's kubelets are v1.30.0, the kubernetes-types version the simulator models.
        info.kubeletVersion ?? 'v1.30.0',
        addr('InternalIP'),
        addr('ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ];
    },
  },
  Namespace: {
    headers: ['Name', 'Status', 'Age'],
    wideHeaders: [],
    // The namespace strategy's PrepareForCreate sets phase Active.
    row: (o, ctx) => [o.metadata.name ?? '', o.status?.phase ?? 'Active', since(o.metadata.creationTimestamp, ctx)],
  },
  EndpointSlice: {
    headers: ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age'],
    wideHeaders: [],
    row: (o, ctx) => {
      const eps: Any = o;
      const ports = ((eps.ports ?? []) as Any[]).map((p) => (p.port !== undefined && p.port !== null ? String(p.port) : (p.name ?? '*')));
      const addrs = ((eps.endpoints ?? []) as Any[]).flatMap((e) => (e.addresses ?? []) as string[]);
      return [o.metadata.name ?? '', eps.addressType ?? '', listWithMore(ports), listWithMore(addrs), since(o.metadata.creationTimestamp, ctx)];
    },
  },
};

/** listWithMoreString: the first three, then "+ N more...". */
function listWithMore(items: string[]): string {
  const max = 3;
  const ret = items.slice(0, max).join(',');
  if (items.length > max) return `${ret} + ${items.length - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

function serviceExternalIP(spec: Any, status: Any): string {
  const ext: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length > 0 ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = [...new Set(((status?.loadBalancer?.ingress ?? []) as Any[]).map((i) => i.ip || i.hostname).filter(Boolean))].sort() as string[];
      const all = [...lb, ...ext];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
  }
  return '<unknown>';
}

function nodeRoles(o: KObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.add(r);
    } else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return [...roles].sort();
}

function nodeStatus(o: KObject): string {
  const ready = ((o.status?.conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (o.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

/** printPod: READY, STATUS and RESTARTS as kubectl computes them. */
function podRow(pod: KObject, ctx: PrintContext): string[] {
  const spec: Any = pod.spec ?? {};
  const status: Any = pod.status ?? {};
  const containers: Any[] = spec.containers ?? [];
  const initContainers: Any[] = spec.initContainers ?? [];
  const isRestartableInit = (name: string): boolean => initContainers.find((c) => c.name === name)?.restartPolicy === 'Always';
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = containers.length + initContainers.filter((c) => c.restartPolicy === 'Always').length;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableInitRestart = 0;
  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  for (const c of (status.conditions ?? []) as Any[]) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  const finishedAt = (cs: Any): number => {
    const t = cs.lastState?.terminated?.finishedAt;
    return t ? Date.parse(t) : 0;
  };
  let initializing = false;
  const initStatuses: Any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += c.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, finishedAt(c));
    if (isRestartableInit(c.name)) {
      restartableInitRestarts += c.restartCount ?? 0;
      lastRestartableInitRestart = Math.max(lastRestartableInitRestart, finishedAt(c));
    }
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (isRestartableInit(c.name) && c.started) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (term) {
      reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode ?? 0}`;
    } else if (wait && wait.reason && wait.reason !== 'PodInitializing') {
      reason = `Init:${wait.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }
  const initialized = ((status.conditions ?? []) as Any[]).some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses: Any[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const wait = c.state?.waiting;
      const term = c.state?.terminated;
      if (wait && wait.reason) reason = wait.reason;
      else if (term && term.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = ((status.conditions ?? []) as Any[]).some((c) => c.type === 'Ready' && c.status === 'True');
      reason = podReady ? 'Running' : 'NotReady';
    }
  }
  // NodeUnreachablePodReason (pkg/util/node): only the legacy eviction path sets it.
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  totalContainers = Math.max(totalContainers, 0);
  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart > 0) restartsStr = `${restarts} (${humanDuration(nowAbs(ctx) - lastRestart)} ago)`;
  const gates: Any[] = spec.readinessGates ?? [];
  let readinessGates = '<none>';
  if (gates.length > 0) {
    const conds: Any[] = status.conditions ?? [];
    const trueCount = gates.filter((g) => conds.find((c) => c.type === g.conditionType)?.status === 'True').length;
    readinessGates = `${trueCount}/${gates.length}`;
  }
  return [
    pod.metadata.name ?? '',
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsStr,
    since(pod.metadata.creationTimestamp, ctx),
    status.podIPs?.[0]?.ip || status.podIP || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
}

// ---------------------------------------------------------------------------------------------
// kubectl describe

/** describe.go's PrefixWriter: two spaces per level, then the text as given. */
class PrefixWriter {
  text = '';
  write(level: number, s: string): void {
    this.text += '  '.repeat(level) + s;
  }
  writeLine(s: string): void {
    this.text += s + '\n';
  }
}

/** `kubectl describe KIND NAME`, ending with the Events table. */
export function printDescribe(obj: KObject, events: DescribeEvent[], ctx: PrintContext, related?: DescribeRelated): string {
  const w = new PrefixWriter();
  switch (obj.kind) {
    case 'Pod':
      describePod(w, obj, ctx);
      break;
    case 'PersistentVolumeClaim':
      describePVC(w, obj, ctx, related?.podsUsingClaim ?? []);
      break;
    case 'PersistentVolume':
      describePV(w, obj, ctx);
      break;
    case 'StatefulSet':
      describeStatefulSet(w, obj, related?.pods ?? []);
      break;
    case 'Service':
      describeService(w, obj, related?.endpointSlices ?? []);
      break;
    case 'Node':
      describeNode(w, obj);
      break;
    default:
      w.write(0, `Name:\t${obj.metadata.name ?? ''}\n`);
      if (obj.metadata.namespace) w.write(0, `Namespace:\t${obj.metadata.namespace}\n`);
      printLabelsMultiline(w, 'Labels', obj.metadata.labels);
      printAnnotationsMultiline(w, 'Annotations', obj.metadata.annotations);
  }
  describeEvents(w, events, ctx);
  return tabwrite(w.text, 0, 2);
}

/** fmt's %v of a []string: [a b]. */
function goList(xs: unknown[] | undefined): string {
  return `[${(xs ?? []).join(' ')}]`;
}

function printLabelsMultilineWithIndent(w: PrefixWriter, initialIndent: string, title: string, innerIndent: string, labels: Record<string, string> | undefined | null): void {
  w.write(0, `${initialIndent}${title}:${innerIndent}`);
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) {
    w.writeLine('<none>');
    return;
  }
  keys.forEach((k, i) => {
    if (i !== 0) w.write(0, initialIndent + innerIndent);
    w.write(0, `${k}=${labels![k]}\n`);
  });
}

function printLabelsMultiline(w: PrefixWriter, title: string, labels: Record<string, string> | undefined | null): void {
  printLabelsMultilineWithIndent(w, '', title, '\t', labels);
}

const MAX_ANNOTATION_LEN = 140;

/** printAnnotationsMultiline: the last-applied configuration is skipped; long values wrap. */
function printAnnotationsMultiline(w: PrefixWriter, title: string, annotations: Record<string, string> | undefined | null): void {
  w.write(0, `${title}:\t`);
  const keys = Object.keys(annotations ?? {})
    .filter((k) => k !== 'kubectl.kubernetes.io/last-applied-configuration')
    .sort();
  if (keys.length === 0) {
    w.writeLine('<none>');
    return;
  }
  const indent = '\t';
  keys.forEach((k, i) => {
    if (i !== 0) w.write(0, indent);
    const value = annotations![k]!.replace(/\n$/, '');
    if (value.length + k.length + 2 > MAX_ANNOTATION_LEN || value.includes('\n')) {
      w.write(0, `${k}:\n`);
      for (const s of value.split('\n')) w.write(0, `${indent}  ${s.length > MAX_ANNOTATION_LEN - 2 ? s.slice(0, MAX_ANNOTATION_LEN - 2) + '...' : s}\n`);
    } else {
      w.write(0, `${k}: ${value}\n`);
    }
  });
}

function describeEvents(w: PrefixWriter, events: DescribeEvent[], ctx: PrintContext): void {
  if (events.length === 0) {
    w.write(0, 'Events:\t<none>\n');
    return;
  }
  // event.SortableEvents: by last timestamp.
  const sorted = [...events].sort((a, b) => a.lastAtMs - b.lastAtMs);
  w.write(0, 'Events:\n  Type\tReason\tAge\tFrom\tMessage\n');
  w.write(1, '----\t------\t----\t----\t-------\n');
  for (const e of sorted) {
    const first = humanDuration(ctx.nowMs - e.firstAtMs);
    const interval = e.count > 1 ? `${humanDuration(ctx.nowMs - e.lastAtMs)} (x${e.count} over ${first})` : first;
    w.write(1, `${e.type}\t${e.reason}\t${interval}\t${e.source}\t${e.message.trim()}\n`);
  }
}

function describePVC(w: PrefixWriter, pvc: KObject, ctx: PrintContext, usedBy: string[]): void {
  const spec: Any = pvc.spec ?? {};
  w.write(0, `Name:\t${pvc.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${pvc.metadata.namespace ?? ''}\n`);
  w.write(0, `StorageClass:\t${storageClassOf(pvc)}\n`);
  if (pvc.metadata.deletionTimestamp) w.write(0, `Status:\tTerminating (lasts ${since(pvc.metadata.deletionTimestamp, ctx)})\n`);
  else w.write(0, `Status:\t${pvc.status?.phase ?? ''}\n`);
  w.write(0, `Volume:\t${spec.volumeName ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', pvc.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', pvc.metadata.annotations);
  w.write(0, `Finalizers:\t${goList(pvc.metadata.finalizers)}\n`);
  const bound = !!spec.volumeName;
  w.write(0, `Capacity:\t${bound ? formatQuantity(pvc.status?.capacity?.storage) : ''}\n`);
  w.write(0, `Access Modes:\t${bound ? accessModes(pvc.status?.accessModes) : ''}\n`);
  if (spec.volumeMode) w.write(0, `VolumeMode:\t${spec.volumeMode}\n`);
  if (spec.dataSource) {
    w.write(0, 'DataSource:\n');
    if (spec.dataSource.apiGroup) w.write(1, `APIGroup:\t${spec.dataSource.apiGroup}\n`);
    w.write(1, `Kind:\t${spec.dataSource.kind}\n`);
    w.write(1, `Name:\t${spec.dataSource.name}\n`);
  }
  // printPodsMultiline
  w.write(0, 'Used By:\t');
  const pods = [...usedBy].sort();
  if (pods.length === 0) w.writeLine('<none>');
  pods.forEach((p, i) => {
    if (i !== 0) w.write(0, '\t');
    w.write(0, `${p}\n`);
  });
  const conds: Any[] = pvc.status?.conditions ?? [];
  if (conds.length > 0) {
    w.write(0, 'Conditions:\n');
    w.write(1, 'Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of conds) {
      w.write(1, `${c.type} \t${c.status} \t${rfc1123z(c.lastProbeTime)} \t${rfc1123z(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}\n`);
    }
  }
}

function describePV(w: PrefixWriter, pv: KObject, ctx: PrintContext): void {
  const spec: Any = pv.spec ?? {};
  w.write(0, `Name:\t${pv.metadata.name ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', pv.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', pv.metadata.annotations);
  w.write(0, `Finalizers:\t${goList(pv.metadata.finalizers)}\n`);
  w.write(0, `StorageClass:\t${storageClassOf(pv)}\n`);
  if (pv.metadata.deletionTimestamp) w.write(0, `Status:\tTerminating (lasts ${since(pv.metadata.deletionTimestamp, ctx)})\n`);
  else w.write(0, `Status:\t${pv.status?.phase ?? ''}\n`);
  w.write(0, `Claim:\t${spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : ''}\n`);
  w.write(0, `Reclaim Policy:\t${spec.persistentVolumeReclaimPolicy ?? ''}\n`);
  w.write(0, `Access Modes:\t${accessModes(spec.accessModes)}\n`);
  if (spec.volumeMode) w.write(0, `VolumeMode:\t${spec.volumeMode}\n`);
  w.write(0, `Capacity:\t${formatQuantity(spec.capacity?.storage)}\n`);
  // printVolumeNodeAffinity
  w.write(0, 'Node Affinity:\t');
  const required = spec.nodeAffinity?.required;
  if (!required) {
    w.writeLine('<none>');
  } else {
    w.writeLine('');
    w.write(1, 'Required Terms:\t');
    const terms: Any[] = required.nodeSelectorTerms ?? [];
    if (terms.length === 0) w.writeLine('<none>');
    else {
      w.writeLine('');
      terms.forEach((term, i) => {
        w.write(2, `Term ${i}:\t`);
        const reqs: Any[] = term.matchExpressions ?? [];
        if (reqs.length === 0) w.writeLine('<none>');
        reqs.forEach((r, j) => {
          if (j !== 0) w.write(2, '\t');
          const vals: string[] = r.values ?? [];
          w.write(0, `${r.key} ${String(r.operator).toLowerCase()}${vals.length > 0 ? ` [${vals.join(', ')}]` : ''}\n`);
        });
      });
    }
  }
  w.write(0, `Message:\t${pv.status?.message ?? ''}\n`);
  w.write(0, 'Source:\n');
  describePVSource(w, spec);
}

function describePVSource(w: PrefixWriter, src: Any): void {
  if (src.hostPath) printHostPath(w, src.hostPath);
  else if (src.nfs) printNFS(w, src.nfs);
  else if (src.rbd) printRBD(w, src.rbd);
  else if (src.local) w.write(2, `Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n    Path:\t${src.local.path ?? ''}\n`);
  else if (src.csi) {
    w.write(
      2,
      `Type:\tCSI (a Container Storage Interface (CSI) volume source)\n    Driver:\t${src.csi.driver ?? ''}\n    FSType:\t${src.csi.fsType ?? ''}\n    VolumeHandle:\t${src.csi.volumeHandle ?? ''}\n    ReadOnly:\t${src.csi.readOnly ?? false}\n`,
    );
    printCSIAttributes(w, src.csi.volumeAttributes);
  } else w.write(1, '<unknown>\n');
}

function printHostPath(w: PrefixWriter, hp: Any): void {
  w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${hp.path ?? ''}\n    HostPathType:\t${hp.type ?? '<none>'}\n`);
}

function printNFS(w: PrefixWriter, nfs: Any): void {
  w.write(2, `Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t${nfs.server ?? ''}\n    Path:\t${nfs.path ?? ''}\n    ReadOnly:\t${nfs.readOnly ?? false}\n`);
}

function printRBD(w: PrefixWriter, rbd: Any): void {
  const secretRef = rbd.secretRef ? `&LocalObjectReference{Name:${rbd.secretRef.name ?? ''},}` : '<nil>';
  w.write(
    2,
    'Type:\tRBD (a Rados Block Device mount on the host that shares a pod\'s lifetime)\n' +
      `    CephMonitors:\t${goList(rbd.monitors)}\n` +
      `    RBDImage:\t${rbd.image ?? ''}\n` +
      `    FSType:\t${rbd.fsType ?? ''}\n` +
      `    RBDPool:\t${rbd.pool ?? 'rbd'}\n` +
      `    RadosUser:\t${rbd.user ?? 'admin'}\n` +
      `    Keyring:\t${rbd.keyring ?? '/etc/ceph/keyring'}\n` +
      `    SecretRef:\t${secretRef}\n` +
      `    ReadOnly:\t${rbd.readOnly ?? false}\n`,
  );
}

function printCSIAttributes(w: PrefixWriter, attrs: Record<string, string> | undefined): void {
  w.write(2, 'VolumeAttributes:\t');
  const keys = Object.keys(attrs ?? {}).sort();
  if (keys.length === 0) {
    w.writeLine('<none>');
    return;
  }
  keys.forEach((k, i) => {
    if (i !== 0) w.write(2, '\t');
    const line = `${k}=${attrs![k]}`;
    w.write(2, line.length > MAX_ANNOTATION_LEN ? `${line.slice(0, MAX_ANNOTATION_LEN)}...\n` : `${line}\n`);
  });
}

function describeVolumes(w: PrefixWriter, volumes: Any[] | undefined, space: string): void {
  if (!volumes || volumes.length === 0) {
    w.write(0, `${space}Volumes:\t<none>\n`);
    return;
  }
  w.write(0, `${space}Volumes:\n`);
  for (const v of volumes) {
    w.write(1, `${space ? ' ' : ''}${v.name}:\n`);
    if (v.hostPath) printHostPath(w, v.hostPath);
    else if (v.emptyDir) {
      const limit = v.emptyDir.sizeLimit ? formatQuantity(v.emptyDir.sizeLimit) : '<unset>';
      w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${v.emptyDir.medium ?? ''}\n    SizeLimit:\t${limit}\n`);
    } else if (v.secret) w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${v.secret.secretName ?? ''}\n    Optional:\t${v.secret.optional ?? false}\n`);
    else if (v.configMap) w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${v.configMap.name ?? ''}\n    Optional:\t${v.configMap.optional ?? false}\n`);
    else if (v.nfs) printNFS(w, v.nfs);
    else if (v.persistentVolumeClaim) {
      w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${v.persistentVolumeClaim.claimName ?? ''}\n    ReadOnly:\t${v.persistentVolumeClaim.readOnly ?? false}\n`);
    } else if (v.rbd) printRBD(w, v.rbd);
    else if (v.projected) {
      w.write(2, 'Type:\tProjected (a volume that contains injected data from multiple sources)\n');
      for (const s of (v.projected.sources ?? []) as Any[]) {
        if (s.secret) w.write(2, `SecretName:\t${s.secret.name ?? ''}\n    Optional:\t${s.secret.optional ?? false}\n`);
        else if (s.downwardAPI) w.write(2, 'DownwardAPI:\ttrue\n');
        else if (s.configMap) w.write(2, `ConfigMapName:\t${s.configMap.name ?? ''}\n    Optional:\t${s.configMap.optional ?? false}\n`);
        else if (s.serviceAccountToken) w.write(2, `TokenExpirationSeconds:\t${s.serviceAccountToken.expirationSeconds ?? 3607}\n`);
      }
    } else if (v.csi) {
      w.write(2, `Type:\tCSI (a Container Storage Interface (CSI) volume source)\n    Driver:\t${v.csi.driver ?? ''}\n    FSType:\t${v.csi.fsType ?? ''}\n    ReadOnly:\t${v.csi.readOnly ?? false}\n`);
      printCSIAttributes(w, v.csi.volumeAttributes);
    } else w.write(1, '<unknown>\n');
  }
}

function printTolerations(w: PrefixWriter, title: string, tolerations: Any[] | undefined): void {
  w.write(0, `${title}:\t`);
  const ts = [...(tolerations ?? [])].sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0));
  if (ts.length === 0) {
    w.writeLine('<none>');
    return;
  }
  ts.forEach((t, i) => {
    if (i !== 0) w.write(0, '\t');
    let s = t.key ?? '';
    if (t.value) s += `=${t.value}`;
    if (t.effect) s += `:${t.effect}`;
    if (t.operator === 'Exists' && !t.value) s += t.key || t.effect ? ' op=Exists' : 'op=Exists';
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) s += ` for ${t.tolerationSeconds}s`;
    w.write(0, `${s}\n`);
  });
}

/** Resolves a downward-API env var the way EnvValueRetriever does, for the fields ksim sets. */
function fieldRefValue(pod: KObject | undefined, fieldPath: string): string {
  if (!pod) return '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
  }
  return '';
}

function describeProbe(p: Any): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
  if (p.exec) return `exec ${goList(p.exec.command)} ${attrs}`;
  if (p.httpGet) {
    const scheme = String(p.httpGet.scheme ?? 'HTTP').toLowerCase();
    const port = p.httpGet.port !== undefined ? `:${p.httpGet.port}` : '';
    return `http-get ${scheme}://${p.httpGet.host ?? ''}${port}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

function describeState(w: PrefixWriter, name: string, state: Any): void {
  if (state?.running) {
    w.write(2, `${name}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(state.running.startedAt)}\n`);
  } else if (state?.waiting) {
    w.write(2, `${name}:\tWaiting\n`);
    if (state.waiting.reason) w.write(3, `Reason:\t${state.waiting.reason}\n`);
  } else if (state?.terminated) {
    const t = state.terminated;
    w.write(2, `${name}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${t.reason}\n`);
    if (t.message) w.write(3, `Message:\t${t.message}\n`);
    w.write(3, `Exit Code:\t${t.exitCode ?? 0}\n`);
    if (t.signal > 0) w.write(3, `Signal:\t${t.signal}\n`);
    w.write(3, `Started:\t${rfc1123z(t.startedAt)}\n`);
    w.write(3, `Finished:\t${rfc1123z(t.finishedAt)}\n`);
  } else {
    w.write(2, `${name}:\tWaiting\n`);
  }
}

/** describeContainers; `statuses` undefined for a pod template (no status lines). */
function describeContainers(w: PrefixWriter, label: string, containers: Any[], statuses: Any[] | undefined, pod: KObject | undefined, space: string): void {
  w.write(0, `${space}${label}:${containers.length === 0 ? ' <none>' : ''}\n`);
  for (const c of containers) {
    const st = statuses?.find((s) => s.name === c.name);
    w.write(1, `${space ? ' ' : ''}${c.name}:\n`);
    if (st) w.write(2, `Container ID:\t${st.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image ?? ''}\n`);
    if (st) w.write(2, `Image ID:\t${st.imageID ?? ''}\n`);
    const ports: Any[] = c.ports ?? [];
    const portStr = ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ');
    const hostPortStr = ports.map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', ');
    if (portStr.includes(',')) w.write(2, `Ports:\t${portStr}\n`);
    else w.write(2, `Port:\t${portStr || '<none>'}\n`);
    if (hostPortStr.includes(',')) w.write(2, `Host Ports:\t${hostPortStr}\n`);
    else w.write(2, `Host Port:\t${hostPortStr || '<none>'}\n`);
    for (const [title, list] of [['Command', c.command], ['Args', c.args]] as const) {
      if (list && list.length > 0) {
        w.write(2, `${title}:\n`);
        for (const x of list as string[]) for (const s of x.split('\n')) w.write(3, `${s}\n`);
      }
    }
    if (st) {
      describeState(w, 'State', st.state);
      if (st.lastState?.terminated) describeState(w, 'Last State', st.lastState);
      w.write(2, `Ready:\t${st.ready ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${st.restartCount ?? 0}\n`);
    }
    for (const [title, list] of [['Limits', c.resources?.limits], ['Requests', c.resources?.requests]] as const) {
      const names = Object.keys(list ?? {}).sort();
      if (names.length > 0) w.write(2, `${title}:\n`);
      for (const n of names) w.write(3, `${n}:\t${formatQuantity((list as Any)[n])}\n`);
    }
    if (c.livenessProbe) w.write(2, `Liveness:\t${describeProbe(c.livenessProbe)}\n`);
    if (c.readinessProbe) w.write(2, `Readiness:\t${describeProbe(c.readinessProbe)}\n`);
    if (c.startupProbe) w.write(2, `Startup:\t${describeProbe(c.startupProbe)}\n`);
    const env: Any[] = c.env ?? [];
    w.write(2, `Environment:${env.length === 0 ? '\t<none>' : ''}\n`);
    for (const e of env) {
      if (!e.valueFrom) {
        String(e.value ?? '')
          .split('\n')
          .forEach((s, i) => w.write(3, i === 0 ? `${e.name}:\t${s}\n` : `\t${s}\n`));
      } else if (e.valueFrom.fieldRef) {
        const f = e.valueFrom.fieldRef;
        w.write(3, `${e.name}:\t${fieldRefValue(pod, f.fieldPath)} (${f.apiVersion ?? 'v1'}:${f.fieldPath})\n`);
      } else if (e.valueFrom.secretKeyRef) {
        const s = e.valueFrom.secretKeyRef;
        w.write(3, `${e.name}:\t<set to the key '${s.key}' in secret '${s.name}'>\tOptional: ${s.optional ?? false}\n`);
      } else if (e.valueFrom.configMapKeyRef) {
        const s = e.valueFrom.configMapKeyRef;
        w.write(3, `${e.name}:\t<set to the key '${s.key}' of config map '${s.name}'>\tOptional: ${s.optional ?? false}\n`);
      }
    }
    const mounts: Any[] = [...(c.volumeMounts ?? [])].sort((a, b) => (a.mountPath < b.mountPath ? -1 : a.mountPath > b.mountPath ? 1 : 0));
    w.write(2, `Mounts:${mounts.length === 0 ? '\t<none>' : ''}\n`);
    for (const m of mounts) {
      const flags = [m.readOnly ? 'ro' : 'rw'];
      if (m.subPath) flags.push(`path=${JSON.stringify(m.subPath)}`);
      w.write(3, `${m.mountPath} from ${m.name} (${flags.join(',')})\n`);
    }
  }
}

/** qos.GetPodQOS: the status field when set, else computed from requests and limits. */
function podQOS(pod: KObject): string {
  if (pod.status?.qosClass) return pod.status.qosClass;
  const all: Any[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      if (lim[r] === undefined || (req[r] !== undefined && formatQuantity(req[r]) !== formatQuantity(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function describePod(w: PrefixWriter, pod: KObject, ctx: PrintContext): void {
  const spec: Any = pod.spec ?? {};
  const status: Any = pod.status ?? {};
  w.write(0, `Name:\t${pod.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${pod.metadata.namespace ?? ''}\n`);
  if (spec.priority !== undefined && spec.priority !== null) w.write(0, `Priority:\t${spec.priority}\n`);
  if (spec.priorityClassName) w.write(0, `Priority Class Name:\t${spec.priorityClassName}\n`);
  if (spec.serviceAccountName) w.write(0, `Service Account:\t${spec.serviceAccountName}\n`);
  w.write(0, spec.nodeName ? `Node:\t${spec.nodeName}/${status.hostIP ?? ''}\n` : 'Node:\t<none>\n');
  if (status.startTime) w.write(0, `Start Time:\t${rfc1123z(status.startTime)}\n`);
  printLabelsMultiline(w, 'Labels', pod.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', pod.metadata.annotations);
  if (pod.metadata.deletionTimestamp && status.phase !== 'Failed' && status.phase !== 'Succeeded') {
    w.write(0, `Status:\tTerminating (lasts ${since(pod.metadata.deletionTimestamp, ctx)})\n`);
    w.write(0, `Termination Grace Period:\t${pod.metadata.deletionGracePeriodSeconds ?? 0}s\n`);
  } else {
    w.write(0, `Status:\t${status.phase ?? ''}\n`);
  }
  if (status.reason) w.write(0, `Reason:\t${status.reason}\n`);
  if (status.message) w.write(0, `Message:\t${status.message}\n`);
  w.write(0, `IP:\t${status.podIP ?? ''}\n`);
  const ips: Any[] = status.podIPs ?? (status.podIP ? [{ ip: status.podIP }] : []);
  if (ips.length === 0) w.write(0, 'IPs:\t<none>\n');
  else {
    w.write(0, 'IPs:\n');
    for (const ip of ips) w.write(1, `IP:\t${ip.ip}\n`);
  }
  const owner = (pod.metadata.ownerReferences ?? []).find((r) => r.controller);
  if (owner) w.write(0, `Controlled By:\t${owner.kind}/${owner.name}\n`);
  if (status.nominatedNodeName) w.write(0, `NominatedNodeName:\t${status.nominatedNodeName}\n`);
  if ((spec.initContainers ?? []).length > 0) describeContainers(w, 'Init Containers', spec.initContainers, status.initContainerStatuses ?? [], pod, '');
  describeContainers(w, 'Containers', spec.containers ?? [], status.containerStatuses ?? [], pod, '');
  const gates: Any[] = spec.readinessGates ?? [];
  if (gates.length > 0) {
    w.write(0, 'Readiness Gates:\n  Type\tStatus\n');
    for (const g of gates) {
      const c = ((status.conditions ?? []) as Any[]).find((x) => x.type === g.conditionType);
      w.write(1, `${g.conditionType} \t${c ? c.status : '<none>'} \n`);
    }
  }
  const conds: Any[] = status.conditions ?? [];
  if (conds.length > 0) {
    w.write(0, 'Conditions:\n  Type\tStatus\n');
    for (const c of conds) w.write(1, `${c.type} \t${c.status} \n`);
  }
  describeVolumes(w, spec.volumes, '');
  w.write(0, `QoS Class:\t${podQOS(pod)}\n`);
  printLabelsMultiline(w, 'Node-Selectors', spec.nodeSelector);
  printTolerations(w, 'Tolerations', spec.tolerations);
}

function describeStatefulSet(w: PrefixWriter, sts: KObject, pods: KObject[]): void {
  const spec: Any = sts.spec ?? {};
  w.write(0, `Name:\t${sts.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${sts.metadata.namespace ?? ''}\n`);
  w.write(0, `CreationTimestamp:\t${rfc1123z(sts.metadata.creationTimestamp)}\n`);
  w.write(0, `Selector:\t${spec.selector ? formatSelector(spec.selector) : ''}\n`);
  printLabelsMultiline(w, 'Labels', sts.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', sts.metadata.annotations);
  w.write(0, `Replicas:\t${spec.replicas ?? 1} desired | ${sts.status?.replicas ?? 0} total\n`);
  w.write(0, `Update Strategy:\t${spec.updateStrategy?.type ?? ''}\n`);
  const ru = spec.updateStrategy?.rollingUpdate;
  if (ru && ru.partition !== undefined && ru.partition !== null) {
    w.write(1, `Partition:\t${ru.partition}\n`);
    if (ru.maxUnavailable !== undefined && ru.maxUnavailable !== null) w.write(1, `MaxUnavailable:\t${ru.maxUnavailable}\n`);
  }
  // getPodStatusForController: the set's pods (by controller uid when known), counted by phase.
  const mine = pods.filter((p) => !sts.metadata.uid || (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === sts.metadata.uid));
  const count = (phase: string): number => mine.filter((p) => (p.status?.phase ?? 'Pending') === phase).length;
  w.write(0, `Pods Status:\t${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed\n`);
  // DescribePodTemplate
  const tpl: Any = spec.template;
  w.write(0, 'Pod Template:\n');
  if (!tpl) w.write(1, '<unset>');
  else {
    printLabelsMultiline(w, '  Labels', tpl.metadata?.labels);
    if (Object.keys(tpl.metadata?.annotations ?? {}).length > 0) printAnnotationsMultiline(w, '  Annotations', tpl.metadata.annotations);
    if (tpl.spec?.serviceAccountName) w.write(1, `Service Account:\t${tpl.spec.serviceAccountName}\n`);
    if ((tpl.spec?.initContainers ?? []).length > 0) describeContainers(w, 'Init Containers', tpl.spec.initContainers, undefined, undefined, '  ');
    describeContainers(w, 'Containers', tpl.spec?.containers ?? [], undefined, undefined, '  ');
    describeVolumes(w, tpl.spec?.volumes, '  ');
    if (tpl.spec?.priorityClassName) w.write(1, `Priority Class Name:\t${tpl.spec.priorityClassName}\n`);
    printLabelsMultiline(w, '  Node-Selectors', tpl.spec?.nodeSelector);
    printTolerations(w, '  Tolerations', tpl.spec?.tolerations);
  }
  // describeVolumeClaimTemplates
  const vcts: Any[] = spec.volumeClaimTemplates ?? [];
  if (vcts.length === 0) w.write(0, 'Volume Claims:\t<none>\n');
  else {
    w.write(0, 'Volume Claims:\n');
    for (const t of vcts) {
      w.write(1, `Name:\t${t.metadata?.name ?? ''}\n`);
      w.write(1, `StorageClass:\t${storageClassOf({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: t.metadata ?? {}, spec: t.spec })}\n`);
      printLabelsMultilineWithIndent(w, '  ', 'Labels', '\t', t.metadata?.labels);
      printLabelsMultilineWithIndent(w, '  ', 'Annotations', '\t', t.metadata?.annotations);
      const storage = t.spec?.resources?.requests?.storage;
      w.write(1, `Capacity:\t${storage !== undefined ? formatQuantity(storage) : '<default>'}\n`);
      w.write(1, `Access Modes:\t${goList(t.spec?.accessModes)}\n`);
    }
  }
}

/** formatEndpointSlices: ready endpoints of the named port, first three then "+ N more...". */
function formatEndpointSlices(slices: KObject[], portName: string): string {
  if (slices.length === 0) return '<none>';
  const list: string[] = [];
  let count = 0;
  for (const s of slices as Any[]) {
    const eps: Any[] = (s.endpoints ?? []).filter((e: Any) => e.conditions?.ready !== false);
    const ports: Any[] = s.ports ?? [];
    if (ports.length === 0) {
      for (const e of eps) {
        if (list.length < 3) list.push(e.addresses?.[0] ?? '');
        count++;
      }
      continue;
    }
    for (const p of ports) {
      if ((p.name ?? '') !== portName) continue;
      for (const e of eps) {
        const addr: string = e.addresses?.[0] ?? '';
        if (list.length < 3) list.push(addr.includes(':') ? `[${addr}]:${p.port}` : `${addr}:${p.port}`);
        count++;
      }
    }
  }
  const ret = list.join(',');
  return count > 3 ? `${ret} + ${count - 3} more...` : ret;
}

function describeService(w: PrefixWriter, svc: KObject, slices: KObject[]): void {
  const spec: Any = svc.spec ?? {};
  w.write(0, `Name:\t${svc.metadata.name ?? ''}\n`);
  w.write(0, `Namespace:\t${svc.metadata.namespace ?? ''}\n`);
  printLabelsMultiline(w, 'Labels', svc.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', svc.metadata.annotations);
  w.write(0, `Selector:\t${formatLabels(spec.selector)}\n`);
  w.write(0, `Type:\t${spec.type ?? 'ClusterIP'}\n`);
  if (spec.ipFamilyPolicy) w.write(0, `IP Family Policy:\t${spec.ipFamilyPolicy}\n`);
  const families: string[] = spec.ipFamilies ?? [];
  w.write(0, `IP Families:\t${families.length > 0 ? families.join(',') : '<none>'}\n`);
  w.write(0, `IP:\t${spec.clusterIP ?? ''}\n`);
  const ips: string[] = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  w.write(0, `IPs:\t${ips.length > 0 ? ips.join(',') : '<none>'}\n`);
  if ((spec.externalIPs ?? []).length > 0) w.write(0, `External IPs:\t${spec.externalIPs.join(',')}\n`);
  if (spec.loadBalancerIP) w.write(0, `Desired LoadBalancer IP:\t${spec.loadBalancerIP}\n`);
  if (spec.externalName) w.write(0, `External Name:\t${spec.externalName}\n`);
  for (const p of (spec.ports ?? []) as Any[]) {
    const name = p.name || '<unset>';
    const proto = p.protocol ?? 'TCP';
    w.write(0, `Port:\t${name}\t${p.port}/${proto}\n`);
    // The API server defaults targetPort to port (core/v1 defaults.go SetDefaults_Service).
    const target = p.targetPort ?? p.port;
    w.write(0, `TargetPort:\t${target}/${proto}\n`);
    if (p.nodePort) w.write(0, `NodePort:\t${name}\t${p.nodePort}/${proto}\n`);
    w.write(0, `Endpoints:\t${formatEndpointSlices(slices, p.name ?? '')}\n`);
  }
  w.write(0, `Session Affinity:\t${spec.sessionAffinity ?? 'None'}\n`);
  if (spec.externalTrafficPolicy) w.write(0, `External Traffic Policy:\t${spec.externalTrafficPolicy}\n`);
  if (spec.internalTrafficPolicy) w.write(0, `Internal Traffic Policy:\t${spec.internalTrafficPolicy}\n`);
}

function describeNode(w: PrefixWriter, node: KObject): void {
  const status: Any = node.status ?? {};
  w.write(0, `Name:\t${node.metadata.name ?? ''}\n`);
  const roles = nodeRoles(node);
  w.write(0, `Roles:\t${roles.length > 0 ? roles.join(',') : '<none>'}\n`);
  printLabelsMultiline(w, 'Labels', node.metadata.labels);
  printAnnotationsMultiline(w, 'Annotations', node.metadata.annotations);
  w.write(0, `CreationTimestamp:\t${rfc1123z(node.metadata.creationTimestamp)}\n`);
  // printNodeTaintsMultiline: sorted by effect, then key.
  w.write(0, 'Taints:\t');
  const taints: Any[] = [...(node.spec?.taints ?? [])].sort((a, b) => {
    const ka = `${a.effect},${a.key}`;
    const kb = `${b.effect},${b.key}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  if (taints.length === 0) w.writeLine('<none>');
  taints.forEach((t, i) => {
    if (i !== 0) w.write(0, '\t');
    w.write(0, `${t.value ? `${t.key}=${t.value}` : t.key}:${t.effect}\n`);
  });
  w.write(0, `Unschedulable:\t${node.spec?.unschedulable ?? false}\n`);
  const conds: Any[] = status.conditions ?? [];
  if (conds.length > 0) {
    w.write(0, 'Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n');
    w.write(1, '----\t------\t-----------------\t------------------\t------\t-------\n');
    for (const c of conds) {
      w.write(1, `${c.type} \t${c.status} \t${rfc1123z(c.lastHeartbeatTime)} \t${rfc1123z(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}\n`);
    }
  }
  w.write(0, 'Addresses:\n');
  for (const a of (status.addresses ?? []) as Any[]) w.write(1, `${a.type}:\t${a.address}\n`);
  for (const [title, list] of [['Capacity', status.capacity], ['Allocatable', status.allocatable]] as const) {
    const names = Object.keys(list ?? {}).sort();
    if (names.length === 0) continue;
    w.write(0, `${title}:\n`);
    for (const n of names) w.write(0, `  ${n}:\t${formatQuantity((list as Any)[n])}\n`);
  }
  const info: Any = status.nodeInfo ?? {};
  w.write(0, 'System Info:\n');
  w.write(0, `  Machine ID:\t${info.machineID ?? ''}\n`);
  w.write(0, `  System UUID:\t${info.systemUUID ?? ''}\n`);
  w.write(0, `  Boot ID:\t${info.bootID ?? ''}\n`);
  w.write(0, `  Kernel Version:\t${info.kernelVersion ?? ''}\n`);
  w.write(0, `  OS Image:\t${info.osImage ?? ''}\n`);
  w.write(0, `  Operating System:\t${info.operatingSystem ?? ''}\n`);
  w.write(0, `  Architecture:\t${info.architecture ?? ''}\n`);
  w.write(0, `  Container Runtime Version:\t${info.containerRuntimeVersion ?? ''}\n`);
  w.write(0, `  Kubelet Version:\t${info.kubeletVersion ?? 'v1.30.0'}\n`);
  w.write(0, `  Kube-Proxy Version:\t${info.kubeProxyVersion ?? ''}\n`);
  if (node.spec?.podCIDR) w.write(0, `PodCIDR:\t${node.spec.podCIDR}\n`);
  if ((node.spec?.podCIDRs ?? []).length > 0) w.write(0, `PodCIDRs:\t${node.spec.podCIDRs.join(',')}\n`);
  if (node.spec?.providerID) w.write(0, `ProviderID:\t${node.spec.providerID}\n`);
}
