/**
 * Protocol rules the SDK relies on, checked deterministically by playing the worker by hand over raw gRPC:
 * the unhandled-command rule, buffering during an in-flight task, stale task tokens, the sticky-queue fallback,
 * queries that wait for an in-flight task, blocking history long polls, reverse history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { uniqueId, uniqueQueue } from './helpers';

const { CommandType, EventType, WorkflowTaskFailedCause, QueryResultType } = temporal.api.enums.v1;
type PollResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;

let server: TemporalServer;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  server = await startTemporalServer({ port: 0 });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
});

afterAll(async () => {
  await connection?.close();
  await server?.close();
});

function svc(): Connection['workflowService'] {
  return connection.workflowService;
}

async function startRaw(taskQueue: string): Promise<string> {
  const workflowId = uniqueId('raw');
  await client.workflow.start('rawWorkflow', { taskQueue, workflowId });
  return workflowId;
}

async function pollTask(taskQueue: string): Promise<PollResponse> {
  const task = await svc().pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, identity: 'by-hand' });
  expect(task.taskToken?.length).toBeGreaterThan(0);
  return task;
}

function types(events: temporal.api.history.v1.IHistoryEvent[] | null | undefined): string[] {
  return (events ?? []).map((e) => EventType[e.eventType ?? 0].replace('EVENT_TYPE_', ''));
}

const complete = { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} };

describe('workflow task rules', () => {
  it('fails a closing task when a signal arrived meanwhile, and hands the signal to the next task', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    expect(types(first.history?.events)).toEqual(['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    await client.workflow.getHandle(workflowId).signal('late', 1);
    const err = (await svc()
      .respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [complete] })
      .catch((e: unknown) => e)) as { code?: number; details?: string };
    expect(err.code).toBe(3);
    expect(err.details).toContain('UnhandledCommand');

    const second = await pollTask(tq);
    expect(types(second.history?.events)).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_FAILED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    const failed = second.history?.events?.[3]?.workflowTaskFailedEventAttributes;
    expect(failed?.cause).toBe(WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
    expect(Number(second.previousStartedEventId)).toBe(0);

    // The first task's token is stale now.
    const stale = (await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [complete] }).catch((e: unknown) => e)) as { code?: number };
    expect(stale.code).toBe(5);

    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [complete], sdkMetadata: { langUsedFlags: [1, 2] } });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const completed = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
    expect(completed?.workflowTaskCompletedEventAttributes?.sdkMetadata?.langUsedFlags).toEqual([1, 2]);
    expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
  });

  it('writes an activity result that arrives during a task after that task, with its started event', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    await svc().respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: first.taskToken,
      commands: [
        {
          commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
          scheduleActivityTaskCommandAttributes: { activityId: 'a1', activityType: { name: 'work' }, taskQueue: { name: tq }, startToCloseTimeout: msToTs(10_000) },
        },
      ],
    });
    const activity = await svc().pollActivityTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' });
    expect(activity.activityId).toBe('a1');
    expect(activity.retryPolicy?.maximumAttempts).toBe(0);
    await client.workflow.getHandle(workflowId).signal('nudge');
    const second = await pollTask(tq);
    await svc().respondActivityTaskCompleted({ namespace: 'default', taskToken: activity.taskToken, identity: 'by-hand' });
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [] });
    const third = await pollTask(tq);
    const events = third.history?.events ?? [];
    expect(types(events).slice(-6)).toEqual([
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    const started = events[events.length - 4];
    const completed = events[events.length - 3];
    expect(completed.activityTaskCompletedEventAttributes?.startedEventId?.toString()).toBe(started.eventId?.toString());
    expect(started.activityTaskStartedEventAttributes?.attempt).toBe(1);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: third.taskToken, commands: [complete] });
  });

  it('hands an activity straight to the completing worker when it asks for eager execution', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    const response = await svc().respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: first.taskToken,
      identity: 'by-hand',
      commands: [
        {
          commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
          scheduleActivityTaskCommandAttributes: {
            activityId: 'eager-1',
            activityType: { name: 'work' },
            taskQueue: { name: tq },
            startToCloseTimeout: msToTs(10_000),
            requestEagerExecution: true,
          },
        },
      ],
    });
    expect(response.activityTasks?.map((t) => t.activityId)).toEqual(['eager-1']);
    const [task] = response.activityTasks ?? [];
    await svc().respondActivityTaskCompleted({ namespace: 'default', taskToken: task.taskToken, identity: 'by-hand' });
    const next = await pollTask(tq);
    expect(types(next.history?.events).slice(-4)).toEqual(['ACTIVITY_TASK_STARTED', 'ACTIVITY_TASK_COMPLETED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: next.taskToken, commands: [complete] });
    expect((await client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');
  });

  it('moves a task that waits too long on a sticky queue to the normal queue, with full history', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    await svc().respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: first.taskToken,
      commands: [],
      stickyAttributes: { workerTaskQueue: { name: `${tq}-sticky` }, scheduleToStartTimeout: msToTs(200) },
    });
    await client.workflow.getHandle(workflowId).signal('wake');
    const t0 = Date.now();
    const second = await pollTask(tq);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(second.history?.events?.[0]?.eventId?.toString()).toBe('1');
    expect(Number(second.previousStartedEventId)).toBe(3);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [complete] });
  });

  it('gives a sticky poller only the events since its last task', async () => {
    const tq = uniqueQueue();
    const sticky = `${tq}-sticky`;
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [], stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: msToTs(5000) } });
    await client.workflow.getHandle(workflowId).signal('wake');
    const second = await pollTask(sticky);
    expect(types(second.history?.events)).toEqual(['WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [complete] });
  });

  it('answers a query that arrived during a task once that task completes', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    const query = client.workflow.getHandle(workflowId).query<string>('state');
    await new Promise((r) => setTimeout(r, 50));
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [] });
    const queryTask = await pollTask(tq);
    expect(queryTask.query?.queryType).toBe('state');
    await svc().respondQueryTaskCompleted({
      namespace: 'default',
      taskToken: queryTask.taskToken,
      completedType: QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"idle"') }] },
    });
    expect(await query).toBe('idle');
    await client.workflow.getHandle(workflowId).terminate();
  });
});

describe('history', () => {
  it('blocks a history long poll until a new event, and reads history in reverse', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const page = await svc().getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
    expect(page.history?.events?.length).toBe(2);
    const waiting = svc().getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId }, waitNewEvent: true, nextPageToken: Buffer.from(JSON.stringify({ runId: (await client.workflow.getHandle(workflowId).describe()).runId, next: 3 })) });
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    await client.workflow.getHandle(workflowId).signal('wake');
    expect(types((await waiting).history?.events)).toEqual(['WORKFLOW_EXECUTION_SIGNALED']);
    const reverse = await svc().getWorkflowExecutionHistoryReverse({ namespace: 'default', execution: { workflowId }, maximumPageSize: 2 });
    expect(types(reverse.history?.events)).toEqual(['WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED']);
    expect(reverse.nextPageToken?.length).toBeGreaterThan(0);
    await client.workflow.getHandle(workflowId).terminate();
  });

  it('answers every call with an empty request with a proper status, never INTERNAL', async () => {
    const methods = [
      'startWorkflowExecution', 'signalWithStartWorkflowExecution', 'signalWorkflowExecution', 'requestCancelWorkflowExecution',
      'terminateWorkflowExecution', 'getWorkflowExecutionHistory', 'getWorkflowExecutionHistoryReverse', 'pollWorkflowTaskQueue',
      'respondWorkflowTaskCompleted', 'respondWorkflowTaskFailed', 'pollActivityTaskQueue', 'recordActivityTaskHeartbeat',
      'recordActivityTaskHeartbeatById', 'respondActivityTaskCompleted', 'respondActivityTaskCompletedById', 'respondActivityTaskFailed',
      'respondActivityTaskFailedById', 'respondActivityTaskCanceled', 'respondActivityTaskCanceledById', 'queryWorkflow',
      'respondQueryTaskCompleted', 'updateWorkflowExecution', 'pollWorkflowExecutionUpdate', 'describeWorkflowExecution',
      'describeNamespace', 'registerNamespace', 'updateNamespace', 'listWorkflowExecutions', 'countWorkflowExecutions',
      'executeMultiOperation', 'shutdownWorker', 'describeTaskQueue', 'resetStickyTaskQueue',
    ] as const;
    const service = svc() as unknown as Record<string, (req: object) => Promise<unknown>>;
    for (const method of methods) {
      const outcome = await service[method]({}).then(
        () => 'ok',
        (e: { code?: number }) => e.code,
      );
      expect([method, outcome]).not.toEqual([method, 13]);
    }
    expect((await svc().getSystemInfo({})).serverVersion).toBeTruthy();
  });

  it('never crashes on malformed input', async () => {
    const bad = await svc().getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: 'x' }, nextPageToken: Buffer.from('{{{') }).catch((e: { code?: number }) => e);
    expect((bad as { code?: number }).code).toBe(5);
    const noNs = await svc().pollWorkflowTaskQueue({ namespace: 'nope', taskQueue: { name: 'x' } }).catch((e: { code?: number }) => e);
    expect((noNs as { code?: number }).code).toBe(5);
    const noQueue = await svc().pollActivityTaskQueue({ namespace: 'default' }).catch((e: { code?: number }) => e);
    expect((noQueue as { code?: number }).code).toBe(3);
    expect((await svc().getSystemInfo({})).capabilities?.sdkMetadata).toBe(true);
  });
});
