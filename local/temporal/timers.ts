/** Workflow timers: StartTimer / CancelTimer commands and the TimerFired event, on the server's (virtual) clock. */
import type { Duration } from './proto-types';
import { msFromDuration } from './time-format';
import type { TimerState, WorkflowRun } from './workflow-run';

export function startTimer(run: WorkflowRun, attrs: { timerId?: string; startToFireTimeout?: Duration }, workflowTaskCompletedEventId: number): void {
  const timerId = attrs.timerId ?? '';
  const started = run.append('TimerStarted', { timerId, startToFireTimeout: attrs.startToFireTimeout, workflowTaskCompletedEventId });
  const timer: TimerState = { timerId, startedEventId: started.eventId, cancel: () => undefined };
  timer.cancel = run.schedule(msFromDuration(attrs.startToFireTimeout), () => {
    if (run.timers.get(timerId) !== timer) return;
    timer.firedPending = true;
    run.record(() => {
      // A CancelTimer in the task that was running when this fired wins: the fire is dropped.
      if (timer.cancelled) return;
      run.timers.delete(timerId);
      run.append('TimerFired', { timerId, startedEventId: timer.startedEventId });
    });
  });
  run.timers.set(timerId, timer);
}

export function cancelTimer(run: WorkflowRun, timerId: string, workflowTaskCompletedEventId: number): void {
  const timer = run.timers.get(timerId);
  if (!timer) return;
  timer.cancel();
  timer.cancelled = true;
  run.timers.delete(timerId);
  run.append('TimerCanceled', { timerId, startedEventId: timer.startedEventId, workflowTaskCompletedEventId, identity: '' });
}
