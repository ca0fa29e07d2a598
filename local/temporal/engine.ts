/**
 * The server's state and the operations on it, one method per WorkflowService call (the gRPC layer only decodes,
 * calls and encodes). Runs live in memory; closed runs are dropped after the namespace's retention.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ServiceError, alreadyStarted, invalidArgument, notFound, taskNotFound, workflowClosed, workflowNotFound } from './errors';
import { activityById, activityForToken, cancelledActivity, completeActivity, failActivity, heartbeat } from './activities';
import { attributesOf, decodePageToken, encodePageToken } from './history';
import type { LongPoll } from './long-poll';
import { NamespaceState, Namespaces } from './namespaces';
import type { Failure, HistoryEvent, Message, Payloads, SearchAttributes, StartWorkflowRequest, UpdateRequest, WorkflowExecution, WorkflowQuery } from './proto-types';
import { encodedSearchAttributes, validatedSearchValues } from './visibility-store';
import { completeRetryPolicy, decideRetry, retryPolicyMessage, type CompleteRetryPolicy } from './retry-policy';
import { TaskQueues } from './task-queues';
import { decodeTaskToken } from './task-token';
import type { TimeSource } from './time-source';
import { durationFromMs, msFromDuration, timestampFromMs } from './time-format';
import { completeWorkflowTask, type CompletionHost, type CompletionRequest } from './workflow-task-completion';
import { STATUS_ENUM, WorkflowRun, type ChildState, type ParentInfo, type PendingQuery, type PollResponse, type UpdateState } from './workflow-run';

export interface EngineOptions {
  time: TimeSource;
  retentionMs: number;
  log?: Logger;
  /** Events per page of history handed out with a workflow task. */
  historyPageSize?: number;
}

const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;
export const CRON_UNSUPPORTED = 'cron schedules are not supported by the embedded Temporal server; loop with sleep() and continueAsNew in the workflow, or use a real Temporal service';
const MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000;
const DEFAULT_HISTORY_PAGE_SIZE = 1000;

const UPDATE_STAGES = ['admitted', 'sent', 'accepted', 'completed'] as const;
const STAGE_ENUM: Record<string, string> = {
  admitted: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED',
  sent: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED',
  accepted: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED',
  completed: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED',
};

/** How a new run comes to be, beyond the start request itself. */
interface RunOrigin {
  parent?: ParentInfo;
  continuedFrom?: WorkflowRun;
  initiator?: string;
  continuedFailure?: Failure;
  lastCompletionResult?: Payloads;
  firstWorkflowTaskBackoffMs?: number;
  attempt?: number;
  /** signal-with-start: the signal is written right after WorkflowExecutionStarted */
  signal?: { signalName?: string; input?: Payloads; header?: Message; identity?: string; requestId?: string };
}

export class Engine implements CompletionHost {
  readonly namespaces: Namespaces;
  readonly workflowTasks = new TaskQueues<PollResponse>();
  readonly activityTasks = new TaskQueues<PollResponse>();
  readonly time: TimeSource;
  private readonly log?: Logger;
  private readonly historyPageSize: number;
  private retentionSweep?: NodeJS.Timeout;
  /** Events written since start, for the benchmark's events/second. */
  eventsWritten = 0;

  constructor(opts: EngineOptions) {
    this.time = opts.time;
    this.log = opts.log;
    this.historyPageSize = opts.historyPageSize ?? 256;
    this.namespaces = new Namespaces(opts.retentionMs);
    const sweepEvery = Math.max(50, Math.min(60_000, Math.floor(opts.retentionMs / 4)));
    // Real time, not the virtual clock: dropping old runs must never be a reason to skip time.
    this.retentionSweep = setInterval(() => this.dropExpiredRuns(), sweepEvery);
    this.retentionSweep.unref();
  }

  close(): void {
    if (this.retentionSweep) clearInterval(this.retentionSweep);
    this.workflowTasks.releasePollers();
    this.activityTasks.releasePollers();
  }

  private dropExpiredRuns(): void {
    const now = this.time.now();
    for (const ns of this.namespaces.all()) {
      for (const run of ns.runs.values()) {
        if (run.isOpen || run.closeTime === undefined || run.closeTime + ns.retentionMs > now) continue;
        ns.runs.delete(run.runId);
        if (ns.latestRun.get(run.workflowId) === run) ns.latestRun.delete(run.workflowId);
      }
    }
  }

  // ---- lookup -----------------------------------------------------------------------------------------------------

  findRun(namespace: string | undefined, execution: WorkflowExecution | undefined): WorkflowRun {
    const ns = this.namespaces.get(namespace);
    const workflowId = execution?.workflowId ?? '';
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    const runId = execution?.runId ?? '';
    const run = runId ? ns.runs.get(runId) : ns.latestRun.get(workflowId);
    if (!run || run.workflowId !== workflowId) throw workflowNotFound(workflowId, runId || undefined);
    return run;
  }

  private openRun(namespace: string | undefined, execution: WorkflowExecution | undefined): WorkflowRun {
    const run = this.findRun(namespace, execution);
    if (!run.isOpen) throw workflowClosed();
    return run;
  }

  private runForToken(namespace: string, runId: string): WorkflowRun | undefined {
    return this.namespaces.find(namespace)?.runs.get(runId);
  }

  // ---- starting runs ----------------------------------------------------------------------------------------------

  startWorkflowExecution(req: StartWorkflowRequest): { runId: string; started: boolean; status: string } {
    const ns = this.namespaces.get(req.namespace);
    const { run, started } = this.startRun(ns, req, {});
    return { runId: run.runId, started, status: STATUS_ENUM[run.status] };
  }

