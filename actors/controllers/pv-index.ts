/**
 * The binder's index of PersistentVolumes and its matcher: FindMatchingVolume over the index,
 * as pkg/controller/volume/persistentvolume/index.go (persistentVolumeOrderedIndex,
 * findByClaim, allPossibleMatchingAccessModes) and k8s.io/component-helpers/storage/volume
 * pv_helpers.go (FindMatchingVolume) do it at v1.30.
 *
 * Owns no cluster state: the PV controller (and anyone else, such as the scheduler's volume
 * binding) feeds it PVs with add/update/remove and asks `findMatch(claim)`.
 *
 * Upstream keeps PVs in one index keyed by their access-mode set and scans every PV of each
 * candidate set for every claim. Here the volumes that can be bound (phase Available, no
 * claimRef, no deletionTimestamp) sit in groups keyed by (class, volumeMode, access-mode set),
 * each sorted by capacity then name, so the smallest volume that fits is a binary search away;
 * PVs reserved by a claimRef are found through a map from the claim's namespace/name. The
 * result is the one FindMatchingVolume gives, with the ties Kubernetes leaves to Go's map order
 * fixed: access-mode sets of equal size are tried in the order of their `RWO,ROX,...` string,
 * and volumes of equal capacity in name order.
 */
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { matchesLabelSelector, matchesNodeSelector } from '../../src/model/selectors.ts';
import {
  accessModesContainedInAll,
  accessModesFromKey,
  accessModesKey,
  capacityBytes,
  claimKey,
  claimRefKey,
  getClaimClass,
  getVolumeClass,
  isVolumeBoundToClaim,
  requestedBytes,
  volumeModeOf,
} from './pv-utils.ts';

export interface MatchOptions {
  /** The claim's class is WaitForFirstConsumer and the scheduler has not chosen a node. */
  delayBinding?: boolean;
  /** The scheduler's path: PV node affinity must allow this node. */
  node?: { name: string; labels: Record<string, string> };
  /** --bug binder-ignore-access-modes: match volumes whatever their access modes. */
  ignoreAccessModes?: boolean;
}

interface Entry {
  pv: PersistentVolume;
  name: string;
  capBytes: number;
  modesKey: string;
  /** Group key when the volume can be bound to any claim; undefined otherwise. */
  groupKey: string | undefined;
  refKey: string | undefined;
}

interface ModeSet {
  key: string;
  modes: string[];
  count: number;
}

function groupKeyOf(cls: string, mode: string, modesKey: string): string {
  return `${cls}\u0000${mode}\u0000${modesKey}`;
}

function byCapacityThenName(a: Entry, b: Entry): number {
  if (a.capBytes !== b.capBytes) return a.capBytes - b.capBytes;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** CheckNodeAffinity (component-helpers): no required terms, or a term the node matches. */
export function checkNodeAffinity(pv: PersistentVolume, node: { name: string; labels: Record<string, string> }): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (!required) return true;
  return matchesNodeSelector(required, node.name, node.labels);
}

export class VolumeIndex {
  private readonly entries = new Map<string, Entry>();
  /** Bindable volumes by (class, volumeMode, access modes), sorted by capacity then name. */
  private readonly groups = new Map<string, Entry[]>();
  /** Every indexed access-mode set (of all PVs), as the upstream index's keys. */
  private readonly modeSets = new Map<string, ModeSet>();
  private sortedModeSets: ModeSet[] | undefined;
  /** Volumes with a claimRef, by the claim's namespace/name. */
  private readonly byClaimRef = new Map<string, Set<string>>();

  get size(): number {
    return this.entries.size;
  }

  get(name: string): PersistentVolume | undefined {
    return this.entries.get(name)?.pv;
  }

  add(pv: PersistentVolume): void {
    this.update(pv);
  }

