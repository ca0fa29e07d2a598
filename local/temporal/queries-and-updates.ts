/**
 * QueryWorkflow and workflow updates: both wait on a worker (a query for its answer, an update for acceptance or
 * its outcome) and both count as "in flight" for time skipping until the worker has answered.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, invalidArgument, multiOperationFailure, notFound, resourceExhausted, taskNotFound, workflowClosed, workflowNotFound } from './errors';
import type { Engine } from './engine';
import type { LongPoll } from './long-poll';
import type { Failure, Payloads, StartWorkflowRequest, UpdateRequest, WorkflowExecution, WorkflowQuery } from './proto-types';
import { msFromDuration } from './time-format';
import { decodeTaskToken } from './task-token';
import { STATUS_ENUM, type PendingQuery, type UpdateState, type WorkflowRun } from './workflow-run';

const UPDATE_STAGES = ['admitted', 'sent', 'accepted', 'completed'] as const;
const STAGE_ENUM: Record<string, string> = {
  admitted: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED',
  sent: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED',
  accepted: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED',
  completed: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED',
};

export async function queryWorkflow(engine: Engine, req: { namespace?: string; execution?: WorkflowExecution; query?: WorkflowQuery; queryRejectCondition?: string }, poll: LongPoll): Promise<object> {
  const run = engine.findRun(req.namespace, req.execution);
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

export function respondQueryTaskCompleted(engine: Engine, req: { taskToken?: Buffer; completedType?: string; queryResult?: Payloads; errorMessage?: string; failure?: Failure }): object {
  const token = decodeTaskToken(req.taskToken);
  if (token.kind !== 'query') throw invalidArgument('not a query task token');
  const run = engine.runForToken(token.namespace, token.runId);
  const q = run?.pendingQueryIds.get(token.queryId);
  if (!run || !q) throw taskNotFound('Query');
  run.pendingQueryIds.delete(token.queryId);
  run.removeQuery(token.queryId);
  if (req.completedType === 'QUERY_RESULT_TYPE_ANSWERED') q.resolve({ answer: req.queryResult });
  else q.resolve({ errorMessage: req.errorMessage || req.failure?.message || 'query failed', failure: req.failure });
  return {};
}

// ---- updates ----------------------------------------------------------------------------------------------------

/** The real server's defaults (history.maxInFlightUpdates, history.maxTotalUpdates). */
const MAX_IN_FLIGHT_UPDATES = 10;
const MAX_TOTAL_UPDATES = 2000;
const ADMITTED = 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED';
const ACCEPTED = 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED';
const COMPLETED = 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED';

type UpdateCall = { namespace?: string; workflowExecution?: WorkflowExecution; firstExecutionRunId?: string; waitPolicy?: { lifecycleStage?: string }; request?: UpdateRequest };

/** What the frontend checks before anything else: the same errors for a lone update and update-with-start. */
export function validateUpdateRequest(req: UpdateCall): void {
  if (!req.workflowExecution?.workflowId) throw invalidArgument('WorkflowId is not set on request.');
  if (!req.request?.meta) throw invalidArgument('Update meta is not set on request.');
  if ((req.request.meta.updateId ?? '').length > 1000) throw invalidArgument('UpdateId length exceeds limit.');
  if (!req.request.input) throw invalidArgument('Update input is not set on request.');
  if (!req.request.input.name) throw invalidArgument('Update name is not set on request.');
  if (req.waitPolicy?.lifecycleStage === ADMITTED) {
    throw new ServiceError(7, 'UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported.');
  }
}

/** The run's update registry is full: as the real server, the in-flight limit, then the total one. */
function checkUpdateLimits(run: WorkflowRun): void {
  let inFlight = 0;
  for (const u of run.updates.values()) if (u.stage !== 'completed') inFlight++;
  if (inFlight >= MAX_IN_FLIGHT_UPDATES) {
    throw resourceExhausted(`limit on number of concurrent in-flight updates has been reached (${MAX_IN_FLIGHT_UPDATES})`, 'RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT');
  }
  if (run.updates.size >= MAX_TOTAL_UPDATES) {
    throw new ServiceError(
      9,
      `The limit on the total number of distinct updates in this workflow has been reached (${MAX_TOTAL_UPDATES}). Make sure any duplicate updates share an Update ID so the server can deduplicate them, and consider rejecting updates that you aren't going to process. You can also Continue-as-New to avoid this; we recommend you check Continue-as-New Suggested in your Workflow.`,
    );
  }
}

