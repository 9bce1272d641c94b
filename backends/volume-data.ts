/**
 * What every storage backend shares: the shape of a backend model (a synchronous core, madsim
 * style: `handle` answers a CSI call, `file` a read or write through a mounted volume, both from
 * the simulated instant they are given), file operations on a volume's MemFs, injected RPC
 * errors, and the thin Component that serves a model on the bus.
 *
 * The Component receives `csi.request` and `file.request` and replies `csi.response` /
 * `file.response` to the sender; it sends nothing else. A model answer `'unavailable'` means the
 * storage system does not answer at all (an NFS server that is down, a Ceph cluster without
 * monitor quorum): the Component then stays silent and the caller's own timeout decides, as a
 * hard NFS mount or a hung `rbd map` would.
 */
import type { Component, Port } from '../src/component.ts';
import type { Msg } from '../src/protocol.ts';
import { joinPath, type MemFs } from '../src/fs.ts';
import { Ids } from '../src/ids.ts';
import { Rng } from '../src/rng.ts';
import { GRPC, type CsiAccessMode, type CsiCall, type CsiRequest, type CsiResponse, type CsiResult, type FileOp, type FileRequest, type FileResponse, type GrpcCode } from './protocol.ts';

export type CsiAnswer = { code: GrpcCode; message: string; result?: CsiResult };
export type FileAnswer = { ok: boolean; data?: string; error?: string };

export interface FileCall {
  volumeId: string;
  nodeId: string;
  op: FileOp;
  path: string;
  data?: string;
  append?: boolean;
}

/** A volume as the invariants see it. */
export interface BackendVolume {
  volumeId: string;
  /** The CreateVolume name (`pvc-<uid>`), or the image/export name for static volumes. */
  name: string;
  capacityBytes: number;
}

export interface Attachment {
  volumeId: string;
  nodeId: string;
}

export interface BackendModel {
  handle(call: CsiCall, nowMs: number): CsiAnswer | 'unavailable';
  file(req: FileCall, nowMs: number): FileAnswer | 'unavailable';
  /** Which nodes have each volume published/mapped/mounted, sorted by (volumeId, nodeId). */
  attachments(nowMs?: number): Attachment[];
  volumes(): BackendVolume[];
}

// errno texts as a shell prints them (strerror).
export const EIO = 'Input/output error';
export const EROFS = 'Read-only file system';
export const ESTALE = 'Stale file handle';

export function ok(result?: CsiResult): CsiAnswer {
  return result ? { code: GRPC.OK, message: '', result } : { code: GRPC.OK, message: '' };
}

export function fail(code: GrpcCode, message: string): CsiAnswer {
  return { code, message };
}

/** The answer of a driver without that RPC (csi-common DefaultControllerServer: empty message). */
export const UNIMPLEMENTED: CsiAnswer = { code: GRPC.UNIMPLEMENTED, message: '' };

export function isMultiNode(mode: CsiAccessMode): boolean {
  return mode.startsWith('MULTI_NODE_');
}

export function isReadOnlyMode(mode: CsiAccessMode): boolean {
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}

/** A file operation inside a volume whose files live under `root` of `fs`. */
export function fileOp(fs: MemFs, root: string, req: FileCall, readOnly = false): FileAnswer {
  if (fs.stat(root) !== 'Directory') return { ok: false, error: ESTALE };
  const path = joinPath(root, req.path);
  switch (req.op) {
    case 'read': {
      const r = fs.readFile(path);
      return 'data' in r ? { ok: true, data: r.data } : { ok: false, error: r.error };
    }
    case 'write': {
      if (readOnly) return { ok: false, error: EROFS };
      const error = fs.writeFile(path, req.data ?? '', req.append ?? false);
      return error ? { ok: false, error } : { ok: true };
    }
    case 'mkdir': {
      if (readOnly) return { ok: false, error: EROFS };
      const error = fs.mkdirAll(path);
      return error ? { ok: false, error } : { ok: true };
    }
    case 'clear':
      return clearDir(fs, path, readOnly);
  }
}

/** Empties a directory and keeps it (`find DIR -mindepth 1 -delete`). */
export function clearDir(fs: MemFs, path: string, readOnly = false): FileAnswer {
  const names = fs.list(path);
  if (names === undefined) return { ok: false, error: fs.stat(path) ? 'Not a directory' : 'No such file or directory' };
  if (readOnly) return { ok: false, error: EROFS };
  for (const n of names) fs.removeAll(joinPath(path, n));
  return { ok: true };
}

/**
 * A UUID derived from a name only, shaped like google/uuid's (version 4). Real drivers draw a
 * random one; deriving it from the request name keeps CreateVolume idempotent by construction
 * and keeps ids independent of the order calls arrive in.
 */
export function uuidFromName(name: string): string {
  return new Ids(new Rng(`volume-uuid/${name}`)).uid();
}

/** Errors the fault injector plans for the next calls of a method (`failNext`). */
export class InjectedErrors {
  private readonly queue = new Map<string, CsiAnswer[]>();

  add(method: CsiCall['method'], code: GrpcCode, message: string, times = 1): void {
    const q = this.queue.get(method) ?? [];
    for (let i = 0; i < times; i++) q.push({ code, message });
    this.queue.set(method, q);
  }

  /** The injected answer for this call, consumed, or undefined. */
  take(method: CsiCall['method']): CsiAnswer | undefined {
    const q = this.queue.get(method);
    const a = q?.shift();
    if (q && q.length === 0) this.queue.delete(method);
    return a;
  }
}

/** Sorted, de-duplicated attachments. */
export function sortAttachments(pairs: Iterable<Attachment>): Attachment[] {
  const seen = new Map<string, Attachment>();
  for (const p of pairs) seen.set(`${p.volumeId}\u0000${p.nodeId}`, { volumeId: p.volumeId, nodeId: p.nodeId });
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

export function csiResponse(reqId: string, a: CsiAnswer): CsiResponse {
  const r: CsiResponse = { type: 'csi.response', reqId, code: a.code, message: a.message };
  if (a.result) r.result = a.result;
  return r;
}

export function fileResponse(reqId: string, a: FileAnswer): FileResponse {
  const r: FileResponse = { type: 'file.response', reqId, ok: a.ok };
  if (a.data !== undefined) r.data = a.data;
  if (a.error !== undefined) r.error = a.error;
  return r;
}

export function fileCallOf(m: FileRequest): FileCall {
  const c: FileCall = { volumeId: m.volumeId, nodeId: m.nodeId, op: m.op, path: m.path };
  if (m.data !== undefined) c.data = m.data;
  if (m.append !== undefined) c.append = m.append;
  return c;
}

/**
 * The Component around a model: every request is answered at once from the model, or not at
 * all when the model is unavailable. `csi` may take over a call (ceph-rbd's watcher wait).
 */
export function serveModel(
  port: Port,
  model: BackendModel,
  csi?: (m: CsiRequest, from: string) => boolean,
): Component {
  return {
    receive(msg: Msg, from: string): void {
      if (msg.type === 'csi.request') {
        const m = msg as unknown as CsiRequest;
        if (csi?.(m, from)) return;
        const a = model.handle(m.call, port.now());
        if (a !== 'unavailable') port.send(from, csiResponse(m.reqId, a));
      } else if (msg.type === 'file.request') {
        const m = msg as unknown as FileRequest;
        const a = model.file(fileCallOf(m), port.now());
        if (a !== 'unavailable') port.send(from, fileResponse(m.reqId, a));
      }
    },
  };
}
