/**
 * Mutable state of one workflow run: its history, the workflow task in flight, pending activities, timers, child
 * workflows, updates and queries. Everything that changes a run goes through here so the history rules hold:
 * events that arrive while a workflow task is running are buffered and written after that task's completion, and any
 * new event the workflow must see gets a workflow task scheduled.
 */
import { randomUUID } from 'node:crypto';
import type { CancelTimer, TimeSource } from './time-source';
import type { TaskQueues } from './task-queues';
import type { CompleteRetryPolicy } from './retry-policy';
import { attributesKey, encodePageToken, eventTypeName } from './history';
import { encodeTaskToken } from './task-token';
import { applyWrite, type BufferedWrite } from './buffered-writes';
import { packAny } from './proto';
import type {
  Failure,
  HistoryEvent,
  Memo,
  Message,
  Payloads,
  UpdateOutcome,
  UpdateRequest,
  WorkflowQuery,
} from './proto-types';
import { durationFromMs, timestampFromMs } from './time-format';
import { sameVersion, versionString, type DeploymentVersion } from './worker-deployments';

export type ExecutionStatus = 'Running' | 'Completed' | 'Failed' | 'Canceled' | 'Terminated' | 'ContinuedAsNew' | 'TimedOut';

export const STATUS_ENUM: Record<ExecutionStatus, string> = {
  Running: 'WORKFLOW_EXECUTION_STATUS_RUNNING',
  Completed: 'WORKFLOW_EXECUTION_STATUS_COMPLETED',
  Failed: 'WORKFLOW_EXECUTION_STATUS_FAILED',
  Canceled: 'WORKFLOW_EXECUTION_STATUS_CANCELED',
  Terminated: 'WORKFLOW_EXECUTION_STATUS_TERMINATED',
  ContinuedAsNew: 'WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW',
  TimedOut: 'WORKFLOW_EXECUTION_STATUS_TIMED_OUT',
};

export type PollResponse = Message;

/** Where a run's tasks go under worker versioning (worker-deployments.ts); undefined: unversioned pollers. */
export interface RunRouting {
  workflowTaskVersion(run: WorkflowRun): DeploymentVersion | undefined;
  activityTaskVersion(run: WorkflowRun, taskQueue: string): DeploymentVersion | undefined;
  /** A pinned run whose task queue now targets another version (it may continue-as-new onto it). */
  targetVersionChanged(run: WorkflowRun): boolean;
}

export type VersioningBehavior = 'VERSIONING_BEHAVIOR_PINNED' | 'VERSIONING_BEHAVIOR_AUTO_UPGRADE';

/** A run's worker versioning state, as the real server keeps it in the execution's versioning info. */
export interface RunVersioning {
  /** from the last completed workflow task (or a pinned version inherited at start) */
  behavior?: VersioningBehavior;
  version?: DeploymentVersion;
  /** VersioningOverride of the start request, as sent */
  override?: Message;
  /** The first workflow task goes to the ramping version (continue-as-new with USE_RAMPING_VERSION). */
  firstTaskUsesRamping?: boolean;
  /** An auto-upgrade run whose next task goes to another version than the one it is on. */
  transition?: DeploymentVersion;
}

/** The behavior and version a run's routing follows: a start override wins over what the worker reported. */
export function effectiveVersioning(v: RunVersioning): { behavior?: VersioningBehavior; version?: DeploymentVersion } {
  const o = v.override as { autoUpgrade?: boolean; pinned?: { version?: DeploymentVersion }; behavior?: string; pinnedVersion?: string } | undefined;
  if (o?.pinned?.version?.buildId) return { behavior: 'VERSIONING_BEHAVIOR_PINNED', version: o.pinned.version };
  if (o?.autoUpgrade || o?.behavior === 'VERSIONING_BEHAVIOR_AUTO_UPGRADE') return { behavior: 'VERSIONING_BEHAVIOR_AUTO_UPGRADE', version: v.version };
  return { behavior: v.behavior, version: v.version };
}

/** Matching filter: the poller is of that version (or unversioned, for an unversioned task). */
export const pollerOf = (version: DeploymentVersion | undefined) => (poller: { version?: string }): boolean =>
  (poller.version ?? undefined) === (version ? versionString(version) : undefined);

export interface RunDeps {
  time: TimeSource;
  workflowTasks: TaskQueues<PollResponse>;
  activityTasks: TaskQueues<PollResponse>;
  /** Parent notification, children's parent-close policy, visibility. Called once, after the close event. */
  onClosed(run: WorkflowRun): void;
  /** Events per page in workflow task responses; the rest is fetched with GetWorkflowExecutionHistory. */
  historyPageSize: number;
  /** How long a workflow task may wait on a sticky queue before it goes to the normal queue. */
  stickyScheduleToStartMs?: number;
  /** Told of every change to the run, so a state file can save it before the call that caused it is answered. */
  changed?(run: WorkflowRun): void;
  routing?: RunRouting;
}

