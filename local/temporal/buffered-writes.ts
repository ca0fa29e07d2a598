/**
 * Writes that come from outside the workflow (signals, activity results, timer fires, child and external results)
 * as plain data, not closures: while a workflow task runs they wait in the run's buffer, and a buffer of data can be
 * saved to the state file and applied after a restart exactly as it would have been.
 */
import type { Failure, Message } from './proto-types';
import type { WorkflowRun } from './workflow-run';

export type BufferedWrite =
  /** one event whose attributes are final when recorded */
  | { kind: 'event'; name: string; attrs: object }
  /** WorkflowExecutionSignaled; a request id already written is not written again */
  | { kind: 'signal'; attrs: { requestId?: string } & Message }
  /** ActivityTaskStarted (when the attempt started) then the closing event, which names the started event's id */
  | { kind: 'activityClosed'; scheduledEventId: number; started?: { identity: string; requestId: string; attempt: number; lastFailure?: Failure }; name: string; attrs: object }
  /** TimerFired, unless a CancelTimer of the task in flight got there first */
  | { kind: 'timerFired'; timerId: string; startedEventId: number }
  | { kind: 'childStarted'; initiatedEventId: number; attrs: object }
  | { kind: 'childStartFailed'; initiatedEventId: number; attrs: object }
  /** a child's close; `startedEventId` is looked up when the ChildWorkflowExecutionStarted was still buffered */
  | { kind: 'childClosed'; initiatedEventId: number; startedEventId?: number; name: string; attrs: object };

export function applyWrite(run: WorkflowRun, w: BufferedWrite): void {
  switch (w.kind) {
    case 'event':
      run.append(w.name, w.attrs);
      return;
    case 'signal':
      if (w.attrs.requestId) {
        if (run.signalRequestIds.has(w.attrs.requestId)) return;
        run.signalRequestIds.add(w.attrs.requestId);
      }
      run.append('WorkflowExecutionSignaled', w.attrs);
      return;
    case 'activityClosed': {
      let startedEventId = 0;
      if (w.started) startedEventId = run.append('ActivityTaskStarted', { scheduledEventId: w.scheduledEventId, ...w.started }).eventId;
      run.append(w.name, { ...w.attrs, startedEventId });
      return;
    }
    case 'timerFired': {
      const timer = run.timers.get(w.timerId);
      if (!timer || timer.startedEventId !== w.startedEventId || timer.cancelled) return;
      run.timers.delete(w.timerId);
      run.append('TimerFired', { timerId: w.timerId, startedEventId: w.startedEventId });
      return;
    }
    case 'childStarted': {
      const started = run.append('ChildWorkflowExecutionStarted', w.attrs);
      const child = run.children.get(w.initiatedEventId);
      if (child) child.startedEventId = started.eventId;
      return;
    }
    case 'childStartFailed':
      run.children.delete(w.initiatedEventId);
      run.append('StartChildWorkflowExecutionFailed', w.attrs);
      return;
    case 'childClosed':
      run.append(w.name, { ...w.attrs, startedEventId: w.startedEventId ?? childStartedEventId(run, w.initiatedEventId) });
      return;
    default:
      return;
  }
}

function childStartedEventId(run: WorkflowRun, initiatedEventId: number): number {
  for (let i = run.history.length - 1; i >= initiatedEventId; i--) {
    const e = run.history[i];
    const a = e.childWorkflowExecutionStartedEventAttributes as { initiatedEventId?: number } | undefined;
    if (a && Number(a.initiatedEventId) === initiatedEventId) return e.eventId as number;
  }
  return 0;
}
