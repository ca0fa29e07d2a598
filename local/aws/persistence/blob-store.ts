/**
 * Big byte strings of the emulator's state (S3 object bodies, EFS file contents), each stored once under its
 * SHA-256 in `<stateDir>/blobs/`. A unit that refers to a blob is rewritten without rewriting the blob, and the
 * same bytes held twice (a copied object, a DataSync copy) take the disk once.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateDirError } from './state-dir-error';

export class BlobStore {
  private readonly known: Set<string>;
  // Buffers in state are replaced, never written into (SERVICES.md): a buffer's hash is computed once.
  private readonly hashes = new WeakMap<Buffer, string>();
  private readonly read = new Set<string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.known = new Set(readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f)));
  }

  /** Stores the bytes (once) and returns their hash. */
  put(data: Buffer): string {
    let hash = this.hashes.get(data);
    if (hash === undefined) {
      hash = createHash('sha256').update(data).digest('hex');
      this.hashes.set(data, hash);
    }
    if (!this.known.has(hash)) {
      const path = join(this.dir, hash);
      const temp = `${path}.tmp`;
      writeFileSync(temp, data);
      renameSync(temp, path);
      this.known.add(hash);
    }
    return hash;
  }

  /** The bytes stored under `hash`, checked against it: a damaged blob fails the start rather than serving wrong bytes. */
  get(hash: string, length: number): Buffer {
    const path = join(this.dir, hash);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      throw new StateDirError(path, `a stored blob is missing (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (data.length !== length || createHash('sha256').update(data).digest('hex') !== hash) {
      throw new StateDirError(path, 'a stored blob does not match its checksum');
    }
    this.hashes.set(data, hash);
    this.read.add(hash);
    return data;
  }

  /**
   * Run once after loading: deletes blobs the loaded state does not refer to (replaced or deleted data, writes a
   * crash interrupted). While running, replaced blobs stay until the next start.
   */
  sweepUnread(): void {
    for (const f of readdirSync(this.dir)) {
      if (this.read.has(f)) continue;
      unlinkSync(join(this.dir, f));
      this.known.delete(f);
    }
  }
}
