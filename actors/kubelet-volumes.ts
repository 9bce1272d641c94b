/**
 * The kubelet's volume plumbing for node-local volumes, as pure functions over the node's
 * MemFs: where each volume of a pod lives on the node, the hostPath type checks
 * (pkg/volume/hostpath/host_path.go checkTypeInternal) and how a container path resolves
 * through the container's volumeMounts to a (filesystem, path) pair.
 */
import type { Pod, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import { joinPath, type MemFs } from '../src/fs.ts';

/** What survives a kubelet crash: the node's disk and its image cache. */
export interface NodeState {
  disk: MemFs;
  images: Set<string>;
}

/** Where a pod volume's files live on this node. */
export interface Backing {
  fs: MemFs;
  root: string;
  /** True for node-local data that outlives the pod (hostPath, local). */
  nodeLocal: boolean;
}

/** /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<name> (kubelet's layout). */
export function emptyDirPath(podUid: string, volume: string): string {
  return `/var/lib/kubelet/pods/${podUid}/volumes/kubernetes.io~empty-dir/${volume}`;
}

/**
 * hostPath type check as the mounter's SetUp runs it. Returns the error text (without the
 * `MountVolume.SetUp failed ...` prefix) or undefined when the volume can be mounted. Creates
 * what the *OrCreate types create.
 */
export function checkHostPath(fs: MemFs, path: string, type: string | undefined): string | undefined {
  if (path.split('/').includes('..')) return `invalid HostPath \`${path}\`: must not contain '..'`;
  const t = type ?? '';
  const cur = fs.stat(path);
  switch (t) {
    case '':
      // No check (backward compatible). containerd's CRI plugin creates a missing bind-mount
      // source as a directory when the container starts (WithMounts in the CRI plugin).
      if (!cur) fs.mkdirAll(path);
      return undefined;
    case 'DirectoryOrCreate':
      if (!cur) {
        fs.mkdirAll(path);
        return undefined;
      }
      return cur === 'Directory' ? undefined : `hostPath type check failed: ${path} is not a directory`;
    case 'Directory':
      return cur === 'Directory' ? undefined : `hostPath type check failed: ${path} is not a directory`;
    case 'FileOrCreate':
      if (!cur) {
        // The parent directory is not created (host_path.go: FileOrCreate uses O_CREATE only).
        const err = fs.writeFile(path, '');
        return err ? `open ${path}: no such file or directory` : undefined;
      }
      return cur === 'File' ? undefined : `hostPath type check failed: ${path} is not a file`;
    case 'File':
      return cur === 'File' ? undefined : `hostPath type check failed: ${path} is not a file`;
    case 'Socket':
      return cur === 'Socket' ? undefined : `hostPath type check failed: ${path} is not a socket file`;
    case 'CharDevice':
      return cur === 'CharDevice' ? undefined : `hostPath type check failed: ${path} is not a character device`;
    case 'BlockDevice':
      return cur === 'BlockDevice' ? undefined : `hostPath type check failed: ${path} is not a block device`;
    default:
      return `${t} is an invalid volume type`;
  }
}

/** The volumeMount a container path falls under (the longest mountPath prefix), if any. */
export function mountFor(mounts: readonly VolumeMount[] | undefined, path: string): { mount: VolumeMount; rel: string } | undefined {
  let best: { mount: VolumeMount; rel: string } | undefined;
  const p = joinPath(path);
  for (const m of mounts ?? []) {
    const mp = joinPath(m.mountPath);
    if (p === mp || p.startsWith(mp === '/' ? '/' : mp + '/')) {
      if (!best || mp.length > joinPath(best.mount.mountPath).length) best = { mount: m, rel: p.slice(mp.length) };
    }
  }
  return best;
}

export function volumeNamed(pod: Pod, name: string): Volume | undefined {
  return (pod.spec?.volumes ?? []).find((v) => v.name === name);
}
