/**
 * A small in-memory filesystem: what a node's disk (or a container's writable layer, or an
 * emptyDir) holds. Pure data: paths are absolute, `/`-separated; entries are directories,
 * regular files, sockets and character/block devices (what hostPath `type` checks look at).
 */

export type EntryType = 'Directory' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice';

interface Dir {
  type: 'Directory';
  children: Map<string, Entry>;
}
interface Leaf {
  type: Exclude<EntryType, 'Directory'>;
  data: string;
}
type Entry = Dir | Leaf;

export const ENOENT = 'No such file or directory';
export const EISDIR = 'Is a directory';
export const ENOTDIR = 'Not a directory';

function parts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

export function joinPath(...segments: string[]): string {
  const out = parts(segments.join('/'));
  return '/' + out.join('/');
}

export class MemFs {
  private root: Dir = { type: 'Directory', children: new Map() };
  /**
   * Filesystems mounted on directories of this one (a tmpfs on a node's disk): a path under a
   * mount point is served by the mounted filesystem, as the kernel's mount table does.
   */
  private readonly mounts = new Map<string, MemFs>();

  /** Mounts `fs` on the directory `path` (created if missing); its files hide the directory's. */
  mount(path: string, fs: MemFs): void {
    const p = joinPath(path);
    this.mkdirAll(p);
    this.mounts.set(p, fs);
  }

  /** Unmounts what is mounted on `path`: the directory's own contents show again. */
  unmount(path: string): void {
    this.mounts.delete(joinPath(path));
  }

  /** The filesystem that serves `path` and the path inside it (the longest mount point wins). */
  private resolve(path: string): { fs: MemFs; rel: string } | undefined {
    if (this.mounts.size === 0) return undefined;
    const p = joinPath(path);
    let best: string | undefined;
    for (const m of this.mounts.keys()) {
      if ((p === m || p.startsWith(m + '/')) && (best === undefined || m.length > best.length)) best = m;
    }
    return best === undefined ? undefined : { fs: this.mounts.get(best)!, rel: p.slice(best.length) || '/' };
  }

  /** A node disk with the usual directories and device files of a Linux node. */
  static nodeDisk(): MemFs {
    const fs = new MemFs();
    for (const d of ['/etc', '/home', '/tmp', '/mnt', '/var/lib/kubelet/pods', '/var/log', '/run/containerd', '/dev', '/usr/share']) fs.mkdirAll(d);
    fs.mknod('/dev/null', 'CharDevice');
    fs.mknod('/dev/zero', 'CharDevice');
    fs.mknod('/dev/sda', 'BlockDevice');
    fs.mknod('/run/containerd/containerd.sock', 'Socket');
    fs.writeFile('/etc/hostname', '');
    return fs;
  }

  stat(path: string): EntryType | undefined {
    const r = this.resolve(path);
    if (r) return r.fs.stat(r.rel);
    return this.lookup(path)?.type;
  }

  mkdirAll(path: string): string | undefined {
    const r = this.resolve(path);
    if (r) return r.fs.mkdirAll(r.rel);
    let d = this.root;
    for (const p of parts(path)) {
      const next = d.children.get(p);
      if (!next) {
        const nd: Dir = { type: 'Directory', children: new Map() };
        d.children.set(p, nd);
        d = nd;
      } else if (next.type !== 'Directory') return ENOTDIR;
      else d = next;
    }
    return undefined;
  }

  mknod(path: string, type: Exclude<EntryType, 'Directory' | 'File'>): void {
    const r = this.resolve(path);
    if (r) return r.fs.mknod(r.rel, type);
    const parent = this.parentOf(path);
    if (parent && typeof parent !== 'string') parent.dir.children.set(parent.name, { type, data: '' });
  }

  /** Writes a regular file; the parent directory must exist. Returns an error text or undefined. */
  writeFile(path: string, data: string, append = false): string | undefined {
    const r = this.resolve(path);
    if (r) return r.fs.writeFile(r.rel, data, append);
    const parent = this.parentOf(path);
    if (typeof parent === 'string') return parent;
    if (!parent) return ENOENT;
    const cur = parent.dir.children.get(parent.name);
    if (cur?.type === 'Directory') return EISDIR;
    if (cur && append) cur.data += data;
    else if (cur && cur.type !== 'File') cur.data = data;
    else parent.dir.children.set(parent.name, { type: 'File', data });
    return undefined;
  }

  readFile(path: string): { data: string } | { error: string } {
    const r = this.resolve(path);
    if (r) return r.fs.readFile(r.rel);
    const e = this.lookup(path);
    if (!e) return { error: ENOENT };
    if (e.type === 'Directory') return { error: EISDIR };
    return { data: e.data };
  }

  /** Names in a directory, sorted. */
  list(path: string): string[] | undefined {
    const r = this.resolve(path);
    if (r) return r.fs.list(r.rel);
    const e = this.lookup(path);
    return e?.type === 'Directory' ? [...e.children.keys()].sort() : undefined;
  }

  removeAll(path: string): void {
    const r = this.resolve(path);
    if (r) return r.fs.removeAll(r.rel);
    const parent = this.parentOf(path);
    if (parent && typeof parent !== 'string') parent.dir.children.delete(parent.name);
  }

  /** Drops everything on the disk (mounted filesystems are memory, not disk): the stock layout. */
  wipe(): void {
    this.root = MemFs.nodeDisk().root;
  }

  private lookup(path: string): Entry | undefined {
    let e: Entry = this.root;
    for (const p of parts(path)) {
      if (e.type !== 'Directory') return undefined;
      const next: Entry | undefined = e.children.get(p);
      if (!next) return undefined;
      e = next;
    }
    return e;
  }

  private parentOf(path: string): { dir: Dir; name: string } | string | undefined {
    const ps = parts(path);
    const name = ps.pop();
    if (name === undefined) return EISDIR;
    let d: Entry = this.root;
    for (const p of ps) {
      if (d.type !== 'Directory') return ENOTDIR;
      const next: Entry | undefined = d.children.get(p);
      if (!next) return undefined;
      d = next;
    }
    if (d.type !== 'Directory') return ENOTDIR;
    return { dir: d, name };
  }
}