  signalWithStartWorkflowExecution(req: StartWorkflowRequest & { signalName?: string; signalInput?: Payloads }): { runId: string; started: boolean } {
    const ns = this.namespaces.get(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    const existing = req.workflowId ? ns.latestRun.get(req.workflowId) : undefined;
    if (existing?.isOpen && req.workflowIdConflictPolicy !== 'WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING') {
      this.signalRun(existing, { signalName: req.signalName, input: req.signalInput, header: req.header, identity: req.identity, requestId: req.requestId });
      return { runId: existing.runId, started: false };
    }
    const { run, started } = this.startRun(ns, { ...req, workflowIdConflictPolicy: req.workflowIdConflictPolicy || 'WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING' }, {
      signal: { signalName: req.signalName, input: req.signalInput, header: req.header, identity: req.identity, requestId: req.requestId },
    });
    return { runId: run.runId, started };
  }

  private validateStart(req: StartWorkflowRequest): void {
    if (!req.workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (!req.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    if (req.workflowId.length > 1000) throw invalidArgument('WorkflowId exceeds length limit.');
    if (req.cronSchedule) throw invalidArgument(CRON_UNSUPPORTED);
    for (const d of [req.workflowExecutionTimeout, req.workflowRunTimeout, req.workflowTaskTimeout]) {
      if (d && (Number(d.seconds ?? 0) < 0 || Number(d.nanos ?? 0) < 0)) throw invalidArgument('Invalid timeout: negative duration.');
    }
  }

  /** Applies the workflow-id reuse and conflict policies and request-id de-duplication, then creates the run. */
  private startRun(ns: NamespaceState, req: StartWorkflowRequest, origin: RunOrigin): { run: WorkflowRun; started: boolean } {
    this.validateStart(req);
    validatedSearchValues(ns, req.searchAttributes);
    const workflowId = req.workflowId as string;
    const latest = ns.latestRun.get(workflowId);
    if (latest) {
      if (req.requestId && latest.config.requestId === req.requestId) return { run: latest, started: true };
      if (latest.isOpen) {
        const conflict = req.workflowIdConflictPolicy;
        if (conflict === 'WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING') {
          if (origin.signal) this.signalRun(latest, origin.signal);
          return { run: latest, started: false };
        }
        if (conflict === 'WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING' || req.workflowIdReusePolicy === 'WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING') {
          this.terminateRun(latest, 'terminated by a new start of the same workflow id', undefined, req.identity ?? '');
        } else {
          throw alreadyStarted(workflowId, latest.runId, latest.config.requestId);
        }
      } else {
        const reuse = req.workflowIdReusePolicy;
        const failedLast = latest.status !== 'Completed';
        if (reuse === 'WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE' || (reuse === 'WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY' && !failedLast)) {
          throw new ServiceError(6, `Workflow execution already finished and Workflow ID reuse policy does not allow it. WorkflowId: ${workflowId}, RunId: ${latest.runId}.`, {
            typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
            value: { startRequestId: latest.config.requestId, runId: latest.runId },
          });
        }
      }
    }
    return { run: this.createRun(ns, req, origin), started: true };
  }

  private createRun(ns: NamespaceState, req: StartWorkflowRequest, origin: RunOrigin): WorkflowRun {
    const searchValues = validatedSearchValues(ns, req.searchAttributes);
    const now = this.time.now();
    const runId = randomUUID();
    const prev = origin.continuedFrom;
    const executionTimeoutMs = prev ? prev.config.executionTimeoutMs : msFromDuration(req.workflowExecutionTimeout);
    const runTimeoutMs = msFromDuration(req.workflowRunTimeout) || executionTimeoutMs;
    const taskTimeoutMs = Math.min(msFromDuration(req.workflowTaskTimeout) || DEFAULT_WORKFLOW_TASK_TIMEOUT_MS, MAX_WORKFLOW_TASK_TIMEOUT_MS);
    const executionExpirationTime = prev ? prev.config.executionExpirationTime : executionTimeoutMs > 0 ? now + executionTimeoutMs : 0;
    const retryPolicy = req.retryPolicy ? completeRetryPolicy(req.retryPolicy) : undefined;
    const run = new WorkflowRun(
      {
        namespace: ns.name,
        workflowId: req.workflowId as string,
        runId,
        firstExecutionRunId: prev ? prev.config.firstExecutionRunId : runId,
        workflowType: req.workflowType?.name as string,
        taskQueue: req.taskQueue?.name as string,
        runTimeoutMs,
        executionTimeoutMs,
        workflowTaskTimeoutMs: taskTimeoutMs,
        executionExpirationTime,
        requestId: req.requestId || randomUUID(),
        parent: origin.parent,
        memo: req.memo,
        searchAttributes: req.searchAttributes,
        retryPolicy,
        attempt: origin.attempt ?? 1,
        cronSchedule: req.cronSchedule,
      },
      {
        time: this.time,
        workflowTasks: this.workflowTasks,
        activityTasks: this.activityTasks,
        onClosed: (r) => this.onRunClosed(r),
        historyPageSize: this.historyPageSize,
      },
    );
    run.searchValues = searchValues;
    ns.runs.set(runId, run);
    ns.latestRun.set(run.workflowId, run);
    const backoffMs = origin.firstWorkflowTaskBackoffMs ?? msFromDuration(req.workflowStartDelay);
    const parentNs = origin.parent ? this.namespaces.find(origin.parent.namespace) : undefined;
    run.append('WorkflowExecutionStarted', {
      workflowType: req.workflowType,
      parentWorkflowNamespace: origin.parent?.namespace,
      parentWorkflowNamespaceId: parentNs?.id,
      parentWorkflowExecution: origin.parent ? { workflowId: origin.parent.workflowId, runId: origin.parent.runId } : undefined,
      parentInitiatedEventId: origin.parent?.initiatedEventId,
      taskQueue: { name: req.taskQueue?.name, kind: 'TASK_QUEUE_KIND_NORMAL' },
      input: req.input,
      workflowExecutionTimeout: durationFromMs(executionTimeoutMs),
      workflowRunTimeout: durationFromMs(runTimeoutMs),
      workflowTaskTimeout: durationFromMs(taskTimeoutMs),
      continuedExecutionRunId: prev?.runId,
      initiator: origin.initiator,
      continuedFailure: origin.continuedFailure,
      lastCompletionResult: origin.lastCompletionResult,
      originalExecutionRunId: runId,
      identity: req.identity,
      firstExecutionRunId: run.config.firstExecutionRunId,
      retryPolicy: retryPolicy ? retryPolicyMessage(retryPolicy) : undefined,
      attempt: run.config.attempt,
      workflowExecutionExpirationTime: executionExpirationTime ? timestampFromMs(executionExpirationTime) : undefined,
      cronSchedule: req.cronSchedule,
      firstWorkflowTaskBackoff: backoffMs ? durationFromMs(backoffMs) : undefined,
      memo: req.memo,
      searchAttributes: req.searchAttributes,
      header: req.header,
      workflowId: req.workflowId,
    });
    if (origin.signal) this.writeSignal(run, origin.signal);
    if (runTimeoutMs > 0) {
      const deadline = executionExpirationTime ? Math.min(now + runTimeoutMs, executionExpirationTime) : now + runTimeoutMs;
      run.addRunTimer(this.time.scheduleAt(deadline, () => this.timeOutRun(run)));
    } else if (executionExpirationTime) {
      run.addRunTimer(this.time.scheduleAt(executionExpirationTime, () => this.timeOutRun(run)));
    }
    if (backoffMs > 0) {
      run.executionTime = now + backoffMs;
      run.addRunTimer(this.time.schedule(backoffMs, () => run.ensureWorkflowTask()));
    } else {
      run.scheduleWorkflowTask(1);
    }
    return run;
  }

  private timeOutRun(run: WorkflowRun): void {
    if (!run.isOpen) return;
    run.close('TimedOut', 'WorkflowExecutionTimedOut', { retryState: 'RETRY_STATE_TIMEOUT' }, false);
  }

  // ---- signals, cancellation, termination -------------------------------------------------------------------------

  private writeSignal(run: WorkflowRun, s: NonNullable<RunOrigin['signal']>, external?: WorkflowExecution): void {
    if (s.requestId) {
      if (run.signalRequestIds.has(s.requestId)) return;
      run.signalRequestIds.add(s.requestId);
    }
    run.append('WorkflowExecutionSignaled', {
      signalName: s.signalName,
      input: s.input,
      identity: s.identity,
      header: s.header,
      externalWorkflowExecution: external,
      requestId: s.requestId,
    });
  }

  private signalRun(run: WorkflowRun, s: NonNullable<RunOrigin['signal']>, external?: WorkflowExecution): void {
    if (s.requestId && run.signalRequestIds.has(s.requestId)) return;
    run.record(() => this.writeSignal(run, s, external));
  }

  signalWorkflowExecution(req: { namespace?: string; workflowExecution?: WorkflowExecution; signalName?: string; input?: Payloads; identity?: string; requestId?: string; header?: Message }): void {
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    const run = this.openRun(req.namespace, req.workflowExecution);
    this.signalRun(run, req);
  }

  requestCancelWorkflowExecution(req: { namespace?: string; workflowExecution?: WorkflowExecution; identity?: string; reason?: string; requestId?: string }): void {
    const run = this.openRun(req.namespace, req.workflowExecution);
    this.cancelRun(run, req.reason ?? '', req.identity ?? '');
  }

  private cancelRun(run: WorkflowRun, cause: string, identity: string, external?: { initiatedEventId: number; execution: WorkflowExecution }): void {
    if (run.cancelRequested) return;
    run.cancelRequested = true;
    run.record(() => {
      run.append('WorkflowExecutionCancelRequested', {
        cause,
        identity,
        externalInitiatedEventId: external?.initiatedEventId,
        externalWorkflowExecution: external?.execution,
      });
    });
  }

  terminateWorkflowExecution(req: { namespace?: string; workflowExecution?: WorkflowExecution; reason?: string; details?: Payloads; identity?: string }): void {
    const run = this.openRun(req.namespace, req.workflowExecution);
    this.terminateRun(run, req.reason ?? '', req.details, req.identity ?? '');
  }

  private terminateRun(run: WorkflowRun, reason: string, details: Payloads | undefined, identity: string): void {
    run.close('Terminated', 'WorkflowExecutionTerminated', { reason, details, identity }, false);
  }

  // ---- closing and the parent/child relation ----------------------------------------------------------------------

  private onRunClosed(run: WorkflowRun): void {
    // Children first: the parent-close policy applies to whatever the run leaves behind.
    for (const child of run.children.values()) {
      const childRun = this.namespaces.find(child.namespace)?.latestRun.get(child.workflowId);
      if (!childRun?.isOpen || childRun.config.parent?.workflowId !== run.workflowId) continue;
      if (child.parentClosePolicy === 'PARENT_CLOSE_POLICY_TERMINATE') this.terminateRun(childRun, 'by parent close policy', undefined, '');
      else if (child.parentClosePolicy === 'PARENT_CLOSE_POLICY_REQUEST_CANCEL') this.cancelRun(childRun, 'by parent close policy', '');
    }
    // A run that continues (continue-as-new, retry) is not the end of the child's chain; the last run reports.
    if (!run.nextRunId) this.notifyParent(run);
  }

  private notifyParent(run: WorkflowRun): void {
    const p = run.config.parent;
    if (!p) return;
    const parent = this.namespaces.find(p.namespace)?.runs.get(p.runId);
    const child = parent?.children.get(p.initiatedEventId);
    if (!parent || !parent.isOpen || !child) return;
    parent.children.delete(p.initiatedEventId);
    const closeEvent = run.history[run.history.length - 1];
    const base = () => ({
      namespace: run.namespace,
      namespaceId: this.namespaces.find(run.namespace)?.id,
      workflowExecution: run.execution,
      workflowType: run.workflowTypeMessage,
      initiatedEventId: p.initiatedEventId,
      startedEventId: child.startedEventId ?? 0,
    });
    parent.record(() => {
      switch (run.status) {
        case 'Completed':
          parent.append('ChildWorkflowExecutionCompleted', { ...base(), result: attributesOf<{ result?: Payloads }>(closeEvent, 'WorkflowExecutionCompleted').result });
          break;
        case 'Failed': {
          const a = attributesOf<{ failure?: Failure; retryState?: string }>(closeEvent, 'WorkflowExecutionFailed');
          parent.append('ChildWorkflowExecutionFailed', { ...base(), failure: a.failure, retryState: a.retryState });
          break;
        }
        case 'Canceled':
          parent.append('ChildWorkflowExecutionCanceled', { ...base(), details: attributesOf<{ details?: Payloads }>(closeEvent, 'WorkflowExecutionCanceled').details });
          break;
        case 'Terminated':
          parent.append('ChildWorkflowExecutionTerminated', base());
          break;
        case 'TimedOut':
          parent.append('ChildWorkflowExecutionTimedOut', { ...base(), retryState: 'RETRY_STATE_TIMEOUT' });
          break;
        default:
          break;
      }
    });
  }

  startChild(parent: WorkflowRun, child: ChildState, attrs: Message): void {
    const a = attrs as StartWorkflowRequest & { workflowIdReusePolicy?: string };
    const ns = this.namespaces.find(child.namespace);
    const fail = (cause: string) =>
      parent.record(() => {
        parent.children.delete(child.initiatedEventId);
        parent.append('StartChildWorkflowExecutionFailed', {
          namespace: child.namespace,
          namespaceId: ns?.id,
          workflowId: child.workflowId,
          workflowType: child.workflowType,
          cause,
          initiatedEventId: child.initiatedEventId,
          workflowTaskCompletedEventId: attributesOf<{ workflowTaskCompletedEventId?: number }>(parent.history[child.initiatedEventId - 1], 'StartChildWorkflowExecutionInitiated').workflowTaskCompletedEventId,
        });
      });
    if (!ns) return fail('START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND');
    let run: WorkflowRun;
    try {
      ({ run } = this.startRun(
        ns,
        { ...a, namespace: ns.name, taskQueue: a.taskQueue?.name ? a.taskQueue : { name: parent.config.taskQueue }, requestId: randomUUID(), workflowIdConflictPolicy: undefined },
        { parent: { namespace: parent.namespace, workflowId: parent.workflowId, runId: parent.runId, initiatedEventId: child.initiatedEventId } },
      ));
    } catch (err) {
      if (err instanceof ServiceError && err.code === 6) return fail('START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS');
      throw err;
    }
    child.runId = run.runId;
    parent.record(() => {
      const started = parent.append('ChildWorkflowExecutionStarted', {
        namespace: child.namespace,
        namespaceId: ns.id,
        initiatedEventId: child.initiatedEventId,
        workflowExecution: run.execution,
        workflowType: child.workflowType,
        header: a.header,
      });
      child.startedEventId = started.eventId;
    });
  }

  signalExternal(run: WorkflowRun, initiatedEventId: number, attrs: Message): void {
    const a = attrs as { namespace?: string; execution?: WorkflowExecution; signalName?: string; input?: Payloads; header?: Message; control?: string; childWorkflowOnly?: boolean };
    const namespace = a.namespace || run.namespace;
    let target: WorkflowRun | undefined;
    try {
      target = this.openRun(namespace, a.execution);
    } catch {
      target = undefined;
    }
    if (target) this.signalRun(target, { signalName: a.signalName, input: a.input, header: a.header, identity: '', requestId: `${run.runId}:${initiatedEventId}` }, run.execution);
    run.record(() => {
      if (target) {
        run.append('ExternalWorkflowExecutionSignaled', { initiatedEventId, namespace, workflowExecution: a.execution, control: a.control });
      } else {
        run.append('SignalExternalWorkflowExecutionFailed', {
          cause: 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          initiatedEventId,
          namespace,
          workflowExecution: a.execution,
          control: a.control,
        });
      }
    });
  }

  cancelExternal(run: WorkflowRun, initiatedEventId: number, attrs: Message): void {
    const a = attrs as { namespace?: string; workflowId?: string; runId?: string; reason?: string };
    const namespace = a.namespace || run.namespace;
    const execution = { workflowId: a.workflowId, runId: a.runId };
    let target: WorkflowRun | undefined;
    try {
      target = this.openRun(namespace, execution);
    } catch {
      target = undefined;
    }
    if (target) this.cancelRun(target, a.reason ?? '', '', { initiatedEventId, execution: run.execution });
    run.record(() => {
      if (target) {
        run.append('ExternalWorkflowExecutionCancelRequested', { initiatedEventId, namespace, workflowExecution: execution });
      } else {
        run.append('RequestCancelExternalWorkflowExecutionFailed', {
          cause: 'CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          initiatedEventId,
          namespace,
          workflowExecution: execution,
        });
      }
    });
  }

  continueAsNew(run: WorkflowRun, attrs: Message, workflowTaskCompletedEventId: number): void {
    const a = attrs as StartWorkflowRequest & { backoffStartInterval?: { seconds?: number; nanos?: number }; initiator?: string; lastCompletionResult?: Payloads; failure?: Failure };
    const ns = this.namespaces.get(run.namespace);
    const workflowType = a.workflowType?.name ? a.workflowType : run.workflowTypeMessage;
    const taskQueue = a.taskQueue?.name ? a.taskQueue : { name: run.config.taskQueue };
    const runTimeout = a.workflowRunTimeout && msFromDuration(a.workflowRunTimeout) ? a.workflowRunTimeout : durationFromMs(run.config.runTimeoutMs);
    const taskTimeout = a.workflowTaskTimeout && msFromDuration(a.workflowTaskTimeout) ? a.workflowTaskTimeout : durationFromMs(run.config.workflowTaskTimeoutMs);
    const backoffMs = msFromDuration(a.backoffStartInterval);
    this.chainNextRun(
      run,
      (newRunId) =>
        run.close(
          'ContinuedAsNew',
          'WorkflowExecutionContinuedAsNew',
          {
            newExecutionRunId: newRunId,
            workflowType,
            taskQueue: { name: taskQueue.name, kind: 'TASK_QUEUE_KIND_NORMAL' },
            input: a.input,
            workflowRunTimeout: runTimeout,
            workflowTaskTimeout: taskTimeout,
            workflowTaskCompletedEventId,
            backoffStartInterval: durationFromMs(backoffMs),
            initiator: a.initiator || 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW',
            lastCompletionResult: a.lastCompletionResult,
            header: a.header,
            memo: a.memo ?? run.memo,
            searchAttributes: a.searchAttributes ?? encodedSearchAttributes(ns, run),
          },
          true,
        ),
      ns,
      {
        namespace: ns.name,
        workflowId: run.workflowId,
        workflowType,
        taskQueue,
        input: a.input,
        workflowRunTimeout: runTimeout,
        workflowTaskTimeout: taskTimeout,
        header: a.header,
        memo: a.memo ?? run.memo,
        searchAttributes: a.searchAttributes ?? encodedSearchAttributes(ns, run),
        retryPolicy: a.retryPolicy ?? (run.config.retryPolicy ? retryPolicyMessage(run.config.retryPolicy) : undefined),
      },
      { initiator: 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW', firstWorkflowTaskBackoffMs: backoffMs, lastCompletionResult: a.lastCompletionResult },
    );
  }

  /** Closes `run` (through `closeWith`, given the new run id) and starts the next run of its chain. */
  private chainNextRun(run: WorkflowRun, closeWith: (newRunId: string) => void, ns: NamespaceState, req: StartWorkflowRequest, origin: RunOrigin): void {
    // The new run's id must be in the close event, so the close is written through a placeholder id swap.
    const placeholder = randomUUID();
    run.nextRunId = placeholder;
    closeWith(placeholder);
    const next = this.createRun(ns, { ...req, requestId: randomUUID() }, { ...origin, parent: run.config.parent, continuedFrom: run });
    // Keep the parent's view pointing at the chain.
    const closeEvent = run.history[run.history.length - 1];
    for (const key of Object.keys(closeEvent)) {
      const attrs = closeEvent[key] as { newExecutionRunId?: string } | undefined;
      if (attrs && typeof attrs === 'object' && attrs.newExecutionRunId === placeholder) attrs.newExecutionRunId = next.runId;
    }
    run.nextRunId = next.runId;
    if (run.config.parent) {
      const parent = this.namespaces.find(run.config.parent.namespace)?.runs.get(run.config.parent.runId);
      const child = parent?.children.get(run.config.parent.initiatedEventId);
      if (child) child.runId = next.runId;
    }
  }

  failWorkflow(run: WorkflowRun, failure: Failure, workflowTaskCompletedEventId: number): void {
    const policy: CompleteRetryPolicy | undefined = run.config.retryPolicy;
    if (!policy) {
      run.close('Failed', 'WorkflowExecutionFailed', { failure, retryState: 'RETRY_STATE_RETRY_POLICY_NOT_SET', workflowTaskCompletedEventId }, true);
      return;
    }
    const decision = decideRetry(policy, run.config.attempt, failure, this.time.now(), run.config.executionExpirationTime || undefined);
    if (!decision.retry) {
      run.close('Failed', 'WorkflowExecutionFailed', { failure, retryState: decision.retryState, workflowTaskCompletedEventId }, true);
      return;
    }
    const ns = this.namespaces.get(run.namespace);
    const started = attributesOf<StartWorkflowRequest & { workflowType?: { name?: string } }>(run.history[0], 'WorkflowExecutionStarted');
    this.chainNextRun(
      run,
      (newRunId) =>
        run.close('Failed', 'WorkflowExecutionFailed', { failure, retryState: 'RETRY_STATE_IN_PROGRESS', workflowTaskCompletedEventId, newExecutionRunId: newRunId }, true),
      ns,
      {
        namespace: ns.name,
        workflowId: run.workflowId,
        workflowType: run.workflowTypeMessage,
        taskQueue: { name: run.config.taskQueue },
        input: started.input,
        workflowRunTimeout: durationFromMs(run.config.runTimeoutMs),
        workflowTaskTimeout: durationFromMs(run.config.workflowTaskTimeoutMs),
        header: started.header,
        memo: run.memo,
        searchAttributes: encodedSearchAttributes(ns, run),
        retryPolicy: retryPolicyMessage(policy),
      },
      { initiator: 'CONTINUE_AS_NEW_INITIATOR_RETRY', continuedFailure: failure, firstWorkflowTaskBackoffMs: decision.delayMs, attempt: run.config.attempt + 1 },
    );
  }

  reportError(err: unknown): void {
    this.log?.error({ err }, 'error applying the effects of a workflow task');
  }

  searchValues(run: WorkflowRun, attrs: SearchAttributes | undefined): Record<string, unknown> {
    return validatedSearchValues(this.namespaces.get(run.namespace), attrs);
  }

  // ---- workflow tasks ---------------------------------------------------------------------------------------------

  async pollWorkflowTaskQueue(req: { namespace?: string; taskQueue?: { name?: string }; identity?: string }, poll: LongPoll): Promise<PollResponse> {
    const ns = this.namespaces.get(req.namespace);
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    const task = await this.workflowTasks.poll(ns.name, 'workflow', req.taskQueue.name, { identity: req.identity ?? '' }, (cancel) => poll.onEnd(cancel));
    return task ?? {};
  }

  respondWorkflowTaskCompleted(req: CompletionRequest & { taskToken?: Buffer; namespace?: string }): object {
    const token = decodeTaskToken(req.taskToken);
    if (token.kind !== 'workflow') throw invalidArgument('not a workflow task token');
    const run = this.runForToken(token.namespace, token.runId);
    if (!run || !run.isOpen) throw workflowClosed();
    const wt = run.wt;
    if (!wt || wt.scheduledEventId !== token.scheduledEventId || wt.attempt !== token.attempt || wt.startedEventId === undefined) throw taskNotFound('Workflow task');
    completeWorkflowTask(this, run, req);
    return {};
  }

  respondWorkflowTaskFailed(req: { taskToken?: Buffer; cause?: string; failure?: Failure; identity?: string }): object {
    const token = decodeTaskToken(req.taskToken);
    if (token.kind !== 'workflow') throw invalidArgument('not a workflow task token');
    const run = this.runForToken(token.namespace, token.runId);
    if (!run || !run.isOpen) throw workflowClosed();
    const wt = run.wt;
    if (!wt || wt.scheduledEventId !== token.scheduledEventId || wt.attempt !== token.attempt || wt.startedEventId === undefined) throw taskNotFound('Workflow task');
    run.failWorkflowTask(req.cause || 'WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED', req.failure, req.identity ?? '');
    return {};
  }

  /** A worker going away: its sticky queue will not be polled again, so its tasks go to the normal queue. */
  shutdownWorker(req: { namespace?: string; stickyTaskQueue?: string }): object {
    const ns = this.namespaces.find(req.namespace ?? '');
    const sticky = req.stickyTaskQueue;
    if (!ns || !sticky) return {};
    this.workflowTasks.releasePollers(ns.name, 'workflow', sticky);
    for (const run of ns.runs.values()) {
      if (run.stickyQueue === sticky) run.leaveStickyQueue();
    }
    return {};
  }

  // ---- activity tasks ---------------------------------------------------------------------------------------------

  async pollActivityTaskQueue(req: { namespace?: string; taskQueue?: { name?: string }; identity?: string }, poll: LongPoll): Promise<PollResponse> {
    const ns = this.namespaces.get(req.namespace);
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    const task = await this.activityTasks.poll(ns.name, 'activity', req.taskQueue.name, { identity: req.identity ?? '' }, (cancel) => poll.onEnd(cancel));
    return task ?? {};
  }

  private activityFromToken(taskToken: Buffer | undefined): { run: WorkflowRun; a: NonNullable<ReturnType<typeof activityForToken>> } {
    const token = decodeTaskToken(taskToken);
    if (token.kind !== 'activity') throw invalidArgument('not an activity task token');
    const run = this.runForToken(token.namespace, token.runId);
    if (!run || !run.isOpen) throw workflowClosed();
    const a = activityForToken(run, token.scheduledEventId, token.attempt);
    if (!a) throw taskNotFound('Activity task');
    return { run, a };
  }

  private activityFromId(req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string }): { run: WorkflowRun; a: NonNullable<ReturnType<typeof activityForToken>> } {
    const run = this.openRun(req.namespace, { workflowId: req.workflowId, runId: req.runId });
    const a = activityById(run, req.activityId ?? '');
    if (!a || a.state !== 'started') throw taskNotFound('Activity task');
    return { run, a };
  }

  recordActivityTaskHeartbeat(req: { taskToken?: Buffer; details?: Payloads }): object {
    const { run, a } = this.activityFromToken(req.taskToken);
    return { cancelRequested: heartbeat(run, a, req.details) };
  }

  recordActivityTaskHeartbeatById(req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; details?: Payloads }): object {
    const { run, a } = this.activityFromId(req);
    return { cancelRequested: heartbeat(run, a, req.details) };
  }

  respondActivityTaskCompleted(req: { taskToken?: Buffer; result?: Payloads; identity?: string }): object {
    const { run, a } = this.activityFromToken(req.taskToken);
    completeActivity(run, a, req.result, req.identity ?? '');
    return {};
  }

  respondActivityTaskCompletedById(req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; result?: Payloads; identity?: string }): object {
    const { run, a } = this.activityFromId(req);
    completeActivity(run, a, req.result, req.identity ?? '');
    return {};
  }

  respondActivityTaskFailed(req: { taskToken?: Buffer; failure?: Failure; identity?: string; lastHeartbeatDetails?: Payloads }): object {
    const { run, a } = this.activityFromToken(req.taskToken);
    failActivity(run, a, req.failure ?? { message: 'activity failed' }, req.identity ?? '', req.lastHeartbeatDetails);
    return {};
  }

  respondActivityTaskFailedById(req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; failure?: Failure; identity?: string; lastHeartbeatDetails?: Payloads }): object {
    const { run, a } = this.activityFromId(req);
    failActivity(run, a, req.failure ?? { message: 'activity failed' }, req.identity ?? '', req.lastHeartbeatDetails);
    return {};
  }

