/**
 * RespondWorkflowTaskCompleted: writes WorkflowTaskCompleted, then the events of the worker's commands and protocol
 * messages in order, then the events buffered while the task ran, and schedules the next workflow task if the
 * workflow has something new to see.
 */
import { invalidArgument } from './errors';
import { requestCancelActivity, scheduleActivity, startEagerly, queueEagerActivity, type ScheduleActivityAttributes } from './activities';
import { unpackAny } from './proto';
import { cancelTimer, startTimer } from './timers';
import type { Command, Failure, Message, Payloads, ProtocolMessage, SearchAttributes, UpdateOutcome, UpdateRequest } from './proto-types';
import { msFromDuration } from './time-format';
import { encodedSize, exceedsLimit, type BlobLimits } from './blob-limits';
import { effectiveVersioning, type ActivityState, type ChildState, type PollResponse, type VersioningBehavior, type WorkflowRun } from './workflow-run';
import { buildIdsAfterCompletion, sameVersion, versionOfWorker, type DeploymentVersion } from './worker-deployments';

/** What a completion needs from the rest of the server (other runs, new runs). */
export interface CompletionHost {
  /** Runs after the completion: starts the child and writes ChildWorkflowExecutionStarted / StartChild...Failed. */
  startChild(parent: WorkflowRun, child: ChildState, attrs: Message): void;
  signalExternal(run: WorkflowRun, initiatedEventId: number, attrs: Message): void;
  cancelExternal(run: WorkflowRun, initiatedEventId: number, attrs: Message): void;
  /** Closes `run` with ContinuedAsNew and starts the next run of the chain. */
  continueAsNew(run: WorkflowRun, attrs: Message, workflowTaskCompletedEventId: number): void;
  /** Closes `run` as failed, or continues it as a retry if its retry policy allows. */
  failWorkflow(run: WorkflowRun, failure: Failure, workflowTaskCompletedEventId: number): void;
  /** Decodes and checks upserted search attributes against the namespace's registered ones; throws if they do not fit. */
  searchValues(run: WorkflowRun, attrs: SearchAttributes | undefined): Record<string, unknown>;
  /** The attributes with their registered types in `type` metadata, as history events carry them. */
  typedSearchAttributes(run: WorkflowRun, attrs: SearchAttributes | undefined): SearchAttributes | undefined;
  reportError(err: unknown): void;
  readonly blobLimits: BlobLimits;
  /** Sticky queues whose worker said (ShutdownWorker) it will not poll them again. */
  readonly shutDownWorkers?: { has(namespace: string, kind: 'sticky', name: string | undefined): boolean };
}

export interface CompletionRequest {
  commands?: Command[];
  messages?: ProtocolMessage[];
  identity?: string;
  stickyAttributes?: { workerTaskQueue?: { name?: string }; scheduleToStartTimeout?: { seconds?: number; nanos?: number } };
  forceCreateNewWorkflowTask?: boolean;
  queryResults?: Record<string, { resultType?: string; answer?: Payloads; errorMessage?: string; failure?: Failure }>;
  sdkMetadata?: Message;
  meteringMetadata?: Message;
  binaryChecksum?: string;
  workerVersionStamp?: { buildId?: string; useVersioning?: boolean };
  versioningBehavior?: string;
  deploymentOptions?: { deploymentName?: string; buildId?: string; workerVersioningMode?: string };
  /** deprecated form of the worker's deployment */
  deployment?: { seriesName?: string; buildId?: string };
}

const SUPPORTED_COMMANDS = new Set([
  'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK',
  'COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK',
  'COMMAND_TYPE_START_TIMER',
  'COMMAND_TYPE_CANCEL_TIMER',
  'COMMAND_TYPE_RECORD_MARKER',
  'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  'COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES',
  'COMMAND_TYPE_PROTOCOL_MESSAGE',
]);

const TERMINAL_COMMANDS = new Set([
  'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION',
  'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION',
]);

/** Attribute field of a command, e.g. COMMAND_TYPE_START_TIMER -> startTimerCommandAttributes. */
function commandAttributes<T>(c: Command): T {
  const words = (c.commandType ?? '').replace('COMMAND_TYPE_', '').toLowerCase().split('_');
  const key = words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('') + 'CommandAttributes';
  return (c[key] ?? {}) as T;
}

class BadCommand extends Error {
  constructor(
    readonly failureCause: string,
    message: string,
    /** The real server terminates the workflow too (a payload over the size limit could never be written). */
    readonly terminates = false,
  ) {
    super(message);
  }
}

