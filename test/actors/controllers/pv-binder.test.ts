/**
 * The binder's matcher (actors/controllers/pv-index.ts), table-driven like Kubernetes'
 * binder_test.go and index_test.go: given these volumes, which one does this claim get?
 */
import { expect } from 'chai';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { VolumeIndex, type MatchOptions } from '../../../actors/controllers/pv-index.ts';
import { benchBinderMatcher } from '../../../sim/bench/binder.ts';

const NS = 'default';
const RWO = 'ReadWriteOnce';
const ROX = 'ReadOnlyMany';
const RWX = 'ReadWriteMany';

interface PvOpts {
  cls?: string;
  modes?: string[];
  volumeMode?: string;
  phase?: string;
  claim?: string;
  claimUid?: string;
  labels?: Record<string, string>;
  deleting?: boolean;
  node?: string;
  betaClass?: string;
}

function pv(name: string, size: string, o: PvOpts = {}): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
      ...(o.betaClass !== undefined ? { annotations: { 'volume.beta.kubernetes.io/storage-class': o.betaClass } } : {}),
    },
    spec: {
      capacity: { storage: size },
      accessModes: o.modes ?? [RWO],
      ...(o.cls !== undefined ? { storageClassName: o.cls } : {}),
      ...(o.volumeMode ? { volumeMode: o.volumeMode } : {}),
      ...(o.claim ? { claimRef: { kind: 'PersistentVolumeClaim', namespace: NS, name: o.claim, ...(o.claimUid ? { uid: o.claimUid } : {}) } } : {}),
      ...(o.node ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [o.node] }] }] } } } : {}),
      nfs: { server: 'nfs-server', path: `/exports/${name}` },
    },
    status: { phase: o.phase ?? 'Available' },
  };
}

interface ClaimOpts {
  cls?: string | null;
  modes?: string[];
  volumeMode?: string;
  selector?: Record<string, string>;
  betaClass?: string;
}

function claim(name: string, size: string, o: ClaimOpts = {}): PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: NS, uid: `uid-${name}`, ...(o.betaClass !== undefined ? { annotations: { 'volume.beta.kubernetes.io/storage-class': o.betaClass } } : {}) },
    spec: {
      accessModes: o.modes ?? [RWO],
      resources: { requests: { storage: size } },
      ...(o.cls !== undefined && o.cls !== null ? { storageClassName: o.cls } : {}),
      ...(o.volumeMode ? { volumeMode: o.volumeMode } : {}),
      ...(o.selector ? { selector: { matchLabels: o.selector } } : {}),
    },
  };
}

interface Row {
  name: string;
  volumes: PersistentVolume[];
  claim: PersistentVolumeClaim;
  opts?: MatchOptions;
  /** The volume the claim gets, or undefined: it stays Pending. */
  want: string | undefined;
}

const node1 = { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } };

