/**
 * One schedule: its definition, state and the loop that takes its actions. What the real server runs as a per-schedule
 * workflow (service/worker/scheduler) runs here as plain state driven by the server's clock: a timer at the next
 * action time, woken early by a patch, an update, or the close of a workflow it started. Every change goes through
 * `host.changed`, so the state file keeps it in the same write as the runs it started.
 *
 * Behaviour kept from the real scheduler: times are processed from the last processed time to now, so time that
 * passed while the server was down (or jumped under time skipping) is caught up within the catch-up window; a paused
 * schedule skips the time it is paused; buffered starts resolve an unspecified overlap policy when they start; manual
 * actions (trigger, backfill) ignore pause, remaining actions and the catch-up window; scheduled workflow ids are
 * `<workflowId>-<nominal time, RFC 3339, seconds>`; ALLOW_ALL runs are not counted as running.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CancelTimer } from '../time-source';
import type { Duration, Failure, Memo, Message, Payloads, SearchAttributes, StartWorkflowRequest } from '../proto-types';
import { durationFromMs, msFromDuration, timestampFromMs } from '../time-format';
import { decideBuffer, type BufferedStart, type OverlapPolicy } from './overlap';
import { CompiledSpec, type NextTime, type ScheduleSpecMessage } from './spec';

const YEAR_MS = 365 * 24 * 3_600_000;
export const DEFAULT_CATCHUP_WINDOW_MS = YEAR_MS;
export const MIN_CATCHUP_WINDOW_MS = 10_000;
const RECENT_ACTIONS = 10;
const FUTURE_ACTIONS = 10;
const MAX_BUFFER = 1000;
/** Backfilled actions added per step; more follow one second later (ALLOW_ALL) or as the buffer drains. */
const BACKFILLS_PER_STEP = 100;
const REMEMBERED_REQUEST_IDS = 50;

export interface NewWorkflowExecutionInfo {
  workflowId?: string;
  workflowType?: { name?: string };
  taskQueue?: { name?: string; kind?: string };
  input?: Payloads;
  workflowExecutionTimeout?: Duration;
  workflowRunTimeout?: Duration;
  workflowTaskTimeout?: Duration;
  workflowIdReusePolicy?: string;
  retryPolicy?: StartWorkflowRequest['retryPolicy'];
  cronSchedule?: string;
  memo?: Memo;
  searchAttributes?: SearchAttributes;
  header?: Message;
  userMetadata?: Message;
  priority?: Message;
}

export interface SchedulePolicies {
  overlapPolicy: OverlapPolicy;
  catchupWindowMs: number;
  pauseOnFailure: boolean;
  keepOriginalWorkflowId: boolean;
}

export interface ScheduleState {
  notes: string;
  paused: boolean;
  limitedActions: boolean;
  remainingActions: number;
}

export interface RecentAction {
  scheduleTime: number;
  actualTime: number;
  workflowId: string;
  runId: string;
  status: string;
}

/** Everything about a schedule that must survive a restart (JSON, payloads as bytes). */
export interface ScheduleRecord {
  namespace: string;
  scheduleId: string;
  spec: ScheduleSpecMessage;
  action: NewWorkflowExecutionInfo;
  policies: SchedulePolicies;
  state: ScheduleState;
  memo?: Memo;
  searchAttributes?: SearchAttributes;
  info: {
    actionCount: number;
    missedCatchupWindow: number;
    overlapSkipped: number;
    bufferDropped: number;
    runningWorkflows: { workflowId: string; runId: string }[];
    recentActions: RecentAction[];
    createTime: number;
    updateTime?: number;
  };
  /** nominal times up to here are handled */
  lastProcessedMs: number;
  conflictToken: number;
  buffer: BufferedStart[];
  backfills: { startMs: number; endMs: number; overlapPolicy: OverlapPolicy }[];
  lastCompletionResult?: Payloads;
  continuedFailure?: Failure;
  createRequestId?: string;
  requestIds: string[];
}

/** A workflow the schedule started, as the server sees it now. */
export interface WorkflowState {
  /** the status of the last run of its chain (retries and continue-as-new included); undefined if it is gone */
  status?: string;
  result?: Payloads;
  failure?: Failure;
}