/**
 * The payloads, memos and failures each command would write, with the real server's messages and causes; the first
 * one over its limit fails the task and terminates the workflow.
 */
function checkSizes(limits: BlobLimits, c: Command): void {
  const blob = (size: number, message: string, cause: string): void => {
    if (exceedsLimit(size, limits.blobSizeWarnBytes, limits.blobSizeErrorBytes)) throw new BadCommand(`WORKFLOW_TASK_FAILED_CAUSE_${cause}`, message, true);
  };
  const memo = (value: Message | undefined, message: string, cause: string): void => {
    if (exceedsLimit(encodedSize('temporal.api.common.v1.Memo', value), limits.memoSizeWarnBytes, limits.memoSizeErrorBytes)) {
      throw new BadCommand(`WORKFLOW_TASK_FAILED_CAUSE_${cause}`, message, true);
    }
  };
  const payloads = (value: Payloads | undefined): number => encodedSize('temporal.api.common.v1.Payloads', value);
  const a = commandAttributes<{ input?: Payloads; result?: Payloads; failure?: Failure; details?: Record<string, Payloads>; memo?: Message }>(c);
  switch (c.commandType) {
    case 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK':
      return blob(payloads(a.input), 'ScheduleActivityTaskCommandAttributes.Input exceeds size limit.', 'BAD_SCHEDULE_ACTIVITY_ATTRIBUTES');
    case 'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION':
      // (sic: the real server names this cause)
      return blob(payloads(a.result), 'CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.', 'BAD_SCHEDULE_ACTIVITY_ATTRIBUTES');
    case 'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION':
      return blob(encodedSize('temporal.api.failure.v1.Failure', a.failure), 'FailWorkflowExecutionCommandAttributes.Failure exceeds size limit.', 'BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES');
    case 'COMMAND_TYPE_RECORD_MARKER':
      return blob(
        Object.values(a.details ?? {}).reduce((sum, p) => sum + payloads(p), 0),
        'RecordMarkerCommandAttributes.Details exceeds size limit.',
        'BAD_RECORD_MARKER_ATTRIBUTES',
      );
    case 'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION':
      blob(payloads(a.input), 'ContinueAsNewWorkflowExecutionCommandAttributes. Input exceeds size limit.', 'BAD_CONTINUE_AS_NEW_ATTRIBUTES');
      return memo(a.memo, 'ContinueAsNewWorkflowExecutionCommandAttributes. Memo exceeds size limit.', 'BAD_CONTINUE_AS_NEW_ATTRIBUTES');
    case 'COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION':
      blob(payloads(a.input), 'StartChildWorkflowExecutionCommandAttributes. Input exceeds size limit.', 'BAD_START_CHILD_EXECUTION_ATTRIBUTES');
      return memo(a.memo, 'StartChildWorkflowExecutionCommandAttributes.Memo exceeds size limit.', 'BAD_START_CHILD_EXECUTION_ATTRIBUTES');
    case 'COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION':
      return blob(payloads(a.input), 'SignalExternalWorkflowExecutionCommandAttributes.Input exceeds size limit.', 'BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES');
    default:
      return;
  }
}

/** An update's acceptance, rejection or outcome over the limit, as the real server measures a protocol message. */
function checkMessageSizes(limits: BlobLimits, messages: ProtocolMessage[]): void {
  for (const m of messages) {
    const body = m.body as { typeUrl?: string; type_url?: string; value?: Uint8Array } | undefined;
    const url = body?.typeUrl ?? body?.type_url ?? '';
    const size = url.length + (body?.value?.length ?? 0) + 4;
    if (exceedsLimit(size, limits.blobSizeWarnBytes, limits.blobSizeErrorBytes)) {
      throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE', `Message type ${url.slice(url.lastIndexOf('/') + 1)} exceeds size limit.`, true);
    }
  }
}

