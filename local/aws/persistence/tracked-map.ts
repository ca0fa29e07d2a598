/**
 * A Map that remembers which keys changed, so a durable emulator writes only those: big collections (S3 objects
 * of a bucket, the entries of an EFS file tree) are stored as a base file plus small change files, compacted now
 * and then, and a request that changes one entry costs one entry, not the whole collection.
 * Values must be replaced (`set`), never changed in place: an in-place change is not seen.
 */
const CHANGED = Symbol('changed keys');

export class TrackedMap<K, V> extends Map<K, V> {
  // A symbol-keyed property created on first use: Map's constructor calls `set` before class fields exist, and the
  // codec stores own string-keyed properties only, so this bookkeeping never reaches the disk.
  private [CHANGED]?: Set<K> | 'all';

  override set(key: K, value: V): this {
    super.set(key, value);
    this.note(key);
    return this;
  }

  override delete(key: K): boolean {
    const removed = super.delete(key);
    if (removed) this.note(key);
    return removed;
  }

  override clear(): void {
    super.clear();
    this[CHANGED] = 'all';
  }

  /** Keys set or deleted since `forgetChanges`, or `all` after a clear. */
  pendingChanges(): ReadonlySet<K> | 'all' {
    return this[CHANGED] ?? new Set();
  }

  /** Called once the pending changes are written. */
  forgetChanges(): void {
    this[CHANGED] = undefined;
  }

  private note(key: K): void {
    const changed = this[CHANGED];
    if (changed === 'all') return;
    if (changed) changed.add(key);
    else this[CHANGED] = new Set([key]);
  }
}
