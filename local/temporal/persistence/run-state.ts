/**
 * A run's mutable state as saved in the state file, beside its history: what history alone does not say (activity
 * attempts and heartbeats, timer due times, buffered writes, the workflow task in flight). Small: it grows with what
 * is pending, not with history. What history does say (signal request ids, activity inputs) is taken from there.
 */
import { resumeActivity } from '../activities';
import type { BufferedWrite } from '../buffered-writes';
import type { Engine } from '../engine';
import { attributesOf } from '../history';
import type { HistoryEvent, Memo, Message, Payloads, UpdateOutcome, UpdateRequest } from '../proto-types';
import { armTimer } from '../timers';
import type { ActivityState, ChildState, ExecutionStatus, RunConfig, SavedWorkflowTask, WorkflowRun } from '../workflow-run';

/** An activity without its timers (re-armed on load) and input/header (in its ActivityTaskScheduled event). */
export type SavedActivity = Omit<ActivityState, 'attemptTimers' | 'heartbeatTimer' | 'scheduleToCloseTimer' | 'input' | 'header'>;

export interface SavedRunState {
  status: ExecutionStatus;
  executionTime: number;
  closeTime?: number;
  lastCompletedStartedEventId: number;
  cancelRequested: boolean;
  nextRunId?: string;
  memo?: Memo;
  searchValues: Record<string, unknown>;
  /** with the attempt of a transient retry, which no event records */
  wt?: SavedWorkflowTask;
  activities: SavedActivity[];
  timers: { timerId: string; startedEventId: number; dueTime: number; firedPending?: boolean }[];
  children: ChildState[];
  buffered: BufferedWrite[];
}

/** What a run is made from when loaded: its immutable start, its history, its latest mutable state. */
export interface SavedRun {
  config: RunConfig;
  startTime: number;
  history: HistoryEvent[];
  state: SavedRunState;
}

export function saveRunState(run: WorkflowRun): SavedRunState {
  const wt = run.wt;
  return {
    status: run.status,
    executionTime: run.executionTime,
    closeTime: run.closeTime,
    lastCompletedStartedEventId: run.lastCompletedStartedEventId,
    cancelRequested: run.cancelRequested,
    nextRunId: run.nextRunId,
    // The start's memo is in the run's config; only an upserted one is repeated here.
    memo: run.memo === run.config.memo ? undefined : run.memo,
    searchValues: run.searchValues,
    wt: wt && {
      scheduledEventId: wt.scheduledEventId,
      startedEventId: wt.startedEventId,
      attempt: wt.attempt,
      scheduledTime: wt.scheduledTime,
      transient: wt.transient || undefined,
      timeoutMs: wt.timeoutMs,
    },
    activities: [...run.activities.values()].map(saveActivity),
    timers: [...run.timers.values()].map((t) => ({ timerId: t.timerId, startedEventId: t.startedEventId, dueTime: t.dueTime, firedPending: t.firedPending })),
    children: [...run.children.values()],
    buffered: [...run.bufferedWrites],
  };
}

function saveActivity(a: ActivityState): SavedActivity {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { attemptTimers, heartbeatTimer, scheduleToCloseTimer, input, header, ...saved } = a;
  return saved;
}

/** Builds the run in the engine (not yet resumed: see resumeRun). */
export function loadRun(engine: Engine, saved: SavedRun): WorkflowRun {
  const run = engine.addLoadedRun(saved.config, saved.startTime, saved.history);
  const s = saved.state;
  run.status = s.status;
  run.executionTime = s.executionTime;
  run.closeTime = s.closeTime;
  run.lastCompletedStartedEventId = s.lastCompletedStartedEventId;
  run.cancelRequested = s.cancelRequested;
  run.nextRunId = s.nextRunId;
  run.memo = s.memo ?? saved.config.memo;
  run.searchValues = s.searchValues;
  for (const event of run.history) {
    const signal = event.workflowExecutionSignaledEventAttributes as { requestId?: string } | undefined;
    if (signal?.requestId) run.signalRequestIds.add(signal.requestId);
    restoreUpdate(run, event);
  }
  for (const c of s.children) run.children.set(c.initiatedEventId, c);
  return run;
}

/**
 * Updates the workflow accepted (and maybe completed) are in history: a caller polling for the outcome finds them,
 * and the worker's completion of an accepted one is written. Updates not yet accepted were in the previous process's
 * memory only; their callers retry them, as with a real server's in-flight updates.
 */
function restoreUpdate(run: WorkflowRun, event: HistoryEvent): void {
  const accepted = event.workflowExecutionUpdateAcceptedEventAttributes as { protocolInstanceId?: string; acceptedRequest?: UpdateRequest } | undefined;
  if (accepted?.protocolInstanceId) {
    const id = accepted.protocolInstanceId;
    run.updates.set(id, { id, request: accepted.acceptedRequest ?? {}, stage: run.isOpen ? 'accepted' : 'completed', acceptedEventId: event.eventId, waiters: new Set() });
  }
  const completed = event.workflowExecutionUpdateCompletedEventAttributes as { meta?: { updateId?: string }; outcome?: UpdateOutcome } | undefined;
  const update = completed?.meta?.updateId ? run.updates.get(completed.meta.updateId) : undefined;
  if (update && completed) {
    update.stage = 'completed';
    update.outcome = completed.outcome;
  }
}

/**
 * Makes a loaded open run live again: run timeouts, timers at their original due times, activities, then the
 * workflow task (one a lost worker had started times out now and is retried, writing what was buffered meanwhile).
 */
export function resumeRun(engine: Engine, run: WorkflowRun, s: SavedRunState, workersDiedWithServer = false): void {
  if (!run.isOpen) return;
  engine.resumeLoadedRun(run);
  for (const t of s.timers) {
    const timer = { ...t, cancel: () => undefined };
    run.timers.set(t.timerId, timer);
    // A fire already waiting in the buffer is written with it; arming again would write it twice.
    if (!t.firedPending) armTimer(run, timer);
  }
  for (const saved of s.activities) {
    const scheduled = attributesOf<{ input?: Payloads; header?: Message }>(run.history[saved.scheduledEventId - 1], 'ActivityTaskScheduled');
    resumeActivity(run, { ...saved, input: scheduled?.input, header: scheduled?.header, attemptTimers: [] }, workersDiedWithServer);
  }
  run.restoreBuffered(s.buffered);
  if (s.wt) run.resumeWorkflowTask(s.wt);
  else if (run.hasBufferedEvents) {
    // Buffered writes without a task in flight cannot normally be saved; write them if they ever are.
    run.flushBuffered();
    run.ensureWorkflowTask();
  }
}