/**
 * Admits the update (or finds it by id) and waits for the stage asked for, COMPLETED when none is. An update the
 * run dropped because it continued as new before seeing it is admitted again on the new run, as the real server
 * retries it internally; the caller does not notice.
 */
export async function updateWorkflowExecution(engine: Engine, req: UpdateCall, poll: LongPoll): Promise<object> {
  validateUpdateRequest(req);
  const request = req.request as UpdateRequest;
  const updateId = request.meta?.updateId || randomUUID();
  const withId: UpdateRequest = { ...request, meta: { ...request.meta, updateId } };
  for (;;) {
    const run = engine.findRun(req.namespace, req.workflowExecution);
    if (req.firstExecutionRunId && run.config.firstExecutionRunId !== req.firstExecutionRunId) throw workflowNotFound(run.workflowId, req.workflowExecution?.runId);
    let update = run.updates.get(updateId);
    if (!update) {
      if (!run.isOpen) throw workflowClosed();
      checkUpdateLimits(run);
      update = { id: updateId, request: withId, stage: 'admitted', waiters: new Set() };
      run.updates.set(updateId, update);
      run.markBusy('update', updateId);
      // A running task cannot take the update; it goes with the next one, scheduled when that task completes.
      // A run still waiting out its start delay gets its first task now.
      if (!run.wt) run.scheduleWorkflowTask(1);
    }
    const answer = await waitForUpdate(run, update, req.waitPolicy?.lifecycleStage || COMPLETED, poll);
    if (answer !== 'retry') return answer;
  }
}

export async function pollWorkflowExecutionUpdate(engine: Engine, req: { namespace?: string; updateRef?: { workflowExecution?: WorkflowExecution; updateId?: string }; waitPolicy?: { lifecycleStage?: string } }, poll: LongPoll): Promise<object> {
  if (!req.updateRef) throw invalidArgument('UpdateRef is not set on request.');
  const run = engine.findRun(req.namespace, req.updateRef.workflowExecution);
  const update = run.updates.get(req.updateRef.updateId ?? '');
  if (!update) throw notFound(`update "${req.updateRef.updateId ?? ''}" not found`);
  // Without a stage the answer is the stage reached now, at once.
  const answer = await waitForUpdate(run, update, req.waitPolicy?.lifecycleStage || ADMITTED, poll);
  if (answer === 'retry') throw workflowClosing();
  return answer;
}

/** The run continued as new before it saw the update: the update belongs to the next run now. */
const workflowClosing = (): ServiceError => resourceExhausted('workflow operation can not be applied because workflow is closing', 'RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW');

/**
 * Waits until the update reaches `stage` (ADMITTED: not at all) or the long poll ends, then answers the stage reached,
 * with the outcome once completed (even when only acceptance was asked for).
 */
async function waitForUpdate(run: WorkflowRun, update: UpdateState, stage: string, poll: LongPoll): Promise<object | 'retry'> {
  const wanted = stage === COMPLETED ? 3 : stage === ACCEPTED ? 2 : 0;
  while (UPDATE_STAGES.indexOf(update.stage) < wanted && !poll.isEnded) {
    await new Promise<void>((resolve) => {
      update.waiters.add(resolve);
      poll.onEnd(resolve);
    });
  }
  if (update.abandoned === 'continuing') return 'retry';
  if (update.abandoned === 'closing') throw notFound('workflow update was aborted by closing workflow');
  return {
    updateRef: { workflowExecution: run.execution, updateId: update.id },
    outcome: update.stage === 'completed' ? update.outcome : undefined,
    stage: STAGE_ENUM[update.stage],
  };
}

// ---- update-with-start ------------------------------------------------------------------------------------------

type MultiOperationCall = { namespace?: string; operations?: { startWorkflow?: StartWorkflowRequest & { requestEagerExecution?: boolean }; updateWorkflow?: UpdateCall }[] };