  respondActivityTaskCanceled(req: { taskToken?: Buffer; details?: Payloads; identity?: string }): object {
    const { run, a } = this.activityFromToken(req.taskToken);
    cancelledActivity(run, a, req.details, req.identity ?? '');
    return {};
  }

  respondActivityTaskCanceledById(req: { namespace?: string; workflowId?: string; runId?: string; activityId?: string; details?: Payloads; identity?: string }): object {
    const { run, a } = this.activityFromId(req);
    cancelledActivity(run, a, req.details, req.identity ?? '');
    return {};
  }

  // ---- queries ----------------------------------------------------------------------------------------------------

  async queryWorkflow(req: { namespace?: string; execution?: WorkflowExecution; query?: WorkflowQuery; queryRejectCondition?: string }, poll: LongPoll): Promise<object> {
    const run = this.findRun(req.namespace, req.execution);
    if (!req.query?.queryType) throw invalidArgument('QueryType is not set on request.');
    const cond = req.queryRejectCondition;
    if ((cond === 'QUERY_REJECT_CONDITION_NOT_OPEN' && !run.isOpen) || (cond === 'QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY' && !run.isOpen && run.status !== 'Completed')) {
      return { queryRejected: { status: STATUS_ENUM[run.status] } };
    }
    const id = randomUUID();
    const result = await new Promise<{ answer?: Payloads; errorMessage?: string; failure?: Failure } | undefined>((resolve) => {
      const q: PendingQuery = { id, query: req.query as WorkflowQuery, resolve };
      run.pendingQueryIds.set(id, q);
      run.addQuery(q);
      poll.onEnd(() => resolve(undefined));
    });
    run.pendingQueryIds.delete(id);
    run.removeQuery(id);
    if (!result) throw new ServiceError(4, 'query timed out before a worker answered it');
    if (result.errorMessage !== undefined || result.failure) {
      throw new ServiceError(3, result.errorMessage || result.failure?.message || 'query failed', {
        typeName: 'temporal.api.errordetails.v1.QueryFailedFailure',
        value: { failure: result.failure },
      });
    }
    return { queryResult: result.answer };
  }

