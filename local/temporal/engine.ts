/**
 * The server's state: namespaces and their runs, task queues, the clock. Here are the operations that create,
 * signal, cancel and close runs and tie runs together (children, continue-as-new, retries); worker calls are in
 * task-handlers.ts, queries and updates in queries-and-updates.ts, reads in history-reads.ts. Runs live in memory
 * (and, with a state file, are saved through `onRunChanged` and loaded through addLoadedRun / resumeLoadedRun);
 * closed runs are dropped after the namespace's retention.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ServiceError, alreadyStarted, invalidArgument, workflowClosed, workflowNotFound } from './errors';
import { applyWrite, type BufferedWrite } from './buffered-writes';
import { attributesOf } from './history';
import { resetPoint } from './reset';
import { NamespaceState, Namespaces } from './namespaces';
import type { Failure, HistoryEvent, Message, Payloads, SearchAttributes, StartWorkflowRequest, WorkflowExecution } from './proto-types';
import { encodedSearchAttributes, validatedSearchValues, withTypeMetadata } from './visibility-store';
import { completeRetryPolicy, decideRetry, retryPolicyMessage, type CompleteRetryPolicy } from './retry-policy';
import { TaskQueues } from './task-queues';
import { DEFAULT_BLOB_LIMITS, type BlobLimits } from './blob-limits';
import type { TimeSource } from './time-source';
import { durationFromMs, msFromDuration, timeoutFromMs, timestampFromMs } from './time-format';
import type { CompletionHost } from './workflow-task-completion';
import { STATUS_ENUM, WorkflowRun, effectiveVersioning, type ChildState, type ParentInfo, type PollResponse, type RunConfig, type RunDeps, type RunRouting, type RunVersioning } from './workflow-run';
import { WorkerDeployments, sameVersion, type DeploymentVersion } from './worker-deployments';

export interface EngineOptions {
  time: TimeSource;
  retentionMs: number;
  log?: Logger;
  /** Events per page of history handed out with a workflow task. */
  historyPageSize?: number;
  /** Size limits on what workflow tasks write; default the real server's. */
  blobLimits?: Partial<BlobLimits>;
}

const DEFAULT_WORKFLOW_TASK_TIMEOUT_MS = 10_000;
const CRON_UNSUPPORTED = 'cron schedules are not supported by the embedded Temporal server; create a Temporal Schedule (client.schedule.create) instead, or loop with sleep() and continueAsNew in the workflow';
const MAX_WORKFLOW_TASK_TIMEOUT_MS = 120_000;

/** How a new run comes to be, beyond the start request itself. */
interface RunOrigin {
  parent?: ParentInfo;
  /** eager workflow start: the identity of the worker that takes the first task with the start response */
  eagerFor?: string;
  continuedFrom?: WorkflowRun;
  initiator?: string;
  continuedFailure?: Failure;
  lastCompletionResult?: Payloads;
  firstWorkflowTaskBackoffMs?: number;
  attempt?: number;
  /** worker versioning the new run starts with (continue-as-new of a pinned run, its initial behavior) */
  versioning?: RunVersioning;
  /** signal-with-start: the signal is written right after WorkflowExecutionStarted */
  signal?: { signalName?: string; input?: Payloads; header?: Message; identity?: string; requestId?: string };
}

/** The root execution its WorkflowExecutionStarted names (unset for a top-level run). */
export function rootOf(run: WorkflowRun): WorkflowExecution | undefined {
  const first = run.history[0];
  return first ? attributesOf<{ rootWorkflowExecution?: WorkflowExecution }>(first, 'WorkflowExecutionStarted').rootWorkflowExecution : undefined;
}

/** Names (namespace-scoped) a worker gave up in ShutdownWorker; bounded, the oldest forgotten first. */
export class ShutDownWorkers {
  private readonly names = new Set<string>();
  constructor(private readonly max = 4096) {}

  private key(namespace: string, kind: 'instance' | 'sticky', name: string): string {
    return `${namespace}\u0000${kind}\u0000${name}`;
  }

  add(namespace: string, kind: 'instance' | 'sticky', name: string): void {
    if (!name) return;
    const k = this.key(namespace, kind, name);
    this.names.delete(k);
    this.names.add(k);
    if (this.names.size > this.max) this.names.delete(this.names.values().next().value as string);
  }

