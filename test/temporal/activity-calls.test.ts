/**
 * What workers and clients send about activities and completions, as the real server answers it: async completion
 * with a token for no task of ours, and the size limits on what a completion writes. Through the official SDK
 * client and worker against the embedded server (its blob limits set low, as `--dynamic-config-value
 * limit.blobSize.error=...` sets them).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writer } from 'protobufjs';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ActivityNotFoundError, Client, NamespaceNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { TerminatedFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { blobLimitsFromDynamicConfig } from '../../local/temporal/blob-limits';
import { uniqueId, uniqueQueue, useTestEnvironment } from './helpers';

const BLOB_ERROR_BYTES = 10 * 1024;
const { EventType, WorkflowTaskFailedCause } = temporal.api.enums.v1;
let server: TemporalServer | undefined;
// Registered first, so it runs after the environment's teardown.
afterAll(async () => server?.close());
const suite = useTestEnvironment(async () => {
  server = await startTemporalServer({ port: 0, blobLimits: { blobSizeErrorBytes: BLOB_ERROR_BYTES, blobSizeWarnBytes: 2 * 1024 } });
  return TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
});

/** A task token in the real server's format (temporal.server.api.token.v1.Task) for an activity that does not exist. */
function serverFormatToken(namespaceId: string): Uint8Array {
  const w = Writer.create();
  w.uint32((1 << 3) | 2).string(namespaceId);
  w.uint32((2 << 3) | 2).string(randomUUID());
  w.uint32((3 << 3) | 2).string(randomUUID());
  w.uint32(4 << 3).int64(5);
  w.uint32(5 << 3).int32(1);
  w.uint32((6 << 3) | 2).string('1');
  w.uint32((8 << 3) | 2).string('completeAsync');
  return w.finish();
}

describe('async completion', () => {
  it('answers NotFound for a well-formed token of an activity that does not exist', async () => {
    const { namespaceInfo } = await suite.env.client.workflowService.describeNamespace({ namespace: 'default' });
    const token = serverFormatToken(namespaceInfo?.id as string);
    await expect(suite.env.client.activity.complete(token, 'done')).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(suite.env.client.activity.heartbeat(token, 'beat')).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(suite.env.client.activity.fail(token, new Error('x'))).rejects.toBeInstanceOf(ActivityNotFoundError);
    await expect(suite.env.client.activity.reportCancellation(token)).rejects.toBeInstanceOf(ActivityNotFoundError);
  });

  it('names an unknown namespace before reading the token, as the real frontend does', async () => {
    const other = new Client({ connection: suite.env.client.connection, namespace: 'non-existent' });
    await expect(other.activity.complete(new Uint8Array([1]), 'done')).rejects.toBeInstanceOf(NamespaceNotFoundError);
    await expect(other.activity.heartbeat(new Uint8Array([1]), 'beat')).rejects.toBeInstanceOf(NamespaceNotFoundError);
  });

  it('still refuses bytes that are no task token at all', async () => {
    const err = await suite.env.client.activity.complete(new Uint8Array([1]), 'done').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ActivityNotFoundError);
    expect(String((err as Error).message)).toMatch(/deserializing task token|Unexpected error/i);
  });
});

describe('size limits on completions', () => {
  it('takes the limits from the temporal CLI dynamic config flags of `mlops server start-dev`', () => {
    expect(blobLimitsFromDynamicConfig(['limit.blobSize.error=10240', 'limit.blobSize.warn="2048"', 'limit.memoSize.error=4096', 'history.enableChasm=true', 'limit.memoSize.warn=nope'])).toEqual({
      blobSizeErrorBytes: 10240,
      blobSizeWarnBytes: 2048,
      memoSizeErrorBytes: 4096,
    });
  });

  it('reports the error limits with the namespace, so the worker refuses an oversized result itself', async () => {
    const { namespaceInfo } = await suite.env.client.workflowService.describeNamespace({ namespace: 'default' });
    expect(Number(namespaceInfo?.limits?.blobSizeLimitError)).toBe(BLOB_ERROR_BYTES);
    expect(Number(namespaceInfo?.limits?.memoSizeLimitError)).toBe(2 * 1024 * 1024);
    const h = await suite.start('returnsLargeResult', [BLOB_ERROR_BYTES + 1024]);
    try {
      await eventually(async () => {
        const { events } = await h.fetchHistory();
        const failed = events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
        expect(failed?.workflowTaskFailedEventAttributes?.cause).toBe(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PAYLOADS_TOO_LARGE);
      });
    } finally {
      await h.terminate();
    }
  });

  it('fails the task and terminates the workflow when an oversized result reaches the server', async () => {
    const taskQueue = uniqueQueue('optout');
    const worker = await Worker.create({ connection: suite.env.nativeConnection, taskQueue, workflowBundle: suite.workflowBundle, disablePayloadErrorLimit: true });
    const h = await suite.env.client.workflow.start('returnsLargeResult', { taskQueue, workflowId: uniqueId('large'), args: [BLOB_ERROR_BYTES + 1024] });
    const err = await worker.runUntil(h.result()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);
    const { events } = await h.fetchHistory();
    const types = (events ?? []).map((e) => e.eventType);
    expect(types.slice(-2)).toEqual([EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]);
    const failed = events?.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    expect(failed?.workflowTaskFailedEventAttributes?.failure?.message).toBe('CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.');
    expect(events?.at(-1)?.workflowExecutionTerminatedEventAttributes?.reason).toBe('CompleteWorkflowExecutionCommandAttributes.Result exceeds size limit.');
  });
});