  respondQueryTaskCompleted(req: { taskToken?: Buffer; completedType?: string; queryResult?: Payloads; errorMessage?: string; failure?: Failure }): object {
    const token = decodeTaskToken(req.taskToken);
    if (token.kind !== 'query') throw invalidArgument('not a query task token');
    const run = this.runForToken(token.namespace, token.runId);
    const q = run?.pendingQueryIds.get(token.queryId);
    if (!run || !q) throw taskNotFound('Query');
    run.pendingQueryIds.delete(token.queryId);
    run.removeQuery(token.queryId);
    if (req.completedType === 'QUERY_RESULT_TYPE_ANSWERED') q.resolve({ answer: req.queryResult });
    else q.resolve({ errorMessage: req.errorMessage || req.failure?.message || 'query failed', failure: req.failure });
    return {};
  }

  // ---- updates ----------------------------------------------------------------------------------------------------

  async updateWorkflowExecution(req: { namespace?: string; workflowExecution?: WorkflowExecution; firstExecutionRunId?: string; waitPolicy?: { lifecycleStage?: string }; request?: UpdateRequest }, poll: LongPoll): Promise<object> {
    const updateId = req.request?.meta?.updateId;
    if (!updateId) throw invalidArgument('Update ID is not set on request.');
    if (!req.request?.input?.name) throw invalidArgument('Update name is not set on request.');
    const run = this.findRun(req.namespace, req.workflowExecution);
    let update = run.updates.get(updateId);
    if (!update) {
      if (!run.isOpen) throw workflowClosed();
      update = { id: updateId, request: req.request, stage: 'admitted', waiters: new Set() };
      run.updates.set(updateId, update);
      run.markBusy('update', updateId);
      // A running task cannot take the update; it goes with the next one, scheduled when that task completes.
      if (!run.wt) run.scheduleWorkflowTask(1);
    }
    return this.waitForUpdate(run, update, req.waitPolicy?.lifecycleStage, poll);
  }