/** Rejects what the real server rejects before anything is written, so a bad task leaves no partial events. */
function validate(host: CompletionHost, run: WorkflowRun, commands: Command[]): void {
  const timerIds = new Set(run.timers.keys());
  const activityIds = new Set([...run.activities.values()].map((a) => a.activityId));
  commands.forEach((c, i) => {
    checkSizes(host.blobLimits, c);
    if (!SUPPORTED_COMMANDS.has(c.commandType ?? '')) {
      // Nexus operations and anything newer: refused before any event is written.
      throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_FEATURE_DISABLED', `command ${c.commandType} is not supported by the embedded Temporal server`);
    }
    if (TERMINAL_COMMANDS.has(c.commandType ?? '') && i !== commands.length - 1) {
      // The SDK always puts the closing command last; anything after it could never run.
      throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND', 'workflow closing command must be the last command');
    }
    switch (c.commandType) {
      case 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK': {
        const a = commandAttributes<ScheduleActivityAttributes>(c);
        if (!a.activityId || !a.activityType?.name) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES', 'ActivityId or ActivityType is not set on command.');
        if (activityIds.has(a.activityId)) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES', `Activity ID ${a.activityId} is already in use.`);
        if (!msFromDuration(a.startToCloseTimeout) && !msFromDuration(a.scheduleToCloseTimeout)) {
          throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES', 'A valid StartToClose or ScheduleToCloseTimeout is not set on command.');
        }
        activityIds.add(a.activityId);
        break;
      }
      case 'COMMAND_TYPE_START_TIMER': {
        const t = commandAttributes<{ timerId?: string }>(c);
        if (!t.timerId) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES', 'TimerId is not set on command.');
        if (timerIds.has(t.timerId)) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_START_TIMER_DUPLICATE_ID', `Timer ID ${t.timerId} is already in use.`);
        timerIds.add(t.timerId);
        break;
      }
      case 'COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES':
        try {
          host.searchValues(run, commandAttributes<{ searchAttributes?: SearchAttributes }>(c).searchAttributes);
        } catch (err) {
          throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES', err instanceof Error ? err.message : String(err));
        }
        break;
      case 'COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION': {
        const a = commandAttributes<{ workflowId?: string; workflowType?: { name?: string }; searchAttributes?: SearchAttributes; cronSchedule?: string }>(c);
        if (!a.workflowId || !a.workflowType?.name) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES', 'WorkflowId or WorkflowType is not set on command.');
        if (a.cronSchedule) throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES', 'cron schedules are not supported by the embedded Temporal server');
        try {
          host.searchValues(run, a.searchAttributes);
        } catch (err) {
          throw new BadCommand('WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES', err instanceof Error ? err.message : String(err));
        }
        break;
      }
      default:
        break;
    }
  });
}

const asStrings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** What the completing worker says of its versioning, as the real server reads it. */
function completingWorker(req: CompletionRequest): { deploymentName: string; version?: DeploymentVersion; behavior?: VersioningBehavior } {
  const deploymentName = req.deploymentOptions?.deploymentName || req.deployment?.seriesName || '';
  const fromOptions = versionOfWorker(req.deploymentOptions);
  const legacy = req.deployment?.seriesName && req.deployment.buildId ? { deploymentName: req.deployment.seriesName, buildId: req.deployment.buildId } : undefined;
  const version = req.deploymentOptions ? fromOptions : legacy;
  // A worker that does not use versioning may still report a default behavior; it counts as unversioned.
  const reported = req.versioningBehavior === 'VERSIONING_BEHAVIOR_PINNED' || req.versioningBehavior === 'VERSIONING_BEHAVIOR_AUTO_UPGRADE' ? req.versioningBehavior : undefined;
  const behavior = req.deploymentOptions && !fromOptions ? undefined : reported;
  return { deploymentName, version, behavior };
}

/** The run is on the completing worker's version with its behavior from now on (unversioned: neither). */
function applyCompletedVersioning(run: WorkflowRun, worker: { version?: DeploymentVersion; behavior?: VersioningBehavior }): void {
  const v = run.versioning;
  if (v.transition && sameVersion(v.transition, worker.version)) v.transition = undefined;
  v.firstTaskUsesRamping = undefined;
  v.behavior = worker.behavior && worker.version ? worker.behavior : undefined;
  v.version = v.behavior ? worker.version : undefined;
}