  has(namespace: string, kind: 'instance' | 'sticky', name: string | undefined): boolean {
    return !!name && this.names.has(this.key(namespace, kind, name));
  }
}

export class Engine implements CompletionHost {
  readonly namespaces: Namespaces;
  readonly workflowTasks = new TaskQueues<PollResponse>(() => this.time.now());
  readonly activityTasks = new TaskQueues<PollResponse>(() => this.time.now());
  readonly time: TimeSource;
  readonly blobLimits: BlobLimits;
  /** Worker instances and sticky queues ShutdownWorker named: what they poll after it, and stickiness to them, go nowhere. */
  readonly shutDownWorkers = new ShutDownWorkers();
  /** Told of every change to a run (the state file, when there is one). */
  onRunChanged?: (run: WorkflowRun) => void;
  /** Told of every run that closed, after its parent (schedules watch the workflows they started). */
  afterRunClosed?: (run: WorkflowRun) => void;
  /** ResetWorkflowExecution request ids (namespace/workflow id/request id) and the run each made */
  private readonly resetRequests = new Map<string, string>();
  readonly deployments = new WorkerDeployments({
    now: () => this.time.now(),
    routingChanged: (namespace) => {
      this.workflowTasks.rematch(namespace);
      this.activityTasks.rematch(namespace);
    },
    hasOpenPinned: (namespace, version) => {
      for (const run of this.namespaces.find(namespace)?.runs.values() ?? []) {
        const eff = effectiveVersioning(run.versioning);
        if (run.isOpen && eff.behavior === 'VERSIONING_BEHAVIOR_PINNED' && sameVersion(eff.version, version)) return true;
      }
      return false;
    },
  });
  private readonly routing: RunRouting = {
    workflowTaskVersion: (run) => {
      const eff = effectiveVersioning(run.versioning);
      if (eff.behavior === 'VERSIONING_BEHAVIOR_PINNED' && eff.version) return eff.version;
      return this.deployments.targetFor(run.namespace, run.config.taskQueue, 'TASK_QUEUE_TYPE_WORKFLOW', run.workflowId, run.versioning.firstTaskUsesRamping);
    },
    activityTaskVersion: (run, taskQueue) => {
      const eff = effectiveVersioning(run.versioning);
      if (eff.behavior === 'VERSIONING_BEHAVIOR_PINNED' && eff.version && this.deployments.hasTaskQueue(run.namespace, eff.version, taskQueue, 'TASK_QUEUE_TYPE_ACTIVITY')) return eff.version;
      return this.deployments.targetFor(run.namespace, taskQueue, 'TASK_QUEUE_TYPE_ACTIVITY', run.workflowId);
    },
    targetVersionChanged: (run) => {
      const eff = effectiveVersioning(run.versioning);
      if (eff.behavior !== 'VERSIONING_BEHAVIOR_PINNED' || !eff.version) return false;
      const target = this.deployments.targetFor(run.namespace, run.config.taskQueue, 'TASK_QUEUE_TYPE_WORKFLOW', run.workflowId);
      return target !== undefined && !sameVersion(target, eff.version);
    },
  };
  private readonly log?: Logger;
  private readonly historyPageSize: number;
  private retentionSweep?: NodeJS.Timeout;

