/**
 * The on-disk layout of a durable emulator:
 *
 *   <stateDir>/manifest.json        which file holds each unit now, the format version and the emulated time
 *   <stateDir>/units/<unit>.<seq>.bin  one v8-serialised unit (a service's state, a shared value, jobs, events)
 *   <stateDir>/units/part-<uuid>.bin   an object a unit stores apart (an EFS file tree), rewritten when it changes
 *   <stateDir>/blobs/<sha256>       big byte strings, once each (see blob-store.ts)
 *
 * A commit writes the changed units to new files, then renames a new manifest over the old one: that rename is
 * the commit point, so a crash at any moment leaves either the previous state or the new one, never a mix of
 * units from two commits. Files the manifest no longer names are deleted after the rename (or at the next start
 * when a crash came first).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { takePidLock, type PidLockResult } from '../../pid-lock';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { z } from 'zod';
import { BlobStore } from './blob-store';
import { StateDirError } from './state-dir-error';

export const STATE_FORMAT = 'mlops-aws-emulator-state';
export const STATE_VERSION = 1;

const MANIFEST = 'manifest.json';
const MANIFEST_TEMP = 'manifest.json.tmp';
const LOCK = 'lock';

/**
 * Two emulators writing one directory would each overwrite the other's manifest: the first one holds `lock` (its
 * pid) until it closes. A lock whose process is gone (kill -9) is taken over.
 */
