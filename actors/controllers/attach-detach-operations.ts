/**
 * The attach/detach controller's operations (attach-detach-controller.ts): attach and detach of
 * one volume on one node, as pkg/volume/util/operationexecutor/operation_generator.go generates
 * them (GenerateAttachVolumeFunc, GenerateDetachVolumeFunc) for the CSI plugin
 * (pkg/volume/csi/csi_attacher.go: the VolumeAttachment object) with the external-attacher folded
 * in (kubernetes-csi/external-attacher pkg/controller/csi_handler.go: ControllerPublishVolume /
 * ControllerUnpublishVolume, then the VolumeAttachment's status); at most one operation per
 * volume and node at a time (nestedpendingoperations), a failed one retried no sooner than its
 * exponential backoff allows.
 *
 * Owns: VolumeAttachment objects (created, status written, deleted), and the ASW entries an
 * operation confirms, makes uncertain or removes. Sends: api.request create/updateStatus/delete
 * VolumeAttachment; csi.request to `backend/<name>`; Warning FailedAttachVolume and Normal
 * SuccessfulAttachVolume Events on the pods that want the volume. A detach first takes the
 * volume out of the Node's status.volumesAttached (attach-detach-status-updater.ts).
 *
 * Defaults: retry backoff 500 ms doubling to 2m2s (goroutinemap/exponentialbackoff
 * initialDurationBeforeRetry, maxDurationBeforeRetry).
 */
import type { ApiClient, RequestBody } from '../../src/api-client.ts';
import type { Port } from '../../src/component.ts';
import type { Cache, ChangeType } from '../../src/informer.ts';
import type { ApiResponse, KObject } from '../../src/protocol.ts';
import { GRPC, rpcError, type CsiCall, type CsiResponse } from '../../backends/protocol.ts';
import { deepCopy } from '../../src/model/objects.ts';
import { volumeAttachmentName, volumeMsg, type AttachableVolume, type PodObj } from './attach-detach-utils.ts';
import type { ActualStateOfWorld, Attached } from './attach-detach-state.ts';

/** The source of the controller's Events. */
export const SOURCE = 'attachdetach-controller';

// goroutinemap/exponentialbackoff/exponential_backoff.go.
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 122_000;

interface Backoff {
  durationMs: number;
  lastErrorAtMs: number;
}

/** What the operations use of the rest of the controller. */
export interface OperationDeps {
  port: Port;
  api: ApiClient;
  cache: Cache;
  actual: ActualStateOfWorld;
  /** An API request that fails with a Timeout status when no answer comes in time. */
  request(body: RequestBody, cb: (res: ApiResponse) => void): void;
  /** A CSI call; no answer within the attacher's timeout is DeadlineExceeded. */
  csi(backend: string, call: CsiCall, cb: (res: CsiResponse) => void): void;
  /** Puts what one of our own writes returned into the cache, ahead of its watch event. */
  record(type: ChangeType, o: KObject): void;
  /** Writes the Node's status.volumesAttached; `cb` learns whether it landed. */
  syncNodeStatus(name: string, cb?: (ok: boolean) => void): void;
  /** Something changed: the reconciler works out when it next has something to do. */
  kick(): void;
}

export const pairKey = (unique: string, node: string) => `${unique}|${node}`;

/** The operations, as the reconciler starts them and reads what is pending or backing off. */
export type Operations = ReturnType<typeof attachDetachOperations>;

