/**
 * What a DataSync execution does to the files: compare the source directory with the destination (PREPARING),
 * copy what the options say must go (at the end of TRANSFERRING), and verify (VERIFYING). The options are
 * DataSync's: TransferMode CHANGED | ALL, OverwriteMode ALWAYS | NEVER, PreserveDeletedFiles PRESERVE | REMOVE,
 * PosixPermissions, Uid / Gid, Mtime, VerifyMode.
 */
import { joinPath, type FileEntry, type FileTree } from '../efs/file-tree';

export interface TransferOptions {
  VerifyMode: string;
  OverwriteMode: string;
  Atime: string;
  Mtime: string;
  Uid: string;
  Gid: string;
  PreserveDeletedFiles: string;
  PreserveDevices: string;
  PosixPermissions: string;
  BytesPerSecond: number;
  TaskQueueing: string;
  LogLevel: string;
  TransferMode: string;
  SecurityDescriptorCopyFlags: string;
  ObjectTags: string;
}

export const DEFAULT_OPTIONS: TransferOptions = {
  VerifyMode: 'POINT_IN_TIME_CONSISTENT',
  OverwriteMode: 'ALWAYS',
  Atime: 'BEST_EFFORT',
  Mtime: 'PRESERVE',
  Uid: 'INT_VALUE',
  Gid: 'INT_VALUE',
  PreserveDeletedFiles: 'PRESERVE',
  PreserveDevices: 'NONE',
  PosixPermissions: 'PRESERVE',
  BytesPerSecond: -1,
  TaskQueueing: 'ENABLED',
  LogLevel: 'OFF',
  TransferMode: 'CHANGED',
  SecurityDescriptorCopyFlags: 'NONE',
  ObjectTags: 'PRESERVE',
};

export interface Side {
  tree: FileTree;
  /** Normalised directory, `/` or `/200001`. */
  dir: string;
}

export interface PlannedCopy {
  /** Relative to the directories; '' is the top-level directory itself (its metadata). */
  relative: string;
  type: 'file' | 'directory';
  /** Data (files) or only metadata. */
  withData: boolean;
  size: number;
}

export interface TransferPlan {
  copies: PlannedCopy[];
  deletions: { relative: string; type: 'file' | 'directory' }[];
  filesAtSource: number;
  foldersAtSource: number;
  filesSkipped: number;
  foldersSkipped: number;
  filesAtDestinationForDelete: number;
}

export interface TransferFigures {
  filesTransferred: number;
  foldersTransferred: number;
  bytesWritten: number;
  filesDeleted: number;
  foldersDeleted: number;
}

function sameData(a: FileEntry, b: FileEntry): boolean {
  return a.type === b.type && a.data.length === b.data.length && a.mtimeMs === b.mtimeMs && a.data.equals(b.data);
}

function sameMetadata(a: FileEntry, b: FileEntry, o: TransferOptions): boolean {
  return (
    (o.PosixPermissions === 'NONE' || a.mode === b.mode) &&
    (o.Uid === 'NONE' || a.uid === b.uid) &&
    (o.Gid === 'NONE' || a.gid === b.gid) &&
    (o.Mtime === 'NONE' || a.mtimeMs === b.mtimeMs)
  );
}

export interface FilterRule {
  FilterType?: string;
  /** Patterns separated by `|`, such as `/folder1|/folder2` or `*.tmp`. */
  Value?: string;
}

/**
 * Which paths (relative to the location, '' for its top) a transfer covers, from DataSync's SIMPLE_PATTERN include
 * and exclude filters: a pattern names a path from the location's top, a star matches anything, and a matching folder
 * takes its contents with it. The top folder itself is always covered.
 */
export function pathFilter(includes: readonly FilterRule[], excludes: readonly FilterRule[]): (relative: string) => boolean {
  const compile = (rules: readonly FilterRule[]) =>
    rules
      .flatMap((r) => (r.Value ?? '').split('|'))
      .map((p) => p.trim())
      .filter((p) => p.length > 0)
      .map((p) => new RegExp(`^${p.replace(/\/+$/, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}(/.*)?$`));
  const inc = compile(includes);
  const exc = compile(excludes);
  return (relative) => {
    if (relative === '') return true;
    const path = `/${relative}`;
    if (exc.some((re) => re.test(path))) return false;
    return inc.length === 0 || inc.some((re) => re.test(path));
  };
}

