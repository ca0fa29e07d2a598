/**
 * A Map that remembers which keys changed, so a durable emulator writes only those: big collections (S3 objects
 * of a bucket, the entries of an EFS file tree) are stored as a base file plus small change files, compacted now
 * and then, and a request that changes one entry costs one entry, not the whole collection.
 * Values must be replaced (`set`), never changed in place: an in-place change is not seen.
 */
const CHANGED = Symbol('changed keys');

export class TrackedMap<K, V> extends Map<K, V> {
  // Undefined until a durable emulator first stores the map (then every key counts as changed): an emulator without
  // a state directory never collects keys. Symbol-keyed, so the codec (own string keys only) never stores it.
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
    if (this[CHANGED] !== undefined) this[CHANGED] = 'all';
  }

  /** Keys set or deleted since `forgetChanges`, or `all` after a clear or before the map was first stored. */
  pendingChanges(): ReadonlySet<K> | 'all' {
    return this[CHANGED] ?? 'all';
  }

  /** Called once the pending changes are written; from then on changes are collected. */
  forgetChanges(): void {
    this[CHANGED] = new Set();
  }

  private note(key: K): void {
    const changed = this[CHANGED];
    if (changed !== undefined && changed !== 'all') changed.add(key);
  }
}