  constructor(opts: EngineOptions) {
    this.time = opts.time;
    this.log = opts.log;
    this.historyPageSize = opts.historyPageSize ?? 256;
    this.blobLimits = { ...DEFAULT_BLOB_LIMITS, ...opts.blobLimits };
    this.namespaces = new Namespaces(opts.retentionMs, this.blobLimits);
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
    this.workflowTasks.prune();
    this.activityTasks.prune();
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

  openRun(namespace: string | undefined, execution: WorkflowExecution | undefined): WorkflowRun {
    const run = this.findRun(namespace, execution);
    if (!run.isOpen) throw workflowClosed();
    return run;
  }

  runForToken(namespace: string, runId: string): WorkflowRun | undefined {
    return this.namespaces.find(namespace)?.runs.get(runId);
  }

  // ---- starting runs ----------------------------------------------------------------------------------------------

  startWorkflowExecution(req: StartWorkflowRequest & { requestEagerExecution?: boolean }): { runId: string; started: boolean; status: string } {
    const ns = this.namespaces.get(req.namespace);
    // A schedule hands its last run's result (or failure) to the next one, as the real scheduler does.
    // Eager start (the dev server enables it): the new run's first task goes back with the response to the worker
    // that shares the client's connection; a start with a delay, or one that found a run already there, is not eager.
    const eagerFor = req.requestEagerExecution ? (req.identity ?? '') : undefined;
    const { run, started } = this.startRun(ns, req, { lastCompletionResult: req.lastCompletionResult, continuedFailure: req.continuedFailure, eagerFor });
    const eagerWorkflowTask = started ? run.eagerTask : undefined;
    run.eagerTask = undefined;
    return { runId: run.runId, started, status: STATUS_ENUM[run.status], ...(eagerWorkflowTask ? { eagerWorkflowTask } : {}) };
  }

  signalWithStartWorkflowExecution(req: StartWorkflowRequest & { signalName?: string; signalInput?: Payloads }): { runId: string; started: boolean } {
    const ns = this.namespaces.get(req.namespace);
    if (!req.signalName) throw invalidArgument('SignalName is not set on request.');
    const signal = { signalName: req.signalName, input: req.signalInput, header: req.header, identity: req.identity, requestId: req.requestId };
    const existing = req.workflowId ? ns.latestRun.get(req.workflowId) : undefined;
    if (existing?.isOpen && req.workflowIdConflictPolicy !== 'WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING') {
      this.signalRun(existing, signal);
      return { runId: existing.runId, started: false };
    }
    const { run, started } = this.startRun(ns, { ...req, workflowIdConflictPolicy: req.workflowIdConflictPolicy || 'WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING' }, { signal });
    return { runId: run.runId, started };
  }

  /** The checks a start makes before anything is written (update-with-start checks both operations first). */
  checkStartRequest(req: StartWorkflowRequest): void {
    this.validateStart(req);
    validatedSearchValues(this.namespaces.get(req.namespace), req.searchAttributes);
  }

  private validateStart(req: StartWorkflowRequest): void {
    if (!req.workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (!req.workflowType?.name) throw invalidArgument('WorkflowType is not set on request.');
    if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
    if (req.workflowId.length > 1000) throw invalidArgument('WorkflowId length exceeds limit.');
    if (req.cronSchedule) throw invalidArgument(CRON_UNSUPPORTED);
    for (const d of [req.workflowExecutionTimeout, req.workflowRunTimeout, req.workflowTaskTimeout]) {
      if (d && (Number(d.seconds ?? 0) < 0 || Number(d.nanos ?? 0) < 0)) throw invalidArgument('Invalid timeout: negative duration.');
    }
  }

  /**
   * A start's versioning override, checked as the real server does: a pinned one names a version, and that version's
   * pollers must poll the workflow's task queue.
   */
  private validateVersioningOverride(ns: NamespaceState, req: StartWorkflowRequest): void {
    const o = req.versioningOverride as { pinned?: { version?: DeploymentVersion; behavior?: string }; autoUpgrade?: boolean; behavior?: string; pinnedVersion?: string } | undefined;
    if (!o) return;
    const pinned = o.pinned?.version;
    if (o.pinned && (!pinned?.deploymentName || !pinned.buildId)) throw invalidArgument('must provide deployment version if behavior is pinned');
    if (!pinned) return;
    const taskQueue = req.taskQueue?.name ?? '';
    if (!this.deployments.hasTaskQueue(ns.name, pinned, taskQueue, 'TASK_QUEUE_TYPE_WORKFLOW')) {
      throw new ServiceError(9, `Pinned version '${pinned.deploymentName}:${pinned.buildId}' is not present in task queue '${taskQueue}' of type 'Workflow'`, {
        typeName: 'temporal.api.errordetails.v1.FailedPreconditionFailure',
        value: {},
      });
    }
  }

  /** Applies the workflow-id reuse and conflict policies and request-id de-duplication, then creates the run. */
  private startRun(ns: NamespaceState, req: StartWorkflowRequest, origin: RunOrigin): { run: WorkflowRun; started: boolean } {
    this.validateStart(req);
    if (!origin.continuedFrom) this.validateVersioningOverride(ns, req);
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
        retryPolicy,
        attempt: origin.attempt ?? 1,
        cronSchedule: req.cronSchedule,
      },
      this.runDeps(),
    );
    run.searchValues = searchValues;
    run.versioning = { ...origin.versioning, ...(req.versioningOverride ? { override: req.versioningOverride } : {}) };
    const inheritedPinned = run.versioning.behavior === 'VERSIONING_BEHAVIOR_PINNED' ? run.versioning.version : undefined;
    ns.runs.set(runId, run);
    ns.latestRun.set(run.workflowId, run);
    const backoffMs = origin.firstWorkflowTaskBackoffMs ?? msFromDuration(req.workflowStartDelay);
    const parentNs = origin.parent ? this.namespaces.find(origin.parent.namespace) : undefined;
    // A child's root is its parent's root (or the parent, a top-level run); a run of a chain keeps its chain's root.
    const parentRun = origin.parent ? parentNs?.runs.get(origin.parent.runId) : undefined;
    const rootWorkflowExecution = origin.continuedFrom
      ? rootOf(origin.continuedFrom)
      : parentRun
        ? (rootOf(parentRun) ?? parentRun.execution)
        : undefined;
    const startedEvent = run.append('WorkflowExecutionStarted', {
      workflowType: req.workflowType,
      parentWorkflowNamespace: origin.parent?.namespace,
      parentWorkflowNamespaceId: parentNs?.id,
      parentWorkflowExecution: origin.parent ? { workflowId: origin.parent.workflowId, runId: origin.parent.runId } : undefined,
      parentInitiatedEventId: origin.parent?.initiatedEventId,
      taskQueue: { name: req.taskQueue?.name, kind: 'TASK_QUEUE_KIND_NORMAL' },
      input: req.input,
      workflowExecutionTimeout: timeoutFromMs(executionTimeoutMs),
      workflowRunTimeout: timeoutFromMs(runTimeoutMs),
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
      searchAttributes: withTypeMetadata(ns, req.searchAttributes),
      header: req.header,
      workflowId: req.workflowId,
      versioningOverride: run.versioning.override,
      rootWorkflowExecution,
      inheritedPinnedVersion: inheritedPinned,
      // A next run of a chain (continue-as-new, retry, cron) keeps the priority of the run it follows.
      priority: req.priority ?? (origin.continuedFrom ? attributesOf<StartWorkflowRequest>(origin.continuedFrom.history[0], 'WorkflowExecutionStarted').priority : undefined),
    });
    // The start's static summary and details (user metadata) are on the started event, as the real server keeps them.
    if (req.userMetadata) startedEvent.userMetadata = req.userMetadata;
    if (origin.signal) applyWrite(run, this.signalWrite(origin.signal));
    this.armRunTimeout(run);
    if (backoffMs > 0) {
      run.executionTime = now + backoffMs;
      this.armFirstWorkflowTask(run);
    } else {
      run.eagerTask = run.scheduleWorkflowTask(1, origin.eagerFor);
    }
    return run;
  }

