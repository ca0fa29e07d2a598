/**
 * Durable state of one emulator: which units exist, how each is read from and written to the state directory.
 *
 * Units, each its own file so a request writes only what it changed:
 * - `service:<name>`   a service's state, with references to shared values stored as their keys;
 * - `shared:<key>`     a value several services share (the Studio world: EFS trees, EC2 groups);
 * - `jobs`             every job (lifecycle phases, start time, scenario, transitions already run) and the scenario
 *                      rules: a job's status comes from the clock, so this is enough to go on after a restart;
 * - `events`           events still owed to the events target (delivered again after a restart: at least once).
 * The manifest carries the emulated clock. Faults and the journal stay in memory (test aids, not resources).
 */
import type { Emulator } from '../emulator';
import type { DeliveryRecord } from '../events';
import type { JobsSnapshot } from '../jobs';
import { decodeState, encodeState, StateEncodingError, STORED_APART, type DecodeContext, type StoredApart } from './state-codec';
import { StateDir } from './state-dir';
import { StateDirError } from './state-dir-error';

export class DurableState {
  /** The part files each unit referred to when last written or read: together, what the manifest must keep. */
  private readonly partsOf = new Map<string, Set<string>>();
  /** Objects stored apart: the revision and file they were last written as. */
  private readonly written = new WeakMap<object, { revision: number; file: string }>();

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
        loadApart: (file) => {
          parts.add(file);
          const value = decodeState(this.stateDir.readPart(file), ctx);
          if (value !== null && typeof value === 'object' && typeof (value as Partial<StoredApart>)[STORED_APART] === 'function') {
            this.written.set(value, { revision: (value as StoredApart)[STORED_APART](), file });
          }
          return value;
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
    if (events !== undefined) emulator.events.restoreOwed(decodeState(events, context('events')) as DeliveryRecord[]);
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
      let inPart = false;
      const storeApart = (object: StoredApart, revision: number, encode: () => unknown): string => {
        // A reused part's own parts would go unlisted: one level only.
        if (inPart) throw new StateEncodingError(`${unit}: an object stored apart holds another one; only one level is supported`);
        const last = this.written.get(object);
        let file = last?.file;
        if (!last || last.revision !== revision) {
          inPart = true;
          try {
            file = this.stateDir.writePart(encode());
          } finally {
            inPart = false;
          }
          this.written.set(object, { revision, file });
        }
        parts.add(file as string);
        return file as string;
      };
      try {
        changes.set(unit, value === undefined ? undefined : encodeState(value, { unit, classNames, sharedKeys, blobs: this.stateDir.blobs, storeApart }));
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

  /** The live value of a unit; undefined when it no longer exists (a shared value gone after a reset). */
  private valueOf(unit: string): unknown {
    const emulator = this.emulator;
    if (unit === 'jobs') return emulator.jobs.snapshot((service, kind) => emulator.declaredLifecycle(service, kind)?.onTransition);
    if (unit === 'events') return emulator.events.owed();
    const service = /^service:(.+)$/.exec(unit)?.[1];
    if (service !== undefined) return emulator.serviceState(service);
    const key = /^shared:(.+)$/.exec(unit)?.[1];
    if (key !== undefined) return emulator.sharedState().get(key);
    throw new Error(`unknown state unit ${unit}`);
  }
}
