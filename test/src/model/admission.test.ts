/**
 * The admission plugins as a user sees their effect: tolerations a pod gets, the class a claim
 * ends up with, the protection finalizers, and the resize refusals.
 */
import { expect } from 'chai';
import type { KObject } from '../../../src/protocol.ts';
import { addProtectionFinalizers, checkPvcResize, defaultStorageClass, defaultTolerationSeconds } from '../../../src/model/admission.ts';

const NOT_READY = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };
const UNREACHABLE = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 };

const pod = (tolerations?: any[]): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...(tolerations ? { tolerations } : {}) },
});

describe('admission: DefaultTolerationSeconds', () => {
  const rows: { name: string; tolerations?: any[]; expected: any[] }[] = [
    { name: 'a pod without tolerations gets not-ready and unreachable for 300s', expected: [NOT_READY, UNREACHABLE] },
    {
      name: 'a pod that tolerates not-ready itself only gets unreachable',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }],
      expected: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }, UNREACHABLE],
    },
    {
      name: 'a toleration of the unreachable key with any effect counts',
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }],
      expected: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }, NOT_READY],
    },
    { name: 'a pod tolerating everything gets nothing', tolerations: [{ operator: 'Exists' }], expected: [{ operator: 'Exists' }] },
    {
      name: 'a NoSchedule toleration of not-ready does not count',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
      expected: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }, NOT_READY, UNREACHABLE],
    },
    {
      name: 'other tolerations are kept, in order, before the added ones',
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
      expected: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }, NOT_READY, UNREACHABLE],
    },
  ];
  for (const r of rows)
    it(r.name, () => {
      const p = pod(r.tolerations);
      defaultTolerationSeconds(p);
      expect(p.spec.tolerations).to.deep.equal(r.expected);
    });

  it('admitting the same pod twice adds nothing more', () => {
    const p = pod();
    defaultTolerationSeconds(p);
    defaultTolerationSeconds(p);
    expect(p.spec.tolerations).to.deep.equal([NOT_READY, UNREACHABLE]);
  });
});

const cls = (name: string, created: string, annotations: Record<string, string> = {}, extra: any = {}): KObject => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name, creationTimestamp: created, annotations },
  provisioner: 'rbd.csi.ceph.com',
  ...extra,
});
const DEFAULT = { 'storageclass.kubernetes.io/is-default-class': 'true' };
const BETA_DEFAULT = { 'storageclass.beta.kubernetes.io/is-default-class': 'true' };

const claim = (spec: any = {}, annotations?: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});

describe('admission: DefaultStorageClass', () => {
  const rows: { name: string; pvc: KObject; classes: KObject[]; expected: string | undefined }[] = [
    { name: 'a PVC with nil class gets the default class', pvc: claim(), classes: [cls('slow', '2025-01-01T00:00:00Z'), cls('fast', '2025-01-01T00:00:00Z', DEFAULT)], expected: 'fast' },
    {
      name: 'a PVC with nil class gets the newest default class',
      pvc: claim(),
      classes: [cls('a-old', '2025-01-01T00:00:00Z', DEFAULT), cls('z-new', '2025-01-01T00:05:00Z', DEFAULT)],
      expected: 'z-new',
    },
    {
      name: 'defaults created at the same time are chosen by name',
      pvc: claim(),
      classes: [cls('zeta', '2025-01-01T00:00:00Z', DEFAULT), cls('alpha', '2025-01-01T00:00:00Z', DEFAULT)],
      expected: 'alpha',
    },
    { name: 'the beta default-class annotation is honoured', pvc: claim(), classes: [cls('legacy', '2025-01-01T00:00:00Z', BETA_DEFAULT)], expected: 'legacy' },
    { name: 'a default-class annotation other than "true" does not count', pvc: claim(), classes: [cls('maybe', '2025-01-01T00:00:00Z', { 'storageclass.kubernetes.io/is-default-class': 'True' })], expected: undefined },
    { name: 'without a default class the class stays nil', pvc: claim(), classes: [cls('slow', '2025-01-01T00:00:00Z')], expected: undefined },
    { name: 'an explicit empty class is not defaulted', pvc: claim({ storageClassName: '' }), classes: [cls('fast', '2025-01-01T00:00:00Z', DEFAULT)], expected: '' },
    { name: 'an explicit class is kept', pvc: claim({ storageClassName: 'slow' }), classes: [cls('fast', '2025-01-01T00:00:00Z', DEFAULT)], expected: 'slow' },
    {
      name: 'a claim naming its class by the beta annotation is not defaulted',
      pvc: claim({}, { 'volume.beta.kubernetes.io/storage-class': 'slow' }),
      classes: [cls('fast', '2025-01-01T00:00:00Z', DEFAULT)],
      expected: undefined,
    },
  ];
  for (const r of rows)
    it(r.name, () => {
      const p = structuredClone(r.pvc);
      defaultStorageClass(p, r.classes);
      expect(p.spec.storageClassName).to.equal(r.expected);
    });
});

