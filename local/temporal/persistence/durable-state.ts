/**
 * Durable state for the embedded server (`dbFilename`). At start the file's state is loaded into the engine, runs
 * are resumed, and the file is rewritten compactly with the current state. From then on the engine reports every
 * run it changes, and `flush` appends those changes (new history events, each touched run's small mutable state)
 * in one synchronous write; the server calls it before answering any gRPC call and after timers fire, so nothing a
 * client or worker was told can be lost to a kill -9.
 *
 * Transient by design (as in the real server, callers retry): queries and updates in flight, sticky task queues,
 * long polls. A workflow task a worker of the previous process had started times out at load and is retried; an
 * activity attempt it had started stays started until its start-to-close or heartbeat timeout (counted from its
 * original times), so a worker that outlived the server can still complete it; unless `workersDiedWithServer` says
 * no worker can have (they ran in the server's process), then it times out at once and is retried.
 */
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ServiceError } from '../errors';
import type { Engine } from '../engine';
import type { NamespaceState } from '../namespaces';
import type { ScheduleRecord } from '../schedules/scheduler';
import type { ScheduleStore } from '../schedules/store';
import type { TimeSource } from '../time-source';
import type { WorkflowRun } from '../workflow-run';
import { loadRun, resumeRun, saveRunState, type SavedRunState } from './run-state';
import { StateFileAppender, StateFileError, lockStateFile, readStateFile, writeStateFileAtomically, type Batch, type LoadedState, type RunChange, type SavedNamespace, type ScheduleChange } from './state-file';

/** Below this the file is never rewritten while serving; above it, when it has doubled since the last rewrite. */
export const MIN_COMPACT_BYTES = 64 * 1024 * 1024;

export class DurableState {
  private appender?: StateFileAppender;
  private compactAt: number;
  private readonly dirty = new Set<WorkflowRun>();
  /** events of each run already in the file */
  private readonly savedEvents = new WeakMap<WorkflowRun, number>();
  private namespacesDirty = false;
  private closed = false;
  private savedClockOffset = 0;
  private loadedStates: { run: WorkflowRun; state: SavedRunState }[] = [];
  private loadedSchedules: ScheduleRecord[] = [];
  private schedules?: ScheduleStore;
  private readonly dirtySchedules = new Map<string, ScheduleChange>();

  private constructor(
    private readonly path: string,
    private readonly engine: Engine,
    private readonly time: TimeSource,
    private readonly unlock: () => void,
    private readonly minCompactBytes: number,
    private readonly log?: Logger,
    private readonly workersDiedWithServer = false,
  ) {
    this.compactAt = minCompactBytes;
  }

  /**
   * Reads the file (throws StateFileError when it is not a readable state file) and puts its namespaces, runs and
   * clock into the engine. Call `start` after registering the namespaces the server is configured with.
   */
  static load(path: string, engine: Engine, time: TimeSource, log?: Logger, minCompactBytes = MIN_COMPACT_BYTES, workersDiedWithServer = false): DurableState {
    const unlock = lockStateFile(path);
    const durable = new DurableState(path, engine, time, unlock, minCompactBytes, log, workersDiedWithServer);
    try {
      durable.loadFrom(readStateFile(path));
    } catch (err) {
      unlock();
      if (err instanceof StateFileError) throw err;
      throw new StateFileError(path, `its records do not fit together (${err instanceof Error ? err.message : String(err)})`);
    }
    return durable;
  }

  private loadFrom(loaded: LoadedState | undefined): void {
    if (!loaded) return;
    const { engine, time } = this;
    if (loaded.tornTail) this.log?.warn({ path: this.path }, 'state file: the last write was cut short by a crash; dropped it');
    time.restoreOffset(loaded.clockOffsetMs);
    for (const saved of loaded.namespaces) {
      const ns = engine.namespaces.register(saved.name, saved.retentionMs, saved.description, saved.ownerEmail, saved.data, saved.id);
      for (const [attr, type] of Object.entries(saved.customSearchAttributes)) ns.customSearchAttributes.set(attr, type);
    }
    const now = time.now();
    for (const saved of loaded.runs.values()) {
      const ns = engine.namespaces.find(saved.config.namespace);
      if (!ns) continue;
      // Closed runs past their namespace's retention are not carried over.
      if (saved.state.status !== 'Running' && saved.state.closeTime !== undefined && saved.state.closeTime + ns.retentionMs <= now) continue;
      this.loadedStates.push({ run: loadRun(engine, saved), state: saved.state });
    }
    this.loadedSchedules = [...loaded.schedules.values()];
    this.log?.info({ path: this.path, runs: this.loadedStates.length, schedules: this.loadedSchedules.length }, 'state file loaded');
  }

  /** Hands the loaded schedules to `store` and saves its changes from now on; before `start`. */
  attachSchedules(store: ScheduleStore): void {
    this.schedules = store;
    store.load(this.loadedSchedules);
    this.loadedSchedules = [];
    store.onChanged = (namespace, scheduleId, record) => this.dirtySchedules.set(`${namespace}\n${scheduleId}`, { namespace, scheduleId, record });
  }