/** @returns activity tasks handed straight to the completing worker (eager dispatch), for the response. */
export function completeWorkflowTask(host: CompletionHost, run: WorkflowRun, req: CompletionRequest): PollResponse[] {
  const wt = run.wt;
  if (!wt || wt.startedEventId === undefined) throw invalidArgument('workflow task not started');
  const identity = req.identity ?? '';
  const commands = req.commands ?? [];
  const closes = commands.some((c) => TERMINAL_COMMANDS.has(c.commandType ?? ''));

  // Answers to queries that rode on this task.
  for (const [id, r] of Object.entries(req.queryResults ?? {})) {
    const q = run.pendingQueryIds.get(id);
    if (!q) continue;
    run.pendingQueryIds.delete(id);
    run.removeQuery(id);
    q.resolve(r.resultType === 'QUERY_RESULT_TYPE_ANSWERED' ? { answer: r.answer } : { errorMessage: r.errorMessage || 'query failed', failure: r.failure });
  }

  // New events arrived while the worker decided to close: it must see them first. Updates do not hold the close up
  // (as in the real server): those the workflow has not seen are aborted when it closes.
  if (closes && run.hasBufferedEvents) {
    run.failWorkflowTask('WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND', { message: 'UnhandledCommand', source: 'Server' }, identity);
    throw invalidArgument('UnhandledCommand');
  }
  try {
    validate(host, run, commands);
    checkMessageSizes(host.blobLimits, req.messages ?? []);
  } catch (err) {
    if (!(err instanceof BadCommand)) throw err;
    run.failWorkflowTask(err.failureCause, { message: err.message, source: 'Server', serverFailureInfo: {} }, identity, false, err.terminates ? err.message : undefined);
    throw invalidArgument(err.message);
  }

  run.writeTransientWorkflowTaskEvents();
  const worker = completingWorker(req);
  const completed = run.append('WorkflowTaskCompleted', {
    scheduledEventId: wt.scheduledEventId,
    startedEventId: wt.startedEventId,
    identity,
    binaryChecksum: req.binaryChecksum || undefined,
    workerVersion: req.workerVersionStamp,
    sdkMetadata: req.sdkMetadata,
    meteringMetadata: req.meteringMetadata,
    workerDeploymentName: worker.deploymentName || undefined,
    deploymentVersion: worker.version,
    versioningBehavior: worker.behavior,
  });
  applyCompletedVersioning(run, worker);
  const buildIds = buildIdsAfterCompletion(asStrings(run.searchValues.BuildIds), req.workerVersionStamp, effectiveVersioning(run.versioning));
  if (buildIds.length > 0) run.searchValues.BuildIds = buildIds;
  run.lastCompletedStartedEventId = wt.startedEventId;
  const sentUpdates = wt.sentUpdates;
  run.finishWorkflowTask();
  const stickyName = req.stickyAttributes?.workerTaskQueue?.name;
  // A worker that shut down may still complete the tasks it had (after ShutdownWorker): its sticky queue is not
  // polled any more, so its next task goes to the normal queue, as the real server's matching sends it.
  run.stickyQueue = stickyName && !host.shutDownWorkers?.has(run.namespace, 'sticky', stickyName) ? stickyName : undefined;
  run.stickyVersion = worker.version;
  run.stickyScheduleToStartMs = msFromDuration(req.stickyAttributes?.scheduleToStartTimeout);

  const after: (() => void)[] = [];
  const eager: ActivityState[] = [];
  const messages = new Map((req.messages ?? []).map((m) => [m.id ?? '', m]));
  const handledMessages = new Set<string>();
  run.completing = true;
  try {
    for (const c of commands) {
      if (!run.isOpen) break;
      if (c.commandType === 'COMMAND_TYPE_PROTOCOL_MESSAGE') {
        const id = commandAttributes<{ messageId?: string }>(c).messageId ?? '';
        const m = messages.get(id);
        if (m && !handledMessages.has(id)) {
          handledMessages.add(id);
          applyMessage(run, m);
        }
        continue;
      }
      const firstEvent = run.history.length;
      applyCommand(host, run, c, completed.eventId, after, eager);
      // As the real server: the command's user metadata (a timer's or activity's summary) goes on the event it wrote.
      if (c.userMetadata && run.history.length > firstEvent) run.history[firstEvent].userMetadata = c.userMetadata;
    }
    // Messages the worker did not sequence with a command go after the commands.
    for (const [id, m] of messages) if (!handledMessages.has(id) && run.isOpen) applyMessage(run, m);
  } catch (err) {
    for (const a of eager) queueEagerActivity(run, a);
    throw err;
  } finally {
    run.completing = false;
  }
  // An update the task carried must be accepted or rejected by it; the real server rejects one the worker ignored
  // (an SDK that does not know updates) instead of sending it forever. Not for a heartbeat of a long local activity.
  if (run.isOpen && !req.forceCreateNewWorkflowTask) rejectUnprocessedUpdates(run, sentUpdates);
  if (run.isOpen) {
    const flushed = run.flushBuffered();
    if (flushed || run.needsWorkflowTask || req.forceCreateNewWorkflowTask || run.hasUndeliveredUpdates) run.scheduleWorkflowTask(1);
  }
  run.needsWorkflowTask = false;
  run.dispatchQueuedQueries();
  // Effects on other runs (children, external signals) happen after this run's state is settled.
  for (const f of after) {
    try {
      f();
    } catch (err) {
      host.reportError(err);
    }
  }
  const activityTasks: PollResponse[] = [];
  for (const a of eager) {
    const task = startEagerly(run, a, identity);
    if (task) activityTasks.push(task);
  }
  return activityTasks;
}

