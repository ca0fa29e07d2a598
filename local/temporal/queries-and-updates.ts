/**
 * QueryWorkflow and workflow updates: both wait on a worker (a query for its answer, an update for acceptance or
 * its outcome) and both count as "in flight" for time skipping until the worker has answered.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, invalidArgument, notFound, taskNotFound, workflowClosed } from './errors';
import type { Engine } from './engine';
import type { LongPoll } from './long-poll';
import type { Failure, Payloads, UpdateRequest, WorkflowExecution, WorkflowQuery } from './proto-types';
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

export async function updateWorkflowExecution(engine: Engine, req: { namespace?: string; workflowExecution?: WorkflowExecution; firstExecutionRunId?: string; waitPolicy?: { lifecycleStage?: string }; request?: UpdateRequest }, poll: LongPoll): Promise<object> {
  const updateId = req.request?.meta?.updateId;
  if (!updateId) throw invalidArgument('Update ID is not set on request.');
  if (!req.request?.input?.name) throw invalidArgument('Update name is not set on request.');
  const run = engine.findRun(req.namespace, req.workflowExecution);
  let update = run.updates.get(updateId);
  if (!update) {
    if (!run.isOpen) throw workflowClosed();
    update = { id: updateId, request: req.request, stage: 'admitted', waiters: new Set() };
    run.updates.set(updateId, update);
    run.markBusy('update', updateId);
    // A running task cannot take the update; it goes with the next one, scheduled when that task completes.
    if (!run.wt) run.scheduleWorkflowTask(1);
  }
  return waitForUpdate(engine, run, update, req.waitPolicy?.lifecycleStage, poll);
}

export async function pollWorkflowExecutionUpdate(engine: Engine, req: { namespace?: string; updateRef?: { workflowExecution?: WorkflowExecution; updateId?: string }; waitPolicy?: { lifecycleStage?: string } }, poll: LongPoll): Promise<object> {
  const run = engine.findRun(req.namespace, req.updateRef?.workflowExecution);
  const update = run.updates.get(req.updateRef?.updateId ?? '');
  if (!update) throw notFound(`update ${req.updateRef?.updateId} not found`);
  return waitForUpdate(engine, run, update, req.waitPolicy?.lifecycleStage, poll);
}

async function waitForUpdate(engine: Engine, run: WorkflowRun, update: UpdateState, stage: string | undefined, poll: LongPoll): Promise<object> {
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
