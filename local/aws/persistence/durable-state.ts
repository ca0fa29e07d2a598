/**
 * Durable state of one emulator: which units exist, how each is read from and written to the state directory.
 *
 * Units, each its own file so a request writes only what it changed:
 * - `service:<name>`   a service's state, with references to shared values stored as their keys;
 * - `shared:<key>`     a value several services share (the Studio world: EFS trees, EC2 groups);
 * - `jobs`             every job (lifecycle phases, start time, scenario, transitions already run) and the scenario
 *                      rules: a job's status comes from the clock, so this is enough to go on after a restart;
 * - `events`           events still owed to the events target (delivered again after a restart: at least once).
 * A TrackedMap inside a unit is stored in part files of its own (a base and change files), listed by the unit.
 * The manifest carries the emulated clock. Faults and the journal stay in memory (test aids, not resources).
 */
import type { Emulator } from '../emulator';
import type { DeliveryRecord } from '../events';
import type { JobsSnapshot } from '../jobs';
import { decodeState, encodeState, StateEncodingError, type DecodeContext, type EncodeContext, type TrackedFiles } from './state-codec';
import { TrackedMap } from './tracked-map';
import { StateDir } from './state-dir';
import { StateDirError } from './state-dir-error';

export class DurableState {
  /** The part files each unit referred to when last written or read: together, what the manifest must keep. */
  private readonly partsOf = new Map<string, Set<string>>();
  /** TrackedMaps: the files holding them now, and how many changes their change files hold. */
  private readonly tracked = new WeakMap<TrackedMap<unknown, unknown>, TrackedFiles & { changedEntries: number }>();

  private constructor(
    private readonly stateDir: StateDir,
    private readonly emulator: Emulator,
  ) {}

  /** Loads the directory into the emulator (replacing its fresh state); `fresh` when there was nothing to load. */
  static open(dir: string, emulator: Emulator): { durable: DurableState; fresh: boolean } {
    const { stateDir, loaded } = StateDir.open(dir);
    const durable = new DurableState(stateDir, emulator);
    if (loaded.clock === undefined) return { durable, fresh: true };
    try {
      durable.restore(loaded.units);
      stateDir.blobs.sweepUnread();
    } catch (err) {
      stateDir.release();
      if (err instanceof StateDirError) throw err;
      throw new StateDirError(stateDir.dir, (err as Error).message);
    }
    emulator.clock.restore(loaded.clock);
    return { durable, fresh: false };
  }

  private restore(units: Map<string, unknown>): void {
    const emulator = this.emulator;
    const known = new Set(emulator.serviceNames());
    const sharedDecoded = new Map<string, unknown>();
    const context = (unit: string): DecodeContext => {
      const parts = new Set<string>();
      this.partsOf.set(unit, parts);
      const ctx: DecodeContext = {
        unit,
        classes: emulator.persistentClasses,
        shared: (key) => sharedDecoded.get(key),
        blobs: this.stateDir.blobs,
        loadTracked: (files) => {
          const map = new TrackedMap<unknown, unknown>();
          const base = this.stateDir.readPart(files.base) as { entries: Map<unknown, unknown> };
          for (const [k, v] of base.entries) map.set(decodeState(k, ctx), decodeState(v, ctx));
          let changedEntries = 0;
          for (const file of files.changes) {
            const delta = this.stateDir.readPart(file) as { changes: { key: unknown; value?: unknown; deleted?: true }[] };
            for (const c of delta.changes) {
              const key = decodeState(c.key, ctx);
              if (c.deleted) map.delete(key);
              else map.set(key, decodeState(c.value, ctx));
            }
            changedEntries += delta.changes.length;
          }
          map.forgetChanges();
          for (const file of [files.base, ...files.changes]) parts.add(file);
          this.tracked.set(map, { base: files.base, changes: [...files.changes], changedEntries });
          return map;
        },
      };
      return ctx;
    };
    for (const unit of units.keys()) {
      const service = /^service:(.+)$/.exec(unit)?.[1];
      if (service !== undefined && !known.has(service)) {
        throw new Error(`it holds the state of service ${service}, which this emulator does not run (it runs ${[...known].join(', ')})`);
      }
    }
    // Shared values first: service states refer to them.
    for (const [unit, stored] of units) {
      const key = /^shared:(.+)$/.exec(unit)?.[1];
      if (key !== undefined) sharedDecoded.set(key, decodeState(stored, context(unit)));
    }
    const shared = emulator.sharedState();
    shared.clear();
    for (const [key, value] of sharedDecoded) shared.set(key, value);
    for (const name of known) {
      const unit = `service:${name}`;
      const stored = units.get(unit);
      emulator.replaceServiceState(name, stored === undefined ? undefined : decodeState(stored, context(unit)));
    }
    const jobs = units.get('jobs');
    if (jobs !== undefined) {
      emulator.jobs.restore(decodeState(jobs, context('jobs')) as JobsSnapshot, (service, kind) => emulator.declaredLifecycle(service, kind)?.onTransition ?? null);
    }
    const events = units.get('events');
    if (events !== undefined) emulator.events.restoreOwed((decodeState(events, context('events')) as { owed: Map<string, DeliveryRecord> }).owed);
  }