/** The real server's defaults for suggesting continue-as-new (workflowInfo().continueAsNewSuggested). */
const SUGGEST_CONTINUE_AS_NEW_EVENTS = 4 * 1024;
const SUGGEST_CONTINUE_AS_NEW_BYTES = 4 * 1024 * 1024;
/** A page of history stays under this, whatever its event count, so large payloads never exceed gRPC limits. */
const MAX_PAGE_BYTES = 2 * 1024 * 1024;

/**
 * The real server slows down a workflow task that keeps failing by lengthening the start-to-close timeout of each
 * attempt after the third (the SDK lets those attempts time out): 5 s, doubling, at most 10 min, with 80-100 %
 * jitter, which is fixed at 90 % here so time skipping stays reproducible. The retry itself is scheduled at once.
 */
const WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT = 4;
const WORKFLOW_TASK_BACKOFF_INITIAL_MS = 5000;
const WORKFLOW_TASK_BACKOFF_MAX_MS = 10 * 60 * 1000;

function workflowTaskTimeoutMs(baseMs: number, attempt: number): number {
  if (attempt < WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT) return baseMs;
  const backoff = Math.min(WORKFLOW_TASK_BACKOFF_INITIAL_MS * 2 ** (attempt - WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT), WORKFLOW_TASK_BACKOFF_MAX_MS);
  return baseMs + Math.round(backoff * 0.9);
}

/** Rough encoded size of an event: what workflowInfo().historySize reports and the size threshold compares. */
function approximateSize(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (Buffer.isBuffer(value)) return value.length + 2;
  if (typeof value === 'string') return value.length + 2;
  if (typeof value !== 'object') return 8;
  let total = 2;
  for (const [k, v] of Object.entries(value)) total += k.length / 4 + approximateSize(v);
  return Math.ceil(total);
}

export interface PendingQuery {
  id: string;
  query: WorkflowQuery;
  resolve(result: { answer?: Payloads; errorMessage?: string; failure?: Failure }): void;
}

export type UpdateStage = 'admitted' | 'sent' | 'accepted' | 'completed';

export interface UpdateState {
  id: string;
  request: UpdateRequest;
  stage: UpdateStage;
  outcome?: UpdateOutcome;
  acceptedEventId?: number;
  /** Woken on every stage change. */
  waiters: Set<() => void>;
  /**
   * Set when the run closed before the workflow accepted the update: 'closing' answers callers NotFound (the
   * workflow ended without it), 'continuing' hands it to the run that continues this one (continue-as-new, retry).
   */
  abandoned?: 'closing' | 'continuing';
}

export interface WorkflowTaskState {
  scheduledEventId: number;
  startedEventId?: number;
  attempt: number;
  /**
   * A retry of a failed task (attempt > 1): its scheduled and started events are handed to the worker but written to
   * history only when it completes, so a task that keeps failing does not grow the history.
   */
  transient: boolean;
  /** Start-to-close timeout of this attempt (longer after the third attempt, see workflowTaskTimeoutMs). */
  timeoutMs: number;
  scheduledTime: number;
  startedTime?: number;
  /** The worker instance (PollRequest.workerInstanceKey) that started it, when it said. */
  startedInstance?: string;
  /** A started transient task's scheduled and started events, as the worker got them; written if it completes. */
  transientEvents?: HistoryEvent[];
  queue: string;
  sticky: boolean;
  queries: PendingQuery[];
  sentUpdates: string[];
  /** Its sticky schedule-to-start timeout while it waits, then its start-to-close timeout. */
  cancelTimer?: CancelTimer;
}

/** What the state file keeps of the workflow task in flight. */
export interface SavedWorkflowTask {
  scheduledEventId: number;
  startedEventId?: number;
  attempt: number;
  scheduledTime: number;
  /** absent in files written before transient tasks: every task's events were written then */
  transient?: boolean;
  timeoutMs?: number;
}

export interface ActivityState {
  scheduledEventId: number;
  activityId: string;
  activityType: Message;
  taskQueue: string;
  header?: Message;
  input?: Payloads;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retryPolicy: CompleteRetryPolicy;
  attempt: number;
  firstScheduledTime: number;
  currentAttemptScheduledTime: number;
  state: 'scheduled' | 'started' | 'backoff';
  /** when the next attempt is dispatched, while in backoff */
  retryTime?: number;
  startedTime?: number;
  startedIdentity?: string;
  requestId?: string;
  lastFailure?: Failure;
  heartbeatDetails?: Payloads;
  lastHeartbeatTime?: number;
  cancelRequested: boolean;
  cancelRequestedEventId?: number;
  /** PauseActivity: no new attempt starts until UnpauseActivity; a running one learns of it from its heartbeat. */
  paused?: boolean;
  /** the PauseActivity request id, so a repeated request is not refused as already paused */
  pauseRequestId?: string;
  /** ResetActivity on a running attempt: its heartbeat tells it so (cleared when the next attempt starts). */
  reset?: boolean;
  /** Timers of the current attempt (schedule-to-start, start-to-close, backoff). */
  attemptTimers: CancelTimer[];
  heartbeatTimer?: CancelTimer;
  scheduleToCloseTimer?: CancelTimer;
}

