/**
 * The StatefulSet controller's expectations: each write it issued, remembered until its cache
 * shows the write's effect (or the write fails), so that a sync running meanwhile does not issue
 * it twice. Part of the one statefulset-controller actor (statefulset-controller.ts makes it);
 * it sends nothing on the bus and keeps one timer, `expire`.
 *
 * Follows pkg/controller/controller_utils.go's ControllerExpectations (ExpectationsTimeout 5 min:
 * an expectation the watch has not met by then lapses and the set is synced again). Keys are
 * `<verb>/<Kind>/<namespace>/<name>`; a met or lapsed expectation marks its set dirty.
 */
import type { Port } from '../../src/component.ts';
import type { PodObj } from './statefulset-utils.ts';

// controller_utils.go ExpectationsTimeout: an expectation not met by the watch in 5 minutes lapses.
const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

/** One write the controller issued and waits to see in its cache. */
export interface Expectation {
  setKey: string;
  atMs: number;
  done(): boolean;
  /** For a pending pod create: the pod being created (stands in for it during syncs). */
  pod?: PodObj;
}

/** The expectations of one controller, and what the syncs and the event handlers do with them. */
export interface Expectations {
  /** By key (`<verb>/<Kind>/<namespace>/<name>`). */
  readonly expectations: ReadonlyMap<string, Expectation>;
  /** Whether any expectation of a `<verb>/<Kind>/` is held: none, and a sync asks no object. */
  anyExpected(verbKind: string): boolean;
  expect(key: string, e: Omit<Expectation, 'atMs'>): void;
  forgetExpectation(key: string): void;
  /** The expectations about `object` (`<Kind>/<namespace>/<name>`) that its change met. */
  sweepExpectations(object: string): void;
  /** The `expire` timer: expectations older than the timeout lapse. */
  expireExpectations(): void;
}

/** The object (`<Kind>/<namespace>/<name>`) an expectation key is about. */
export const objectOf = (key: string): string => key.slice(key.indexOf('/') + 1);
export const podKey = (ns: string | undefined, name: string) => `Pod/${ns ?? ''}/${name}`;
export const claimKey = (ns: string | undefined, name: string) => `PersistentVolumeClaim/${ns ?? ''}/${name}`;

/** `markDirty(setKey)`: a met or lapsed expectation's set is queued again. */
export function statefulSetExpectations(port: Port, markDirty: (key: string) => void): Expectations {
  const expectations = new Map<string, Expectation>();
  let expireDue: number | undefined;

  /**
   * Expectation keys are `<verb>/<Kind>/<namespace>/<name>`; only a change of that object (a
   * watch event, or the answer to the write) can meet one, so each is filed under its object and
   * a change looks only at that object's expectations.
   */
  const expectationsOf = new Map<string, Set<string>>();
  /** How many expectations of each `<verb>/<Kind>/` there are: none, and a sync asks no pod. */
  const expectedByVerbKind = new Map<string, number>();
  const verbKindOf = (key: string): string => key.slice(0, key.indexOf('/', key.indexOf('/') + 1) + 1);
  const anyExpected = (verbKind: string): boolean => (expectedByVerbKind.get(verbKind) ?? 0) > 0;
  function countExpected(key: string, by: number): void {
    const vk = verbKindOf(key);
    const n = (expectedByVerbKind.get(vk) ?? 0) + by;
    if (n === 0) expectedByVerbKind.delete(vk);
    else expectedByVerbKind.set(vk, n);
  }

  function forgetExpectation(key: string): void {
    if (!expectations.delete(key)) return;
    countExpected(key, -1);
    const obj = objectOf(key);
    const set = expectationsOf.get(obj);
    set?.delete(key);
    if (set?.size === 0) expectationsOf.delete(obj);
  }

  function expect(key: string, e: Omit<Expectation, 'atMs'>): void {
    if (!expectations.has(key)) countExpected(key, 1);
    expectations.set(key, { ...e, atMs: port.now() });
    const obj = objectOf(key);
    let set = expectationsOf.get(obj);
    if (!set) expectationsOf.set(obj, (set = new Set()));
    set.add(key);
    const due = port.now() + EXPECTATIONS_TIMEOUT_MS;
    if (expireDue === undefined || due < expireDue) {
      expireDue = due;
      port.setTimer('expire', EXPECTATIONS_TIMEOUT_MS);
    }
  }

  /** The expectations about `object` (`<Kind>/<namespace>/<name>`) that its change met. */
  function sweepExpectations(object: string): void {
    const keys = expectationsOf.get(object);
    if (!keys) return;
    for (const key of [...keys].sort()) {
      const e = expectations.get(key)!;
      if (e.done()) {
        forgetExpectation(key);
        markDirty(e.setKey);
      }
    }
    if (expectations.size === 0 && expireDue !== undefined) {
      expireDue = undefined;
      port.cancelTimer('expire');
    }
  }

  function expireExpectations(): void {
    expireDue = undefined;
    let next: number | undefined;
    for (const [key, e] of [...expectations].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const due = e.atMs + EXPECTATIONS_TIMEOUT_MS;
      if (due <= port.now()) {
        forgetExpectation(key);
        markDirty(e.setKey);
      } else if (next === undefined || due < next) next = due;
    }
    if (next !== undefined) {
      expireDue = next;
      port.setTimer('expire', next - port.now());
    }
  }

  return { expectations, anyExpected, expect, forgetExpectation, sweepExpectations, expireExpectations };
}