  /** Replaces whatever version of this PV the index holds. */
  update(pv: PersistentVolume): void {
    const name = pv.metadata?.name ?? '';
    const prev = this.entries.get(name);
    // The same version again (our own write's answer, then its watch event): nothing changes.
    if (prev && prev.pv === pv) return;
    const ref = pv.spec?.claimRef;
    const bindable = pv.status?.phase === 'Available' && !ref && !pv.metadata?.deletionTimestamp;
    // A status write shares the spec of the version before it: what comes from the spec stays.
    const sameSpec = prev !== undefined && prev.pv.spec === pv.spec && prev.pv.metadata?.annotations === pv.metadata?.annotations;
    if (sameSpec && bindable === (prev.groupKey !== undefined)) {
      // Same keys, capacity and group: the entry keeps its place.
      prev.pv = pv;
      return;
    }
    if (prev) this.removeByName(name);
    const modesKey = sameSpec ? prev.modesKey : accessModesKey(pv.spec?.accessModes);
    const e: Entry = {
      pv,
      name,
      capBytes: sameSpec ? prev.capBytes : capacityBytes(pv),
      modesKey,
      groupKey: bindable ? (sameSpec && prev.groupKey !== undefined ? prev.groupKey : groupKeyOf(getVolumeClass(pv), volumeModeOf(pv), modesKey)) : undefined,
      refKey: ref ? (sameSpec && prev.refKey !== undefined ? prev.refKey : claimRefKey(ref)) : undefined,
    };
    this.entries.set(name, e);
    const ms = this.modeSets.get(e.modesKey);
    if (ms) ms.count++;
    else {
      this.modeSets.set(e.modesKey, { key: e.modesKey, modes: accessModesFromKey(e.modesKey), count: 1 });
      this.sortedModeSets = undefined;
    }
    if (e.groupKey !== undefined) {
      let g = this.groups.get(e.groupKey);
      if (!g) this.groups.set(e.groupKey, (g = []));
      g.splice(this.lowerBound(g, e), 0, e);
    }
    if (e.refKey !== undefined) {
      let s = this.byClaimRef.get(e.refKey);
      if (!s) this.byClaimRef.set(e.refKey, (s = new Set()));
      s.add(name);
    }
  }

  /** Names of the volumes whose claimRef names the claim `namespace/name`. */
  claiming(claimKey: string): Iterable<string> {
    return this.byClaimRef.get(claimKey) ?? [];
  }

  remove(pv: PersistentVolume): void {
    this.removeByName(pv.metadata?.name ?? '');
  }

  removeByName(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    this.entries.delete(name);
    const ms = this.modeSets.get(e.modesKey);
    if (ms && --ms.count === 0) {
      this.modeSets.delete(e.modesKey);
      this.sortedModeSets = undefined;
    }
    if (e.groupKey !== undefined) {
      const g = this.groups.get(e.groupKey);
      if (g) {
        const i = this.lowerBound(g, e);
        if (g[i] === e) g.splice(i, 1);
        if (g.length === 0) this.groups.delete(e.groupKey);
      }
    }
    if (e.refKey !== undefined) {
      const s = this.byClaimRef.get(e.refKey);
      if (s) {
        s.delete(name);
        if (s.size === 0) this.byClaimRef.delete(e.refKey);
      }
    }
  }

  /**
   * FindMatchingVolume via findByClaim: access-mode sets that contain every requested mode are
   * tried from the fewest modes up; in each, a volume pre-bound to the claim (claimRef
   * namespace/name, and uid if set) wins if it is big enough, else the smallest bindable volume
   * of the claim's class and volumeMode whose labels match the claim's selector. With
   * delayBinding (and no node) only pre-bound volumes are returned.
   */
  findMatch(claim: PersistentVolumeClaim, opts: MatchOptions = {}): PersistentVolume | undefined {
    const requested = claim.spec?.accessModes ?? [];
    const reqBytes = requestedBytes(claim);
    const cls = getClaimClass(claim);
    const mode = volumeModeOf(claim);
    const selector = claim.spec?.selector;
    const node = opts.node;
    const prebound = this.preboundFor(claim, reqBytes, mode);
    for (const set of this.modeSetsInOrder()) {
      // --bug binder-ignore-access-modes: every mode set is tried, whatever the claim asks.
      if (!opts.ignoreAccessModes && !accessModesContainedInAll(set.modes, requested)) continue;
      for (const e of prebound) {
        if (e.modesKey !== set.key) continue;
        // A pre-bound volume the node cannot reach means no match at all for this node.
        if (node && !checkNodeAffinity(e.pv, node)) return undefined;
        return e.pv;
      }
      // The PV controller leaves unbound volumes of a delayed claim to the scheduler.
      if (!node && opts.delayBinding) continue;
      const g = this.groups.get(groupKeyOf(cls, mode, set.key));
      if (!g) continue;
      for (let i = this.firstFitting(g, reqBytes); i < g.length; i++) {
        const e = g[i]!;
        if (selector && !matchesLabelSelector(selector, e.pv.metadata?.labels)) continue;
        if (node && !checkNodeAffinity(e.pv, node)) continue;
        return e.pv;
      }
    }
    return undefined;
  }