export interface TimerState {
  timerId: string;
  startedEventId: number;
  /** when it fires, on the server's clock */
  dueTime: number;
  cancel: CancelTimer;
  /** Fired while a workflow task ran: the TimerFired write waits in the buffer and a CancelTimer may still drop it. */
  firedPending?: boolean;
  cancelled?: boolean;
}

export interface ChildState {
  initiatedEventId: number;
  startedEventId?: number;
  namespace: string;
  workflowId: string;
  runId?: string;
  workflowType: Message;
  parentClosePolicy: string;
}

export interface ParentInfo {
  namespace: string;
  workflowId: string;
  runId: string;
  initiatedEventId: number;
}

export interface RunConfig {
  namespace: string;
  workflowId: string;
  runId: string;
  firstExecutionRunId: string;
  workflowType: string;
  taskQueue: string;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  workflowTaskTimeoutMs: number;
  /** absolute virtual time the whole chain must end by, 0 = none */
  executionExpirationTime: number;
  requestId: string;
  parent?: ParentInfo;
  memo?: Memo;
  retryPolicy?: CompleteRetryPolicy;
  attempt: number;
  cronSchedule?: string;
}

export class WorkflowRun {
  readonly history: HistoryEvent[] = [];
  /** Writes deferred while a workflow task runs; each appends its events (ids are given when it runs). */
  private buffered: BufferedWrite[] = [];
  status: ExecutionStatus = 'Running';
  executionTime: number;
  closeTime?: number;
  wt?: WorkflowTaskState;
  /** started event id of the last completed workflow task (the SDK's previousStartedEventId) */
  lastCompletedStartedEventId = 0;
  readonly activities = new Map<number, ActivityState>();
  readonly timers = new Map<string, TimerState>();
  readonly children = new Map<number, ChildState>();
  readonly updates = new Map<string, UpdateState>();
  /** Queries waiting for the in-flight workflow task to finish before they can be dispatched. */
  private queuedQueries: PendingQuery[] = [];
  /**
   * The query-only task handed out (or waiting on the queue) for this run, and the queries waiting for it to be
   * answered: one at a time, since the SDK's worker can drop a second query-only task for a run it is still
   * answering one for (seen right after a continue-as-new), and a query nobody answers holds time skipping.
   */
  private queryTaskOut: string | undefined;
  private queriesWaitingForTask: PendingQuery[] = [];
  readonly signalRequestIds = new Set<string>();
  cancelRequested = false;
  /** Set while a workflow task completion applies its commands: their events go straight into history. */
  completing = false;
  /** A command wrote an event the workflow must react to (e.g. an activity cancelled before it started). */
  needsWorkflowTask = false;
  stickyQueue?: string;
  /** The deployment version of the worker whose sticky queue that is (undefined: an unversioned worker). */
  stickyVersion?: DeploymentVersion;
  versioning: RunVersioning = {};
  /** From the worker's sticky attributes: how long a task may wait there before going to the normal queue. */
  stickyScheduleToStartMs?: number;
  private historyWaiters = new Set<() => void>();
  private runTimers: CancelTimer[] = [];
  private nextTaskId = 1;
  historySizeBytes = 0;
  /** Approximate encoded size of each event, by event id - 1, for paging by size. */
  private readonly eventSizes: number[] = [];
  /** The first workflow task, started for an eager start, until the start response takes it. */
  eagerTask?: PollResponse;
  /** The run that continued this one (continue-as-new, retry), for result() following the chain. */
  nextRunId?: string;
  memo?: Memo;
  /** Decoded custom search attribute values, as visibility queries see them. */
  searchValues: Record<string, unknown> = {};

  constructor(
    readonly config: RunConfig,
    private readonly deps: RunDeps,
    /** given when a run is loaded from the state file */
    readonly startTime: number = deps.time.now(),
  ) {
    this.executionTime = this.startTime;
    this.memo = config.memo;
  }

  /** Tells the state file (if any) that this run changed. */
  touch(): void {
    this.deps.changed?.(this);
  }

  get namespace(): string {
    return this.config.namespace;
  }
  get workflowId(): string {
    return this.config.workflowId;
  }
  get runId(): string {
    return this.config.runId;
  }
  get isOpen(): boolean {
    return this.status === 'Running';
  }
  get lastEventId(): number {
    return this.history.length;
  }
  get execution(): { workflowId: string; runId: string } {
    return { workflowId: this.workflowId, runId: this.runId };
  }
  get workflowTypeMessage(): { name: string } {
    return { name: this.config.workflowType };
  }

  private busyKey(kind: string, id: string | number = ''): string {
    return `${kind}:${this.runId}:${id}`;
  }

  markBusy(kind: string, id: string | number = ''): void {
    this.deps.time.markBusy(this.busyKey(kind, id));
  }

