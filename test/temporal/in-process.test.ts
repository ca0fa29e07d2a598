/**
 * The in-process server as the pipeline test harness uses it: plain Client and Worker, automatic time skipping
 * whenever nothing is in flight, the virtual clock shared through `clock`. Also namespaces, search attributes,
 * visibility queries and retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { startTemporalServer, type TemporalServerInternals } from '../../local/temporal';
import { bundle, quietRuntime, replayAll, startWorker, uniqueId, uniqueQueue, type WorkerHandle } from './helpers';

const DAY = 24 * 60 * 60 * 1000;
let server: TemporalServerInternals;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let workflowBundle: WorkflowBundleWithSourceMap;
let w: WorkerHandle;
const handles: WorkflowHandleWithFirstExecutionRunId[] = [];

async function start(workflow: string, args: unknown[], extra: Record<string, unknown> = {}): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const h = await client.workflow.start(workflow, { taskQueue: w.taskQueue, workflowId: uniqueId(workflow), args, ...extra });
  handles.push(h);
  return h;
}

beforeAll(async () => {
  quietRuntime();
  [server, workflowBundle] = await Promise.all([startTemporalServer({ port: 0, timeSkipping: true, historyPageSize: 16 }), bundle()]);
  connection = await Connection.connect({ address: server.address });
  nativeConnection = await NativeConnection.connect({ address: server.address });
  client = new Client({ connection });
  w = await startWorker(nativeConnection, workflowBundle);
}, 60_000);

afterAll(async () => {
  await w?.stop();
  await connection?.close();
  await nativeConnection?.close();
  await server?.close();
});

describe('automatic time skipping with a plain client', () => {
  it('jumps over a day-long timer and moves the shared clock', async () => {
    const before = server.clock.now();
    const realStart = Date.now();
    expect(await (await start('sleeper', [DAY])).result()).toBeGreaterThanOrEqual(DAY);
    expect(Date.now() - realStart).toBeLessThan(15_000);
    expect(server.clock.now() - before).toBeGreaterThanOrEqual(DAY);
  });

  it('does not skip while an activity runs', async () => {
    const before = server.clock.now();
    await (await start('startToCloseTimeout', [])).result();
    // Two 300 ms attempts ran in real time; nothing was skipped past them.
    expect(server.clock.now() - before).toBeLessThan(60_000);
  });

  it('honours a start delay in virtual time', async () => {
    const before = server.clock.now();
    expect(await (await start('greeting', ['later'], { startDelay: '2 hours' })).result()).toBe('Hello, later!');
    expect(server.clock.now() - before).toBeGreaterThanOrEqual(2 * 60 * 60 * 1000);
  });

  it('advance() lets virtual time pass while work is in flight, firing what fell due', async () => {
    const time = server.time;
    const key = uniqueId('held');
    time.markBusy(key);
    try {
      const before = time.now();
      let fired = 0;
      const cancel = time.schedule(60 * 60 * 1000, () => fired++);
      await new Promise((r) => setTimeout(r, 50));
      expect(fired).toBe(0); // in flight: automatic skipping waits
      time.advance(60 * 60 * 1000);
      expect(fired).toBe(1);
      expect(time.now() - before).toBeGreaterThanOrEqual(60 * 60 * 1000);
      cancel();
      expect(() => time.advance(-1)).toThrow(/non-negative/);
    } finally {
      time.markIdle(key);
    }
  });

  it('skips retry backoff and workflow timeouts', async () => {
    expect(await (await start('retriesWithLongBackoff', [])).result()).toBe(2);
    const err = await (await start('longRunner', [], { workflowRunTimeout: '2 days' })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
  });
});

describe('task queues', () => {
  it('DescribeTaskQueue lists the workers polling a queue, and none for a queue nobody polls', async () => {
    const { temporal } = await import('@temporalio/proto');
    const describe = async (name: string, type: number) =>
      (await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name }, taskQueueType: type })).pollers ?? [];
    const workflowPollers = await describe(w.taskQueue, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
    expect(workflowPollers.length).toBeGreaterThan(0);
    expect(workflowPollers[0]?.identity).toMatch(/\S/);
    expect(Number(workflowPollers[0]?.lastAccessTime?.seconds ?? 0) * 1000).toBeGreaterThan(server.clock.now() - 5 * 60_000);
    expect((await describe(w.taskQueue, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)).length).toBeGreaterThan(0);
    expect(await describe(uniqueQueue(), temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)).toEqual([]);
  });
});

describe('history paging', () => {
  it('pages full histories to a worker that caches nothing', async () => {
    const uncached = await startWorker(nativeConnection, workflowBundle, { maxCachedWorkflows: 0 });
    try {
      const h = await client.workflow.start('manyEvents', { taskQueue: uncached.taskQueue, workflowId: uniqueId('paging'), args: [12] });
      handles.push(h);
      expect(await h.result()).toBeGreaterThan(0);
      expect((await h.fetchHistory()).events?.length).toBeGreaterThan(16 * 4);
    } finally {
      await uncached.stop();
    }
  });
});

describe('long histories', () => {
  it('suggests continue-as-new once a history passes 4,096 events', async () => {
    const taskQueue = uniqueQueue('late');
    const h = await client.workflow.start('reportsContinueAsNewSuggestion', { taskQueue, workflowId: uniqueId('can') });
    let sent = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (sent < 4100) {
          sent++;
          await h.signal('add', 1);
        }
      }),
    );
    const late = await startWorker(nativeConnection, workflowBundle, { taskQueue });
    try {
      expect(await h.result()).toBe(true);
    } finally {
      await late.stop();
    }
  });
});

describe('namespaces', () => {
  it('registers, describes and lists namespaces', async () => {
    await connection.workflowService.registerNamespace({ namespace: 'ns-extra', workflowExecutionRetentionPeriod: msToTs(3_600_000), description: 'extra' });
    const d = await connection.workflowService.describeNamespace({ namespace: 'ns-extra' });
    expect(d.namespaceInfo?.description).toBe('extra');
    expect(Number(d.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3600);
    const list = await connection.workflowService.listNamespaces({});
    expect(list.namespaces?.map((n) => n.namespaceInfo?.name)).toEqual(expect.arrayContaining(['default', 'ns-extra']));
    const again = await connection.workflowService.registerNamespace({ namespace: 'ns-extra' }).catch((e: { code?: number }) => e);
    expect((again as { code?: number }).code).toBe(6);
  });
});

describe('search attributes and visibility', () => {
  const stage = defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD);

  it('registers custom attributes, lists and counts with the query language', async () => {
    await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { Stage: 2, Size: 3 } as never });
    const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(['Stage', 'Size']));
    const tq = w.taskQueue;
    const a = await start('counter', [], { typedSearchAttributes: [{ key: stage, value: 'train' }] });
    const b = await start('counter', [], { typedSearchAttributes: [{ key: stage, value: 'deploy' }] });
    await b.signal('finish');
    await b.result();
    const running: string[] = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${tq}' AND ExecutionStatus = 'Running' AND Stage = 'train'` })) running.push(wf.workflowId);
    expect(running).toEqual([a.workflowId]);
    const all: string[] = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${tq}' AND Stage IN ('train', 'deploy') ORDER BY StartTime ASC` })) all.push(wf.workflowId);
    expect(all).toEqual([a.workflowId, b.workflowId]);
    const count = await client.workflow.count(`TaskQueue = '${tq}' AND WorkflowType = 'counter'`);
    expect(count.count).toBe(2);
    const grouped = await client.workflow.count(`TaskQueue = '${tq}' AND WorkflowType = 'counter' GROUP BY ExecutionStatus`);
    expect(grouped.groups.map((g) => [String(g.groupValues.flat()[0]), g.count]).sort()).toEqual([['Completed', 1], ['Running', 1]]);
    const desc = await a.describe();
    expect(desc.typedSearchAttributes.get(stage)).toBe('train');
    await a.signal('finish');
    await a.result();
  });

  it('finds workflows by the search attributes they upserted themselves', async () => {
    const h = await start('searchAttributesWorkflow', ['evaluate']);
    await expect
      .poll(async () => {
        const found: string[] = [];
        for await (const wf of client.workflow.list({ query: `Stage = 'evaluate' AND WorkflowId = '${h.workflowId}'` })) found.push(wf.workflowId);
        return found;
      }, { timeout: 10_000 })
      .toEqual([h.workflowId]);
    expect((await h.describe()).typedSearchAttributes.get(stage)).toBe('evaluate');
    await h.signal('finish');
    await h.result();
  });

  it('gives a workflow its Datetime search attribute as a Date, though the client sent it without its type', async () => {
    await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: { Deadline: 6 } as never });
    const h = await start('searchAttributeValueType', ['Deadline'], { searchAttributes: { Deadline: [new Date('2026-01-02T03:04:05Z')] } });
    expect(await h.result()).toBe('Date');
  });

  it('rejects unknown search attributes and malformed queries with INVALID_ARGUMENT', async () => {
    const unknown = defineSearchAttributeKey('NotRegistered', SearchAttributeType.KEYWORD);
    const err = await start('counter', [], { typedSearchAttributes: [{ key: unknown, value: 'x' }] }).catch((e: unknown) => e);
    expect((err as { cause?: { code?: number } }).cause?.code ?? (err as { code?: number }).code).toBe(3);
    handles.pop();
    const bad = await connection.workflowService.listWorkflowExecutions({ namespace: 'default', query: 'WorkflowId = ' }).catch((e: { code?: number }) => e);
    expect((bad as { code?: number }).code).toBe(3);
  });
});

describe('retention', () => {
  it('drops closed workflows after the retention period', async () => {
    const short = await startTemporalServer({ port: 0, retentionMs: 300 });
    const conn = await Connection.connect({ address: short.address });
    try {
      const c = new Client({ connection: conn });
      const h = await c.workflow.start('greeting', { taskQueue: 'nobody-polls', workflowId: 'kept-then-dropped', args: ['x'] });
      await h.terminate();
      expect((await h.describe()).status.name).toBe('TERMINATED');
      await expect.poll(async () => (await h.describe().catch((e: Error) => e)) instanceof Error, { timeout: 3000 }).toBe(true);
    } finally {
      await conn.close();
      await short.close();
    }
  });
});

describe('replay', () => {
  it('replays every history of this file', async () => {
    await replayAll(client, workflowBundle, handles);
  });
});