/** What a schedule needs from the server. */
export interface ScheduleHost {
  now(): number;
  /** a passive timer: time skipping moves through it, but never jumps to it for its own sake */
  scheduleAt(at: number, fire: () => void): CancelTimer;
  /** starts a workflow (throws a ServiceError when the server refuses) */
  startWorkflow(namespace: string, req: StartWorkflowRequest & { lastCompletionResult?: Payloads; continuedFailure?: Failure }): { runId: string };
  workflowState(namespace: string, workflowId: string, firstRunId: string): WorkflowState;
  cancelWorkflow(namespace: string, workflowId: string, reason: string, identity: string): void;
  terminateWorkflow(namespace: string, workflowId: string, reason: string, identity: string): void;
  /** the search attributes TemporalScheduledStartTime / TemporalScheduledById, encoded */
  scheduledSearchAttributes(namespace: string, nominalMs: number, scheduleId: string): SearchAttributes['indexedFields'];
  /** search attributes as the client sent them, re-encoded with their registered types (for typedSearchAttributes) */
  typedSearchAttributes(namespace: string, attrs: SearchAttributes | undefined): SearchAttributes | undefined;
  changed(schedule: Schedule): void;
  log?: Logger;
}

const RUNNING = 'WORKFLOW_EXECUTION_STATUS_RUNNING';