/** Compares the two sides as DataSync's prepare phase does, within the paths the filters cover. */
export function planTransfer(source: Side, destination: Side, o: TransferOptions, covers: (relative: string) => boolean = () => true): TransferPlan {
  const plan: TransferPlan = { copies: [], deletions: [], filesAtSource: 0, foldersAtSource: 0, filesSkipped: 0, foldersSkipped: 0, filesAtDestinationForDelete: 0 };
  const root = source.tree.get(source.dir);
  const entries = [...(root ? [{ relative: '', entry: root }] : []), ...source.tree.walk(source.dir)].filter((e) => covers(e.relative));
  const seen = new Set<string>();
  for (const { relative, entry } of entries) {
    seen.add(relative);
    if (entry.type === 'file') plan.filesAtSource += 1;
    else if (relative !== '') plan.foldersAtSource += 1;
    const existing = destination.tree.get(joinPath(destination.dir, relative));
    const skip = () => {
      if (entry.type === 'file') plan.filesSkipped += 1;
      else if (relative !== '') plan.foldersSkipped += 1;
    };
    if (!existing) {
      plan.copies.push({ relative, type: entry.type, withData: entry.type === 'file', size: entry.type === 'file' ? entry.data.length : 0 });
      continue;
    }
    // NEVER: what is already at the destination is left alone, data and metadata.
    if (o.OverwriteMode === 'NEVER') {
      skip();
      continue;
    }
    if (o.TransferMode === 'ALL') {
      plan.copies.push({ relative, type: entry.type, withData: entry.type === 'file', size: entry.type === 'file' ? entry.data.length : 0 });
      continue;
    }
    const dataChanged = entry.type === 'file' && !sameData(entry, existing);
    if (dataChanged || existing.type !== entry.type) {
      plan.copies.push({ relative, type: entry.type, withData: entry.type === 'file', size: entry.type === 'file' ? entry.data.length : 0 });
    } else if (!sameMetadata(entry, existing, o)) {
      plan.copies.push({ relative, type: entry.type, withData: false, size: 0 });
    } else {
      skip();
    }
  }
  if (o.PreserveDeletedFiles === 'REMOVE') {
    for (const { relative, entry } of destination.tree.walk(destination.dir)) {
      // Excluded paths are left alone at the destination too.
      if (!covers(relative)) continue;
      plan.filesAtDestinationForDelete += entry.type === 'file' ? 1 : 0;
      if (!seen.has(relative)) plan.deletions.push({ relative, type: entry.type });
    }
  }
  return plan;
}

/** Writes the planned copies and deletions at the destination, with metadata as the options say. */
export function applyTransfer(source: Side, destination: Side, plan: TransferPlan, o: TransferOptions, nowMs: number): TransferFigures {
  const figures: TransferFigures = { filesTransferred: 0, foldersTransferred: 0, bytesWritten: 0, filesDeleted: 0, foldersDeleted: 0 };
  for (const c of plan.copies) {
    const from = source.tree.get(joinPath(source.dir, c.relative));
    // Gone from the source since PREPARING: nothing to copy.
    if (!from) continue;
    const toPath = joinPath(destination.dir, c.relative);
    const existing = destination.tree.get(toPath);
    const defaults = existing?.type === from.type ? existing : undefined;
    const entry: FileEntry = {
      type: from.type,
      data: c.withData || !defaults ? from.data : defaults.data,
      mode: o.PosixPermissions === 'NONE' ? (defaults?.mode ?? (from.type === 'file' ? 0o644 : 0o755)) : from.mode,
      uid: o.Uid === 'NONE' ? (defaults?.uid ?? 0) : from.uid,
      gid: o.Gid === 'NONE' ? (defaults?.gid ?? 0) : from.gid,
      mtimeMs: o.Mtime === 'NONE' ? nowMs : from.mtimeMs,
    };
    destination.tree.put(toPath, entry);
    if (from.type === 'file') {
      figures.filesTransferred += 1;
      if (c.withData) figures.bytesWritten += from.data.length;
    } else if (c.relative !== '') {
      figures.foldersTransferred += 1;
    }
  }
  // Deepest first, so a directory's contents count before the directory goes.
  for (const d of [...plan.deletions].sort((a, b) => b.relative.length - a.relative.length)) {
    const path = joinPath(destination.dir, d.relative);
    if (!destination.tree.get(path)) continue;
    destination.tree.remove(path);
    if (d.type === 'file') figures.filesDeleted += 1;
    else figures.foldersDeleted += 1;
  }
  return figures;
}

/** POINT_IN_TIME_CONSISTENT: every source file the filters cover must now be at the destination with the same data. */
export function differingFiles(source: Side, destination: Side, covers: (relative: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const { relative, entry } of source.tree.walk(source.dir)) {
    if (entry.type !== 'file' || !covers(relative)) continue;
    const there = destination.tree.get(joinPath(destination.dir, relative));
    if (!there || there.type !== 'file' || !there.data.equals(entry.data)) out.push(relative);
  }
  return out;
}
