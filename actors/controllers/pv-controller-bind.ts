/**
 * The PersistentVolume controller's writes of a binding (pv-controller.ts): claim and volume
 * status (updateClaimStatus, updateVolumePhase and their ...WithEvent forms) and the steps of
 * bind and unbindVolume, as pv_controller.go has them. The syncs decide; these functions only
 * write, each write its own API request under the cached resourceVersion, so that a crash
 * between steps is resumed by the next sync. A refused write calls `fail`, a done one the
 * continuation with the object as the API server returned it.
 */
import type { PvBase, Fail } from './pv-controller-base.ts';
import type { End } from './pv-controller-queue.ts';
import { claimStatusUpdate, getBindClaimToVolume, getBindVolumeToClaim, getUnbindVolume, type ClaimObj, type PvObj } from './pv-utils.ts';

/** The binding writes, as the syncs and the reclaim operations use them. */
export type PvBind = ReturnType<typeof pvBind>;

export function pvBind(base: PvBase) {
  const { event, write } = base;

  // -------------------------------------------------------------------------------------------
  // Status writes (updateClaimStatus, updateVolumePhase and their ...WithEvent forms)

  function updateClaimStatus(claim: ClaimObj, phase: string, pv: PvObj | undefined, fail: Fail, k: (c: ClaimObj) => void): void {
    const next = claimStatusUpdate(claim, phase, pv);
    if (!next) return k(claim);
    write('updateStatus', next, fail, (o) => k(o as ClaimObj));
  }

  function updateClaimStatusWithEvent(claim: ClaimObj, phase: string, type: 'Normal' | 'Warning', reason: string, message: string, end: End): void {
    if (claim.status?.phase === phase) return end();
    updateClaimStatus(claim, phase, undefined, end, (c) => {
      // Only when the phase really changed, not on every sync.
      event(c, type, reason, message);
      end();
    });
  }

  function updateVolumePhase(pv: PvObj, phase: string, message: string, fail: Fail, k: (v: PvObj) => void): void {
    if (pv.status?.phase === phase) return k(pv);
    // Only the status counts in an updateStatus write: the rest is shared with the cached PV.
    const status: Record<string, unknown> = { ...(pv.status ?? {}), phase };
    if (message) status['message'] = message;
    else delete status['message'];
    write('updateStatus', { ...pv, status } as PvObj, fail, (o) => k(o as PvObj));
  }

  function updateVolumePhaseWithEvent(pv: PvObj, phase: string, type: 'Normal' | 'Warning', reason: string, message: string, fail: Fail, k: (v: PvObj) => void): void {
    if (pv.status?.phase === phase) return k(pv);
    updateVolumePhase(pv, phase, message, fail, (v) => {
      event(v, type, reason, message);
      k(v);
    });
  }

  // -------------------------------------------------------------------------------------------
  // bind / unbindVolume: every step its own API write, so a crash between steps is resumed by
  // the next sync ("1-8/1-9/1-10 - complete bind after crash").

  function bind(volume: PvObj, claim: ClaimObj, end: End): void {
    bindVolumeToClaim(volume, claim, end, (v1) =>
      updateVolumePhase(v1, 'Bound', '', end, (v2) =>
        bindClaimToVolume(claim, v2, end, (c1) => updateClaimStatus(c1, 'Bound', v2, end, () => end())),
      ),
    );
  }

  function bindVolumeToClaim(volume: PvObj, claim: ClaimObj, fail: Fail, k: (v: PvObj) => void): void {
    const clone = getBindVolumeToClaim(volume, claim);
    if (!clone) return k(volume);
    write('update', clone, fail, (o) => k(o as PvObj));
  }

  function bindClaimToVolume(claim: ClaimObj, volume: PvObj, fail: Fail, k: (c: ClaimObj) => void): void {
    const clone = getBindClaimToVolume(claim, volume);
    if (!clone) return k(claim);
    write('update', clone, fail, (o) => k(o as ClaimObj));
  }

  function unbindVolume(volume: PvObj, fail: Fail, k: () => void): void {
    write('update', getUnbindVolume(volume), fail, (o) => updateVolumePhase(o as PvObj, 'Available', '', fail, () => k()));
  }

  return { updateClaimStatus, updateClaimStatusWithEvent, updateVolumePhase, updateVolumePhaseWithEvent, bind, unbindVolume };
}