  /** Resumes the loaded runs, rewrites the file with the current state, and saves every change from now on. */
  start(): void {
    for (const { run, state } of this.loadedStates) resumeRun(this.engine, run, state, this.workersDiedWithServer);
    this.loadedStates = [];
    this.compact();
    this.engine.onRunChanged = (run) => this.dirty.add(run);
    this.engine.namespaces.onChange = () => {
      this.namespacesDirty = true;
    };
    this.time.afterFire = () => {
      try {
        this.flush();
      } catch {
        // logged by flush; a timer has no caller to tell
      }
    };
  }

  /**
   * Rewrites the file with the current state (closed runs past retention are gone from it) and appends from there.
   * At start, and while serving whenever appends have doubled the file, so it stays proportional to the state.
   */
  private compact(): void {
    const runs = this.engine.namespaces.all().flatMap((ns) => [...ns.runs.values()]);
    const offset = this.time.offset;
    // Written in full before anything is marked saved: if this throws, the old file and appender carry on.
    writeStateFileAtomically(this.path, this.snapshot(runs, offset));
    this.appender?.close();
    this.appender = new StateFileAppender(this.path);
    for (const run of runs) this.savedEvents.set(run, run.history.length);
    this.dirty.clear();
    this.dirtySchedules.clear();
    this.namespacesDirty = false;
    this.savedClockOffset = offset;
    this.compactAt = Math.max(this.minCompactBytes, 2 * this.appender.size);
  }

  /** The whole current state, one batch per run, for the compacted file. */
  private *snapshot(runs: WorkflowRun[], clockOffsetMs: number): Generator<Batch> {
    yield { namespaces: this.engine.namespaces.all().map(saveNamespace), clockOffsetMs };
    const schedules = this.schedules?.records() ?? [];
    if (schedules.length > 0) yield { schedules: schedules.map((record) => ({ namespace: record.namespace, scheduleId: record.scheduleId, record })) };
    for (const run of runs) {
      yield { runs: [{ runId: run.runId, created: { config: run.config, startTime: run.startTime }, firstEventId: 1, events: run.history, state: saveRunState(run) }] };
    }
  }

  /** Appends what changed since the last flush, in one write. */
  flush(): void {
    if (!this.appender) {
      // Closed: a change made now could not be kept, so the call that made it must not be answered "done".
      if (this.closed) throw new ServiceError(status.UNAVAILABLE, 'the server is shutting down; retry against the restarted server');
      return;
    }
    const batch: Batch = {};
    const runs = [...this.dirty];
    if (runs.length > 0) batch.runs = runs.map((run) => this.change(run));
    if (this.namespacesDirty) batch.namespaces = this.engine.namespaces.all().map(saveNamespace);
    const schedules = [...this.dirtySchedules.values()];
    if (schedules.length > 0) batch.schedules = schedules;
    const offset = this.time.offset;
    if (offset !== this.savedClockOffset) batch.clockOffsetMs = offset;
    if (!batch.runs && !batch.namespaces && !batch.schedules && batch.clockOffsetMs === undefined) return;
    try {
      this.appender.append(batch);
    } catch (err) {
      // Nothing is marked saved, so the next flush writes it all again. The caller is answered with an error
      // (a gRPC call) or the failure is logged (a timer): never a false "done".
      this.log?.error({ err, path: this.path }, 'could not write the state file');
      throw err;
    }
    for (const run of runs) this.savedEvents.set(run, run.history.length);
    this.dirty.clear();
    for (const s of schedules) if (this.dirtySchedules.get(`${s.namespace}\n${s.scheduleId}`) === s) this.dirtySchedules.delete(`${s.namespace}\n${s.scheduleId}`);
    this.namespacesDirty = false;
    this.savedClockOffset = offset;
    if (this.appender.size > this.compactAt) {
      try {
        this.compact();
      } catch (err) {
        // Appending still works; try again when the file has grown as much again.
        this.compactAt = 2 * this.appender.size;
        this.log?.warn({ err, path: this.path }, 'could not rewrite the state file compactly; still appending');
      }
    }
  }

  private change(run: WorkflowRun): RunChange {
    const saved = this.savedEvents.get(run);
    const from = saved ?? 0;
    return {
      runId: run.runId,
      created: saved === undefined ? { config: run.config, startTime: run.startTime } : undefined,
      firstEventId: run.history.length > from ? from + 1 : undefined,
      events: run.history.length > from ? run.history.slice(from) : undefined,
      state: saveRunState(run),
    };
  }

  close(): void {
    try {
      if (this.appender) this.flush();
    } finally {
      this.closed = true;
      this.appender?.close();
      this.appender = undefined;
      this.engine.onRunChanged = undefined;
      this.engine.namespaces.onChange = undefined;
      if (this.schedules) this.schedules.onChanged = undefined;
      this.time.afterFire = undefined;
      this.unlock();
    }
  }
}

function saveNamespace(ns: NamespaceState): SavedNamespace {
  return {
    name: ns.name,
    id: ns.id,
    retentionMs: ns.retentionMs,
    description: ns.description,
    ownerEmail: ns.ownerEmail,
    data: ns.data,
    customSearchAttributes: Object.fromEntries(ns.customSearchAttributes),
  };
}
