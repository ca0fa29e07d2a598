/**
 * Updates as the real server handles them, through the official SDK client and worker against the embedded server: delivery with a start-delayed first task, PollWorkflowExecutionUpdate without a stage, the limits on
 * updates in flight, update-with-start failures per operation, and updates a closing run never saw.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { status as grpcStatus } from '@grpc/grpc-js';
import { Client, Connection, WorkflowNotFoundError, WithStartWorkflowOperation, isGrpcServiceError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { startWorker, uniqueId, uniqueQueue, useTestEnvironment } from './helpers';

let server: TemporalServer | undefined;
// Registered first, so it runs after the environment's teardown.
afterAll(async () => server?.close());
const suite = useTestEnvironment(async () => {
  server = await startTemporalServer({ port: 0 });
  return TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
});
const { ADMITTED } = { ADMITTED: temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED };

/**
 * PollWorkflowExecutionUpdate without a wait policy, as the SDK's own tests use it to see an update admitted: it
 * answers the stage reached at once (the SDK gives such a check 5 s in all), never waits for a worker.
 */
async function admittedStage(workflowId: string, updateId: string): Promise<number | null | undefined> {
  const answer = suite.env.client.workflowService.pollWorkflowExecutionUpdate({ namespace: 'default', updateRef: { workflowExecution: { workflowId }, updateId } });
  const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('PollWorkflowExecutionUpdate without a stage did not answer within 3 s')), 3000));
  return (await Promise.race([answer, late])).stage;
}

async function eventually<T>(f: () => Promise<T>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > until || (err instanceof Error && err.message.includes('did not answer'))) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A client whose calls are not retried, so a RESOURCE_EXHAUSTED answer reaches the test at once. */
async function clientWithoutRetries(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: suite.env.address, interceptors: [] });
  return { client: new Client({ connection, namespace: 'default' }), connection };
}

/** Resolves once the run's first workflow task is started, i.e. a worker is running it. */
async function firstTaskStarted(workflowId: string): Promise<void> {
  await eventually(async () => {
    const { events } = await suite.env.client.workflow.getHandle(workflowId).fetchHistory();
    if (!events?.some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)) throw new Error('not yet');
  });
}

describe('update delivery', () => {
  it('answers a poll without a stage at once, and delivers updates with the first task of a start-delayed run', async () => {
    const taskQueue = uniqueQueue('delayed');
    const workflowId = uniqueId('two-updates');
    const h = await suite.env.client.workflow.start('appendUntilDone', { taskQueue, workflowId, startDelay: '10000 days' });
    const first = h.executeUpdate('append', { args: ['1'], updateId: 'u1' });
    expect(await eventually(() => admittedStage(workflowId, 'u1'))).toBe(ADMITTED);
    const second = h.executeUpdate('done', { updateId: 'u2' });
    expect(await eventually(() => admittedStage(workflowId, 'u2'))).toBe(ADMITTED);
    // Only now a worker polls: its first activation holds both updates and the start.
    const w = await startWorker(suite.env.nativeConnection, suite.workflowBundle, { taskQueue });
    try {
      expect(await h.result()).toEqual(['1', 'done', '$']);
      expect(await first).toContain('1');
      await second;
    } finally {
      await w.stop();
    }
    suite.handles.push(h);
  });

  it('gives an update sent to a start-delayed run to the run at once', async () => {
    const h = await suite.start('returnsStateAtOnce', [], { startDelay: '10000 days' });
    await h.executeUpdate('mutate');
    expect(await h.result()).toBe('mutated-by-update');
  });
});

describe('limits and update-with-start failures', () => {
  it('refuses an eleventh update in flight with RESOURCE_EXHAUSTED, alone and with start', async () => {
    const h = await suite.start('blockingUpdates', []);
    for (let i = 0; i < 10; i++) await h.startUpdate('block', { waitForStage: 'ACCEPTED', updateId: `b${i}` });
    const { client, connection } = await clientWithoutRetries();
    try {
      const alone = await client.workflow.getHandle(h.workflowId).startUpdate('block', { waitForStage: 'ACCEPTED' }).catch((e: unknown) => e);
      const cause = (alone as { cause?: unknown }).cause;
      expect(isGrpcServiceError(cause) && cause.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
      const op = new WithStartWorkflowOperation('blockingUpdates', { workflowId: h.workflowId, taskQueue: suite.w.taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
      const withStart = await client.workflow.startUpdateWithStart('block', { waitForStage: 'ACCEPTED', startWorkflowOperation: op }).catch((e: unknown) => e);
      expect(isGrpcServiceError(withStart) && withStart.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
      expect((withStart as Error).message).toMatch(/in-flight updates/);
      // The start was not the one that failed: the existing run is still the only one.
      expect((await h.describe()).status.name).toBe('RUNNING');
    } finally {
      await connection.close();
      await h.terminate();
    }
  });

  it('rejects an invalid start of update-with-start as INVALID_ARGUMENT, for both handles', async () => {
    const op = new WithStartWorkflowOperation('appendUntilDone', { workflowId: 'x'.repeat(1001), taskQueue: suite.w.taskQueue, workflowIdConflictPolicy: 'FAIL' });
    for (const promise of [suite.env.client.workflow.startUpdateWithStart('append', { args: ['1'], waitForStage: 'ACCEPTED', startWorkflowOperation: op }), op.workflowHandle()]) {
      const err = await promise.catch((e: unknown) => e);
      expect(isGrpcServiceError(err) && err.code).toBe(grpcStatus.INVALID_ARGUMENT);
      expect((err as Error).message).toMatch(/WorkflowId length exceeds limit/);
    }
  });
});

describe('updates a closing run never saw', () => {
  it('go to the next run when the run continues as new', async () => {
    const h = await suite.start('slowTaskThenEnds', ['continue']);
    await firstTaskStarted(h.workflowId);
    // Admitted while the first run's only task runs its local activity; that task then continues as new.
    expect(await h.executeUpdate('whichRun')).toBe('handled by run 2');
    await h.terminate();
  });

  it('end with NotFound when the run returns', async () => {
    const h = await suite.start('slowTaskThenEnds', ['return']);
    await firstTaskStarted(h.workflowId);
    const err = await h.executeUpdate('whichRun').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowNotFoundError);
    expect(await h.result()).toBe('returned');
  });
});

describe('replay', () => {
  it('replays every history of this file without nondeterminism', async () => {
    await suite.replay();
  });
});