const rows: Row[] = [
  { name: '1-1 - successful bind', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '1Gi'), want: 'pv-1' },
  { name: '1-2 - noop: a 1Gi volume does not satisfy a 10Gi claim', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '10Gi'), want: undefined },
  { name: '1-4 - smallest volume wins', volumes: [pv('pv-10', '10Gi'), pv('pv-1', '1Gi'), pv('pv-5', '5Gi')], claim: claim('claim-a', '1Gi'), want: 'pv-1' },
  { name: 'the smallest volume that still fits wins', volumes: [pv('pv-10', '10Gi'), pv('pv-1', '1Gi'), pv('pv-5', '5Gi')], claim: claim('claim-a', '2Gi'), want: 'pv-5' },
  { name: 'quantities compare by value, not text', volumes: [pv('pv-g', '2G'), pv('pv-mi', '1500Mi')], claim: claim('claim-a', '1.5Gi'), want: 'pv-g' },
  { name: 'equal capacities: the name decides', volumes: [pv('pv-b', '1Gi'), pv('pv-a', '1024Mi'), pv('pv-c', '1Gi')], claim: claim('claim-a', '1Gi'), want: 'pv-a' },
  {
    name: '1-5 - prebound volume by name wins over a smaller free one',
    volumes: [pv('pv-big', '10Gi', { claim: 'claim-a' }), pv('pv-small', '1Gi')],
    claim: claim('claim-a', '1Gi'),
    want: 'pv-big',
  },
  {
    name: '1-6 - prebound volume by UID wins',
    volumes: [pv('pv-big', '10Gi', { claim: 'claim-a', claimUid: 'uid-claim-a', phase: 'Bound' }), pv('pv-small', '1Gi')],
    claim: claim('claim-a', '1Gi'),
    want: 'pv-big',
  },
  { name: '1-7 - a volume prebound to another uid is not this claim', volumes: [pv('pv-1', '10Gi', { claim: 'claim-a', claimUid: 'uid-other' })], claim: claim('claim-a', '1Gi'), want: undefined },
  { name: 'claimRef reserves a volume for its claim', volumes: [pv('pv-1', '1Gi', { claim: 'claim-b' })], claim: claim('claim-a', '1Gi'), want: undefined },
  {
    name: 'a prebound volume that is too small is passed over for a free one',
    volumes: [pv('pv-pre', '1Gi', { claim: 'claim-a' }), pv('pv-free', '10Gi')],
    claim: claim('claim-a', '5Gi'),
    want: 'pv-free',
  },
  {
    name: 'a prebound volume ignores the class (the controller does not check it)',
    volumes: [pv('pv-pre', '1Gi', { claim: 'claim-a', cls: 'gold' })],
    claim: claim('claim-a', '1Gi', { cls: 'silver' }),
    want: 'pv-pre',
  },
  { name: 'a claim asking RWX does not bind an RWO-only volume', volumes: [pv('pv-1', '1Gi', { modes: [RWO] })], claim: claim('claim-a', '1Gi', { modes: [RWX] }), want: undefined },
  {
    name: 'an RWO claim prefers an RWO-only volume over a smaller RWO+ROX+RWX one',
    volumes: [pv('pv-nfs', '1Gi', { modes: [RWO, ROX, RWX] }), pv('pv-rwo', '10Gi', { modes: [RWO] })],
    claim: claim('claim-a', '1Gi'),
    want: 'pv-rwo',
  },
  {
    name: 'an RWO claim takes a volume with extra modes when no RWO-only volume fits',
    volumes: [pv('pv-nfs', '10Gi', { modes: [RWO, ROX, RWX] }), pv('pv-rwo', '1Gi', { modes: [RWO] })],
    claim: claim('claim-a', '5Gi'),
    want: 'pv-nfs',
  },
  {
    name: 'fewer extra modes first: RWO+ROX before RWO+ROX+RWX',
    volumes: [pv('pv-3', '1Gi', { modes: [RWO, ROX, RWX] }), pv('pv-2', '10Gi', { modes: [RWO, ROX] })],
    claim: claim('claim-a', '1Gi'),
    want: 'pv-2',
  },
  { name: 'a claim asking two modes needs both', volumes: [pv('pv-1', '1Gi', { modes: [RWO] }), pv('pv-2', '1Gi', { modes: [ROX, RWX] })], claim: claim('claim-a', '1Gi', { modes: [RWO, ROX] }), want: undefined },
  {
    name: '13-1 - binding to class',
    volumes: [pv('pv-none', '1Gi', { cls: '' }), pv('pv-gold', '10Gi', { cls: 'gold' })],
    claim: claim('claim-a', '1Gi', { cls: 'gold' }),
    want: 'pv-gold',
  },
  {
    name: '13-2 - binding without a class',
    volumes: [pv('pv-gold', '1Gi', { cls: 'gold' }), pv('pv-none', '10Gi', { cls: '' })],
    claim: claim('claim-a', '1Gi', { cls: null }),
    want: 'pv-none',
  },
  { name: 'nil and empty class both bind a class-less volume (nil)', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '1Gi', { cls: null }), want: 'pv-1' },
  { name: 'nil and empty class both bind a class-less volume (empty)', volumes: [pv('pv-1', '1Gi', { cls: '' })], claim: claim('claim-a', '1Gi', { cls: '' }), want: 'pv-1' },
  { name: 'a claim with a class never binds a class-less volume', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '1Gi', { cls: 'gold' }), want: undefined },
  {
    name: 'the beta class annotation wins over spec.storageClassName, on both sides',
    volumes: [pv('pv-spec', '1Gi', { cls: 'silver' }), pv('pv-beta', '10Gi', { cls: 'silver', betaClass: 'gold' })],
    claim: claim('claim-a', '1Gi', { cls: 'silver', betaClass: 'gold' }),
    want: 'pv-beta',
  },
  { name: '14-3 - a Block claim never binds a Filesystem volume', volumes: [pv('pv-1', '1Gi', { volumeMode: 'Filesystem' })], claim: claim('claim-a', '1Gi', { volumeMode: 'Block' }), want: undefined },
  { name: '14-4 - a Filesystem claim never binds a Block volume', volumes: [pv('pv-1', '1Gi', { volumeMode: 'Block' })], claim: claim('claim-a', '1Gi', { volumeMode: 'Filesystem' }), want: undefined },
  { name: 'a nil volumeMode is Filesystem on both sides', volumes: [pv('pv-1', '1Gi', { volumeMode: 'Filesystem' })], claim: claim('claim-a', '1Gi'), want: 'pv-1' },
  { name: 'a prebound Block volume is not returned to a Filesystem claim', volumes: [pv('pv-1', '1Gi', { volumeMode: 'Block', claim: 'claim-a' })], claim: claim('claim-a', '1Gi'), want: undefined },
  { name: '1-11 - a matching selector binds', volumes: [pv('pv-1', '1Gi', { labels: { disk: 'ssd' } })], claim: claim('claim-a', '1Gi', { selector: { disk: 'ssd' } }), want: 'pv-1' },
  { name: 'a selector that does not match leaves the claim Pending', volumes: [pv('pv-1', '1Gi', { labels: { disk: 'hdd' } })], claim: claim('claim-a', '1Gi', { selector: { disk: 'ssd' } }), want: undefined },
  {
    name: 'a selector skips the smaller volume whose labels do not match',
    volumes: [pv('pv-small', '1Gi', { labels: { disk: 'hdd' } }), pv('pv-big', '5Gi', { labels: { disk: 'ssd' } })],
    claim: claim('claim-a', '1Gi', { selector: { disk: 'ssd' } }),
    want: 'pv-big',
  },
  {
    name: '3-7 - a prebound volume binds even when the selector does not match',
    volumes: [pv('pv-1', '1Gi', { claim: 'claim-a', labels: { disk: 'hdd' } })],
    claim: claim('claim-a', '1Gi', { selector: { disk: 'ssd' } }),
    want: 'pv-1',
  },
  { name: '1-17 - a volume that is not Available is skipped', volumes: [pv('pv-1', '1Gi', { phase: 'Pending' }), pv('pv-2', '1Gi', { phase: 'Failed' })], claim: claim('claim-a', '1Gi'), want: undefined },
  { name: '1-17 - a prebound volume that is not Available is still returned', volumes: [pv('pv-1', '1Gi', { phase: 'Pending', claim: 'claim-a' })], claim: claim('claim-a', '1Gi'), want: 'pv-1' },
  { name: 'a volume being deleted is never matched', volumes: [pv('pv-1', '1Gi', { deleting: true }), pv('pv-2', '1Gi', { deleting: true, claim: 'claim-a' })], claim: claim('claim-a', '1Gi'), want: undefined },
  {
    name: 'a Released Retain volume is never rebound',
    volumes: [pv('pv-1', '1Gi', { phase: 'Released', claim: 'claim-a', claimUid: 'uid-old-claim-a' })],
    claim: claim('claim-a', '1Gi'),
    want: undefined,
  },
  { name: 'WFFC claims are ignored by the controller', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '1Gi'), opts: { delayBinding: true }, want: undefined },
  { name: '1-13 - delayed binding still returns a prebound volume', volumes: [pv('pv-1', '1Gi'), pv('pv-2', '5Gi', { claim: 'claim-a' })], claim: claim('claim-a', '1Gi'), opts: { delayBinding: true }, want: 'pv-2' },
  {
    name: 'with a node (the scheduler), WFFC claims do bind unbound volumes the node reaches',
    volumes: [pv('pv-far', '1Gi', { node: 'node-2' }), pv('pv-near', '5Gi', { node: 'node-1' })],
    claim: claim('claim-a', '1Gi'),
    opts: { delayBinding: true, node: node1 },
    want: 'pv-near',
  },
  { name: 'with a node, a volume without node affinity is reachable', volumes: [pv('pv-1', '1Gi')], claim: claim('claim-a', '1Gi'), opts: { node: node1 }, want: 'pv-1' },
  {
    name: 'with a node, a prebound volume on another node means no match at all',
    volumes: [pv('pv-pre', '1Gi', { claim: 'claim-a', node: 'node-2' }), pv('pv-near', '1Gi', { node: 'node-1' })],
    claim: claim('claim-a', '1Gi'),
    opts: { node: node1 },
    want: undefined,
  },
];

