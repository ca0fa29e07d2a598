/**
 * The service plugin interface of SERVICES.md, through its example service and the real DataSync client: awsJson1_1
 * routing, validation, typed errors, the job lifecycle on an injected virtual clock, scenarios, state-change and
 * CloudTrail events, service control endpoints.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateTaskCommand,
  DataSyncClient,
  DescribeTaskExecutionCommand,
  ListTasksCommand,
  StartTaskExecutionCommand,
} from '@aws-sdk/client-datasync';
import type { RunningEmulator } from '../../local/aws';
import type { DeliveryRecord } from '../../local/aws/events';
import { caught, clientConfig, control, startTestEmulator } from './harness';
import { defineService } from '../../local/aws/service';
import { datasyncExample } from './fixtures/datasync-example';

let emu: RunningEmulator;
let virtualNow = Date.parse('2026-01-01T00:00:00Z');
const clock = { now: () => virtualNow };

beforeEach(async () => {
  virtualNow = Date.parse('2026-01-01T00:00:00Z');
  emu = await startTestEmulator({ services: [datasyncExample], clock });
});
afterEach(async () => {
  await emu.close();
});

async function startExecution(ds: DataSyncClient): Promise<string> {
  const { TaskArn } = await ds.send(new CreateTaskCommand({ SourceLocationArn: 'arn:src', DestinationLocationArn: 'arn:dst', Name: 'copy' }));
  const { TaskExecutionArn } = await ds.send(new StartTaskExecutionCommand({ TaskArn }));
  return TaskExecutionArn as string;
}

describe('a service defined with defineService', () => {
  it('creates resources with ARNs and answers modelled errors as their SDK classes', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    const { TaskArn } = await ds.send(new CreateTaskCommand({ SourceLocationArn: 'arn:src', DestinationLocationArn: 'arn:dst' }));
    expect(TaskArn).toMatch(/^arn:aws:datasync:us-east-1:123456789012:task\/task-[0-9a-f]{17}$/);
    const err = await caught(ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: 'arn:nope' })));
    expect(err.name).toBe('InvalidRequestException');
    expect(err.constructor.name).toBe('InvalidRequestException');
    expect(err.message).toContain('arn:nope');
  });

  it('answers a missing field with the service validation error naming the field', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    const err = await caught(ds.send(new CreateTaskCommand({ SourceLocationArn: 'arn:src' } as never)));
    expect(err.name).toBe('InvalidRequestException');
    expect(err.message).toContain("'DestinationLocationArn'");
    const typed = await caught(ds.send(new StartTaskExecutionCommand({ TaskArn: 12 as unknown as string })));
    expect(typed.message).toContain("'TaskArn'");
    expect(typed.message).toContain('string');
  });

  it('answers an operation it does not define with UnknownOperationException naming service and operation, without retries', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint, 3));
    const err = await caught(ds.send(new ListTasksCommand({})));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.message).toBe('the emulator does not emulate operation ListTasks of service datasync');
    expect(err.$metadata?.attempts).toBe(1);
  });

  it('moves a job through its phases as the virtual clock jumps, publishing a state-change event per status', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    const arn = await startExecution(ds);
    const status = async () => (await ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: arn }))).Status;
    expect(await status()).toBe('QUEUED');
    virtualNow += 1_000;
    expect(await status()).toBe('LAUNCHING');
    virtualNow += 5_000 + 60_000 + 5_000 - 1;
    expect(await status()).toBe('VERIFYING');
    virtualNow += 1;
    expect(await status()).toBe('SUCCESS');
    const { body } = await control<{ events: DeliveryRecord[] }>(emu.endpoint, 'GET', '/events?detailType=DataSync%20Task%20Execution%20State%20Change');
    expect(body.events.map((e) => (e.event.detail as { State: string }).State)).toEqual(['QUEUED', 'LAUNCHING', 'TRANSFERRING', 'VERIFYING', 'SUCCESS']);
    expect(body.events.every((e) => e.event.resources[0] === arn && e.state === 'none')).toBe(true);
  });

  it('follows a scenario set through the control API: durations and a failure', async () => {
    const set = await control(emu.endpoint, 'POST', '/scenarios', {
      service: 'datasync',
      kind: 'task-execution',
      resource: '*',
      durationsMs: { TRANSFERRING: 3_600_000 },
      failureReason: 'disk full',
      failAtStatus: 'TRANSFERRING',
    });
    expect(set.status).toBe(201);
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    const arn = await startExecution(ds);
    virtualNow += 6_000 + 3_600_000 - 1;
    expect((await ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: arn }))).Status).toBe('TRANSFERRING');
    const advanced = await control<{ epochMs: number }>(emu.endpoint, 'POST', '/clock', { advanceMs: 1 });
    expect(advanced.body.epochMs).toBe(virtualNow + 1);
    expect((await ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: arn }))).Status).toBe('ERROR');
    const jobs = await control<{ jobs: { id: string; status: string; failureReason?: string; history: { status: string }[] }[] }>(
      emu.endpoint,
      'GET',
      '/jobs?service=datasync',
    );
    expect(jobs.body.jobs).toMatchObject([{ id: arn, status: 'ERROR', failureReason: 'disk full' }]);
    expect(jobs.body.jobs[0]?.history.map((h) => h.status)).toEqual(['QUEUED', 'LAUNCHING', 'TRANSFERRING', 'ERROR']);
  });

  it('applies the most specific scenario rule', async () => {
    await control(emu.endpoint, 'POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', failureReason: 'everyone fails' });
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    const { TaskArn } = await ds.send(new CreateTaskCommand({ SourceLocationArn: 'a', DestinationLocationArn: 'b' }));
    await control(emu.endpoint, 'POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: `${TaskArn}/*`, durationsMs: { QUEUED: 10 } });
    const { TaskExecutionArn } = await ds.send(new StartTaskExecutionCommand({ TaskArn }));
    virtualNow += 10 + 5_000 + 60_000 + 5_000;
    expect((await ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn }))).Status).toBe('SUCCESS');
  });

  it('publishes CloudTrail events for mutating calls only, with lowerCamel parameters', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    await startExecution(ds);
    await caught(ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: 'arn:nope' })));
    const { body } = await control<{ events: DeliveryRecord[] }>(emu.endpoint, 'GET', '/events?detailType=AWS%20API%20Call%20via%20CloudTrail');
    const details = body.events.map((e) => e.event.detail as { eventName: string; eventSource: string; requestParameters: Record<string, unknown>; responseElements: Record<string, unknown> });
    expect(details.map((d) => d.eventName)).toEqual(['CreateTask', 'StartTaskExecution']);
    expect(details[0]).toMatchObject({
      eventSource: 'datasync.amazonaws.com',
      requestParameters: { sourceLocationArn: 'arn:src', destinationLocationArn: 'arn:dst', name: 'copy' },
    });
    expect(String(details[0]?.responseElements.taskArn)).toMatch(/^arn:aws:datasync:/);
    expect(body.events[0]?.event).toMatchObject({ source: 'aws.datasync', time: '2026-01-01T00:00:00Z', account: '123456789012', region: 'us-east-1' });
  });

  it('serves the service control endpoints and lists them in health', async () => {
    const ds = new DataSyncClient(clientConfig(emu.endpoint));
    await ds.send(new CreateTaskCommand({ SourceLocationArn: 'a', DestinationLocationArn: 'b' }));
    const tasks = await control<{ tasks: { SourceLocationArn: string }[] }>(emu.endpoint, 'GET', '/services/datasync/tasks');
    expect(tasks.body.tasks.map((t) => t.SourceLocationArn)).toEqual(['a']);
    const health = await control<{ services: Record<string, { control: string[]; operations: string[] }> }>(emu.endpoint, 'GET', '/health');
    expect(health.body.services.datasync?.control).toEqual(['GET /_emulator/services/datasync/tasks']);
    expect(health.body.services.datasync?.operations).toEqual(['CreateTask', 'DescribeTaskExecution', 'StartTaskExecution']);
    const missing = await control<{ message: string }>(emu.endpoint, 'GET', '/services/datasync/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain('GET /tasks');
  });
});

describe('state shared between services', () => {
  it('gives every service of one emulator the same shared value, a fresh one after reset, and none across emulators', async () => {
    const seen: Record<string, object[]> = { a: [], b: [] };
    const sharing = (name: string) =>
      defineService<{ world: { files: string[] } }>({
        name,
        protocol: 'awsJson1_1',
        targetPrefix: `Share${name}`,
        createState: (scope) => {
          const world = scope.shared('world', () => ({ files: [] as string[] }));
          seen[name]?.push(world);
          return { world };
        },
        operations: {},
      });
    const first = await startTestEmulator({ services: [sharing('a'), sharing('b')] });
    const second = await startTestEmulator({ services: [sharing('a'), sharing('b')] });
    try {
      expect(seen.a?.[0]).toBe(seen.b?.[0]);
      expect(seen.a?.[1]).toBe(seen.b?.[1]);
      expect(seen.a?.[0]).not.toBe(seen.a?.[1]);
      await control(first.endpoint, 'POST', '/reset');
      expect(seen.a?.[2]).toBe(seen.b?.[2]);
      expect(seen.a?.[2]).not.toBe(seen.a?.[0]);
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('a failing transition hook', () => {
  it('is logged and does not fail the request that observed it', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const log = { error: (obj: unknown) => errors.push(obj), child: () => log } as unknown as import('pino').Logger;
    const fragile = defineService<Record<string, never>>({
      name: 'fragile',
      protocol: 'awsJson1_1',
      targetPrefix: 'FmrsService',
      createState: () => ({}),
      operations: {
        StartTaskExecution: {
          handler(input, ctx) {
            const job = ctx.jobs.start(
              {
                kind: 'k',
                phases: [{ status: 'QUEUED', durationMs: 10 }],
                succeeded: 'SUCCESS',
                failed: 'ERROR',
                onTransition: (j) => {
                  if (j.status === 'SUCCESS') throw new Error('hook bug');
                },
              },
              String(input.TaskArn),
            );
            return { TaskExecutionArn: job.id };
          },
        },
        DescribeTaskExecution: {
          handler: (input, ctx) => ({ Status: ctx.jobs.get('k', String(input.TaskExecutionArn))?.status }),
        },
      },
    });
    const emu2 = await startTestEmulator({ services: [fragile], clock: { now: () => now }, log });
    try {
      const ds = new DataSyncClient(clientConfig(emu2.endpoint));
      await ds.send(new StartTaskExecutionCommand({ TaskArn: 't' }));
      now += 10;
      expect((await ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: 't' }))).Status).toBe('SUCCESS');
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      await emu2.close();
    }
  });
});
