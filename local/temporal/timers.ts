/** Workflow timers: StartTimer / CancelTimer commands and the TimerFired event, on the server's (virtual) clock. */
import type { Duration } from './proto-types';
import { msFromDuration } from './time-format';
import type { TimerState, WorkflowRun } from './workflow-run';

export function startTimer(run: WorkflowRun, attrs: { timerId?: string; startToFireTimeout?: Duration }, workflowTaskCompletedEventId: number): void {
  const timerId = attrs.timerId ?? '';
  const started = run.append('TimerStarted', { timerId, startToFireTimeout: attrs.startToFireTimeout, workflowTaskCompletedEventId });
  const timer: TimerState = { timerId, startedEventId: started.eventId, dueTime: run.now() + Math.max(0, msFromDuration(attrs.startToFireTimeout)), cancel: () => undefined };
  run.timers.set(timerId, timer);
  armTimer(run, timer);
}

/** Sets the timer to fire at its due time (at once if that has passed, as for a timer loaded after a restart). */
export function armTimer(run: WorkflowRun, timer: TimerState): void {
  timer.cancel = run.scheduleAt(timer.dueTime, () => {
    if (run.timers.get(timer.timerId) !== timer) return;
    timer.firedPending = true;
    // A CancelTimer in the task that was running when this fired wins: the fire is dropped (see applyWrite).
    run.record({ kind: 'timerFired', timerId: timer.timerId, startedEventId: timer.startedEventId });
  });
}

export function cancelTimer(run: WorkflowRun, timerId: string, workflowTaskCompletedEventId: number): void {
  const timer = run.timers.get(timerId);
  if (!timer) return;
  timer.cancel();
  timer.cancelled = true;
  run.timers.delete(timerId);
  run.append('TimerCanceled', { timerId, startedEventId: timer.startedEventId, workflowTaskCompletedEventId, identity: '' });
}
