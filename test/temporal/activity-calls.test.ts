/**
 * What workers and clients call about activities, as the real server answers it: async completion with a token for
 * no task of ours, through the official SDK client against the embedded server.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writer } from 'protobufjs';
import { ActivityNotFoundError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { randomUUID } from 'node:crypto';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { useTestEnvironment } from './helpers';

let server: TemporalServer | undefined;
// Registered first, so it runs after the environment's teardown.
afterAll(async () => server?.close());
const suite = useTestEnvironment(async () => {
  server = await startTemporalServer({ port: 0 });
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

  it('still refuses bytes that are no task token at all', async () => {
    const err = await suite.env.client.activity.complete(new Uint8Array([1]), 'done').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ActivityNotFoundError);
    expect(String((err as Error).message)).toMatch(/deserializing task token|Unexpected error/i);
  });
});
