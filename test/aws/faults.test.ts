/**
 * Injected faults against the real SDK retry logic: throttling and transient 5xx are retried, 501 and modelled
 * client errors are not, a reset after commit makes the retry meet the committed change; the journal records each
 * attempt with the SDK's attempt number.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateTaskCommand, DataSyncClient } from '@aws-sdk/client-datasync';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningEmulator } from '../../local/aws';
import type { JournalEntry } from '../../local/aws/journal';
import { s3 as s3Service } from '../../local/aws/services/s3';
import { caught, clientConfig, control, startTestEmulator } from './harness';
import { datasyncExample } from './fixtures/datasync-example';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ services: [s3Service, datasyncExample] });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  await control(emu.endpoint, 'POST', '/reset');
});

const datasync = (maxAttempts = 3) => new DataSyncClient(clientConfig(emu.endpoint, maxAttempts));
const s3 = (maxAttempts = 3) => new S3Client({ ...clientConfig(emu.endpoint, maxAttempts), forcePathStyle: true });
const createTask = (client: DataSyncClient) => client.send(new CreateTaskCommand({ SourceLocationArn: 'arn:src', DestinationLocationArn: 'arn:dst' }));

async function inject(fault: Record<string, unknown>): Promise<{ id: string }> {
  const res = await control<{ id: string }>(emu.endpoint, 'POST', '/faults', fault);
  expect(res.status).toBe(201);
  return res.body;
}

async function journal(service: string, operation: string): Promise<JournalEntry[]> {
  return (await control<{ entries: JournalEntry[] }>(emu.endpoint, 'GET', `/journal?service=${service}&operation=${operation}`)).body.entries;
}

describe('throttling', () => {
  it('is retried by the SDK until it passes, and the journal shows attempts 1, 2, 3 of one invocation', async () => {
    const fault = await inject({ service: 'datasync', operation: 'CreateTask', error: 'ThrottlingException', count: 2 });
    const out = await createTask(datasync(3));
    expect(out.$metadata.attempts).toBe(3);
    const entries = await journal('datasync', 'CreateTask');
    expect(entries.map((e) => [e.attempt, e.maxAttempts, e.status, e.error ?? null, e.fault ?? null])).toEqual([
      [1, 3, 400, 'ThrottlingException', fault.id],
      [2, 3, 400, 'ThrottlingException', fault.id],
      [3, 3, 200, null, null],
    ]);
    expect(new Set(entries.map((e) => e.invocationId)).size).toBe(1);
    expect((await control<{ faults: unknown[] }>(emu.endpoint, 'GET', '/faults')).body.faults).toEqual([]);
  });

  it('surfaces as ThrottlingException once the attempts are spent', async () => {
    await inject({ service: 'datasync', operation: 'CreateTask', error: 'ThrottlingException', count: 5 });
    const err = await caught(createTask(datasync(2)));
    expect(err.name).toBe('ThrottlingException');
    expect(err.$metadata.attempts).toBe(2);
    expect((await journal('datasync', 'CreateTask')).map((e) => e.attempt)).toEqual([1, 2]);
  });

  it('answers S3 with SlowDown (503), which the S3 client retries', async () => {
    await new S3Client({ ...clientConfig(emu.endpoint), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'throttled' }));
    await inject({ service: 's3', operation: 'PutObject', httpStatus: 503, count: 2 });
    const out = await s3(3).send(new PutObjectCommand({ Bucket: 'throttled', Key: 'k', Body: 'v' }));
    expect(out.$metadata.attempts).toBe(3);
    expect((await journal('s3', 'PutObject')).map((e) => [e.status, e.error ?? null])).toEqual([
      [503, 'SlowDown'],
      [503, 'SlowDown'],
      [200, null],
    ]);
  });
});

describe('server errors', () => {
  it.each([500, 502, 503, 504])('retries HTTP %i', async (httpStatus) => {
    await inject({ service: 'datasync', operation: 'CreateTask', httpStatus, count: 1 });
    const out = await createTask(datasync(3));
    expect(out.$metadata.attempts).toBe(2);
    expect((await journal('datasync', 'CreateTask')).map((e) => e.status)).toEqual([httpStatus, 200]);
  });

  it('does not retry HTTP 501', async () => {
    await inject({ service: 'datasync', operation: 'CreateTask', httpStatus: 501, count: 3 });
    const err = await caught(createTask(datasync(3)));
    expect(err.name).toBe('NotImplemented');
    expect(err.$metadata.attempts).toBe(1);
    expect((await journal('datasync', 'CreateTask')).map((e) => [e.attempt, e.status])).toEqual([[1, 501]]);
  });

  it('does not retry a modelled client error, and raises its class', async () => {
    await inject({ service: 'datasync', operation: 'CreateTask', error: 'InvalidRequestException', message: 'quota exceeded', count: 1 });
    const err = await caught(createTask(datasync(3)));
    expect(err.constructor.name).toBe('InvalidRequestException');
    expect(err.message).toBe('quota exceeded');
    expect(err.$metadata.attempts).toBe(1);
  });

  it('hits only the named operation, and probability 0 never fires', async () => {
    await inject({ service: 's3', operation: 'PutObject', httpStatus: 501, count: 1 });
    await inject({ service: 's3', operation: 'CreateBucket', httpStatus: 501, probability: 0 });
    const client = s3(1);
    await client.send(new CreateBucketCommand({ Bucket: 'scoped' }));
    const err = await caught(client.send(new PutObjectCommand({ Bucket: 'scoped', Key: 'k', Body: 'v' })));
    expect(err.$metadata.httpStatusCode).toBe(501);
    await client.send(new PutObjectCommand({ Bucket: 'scoped', Key: 'k', Body: 'v' }));
  });
});

describe('after-commit faults', () => {
  it('commit the change, reset the connection, and the retry meets the change (conditional put)', async () => {
    const client = s3(3);
    await client.send(new CreateBucketCommand({ Bucket: 'lost-answers' }));
    await inject({ service: 's3', operation: 'PutObject', mode: 'after-commit', count: 1 });
    const err = await caught(client.send(new PutObjectCommand({ Bucket: 'lost-answers', Key: 'once', Body: 'first', IfNoneMatch: '*' })));
    // The first attempt wrote the object; its answer was lost; the retry is refused because the object exists.
    expect(err.name).toBe('PreconditionFailed');
    expect(err.$metadata.attempts).toBe(2);
    expect(await (await client.send(new GetObjectCommand({ Bucket: 'lost-answers', Key: 'once' }))).Body?.transformToString()).toBe('first');
    expect((await journal('s3', 'PutObject')).map((e) => [e.attempt, e.status, e.error])).toEqual([
      [1, 0, 'ConnectionReset'],
      [2, 412, 'PreconditionFailed'],
    ]);
  });

  it('make a retried create without an idempotency key create twice, as against AWS', async () => {
    await inject({ service: 'datasync', operation: 'CreateTask', mode: 'after-commit', count: 1 });
    const out = await createTask(datasync(3));
    expect(out.$metadata.attempts).toBe(2);
    const { body } = await control<{ tasks: { TaskArn: string }[] }>(emu.endpoint, 'GET', '/services/datasync/tasks');
    expect(body.tasks).toHaveLength(2);
    expect(body.tasks.map((t) => t.TaskArn)).toContain(out.TaskArn);
  });
});

describe('after-commit on a failing call', () => {
  it('still loses the answer: the client sees a reset, retries, and gets the error', async () => {
    await inject({ service: 'datasync', operation: 'CreateTask', mode: 'after-commit', count: 1 });
    const err = await caught(datasync(3).send(new CreateTaskCommand({ SourceLocationArn: 'arn:src' } as never)));
    expect(err.name).toBe('InvalidRequestException');
    expect(err.$metadata.attempts).toBe(2);
    expect((await journal('datasync', 'CreateTask')).map((e) => [e.attempt, e.status, e.error])).toEqual([
      [1, 0, 'ConnectionReset (InvalidRequestException)'],
      [2, 400, 'InvalidRequestException'],
    ]);
  });
});

describe('the faults endpoint', () => {
  it('validates fault specs and deletes faults one by one or all at once', async () => {
    expect((await control(emu.endpoint, 'POST', '/faults', { service: 'nope' })).status).toBe(400);
    expect((await control(emu.endpoint, 'POST', '/faults', { service: 's3', mode: 'sideways' })).status).toBe(400);
    expect((await control(emu.endpoint, 'POST', '/faults', { service: 's3', httpStatus: 200 })).status).toBe(400);
    const a = await inject({ service: 's3', operation: 'GetObject', count: 2 });
    await inject({ service: 's3', probability: 0.5 });
    expect((await control<{ faults: { id: string }[] }>(emu.endpoint, 'GET', '/faults')).body.faults.map((f) => f.id)).toHaveLength(2);
    expect((await control(emu.endpoint, 'DELETE', `/faults/${a.id}`)).status).toBe(200);
    expect((await control(emu.endpoint, 'DELETE', `/faults/${a.id}`)).status).toBe(404);
    await control(emu.endpoint, 'DELETE', '/faults');
    expect((await control<{ faults: unknown[] }>(emu.endpoint, 'GET', '/faults')).body.faults).toEqual([]);
  });
});
