/**
 * The contents of one emulated EFS file system: a POSIX-like tree of directories and regular files, in memory.
 * Paths are absolute and normalised (`/200001/work/notebook.ipynb`); the root `/` always exists.
 */
import { TrackedMap } from '../../persistence/tracked-map';

export type EntryType = 'file' | 'directory';

export interface FileEntry {
  type: EntryType;
  /** Regular files only. */
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

export interface EntryView {
  path: string;
  type: EntryType;
  size: number;
  mode: string;
  uid: number;
  gid: number;
  mtime: string;
}

export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly code: 'NotFound' | 'NotADirectory' | 'IsADirectory' | 'InvalidPath',
    message: string,
  ) {
    super(message);
  }
}

/** `a//b/./c/` -> `/a/b/c`; refuses `..` so nothing escapes a subdirectory. */
export function normalisePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new PathError('InvalidPath', 'a path is required');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new PathError('InvalidPath', `path ${path} must not contain ..`);
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}

export function joinPath(base: string, relative: string): string {
  return normalisePath(`${base}/${relative}`);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Whether `path` is `dir` itself or lies under it. */
export function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

export class FileTree {
  // Tracked: a durable emulator writes the entries that changed, not the whole tree. Entries are replaced, never
  // changed in place.
  private readonly entries = new TrackedMap<string, FileEntry>();

  constructor(createdAtMs: number) {
    this.entries.set('/', { type: 'directory', data: Buffer.alloc(0), mode: 0o755, uid: 0, gid: 0, mtimeMs: createdAtMs });
  }

  get(path: string): FileEntry | undefined {
    return this.entries.get(normalisePath(path));
  }

  /** Creates `path` and missing parents as directories; parents get the same owner. Returns the directory. */
  mkdirp(path: string, owner: { uid: number; gid: number; mode?: number }, nowMs: number): FileEntry {
    const p = normalisePath(path);
    const existing = this.entries.get(p);
    if (existing) {
      if (existing.type !== 'directory') throw new PathError('NotADirectory', `${p} exists and is not a directory`);
      return existing;
    }
    this.mkdirp(parentOf(p), owner, nowMs);
    const dir: FileEntry = { type: 'directory', data: Buffer.alloc(0), mode: owner.mode ?? 0o755, uid: owner.uid, gid: owner.gid, mtimeMs: nowMs };
    this.entries.set(p, dir);
    return dir;
  }

  /** Writes a regular file, creating missing parent directories with the file's owner. */
  writeFile(path: string, data: Buffer, meta: { mode?: number; uid: number; gid: number; mtimeMs: number }): FileEntry {
    const p = normalisePath(path);
    if (p === '/') throw new PathError('IsADirectory', '/ is a directory');
    const existing = this.entries.get(p);
    if (existing?.type === 'directory') throw new PathError('IsADirectory', `${p} is a directory`);
    this.mkdirp(parentOf(p), { uid: meta.uid, gid: meta.gid }, meta.mtimeMs);
    const file: FileEntry = { type: 'file', data: Buffer.from(data), mode: meta.mode ?? 0o644, uid: meta.uid, gid: meta.gid, mtimeMs: meta.mtimeMs };
    this.entries.set(p, file);
    return file;
  }

  /** Puts an entry as it is (a copy), creating missing parents with its owner. */
  put(path: string, entry: FileEntry): void {
    const p = normalisePath(path);
    if (p === '/') {
      const root = this.entries.get('/') as FileEntry;
      this.entries.set('/', { ...root, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeMs: entry.mtimeMs });
      return;
    }
    const existing = this.entries.get(p);
    if (existing && existing.type !== entry.type) this.remove(p);
    this.mkdirp(parentOf(p), { uid: entry.uid, gid: entry.gid }, entry.mtimeMs);
    this.entries.set(p, { ...entry, data: Buffer.from(entry.data) });
  }

  /** Removes a file, or a directory with everything under it. Returns how many entries went. */
  remove(path: string): number {
    const p = normalisePath(path);
    if (!this.entries.has(p)) throw new PathError('NotFound', `${p} does not exist`);
    let removed = 0;
    for (const key of [...this.entries.keys()]) {
      if (key !== '/' && isWithin(key, p)) {
        this.entries.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  /** Every entry under `dir` (not `dir` itself), in path order, with paths relative to `dir` (`a/b.txt`). */
  walk(dir: string): { relative: string; entry: FileEntry }[] {
    const d = normalisePath(dir);
    const out: { relative: string; entry: FileEntry }[] = [];
    for (const [path, entry] of this.entries) {
      if (path === d || !isWithin(path, d)) continue;
      out.push({ relative: d === '/' ? path.slice(1) : path.slice(d.length + 1), entry });
    }
    return out.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  }

  /** Entries whose path starts with `prefix` (a string prefix, as S3 listings), in path order. */
  list(prefix = '/'): EntryView[] {
    const out: EntryView[] = [];
    for (const [path, entry] of this.entries) if (path.startsWith(prefix)) out.push(view(path, entry));
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Bytes of all regular files (what EFS meters). */
  sizeInBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) if (entry.type === 'file') total += entry.data.length;
    return total;
  }
}

export function view(path: string, entry: FileEntry): EntryView {
  return {
    path,
    type: entry.type,
    size: entry.type === 'file' ? entry.data.length : 0,
    mode: `0${entry.mode.toString(8)}`,
    uid: entry.uid,
    gid: entry.gid,
    mtime: new Date(entry.mtimeMs).toISOString(),
  };
}
