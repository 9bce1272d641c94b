/**
 * An NFS server: its exports, the files on it (one MemFs, so what one node writes another reads
 * at once: RWX is really shared), which nodes have which path mounted, and whether it answers.
 *
 * Pure model `NfsServer` plus `nfsBackend`, the Component at `backend/<name>` that answers
 * `csi.request` (as csi-driver-nfs, kubernetes-csi/csi-driver-nfs pkg/nfs/*.go, would, and as the
 * kubelet's in-tree nfs plugin's mount would for inline `nfs` volumes) and `file.request`.
 *
 * Volume ids are `<server>:<path>`. CreateVolume (provisioner nfs.csi.k8s.io, or any provisioner
 * whose class has `server` and `path`/`share`) makes the sub-directory `<base>/<volume name>`
 * and returns `<server>:<base>/<name>`, as csi-driver-nfs makes one sub-directory per volume.
 * DeleteVolume removes it (only directories it created: the in-tree plugin has no deleter).
 * There is no attach step: ControllerPublish/Unpublish and GetCapacity are UNIMPLEMENTED, as in
 * csi-driver-nfs. csi-driver-nfs has no STAGE_UNSTAGE capability, so the kubelet never stages; a
 * NodeStage/NodeUnstage that arrives anyway is answered OK and changes nothing.
 *
 * Exports. `new NfsServer(name)` with no list is an open server: it serves any absolute path a
 * manifest names, creating the directory on first mount, as if its administrator had exported
 * what the scenario needs (`exports()` reports `['/']`). With a list, only those directories are
 * exported (created empty): a path outside every export fails as mountd refuses it (NFSv3 text,
 * `mount.nfs: access denied by server while mounting <server>:<path>`), a missing
 * sub-directory of an export as the server reports ENOENT (`mount.nfs: mounting <server>:<path>
 * failed, reason given by server: No such file or directory`). Both reach the kubelet inside
 * mount-utils' error text (k8s.io/mount-utils mount_linux.go), exit status 32.
 *
 * Outage: while the server is down every RPC that touches it (CreateVolume, DeleteVolume,
 * NodePublish = mount, NodeUnpublish = umount of a hard mount) and every read and write gets no
 * answer ('unavailable'): the default `hard` mount retries forever (nfs(5), k8s-semantics case
 * 121); soft-mount timeouts are the kubelet's business. The data stays: `recover()` brings it
 * back as it was.
 */
import type { Component, Port } from '../src/component.ts';
import { MemFs, joinPath } from '../src/fs.ts';
import { GRPC, type CsiCall, type GrpcCode, type VolumeCapability } from './protocol.ts';
import {
  EIO,
  EROFS,
  InjectedErrors,
  UNIMPLEMENTED,
  fail,
  fileOp,
  ok,
  serveModel,
  sortAttachments,
  type Attachment,
  type BackendModel,
  type BackendVolume,
  type CsiAnswer,
  type FileAnswer,
  type FileCall,
} from './volume-data.ts';

interface Mount {
  volumeId: string;
  nodeId: string;
  targetPath: string;
  readonly: boolean;
}

interface Provisioned {
  volumeId: string;
  name: string;
  path: string;
  capacityBytes: number;
}

/** Splits `<server>:<path>` (path normalised); undefined when there is no `:`. */
export function parseNfsVolumeId(volumeId: string): { server: string; path: string } | undefined {
  const i = volumeId.indexOf(':');
  if (i <= 0) return undefined;
  return { server: volumeId.slice(0, i), path: joinPath(volumeId.slice(i + 1)) };
}

/** mount-utils' error for a failed `mount -t nfs` (mount_linux.go doMount). */
export function nfsMountError(source: string, target: string, output: string): string {
  return `mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs ${source} ${target}\nOutput: ${output}`;
}

export class NfsServer implements BackendModel {
  /** The files on the server's disk. */
  readonly fs = new MemFs();
  /** False during an outage; settable so that a crashed server keeps its data. */
  up = true;
  private readonly exportList: string[] | undefined;
  private readonly mounts: Mount[] = [];
  private readonly provisioned = new Map<string, Provisioned>();
  /** Directories DeleteVolume removed: an open server does not bring them back on mount. */
  private readonly deleted = new Set<string>();
  private readonly injected = new InjectedErrors();

  constructor(
    readonly name: string,
    exports?: string[],
  ) {
    if (exports) {
      this.exportList = [...new Set(exports.map((e) => joinPath(e)))].sort();
      for (const e of this.exportList) this.fs.mkdirAll(e);
    }
  }

  /** Exported directories, sorted; an open server reports `/`. */
  exports(): string[] {
    return this.exportList ? [...this.exportList] : ['/'];
  }

  outage(): void {
    this.up = false;
  }

  recover(): void {
    this.up = true;
  }

  /** The node died: its mounts are gone with its kernel (the data on the server stays). */
  nodeLost(nodeId: string): void {
    for (let i = this.mounts.length - 1; i >= 0; i--) if (this.mounts[i]!.nodeId === nodeId) this.mounts.splice(i, 1);
  }

  failNext(method: CsiCall['method'], code: GrpcCode, message: string, times = 1): void {
    this.injected.add(method, code, message, times);
  }

