/**
 * The EndpointSlice reconciler: from what a Service's slices should hold and the slices it has,
 * the slices to create, update and delete, each holding at most 100 endpoints. Pure: the
 * controller sends the writes.
 *
 * Follows staging/src/k8s.io/endpointslice/reconciler.go (v1.30): `reconcileByAddressType`,
 * `reconcileByPortMapping`, the placeholder slice and `finalize`, with utils.go
 * `getSliceToFill`, `newEndpointSlice` and `endpointSliceEndpointLen`. For ksim's one address
 * type (IPv4) and one port set:
 * 1. each slice of the Service keeps the endpoints still desired (updated in place when their
 *    conditions changed) and drops the others; a slice left empty is to be deleted, a changed
 *    one (or one whose labels differ from the Service's) to be updated, the rest are unchanged;
 *    slices of another owner (an earlier Service of this name), of other ports or of another
 *    address type are to be deleted;
 * 2. the endpoints not placed yet fill the slices to be updated, fullest first;
 * 3. what is still left goes, when it is under 100, into the unchanged slice it fills closest to
 *    full (`getSliceToFill`), otherwise into new slices of up to 100;
 * 4. a Service left with no slice gets a placeholder (no endpoints, no ports), unless its only
 *    slice already is one;
 * 5. a new slice takes the place of a slice to be deleted of this Service (`finalize`): that
 *    slice is updated instead, keeping its name.
 *
 * Where upstream walks sets in Go's random map order (slice names, `EndpointSet.PopAny`), ksim
 * walks slices by name and endpoints by pod name, and writes each slice's endpoints sorted by
 * pod name, so that a Service of up to 100 endpoints keeps the one slice, in the order, it had
 * before slices were split. A slice moved into by `finalize` is updated with its own
 * resourceVersion (upstream's update carries none): under a conflict it is retried, not
 * overwritten.
 */
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { cmp } from '../../src/model/objects.ts';
import { canonText, labelsEqual, portsEqual, type DesiredSlice, type EndpointIndex, ownedBy, type SliceObj, type Svc } from './endpointslice-utils.ts';

/** --max-endpoints-per-slice default (kube-controller-manager, pkg/controller/endpointslice/config/v1alpha1/defaults.go). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** The writes of one sync, in the order `finalize` sends them: creates, updates, deletes. */
export interface SliceWrites {
  /** New slices, named by the API server from `generateName: <service>-`. */
  create: SliceObj[];
  /** Stored slices with their new endpoints, ports and labels, by name. */
  update: SliceObj[];
  delete: SliceObj[];
}

/** A slice being worked out: the stored one it rewrites (none for a new one) and its endpoints. */
interface Work {
  base: SliceObj | undefined;
  /** Positions in the desired endpoints. */
  pos: number[];
  placeholder?: true;
}

/**
 * The writes that bring `existing` (the Service's slices managed by the controller and not being
 * deleted, by name) to `want`. `endpointsOf` gives a slice's endpoints (the controller passes the
 * ones it wrote while the cached slice is its own write, so that they compare by identity).
 */
