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
 * original times), so a worker that outlived the server can still complete it.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine';
import type { NamespaceState } from '../namespaces';
import type { TimeSource } from '../time-source';
import type { WorkflowRun } from '../workflow-run';
import { loadRun, resumeRun, saveRunState, type SavedRunState } from './run-state';
import { StateFileAppender, readStateFile, writeStateFileAtomically, type Batch, type RunChange, type SavedNamespace } from './state-file';

export class DurableState {
  private appender?: StateFileAppender;
  private readonly dirty = new Set<WorkflowRun>();
  /** events of each run already in the file */
  private readonly savedEvents = new WeakMap<WorkflowRun, number>();
  private namespacesDirty = false;
  private savedClockOffset = 0;
  private loadedStates: { run: WorkflowRun; state: SavedRunState }[] = [];

  private constructor(
    private readonly path: string,
    private readonly engine: Engine,
    private readonly time: TimeSource,
    private readonly log?: Logger,
  ) {}

  /**
   * Reads the file (throws StateFileError when it is not a readable state file) and puts its namespaces, runs and
   * clock into the engine. Call `start` after registering the namespaces the server is configured with.
   */
  static load(path: string, engine: Engine, time: TimeSource, log?: Logger): DurableState {
    const durable = new DurableState(path, engine, time, log);
    const loaded = readStateFile(path);
    if (!loaded) return durable;
    if (loaded.tornTail) log?.warn({ path }, 'state file: the last write was cut short by a crash; dropped it');
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
      durable.loadedStates.push({ run: loadRun(engine, saved), state: saved.state });
    }
    log?.info({ path, runs: durable.loadedStates.length }, 'state file loaded');
    return durable;
  }

  /** Resumes the loaded runs, rewrites the file with the current state, and saves every change from now on. */
  start(): void {
    for (const { run, state } of this.loadedStates) resumeRun(this.engine, run, state);
    this.loadedStates = [];
    writeStateFileAtomically(this.path, this.snapshot());
    this.appender = new StateFileAppender(this.path);
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

  /** The whole current state, one batch per run, for the compacted file. */
  private *snapshot(): Generator<Batch> {
    this.savedClockOffset = this.time.offset;
    yield { namespaces: this.engine.namespaces.all().map(saveNamespace), clockOffsetMs: this.savedClockOffset };
    for (const ns of this.engine.namespaces.all()) {
      for (const run of ns.runs.values()) {
        this.savedEvents.set(run, run.history.length);
        yield { runs: [{ runId: run.runId, created: { config: run.config, startTime: run.startTime }, firstEventId: 1, events: run.history, state: saveRunState(run) }] };
      }
    }
  }

  /** Appends what changed since the last flush, in one write. */
  flush(): void {
    if (!this.appender) return;
    const batch: Batch = {};
    if (this.dirty.size > 0) {
      batch.runs = [...this.dirty].map((run) => this.change(run));
      this.dirty.clear();
    }
    if (this.namespacesDirty) {
      batch.namespaces = this.engine.namespaces.all().map(saveNamespace);
      this.namespacesDirty = false;
    }
    if (this.time.offset !== this.savedClockOffset) {
      this.savedClockOffset = this.time.offset;
      batch.clockOffsetMs = this.savedClockOffset;
    }
    if (!batch.runs && !batch.namespaces && batch.clockOffsetMs === undefined) return;
    try {
      this.appender.append(batch);
    } catch (err) {
      // The caller is answered with an error (a gRPC call) or the failure is logged (a timer): never a false "done".
      this.log?.error({ err, path: this.path }, 'could not write the state file');
      throw err;
    }
  }

  private change(run: WorkflowRun): RunChange {
    const saved = this.savedEvents.get(run);
    const from = saved ?? 0;
    this.savedEvents.set(run, run.history.length);
    return {
      runId: run.runId,
      created: saved === undefined ? { config: run.config, startTime: run.startTime } : undefined,
      firstEventId: run.history.length > from ? from + 1 : undefined,
      events: run.history.length > from ? run.history.slice(from) : undefined,
      state: saveRunState(run),
    };
  }

  close(): void {
    if (!this.appender) return;
    this.flush();
    this.appender.close();
    this.appender = undefined;
    this.engine.onRunChanged = undefined;
    this.engine.namespaces.onChange = undefined;
    this.time.afterFire = undefined;
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