  private runDeps(): RunDeps {
    return {
      time: this.time,
      workflowTasks: this.workflowTasks,
      activityTasks: this.activityTasks,
      onClosed: (r) => this.onRunClosed(r),
      historyPageSize: this.historyPageSize,
      changed: (r) => this.onRunChanged?.(r),
      routing: this.routing,
    };
  }

  /** The run and execution timeouts, from the run's start (so a run loaded after a restart keeps its deadline). */
  private armRunTimeout(run: WorkflowRun): void {
    const { runTimeoutMs, executionExpirationTime } = run.config;
    const runDeadline = runTimeoutMs > 0 ? run.startTime + runTimeoutMs : 0;
    const deadline = runDeadline && executionExpirationTime ? Math.min(runDeadline, executionExpirationTime) : runDeadline || executionExpirationTime;
    if (deadline) run.addRunTimer(this.time.scheduleAt(deadline, () => this.timeOutRun(run)));
  }

  /** A start delay or retry backoff: the first workflow task waits for the run's execution time. */
  private armFirstWorkflowTask(run: WorkflowRun): void {
    run.addRunTimer(run.scheduleAt(run.executionTime, () => run.ensureWorkflowTask()));
  }

  // ---- runs loaded from the state file ----------------------------------------------------------------------------

  /** Adds a run read from the state file, with its history; `resumeLoadedRun` re-arms it once all runs are in. */
  addLoadedRun(config: RunConfig, startTime: number, history: HistoryEvent[]): WorkflowRun {
    const ns = this.namespaces.get(config.namespace);
    const run = new WorkflowRun(config, this.runDeps(), startTime);
    run.loadHistory(history);
    ns.runs.set(run.runId, run);
    const latest = ns.latestRun.get(run.workflowId);
    if (!latest || latest.startTime <= run.startTime) ns.latestRun.set(run.workflowId, run);
    return run;
  }