  async pollWorkflowExecutionUpdate(req: { namespace?: string; updateRef?: { workflowExecution?: WorkflowExecution; updateId?: string }; waitPolicy?: { lifecycleStage?: string } }, poll: LongPoll): Promise<object> {
    const run = this.findRun(req.namespace, req.updateRef?.workflowExecution);
    const update = run.updates.get(req.updateRef?.updateId ?? '');
    if (!update) throw notFound(`update ${req.updateRef?.updateId} not found`);
    return this.waitForUpdate(run, update, req.waitPolicy?.lifecycleStage, poll);
  }

  private async waitForUpdate(run: WorkflowRun, update: UpdateState, stage: string | undefined, poll: LongPoll): Promise<object> {
    const wanted = stage === 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED' ? 3 : stage === 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED' ? 0 : 2;
    while (UPDATE_STAGES.indexOf(update.stage) < wanted && !poll.isEnded) {
      await new Promise<void>((resolve) => {
        update.waiters.add(resolve);
        poll.onEnd(resolve);
      });
    }
    if (update.abandoned) throw workflowClosed();
    return {
      updateRef: { workflowExecution: run.execution, updateId: update.id },
      outcome: update.stage === 'completed' ? update.outcome : undefined,
      stage: STAGE_ENUM[update.stage],
    };
  }