function applyCommand(host: CompletionHost, run: WorkflowRun, c: Command, wtCompletedId: number, after: (() => void)[], eager: ActivityState[]): void {
  switch (c.commandType) {
    case 'COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK': {
      const attrs = commandAttributes<ScheduleActivityAttributes>(c);
      const isEager = attrs.requestEagerExecution === true && (attrs.taskQueue?.name || run.config.taskQueue) === run.config.taskQueue;
      const a = scheduleActivity(run, attrs, wtCompletedId, isEager);
      if (isEager) eager.push(a);
      return;
    }
    case 'COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK':
      requestCancelActivity(run, Number(commandAttributes<{ scheduledEventId?: number }>(c).scheduledEventId ?? 0), wtCompletedId);
      return;
    case 'COMMAND_TYPE_START_TIMER':
      startTimer(run, commandAttributes(c), wtCompletedId);
      return;
    case 'COMMAND_TYPE_CANCEL_TIMER':
      cancelTimer(run, commandAttributes<{ timerId?: string }>(c).timerId ?? '', wtCompletedId);
      return;
    case 'COMMAND_TYPE_RECORD_MARKER': {
      const a = commandAttributes<Message>(c);
      run.append('MarkerRecorded', { ...a, workflowTaskCompletedEventId: wtCompletedId });
      return;
    }
    case 'COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION': {
      const a = commandAttributes<{ result?: Payloads }>(c);
      run.close('Completed', 'WorkflowExecutionCompleted', { result: a.result, workflowTaskCompletedEventId: wtCompletedId }, true);
      return;
    }
    case 'COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION':
      host.failWorkflow(run, commandAttributes<{ failure?: Failure }>(c).failure ?? { message: 'workflow failed' }, wtCompletedId);
      return;
    case 'COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION': {
      const a = commandAttributes<{ details?: Payloads }>(c);
      run.close('Canceled', 'WorkflowExecutionCanceled', { details: a.details, workflowTaskCompletedEventId: wtCompletedId }, true);
      return;
    }
    case 'COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION':
      host.continueAsNew(run, commandAttributes<Message>(c), wtCompletedId);
      return;
    case 'COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION': {
      const a = commandAttributes<Message & { workflowId: string; workflowType: Message; namespace?: string; parentClosePolicy?: string; searchAttributes?: SearchAttributes }>(c);
      const namespace = a.namespace || run.namespace;
      const initiated = run.append('StartChildWorkflowExecutionInitiated', {
        ...a,
        namespace,
        searchAttributes: host.typedSearchAttributes(run, a.searchAttributes),
        workflowTaskCompletedEventId: wtCompletedId,
      });
      const child: ChildState = {
        initiatedEventId: initiated.eventId,
        namespace,
        workflowId: a.workflowId,
        workflowType: a.workflowType,
        parentClosePolicy: a.parentClosePolicy || 'PARENT_CLOSE_POLICY_TERMINATE',
      };
      run.children.set(initiated.eventId, child);
      // the command's user metadata (static summary and details) is the child's, as for a client's start
      after.push(() => host.startChild(run, child, c.userMetadata ? { ...a, userMetadata: c.userMetadata } : a));
      return;
    }
    case 'COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION': {
      const a = commandAttributes<Message & { namespace?: string }>(c);
      const initiated = run.append('SignalExternalWorkflowExecutionInitiated', {
        ...a,
        namespace: a.namespace || run.namespace,
        workflowTaskCompletedEventId: wtCompletedId,
      });
      after.push(() => host.signalExternal(run, initiated.eventId, a));
      return;
    }
    case 'COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION': {
      const a = commandAttributes<Message & { namespace?: string; workflowId?: string; runId?: string }>(c);
      const initiated = run.append('RequestCancelExternalWorkflowExecutionInitiated', {
        namespace: a.namespace || run.namespace,
        workflowExecution: { workflowId: a.workflowId, runId: a.runId },
        childWorkflowOnly: a.childWorkflowOnly,
        reason: a.reason,
        workflowTaskCompletedEventId: wtCompletedId,
      });
      after.push(() => host.cancelExternal(run, initiated.eventId, a));
      return;
    }
    case 'COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
      const a = commandAttributes<{ searchAttributes?: SearchAttributes }>(c);
      run.append('UpsertWorkflowSearchAttributes', { searchAttributes: host.typedSearchAttributes(run, a.searchAttributes), workflowTaskCompletedEventId: wtCompletedId });
      // Upserted attributes replace by key; an empty value removes the key, as in the real server.
      for (const [k, v] of Object.entries(host.searchValues(run, a.searchAttributes))) {
        if (v === null || v === undefined) delete run.searchValues[k];
        else run.searchValues[k] = v;
      }
      return;
    }
    case 'COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES': {
      const a = commandAttributes<{ upsertedMemo?: { fields?: Record<string, Message> } }>(c);
      run.append('WorkflowPropertiesModified', { upsertedMemo: a.upsertedMemo, workflowTaskCompletedEventId: wtCompletedId });
      run.memo = { fields: mergeMemo(run.memo?.fields ?? {}, a.upsertedMemo?.fields ?? {}) };
      return;
    }
    default:
      return; // validate() refused unsupported commands already
  }
}