describe('admission: StorageObjectInUseProtection', () => {
  const rows: { name: string; obj: KObject; expected: string[] | undefined }[] = [
    { name: 'a new claim gets kubernetes.io/pvc-protection', obj: claim(), expected: ['kubernetes.io/pvc-protection'] },
    { name: 'a new PV gets kubernetes.io/pv-protection', obj: { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: {} }, expected: ['kubernetes.io/pv-protection'] },
    {
      name: 'a claim that already carries the finalizer keeps one copy, after its others',
      obj: { ...claim(), metadata: { name: 'data', namespace: 'default', finalizers: ['example.com/x', 'kubernetes.io/pvc-protection'] } },
      expected: ['example.com/x', 'kubernetes.io/pvc-protection'],
    },
    { name: 'other kinds get no protection finalizer', obj: pod(), expected: undefined },
  ];
  for (const r of rows)
    it(r.name, () => {
      const o = structuredClone(r.obj);
      addProtectionFinalizers(o);
      expect(o.metadata.finalizers).to.deep.equal(r.expected);
    });
});

describe('admission: PersistentVolumeClaimResize', () => {
  const BOUND_ONLY = 'Only bound persistent volume claims can be expanded';
  const NO_RESIZE = 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';
  const expandable = cls('fast', '2025-01-01T00:00:00Z', {}, { allowVolumeExpansion: true });
  const fixed = cls('fast', '2025-01-01T00:00:00Z', {}, { allowVolumeExpansion: false });
  const withSize = (size: string, phase: string | undefined, className: string | undefined = 'fast'): KObject => {
    const c = claim(className === undefined ? {} : { storageClassName: className });
    c.spec.resources.requests.storage = size;
    if (phase) c.status = { phase };
    return c;
  };
  const rows: { name: string; old: KObject; next: KObject; cls: KObject | undefined; expected: string | undefined }[] = [
    { name: 'a bound claim of an expandable class may grow', old: withSize('1Gi', 'Bound'), next: withSize('2Gi', 'Bound'), cls: expandable, expected: undefined },
    { name: 'an unbound claim cannot grow', old: withSize('1Gi', 'Pending'), next: withSize('2Gi', 'Pending'), cls: expandable, expected: BOUND_ONLY },
    { name: 'a claim whose class does not allow expansion cannot grow', old: withSize('1Gi', 'Bound'), next: withSize('2Gi', 'Bound'), cls: fixed, expected: NO_RESIZE },
    {
      name: 'a class that says nothing about expansion does not allow it',
      old: withSize('1Gi', 'Bound'),
      next: withSize('2Gi', 'Bound'),
      cls: cls('fast', '2025-01-01T00:00:00Z'),
      expected: NO_RESIZE,
    },
    { name: 'a claim whose class is gone cannot grow', old: withSize('1Gi', 'Bound'), next: withSize('2Gi', 'Bound'), cls: undefined, expected: NO_RESIZE },
    { name: 'a claim without a class cannot grow', old: withSize('1Gi', 'Bound', ''), next: withSize('2Gi', 'Bound', ''), cls: undefined, expected: NO_RESIZE },
    { name: 'a growth counted in other units is still growth', old: withSize('1Gi', 'Bound'), next: withSize('1025Mi', 'Bound'), cls: fixed, expected: NO_RESIZE },
    { name: 'an unchanged size is not the resize plugin\'s business', old: withSize('1Gi', 'Pending'), next: withSize('1024Mi', 'Pending'), cls: fixed, expected: undefined },
    { name: 'a shrink is left to validation', old: withSize('2Gi', 'Bound'), next: withSize('1Gi', 'Bound'), cls: fixed, expected: undefined },
  ];
  for (const r of rows)
    it(r.name, () => {
      expect(checkPvcResize(r.old, r.next, r.cls)).to.equal(r.expected);
    });
});
