/**
 * Protocol rules the SDK relies on, checked deterministically by playing the worker by hand over raw gRPC:
 * the unhandled-command rule, buffering during an in-flight task, stale task tokens, the sticky-queue fallback,
 * transient retries of a failing workflow task, queries that wait for an in-flight task, blocking history long polls,
 * reverse history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { uniqueId, uniqueQueue } from './helpers';

const { CommandType, EventType, WorkflowTaskFailedCause, QueryResultType, TaskQueueKind, TaskQueueType, TimeoutType } = temporal.api.enums.v1;
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

  it('times out a task that waits too long on a sticky queue (schedule-to-start) and schedules it on the normal queue, with full history', async () => {
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
    expect(types(second.history?.events).slice(3)).toEqual([
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_TIMED_OUT',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    const [onSticky, timedOut, onNormal] = (second.history?.events ?? []).slice(5, 8);
    expect(onSticky.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    expect(timedOut.workflowTaskTimedOutEventAttributes?.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    expect(timedOut.workflowTaskTimedOutEventAttributes?.scheduledEventId?.toString()).toBe(onSticky.eventId?.toString());
    expect(Number(timedOut.workflowTaskTimedOutEventAttributes?.startedEventId ?? 0)).toBe(0);
    expect(onNormal.workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_NORMAL);
    expect(onNormal.workflowTaskScheduledEventAttributes?.attempt).toBe(1);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [complete] });
  });

  it('moves a sticky task to the normal queue when its worker shuts down, and still times it out if nobody takes it', async () => {
    const tq = uniqueQueue();
    const sticky = `${tq}-sticky`;
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [], stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: msToTs(200) } });
    await client.workflow.getHandle(workflowId).signal('wake');
    await svc().shutdownWorker({ namespace: 'default', stickyTaskQueue: sticky, identity: 'by-hand' });
    // No worker on the normal queue either: the schedule-to-start timeout still applies, as in the real server.
    await new Promise((r) => setTimeout(r, 400));
    const second = await pollTask(tq);
    expect(types(second.history?.events).slice(4)).toEqual([
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_TIMED_OUT',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: second.taskToken, commands: [complete] });
  });

  it('answers a shut-down worker instance\'s open and later polls empty, so it is handed no task it would drop', async () => {
    const tq = uniqueQueue();
    const poll = (workerInstanceKey: string) => svc().pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'same-process', workerInstanceKey });
    // A stopping worker's poll that is still open: a task handed to it now would be lost with the worker.
    const open = poll('old-worker');
    await new Promise((r) => setTimeout(r, 50));
    await svc().shutdownWorker({ namespace: 'default', identity: 'same-process', workerInstanceKey: 'old-worker', taskQueue: tq, taskQueueTypes: [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW] });
    expect((await open).taskToken?.length ?? 0).toBe(0);
    // One it sent just before shutting down, arriving after: answered at once, even with a task waiting.
    await startRaw(tq);
    const t0 = Date.now();
    expect((await poll('old-worker')).taskToken?.length ?? 0).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The restarted worker (same identity, new instance) gets the task.
    const task = await poll('new-worker');
    expect(task.taskToken?.length).toBeGreaterThan(0);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: task.taskToken, commands: [complete] });
  });

  it('does not make a run sticky to the queue of a worker that shut down, when that worker completes a task after', async () => {
    const tq = uniqueQueue();
    const sticky = `${tq}-sticky`;
    const workflowId = await startRaw(tq);
    const first = await pollTask(tq);
    // The worker shuts down while it still runs a task, then completes it asking for its (gone) sticky queue.
    await svc().shutdownWorker({ namespace: 'default', stickyTaskQueue: sticky, identity: 'by-hand' });
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [], stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: msToTs(10_000) } });
    await client.workflow.getHandle(workflowId).signal('wake');
    const t0 = Date.now();
    const second = await pollTask(tq);
    // Straight to the normal queue: not after the sticky schedule-to-start timeout.
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(types(second.history?.events).slice(-3)).toEqual(['WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
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

  it('hands out one query-only task per run at a time (a worker can drop a second one for a run it is answering)', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    // Idle (no workflow task): each query goes out as a query-only task.
    const first = await pollTask(tq);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: first.taskToken, commands: [] });
    const handle = client.workflow.getHandle(workflowId);
    const answer = (task: PollResponse, text: string) =>
      svc().respondQueryTaskCompleted({
        namespace: 'default',
        taskToken: task.taskToken,
        completedType: QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
        queryResult: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(text)) }] },
      });
    const q1 = handle.query<string>('state');
    const q2 = handle.query<string>('state');
    await new Promise((r) => setTimeout(r, 100));
    const t1 = await pollTask(tq);
    expect(t1.query?.queryType).toBe('state');
    // The second waits for the first to be answered.
    const early = await connection.withDeadline(Date.now() + 1500, () => svc().pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' }));
    expect(early.query ?? null).toBeNull();
    await answer(t1, 'one');
    const t2 = await pollTask(tq);
    expect(t2.query?.queryType).toBe('state');
    await answer(t2, 'two');
    expect((await Promise.all([q1, q2])).sort()).toEqual(['one', 'two']);
    await client.workflow.getHandle(workflowId).terminate();
  });
});

async function failTask(task: PollResponse): Promise<void> {
  await svc().respondWorkflowTaskFailed({
    namespace: 'default',
    taskToken: task.taskToken,
    cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
    failure: { message: 'bug in workflow code' },
    identity: 'by-hand',
  });
}

async function historyTypes(workflowId: string): Promise<string[]> {
  return types((await client.workflow.getHandle(workflowId).fetchHistory()).events);
}

const FIRST_FAILURE = ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_FAILED'];

describe('transient workflow tasks', () => {
  it('writes the first failure only; retries go to the worker with transient events until one completes', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    await failTask(await pollTask(tq));
    for (let attempt = 2; attempt <= 6; attempt++) {
      const task = await pollTask(tq);
      expect(task.attempt).toBe(attempt);
      expect(Number(task.startedEventId)).toBe(6);
      const events = task.history?.events ?? [];
      expect(types(events)).toEqual([...FIRST_FAILURE, 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
      expect(events.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5, 6]);
      const scheduled = events[4].workflowTaskScheduledEventAttributes;
      expect(scheduled?.attempt).toBe(attempt);
      // From the fourth attempt the real server lengthens the task timeout (10 s here) by 5 s, doubling, 90 % here.
      const expectedTimeout = 10 + (attempt >= 4 ? 4.5 * 2 ** (attempt - 4) : 0);
      expect(Number(scheduled?.startToCloseTimeout?.seconds) + (scheduled?.startToCloseTimeout?.nanos ?? 0) / 1e9).toBe(expectedTimeout);
      expect(Number(events[5].workflowTaskStartedEventAttributes?.scheduledEventId)).toBe(5);
      // Readers of history never see a transient task.
      expect(await historyTypes(workflowId)).toEqual(FIRST_FAILURE);
      const pending = (await client.workflow.getHandle(workflowId).describe()).raw.pendingWorkflowTask;
      expect(pending?.attempt).toBe(attempt);
      if (attempt < 6) {
        await failTask(task);
      } else {
        await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: task.taskToken, commands: [complete], identity: 'by-hand' });
        const written = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
        expect(types(written)).toEqual([...FIRST_FAILURE, 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_COMPLETED']);
        // Written as the worker got them: same attempt, times and request id.
        expect(written[4].workflowTaskScheduledEventAttributes?.attempt).toBe(6);
        expect(written[4].eventTime).toEqual(events[4].eventTime);
        expect(written[5].eventTime).toEqual(events[5].eventTime);
        expect(written[5].workflowTaskStartedEventAttributes?.requestId).toBe(events[5].workflowTaskStartedEventAttributes?.requestId);
        expect(Number(written[6].workflowTaskCompletedEventAttributes?.startedEventId)).toBe(6);
      }
    }
  });

  it('writes events that arrive during the failure loop and makes the next task a normal one', async () => {
    const tq = uniqueQueue();
    const workflowId = await startRaw(tq);
    const handle = client.workflow.getHandle(workflowId);
    await failTask(await pollTask(tq));
    await failTask(await pollTask(tq));
    // Attempt 3 waits for a worker when the signal comes: the signal is written, the task becomes attempt 1.
    await handle.signal('while-waiting');
    expect(await historyTypes(workflowId)).toEqual([...FIRST_FAILURE, 'WORKFLOW_EXECUTION_SIGNALED']);
    const normal = await pollTask(tq);
    expect(normal.attempt).toBe(1);
    expect(types(normal.history?.events).slice(4)).toEqual(['WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    expect(normal.history?.events?.[5]?.workflowTaskScheduledEventAttributes?.attempt).toBe(1);
    // A normal task's failure is written again; its retry is transient.
    await failTask(normal);
    const retry = await pollTask(tq);
    expect(retry.attempt).toBe(2);
    // A signal while the retry runs waits in the buffer; the retry's failure is not written, the signal is, and the
    // task after it is normal again.
    await handle.signal('while-running');
    await failTask(retry);
    const afterSignal = await pollTask(tq);
    expect(afterSignal.attempt).toBe(1);
    expect(types(afterSignal.history?.events).slice(4)).toEqual([
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_FAILED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    await svc().respondWorkflowTaskCompleted({ namespace: 'default', taskToken: afterSignal.taskToken, commands: [complete] });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('pages a transient task\'s history to the worker with its two events last', async () => {
    const small = await startTemporalServer({ port: 0, historyPageSize: 2 });
    const conn = await Connection.connect({ address: small.address });
    try {
      const tq = uniqueQueue();
      const workflowId = uniqueId('paged');
      await new Client({ connection: conn }).workflow.start('rawWorkflow', { taskQueue: tq, workflowId });
      const poll = () => conn.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' });
      const first = await poll();
      await conn.workflowService.respondWorkflowTaskFailed({ namespace: 'default', taskToken: first.taskToken, cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE });
      const retry = await poll();
      expect(retry.attempt).toBe(2);
      const events = [...(retry.history?.events ?? [])];
      let token = retry.nextPageToken;
      while (token && token.length > 0) {
        const page = await conn.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId }, nextPageToken: token, maximumPageSize: 2 });
        events.push(...(page.history?.events ?? []));
        token = page.nextPageToken;
      }
      expect(types(events)).toEqual([...FIRST_FAILURE, 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
      expect(events.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(events[4].workflowTaskScheduledEventAttributes?.attempt).toBe(2);
    } finally {
      await conn.close();
      await small.close();
    }
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
    // No state file: the cluster says its persistence is memory.
    expect((await svc().getClusterInfo({})).persistenceStore).toBe('memory');
  });
});

describe('a worker shutting down, with time skipping', () => {
  it('abandons a workflow task the stopping worker was handed to its timeout, so time still skips', async () => {
    const skipping = await startTemporalServer({ port: 0, timeSkipping: true });
    const conn = await Connection.connect({ address: skipping.address });
    try {
      const tq = uniqueQueue();
      await new Client({ connection: conn }).workflow.start('rawWorkflow', { taskQueue: tq, workflowId: uniqueId('abandoned') });
      // Handed to the stopping worker's poll as it was cut off: the worker never sees it.
      const lost = await conn.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'same-process', workerInstanceKey: 'old-worker' });
      expect(lost.taskToken?.length).toBeGreaterThan(0);
      await conn.workflowService.shutdownWorker({ namespace: 'default', identity: 'same-process', workerInstanceKey: 'old-worker', taskQueue: tq });
      // Its 10 s timeout comes by time skipping, not in real time (the task counted as in flight), and the restarted
      // worker gets the retry.
      const t0 = Date.now();
      const retry = await conn.withDeadline(Date.now() + 4000, () =>
        conn.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'same-process', workerInstanceKey: 'new-worker' }),
      );
      expect(retry.taskToken?.length ?? 0).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(types(retry.history?.events)).toContain('WORKFLOW_TASK_TIMED_OUT');
    } finally {
      await conn.close();
      await skipping.close();
    }
  });
});
