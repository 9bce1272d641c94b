/**
 * A benchmark of the binder's matcher (actors/controllers/pv-index.ts): n PersistentVolumes and
 * n claims of mixed sizes, classes, access modes and volume modes; every claim is matched and
 * the volume it gets is taken out of the index, as binding would. The generator gives each kind
 * of claim exactly as many volumes of its kind, so every claim finds one.
 *
 * The caller passes the wall clock: sim/ never reads it (test/src/tidy.test.ts).
 */
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { VolumeIndex } from '../../actors/controllers/pv-index.ts';

const CLASSES = ['', 'gold', 'silver', 'bronze'];
const MODE_SETS = [['ReadWriteOnce'], ['ReadWriteOnce', 'ReadOnlyMany'], ['ReadWriteMany'], ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'], ['ReadWriteOncePod']];
const SIZES = ['1Gi', '2Gi', '5Gi', '10Gi', '20Gi', '50Gi', '100Gi', '500Mi'];
const VOLUME_MODES = ['Filesystem', 'Filesystem', 'Filesystem', 'Block'];

/** Kind i of volume and claim: a spread over classes, access modes, sizes and volume modes. */
function kind(i: number): { cls: string; modes: string[]; size: string; volumeMode: string } {
  return {
    cls: CLASSES[i % CLASSES.length]!,
    modes: MODE_SETS[Math.floor(i / 4) % MODE_SETS.length]!,
    size: SIZES[Math.floor(i / 20) % SIZES.length]!,
    volumeMode: VOLUME_MODES[Math.floor(i / 160) % VOLUME_MODES.length]!,
  };
}

export function benchVolumes(n: number): PersistentVolume[] {
  const out: PersistentVolume[] = [];
  for (let i = 0; i < n; i++) {
    const k = kind(n - 1 - i);
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `pv-${String(i).padStart(6, '0')}`, labels: { tier: k.cls || 'none' } },
      spec: { storageClassName: k.cls, accessModes: k.modes, capacity: { storage: k.size }, volumeMode: k.volumeMode, persistentVolumeReclaimPolicy: 'Retain', nfs: { server: 'nfs-server', path: `/exports/${i}` } },
      status: { phase: 'Available' },
    });
  }
  return out;
}

export function benchClaims(n: number): PersistentVolumeClaim[] {
  const out: PersistentVolumeClaim[] = [];
  for (let i = 0; i < n; i++) {
    const k = kind(i);
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `claim-${String(i).padStart(6, '0')}`, namespace: `ns-${i % 10}`, uid: `uid-claim-${i}` },
      spec: {
        storageClassName: k.cls,
        accessModes: k.modes,
        resources: { requests: { storage: k.size } },
        volumeMode: k.volumeMode,
        ...(i % 3 === 0 ? { selector: { matchLabels: { tier: k.cls || 'none' } } } : {}),
      },
    });
  }
  return out;
}

/** Matches every claim against the index, removing each matched volume. */
export function benchBinderMatcher(wallMs: () => number, n = 10_000): { claims: number; volumes: number; wallMs: number } {
  const volumes = benchVolumes(n);
  const claims = benchClaims(n);
  const t0 = wallMs();
  const index = new VolumeIndex();
  for (const pv of volumes) index.add(pv);
  let matched = 0;
  for (const claim of claims) {
    const pv = index.findMatch(claim);
    if (!pv) continue;
    matched++;
    index.remove(pv);
  }
  return { claims: matched, volumes: volumes.length, wallMs: wallMs() - t0 };
}