  // ---- history and description ------------------------------------------------------------------------------------

  async getWorkflowExecutionHistory(
    req: { namespace?: string; execution?: WorkflowExecution; maximumPageSize?: number; nextPageToken?: Buffer; waitNewEvent?: boolean; historyEventFilterType?: string },
    poll: LongPoll,
  ): Promise<object> {
    const run = this.findRun(req.namespace, req.execution);
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : DEFAULT_HISTORY_PAGE_SIZE;
    const closeOnly = req.historyEventFilterType === 'HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT';
    const decoded = decodePageToken(req.nextPageToken);
    const token = decoded && decoded.runId === run.runId ? decoded : undefined;
    if (closeOnly) {
      while (run.isOpen && req.waitNewEvent && !poll.isEnded) await this.waitForHistory(run, poll);
      if (run.isOpen) return { history: { events: [] }, nextPageToken: encodePageToken({ runId: run.runId, next: run.lastEventId + 1 }) };
      return { history: { events: [run.history[run.history.length - 1]] } };
    }
    const next = token?.next ?? 1;
    if (req.waitNewEvent) {
      while (run.isOpen && next > run.lastEventId && !poll.isEnded) await this.waitForHistory(run, poll);
    }
    const end = Math.min(token?.end ?? run.lastEventId, run.lastEventId);
    const last = Math.min(end, next + pageSize - 1);
    const events: HistoryEvent[] = run.history.slice(next - 1, last);
    let nextPageToken: Buffer | undefined;
    if (last < end) nextPageToken = encodePageToken({ runId: run.runId, next: last + 1, end: token?.end });
    else if (req.waitNewEvent && run.isOpen) nextPageToken = encodePageToken({ runId: run.runId, next: last + 1 });
    return { history: { events }, nextPageToken };
  }