  /**
   * Re-arms the timeouts of an open loaded run and, when it has not had its first workflow task yet because of a
   * start delay, schedules that. Its workflow task, activities and timers are resumed by the caller.
   */
  resumeLoadedRun(run: WorkflowRun): void {
    if (!run.isOpen) return;
    this.armRunTimeout(run);
    if (!run.wt && run.lastCompletedStartedEventId === 0 && run.executionTime > run.startTime) this.armFirstWorkflowTask(run);
  }

  private timeOutRun(run: WorkflowRun): void {
    if (!run.isOpen) return;
    run.close('TimedOut', 'WorkflowExecutionTimedOut', { retryState: 'RETRY_STATE_TIMEOUT' }, false);
  }

  // ---- signals, cancellation, termination -------------------------------------------------------------------------

  private signalWrite(s: NonNullable<RunOrigin['signal']>, external?: WorkflowExecution): BufferedWrite {
    return {
      kind: 'signal',
      attrs: { signalName: s.signalName, input: s.input, identity: s.identity, header: s.header, externalWorkflowExecution: external, requestId: s.requestId },
    };
  }

  private signalRun(run: WorkflowRun, s: NonNullable<RunOrigin['signal']>, external?: WorkflowExecution): void {
    if (s.requestId && run.signalRequestIds.has(s.requestId)) return;
    run.record(this.signalWrite(s, external));
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
    run.record({
      kind: 'event',
      name: 'WorkflowExecutionCancelRequested',
      attrs: { cause, identity, externalInitiatedEventId: external?.initiatedEventId, externalWorkflowExecution: external?.execution },
    });
  }

  terminateWorkflowExecution(req: { namespace?: string; workflowExecution?: WorkflowExecution; reason?: string; details?: Payloads; identity?: string }): void {
    const run = this.openRun(req.namespace, req.workflowExecution);
    this.terminateRun(run, req.reason ?? '', req.details, req.identity ?? '');
  }

  private terminateRun(run: WorkflowRun, reason: string, details: Payloads | undefined, identity: string): void {
    run.close('Terminated', 'WorkflowExecutionTerminated', { reason, details, identity }, false);
  }

  /**
   * ResetWorkflowExecution (reset.ts decides where to cut): a new run of the workflow id with the base run's history up
   * to the reset workflow task, that task failed with cause RESET_WORKFLOW, the later signals applied again; the
   * workflow id's current run, if still running, is terminated. A repeated request id answers the same new run.
   */
  resetWorkflowExecution(req: {
    namespace?: string;
    workflowExecution?: WorkflowExecution;
    reason?: string;
    workflowTaskFinishEventId?: number | string | { toNumber(): number };
    requestId?: string;
    identity?: string;
    resetReapplyType?: string;
    resetReapplyExcludeTypes?: string[];
  }): { runId: string } {
    const ns = this.namespaces.get(req.namespace);
    const base = this.findRun(req.namespace, req.workflowExecution);
    const dedupeKey = req.requestId ? `${ns.name}/${base.workflowId}/${req.requestId}` : undefined;
    const earlier = dedupeKey ? this.resetRequests.get(dedupeKey) : undefined;
    if (earlier) return { runId: earlier };
    const reapplySignals = req.resetReapplyType !== 'RESET_REAPPLY_TYPE_NONE' && !(req.resetReapplyExcludeTypes ?? []).includes('RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL');
    const point = resetPoint(base.history, Number(req.workflowTaskFinishEventId), reapplySignals);
    const runId = randomUUID();
    // Children open at the reset point move to the new run before the current run's close policy could reach them.
    const adopted: WorkflowRun[] = [];
    for (const c of point.children) {
      const childRun = this.namespaces.find(c.namespace)?.runs.get(c.runId);
      const p = childRun?.config.parent;
      if (!childRun || !p || p.runId !== base.runId) continue;
      base.children.delete(c.initiatedEventId);
      childRun.config.parent = { ...p, runId };
      childRun.touch();
      adopted.push(childRun);
    }
    const current = ns.latestRun.get(base.workflowId);
    if (current?.isOpen) this.terminateRun(current, req.reason ?? '', undefined, 'history-service');
    const run = new WorkflowRun({ ...base.config, runId, requestId: req.requestId || randomUUID() }, this.runDeps(), base.startTime);
    run.loadHistory(point.prefix);
    run.lastCompletedStartedEventId = point.lastCompletedStartedEventId;
    run.cancelRequested = point.cancelRequested;
    run.searchValues = { ...base.searchValues };
    run.memo = base.memo;
    run.versioning = { ...base.versioning };
    run.executionTime = base.executionTime;
    ns.runs.set(runId, run);
    ns.latestRun.set(run.workflowId, run);
    run.append('WorkflowTaskFailed', {
      scheduledEventId: point.scheduledEventId,
      startedEventId: point.startedEventId,
      cause: 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW',
      failure: { message: req.reason ?? '', applicationFailureInfo: {} },
      identity: req.identity ?? '',
      baseRunId: base.runId,
      newRunId: runId,
      forkEventVersion: 0,
    });
    for (const signal of point.signals) run.append('WorkflowExecutionSignaled', signal);
    for (const c of point.children) {
      const { initiatedEventId, startedEventId, namespace, workflowId, runId: childRunId, workflowType, parentClosePolicy } = c;
      run.children.set(initiatedEventId, { initiatedEventId, startedEventId, namespace, workflowId, runId: childRunId, workflowType, parentClosePolicy });
    }
    this.armRunTimeout(run);
    run.scheduleWorkflowTask(1);
    // A child that closed after the reset point reports its close to the new run again.
    for (const childRun of adopted) if (!childRun.isOpen) this.notifyParent(childRun);
    if (dedupeKey) this.resetRequests.set(dedupeKey, runId);
    return { runId };
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
    this.afterRunClosed?.(run);
  }