function acquireLock(dir: string): () => void {
  const path = join(dir, LOCK);
  let lock: PidLockResult;
  try {
    lock = takePidLock(path);
  } catch (err) {
    throw new StateDirError(path, `the lock cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!lock.taken) {
    const owner = lock.holder;
    throw new StateDirError(path, `another emulator (${owner ? `process ${owner}` : 'starting up'}${owner === process.pid ? ', this one' : ''}) is using the directory`, `Stop it first, or give this one another --state-dir (a process that is no emulator but got pid ${owner}: delete the lock file)`);
  }
  return lock.release;
}

export interface SavedClock {
  /** Offset added by `POST /_emulator/clock`. */
  advancedMs: number;
  /** Emulated time of the commit: the restored clock never runs behind it. */
  nowMs: number;
}

const manifestSchema = z.object({
  format: z.literal(STATE_FORMAT),
  version: z.number().int(),
  seq: z.number().int().nonnegative(),
  savedAt: z.string(),
  clock: z.object({ advancedMs: z.number(), nowMs: z.number() }),
  units: z.record(z.string(), z.string().regex(/^[A-Za-z0-9._-]+$/)),
  /** Files of objects stored apart that some unit refers to. */
  parts: z.array(z.string().regex(/^part-[A-Za-z0-9-]+\.bin$/)),
});

type Manifest = z.infer<typeof manifestSchema>;

export interface LoadedState {
  /** Absent for a new state directory. */
  clock?: SavedClock;
  /** Unit name -> its stored (still encoded) value. */
  units: Map<string, unknown>;
}

function fileNameOf(unit: string, seq: number): string {
  return `${unit.replace(/[^A-Za-z0-9._-]/g, '_')}.${seq}.bin`;
}

export class StateDir {
  readonly dir: string;
  readonly blobs: BlobStore;
  private readonly unitsDir: string;
  private manifest: Manifest;

  private constructor(
    dir: string,
    manifest: Manifest,
    private readonly releaseLock: () => void,
  ) {
    this.dir = dir;
    this.unitsDir = join(dir, 'units');
    mkdirSync(this.unitsDir, { recursive: true });
    this.blobs = new BlobStore(join(dir, 'blobs'));
    this.manifest = manifest;
  }

  /** Opens (creating when absent) a state directory and reads its units; throws StateDirError when it cannot. */
  static open(path: string): { stateDir: StateDir; loaded: LoadedState } {
    const dir = resolve(path);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new StateDirError(dir, `the directory cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const manifestPath = join(dir, MANIFEST);
    let text: string | undefined;
    try {
      text = readFileSync(manifestPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateDirError(manifestPath, `it cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (text === undefined) {
      // No manifest: a new directory, or one whose first commit a crash interrupted. Anything else is not ours.
      const foreign = readdirSync(dir).filter((f) => f !== 'units' && f !== 'blobs' && f !== MANIFEST_TEMP && f !== LOCK);
      if (foreign.length > 0) throw new StateDirError(dir, `it is not empty (${foreign.slice(0, 3).join(', ')}) and has no ${MANIFEST}: it does not look like an emulator state directory`);
      const releaseLock = acquireLock(dir);
      const fresh: Manifest = { format: STATE_FORMAT, version: STATE_VERSION, seq: 0, savedAt: new Date().toISOString(), clock: { advancedMs: 0, nowMs: 0 }, units: {}, parts: [] };
      const stateDir = new StateDir(dir, fresh, releaseLock);
      stateDir.removeUnlisted();
      return { stateDir, loaded: { units: new Map() } };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StateDirError(manifestPath, 'it is not valid JSON (damaged)');
    }
    const format = (json as { format?: unknown } | null)?.format;
    if (format !== STATE_FORMAT) throw new StateDirError(manifestPath, `it is not an emulator state manifest (format ${JSON.stringify(format)})`);
    const version = (json as { version?: unknown }).version;
    if (version !== STATE_VERSION) throw new StateDirError(manifestPath, `it has format version ${JSON.stringify(version)}; this emulator reads version ${STATE_VERSION}`);
    const parsed = manifestSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StateDirError(manifestPath, `it is damaged (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`);
    }
    const releaseLock = acquireLock(dir);
    const stateDir = new StateDir(dir, parsed.data, releaseLock);
    try {
      return { stateDir, loaded: { clock: parsed.data.clock, units: stateDir.readUnits() } };
    } catch (err) {
      stateDir.release();
      throw err;
    }
  }

  private readUnits(): Map<string, unknown> {
    const units = new Map<string, unknown>();
    for (const [unit, file] of Object.entries(this.manifest.units)) {
      const unitPath = join(this.unitsDir, file);
      let bytes: Buffer;
      try {
        bytes = readFileSync(unitPath);
      } catch (err) {
        throw new StateDirError(unitPath, `the manifest names it but it cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      try {
        units.set(unit, deserialize(bytes));
      } catch (err) {
        throw new StateDirError(unitPath, `it is damaged (${(err as Error).message})`);
      }
    }
    this.removeUnlisted();
    return units;
  }

  /** Writes an object stored apart to a new file (part of the next commit) and returns the file's name. */
  writePart(value: unknown): string {
    const file = `part-${randomUUID()}.bin`;
    writeFileSync(join(this.unitsDir, file), serialize(value));
    return file;
  }

  /** An object stored apart, as written (still encoded). */
  readPart(file: string): unknown {
    const path = join(this.unitsDir, file);
    if (!this.manifest.parts.includes(file)) throw new StateDirError(path, 'a unit refers to it but the manifest does not list it (damaged)');
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new StateDirError(path, `a unit refers to it but it cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    try {
      return deserialize(bytes);
    } catch (err) {
      throw new StateDirError(path, `it is damaged (${(err as Error).message})`);
    }
  }

  /**
   * Writes the changed units (`undefined` removes one) and the clock, atomically as a whole, with `parts` the files
   * of objects stored apart that the units now refer to. Synchronous: the caller answers its client only after this
   * returns.
   */
  commit(changes: ReadonlyMap<string, unknown>, clock: SavedClock, parts: readonly string[]): void {
    const seq = this.manifest.seq + 1;
    const units = { ...this.manifest.units };
    const superseded: string[] = [];
    for (const [unit, value] of changes) {
      const old = units[unit];
      if (old !== undefined) superseded.push(old);
      if (value === undefined) {
        delete units[unit];
        continue;
      }
      const file = fileNameOf(unit, seq);
      writeFileSync(join(this.unitsDir, file), serialize(value));
      units[unit] = file;
    }
    const live = new Set(parts);
    for (const file of this.manifest.parts) if (!live.has(file)) superseded.push(file);
    const next: Manifest = { format: STATE_FORMAT, version: STATE_VERSION, seq, savedAt: new Date().toISOString(), clock, units, parts: [...live] };
    const temp = join(this.dir, MANIFEST_TEMP);
    writeFileSync(temp, JSON.stringify(next));
    renameSync(temp, join(this.dir, MANIFEST));
    this.manifest = next;
    for (const file of superseded) {
      try {
        unlinkSync(join(this.unitsDir, file));
      } catch {
        // Already gone; the next start removes whatever is left.
      }
    }
  }

  /** Lets another emulator open the directory. */
  release(): void {
    this.releaseLock();
  }

  /** Unit files of commits a crash interrupted, or superseded ones a crash kept from being deleted. */
  private removeUnlisted(): void {
    const listed = new Set([...Object.values(this.manifest.units), ...this.manifest.parts]);
    for (const f of readdirSync(this.unitsDir)) if (!listed.has(f)) unlinkSync(join(this.unitsDir, f));
    try {
      unlinkSync(join(this.dir, MANIFEST_TEMP));
    } catch {
      // None: the last manifest write completed.
    }
  }
}
