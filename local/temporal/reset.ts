/**
 * ResetWorkflowExecution, as the real server's workflow resetter does it: the new run's history is the base run's up
 * to the workflow task being reset to (its started event), then that task fails with cause RESET_WORKFLOW (naming the
 * base and the new run) and the signals the base run received after that point are applied again; a new workflow
 * task follows. Children started before that point and still open there stay children of the new run. What is decided here is where to cut and what to carry over; the engine makes the run.
 */
import { eventTypeName } from './history';
import { invalidArgument, ServiceError } from './errors';
import type { HistoryEvent } from './proto-types';
import { status } from '@grpc/grpc-js';

const FINISH_TYPES = ['WorkflowTaskCompleted', 'WorkflowTaskFailed', 'WorkflowTaskTimedOut'].map(eventTypeName);

/** Events that open something the run must keep track of, and the attribute of their closing events naming them. */
const OPENERS: Record<string, { closers: string[]; ref: string }> = {
  ActivityTaskScheduled: { closers: ['ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled'], ref: 'scheduledEventId' },
  TimerStarted: { closers: ['TimerFired', 'TimerCanceled'], ref: 'startedEventId' },
  StartChildWorkflowExecutionInitiated: {
    closers: ['StartChildWorkflowExecutionFailed', 'ChildWorkflowExecutionCompleted', 'ChildWorkflowExecutionFailed', 'ChildWorkflowExecutionCanceled', 'ChildWorkflowExecutionTimedOut', 'ChildWorkflowExecutionTerminated'],
    ref: 'initiatedEventId',
  },
  SignalExternalWorkflowExecutionInitiated: { closers: ['ExternalWorkflowExecutionSignaled', 'SignalExternalWorkflowExecutionFailed'], ref: 'initiatedEventId' },
  RequestCancelExternalWorkflowExecutionInitiated: { closers: ['ExternalWorkflowExecutionCancelRequested', 'RequestCancelExternalWorkflowExecutionFailed'], ref: 'initiatedEventId' },
  WorkflowExecutionUpdateAccepted: { closers: ['WorkflowExecutionUpdateCompleted'], ref: 'acceptedEventId' },
  NexusOperationScheduled: { closers: ['NexusOperationCompleted', 'NexusOperationFailed', 'NexusOperationCanceled', 'NexusOperationTimedOut'], ref: 'scheduledEventId' },
};

const openerOf = new Map(Object.keys(OPENERS).map((k) => [eventTypeName(k), k]));
const closerRef = new Map(Object.values(OPENERS).flatMap((o) => o.closers.map((c) => [eventTypeName(c), o.ref] as const)));

function attrs(event: HistoryEvent): Record<string, unknown> {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  return (key ? event[key] : {}) as Record<string, unknown>;
}

export interface ResetPoint {
  /** events 1 .. the reset task's started event, copied into the new run */
  prefix: HistoryEvent[];
  /** the reset task's scheduled and started event ids, for its WorkflowTaskFailed event */
  scheduledEventId: number;
  startedEventId: number;
  /** started event id of the last workflow task completed within the prefix */
  lastCompletedStartedEventId: number;
  cancelRequested: boolean;
  /** WorkflowExecutionSignaled attributes from after the reset point, to apply again */
  signals: Record<string, unknown>[];
  /** children started before the reset point and not closed there: the new run is their parent from now on */
  children: PendingChild[];
}

export interface PendingChild {
  initiatedEventId: number;
  startedEventId: number;
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: Record<string, unknown>;
  parentClosePolicy: string;
}

export function resetPoint(history: HistoryEvent[], finishEventId: number, reapplySignals: boolean): ResetPoint {
  const finish = Number.isInteger(finishEventId) && finishEventId > 0 ? history[finishEventId - 1] : undefined;
  if (!finish || !FINISH_TYPES.includes(String(finish.eventType))) {
    throw invalidArgument(`Invalid WorkflowTaskFinishEventId ${finishEventId}: it must be the id of a WorkflowTaskCompleted, WorkflowTaskFailed or WorkflowTaskTimedOut event of the run.`);
  }
  const finishAttrs = attrs(finish) as { scheduledEventId?: number | string; startedEventId?: number | string };
  const startedEventId = Number(finishAttrs.startedEventId);
  const scheduledEventId = Number(finishAttrs.scheduledEventId);
  if (!(startedEventId > 0) || !(scheduledEventId > 0)) throw invalidArgument(`Invalid WorkflowTaskFinishEventId ${finishEventId}: the workflow task never started.`);
  const prefix = history.slice(0, startedEventId).map((e) => ({ ...e }));
  const open = new Map<number, string>();
  let lastCompletedStartedEventId = 0;
  let cancelRequested = false;
  for (const e of prefix) {
    const type = String(e.eventType);
    const opener = openerOf.get(type);
    if (opener) open.set(Number(e.eventId), opener);
    const ref = closerRef.get(type);
    if (ref) open.delete(Number(attrs(e)[ref]));
    if (type === eventTypeName('WorkflowTaskCompleted')) lastCompletedStartedEventId = Number(attrs(e).startedEventId);
    if (type === eventTypeName('WorkflowExecutionCancelRequested')) cancelRequested = true;
  }
  const children: PendingChild[] = [];
  for (const [eventId, kind] of open) {
    if (kind !== 'StartChildWorkflowExecutionInitiated') continue;
    const started = prefix.find((e) => e.eventType === eventTypeName('ChildWorkflowExecutionStarted') && Number(attrs(e).initiatedEventId) === eventId);
    if (!started) continue;
    const initiated = attrs(prefix[eventId - 1]) as { namespace?: string; workflowId?: string; workflowType?: Record<string, unknown>; parentClosePolicy?: string };
    const s = attrs(started) as { workflowExecution?: { runId?: string } };
    children.push({
      initiatedEventId: eventId,
      startedEventId: Number(started.eventId),
      namespace: initiated.namespace ?? '',
      workflowId: initiated.workflowId ?? '',
      runId: s.workflowExecution?.runId ?? '',
      workflowType: initiated.workflowType ?? {},
      parentClosePolicy: initiated.parentClosePolicy || 'PARENT_CLOSE_POLICY_TERMINATE',
    });
    open.delete(eventId);
  }
  if (open.size > 0) {
    const [eventId, kind] = [...open][0];
    throw new ServiceError(
      status.FAILED_PRECONDITION,
      `The embedded server resets only to a point where no activity, timer, external call, update or unstarted child is in flight; event ${eventId} (${kind}) is still open there. Reset to an earlier or a later workflow task.`,
    );
  }
  const signals = reapplySignals
    ? history.slice(finishEventId).filter((e) => e.eventType === eventTypeName('WorkflowExecutionSignaled')).map((e) => attrs(e))
    : [];
  return { prefix, scheduledEventId, startedEventId, lastCompletedStartedEventId, cancelRequested, signals, children };
}