export function attachDetachOperations(deps: OperationDeps) {
  const { port, api, cache, request, csi, record, syncNodeStatus, kick } = deps;
  const { entry, putEntry, deleteEntry } = deps.actual;
  /** Operations in flight (nestedpendingoperations): `uniqueName|node` -> attach/detach. */
  const ops = new Map<string, 'attach' | 'detach'>();
  /** exponentialbackoff per `op|uniqueName|node`. */
  const backoffs = new Map<string, Backoff>();
  /** VolumeAttachments this controller deleted (by uid): never adopted again. */
  const deletedVas = new Set<string>();

  function pendingOn(unique: string, node: string | undefined): boolean {
    if (node !== undefined) return ops.has(pairKey(unique, node));
    for (const k of ops.keys()) if (k.startsWith(`${unique}|`)) return true;
    return false;
  }

  /** exponentialbackoff.Update. */
  function failed(key: string): void {
    const b = backoffs.get(key);
    const durationMs = b ? Math.min(b.durationMs * 2, BACKOFF_MAX_MS) : BACKOFF_INITIAL_MS;
    backoffs.set(key, { durationMs, lastErrorAtMs: port.now() });
  }

  // --- attach (csi_attacher.Attach + external-attacher) -----------------------------------------

  function vaObject(vol: AttachableVolume, node: string): KObject {
    return {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name: volumeAttachmentName(vol.volumeId, vol.attacher, node) },
      spec: { attacher: vol.attacher, nodeName: node, source: deepCopy(vol.source) },
    };
  }

  function writeVaStatus(va: KObject, status: Record<string, unknown>, cb?: (ok: boolean) => void): void {
    const { resourceVersion: _rv, ...metadata } = va.metadata;
    request({ verb: 'updateStatus', kind: 'VolumeAttachment', name: va.metadata.name!, obj: { ...va, metadata, status } }, (res) => {
      if (res.ok && res.obj) record('MODIFIED', res.obj);
      cb?.(res.ok);
    });
  }

  function startAttach(vol: AttachableVolume, node: string, pods: PodObj[]): void {
    const key = pairKey(vol.uniqueName, node);
    ops.set(key, 'attach');
    port.note(`attaching ${vol.uniqueName} to ${node}`);
    const fail = (message: string) => {
      ops.delete(key);
      failed(`attach|${key}`);
      // MarkVolumeAsUncertain: it may be attached; a new entry is assumed mounted.
      const e = entry(vol.uniqueName, node);
      if (e) e.confirmed = false;
      else putEntry({ volume: vol, node, confirmed: false, mounted: true, detachRequestedAtMs: undefined, reported: false });
      for (const pod of pods) api.event(pod, 'Warning', 'FailedAttachVolume', volumeMsg('AttachVolume.Attach failed', vol.name, `: ${message}`), SOURCE);
      kick();
    };
    const succeed = () => {
      ops.delete(key);
      backoffs.delete(`attach|${key}`);
      // MarkVolumeAsAttached: an existing (uncertain) entry keeps its MountedByNode.
      const e = entry(vol.uniqueName, node);
      if (e) {
        e.confirmed = true;
        e.reported = true;
      } else {
        putEntry({ volume: vol, node, confirmed: true, mounted: true, detachRequestedAtMs: undefined, reported: true });
      }
      port.note(`attached ${vol.uniqueName} to ${node}`);
      // operation_generator.go GenerateAttachVolumeFunc: "Successful attach event is useful for
      // user debugging", on every pod scheduled there that uses the volume.
      for (const pod of pods) api.event(pod, 'Normal', 'SuccessfulAttachVolume', volumeMsg('AttachVolume.Attach succeeded', vol.name, ''), SOURCE);
      kick();
    };
    if (typeof vol.capability === 'string') return fail(vol.capability);
    const capability = vol.capability;
    const want = vaObject(vol, node);
    request({ verb: 'create', kind: 'VolumeAttachment', obj: want }, (res) => {
      let va: KObject | undefined;
      if (res.ok && res.obj) {
        va = res.obj;
        record('ADDED', va);
      } else if (res.status?.code === 409) {
        va = cache.get('VolumeAttachment', undefined, want.metadata.name!) ?? want;
      } else {
        return fail(res.status?.message ?? 'failed to create VolumeAttachment');
      }
      const target = va;
      csi(vol.backend, { method: 'ControllerPublishVolume', volumeId: vol.volumeId, nodeId: node, capability, readonly: vol.readOnly }, (r) => {
        if (r.code !== GRPC.OK) {
          const message = rpcError(r.code, r.message);
          writeVaStatus(target, { attached: false, attachError: { time: port.nowIso(), message } });
          return fail(message);
        }
        writeVaStatus(target, { attached: true, attachmentMetadata: r.result?.publishContext ?? {} }, (ok) =>
          ok ? succeed() : fail(`failed to mark VolumeAttachment ${target.metadata.name} as attached`),
        );
      });
    });
  }

  // --- detach -------------------------------------------------------------------------------------

  function startDetach(e: Attached): void {
    const vol = e.volume;
    const key = pairKey(vol.uniqueName, e.node);
    ops.set(key, 'detach');
    const vaName = volumeAttachmentName(vol.volumeId, vol.attacher, e.node);
    const fail = (message: string, backoff: boolean) => {
      ops.delete(key);
      if (backoff) failed(`detach|${key}`);
      // AddVolumeToReportAsAttached: it is still attached.
      e.reported = e.confirmed;
      port.note(`DetachVolume.Detach failed for volume ${JSON.stringify(vol.name)} from ${e.node}: ${message}`);
      kick();
    };
    // RemoveVolumeFromReportAsAttached, then the Node status must say so before detaching.
    e.reported = false;
    port.note(`detaching ${vol.uniqueName} from ${e.node}`);
    syncNodeStatus(e.node, (ok) => {
      if (!ok) return fail('failed to update node status', false);
      csi(vol.backend, { method: 'ControllerUnpublishVolume', volumeId: vol.volumeId, nodeId: e.node }, (r) => {
        const va = cache.get('VolumeAttachment', undefined, vaName);
        if (r.code !== GRPC.OK) {
          const message = rpcError(r.code, r.message);
          if (va) writeVaStatus(va, { ...(va.status ?? {}), detachError: { time: port.nowIso(), message } });
          return fail(message, true);
        }
        request({ verb: 'delete', kind: 'VolumeAttachment', name: vaName }, (res) => {
          if (!res.ok && res.status?.code !== 404) return fail(res.status?.message ?? 'failed to delete VolumeAttachment', true);
          const gone = res.obj ?? va;
          if (gone?.metadata.uid) deletedVas.add(gone.metadata.uid);
          if (va) record('DELETED', va);
          ops.delete(key);
          backoffs.delete(`detach|${key}`);
          deleteEntry(vol.uniqueName, e.node);
          port.note(`detached ${vol.uniqueName} from ${e.node}`);
          kick();
        });
      });
    });
  }

  return { deletedVas, backoffs, pendingOn, startAttach, startDetach };
}