describe('pv binder (VolumeIndex.findMatch)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const index = new VolumeIndex();
      for (const v of row.volumes) index.add(v);
      expect(index.findMatch(row.claim, row.opts)?.metadata?.name).to.equal(row.want);
    });
  }

  it('a volume bound by update leaves the pool; removing it forgets it; a rolled-back one comes back', () => {
    const index = new VolumeIndex();
    const a = pv('pv-a', '1Gi');
    index.add(a);
    index.add(pv('pv-b', '2Gi'));
    index.update({ ...a, spec: { ...a.spec, claimRef: { namespace: NS, name: 'claim-x', uid: 'uid-claim-x' } }, status: { phase: 'Bound' } });
    expect(index.findMatch(claim('claim-a', '1Gi'))?.metadata?.name).to.equal('pv-b');
    // Still found by the claim it is bound to.
    expect(index.findMatch(claim('claim-x', '1Gi'))?.metadata?.name).to.equal('pv-a');
    index.update(a);
    expect(index.findMatch(claim('claim-a', '1Gi'))?.metadata?.name).to.equal('pv-a');
    index.remove(a);
    expect(index.findMatch(claim('claim-a', '1Gi'))?.metadata?.name).to.equal('pv-b');
    expect(index.size).to.equal(1);
  });

  it('an access-mode set whose last volume went is no longer tried', () => {
    const index = new VolumeIndex();
    const nfs = pv('pv-nfs', '1Gi', { modes: [RWO, RWX] });
    index.add(nfs);
    index.remove(nfs);
    index.add(pv('pv-rwo', '1Gi'));
    expect(index.findMatch(claim('claim-a', '1Gi'))?.metadata?.name).to.equal('pv-rwo');
    expect(index.findMatch(claim('claim-b', '1Gi', { modes: [RWX] }))).to.equal(undefined);
  });

  // The scheduler tries a claim on each node with a match prepared once (matcherFor): on every
  // node of every row above it must pick what findMatch picks there.
  it('the scheduler\'s prepared match picks on each node the volume findMatch picks there', () => {
    const nodes = ['node-1', 'node-2', 'node-3'].map((name) => ({ name, labels: { 'kubernetes.io/hostname': name } }));
    let found = 0;
    for (const row of rows) {
      const index = new VolumeIndex();
      for (const v of row.volumes) index.add(v);
      const ignoreAccessModes = row.opts?.ignoreAccessModes === true;
      const match = index.matcherFor(row.claim, { ignoreAccessModes });
      for (const node of nodes) {
        const want = index.findMatch(row.claim, { node, ignoreAccessModes })?.metadata?.name;
        if (want !== undefined) found++;
        expect(match?.(node)?.metadata?.name, `${row.name} on ${node.name}`).to.equal(want);
      }
    }
    expect(found).to.be.greaterThan(rows.length);
  });

  it('benchBinderMatcher matches all 10,000 claims against 10,000 volumes', () => {
    const r = benchBinderMatcher(() => performance.now(), 10_000);
    expect(r.volumes).to.equal(10_000);
    expect(r.claims).to.equal(10_000);
  });
});
