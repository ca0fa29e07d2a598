/**
 * Conformance: ResetWorkflowExecution through the official client against `bin/mlops server start-dev`: a new run
 * with the history up to the reset workflow task, that task failed with cause RESET_WORKFLOW, later signals applied
 * again (unless asked not to), the old run terminated, children open at the reset point adopted by the new run.
 */
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import type Long from 'long';
import { MLOPS_BIN, useTestEnvironment } from './helpers';

const suite = useTestEnvironment(() => TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: MLOPS_BIN } } }));
const { EventType, ResetReapplyType, WorkflowTaskFailedCause } = temporal.api.enums.v1;

async function firstTaskCompletedEventId(h: WorkflowHandle): Promise<number> {
  const events = (await h.fetchHistory()).events ?? [];
  const completed = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (!completed?.eventId) throw new Error('no completed workflow task');
  return Number(completed.eventId);
}

async function reset(h: WorkflowHandle, runId: string, workflowTaskFinishEventId: number, extra: Partial<temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest> = {}): Promise<{ runId: string }> {
  const request: temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest = {
    namespace: 'default',
    workflowExecution: { workflowId: h.workflowId, runId },
    // the client encodes an int64 given as a number as well as a Long
    workflowTaskFinishEventId: workflowTaskFinishEventId as unknown as Long,
    reason: 'conformance reset',
    requestId: randomUUID(),
    ...extra,
  };
  const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse = await suite.env.client.workflowService.resetWorkflowExecution(request);
  return { runId: response.runId ?? '' };
}

describe('ResetWorkflowExecution', () => {
  it('starts a new run from the reset point, applies the later signals again and terminates the old run', async () => {
    const h = await suite.start('activityTimerSignal', ['Ada']);
    await h.signal('add', 2);
    await expect.poll(() => h.query('total'), { timeout: 10_000 }).toBe(2);
    const greetsBefore = suite.w.log.calls.filter((c) => c === 'greet:Ada').length;
    const { runId } = await reset(h, h.firstExecutionRunId, await firstTaskCompletedEventId(h));
    expect(runId).toBeTruthy();
    expect(runId).not.toBe(h.firstExecutionRunId);

    const old = await suite.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe();
    expect(old.status.name).toBe('TERMINATED');
    const current = suite.env.client.workflow.getHandle(h.workflowId);
    expect((await current.describe()).runId).toBe(runId);
    await expect.poll(() => current.query('total'), { timeout: 10_000 }).toBe(2);
    await current.signal('add', 40);
    await current.signal('finish');
    expect(await current.result()).toBe('Hello, Ada! total=42');
    // the new run ran the workflow again from its first task: the activity ran once more
    expect(suite.w.log.calls.filter((c) => c === 'greet:Ada').length).toBe(greetsBefore + 1);

    const events = (await suite.env.client.workflow.getHandle(h.workflowId, runId).fetchHistory()).events ?? [];
    const failed = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)?.workflowTaskFailedEventAttributes;
    expect(failed?.cause).toBe(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
    expect(failed?.baseRunId).toBe(h.firstExecutionRunId);
    expect(failed?.newRunId).toBe(runId);
  });

  it('does not apply the signals again with reapply type NONE, and answers a repeated request id with the same run', async () => {
    const h = await suite.start('activityTimerSignal', ['Bo']);
    await h.signal('add', 5);
    await expect.poll(() => h.query('total'), { timeout: 10_000 }).toBe(5);
    const requestId = randomUUID();
    const eventId = await firstTaskCompletedEventId(h);
    const first = await reset(h, h.firstExecutionRunId, eventId, { requestId, resetReapplyType: ResetReapplyType.RESET_REAPPLY_TYPE_NONE });
    const again = await reset(h, h.firstExecutionRunId, eventId, { requestId, resetReapplyType: ResetReapplyType.RESET_REAPPLY_TYPE_NONE });
    expect(again.runId).toBe(first.runId);
    const current = suite.env.client.workflow.getHandle(h.workflowId, first.runId);
    await current.signal('finish');
    expect(await current.result()).toBe('Hello, Bo! total=0');
  });

  it('keeps a child started before the reset point as a child of the new run', async () => {
    const h = await suite.start('parent', []);
    expect(await h.result()).toHaveLength(2);
    const events = (await h.fetchHistory()).events ?? [];
    const childStarted = events.find((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
    // the first task completed after the child started: the child is open at that point in the history
    const after = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && Number(e.eventId) > Number(childStarted?.eventId));
    const { runId } = await reset(h, h.firstExecutionRunId, Number(after?.eventId));
    const result = await suite.env.client.workflow.getHandle(h.workflowId, runId).result();
    expect(result).toHaveLength(2);
  });

  it('refuses an event id that is not the end of a workflow task', async () => {
    const h = await suite.start('activityTimerSignal', ['Cy']);
    await expect.poll(() => h.query('total'), { timeout: 10_000 }).toBe(0);
    await expect(reset(h, h.firstExecutionRunId, 1)).rejects.toMatchObject({ code: 3 });
    await h.signal('finish');
    expect(await h.result()).toBe('Hello, Cy! total=0');
  });

  it('replays every history of this file', async () => {
    await suite.replay();
  });
});