/** A failure of one operation as the status it would have alone; anything unexpected is passed through. */
function operationError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  throw err;
}

/** The checks of one operation, as the frontend makes them before either runs; undefined when it passes. */
function operationCheck(check: () => void): ServiceError | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return operationError(err);
  }
}

/**
 * ExecuteMultiOperation (update-with-start): both operations are checked first; then the update goes to the running
 * workflow when the conflict policy says to use it (or the start is a retry of the same request, or the update is
 * already known there), and otherwise the workflow is started and the update admitted with its first task. A
 * failure names the operation that failed, the other one aborted, as the SDK expects.
 */
export async function executeMultiOperation(engine: Engine, req: MultiOperationCall, poll: LongPoll): Promise<object> {
  const ops = req.operations ?? [];
  if (ops.length !== 2 || !ops[0].startWorkflow || !ops[1].updateWorkflow) throw invalidArgument('Operations have to be exactly [Start, Update].');
  const ns = engine.namespaces.get(req.namespace);
  const startReq = ops[0].startWorkflow;
  const updateReq = ops[1].updateWorkflow;
  // The conflict policy defaults to FAIL, as for a lone start.
  const start: StartWorkflowRequest = {
    ...startReq,
    namespace: ns.name,
    workflowIdConflictPolicy: !startReq.workflowIdConflictPolicy || startReq.workflowIdConflictPolicy === 'WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED' ? 'WORKFLOW_ID_CONFLICT_POLICY_FAIL' : startReq.workflowIdConflictPolicy,
  };
  const startError = operationCheck(() => {
    if (startReq.namespace && startReq.namespace !== ns.name) throw invalidArgument("Operation namespace did not match request's namespace.");
    engine.checkStartRequest(start);
    if (startReq.cronSchedule) throw invalidArgument('CronSchedule is not allowed.');
    if (startReq.requestEagerExecution) throw invalidArgument('RequestEagerExecution is not supported.');
    if (msFromDuration(startReq.workflowStartDelay) > 0) throw invalidArgument('WorkflowStartDelay is not supported.');
  });
  const updateError = operationCheck(() => {
    if (updateReq.namespace && updateReq.namespace !== ns.name) throw invalidArgument("Operation namespace did not match request's namespace.");
    validateUpdateRequest(updateReq);
    if (updateReq.firstExecutionRunId) throw invalidArgument('FirstExecutionRunId is not allowed.');
    if (updateReq.workflowExecution?.runId) throw invalidArgument('RunId is not allowed.');
    if (!startError && updateReq.workflowExecution?.workflowId !== start.workflowId) throw invalidArgument('WorkflowId is not consistent with previous operation(s).');
  });
  if (startError || updateError) throw multiOperationFailure([startError ?? 'aborted', updateError ?? 'aborted']);

  const workflowId = start.workflowId as string;
  const updateId = updateReq.request?.meta?.updateId ?? '';
  const update = (runId: string): Promise<object> => updateWorkflowExecution(engine, { ...updateReq, namespace: ns.name, workflowExecution: { workflowId, runId } }, poll);
  const existing = ns.latestRun.get(workflowId);
  if (existing && (existing.isOpen || existing.updates.get(updateId)?.stage === 'completed')) {
    const useExisting =
      !existing.isOpen ||
      (start.requestId !== undefined && start.requestId !== '' && existing.config.requestId === start.requestId) ||
      existing.updates.has(updateId) ||
      start.workflowIdConflictPolicy === 'WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING';
    if (useExisting) {
      const answer = await update(existing.runId).catch((err: unknown) => {
        throw multiOperationFailure(['aborted', operationError(err)]);
      });
      return { responses: [{ startWorkflow: { runId: existing.runId, started: false, status: STATUS_ENUM[existing.status] } }, { updateWorkflow: answer }] };
    }
  }
  let started: { runId: string; started: boolean; status: string };
  try {
    started = engine.startWorkflowExecution(start);
  } catch (err) {
    throw multiOperationFailure([operationError(err), 'aborted']);
  }
  const answer = await update(started.runId).catch((err: unknown) => {
    throw multiOperationFailure(['ok', operationError(err)]);
  });
  return { responses: [{ startWorkflow: started }, { updateWorkflow: answer }] };
}