  private async waitForHistory(run: WorkflowRun, poll: LongPoll): Promise<void> {
    const w = run.waitForEvent();
    poll.onEnd(w.cancel);
    await w.promise;
  }

  getWorkflowExecutionHistoryReverse(req: { namespace?: string; execution?: WorkflowExecution; maximumPageSize?: number; nextPageToken?: Buffer }): object {
    const run = this.findRun(req.namespace, req.execution);
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : DEFAULT_HISTORY_PAGE_SIZE;
    const decoded = decodePageToken(req.nextPageToken);
    const from = decoded && decoded.runId === run.runId ? decoded.next : run.lastEventId;
    const to = Math.max(1, from - pageSize + 1);
    const events = run.history.slice(to - 1, from).reverse();
    return { history: { events }, nextPageToken: to > 1 ? encodePageToken({ runId: run.runId, next: to - 1 }) : undefined };
  }

  describeWorkflowExecution(req: { namespace?: string; execution?: WorkflowExecution }): object {
    const run = this.findRun(req.namespace, req.execution);
    const ns = this.namespaces.get(req.namespace);
    const parent = run.config.parent;
    return {
      executionConfig: {
        taskQueue: { name: run.config.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
        workflowExecutionTimeout: durationFromMs(run.config.executionTimeoutMs),
        workflowRunTimeout: durationFromMs(run.config.runTimeoutMs),
        defaultWorkflowTaskTimeout: durationFromMs(run.config.workflowTaskTimeoutMs),
      },
      workflowExecutionInfo: {
        execution: run.execution,
        type: run.workflowTypeMessage,
        startTime: timestampFromMs(run.startTime),
        closeTime: run.closeTime !== undefined ? timestampFromMs(run.closeTime) : undefined,
        status: STATUS_ENUM[run.status],
        historyLength: run.lastEventId,
        parentNamespaceId: parent ? this.namespaces.find(parent.namespace)?.id : undefined,
        parentExecution: parent ? { workflowId: parent.workflowId, runId: parent.runId } : undefined,
        executionTime: timestampFromMs(run.executionTime),
        memo: run.memo,
        searchAttributes: encodedSearchAttributes(ns, run),
        taskQueue: run.config.taskQueue,
        stateTransitionCount: run.lastEventId,
        historySizeBytes: run.lastEventId * 200,
        executionDuration: run.closeTime !== undefined ? durationFromMs(run.closeTime - run.startTime) : undefined,
        rootExecution: parent ? undefined : run.execution,
        firstRunId: run.config.firstExecutionRunId,
      },
      pendingActivities: [...run.activities.values()].map((a) => ({
        activityId: a.activityId,
        activityType: a.activityType,
        state: a.cancelRequested ? 'PENDING_ACTIVITY_STATE_CANCEL_REQUESTED' : a.state === 'started' ? 'PENDING_ACTIVITY_STATE_STARTED' : 'PENDING_ACTIVITY_STATE_SCHEDULED',
        heartbeatDetails: a.heartbeatDetails,
        lastHeartbeatTime: a.lastHeartbeatTime !== undefined ? timestampFromMs(a.lastHeartbeatTime) : undefined,
        lastStartedTime: a.startedTime !== undefined ? timestampFromMs(a.startedTime) : undefined,
        attempt: a.attempt,
        maximumAttempts: a.retryPolicy.maximumAttempts,
        scheduledTime: timestampFromMs(a.currentAttemptScheduledTime),
        expirationTime: a.scheduleToCloseMs > 0 ? timestampFromMs(a.firstScheduledTime + a.scheduleToCloseMs) : undefined,
        lastFailure: a.lastFailure,
        lastWorkerIdentity: a.startedIdentity,
      })),
      pendingChildren: [...run.children.values()].map((c) => ({
        workflowId: c.workflowId,
        runId: c.runId,
        workflowTypeName: (c.workflowType as { name?: string }).name,
        initiatedId: c.initiatedEventId,
        parentClosePolicy: c.parentClosePolicy,
      })),
      pendingWorkflowTask: run.wt
        ? {
            state: run.wt.startedEventId !== undefined ? 'PENDING_WORKFLOW_TASK_STATE_STARTED' : 'PENDING_WORKFLOW_TASK_STATE_SCHEDULED',
            scheduledTime: timestampFromMs(run.wt.scheduledTime),
            originalScheduledTime: timestampFromMs(run.wt.scheduledTime),
            startedTime: run.wt.startedTime !== undefined ? timestampFromMs(run.wt.startedTime) : undefined,
            attempt: run.wt.attempt,
          }
        : undefined,
      workflowExtendedInfo: { originalStartTime: timestampFromMs(run.startTime) },
      namespaceId: ns.id,
    };
  }
}