interface Acceptance {
  acceptedRequestMessageId?: string;
  acceptedRequestSequencingEventId?: number;
  acceptedRequest?: UpdateRequest;
}
interface Rejection {
  rejectedRequestMessageId?: string;
  rejectedRequest?: UpdateRequest;
  failure?: Failure;
}
interface UpdateResponse {
  meta?: { updateId?: string; identity?: string };
  outcome?: UpdateOutcome;
}

/** Update protocol messages from the worker: acceptance, rejection (validator failed) or the handler's outcome. */
function applyMessage(run: WorkflowRun, m: ProtocolMessage): void {
  const body = unpackAny<Acceptance & Rejection & UpdateResponse>(m.body);
  const update = run.updates.get(m.protocolInstanceId ?? '');
  if (!body || !update) return;
  switch (body.typeName) {
    case 'temporal.api.update.v1.Acceptance': {
      const event = run.append('WorkflowExecutionUpdateAccepted', {
        protocolInstanceId: update.id,
        acceptedRequestMessageId: body.value.acceptedRequestMessageId,
        acceptedRequestSequencingEventId: body.value.acceptedRequestSequencingEventId,
        acceptedRequest: body.value.acceptedRequest ?? update.request,
      });
      update.acceptedEventId = event.eventId;
      run.setUpdateStage(update, 'accepted');
      return;
    }
    case 'temporal.api.update.v1.Rejection':
      update.outcome = { failure: body.value.failure };
      run.updates.delete(update.id);
      run.setUpdateStage(update, 'completed');
      return;
    case 'temporal.api.update.v1.Response':
      update.outcome = body.value.outcome;
      run.append('WorkflowExecutionUpdateCompleted', { meta: body.value.meta ?? { updateId: update.id }, acceptedEventId: update.acceptedEventId ?? 0, outcome: body.value.outcome });
      run.setUpdateStage(update, 'completed');
      return;
    default:
      return;
  }
}

function rejectUnprocessedUpdates(run: WorkflowRun, sent: string[]): void {
  for (const id of sent) {
    const update = run.updates.get(id);
    if (!update || update.stage !== 'admitted') continue;
    update.outcome = {
      failure: {
        message: "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
        source: 'Server',
        applicationFailureInfo: { type: 'UnprocessedUpdate', nonRetryable: true },
      },
    };
    run.updates.delete(id);
    run.setUpdateStage(update, 'completed');
  }
}

/**
 * Upserted memo fields replace by key, and a field whose payload holds no data (a null) or `[]` removes the key, as
 * the real server merges them (MergeMapOfPayload: such payloads compare equal to its encoded nil or empty slice).
 */
export function mergeMemo(current: Record<string, Message>, upserted: Record<string, Message>): Record<string, Message> {
  const merged = { ...current };
  for (const [key, payload] of Object.entries(upserted)) {
    const data = (payload as { data?: Uint8Array | null }).data;
    const text = data ? Buffer.from(data).toString('utf8') : '';
    if (text === '' || text === '[]') delete merged[key];
    else merged[key] = payload;
  }
  return merged;
}