describe('PauseActivity, UnpauseActivity, ResetActivity', () => {
  const { PendingActivityState } = temporal.api.enums.v1;
  const svc = () => suite.env.client.workflowService;

  /** Starts the workflow and resolves once its activity's first attempt is running (heartbeating). */
  async function running(rethrow: boolean): Promise<{ h: Awaited<ReturnType<typeof suite.start>>; req: { namespace: string; execution: { workflowId: string }; id: string } }> {
    const h = await suite.start('interruptibleActivity', [rethrow]);
    await eventually(async () => {
      const { raw } = await h.describe();
      expect(raw.pendingActivities?.[0]?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    });
    const { raw } = await h.describe();
    return { h, req: { namespace: 'default', execution: { workflowId: h.workflowId }, id: raw.pendingActivities?.[0]?.activityId as string } };
  }

  it('tells a running activity it was paused, through its heartbeat', async () => {
    const { h, req } = await running(false);
    await svc().pauseActivity({ ...req, requestId: 'p1' });
    // The same request again is fine; another pause of a paused activity is refused.
    await svc().pauseActivity({ ...req, requestId: 'p1' });
    await expect(svc().pauseActivity({ ...req, requestId: 'p2' })).rejects.toMatchObject({ code: grpcStatus.FAILED_PRECONDITION });
    expect(await h.result()).toEqual({ attempt: 1, paused: true, reset: false, cancelRequested: false });
  });

  it('tells it of a reset, and of both', async () => {
    const one = await running(false);
    await svc().resetActivity(one.req);
    expect(await one.h.result()).toEqual({ attempt: 1, paused: false, reset: true, cancelRequested: false });
    const both = await running(false);
    await Promise.all([svc().pauseActivity(both.req), svc().resetActivity({ ...both.req, keepPaused: true })]);
    expect(await both.h.result()).toEqual({ attempt: 1, paused: true, reset: true, cancelRequested: false });
    // A reset leaves a running activity paused even without keepPaused, as the real server does.
    const pausedThenReset = await running(false);
    await svc().pauseActivity(pausedThenReset.req);
    await svc().resetActivity(pausedThenReset.req);
    expect(await pausedThenReset.h.result()).toEqual({ attempt: 1, paused: true, reset: true, cancelRequested: false });
  });

  it('retries a reset activity that fails, and holds back the retry of a paused one until it is unpaused', async () => {
    const reset = await running(true);
    await svc().resetActivity(reset.req);
    expect(await reset.h.result()).toEqual({ attempt: 2 });

    const paused = await running(true);
    await svc().pauseActivity(paused.req);
    await eventually(async () => {
      const { raw } = await paused.h.describe();
      expect(raw.pendingActivities?.[0]?.state).toBe(PendingActivityState.PENDING_ACTIVITY_STATE_PAUSED);
      expect(raw.pendingActivities?.[0]?.lastFailure?.applicationFailureInfo?.type).toBe('ActivityPause');
    });
    const before = suite.w.log.calls.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(suite.w.log.calls.length).toBe(before);
    await svc().unpauseActivity(paused.req);
    expect(await paused.h.result()).toEqual({ attempt: 2 });
  });

  it('answers NotFound for an activity the workflow does not have', async () => {
    const { h, req } = await running(false);
    await expect(svc().pauseActivity({ ...req, id: 'no-such-activity' })).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await h.terminate();
  });
});

async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