  /**
   * findMatch(claim, {node}) for one claim on many nodes (the scheduler's Filter runs it on each
   * node it tries): what does not depend on the node — the claim's modes, size, class, the
   * pre-bound volumes, the candidates of each access-mode set — is worked out once, and a node
   * then only checks PV node affinity in the same order findMatch does. Valid while the index
   * does not change (one scheduling attempt). undefined: no volume matches on any node.
   */
  matcherFor(claim: PersistentVolumeClaim, opts: { ignoreAccessModes?: boolean } = {}): ((node: { name: string; labels: Record<string, string> }) => PersistentVolume | undefined) | undefined {
    const requested = claim.spec?.accessModes ?? [];
    const reqBytes = requestedBytes(claim);
    const cls = getClaimClass(claim);
    const mode = volumeModeOf(claim);
    const selector = claim.spec?.selector;
    const prebound = this.preboundFor(claim, reqBytes, mode);
    // Per mode set in order: its first pre-bound volume (which decides, fitting the node or
    // not), else its bindable volumes that fit and match the selector, smallest first.
    const steps: ({ prebound: Entry } | { candidates: Entry[] })[] = [];
    for (const set of this.modeSetsInOrder()) {
      if (!opts.ignoreAccessModes && !accessModesContainedInAll(set.modes, requested)) continue;
      const pre = prebound.find((e) => e.modesKey === set.key);
      if (pre) {
        steps.push({ prebound: pre });
        break;
      }
      const g = this.groups.get(groupKeyOf(cls, mode, set.key));
      if (!g) continue;
      const candidates: Entry[] = [];
      for (let i = this.firstFitting(g, reqBytes); i < g.length; i++) {
        const e = g[i]!;
        if (selector && !matchesLabelSelector(selector, e.pv.metadata?.labels)) continue;
        candidates.push(e);
      }
      if (candidates.length > 0) steps.push({ candidates });
    }
    if (steps.length === 0) return undefined;
    return (node) => {
      for (const st of steps) {
        if ('prebound' in st) return checkNodeAffinity(st.prebound.pv, node) ? st.prebound.pv : undefined;
        for (const e of st.candidates) if (checkNodeAffinity(e.pv, node)) return e.pv;
      }
      return undefined;
    };
  }

  /** Volumes whose claimRef is this claim and that could serve it, by capacity then name. */
  private preboundFor(claim: PersistentVolumeClaim, reqBytes: number, mode: string): Entry[] {
    const names = this.byClaimRef.get(claimKey(claim));
    if (!names) return [];
    const out: Entry[] = [];
    for (const n of names) {
      const e = this.entries.get(n)!;
      if (!isVolumeBoundToClaim(e.pv, claim)) continue;
      if (e.capBytes < reqBytes) continue;
      if (volumeModeOf(e.pv) !== mode) continue;
      if (e.pv.metadata?.deletionTimestamp) continue;
      out.push(e);
    }
    return out.sort(byCapacityThenName);
  }

  private modeSetsInOrder(): ModeSet[] {
    if (!this.sortedModeSets) {
      this.sortedModeSets = [...this.modeSets.values()].sort((a, b) =>
        a.modes.length !== b.modes.length ? a.modes.length - b.modes.length : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
      );
    }
    return this.sortedModeSets;
  }

  /** Position of `e` (or where it goes) in a group sorted by capacity then name. */
  private lowerBound(g: Entry[], e: Entry): number {
    let lo = 0;
    let hi = g.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byCapacityThenName(g[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose capacity is at least `bytes`. */
  private firstFitting(g: Entry[], bytes: number): number {
    let lo = 0;
    let hi = g.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (g[mid]!.capBytes < bytes) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