/** `2026-03-06T12:00:00Z`: Go's RFC 3339 form of a UTC time in whole seconds, as the real server appends it. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export class Schedule {
  compiled: CompiledSpec;
  private timer?: CancelTimer;
  private timerAt?: number;
  private deleted = false;

  constructor(
    readonly record: ScheduleRecord,
    private readonly host: ScheduleHost,
  ) {
    this.compiled = new CompiledSpec(record.spec);
  }

  get id(): string {
    return this.record.scheduleId;
  }

  private get identity(): string {
    return `temporal-scheduler-${this.record.namespace}-${this.record.scheduleId}`;
  }

  private get jitterSeed(): string {
    return `${this.record.namespace}-${this.record.scheduleId}`;
  }

  resolve = (p: OverlapPolicy): OverlapPolicy => {
    const policy = p === 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED' ? this.record.policies.overlapPolicy : p;
    return policy === 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED' ? 'SCHEDULE_OVERLAP_POLICY_SKIP' : policy;
  };

  // ---- the loop -----------------------------------------------------------------------------------------------------

  /** Takes whatever is due now and arms the timer for the next action. */
  process(): void {
    if (this.deleted) return;
    const r = this.record;
    const now = this.host.now();
    this.refreshRunning();
    const pending = this.processScheduledTimes(now);
    this.processBackfills();
    for (let i = 0; i < 20 && this.processBuffer(); i++);
    let wake: number | undefined;
    // Starts that failed to go (the server refused one) leave the rest for another pass.
    if (r.buffer.length > 0 && r.info.runningWorkflows.length === 0) wake = now + 1000;
    else if (r.backfills.length > 0 && this.resolve(r.backfills[0].overlapPolicy) === 'SCHEDULE_OVERLAP_POLICY_ALLOW_ALL') wake = now + 1000;
    else if (pending && this.canTakeScheduledAction()) wake = pending.actual;
    this.arm(wake);
    this.host.changed(this);
  }

  /** Stops the timer (server closing, schedule deleted). */
  stop(deleted = false): void {
    this.deleted ||= deleted;
    this.timer?.();
    this.timer = undefined;
    this.timerAt = undefined;
  }

  /** Runs `process` soon, from a timer, not from inside whatever call noticed the change. */
  wake(): void {
    this.arm(this.host.now());
  }

  private arm(at: number | undefined): void {
    if (this.deleted) return;
    if (at === this.timerAt && this.timer) return;
    this.timer?.();
    this.timer = undefined;
    this.timerAt = at;
    if (at === undefined) return;
    this.timer = this.host.scheduleAt(at, () => {
      this.timer = undefined;
      this.timerAt = undefined;
      try {
        this.process();
      } catch (err) {
        this.host.log?.error({ err, scheduleId: this.id }, 'schedule processing failed');
      }
    });
  }

  private canTakeScheduledAction(): boolean {
    const s = this.record.state;
    return !s.paused && (!s.limitedActions || s.remainingActions > 0);
  }

  /**
   * Adds the spec's times in (lastProcessed, now] to the buffer (or counts them as missed past the catch-up window)
   * and returns the first time not yet due.
   */
  private processScheduledTimes(now: number): NextTime | undefined {
    const r = this.record;
    if (!this.canTakeScheduledAction()) {
      // Time spent paused (or out of actions) is skipped, not caught up later.
      r.lastProcessedMs = Math.max(r.lastProcessedMs, now);
      return this.compiled.next(now, this.jitterSeed);
    }
    let t = this.compiled.next(r.lastProcessedMs, this.jitterSeed);
    for (; t && t.actual <= now; t = this.compiled.next(t.nominal, this.jitterSeed)) {
      if (now - t.actual > r.policies.catchupWindowMs) r.info.missedCatchupWindow++;
      else this.addStart({ nominal: t.nominal, actual: t.actual, overlapPolicy: 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED', manual: false });
      r.lastProcessedMs = t.nominal;
    }
    // A time whose jitter makes it due after now is found again next time.
    r.lastProcessedMs = Math.max(r.lastProcessedMs, t && t.nominal <= now ? t.nominal - 1 : now);
    return t;
  }

  private processBackfills(): void {
    const r = this.record;
    let budget = BACKFILLS_PER_STEP;
    while (r.backfills.length > 0 && budget > 0 && r.buffer.length < MAX_BUFFER / 2) {
      const b = r.backfills[0];
      let t = this.compiled.next(b.startMs, this.jitterSeed);
      for (; t && t.actual <= b.endMs && budget > 0; t = this.compiled.next(t.nominal, this.jitterSeed)) {
        this.addStart({ nominal: t.nominal, actual: t.actual, overlapPolicy: b.overlapPolicy, manual: true });
        b.startMs = t.nominal;
        budget--;
      }
      if (!t || t.actual > b.endMs) r.backfills.shift();
    }
  }

  private addStart(start: BufferedStart): void {
    if (this.record.buffer.length >= MAX_BUFFER) {
      this.record.info.bufferDropped++;
      this.host.log?.warn({ scheduleId: this.id }, 'schedule buffer full; dropped a start');
      return;
    }
    this.record.buffer.push(start);
  }

  /** Starts what the overlap policies allow; true when another pass may start more. */
  private processBuffer(): boolean {
    const r = this.record;
    if (r.buffer.length === 0) return false;
    if (!r.action.workflowType?.name) {
      r.buffer = [];
      return false;
    }
    const decision = decideBuffer(r.buffer, r.info.runningWorkflows.length > 0, this.resolve);
    r.buffer = decision.rest;
    r.info.overlapSkipped += decision.skipped;
    let again = false;
    for (const start of [...decision.overlapping, ...(decision.next ? [decision.next] : [])]) {
      if (!start.manual) {
        // A scheduled start that waited in the buffer while the schedule was paused (or ran out) is dropped.
        if (!this.canTakeScheduledAction()) continue;
        if (r.state.limitedActions) r.state.remainingActions--;
      }
      try {
        this.startWorkflow(start, start === decision.next);
      } catch (err) {
        this.host.log?.warn({ err, scheduleId: this.id }, 'schedule could not start its workflow');
        again = true;
      }
    }
    if (decision.terminateRunning || decision.cancelRunning) {
      const before = r.info.runningWorkflows.length;
      for (const w of [...r.info.runningWorkflows]) {
        try {
          if (decision.terminateRunning) this.host.terminateWorkflow(r.namespace, w.workflowId, 'terminated by schedule overlap policy', this.identity);
          else this.host.cancelWorkflow(r.namespace, w.workflowId, 'cancelled by schedule overlap policy', this.identity);
        } catch (err) {
          this.host.log?.debug({ err, scheduleId: this.id, workflowId: w.workflowId }, 'schedule overlap policy: workflow already closed');
        }
      }
      // A terminated workflow is closed now (the server told `workflowClosed` already), so the waiting start can go.
      this.refreshRunning();
      again ||= r.info.runningWorkflows.length < before;
    }
    return again && r.buffer.length > 0;
  }

  private startWorkflow(start: BufferedStart, tracked: boolean): void {
    const r = this.record;
    const a = r.action;
    const nominalSec = Math.floor(start.nominal / 1000) * 1000;
    const workflowId = r.policies.keepOriginalWorkflowId ? (a.workflowId as string) : `${a.workflowId}-${rfc3339Seconds(nominalSec)}`;
    const allowAll = this.resolve(start.overlapPolicy) === 'SCHEDULE_OVERLAP_POLICY_ALLOW_ALL';
    const { runId } = this.host.startWorkflow(r.namespace, {
      namespace: r.namespace,
      workflowId,
      workflowType: a.workflowType,
      taskQueue: a.taskQueue,
      input: a.input,
      workflowExecutionTimeout: a.workflowExecutionTimeout,
      workflowRunTimeout: a.workflowRunTimeout,
      workflowTaskTimeout: a.workflowTaskTimeout,
      identity: this.identity,
      requestId: randomUUID(),
      // A scheduled time starts once; a manual action may reuse the id of a closed run.
      workflowIdReusePolicy: start.manual ? 'WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE' : 'WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE',
      retryPolicy: a.retryPolicy,
      memo: a.memo,
      searchAttributes: { indexedFields: { ...(a.searchAttributes?.indexedFields ?? {}), ...this.host.scheduledSearchAttributes(r.namespace, nominalSec, r.scheduleId) } },
      header: a.header,
      userMetadata: a.userMetadata,
      lastCompletionResult: allowAll ? undefined : r.lastCompletionResult,
      continuedFailure: allowAll ? undefined : r.continuedFailure,
    });
    r.info.actionCount++;
    r.info.recentActions.push({ scheduleTime: start.actual, actualTime: this.host.now(), workflowId, runId, status: RUNNING });
    if (r.info.recentActions.length > RECENT_ACTIONS) r.info.recentActions.splice(0, r.info.recentActions.length - RECENT_ACTIONS);
    if (tracked) r.info.runningWorkflows.push({ workflowId, runId });
  }

  /** Drops closed workflows from the running list (and applies what their close means), from the server's state. */
  private refreshRunning(): void {
    for (const w of [...this.record.info.runningWorkflows]) {
      const state = this.host.workflowState(this.record.namespace, w.workflowId, w.runId);
      if (state.status !== RUNNING) this.closed(w.workflowId, state);
    }
  }

  /** A workflow this schedule started closed (told by the server, or found at a refresh). */
  workflowClosed(workflowId: string, state: WorkflowState): void {
    if (this.deleted) return;
    this.closed(workflowId, state);
    this.wake();
    this.host.changed(this);
  }

  private closed(workflowId: string, state: WorkflowState): void {
    const r = this.record;
    const wasRunning = r.info.runningWorkflows.some((w) => w.workflowId === workflowId);
    const recent = r.info.recentActions.filter((x) => x.workflowId === workflowId && x.status === RUNNING);
    if (!wasRunning && recent.length === 0) return;
    r.info.runningWorkflows = r.info.runningWorkflows.filter((w) => w.workflowId !== workflowId);
    const status = state.status ?? 'WORKFLOW_EXECUTION_STATUS_COMPLETED';
    for (const x of recent) x.status = status;
    if (wasRunning) {
      if (state.result) {
        r.lastCompletionResult = state.result;
        r.continuedFailure = undefined;
      } else if (state.failure) {
        r.continuedFailure = state.failure;
      }
    }
    const failed = status === 'WORKFLOW_EXECUTION_STATUS_FAILED' || status === 'WORKFLOW_EXECUTION_STATUS_TIMED_OUT';
    if (failed && r.policies.pauseOnFailure && !r.state.paused) {
      r.state.paused = true;
      r.state.notes =
        status === 'WORKFLOW_EXECUTION_STATUS_FAILED'
          ? `paused due to workflow failure: ${workflowId}: ${state.failure?.message ?? ''}`
          : `paused due to workflow timeout: ${workflowId}`;
      r.conflictToken++;
    }
  }

  // ---- requests -----------------------------------------------------------------------------------------------------

  /** Whether a patch or update with this request id was already applied (a client retry). */
  seenRequest(requestId: string | undefined): boolean {
    if (!requestId) return false;
    if (this.record.requestIds.includes(requestId)) return true;
    this.record.requestIds.push(requestId);
    if (this.record.requestIds.length > REMEMBERED_REQUEST_IDS) this.record.requestIds.shift();
    return false;
  }

  trigger(overlapPolicy: OverlapPolicy, scheduledTimeMs?: number): void {
    const at = scheduledTimeMs ?? this.host.now();
    this.addStart({ nominal: at, actual: at, overlapPolicy, manual: true });
  }

  /** Backfill times in [start, end]. */
  backfill(startMs: number, endMs: number, overlapPolicy: OverlapPolicy): void {
    if (this.record.backfills.length >= MAX_BUFFER) {
      this.record.info.bufferDropped++;
      return;
    }
    this.record.backfills.push({ startMs: startMs - 1, endMs, overlapPolicy });
  }

  setPaused(paused: boolean, notes: string): void {
    this.record.state.paused = paused;
    this.record.state.notes = notes;
    this.record.conflictToken++;
  }

  /** Replaces spec, action, policies and state (UpdateSchedule); the compiled spec is checked by the caller. */
  replace(compiled: CompiledSpec, action: NewWorkflowExecutionInfo, policies: SchedulePolicies, state: ScheduleState): void {
    const r = this.record;
    const now = this.host.now();
    this.compiled = compiled;
    r.spec = compiled.canonical;
    r.action = action;
    r.policies = policies;
    r.state = state;
    r.info.updateTime = now;
    // Times before the update belong to the old spec.
    r.lastProcessedMs = Math.max(r.lastProcessedMs, now);
    r.conflictToken++;
  }

  // ---- reads --------------------------------------------------------------------------------------------------------

  futureActionTimes(n: number): number[] {
    const r = this.record;
    const limit = r.state.limitedActions ? Math.min(n, Math.max(0, r.state.remainingActions)) : n;
    const out: number[] = [];
    const after = Math.max(r.lastProcessedMs, r.info.updateTime ?? 0);
    for (let t = this.compiled.next(after, this.jitterSeed); t && out.length < limit; t = this.compiled.next(t.nominal, this.jitterSeed)) out.push(t.actual);
    return out;
  }

  matchingTimes(fromMs: number, toMs: number): number[] {
    return this.compiled.matchingTimes(fromMs, toMs, this.jitterSeed, 1000).map((t) => t.actual);
  }

  /** The recent actions with each workflow's current status. */
  recentActions(n = RECENT_ACTIONS): object[] {
    return this.record.info.recentActions.slice(-n).map((x) => ({
      scheduleTime: timestampFromMs(x.scheduleTime),
      actualTime: timestampFromMs(x.actualTime),
      startWorkflowResult: { workflowId: x.workflowId, runId: x.runId },
      startWorkflowStatus: x.status === RUNNING ? (this.host.workflowState(this.record.namespace, x.workflowId, x.runId).status ?? x.status) : x.status,
    }));
  }

  describe(): object {
    const r = this.record;
    return {
      schedule: {
        spec: r.spec,
        action: { startWorkflow: { ...r.action, searchAttributes: this.host.typedSearchAttributes(r.namespace, r.action.searchAttributes) } },
        policies: {
          overlapPolicy: this.resolve(r.policies.overlapPolicy),
          catchupWindow: durationFromMs(r.policies.catchupWindowMs),
          pauseOnFailure: r.policies.pauseOnFailure,
          keepOriginalWorkflowId: r.policies.keepOriginalWorkflowId,
        },
        state: { notes: r.state.notes, paused: r.state.paused, limitedActions: r.state.limitedActions, remainingActions: r.state.remainingActions },
      },
      info: {
        actionCount: r.info.actionCount,
        missedCatchupWindow: r.info.missedCatchupWindow,
        overlapSkipped: r.info.overlapSkipped,
        bufferDropped: r.info.bufferDropped,
        bufferSize: r.buffer.length,
        runningWorkflows: r.info.runningWorkflows.filter((w) => this.host.workflowState(r.namespace, w.workflowId, w.runId).status === RUNNING),
        recentActions: this.recentActions(),
        futureActionTimes: this.futureActionTimes(FUTURE_ACTIONS).map(timestampFromMs),
        createTime: timestampFromMs(r.info.createTime),
        updateTime: r.info.updateTime === undefined ? undefined : timestampFromMs(r.info.updateTime),
      },
      memo: r.memo,
      searchAttributes: this.host.typedSearchAttributes(r.namespace, r.searchAttributes),
      conflictToken: encodeConflictToken(r.conflictToken),
    };
  }

  listEntry(): object {
    const r = this.record;
    return {
      scheduleId: r.scheduleId,
      memo: r.memo,
      searchAttributes: this.host.typedSearchAttributes(r.namespace, r.searchAttributes),
      info: {
        spec: r.spec,
        workflowType: r.action.workflowType,
        notes: r.state.notes,
        paused: r.state.paused,
        recentActions: this.recentActions(5),
        futureActionTimes: this.futureActionTimes(5).map(timestampFromMs),
      },
    };
  }
}

export function encodeConflictToken(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

export function decodeConflictToken(b: Uint8Array | undefined | null): number | undefined {
  if (!b || b.length === 0) return undefined;
  if (b.length !== 8) return NaN;
  return Number(Buffer.from(b).readBigInt64BE());
}

export function catchupWindowMs(d: Duration | undefined | null): number {
  if (!d) return DEFAULT_CATCHUP_WINDOW_MS;
  return Math.max(MIN_CATCHUP_WINDOW_MS, msFromDuration(d));
}