export function reconcileSlices(
  svc: Svc,
  want: DesiredSlice,
  index: EndpointIndex,
  existing: readonly SliceObj[],
  endpointsOf: (s: SliceObj) => readonly Endpoint[] = (s) => s.endpoints ?? [],
  maxEndpointsPerSlice = MAX_ENDPOINTS_PER_SLICE,
): SliceWrites {
  const max = maxEndpointsPerSlice;
  const desired = want.endpoints;
  const placed = new Uint8Array(desired.length);
  let left = desired.length;

  // Reconcile: slices of an address type the Service does not have are deleted.
  const otherType: SliceObj[] = [];
  const v4: SliceObj[] = [];
  for (const s of existing) (s.addressType === 'IPv4' ? v4 : otherType).push(s);

  // reconcileByAddressType: slices of another owner are deleted; those of ports no longer
  // desired (every port set when no endpoint is desired) are deleted after the emptied ones.
  const toDelete: SliceObj[] = [];
  const mine: SliceObj[] = [];
  const otherPorts: SliceObj[] = [];
  for (const s of v4) {
    if (!ownedBy(s, svc)) toDelete.push(s);
    else if (desired.length > 0 && portsEqual(s.ports ?? [], want.ports)) mine.push(s);
    else otherPorts.push(s);
  }

  // 1. Each slice keeps its endpoints still desired, updated; an endpoint already placed in an
  //    earlier slice is dropped from this one (EndpointSet.Delete).
  const toUpdate: Work[] = [];
  const unchanged: Work[] = [];
  for (const s of mine) {
    const have = endpointsOf(s);
    const pos: number[] = [];
    let changed = false;
    const at = index.positionsOf(have);
    for (let k = 0; k < have.length; k++) {
      const i = at[k]!;
      if (i < 0 || placed[i] === 1) continue;
      placed[i] = 1;
      left--;
      pos.push(i);
      const d = desired[i]!;
      const e = have[k]!;
      if (d !== e && canonText(d) !== canonText(e)) changed = true;
    }
    if (changed || pos.length !== have.length) {
      if (pos.length === 0) toDelete.push(s);
      else toUpdate.push({ base: s, pos });
    } else if (!labelsEqual(s.metadata.labels, want.labels)) {
      toUpdate.push({ base: s, pos });
    } else {
      unchanged.push({ base: s, pos });
    }
  }
  toDelete.push(...otherPorts);

  // The endpoints not placed yet, in pod name order.
  let next = 0;
  const fill = (w: Work): void => {
    while (left > 0 && w.pos.length < max) {
      while (placed[next] === 1) next++;
      placed[next] = 1;
      left--;
      w.pos.push(next);
    }
  };

  // 2. They fill the slices to be updated, fullest first (a stable sort: by name among equals).
  if (left > 0 && toUpdate.length > 0) for (const w of [...toUpdate].sort((a, b) => b.pos.length - a.pos.length)) fill(w);

  // 3. What is left goes into the unchanged slice it fills closest to full, or new slices.
  const toCreate: Work[] = [];
  while (left > 0) {
    let w: Work | undefined;
    if (left < max && unchanged.length > 0) {
      const i = sliceToFill(unchanged, left, max);
      if (i >= 0) {
        w = unchanged[i]!;
        unchanged.splice(i, 1);
        toUpdate.push(w);
      }
    }
    if (w === undefined) toCreate.push((w = { base: undefined, pos: [] }));
    fill(w);
  }

  // 4. The placeholder, when the Service would be left without a slice.
  if (v4.length === toDelete.length && toCreate.length === 0) {
    const only = toDelete.length === 1 ? toDelete[0]! : undefined;
    if (only && isPlaceholder(only, want.labels, endpointsOf)) toDelete.length = 0;
    else toCreate.push({ base: undefined, pos: [], placeholder: true });
  }

  // 5. finalize: the last slice to create takes the place of a slice of this Service to delete.
  for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
    const d = toDelete[i]!;
    if (d.addressType === 'IPv4' && ownedBy(d, svc)) {
      const w = toCreate.pop()!;
      w.base = d;
      toUpdate.push(w);
      toDelete.splice(i, 1);
    } else {
      i++;
    }
  }

  toUpdate.sort((a, b) => cmp(a.base!.metadata.name ?? '', b.base!.metadata.name ?? ''));
  const write = (w: Work) => sliceObject(svc, want, w);
  return { create: toCreate.map(write), update: toUpdate.map(write), delete: [...toDelete, ...otherType] };
}

/** getSliceToFill: the slice that `n` more endpoints bring closest to full; -1 when none has room. */
function sliceToFill(slices: readonly Work[], n: number, max: number): number {
  let closestDiff = max;
  let closest = -1;
  for (let i = 0; i < slices.length; i++) {
    const diff = max - (n + slices[i]!.pos.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = i;
      if (diff === 0) break;
    }
  }
  return closest;
}

/** placeholderSliceCompare: no endpoints, no ports, the Service's labels (owner aside). */
function isPlaceholder(s: SliceObj, labels: Record<string, string>, endpointsOf: (s: SliceObj) => readonly Endpoint[]): boolean {
  return s.addressType === 'IPv4' && endpointsOf(s).length === 0 && (s.ports ?? []).length === 0 && labelsEqual(s.metadata.labels, labels);
}

/** The slice to write: the stored one rewritten, or newEndpointSlice's. */
function sliceObject(svc: Svc, want: DesiredSlice, w: Work): SliceObj {
  const endpoints = w.pos.sort((a, b) => a - b).map((i) => want.endpoints[i]!);
  const ports: EndpointPort[] = w.placeholder ? [] : want.ports;
  if (w.base) return { ...w.base, metadata: { ...w.base.metadata, labels: want.labels }, addressType: 'IPv4', endpoints, ports };
  const name = svc.metadata.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${name}-`,
      namespace: svc.metadata.namespace ?? '',
      labels: want.labels,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints,
    ports,
  };
}