  /** An activity task a worker now runs (TimeSource.markRunning). */
  markRunning(kind: string, id: string | number = ''): void {
    this.deps.time.markRunning(this.busyKey(kind, id));
  }

  markIdle(kind: string, id: string | number = ''): void {
    this.deps.time.markIdle(this.busyKey(kind, id));
  }

  now(): number {
    return this.deps.time.now();
  }

  activityTaskQueues(): TaskQueues<PollResponse> {
    return this.deps.activityTasks;
  }

  /** The version this run's next workflow task goes to. */
  workflowTaskVersion(): DeploymentVersion | undefined {
    return this.deps.routing?.workflowTaskVersion(this);
  }

  /** Matching filter for an activity task of this run on `taskQueue`. */
  activityFilter(taskQueue: string): (poller: { version?: string }) => boolean {
    return (poller) => pollerOf(this.deps.routing?.activityTaskVersion(this, taskQueue))(poller);
  }

  schedule(delayMs: number, fire: () => void): CancelTimer {
    return this.scheduleAt(this.now() + Math.max(0, delayMs), fire);
  }

  /** Whatever a timer of the run does changes the run. */
  scheduleAt(at: number, fire: () => void): CancelTimer {
    return this.deps.time.scheduleAt(at, () => {
      this.touch();
      fire();
    });
  }

  /** Registers a timer that dies with the run (run and execution timeouts). */
  addRunTimer(cancel: CancelTimer): void {
    this.runTimers.push(cancel);
  }

  // ---- history ----------------------------------------------------------------------------------------------------

  /** Appends to history now. Only for events of the run's own making or while no task is in flight; see `record`. */
  append(shortName: string, attributes: object, eventTime = this.now()): HistoryEvent {
    const event = this.newEvent(shortName, attributes, this.history.length + 1, eventTime);
    this.nextTaskId++;
    this.history.push(event);
    this.countSize(approximateSize(attributes) + 24);
    this.touch();
    if (this.historyWaiters.size > 0) {
      const waiters = [...this.historyWaiters];
      this.historyWaiters.clear();
      for (const w of waiters) w();
    }
    return event;
  }

  private newEvent(shortName: string, attributes: object, eventId: number, eventTime: number): HistoryEvent {
    return {
      eventId,
      eventTime: timestampFromMs(eventTime),
      eventType: eventTypeName(shortName),
      taskId: this.nextTaskId,
      [attributesKey(shortName)]: attributes,
    };
  }

  private countSize(size: number): void {
    this.eventSizes.push(size);
    this.historySizeBytes += size;
  }

  /** A run loaded from the state file: its saved history, as written. */
  loadHistory(events: HistoryEvent[]): void {
    for (const event of events) {
      this.history.push(event);
      // Counted as when it was appended (its attributes), so the sizes the worker is told do not jump at a restart.
      const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
      this.countSize(approximateSize(key ? event[key] : undefined) + 24);
    }
    this.nextTaskId = this.history.length + 1;
  }

  /**
   * Writes events that come from outside the workflow (signal, activity result, timer): buffered while a workflow
   * task runs, otherwise written now with a workflow task scheduled so the workflow sees them.
   */
  record(write: BufferedWrite): void {
    if (!this.isOpen) return;
    if (this.wt?.startedEventId !== undefined && !this.completing) {
      this.buffered.push(write);
      this.touch();
      return;
    }
    applyWrite(this, write);
    if (this.completing) this.needsWorkflowTask = true;
    else this.ensureWorkflowTask();
  }

  get hasBufferedEvents(): boolean {
    return this.buffered.length > 0;
  }

  /** What waits in the buffer, for the state file. */
  get bufferedWrites(): readonly BufferedWrite[] {
    return this.buffered;
  }

  /** A run loaded from the state file gets back the writes that waited for its workflow task. */
  restoreBuffered(writes: BufferedWrite[]): void {
    this.buffered = [...writes];
  }

  flushBuffered(): boolean {
    const writes = this.buffered;
    this.buffered = [];
    for (const w of writes) applyWrite(this, w);
    return writes.length > 0;
  }

