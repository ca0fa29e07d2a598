/** Reading a run: GetWorkflowExecutionHistory (paged, long-polled, close-event filter), its reverse, and Describe. */
import { rootOf, type Engine } from './engine';
import { decodePageToken, encodePageToken } from './history';
import type { LongPoll } from './long-poll';
import type { HistoryEvent, WorkflowExecution } from './proto-types';
import { durationFromMs, timeoutFromMs, timestampFromMs } from './time-format';
import { executionInfo } from './visibility-store';
import type { WorkflowRun } from './workflow-run';
import { versionString } from './worker-deployments';

const DEFAULT_HISTORY_PAGE_SIZE = 1000;

function historyPageSize(maximumPageSize: number | undefined): number {
  return maximumPageSize && maximumPageSize > 0 ? maximumPageSize : DEFAULT_HISTORY_PAGE_SIZE;
}

/** The request's page token when it belongs to this run; a token of an earlier run starts the reading afresh. */
function pageTokenOf(run: WorkflowRun, nextPageToken: Buffer | undefined) {
  const decoded = decodePageToken(nextPageToken);
  return decoded && decoded.runId === run.runId ? decoded : undefined;
}

export async function getWorkflowExecutionHistory(
  engine: Engine,
  req: { namespace?: string; execution?: WorkflowExecution; maximumPageSize?: number; nextPageToken?: Buffer; waitNewEvent?: boolean; historyEventFilterType?: string },
  poll: LongPoll,
): Promise<object> {
  const run = engine.findRun(req.namespace, req.execution);
  const pageSize = historyPageSize(req.maximumPageSize);
  const closeOnly = req.historyEventFilterType === 'HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT';
  const token = pageTokenOf(run, req.nextPageToken);
  if (closeOnly) {
    while (run.isOpen && req.waitNewEvent && !poll.isEnded) await waitForHistory(engine, run, poll);
    if (run.isOpen) return { history: { events: [] }, nextPageToken: encodePageToken({ runId: run.runId, next: run.lastEventId + 1 }) };
    return { history: { events: [run.history[run.history.length - 1]] } };
  }
  const next = token?.next ?? 1;
  if (req.waitNewEvent) {
    while (run.isOpen && next > run.lastEventId && !poll.isEnded) await waitForHistory(engine, run, poll);
  }
  const end = Math.min(token?.end ?? run.lastEventId, run.lastEventId);
  const last = next > end ? end : run.pageEnd(next, end, pageSize);
  const events: HistoryEvent[] = run.history.slice(next - 1, last);
  let nextPageToken: Buffer | undefined;
  if (last < end) nextPageToken = encodePageToken({ runId: run.runId, next: last + 1, end: token?.end, transient: token?.transient });
  else if (req.waitNewEvent && run.isOpen) nextPageToken = encodePageToken({ runId: run.runId, next: last + 1 });
  // A worker paging through a transient task's history gets its two events last; nobody else ever sees them.
  if (last >= end && token?.transient) events.push(...token.transient);
  return { history: { events }, nextPageToken };
}

async function waitForHistory(engine: Engine, run: WorkflowRun, poll: LongPoll): Promise<void> {
  const w = run.waitForEvent();
  poll.onEnd(w.cancel);
  await w.promise;
}

export function getWorkflowExecutionHistoryReverse(engine: Engine, req: { namespace?: string; execution?: WorkflowExecution; maximumPageSize?: number; nextPageToken?: Buffer }): object {
  const run = engine.findRun(req.namespace, req.execution);
  const from = pageTokenOf(run, req.nextPageToken)?.next ?? run.lastEventId;
  const to = Math.max(1, from - historyPageSize(req.maximumPageSize) + 1);
  const events = run.history.slice(to - 1, from).reverse();
  return { history: { events }, nextPageToken: to > 1 ? encodePageToken({ runId: run.runId, next: to - 1 }) : undefined };
}

/** The execution's worker versioning, as the real server describes it (absent for an unversioned run). */
function versioningInfo(run: WorkflowRun): object {
  const v = run.versioning;
  if (!v.behavior && !v.override && !v.transition) return {};
  return {
    versioningInfo: {
      behavior: v.behavior,
      deploymentVersion: v.version,
      version: v.version ? versionString(v.version) : undefined,
      versioningOverride: v.override,
      versionTransition: v.transition ? { deploymentVersion: v.transition, version: versionString(v.transition) } : undefined,
    },
    workerDeploymentName: v.version?.deploymentName,
  };
}

export function describeWorkflowExecution(engine: Engine, req: { namespace?: string; execution?: WorkflowExecution }): object {
  const run = engine.findRun(req.namespace, req.execution);
  const ns = engine.namespaces.get(req.namespace);
  const parent = run.config.parent;
  return {
    executionConfig: {
      taskQueue: { name: run.config.taskQueue, kind: 'TASK_QUEUE_KIND_NORMAL' },
      workflowExecutionTimeout: timeoutFromMs(run.config.executionTimeoutMs),
      workflowRunTimeout: timeoutFromMs(run.config.runTimeoutMs),
      defaultWorkflowTaskTimeout: durationFromMs(run.config.workflowTaskTimeoutMs),
      userMetadata: run.history[0]?.userMetadata,
    },
    workflowExecutionInfo: {
      ...executionInfo(ns, run),
      ...versioningInfo(run),
      parentNamespaceId: parent ? engine.namespaces.find(parent.namespace)?.id : undefined,
      rootExecution: rootOf(run) ?? run.execution,
    },
    pendingActivities: [...run.activities.values()].map((a) => ({
      activityId: a.activityId,
      activityType: a.activityType,
      state: a.cancelRequested
        ? 'PENDING_ACTIVITY_STATE_CANCEL_REQUESTED'
        : a.state === 'started'
          ? a.paused
            ? 'PENDING_ACTIVITY_STATE_PAUSE_REQUESTED'
            : 'PENDING_ACTIVITY_STATE_STARTED'
          : a.paused
            ? 'PENDING_ACTIVITY_STATE_PAUSED'
            : 'PENDING_ACTIVITY_STATE_SCHEDULED',
      paused: a.paused === true,
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
