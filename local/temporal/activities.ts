/**
 * Activity tasks: scheduling, dispatch, heartbeats, server-side retries and timeouts. Between attempts nothing is
 * written to history; ActivityTaskStarted (with the attempt and last failure) is written together with the final
 * result, as the real server does.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, invalidArgument } from './errors';
import { completeRetryPolicy, decideRetry, retryPolicyMessage } from './retry-policy';
import { encodeTaskToken } from './task-token';
import type { Failure, Message, Payloads, RetryPolicy } from './proto-types';
import { durationFromMs, msFromDuration, timestampFromMs } from './time-format';
import type { ActivityState, PollResponse, WorkflowRun } from './workflow-run';

export interface ScheduleActivityAttributes {
  activityId?: string;
  activityType?: { name?: string };
  taskQueue?: { name?: string };
  header?: Message;
  input?: Payloads;
  scheduleToCloseTimeout?: { seconds?: number; nanos?: number };
  scheduleToStartTimeout?: { seconds?: number; nanos?: number };
  startToCloseTimeout?: { seconds?: number; nanos?: number };
  heartbeatTimeout?: { seconds?: number; nanos?: number };
  retryPolicy?: RetryPolicy;
  priority?: Message;
  requestEagerExecution?: boolean;
}

/**
 * Validates and writes ActivityTaskScheduled; throws invalidArgument (the caller fails the workflow task). `eager`:
 * the completing worker takes it (startEagerly), so it is not put on the queue where another poller could take it.
 */