  /** Resolves at the next appended event (or close); `cancel` lets a long poll give up. */
  waitForEvent(): { promise: Promise<void>; cancel: () => void } {
    let waiter: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      waiter = resolve;
      this.historyWaiters.add(resolve);
    });
    return { promise, cancel: () => (this.historyWaiters.delete(waiter), waiter()) };
  }

  // ---- workflow tasks ---------------------------------------------------------------------------------------------

  ensureWorkflowTask(): void {
    if (this.isOpen && !this.wt) this.scheduleWorkflowTask(1);
  }

  /**
   * Schedules the next workflow task. Attempt 1 is written (WorkflowTaskScheduled) and goes to the sticky worker if
   * there is one; a later attempt retries a failed task and is transient: nothing is written, its id is the one its
   * scheduled event will get, and it always goes to the normal queue (a failure clears stickiness).
   */
  /**
   * `eagerFor`: eager workflow start, the real server's way: the task is not put on the queue but started at once for
   * that worker identity, and handed back (with the start response) instead of to a poller.
   */
  scheduleWorkflowTask(attempt: number, eagerFor?: string): PollResponse | undefined {
    const transient = attempt > 1;
    const target = this.workflowTaskVersion();
    const eff = effectiveVersioning(this.versioning);
    // An auto-upgrade run moving to another version is in transition until a worker of that version completes a task.
    this.versioning.transition = eff.behavior === 'VERSIONING_BEHAVIOR_AUTO_UPGRADE' && target && !sameVersion(target, eff.version) ? target : undefined;
    // A sticky worker gets the task first (unless the task goes to another version than that worker's); if it does
    // not pick it up in time the task times out (schedule-to-start).
    const sticky = !transient && this.stickyQueue !== undefined && sameVersion(this.stickyVersion, target);
    const queue = sticky ? (this.stickyQueue as string) : this.config.taskQueue;
    const timeoutMs = workflowTaskTimeoutMs(this.config.workflowTaskTimeoutMs, attempt);
    const scheduledEventId = transient ? this.lastEventId + 1 : this.append('WorkflowTaskScheduled', this.scheduledAttributes(sticky, timeoutMs, attempt)).eventId;
    const wt: WorkflowTaskState = {
      scheduledEventId,
      attempt,
      transient,
      timeoutMs,
      scheduledTime: this.now(),
      queue,
      sticky,
      queries: [],
      sentUpdates: [],
    };
    this.wt = wt;
    // The attempt count lives in the run's state only (no event says it): save it.
    if (transient) this.touch();
    this.markBusy('wt');
    if (eagerFor !== undefined && !sticky) return this.startWorkflowTask(wt, eagerFor);
    this.dispatchWorkflowTask(wt);
    return undefined;
  }

  private scheduledAttributes(sticky: boolean, timeoutMs: number, attempt: number): object {
    return {
      taskQueue: sticky
        ? { name: this.stickyQueue, kind: 'TASK_QUEUE_KIND_STICKY', normalName: this.config.taskQueue }
        : { name: this.config.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      startToCloseTimeout: durationFromMs(timeoutMs),
      attempt,
    };
  }

  /**
   * A run loaded from the state file gets its workflow task back. One that a worker of the previous process had
   * started is lost with that worker: it times out now (as it would have, the worker being gone) and is retried.
   */
  resumeWorkflowTask(saved: SavedWorkflowTask): void {
    const wt: WorkflowTaskState = {
      scheduledEventId: saved.scheduledEventId,
      startedEventId: saved.startedEventId,
      attempt: saved.attempt,
      transient: saved.transient ?? false,
      timeoutMs: saved.timeoutMs ?? workflowTaskTimeoutMs(this.config.workflowTaskTimeoutMs, saved.attempt),
      scheduledTime: saved.scheduledTime,
      queue: this.config.taskQueue,
      sticky: false,
      queries: [],
      sentUpdates: [],
    };
    this.wt = wt;
    this.markBusy('wt');
    if (wt.startedEventId !== undefined) this.failWorkflowTask('', undefined, '', true);
    else this.dispatchWorkflowTask(wt);
  }

  private dispatchWorkflowTask(wt: WorkflowTaskState): void {
    const queue = wt.queue;
    this.deps.workflowTasks.add(
      this.namespace,
      'workflow',
      queue,
      (poller) => (wt.queue === queue ? this.startWorkflowTask(wt, poller.identity, poller.instanceKey) : undefined),
      () => this.wt !== wt || wt.startedEventId !== undefined || !this.isOpen || wt.queue !== queue,
      // A sticky queue is one worker's; on the normal queue the task waits for a poller of the version it goes to.
      wt.sticky ? undefined : (poller) => pollerOf(this.workflowTaskVersion())(poller),
    );
    if (wt.sticky) {
      // The sticky worker is gone or busy when it does not take the task in time.
      wt.cancelTimer = this.schedule(this.stickyScheduleToStartMs || this.deps.stickyScheduleToStartMs || 5000, () => this.timeOutStickyWorkflowTask(wt));
    }
  }

  /**
   * Nobody took the task from the sticky queue in time. As the real server: WorkflowTaskTimedOut (schedule-to-start),
   * stickiness cleared, a new task (attempt 1, not a retry) on the normal queue, where the worker gets full history.
   */
  private timeOutStickyWorkflowTask(wt: WorkflowTaskState): void {
    if (this.wt !== wt || wt.startedEventId !== undefined || !this.isOpen) return;
    this.append('WorkflowTaskTimedOut', { scheduledEventId: wt.scheduledEventId, startedEventId: 0, timeoutType: 'TIMEOUT_TYPE_SCHEDULE_TO_START' });
    this.finishWorkflowTask();
    this.stickyQueue = undefined;
    this.scheduleWorkflowTask(1);
    this.dispatchQueuedQueries();
  }

  /**
   * Forgets stickiness (the sticky worker shut down, or ResetStickyTaskQueue). A task waiting on the sticky queue
   * goes to the normal queue without an event, as the real server moves a task whose sticky worker is unavailable;
   * its schedule-to-start timeout stays armed, so with no worker at all it still times out as above.
   */
  leaveStickyQueue(): void {
    this.stickyQueue = undefined;
    const wt = this.wt;
    if (!wt || !wt.sticky || wt.startedEventId !== undefined || !this.isOpen) return;
    wt.sticky = false;
    wt.queue = this.config.taskQueue;
    this.dispatchWorkflowTask(wt);
  }

  /** Called by matching when a poller takes the task; undefined if the task went stale meanwhile. */
  private startWorkflowTask(wt: WorkflowTaskState, identity: string, instanceKey?: string): PollResponse | undefined {
    if (this.wt !== wt || wt.startedEventId !== undefined || !this.isOpen) return undefined;
    wt.startedInstance = instanceKey;
    wt.cancelTimer?.();
    if (wt.transient && wt.scheduledEventId !== this.lastEventId + 1) {
      // New events came while this retry waited: as in the real server it becomes a normal task, attempt 1, written.
      wt.transient = false;
      wt.attempt = 1;
      wt.scheduledEventId = this.append('WorkflowTaskScheduled', this.scheduledAttributes(false, wt.timeoutMs, 1)).eventId;
    }
    const requestId = randomUUID();
    const reasons = [
      ...(this.history.length + 1 >= SUGGEST_CONTINUE_AS_NEW_EVENTS ? ['SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS'] : []),
      ...(this.historySizeBytes >= SUGGEST_CONTINUE_AS_NEW_BYTES ? ['SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE'] : []),
    ];
    const startedAttributes = {
      scheduledEventId: wt.scheduledEventId,
      identity,
      requestId,
      historySizeBytes: this.historySizeBytes,
      suggestContinueAsNew: reasons.length > 0,
      suggestContinueAsNewReasons: reasons,
      ...(this.deps.routing?.targetVersionChanged(this) ? { targetWorkerDeploymentVersionChanged: true } : {}),
    };
    // One clock reading: a transient started event written later must carry the time the worker saw.
    const startedTime = this.now();
    let started: HistoryEvent;
    if (wt.transient) {
      // Handed to the worker after the history it gets, written only if this attempt completes.
      started = this.newEvent('WorkflowTaskStarted', startedAttributes, wt.scheduledEventId + 1, startedTime);
      wt.transientEvents = [this.newEvent('WorkflowTaskScheduled', this.scheduledAttributes(false, wt.timeoutMs, wt.attempt), wt.scheduledEventId, wt.scheduledTime), started];
      this.touch();
    } else {
      started = this.append('WorkflowTaskStarted', startedAttributes, startedTime);
    }
    wt.startedEventId = started.eventId;
    wt.startedTime = startedTime;
    wt.cancelTimer = this.schedule(wt.timeoutMs, () => this.timeOutWorkflowTask(wt));
    const messages = [];
    for (const update of this.updates.values()) {
      if (update.stage !== 'admitted') continue;
      update.stage = 'sent';
      wt.sentUpdates.push(update.id);
      messages.push({
        id: `${update.id}/request`,
        protocolInstanceId: update.id,
        eventId: started.eventId - 1,
        body: packAny('temporal.api.update.v1.Request', update.request),
      });
    }
    const queries: Record<string, WorkflowQuery> = {};
    for (const q of wt.queries) if (this.pendingQueryIds.has(q.id)) queries[q.id] = q.query;
    return {
      taskToken: encodeTaskToken({ kind: 'workflow', namespace: this.namespace, runId: this.runId, scheduledEventId: wt.scheduledEventId, attempt: wt.attempt }),
      workflowExecution: this.execution,
      workflowType: this.workflowTypeMessage,
      previousStartedEventId: this.lastCompletedStartedEventId,
      startedEventId: started.eventId,
      attempt: wt.attempt,
      ...this.historyForTask(wt.sticky ? this.lastCompletedStartedEventId + 1 : 1, this.lastEventId, wt.transientEvents),
      workflowExecutionTaskQueue: { name: this.config.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      scheduledTime: timestampFromMs(wt.scheduledTime),
      startedTime: timestampFromMs(wt.startedTime),
      queries,
      messages,
    };
  }

  /**
   * The first page of history for a task, from event `first` to `end`, and a transient task's two events after
   * `end`; the rest is fetched by page token, which carries those two events to the last page.
   */
  historyForTask(first: number, end: number, transient: HistoryEvent[] = []): { history: { events: HistoryEvent[] }; nextPageToken?: Buffer } {
    const last = this.pageEnd(first, end, this.deps.historyPageSize);
    const events = this.history.slice(first - 1, last);
    if (last >= end) return { history: { events: [...events, ...transient] } };
    return { history: { events }, nextPageToken: encodePageToken({ runId: this.runId, next: last + 1, end, transient: transient.length > 0 ? transient : undefined }) };
  }

  /** Last event id of a page starting at `first`: at most `maxEvents` events and MAX_PAGE_BYTES, at least one event. */
  pageEnd(first: number, end: number, maxEvents: number): number {
    let last = first;
    let bytes = this.eventSizes[first - 1] ?? 0;
    while (last < end && last - first + 1 < maxEvents) {
      const next = this.eventSizes[last] ?? 0;
      if (bytes + next > MAX_PAGE_BYTES) break;
      bytes += next;
      last++;
    }
    return Math.min(last, end);
  }

  /** The workflow task is over (completed, failed or timed out): clear it and let queued queries go. */
  finishWorkflowTask(): void {
    const wt = this.wt;
    if (!wt) return;
    wt.cancelTimer?.();
    this.wt = undefined;
    this.markIdle('wt');
    // Updates sent with a task that did not complete are sent again with the next one.
    for (const id of wt.sentUpdates) {
      const u = this.updates.get(id);
      if (u && u.stage === 'sent') u.stage = 'admitted';
    }
    this.queuedQueries.push(...wt.queries.filter((q) => this.pendingQueryIds.has(q.id)));
  }

  /**
   * A started task failed or timed out. As in the real server: the failure is written unless the task was transient
   * (only a first failure is in history), and the next attempt is scheduled at once. It is a retry (attempt + 1,
   * transient) unless the failure cleared stickiness (the worker may just have lost its cache: attempt 1 again, on the
   * normal queue) or events arrived meanwhile (written now; the workflow must see them in a normal task).
   */
  failWorkflowTask(cause: string, failure: Failure | undefined, identity: string, timedOut = false, terminateReason?: string): void {
    const wt = this.wt;
    if (!wt || wt.startedEventId === undefined) return;
    if (wt.transient) {
      this.touch();
    } else if (timedOut) {
      this.append('WorkflowTaskTimedOut', { scheduledEventId: wt.scheduledEventId, startedEventId: wt.startedEventId, timeoutType: 'TIMEOUT_TYPE_START_TO_CLOSE' });
    } else {
      this.append('WorkflowTaskFailed', { scheduledEventId: wt.scheduledEventId, startedEventId: wt.startedEventId, cause, failure, identity });
    }
    this.finishWorkflowTask();
    const wasSticky = this.stickyQueue !== undefined;
    this.stickyQueue = undefined;
    const flushed = this.flushBuffered();
    // The task wrote what cannot be written (over a size limit): the real server ends the workflow instead of retrying.
    if (terminateReason !== undefined) {
      this.close('Terminated', 'WorkflowExecutionTerminated', { reason: terminateReason, identity: 'history-service' }, true);
      return;
    }
    if (this.isOpen) this.scheduleWorkflowTask(flushed || wasSticky ? 1 : wt.attempt + 1);
    this.dispatchQueuedQueries();
  }

  /**
   * A transient task completes: its scheduled and started events go into history as the worker got them (same
   * times, same attributes), ahead of WorkflowTaskCompleted. Nothing else was written while it ran (outside events
   * wait in the buffer), so their ids are the ones the worker saw.
   */
  writeTransientWorkflowTaskEvents(): void {
    const wt = this.wt;
    if (!wt?.transient || !wt.transientEvents) return;
    const [scheduled, started] = wt.transientEvents;
    wt.scheduledEventId = this.append('WorkflowTaskScheduled', scheduled[attributesKey('WorkflowTaskScheduled')] as object, wt.scheduledTime).eventId;
    wt.startedEventId = this.append('WorkflowTaskStarted', started[attributesKey('WorkflowTaskStarted')] as object, wt.startedTime).eventId;
    wt.transient = false;
    wt.transientEvents = undefined;
  }

  private timeOutWorkflowTask(wt: WorkflowTaskState): void {
    if (this.wt !== wt || !this.isOpen) return;
    this.failWorkflowTask('', undefined, '', true);
  }

  // ---- queries ----------------------------------------------------------------------------------------------------

  /**
   * Queries ride on the next workflow task when one is scheduled, wait while one runs (the worker must finish it
   * first), and otherwise go out as a query-only task with the full history.
   */
  addQuery(q: PendingQuery): void {
    this.markBusy('query', q.id);
    if (this.wt && this.wt.startedEventId === undefined && this.isOpen) this.wt.queries.push(q);
    else if (this.wt && this.isOpen) this.queuedQueries.push(q);
    else this.dispatchQueryTask(q);
  }

  removeQuery(id: string): void {
    this.markIdle('query', id);
    this.queuedQueries = this.queuedQueries.filter((q) => q.id !== id);
    this.queriesWaitingForTask = this.queriesWaitingForTask.filter((q) => q.id !== id);
    if (this.wt) this.wt.queries = this.wt.queries.filter((q) => q.id !== id);
    if (this.queryTaskOut === id) {
      this.queryTaskOut = undefined;
      // The waiting queries go out as things are now (one with a workflow task scheduled since rides on that one), the
      // first that needs a query-only task taking the turn.
      const waiting = this.queriesWaitingForTask;
      this.queriesWaitingForTask = [];
      for (const q of waiting) this.addQuery(q);
    }
  }

  dispatchQueuedQueries(): void {
    if (this.queuedQueries.length === 0) return;
    if (this.wt && this.wt.startedEventId !== undefined && this.isOpen) return;
    const queries = this.queuedQueries;
    this.queuedQueries = [];
    for (const q of queries) this.addQuery(q);
  }

  private dispatchQueryTask(q: PendingQuery): void {
    if (this.queryTaskOut !== undefined && this.queryTaskOut !== q.id && this.pendingQueryIds.has(this.queryTaskOut)) {
      this.queriesWaitingForTask.push(q);
      return;
    }
    this.queryTaskOut = q.id;
    let taken = false;
    const isStale = (): boolean => taken || !this.pendingQueryIds.has(q.id);
    this.deps.workflowTasks.add(this.namespace, 'workflow', this.config.taskQueue, () => {
      if (taken || !this.pendingQueryIds.has(q.id)) return undefined;
      taken = true;
      const end = this.lastEventId;
      return {
        taskToken: encodeTaskToken({ kind: 'query', namespace: this.namespace, runId: this.runId, queryId: q.id }),
        workflowExecution: this.execution,
        workflowType: this.workflowTypeMessage,
        previousStartedEventId: this.lastCompletedStartedEventId,
        startedEventId: this.lastCompletedStartedEventId,
        attempt: 1,
        ...this.historyForTask(1, end),
        query: q.query,
        workflowExecutionTaskQueue: { name: this.config.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      };
    }, isStale, (poller) => pollerOf(this.queryVersion())(poller));
  }

  /** A query goes to the version the run is on (a versioned run), else where its next workflow task would go. */
  private queryVersion(): DeploymentVersion | undefined {
    const eff = effectiveVersioning(this.versioning);
    return eff.behavior && eff.version ? eff.version : this.workflowTaskVersion();
  }

  /** Ids of queries still waiting for an answer (maintained by the engine). */
  readonly pendingQueryIds = new Map<string, PendingQuery>();

  // ---- updates ----------------------------------------------------------------------------------------------------

  setUpdateStage(u: UpdateState, stage: UpdateStage): void {
    u.stage = stage;
    if (stage === 'accepted' || stage === 'completed') this.markIdle('update', u.id);
    const waiters = [...u.waiters];
    u.waiters.clear();
    for (const w of waiters) w();
  }

  get hasUndeliveredUpdates(): boolean {
    for (const u of this.updates.values()) if (u.stage === 'admitted') return true;
    return false;
  }

  // ---- closing ----------------------------------------------------------------------------------------------------

  /**
   * Writes the close event and releases everything the run holds. `fromTask` is true when the workflow itself
   * closed (a command of the completing task); otherwise an in-flight task is failed first, as the real server does.
   */
  close(status: ExecutionStatus, shortName: string, attributes: object, fromTask: boolean): HistoryEvent | undefined {
    if (!this.isOpen) return undefined;
    if (!fromTask && this.wt?.startedEventId !== undefined) {
      const wt = this.wt;
      // A transient task's failure is not written, whatever ends it.
      if (!wt.transient) {
        this.append('WorkflowTaskFailed', {
          scheduledEventId: wt.scheduledEventId,
          startedEventId: wt.startedEventId,
          cause: 'WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND',
          identity: '',
        });
      }
      this.finishWorkflowTask();
      this.flushBuffered();
    }
    const event = this.append(shortName, attributes);
    this.status = status;
    this.closeTime = this.now();
    this.buffered = [];
    if (this.wt) this.finishWorkflowTask();
    for (const a of this.activities.values()) {
      for (const c of a.attemptTimers) c();
      a.heartbeatTimer?.();
      a.scheduleToCloseTimer?.();
      this.markIdle('activity', a.scheduledEventId);
    }
    this.activities.clear();
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const c of this.runTimers) c();
    this.runTimers = [];
    for (const u of this.updates.values()) {
      if (u.stage === 'completed') continue;
      if (u.stage === 'accepted') {
        u.outcome = {
          failure: {
            message: 'Workflow Update failed because the Workflow completed before the Update completed.',
            source: 'Server',
            applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
          },
        };
      } else {
        // nextRunId is set before the close event of a run that continues as new (or is retried).
        u.abandoned = this.nextRunId !== undefined ? 'continuing' : 'closing';
        if (u.abandoned === 'continuing') this.updates.delete(u.id);
      }
      this.setUpdateStage(u, 'completed');
      this.markIdle('update', u.id);
    }
    // Query-only tasks still work on a closed run (the worker replays the full history); queued ones go out now.
    this.dispatchQueuedQueries();
    this.deps.onClosed(this);
    return event;
  }
}