  handle(call: CsiCall, _nowMs: number): CsiAnswer | 'unavailable' {
    const injected = this.injected.take(call.method);
    if (injected) return injected;
    switch (call.method) {
      case 'CreateVolume':
        return this.createVolume(call);
      case 'DeleteVolume': {
        if (!this.up) return 'unavailable';
        const v = this.provisioned.get(call.volumeId);
        if (v) {
          this.fs.removeAll(v.path);
          this.provisioned.delete(call.volumeId);
          this.deleted.add(v.path);
        }
        return ok();
      }
      case 'ControllerPublishVolume':
      case 'ControllerUnpublishVolume':
      case 'GetCapacity':
        return UNIMPLEMENTED;
      case 'NodeStageVolume':
      case 'NodeUnstageVolume':
        return ok();
      case 'NodePublishVolume':
        return this.nodePublish(call);
      case 'NodeUnpublishVolume': {
        const i = this.mounts.findIndex((m) => m.volumeId === call.volumeId && m.nodeId === call.nodeId && m.targetPath === call.targetPath);
        if (i < 0) return ok();
        if (!this.up) return 'unavailable';
        this.mounts.splice(i, 1);
        return ok();
      }
    }
  }

  file(req: FileCall, _nowMs: number): FileAnswer | 'unavailable' {
    const mounts = this.mounts.filter((m) => m.volumeId === req.volumeId && m.nodeId === req.nodeId);
    if (mounts.length === 0) return { ok: false, error: EIO };
    if (!this.up) return 'unavailable';
    const id = parseNfsVolumeId(req.volumeId)!;
    const readOnly = mounts.every((m) => m.readonly);
    if (readOnly && req.op !== 'read') return { ok: false, error: EROFS };
    return fileOp(this.fs, id.path, req);
  }

  attachments(): Attachment[] {
    return sortAttachments(this.mounts);
  }

  volumes(): BackendVolume[] {
    return [...this.provisioned.values()]
      .sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0))
      .map((v) => ({ volumeId: v.volumeId, name: v.name, capacityBytes: v.capacityBytes }));
  }

  /** Why `server:path` cannot be mounted (mount.nfs output), or undefined when it can. */
  private mountRefusal(server: string, path: string): string | undefined {
    if (!this.exportList) {
      // Open server: whatever the manifests name exists, unless DeleteVolume removed it.
      if (this.deleted.has(path) && this.fs.stat(path) !== 'Directory') return `mount.nfs: mounting ${server}:${path} failed, reason given by server: No such file or directory`;
      this.fs.mkdirAll(path);
      return undefined;
    }
    const under = this.exportList.some((e) => e === '/' || path === e || path.startsWith(e + '/'));
    if (!under) return `mount.nfs: access denied by server while mounting ${server}:${path}`;
    if (this.fs.stat(path) !== 'Directory') return `mount.nfs: mounting ${server}:${path} failed, reason given by server: No such file or directory`;
    return undefined;
  }

  private createVolume(call: Extract<CsiCall, { method: 'CreateVolume' }>): CsiAnswer | 'unavailable' {
    // csi-driver-nfs controllerserver.go: parameters and capabilities are checked first.
    if (!call.name) return fail(GRPC.INVALID_ARGUMENT, 'CreateVolume name must be provided');
    if (call.capabilities.some((c: VolumeCapability) => c.accessType === 'block')) {
      return fail(GRPC.INVALID_ARGUMENT, 'block volume capability not supported');
    }
    const server = call.parameters['server'];
    const base = call.parameters['share'] ?? call.parameters['path'];
    if (!server) return fail(GRPC.INVALID_ARGUMENT, 'server is a required parameter');
    if (base === undefined) return fail(GRPC.INVALID_ARGUMENT, 'share is a required parameter');
    if (!this.up) return 'unavailable';
    const basePath = joinPath(base);
    // The controller mounts the share under its working directory (/tmp) to make the sub-directory.
    const refusal = this.mountRefusal(server, basePath);
    if (refusal) {
      return fail(GRPC.INTERNAL, `failed to mount nfs server: rpc error: code = Internal desc = ${nfsMountError(`${server}:${basePath}`, `/tmp/${call.name}`, refusal)}`);
    }
    const path = joinPath(basePath, call.name);
    const volumeId = `${server}:${path}`;
    this.fs.mkdirAll(path);
    this.deleted.delete(path);
    this.provisioned.set(volumeId, { volumeId, name: call.name, path, capacityBytes: call.capacityBytes });
    // csi-driver-nfs returns the requested size and the parameters as the volume context.
    return ok({ volumeId, capacityBytes: call.capacityBytes, volumeContext: { ...call.parameters, server, share: basePath, subdir: call.name } });
  }

  private nodePublish(call: Extract<CsiCall, { method: 'NodePublishVolume' }>): CsiAnswer | 'unavailable' {
    const id = parseNfsVolumeId(call.volumeId);
    if (!id) return fail(GRPC.NOT_FOUND, `invalid volume id ${call.volumeId}`);
    const same = this.mounts.find((m) => m.volumeId === call.volumeId && m.nodeId === call.nodeId && m.targetPath === call.targetPath);
    if (same) {
      // Already a mount point: csi-driver-nfs answers OK without touching the server.
      return same.readonly === call.readonly ? ok() : fail(GRPC.ALREADY_EXISTS, `volume ${call.volumeId} is already published at ${call.targetPath} with different options`);
    }
    if (!this.up) return 'unavailable';
    const refusal = this.mountRefusal(id.server, id.path);
    if (refusal) return fail(GRPC.INTERNAL, nfsMountError(`${id.server}:${id.path}`, call.targetPath, refusal));
    this.mounts.push({ volumeId: call.volumeId, nodeId: call.nodeId, targetPath: call.targetPath, readonly: call.readonly });
    return ok();
  }
}

export function nfsBackend(port: Port, opts: { name: string; model: NfsServer }): Component {
  return serveModel(port, opts.model);
}