  private notifyParent(run: WorkflowRun): void {
    const p = run.config.parent;
    if (!p) return;
    const parent = this.namespaces.find(p.namespace)?.runs.get(p.runId);
    const child = parent?.children.get(p.initiatedEventId);
    if (!parent || !parent.isOpen || !child) return;
    parent.children.delete(p.initiatedEventId);
    const closeEvent = run.history[run.history.length - 1];
    const base = {
      namespace: run.namespace,
      namespaceId: this.namespaces.find(run.namespace)?.id,
      workflowExecution: run.execution,
      workflowType: run.workflowTypeMessage,
      initiatedEventId: p.initiatedEventId,
    };
    const closed = (name: string, attrs: object): void =>
      parent.record({ kind: 'childClosed', initiatedEventId: p.initiatedEventId, startedEventId: child.startedEventId, name, attrs: { ...base, ...attrs } });
    switch (run.status) {
      case 'Completed':
        closed('ChildWorkflowExecutionCompleted', { result: attributesOf<{ result?: Payloads }>(closeEvent, 'WorkflowExecutionCompleted').result });
        break;
      case 'Failed': {
        const a = attributesOf<{ failure?: Failure; retryState?: string }>(closeEvent, 'WorkflowExecutionFailed');
        closed('ChildWorkflowExecutionFailed', { failure: a.failure, retryState: a.retryState });
        break;
      }
      case 'Canceled':
        closed('ChildWorkflowExecutionCanceled', { details: attributesOf<{ details?: Payloads }>(closeEvent, 'WorkflowExecutionCanceled').details });
        break;
      case 'Terminated':
        closed('ChildWorkflowExecutionTerminated', {});
        break;
      case 'TimedOut':
        closed('ChildWorkflowExecutionTimedOut', { retryState: 'RETRY_STATE_TIMEOUT' });
        break;
      default:
        break;
    }
  }

