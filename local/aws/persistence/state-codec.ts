/**
 * Turns a service's in-memory state into a value `v8.serialize` can store, and back. v8 already keeps Map, Set,
 * Date, Buffer and shared references within one value; this pass adds what it cannot do:
 * - instances of the classes a service declares (`persistentClasses`) come back with their prototype;
 * - a state's reference to a value shared between services (`scope.shared`) is stored as its key, so the shared
 *   value is written once, in its own unit, and every service gets the same object back;
 * - Buffers of `BLOB_MIN_BYTES` or more are stored once in the content-addressed blob store, so a unit that holds
 *   object bodies or file contents costs its metadata, not its bytes, each time it is written.
 * - a `TrackedMap` (S3 objects of a bucket, EFS file tree entries) is stored in files of its own, a base and the
 *   changes since, so a unit holding a big collection is written at the cost of what changed.
 * Anything else (functions, unknown classes) is refused at write time with the unit's name: a state that cannot
 * come back must fail loudly in the request that made it, not silently after a crash.
 */
import type { BlobStore } from './blob-store';
import { TrackedMap } from './tracked-map';

/** Smaller buffers are kept inline: a file per tiny buffer would cost more than re-serialising it. */
export const BLOB_MIN_BYTES = 1024;

// A key no service state uses: marks the placeholders this pass writes.
const TAG = '\u0000persisted';

/** Where a TrackedMap is stored: its base file and the change files written since, oldest first. */
export interface TrackedFiles {
  base: string;
  changes: string[];
}

type Placeholder =
  | { [TAG]: 'blob'; hash: string; length: number }
  | { [TAG]: 'tracked'; files: TrackedFiles }
  | { [TAG]: 'shared'; key: string }
  | { [TAG]: 'class'; name: string; props: Record<string, unknown> };

export type PersistentClass = abstract new (...args: never[]) => unknown;

export interface EncodeContext {
  /** Unit name, for error messages: `service:s3`. */
  unit: string;
  /** Constructor -> name, from every service's `persistentClasses`. */
  classNames: ReadonlyMap<unknown, string>;
  /** Shared value -> its `scope.shared` key. */
  sharedKeys: ReadonlyMap<unknown, string>;
  blobs: BlobStore;
  /** Writes what changed in `map` since it was last stored, and says which files hold it now. */
  storeTracked(map: TrackedMap<unknown, unknown>): TrackedFiles;
}

export interface DecodeContext {
  unit: string;
  classes: ReadonlyMap<string, PersistentClass>;
  shared(key: string): unknown;
  blobs: BlobStore;
  /** The TrackedMap stored in these files, decoded. */
  loadTracked(files: TrackedFiles): TrackedMap<unknown, unknown>;
}

export class StateEncodingError extends Error {
  override readonly name = 'StateEncodingError';
}

export function encodeState(root: unknown, ctx: EncodeContext): unknown {
  const memo = new Map<object, unknown>();
  const encode = (value: unknown, isRoot: boolean): unknown => {
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'function') throw new StateEncodingError(`${ctx.unit}: the state holds a function, which cannot be stored; keep behaviour out of state`);
      if (typeof value === 'symbol') throw new StateEncodingError(`${ctx.unit}: the state holds a symbol, which cannot be stored`);
      return value;
    }
    const known = memo.get(value);
    if (known !== undefined) return known;
    if (!isRoot) {
      const sharedKey = ctx.sharedKeys.get(value);
      if (sharedKey !== undefined) return { [TAG]: 'shared', key: sharedKey };
      if (value instanceof TrackedMap) {
        const placeholder = { [TAG]: 'tracked', files: ctx.storeTracked(value as TrackedMap<unknown, unknown>) };
        memo.set(value, placeholder);
        return placeholder;
      }
    }
    if (Buffer.isBuffer(value)) {
      if (value.length < BLOB_MIN_BYTES) return value;
      const placeholder = { [TAG]: 'blob', hash: ctx.blobs.put(value), length: value.length };
      memo.set(value, placeholder);
      return placeholder;
    }
    if (value instanceof Date || value instanceof RegExp || ArrayBuffer.isView(value)) return value;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      memo.set(value, out);
      for (const item of value) out.push(encode(item, false));
      return out;
    }
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      memo.set(value, out);
      for (const [k, v] of value) out.set(encode(k, false), encode(v, false));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      memo.set(value, out);
      for (const v of value) out.add(encode(v, false));
      return out;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    const props: Record<string, unknown> = {};
    if (proto === Object.prototype || proto === null) {
      memo.set(value, props);
      for (const [k, v] of Object.entries(value)) props[k] = encode(v, false);
      return props;
    }
    const ctor = (proto as { constructor?: unknown }).constructor;
    const name = ctx.classNames.get(ctor);
    if (name === undefined) {
      const shown = typeof ctor === 'function' ? ctor.name : 'an unknown class';
      throw new StateEncodingError(`${ctx.unit}: the state holds an instance of ${shown}; list the class in the service's persistentClasses (SERVICES.md)`);
    }
    const placeholder = { [TAG]: 'class', name, props };
    memo.set(value, placeholder);
    for (const [k, v] of Object.entries(value)) props[k] = encode(v, false);
    return placeholder;
  };
  return encode(root, true);
}

export function decodeState(stored: unknown, ctx: DecodeContext): unknown {
  const memo = new Map<object, unknown>();
  const decode = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const known = memo.get(value);
    if (known !== undefined) return known;
    if (value instanceof Date || value instanceof RegExp || ArrayBuffer.isView(value)) return value;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      memo.set(value, out);
      for (const item of value) out.push(decode(item));
      return out;
    }
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      memo.set(value, out);
      for (const [k, v] of value) out.set(decode(k), decode(v));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      memo.set(value, out);
      for (const v of value) out.add(decode(v));
      return out;
    }
    const record = value as Record<string, unknown>;
    if (TAG in record) {
      const p = record as Placeholder;
      switch (p[TAG]) {
        case 'blob': {
          const buf = ctx.blobs.get(p.hash, p.length);
          memo.set(value, buf);
          return buf;
        }
        case 'tracked': {
          const map = ctx.loadTracked(p.files);
          memo.set(value, map);
          return map;
        }
        case 'shared': {
          const shared = ctx.shared(p.key);
          if (shared === undefined) throw new StateEncodingError(`${ctx.unit}: refers to shared state '${p.key}', which the state directory does not hold`);
          return shared;
        }
        case 'class': {
          const cls = ctx.classes.get(p.name);
          if (!cls) throw new StateEncodingError(`${ctx.unit}: holds an instance of class ${p.name}, which no service of this emulator declares`);
          const instance = Object.create(cls.prototype as object) as Record<string, unknown>;
          memo.set(value, instance);
          for (const [k, v] of Object.entries(p.props)) instance[k] = decode(v);
          return instance;
        }
        default:
          throw new StateEncodingError(`${ctx.unit}: unknown placeholder ${String((p as Record<string, unknown>)[TAG])}`);
      }
    }
    const out: Record<string, unknown> = {};
    memo.set(value, out);
    for (const [k, v] of Object.entries(record)) out[k] = decode(v);
    return out;
  };
  return decode(stored);
}
