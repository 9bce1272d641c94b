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
    return this.lookup(path)?.type;
  }

  mkdirAll(path: string): string | undefined {
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
    const parent = this.parentOf(path);
    if (parent && typeof parent !== 'string') parent.dir.children.set(parent.name, { type, data: '' });
  }

  /** Writes a regular file; the parent directory must exist. Returns an error text or undefined. */
  writeFile(path: string, data: string, append = false): string | undefined {
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
    const e = this.lookup(path);
    if (!e) return { error: ENOENT };
    if (e.type === 'Directory') return { error: EISDIR };
    return { data: e.data };
  }

  /** Names in a directory, sorted. */
  list(path: string): string[] | undefined {
    const e = this.lookup(path);
    return e?.type === 'Directory' ? [...e.children.keys()].sort() : undefined;
  }

  removeAll(path: string): void {
    const parent = this.parentOf(path);
    if (parent && typeof parent !== 'string') parent.dir.children.delete(parent.name);
  }

  /** Drops everything: a wiped disk comes back with the stock layout. */
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