  startChild(parent: WorkflowRun, child: ChildState, attrs: Message): void {
    const a = attrs as StartWorkflowRequest & { workflowIdReusePolicy?: string };
    const ns = this.namespaces.find(child.namespace);
    const fail = (cause: string) =>
      parent.record({
        kind: 'childStartFailed',
        initiatedEventId: child.initiatedEventId,
        attrs: {
          namespace: child.namespace,
          namespaceId: ns?.id,
          workflowId: child.workflowId,
          workflowType: child.workflowType,
          cause,
          initiatedEventId: child.initiatedEventId,
          workflowTaskCompletedEventId: attributesOf<{ workflowTaskCompletedEventId?: number }>(parent.history[child.initiatedEventId - 1], 'StartChildWorkflowExecutionInitiated').workflowTaskCompletedEventId,
        },
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
    parent.record({
      kind: 'childStarted',
      initiatedEventId: child.initiatedEventId,
      attrs: { namespace: child.namespace, namespaceId: ns.id, initiatedEventId: child.initiatedEventId, workflowExecution: run.execution, workflowType: child.workflowType, header: a.header },
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
    if (target) {
      run.record({ kind: 'event', name: 'ExternalWorkflowExecutionSignaled', attrs: { initiatedEventId, namespace, workflowExecution: a.execution, control: a.control } });
    } else {
      run.record({
        kind: 'event',
        name: 'SignalExternalWorkflowExecutionFailed',
        attrs: {
          cause: 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          initiatedEventId,
          namespace,
          workflowExecution: a.execution,
          control: a.control,
        },
      });
    }
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
    if (target) {
      run.record({ kind: 'event', name: 'ExternalWorkflowExecutionCancelRequested', attrs: { initiatedEventId, namespace, workflowExecution: execution } });
    } else {
      run.record({
        kind: 'event',
        name: 'RequestCancelExternalWorkflowExecutionFailed',
        attrs: {
          cause: 'CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND',
          initiatedEventId,
          namespace,
          workflowExecution: execution,
        },
      });
    }
  }

  continueAsNew(run: WorkflowRun, attrs: Message, workflowTaskCompletedEventId: number): void {
    const a = attrs as StartWorkflowRequest & { backoffStartInterval?: { seconds?: number; nanos?: number }; initiator?: string; lastCompletionResult?: Payloads; failure?: Failure };
    const ns = this.namespaces.get(run.namespace);
    const workflowType = a.workflowType?.name ? a.workflowType : run.workflowTypeMessage;
    const taskQueue = a.taskQueue?.name ? a.taskQueue : { name: run.config.taskQueue };
    const runTimeout = a.workflowRunTimeout && msFromDuration(a.workflowRunTimeout) ? a.workflowRunTimeout : durationFromMs(run.config.runTimeoutMs);
    const taskTimeout = a.workflowTaskTimeout && msFromDuration(a.workflowTaskTimeout) ? a.workflowTaskTimeout : durationFromMs(run.config.workflowTaskTimeoutMs);
    const backoffMs = msFromDuration(a.backoffStartInterval);
    const initial = (a as { initialVersioningBehavior?: string }).initialVersioningBehavior;
    // Worker versioning of the new run, as the real server hands it on: a pinned override and a pinned version go
    // with it when its task queue is in that version, unless the workflow asked to start on the target version.
    const inVersion = (v: DeploymentVersion | undefined): boolean => v !== undefined && this.deployments.hasTaskQueue(ns.name, v, taskQueue.name ?? '', 'TASK_QUEUE_TYPE_WORKFLOW');
    const pinnedOverride = (run.versioning.override as { pinned?: { version?: DeploymentVersion } } | undefined)?.pinned?.version;
    const versioningOverride = run.versioning.override && (!pinnedOverride || inVersion(pinnedOverride)) ? run.versioning.override : undefined;
    let versioning: RunVersioning = {};
    if (initial === 'CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_USE_RAMPING_VERSION') versioning = { firstTaskUsesRamping: true };
    else if (initial !== 'CONTINUE_AS_NEW_VERSIONING_BEHAVIOR_AUTO_UPGRADE' && run.versioning.behavior === 'VERSIONING_BEHAVIOR_PINNED' && inVersion(run.versioning.version)) {
      versioning = { behavior: 'VERSIONING_BEHAVIOR_PINNED', version: run.versioning.version };
    }
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
            searchAttributes: withTypeMetadata(ns, a.searchAttributes) ?? encodedSearchAttributes(ns, run),
            initialVersioningBehavior: initial,
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
        versioningOverride,
      },
      { initiator: 'CONTINUE_AS_NEW_INITIATOR_WORKFLOW', firstWorkflowTaskBackoffMs: backoffMs, lastCompletionResult: a.lastCompletionResult, versioning },
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
      if (child) {
        child.runId = next.runId;
        parent?.touch();
      }
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

  typedSearchAttributes(run: WorkflowRun, attrs: SearchAttributes | undefined): SearchAttributes | undefined {
    return withTypeMetadata(this.namespaces.get(run.namespace), attrs);
  }

}