export function scheduleActivity(run: WorkflowRun, attrs: ScheduleActivityAttributes, workflowTaskCompletedEventId: number, eager = false): ActivityState {
  const activityId = attrs.activityId ?? '';
  if (!activityId) throw invalidArgument('ActivityId is not set on command.');
  if (!attrs.activityType?.name) throw invalidArgument('ActivityType is not set on command.');
  for (const a of run.activities.values()) {
    if (a.activityId === activityId) throw invalidArgument(`Activity ID ${activityId} is already in use.`);
  }
  const scheduleToCloseMs = msFromDuration(attrs.scheduleToCloseTimeout);
  // The SDK requires start-to-close or schedule-to-close; schedule-to-close alone also bounds each attempt.
  const startToCloseMs = msFromDuration(attrs.startToCloseTimeout) || scheduleToCloseMs;
  if (!startToCloseMs) throw invalidArgument('A valid StartToClose or ScheduleToCloseTimeout is not set on command.');
  const scheduleToStartMs = msFromDuration(attrs.scheduleToStartTimeout) || scheduleToCloseMs;
  const heartbeatMs = Math.min(msFromDuration(attrs.heartbeatTimeout), startToCloseMs);
  const retryPolicy = completeRetryPolicy(attrs.retryPolicy);
  const taskQueue = attrs.taskQueue?.name || run.config.taskQueue;
  const event = run.append('ActivityTaskScheduled', {
    activityId,
    activityType: attrs.activityType,
    taskQueue: { name: taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
    header: attrs.header,
    input: attrs.input,
    scheduleToCloseTimeout: durationFromMs(scheduleToCloseMs),
    scheduleToStartTimeout: durationFromMs(scheduleToStartMs),
    startToCloseTimeout: durationFromMs(startToCloseMs),
    heartbeatTimeout: durationFromMs(heartbeatMs),
    workflowTaskCompletedEventId,
    retryPolicy: retryPolicyMessage(retryPolicy),
    priority: attrs.priority,
  });
  const now = run.now();
  const a: ActivityState = {
    scheduledEventId: event.eventId,
    activityId,
    activityType: attrs.activityType,
    taskQueue,
    header: attrs.header,
    input: attrs.input,
    scheduleToCloseMs,
    scheduleToStartMs,
    startToCloseMs,
    heartbeatMs,
    retryPolicy,
    attempt: 1,
    firstScheduledTime: now,
    currentAttemptScheduledTime: now,
    state: 'scheduled',
    cancelRequested: false,
    attemptTimers: [],
  };
  run.activities.set(a.scheduledEventId, a);
  armScheduleToClose(run, a);
  if (eager) run.markBusy('activity', a.scheduledEventId);
  else dispatchAttempt(run, a);
  return a;
}

function armScheduleToClose(run: WorkflowRun, a: ActivityState): void {
  if (a.scheduleToCloseMs > 0) {
    a.scheduleToCloseTimer = run.scheduleAt(a.firstScheduledTime + a.scheduleToCloseMs, () => timeOut(run, a, 'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE'));
  }
}

/**
 * An activity loaded from the state file, its timers re-armed at their original times. An attempt a worker had
 * started stays started: a worker that outlived the server may still complete it with its task token; otherwise
 * the attempt ends by its start-to-close or heartbeat timeout (counted from the attempt's start and last heartbeat)
 * and is retried with its attempt number, heartbeat details and last failure, as after any lost worker. When the
 * workers died with the previous server (`workersDiedWithServer`, as under `mlops start`), nobody can complete it:
 * it times out at once instead of holding the activity for its whole timeout.
 */
export function resumeActivity(run: WorkflowRun, a: ActivityState, workersDiedWithServer = false): void {
  a.attemptTimers = [];
  run.activities.set(a.scheduledEventId, a);
  armScheduleToClose(run, a);
  if (a.paused && a.state !== 'started') {
    // Waits for UnpauseActivity, as it did before the restart.
  } else if (a.state === 'scheduled') {
    dispatchAttempt(run, a, a.currentAttemptScheduledTime);
  } else if (a.state === 'started') {
    // Not counted as in flight (as after ShutdownWorker): its worker is presumed gone with the old process, so time
    // skipping may jump to its timeout instead of waiting for it in real time.
    armStartedAttempt(run, a, workersDiedWithServer ? run.now() : undefined);
  } else {
    armRetry(run, a, a.retryTime ?? run.now());
  }
}

/**
 * Eager dispatch: the worker that completed the workflow task reserved a slot for this activity, so it gets the
 * first attempt in the completion's response instead of polling for it.
 */
/** An activity scheduled for eager start that the worker will not get after all: it goes to the queue. */
export function queueEagerActivity(run: WorkflowRun, a: ActivityState): void {
  if (isCurrent(run, a) && a.state === 'scheduled') dispatchAttempt(run, a);
}

export function startEagerly(run: WorkflowRun, a: ActivityState, identity: string): PollResponse | undefined {
  const task = startAttempt(run, a, a.attempt, identity);
  // Not startable now (paused, say): it goes to the queue as any other activity.
  if (!task) queueEagerActivity(run, a);
  return task;
}

function clearAttempt(run: WorkflowRun, a: ActivityState): void {
  for (const c of a.attemptTimers) c();
  a.attemptTimers = [];
  a.heartbeatTimer?.();
  a.heartbeatTimer = undefined;
  run.markIdle('activity', a.scheduledEventId);
}

/** `scheduledAt` is earlier than now only for an attempt loaded from the state file: its timeout keeps its time. */
function dispatchAttempt(run: WorkflowRun, a: ActivityState, scheduledAt = run.now()): void {
  a.state = 'scheduled';
  a.currentAttemptScheduledTime = scheduledAt;
  run.markBusy('activity', a.scheduledEventId);
  const attempt = a.attempt;
  if (a.scheduleToStartMs > 0 && a.scheduleToStartMs !== a.scheduleToCloseMs) {
    a.attemptTimers.push(run.scheduleAt(scheduledAt + a.scheduleToStartMs, () => {
      if (a.state === 'scheduled' && a.attempt === attempt) timeOut(run, a, 'TIMEOUT_TYPE_SCHEDULE_TO_START');
    }));
  }
  run.activityTaskQueues().add(
    run.namespace,
    'activity',
    a.taskQueue,
    (poller) => startAttempt(run, a, attempt, poller.identity),
    () => !isCurrent(run, a) || a.state !== 'scheduled' || a.attempt !== attempt || a.paused === true,
    run.activityFilter(a.taskQueue),
  );
}

function isCurrent(run: WorkflowRun, a: ActivityState): boolean {
  return run.isOpen && run.activities.get(a.scheduledEventId) === a;
}

function startAttempt(run: WorkflowRun, a: ActivityState, attempt: number, identity: string): PollResponse | undefined {
  if (!isCurrent(run, a) || a.state !== 'scheduled' || a.attempt !== attempt || a.paused) return undefined;
  a.startedIdentity = identity;
  a.reset = undefined;
  a.requestId = randomUUID();
  for (const c of a.attemptTimers) c();
  a.attemptTimers = [];
  a.state = 'started';
  a.startedTime = run.now();
  run.markRunning('activity', a.scheduledEventId);
  a.lastHeartbeatTime = undefined;
  run.touch();
  armStartedAttempt(run, a);
  return {
    taskToken: encodeTaskToken({ kind: 'activity', namespace: run.namespace, runId: run.runId, scheduledEventId: a.scheduledEventId, attempt }),
    workflowNamespace: run.namespace,
    workflowType: run.workflowTypeMessage,
    workflowExecution: run.execution,
    activityType: a.activityType,
    activityId: a.activityId,
    header: a.header,
    input: a.input,
    heartbeatDetails: a.heartbeatDetails,
    scheduledTime: timestampFromMs(a.firstScheduledTime),
    currentAttemptScheduledTime: timestampFromMs(a.currentAttemptScheduledTime),
    startedTime: timestampFromMs(a.startedTime),
    attempt,
    scheduleToCloseTimeout: durationFromMs(a.scheduleToCloseMs),
    startToCloseTimeout: durationFromMs(a.startToCloseMs),
    heartbeatTimeout: durationFromMs(a.heartbeatMs),
    retryPolicy: retryPolicyMessage(a.retryPolicy),
  };
}

/** `timeOutAt`: when the attempt's worker is known to be gone, earlier than its start-to-close deadline. */
function armStartedAttempt(run: WorkflowRun, a: ActivityState, timeOutAt?: number): void {
  const attempt = a.attempt;
  a.attemptTimers.push(run.scheduleAt(timeOutAt ?? (a.startedTime ?? run.now()) + a.startToCloseMs, () => {
    if (a.state === 'started' && a.attempt === attempt) timeOut(run, a, 'TIMEOUT_TYPE_START_TO_CLOSE');
  }));
  armHeartbeat(run, a);
}

/** The heartbeat timeout counts from the last heartbeat, or from the attempt's start before the first one. */
function armHeartbeat(run: WorkflowRun, a: ActivityState): void {
  a.heartbeatTimer?.();
  a.heartbeatTimer = undefined;
  if (a.heartbeatMs <= 0) return;
  const attempt = a.attempt;
  a.heartbeatTimer = run.scheduleAt((a.lastHeartbeatTime ?? a.startedTime ?? run.now()) + a.heartbeatMs, () => {
    if (a.state === 'started' && a.attempt === attempt) timeOut(run, a, 'TIMEOUT_TYPE_HEARTBEAT');
  });
}

/** Finds the started attempt a task token names, or undefined when the token is stale. */
export function activityForToken(run: WorkflowRun, scheduledEventId: number, attempt: number | undefined): ActivityState | undefined {
  const a = run.isOpen ? run.activities.get(scheduledEventId) : undefined;
  if (!a || a.state !== 'started' || (attempt !== undefined && a.attempt !== attempt)) return undefined;
  return a;
}

export function activityById(run: WorkflowRun, activityId: string): ActivityState | undefined {
  if (!run.isOpen) return undefined;
  for (const a of run.activities.values()) if (a.activityId === activityId) return a;
  return undefined;
}

/** The heartbeat's answer: whether the workflow asked to cancel, and whether an operator paused or reset it. */
export function heartbeat(run: WorkflowRun, a: ActivityState, details: Payloads | undefined): { cancelRequested: boolean; activityPaused: boolean; activityReset: boolean } {
  if (details) a.heartbeatDetails = details;
  a.lastHeartbeatTime = run.now();
  run.touch();
  armHeartbeat(run, a);
  return { cancelRequested: a.cancelRequested, activityPaused: a.paused === true, activityReset: a.reset === true };
}

/** Removes the activity and writes Started + the closing event (buffered if a workflow task is running). */
function finish(run: WorkflowRun, a: ActivityState, started: boolean, shortName: string, attrs: object): void {
  clearAttempt(run, a);
  a.scheduleToCloseTimer?.();
  run.activities.delete(a.scheduledEventId);
  run.record({
    kind: 'activityClosed',
    scheduledEventId: a.scheduledEventId,
    started: started ? { identity: a.startedIdentity ?? '', requestId: a.requestId ?? '', attempt: a.attempt, lastFailure: a.lastFailure } : undefined,
    name: shortName,
    attrs,
  });
}

export function completeActivity(run: WorkflowRun, a: ActivityState, result: Payloads | undefined, identity: string): void {
  a.startedIdentity = identity || a.startedIdentity;
  finish(run, a, true, 'ActivityTaskCompleted', { result, scheduledEventId: a.scheduledEventId, identity });
}

export function cancelledActivity(run: WorkflowRun, a: ActivityState, details: Payloads | undefined, identity: string): void {
  a.startedIdentity = identity || a.startedIdentity;
  finish(run, a, true, 'ActivityTaskCanceled', {
    details,
    latestCancelRequestedEventId: a.cancelRequestedEventId ?? 0,
    scheduledEventId: a.scheduledEventId,
    identity,
  });
}

/** An attempt that was running when the activity was reset ends as attempt 1, so the retry is attempt 2. */
function restartAfterReset(a: ActivityState): void {
  if (a.reset && a.state === 'started') a.attempt = 1;
}

export function failActivity(run: WorkflowRun, a: ActivityState, failure: Failure, identity: string, lastHeartbeatDetails?: Payloads): void {
  a.startedIdentity = identity || a.startedIdentity;
  restartAfterReset(a);
  if (lastHeartbeatDetails) a.heartbeatDetails = lastHeartbeatDetails;
  const decision = retryDecision(run, a, failure);
  if (decision.retry) {
    backOff(run, a, failure, decision.delayMs);
    return;
  }
  finish(run, a, true, 'ActivityTaskFailed', {
    failure,
    scheduledEventId: a.scheduledEventId,
    identity,
    retryState: decision.retryState,
  });
}

function retryDecision(run: WorkflowRun, a: ActivityState, failure: Failure): ReturnType<typeof decideRetry> {
  // A workflow that asked for cancellation gets no further attempts.
  if (a.cancelRequested) return { retry: false, retryState: 'RETRY_STATE_CANCEL_REQUESTED' };
  const deadline = a.scheduleToCloseMs > 0 ? a.firstScheduledTime + a.scheduleToCloseMs : undefined;
  return decideRetry(a.retryPolicy, a.attempt, failure, run.now(), deadline);
}

function backOff(run: WorkflowRun, a: ActivityState, failure: Failure, delayMs: number): void {
  clearAttempt(run, a);
  a.lastFailure = failure;
  a.state = 'backoff';
  run.touch();
  armRetry(run, a, run.now() + delayMs);
}

function armRetry(run: WorkflowRun, a: ActivityState, at: number): void {
  // A paused activity's next attempt waits for UnpauseActivity.
  if (a.paused) {
    a.retryTime = undefined;
    return;
  }
  a.retryTime = at;
  a.attemptTimers.push(run.scheduleAt(at, () => {
    if (!isCurrent(run, a) || a.state !== 'backoff') return;
    a.attemptTimers = [];
    a.retryTime = undefined;
    a.attempt++;
    dispatchAttempt(run, a);
  }));
}

function timeOut(run: WorkflowRun, a: ActivityState, timeoutType: string): void {
  if (!isCurrent(run, a)) return;
  const name = timeoutType.replace('TIMEOUT_TYPE_', '').split('_').map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join('');
  const failure: Failure = {
    message: `activity ${name} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: a.heartbeatDetails },
  };
  const wasStarted = a.state === 'started';
  if (timeoutType === 'TIMEOUT_TYPE_START_TO_CLOSE' || timeoutType === 'TIMEOUT_TYPE_HEARTBEAT') {
    restartAfterReset(a);
    const decision = retryDecision(run, a, failure);
    if (decision.retry) {
      backOff(run, a, failure, decision.delayMs);
      return;
    }
    finish(run, a, wasStarted, 'ActivityTaskTimedOut', { failure, scheduledEventId: a.scheduledEventId, retryState: decision.retryState });
    return;
  }
  if (a.lastFailure && timeoutType === 'TIMEOUT_TYPE_SCHEDULE_TO_CLOSE') failure.cause = a.lastFailure;
  finish(run, a, wasStarted, 'ActivityTaskTimedOut', {
    failure,
    scheduledEventId: a.scheduledEventId,
    retryState: 'RETRY_STATE_TIMEOUT',
  });
}

/**
 * The RequestCancelActivityTask command. An activity that has not started is cancelled on the spot; a running one
 * learns of it from its next heartbeat and answers RespondActivityTaskCanceled.
 */
export function requestCancelActivity(run: WorkflowRun, scheduledEventId: number, workflowTaskCompletedEventId: number): void {
  const event = run.append('ActivityTaskCancelRequested', { scheduledEventId, workflowTaskCompletedEventId });
  const a = run.activities.get(scheduledEventId);
  if (!a) return; // its result is already on the way (buffered); the workflow sees that instead
  a.cancelRequested = true;
  a.cancelRequestedEventId = event.eventId;
  if (a.state !== 'started') {
    clearAttempt(run, a);
    a.scheduleToCloseTimer?.();
    run.activities.delete(a.scheduledEventId);
    run.append('ActivityTaskCanceled', { latestCancelRequestedEventId: event.eventId, scheduledEventId, startedEventId: 0, identity: '' });
    run.needsWorkflowTask = true;
  }
}

// ---- operator calls: PauseActivity, UnpauseActivity, ResetActivity ------------------------------------------------

/**
 * As the real server: a paused activity starts no new attempt (a waiting one is held back, a failed one is not
 * retried) until it is unpaused; a running attempt is told by its next heartbeat, and its worker fails it
 * ('ActivityPause'). Pausing a paused activity again is refused unless it is the same request.
 */
export function pauseActivity(run: WorkflowRun, a: ActivityState, requestId: string | undefined): void {
  if (a.paused) {
    if (requestId && a.pauseRequestId === requestId) return;
    throw new ServiceError(9, 'activity is already paused');
  }
  a.paused = true;
  a.pauseRequestId = requestId || undefined;
  if (a.state === 'scheduled') {
    // The queued task goes stale (its dispatch checks `paused`); no schedule-to-start timeout while held.
    clearAttempt(run, a);
  } else if (a.state === 'backoff') {
    for (const c of a.attemptTimers) c();
    a.attemptTimers = [];
    a.retryTime = undefined;
  }
  run.touch();
}

/** The next attempt may start now (a held one is dispatched); optionally from attempt 1, without heartbeat details. */
export function unpauseActivity(run: WorkflowRun, a: ActivityState, opts: { resetAttempts?: boolean; resetHeartbeat?: boolean; jitterMs?: number }): void {
  if (!a.paused) return;
  a.paused = false;
  a.pauseRequestId = undefined;
  if (opts.resetAttempts) a.attempt = 1;
  if (opts.resetHeartbeat) {
    a.heartbeatDetails = undefined;
    a.lastHeartbeatTime = undefined;
  }
  resumeHeld(run, a, opts.jitterMs);
  run.touch();
}

/**
 * Attempts count from 1 again. A running attempt is told by its next heartbeat (its worker fails it, 'ActivityReset',
 * and it is retried); a waiting one starts over at once. A paused activity that is not running is unpaused unless
 * `keepPaused`; a running one stays paused, as on the real server (its ResetActivity leaves a started activity be),
 * so its next heartbeat reports it both paused and reset.
 */
export function resetActivity(run: WorkflowRun, a: ActivityState, opts: { resetHeartbeat?: boolean; keepPaused?: boolean; jitterMs?: number }): void {
  const wasPaused = a.paused === true;
  a.reset = true;
  // A running attempt keeps its number (its task token names it) until it ends; see restartAfterReset.
  if (a.state === 'scheduled') a.attempt = 1;
  else if (a.state === 'backoff') a.attempt = 0; // armRetry's dispatch counts it up to 1
  if (opts.resetHeartbeat) {
    a.heartbeatDetails = undefined;
    a.lastHeartbeatTime = undefined;
  }
  if (wasPaused && !opts.keepPaused && a.state !== 'started') {
    a.paused = false;
    a.pauseRequestId = undefined;
  }
  if (a.state !== 'started' && !a.paused) {
    for (const c of a.attemptTimers) c();
    a.attemptTimers = [];
    resumeHeld(run, a, opts.jitterMs, true);
  }
  run.touch();
}

/** Dispatches an attempt that waited (paused, or backing off when `restart`), after `jitterMs` at most. */
function resumeHeld(run: WorkflowRun, a: ActivityState, jitterMs = 0, restart = false): void {
  const delay = jitterMs > 0 ? Math.floor(Math.random() * jitterMs) : 0;
  if (a.state === 'backoff' && (a.retryTime === undefined || restart)) armRetry(run, a, run.now() + delay);
  else if (a.state === 'scheduled' && (restart || a.attemptTimers.length === 0)) {
    if (restart) clearAttempt(run, a);
    if (delay > 0) a.attemptTimers.push(run.schedule(delay, () => dispatchAttempt(run, a)));
    else dispatchAttempt(run, a);
  }
}