  /** Lets another emulator use the directory (after a last commit). */
  release(): void {
    this.stateDir.release();
  }

  /** Writes the named units as they are now, in one atomic commit. */
  commit(unitNames: readonly string[]): void {
    const emulator = this.emulator;
    const sharedKeys = new Map<unknown, string>();
    for (const [key, value] of emulator.sharedState()) if (value !== null && typeof value === 'object') sharedKeys.set(value, key);
    const classNames = new Map<unknown, string>();
    for (const [name, cls] of emulator.persistentClasses) classNames.set(cls, name);
    const changes = new Map<string, unknown>();
    const partsNow = new Map<string, Set<string>>();
    for (const unit of unitNames) {
      if (unit === 'clock') continue;
      const value = this.valueOf(unit);
      const parts = new Set<string>();
      partsNow.set(unit, parts);
      let inTracked = false;
      const ctx: EncodeContext = {
        unit,
        classNames,
        sharedKeys,
        blobs: this.stateDir.blobs,
        storeTracked: (map) => {
          // A reused base would not list the files of a map inside it: one level only.
          if (inTracked) throw new StateEncodingError(`${unit}: a TrackedMap holds another one; only one level is supported`);
          inTracked = true;
          try {
            const files = this.storeTracked(map, (v) => encodeState(v, ctx));
            for (const file of [files.base, ...files.changes]) parts.add(file);
            return files;
          } finally {
            inTracked = false;
          }
        },
      };
      try {
        changes.set(unit, value === undefined ? undefined : encodeState(value, ctx));
      } catch (err) {
        if (err instanceof StateEncodingError) throw err;
        throw new Error(`${unit}: ${(err as Error).message}`, { cause: err });
      }
    }
    const partsAfter = new Map(this.partsOf);
    for (const [unit, parts] of partsNow) partsAfter.set(unit, parts);
    const live = new Set<string>();
    for (const parts of partsAfter.values()) for (const file of parts) live.add(file);
    this.stateDir.commit(changes, { advancedMs: emulator.clock.advancedMs, nowMs: emulator.clock.now() }, [...live]);
    for (const [unit, parts] of partsNow) this.partsOf.set(unit, parts);
  }

  /**
   * Writes a TrackedMap's changes since it was last stored as a change file, or the whole map as a new base when
   * it is new, was cleared, or its change files hold more entries than half the map (compaction: each write stays
   * proportional to what changed, amortised). Its changes are forgotten only once written.
   */
  private storeTracked(map: TrackedMap<unknown, unknown>, encode: (value: unknown) => unknown): TrackedFiles {
    const last = this.tracked.get(map);
    const pending = map.pendingChanges();
    let next = last;
    if (!last || pending === 'all' || last.changedEntries + pending.size > Math.max(64, map.size / 2)) {
      const entries = new Map<unknown, unknown>();
      for (const [k, v] of map) entries.set(encode(k), encode(v));
      next = { base: this.stateDir.writePart({ entries }), changes: [], changedEntries: 0 };
    } else if (pending.size > 0) {
      const changes = [...pending].map((k) => (map.has(k) ? { key: encode(k), value: encode(map.get(k)) } : { key: encode(k), deleted: true as const }));
      next = { base: last.base, changes: [...last.changes, this.stateDir.writePart({ changes })], changedEntries: last.changedEntries + changes.length };
    }
    map.forgetChanges();
    this.tracked.set(map, next as TrackedFiles & { changedEntries: number });
    return next as TrackedFiles;
  }

  /** The live value of a unit; undefined when it no longer exists (a shared value gone after a reset). */
  private valueOf(unit: string): unknown {
    const emulator = this.emulator;
    if (unit === 'jobs') return emulator.jobs.snapshot();
    // Wrapped: a TrackedMap is stored by its changes only below the unit's top.
    if (unit === 'events') return { owed: emulator.events.owed() };
    const service = /^service:(.+)$/.exec(unit)?.[1];
    if (service !== undefined) return emulator.serviceState(service);
    const key = /^shared:(.+)$/.exec(unit)?.[1];
    if (key !== undefined) return emulator.sharedState().get(key);
    throw new Error(`unknown state unit ${unit}`);
  }
}
