/**
 * `--db-filename` / `dbFilename`: a server killed with SIGKILL comes back on the same file with every workflow, and
 * the workflows finish as if nothing happened: timers fire at their time, signals the client was told were accepted
 * are seen, activity retries continue from the attempt they reached, children report to their parents.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startTemporalServer, StateFileError } from '../../local/temporal';
import { MLOPS_BIN, bundle, connectClient, quietRuntime, replayAll, startWorker, uniqueId, uniqueQueue } from './helpers';
import { freePort } from '../free-port';

let dir: string;
let workflowBundle: WorkflowBundleWithSourceMap;
const servers = new Set<ChildProcess>();

beforeAll(async () => {
  quietRuntime();
  dir = mkdtempSync(join(tmpdir(), 'temporal-state-'));
  workflowBundle = await bundle();
}, 60_000);

afterEach(() => {
  for (const s of servers) s.kill('SIGKILL');
  servers.clear();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** `mlops server start-dev --db-filename F` as a user runs it; resolves with its address once it serves. */
function spawnServer(dbFile: string, port: number): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn(process.execPath, [MLOPS_BIN, 'server', 'start-dev', '--port', String(port), '--db-filename', dbFile, '--headless'], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.add(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no address within 10 s; output: ${out}`)), 10_000);
    proc.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /gRPC: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, address: m[1] });
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
    servers.delete(proc);
  });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Event ids 1, 2, 3, ... with no gap and no repeat: history written across the crash is one history. */
async function expectContinuousHistory(handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  const ids = (history.events ?? []).map((e) => Number(e.eventId));
  expect(ids).toEqual(ids.map((_, i) => i + 1));
}

describe('state file across a kill -9 of `mlops server start-dev --db-filename`', () => {
  it('finishes every workflow that was open, keeps closed ones, and their histories replay', async () => {
    const dbFile = join(dir, 'crash.db');
    const port = await freePort();
    const queue = uniqueQueue('durable');
    /** nobody polls this queue before the crash: signals wait in history for the first workflow task */
    const idleQueue = uniqueQueue('idle');

    // ---- before the crash: a server, a worker, workflows in every kind of waiting ----------------------------------
    const first = await spawnServer(dbFile, port);
    let { client, connection } = await connectClient(first.address);
    let native = await NativeConnection.connect({ address: first.address });
    const w1 = await startWorker(native, workflowBundle, { taskQueue: queue });

    const done = await client.workflow.start('greeting', { taskQueue: queue, workflowId: uniqueId('closed'), args: ['before'] });
    expect(await done.result()).toBe('Hello, before!');
    const timer = await client.workflow.start('sleeper', { taskQueue: queue, workflowId: uniqueId('timer'), args: [4000] });
    const retrying = await client.workflow.start('retriesSlowly', { taskQueue: queue, workflowId: uniqueId('retrying'), args: [2] });
    const parent = await client.workflow.start('parentOfSleeper', { taskQueue: queue, workflowId: uniqueId('parent'), args: [3000] });
    const inFlight = await client.workflow.start('activityInFlight', { taskQueue: queue, workflowId: uniqueId('in-flight') });
    const signalled = await client.workflow.start('counter', { taskQueue: idleQueue, workflowId: uniqueId('signalled') });
    await signalled.signal('add', 2);
    await signalled.signal('add', 3);

    // A workflow task in flight at the crash, with a signal buffered behind it: the poll is ours, by hand.
    const buffered = await client.workflow.start('counter', { taskQueue: uniqueQueue('by-hand'), workflowId: uniqueId('buffered') });
    const desc = await buffered.describe();
    const task = await connection.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: desc.taskQueue }, identity: 'lost-worker' });
    expect(task.taskToken?.length).toBeGreaterThan(0);
    await buffered.signal('add', 7);

    // Wait until each open workflow is where the test wants it: timer started, first attempt failed, child running.
    await waitFor('the first attempt to fail', () => w1.log.calls.includes('failTimes:1'));
    await waitFor('the hanging attempt to heartbeat', async () => {
      const pending = (await inFlight.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => (a.heartbeatDetails?.payloads?.length ?? 0) > 0);
    });
    await waitFor('the child and the timer to be waiting', async () => {
      const [t, p] = await Promise.all([timer.fetchHistory(), parent.fetchHistory()]);
      return (t.events ?? []).some((e) => e.timerStartedEventAttributes) && (p.events ?? []).some((e) => e.childWorkflowExecutionStartedEventAttributes);
    });

    // ---- the crash: server and worker die together, as with `mlops start` -------------------------------------------
    await kill9(first.proc);
    // The old worker cannot finish shutting down without a server; it does so against the new one (stale results
    // it still held get NOT_FOUND there) and takes no new tasks.
    const w1Stopped = w1.stop();
    await connection.close();

    // ---- after: a new server on the same file and port, new workers --------------------------------------------------
    const second = await spawnServer(dbFile, port);
    await w1Stopped;
    await native.close();
    ({ client, connection } = await connectClient(second.address));
    native = await NativeConnection.connect({ address: second.address });
    const w2 = await startWorker(native, workflowBundle, { taskQueue: queue });
    const w3 = await startWorker(native, workflowBundle, { taskQueue: idleQueue });
    const w4 = await startWorker(native, workflowBundle, { taskQueue: desc.taskQueue });
    try {
      const reattach = (h: WorkflowHandle & { firstExecutionRunId: string }) => client.workflow.getHandle(h.workflowId, h.firstExecutionRunId);
      const [timerH, retryingH, parentH, signalledH, bufferedH, doneH, inFlightH] = [timer, retrying, parent, signalled, buffered, done, inFlight].map(reattach);

      expect(await timerH.result()).toBeGreaterThanOrEqual(4000);
      // The retries continued from the attempt they had reached: no attempt ran twice, none was skipped.
      expect(await retryingH.result()).toBe(3);
      const attempts = (log: string[]) => log.filter((c) => c.startsWith('failTimes'));
      expect([...attempts(w1.log.calls), ...attempts(w2.log.calls)]).toEqual(['failTimes:1', 'failTimes:2', 'failTimes:3']);
      expect(attempts(w2.log.calls)).toContain('failTimes:3');
      expect(await parentH.result()).toBe('child slept enough');
      // The attempt the dead worker held ran out its start-to-close; the retry got its heartbeat details.
      expect(await inFlightH.result()).toBe('attempt 2 resumed from halfway');
      await signalledH.signal('finish');
      expect(await signalledH.result()).toBe(5);
      await bufferedH.signal('finish');
      expect(await bufferedH.result()).toBe(7);
      // Closed before the crash: still described, with its result.
      expect((await doneH.describe()).status.name).toBe('COMPLETED');
      expect(await doneH.result()).toBe('Hello, before!');

      const all = [timerH, retryingH, parentH, signalledH, bufferedH, doneH, inFlightH];
      for (const h of all) await expectContinuousHistory(h);
      await replayAll(client, workflowBundle, all);

      const listed: string[] = [];
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${queue}'` })) listed.push(wf.workflowId);
      expect(listed).toEqual(expect.arrayContaining([done.workflowId, timer.workflowId, retrying.workflowId, parent.workflowId]));
    } finally {
      await Promise.all([w2.stop(), w3.stop(), w4.stop()]);
      await connection.close();
      await native.close();
    }
  }, 120_000);
});

describe('what a caller was told survives a kill -9 that follows at once', () => {
  it('keeps every start and signal answered before the kill', async () => {
    const dbFile = join(dir, 'told.db');
    const port = await freePort();
    const first = await spawnServer(dbFile, port);
    let { client, connection } = await connectClient(first.address);
    const queue = uniqueQueue('told');
    const target = await client.workflow.start('counter', { taskQueue: queue, workflowId: uniqueId('told-counter') });
    const ids = Array.from({ length: 20 }, () => uniqueId('told'));
    await Promise.all([
      ...ids.map((workflowId) => client.workflow.start('longRunner', { taskQueue: queue, workflowId })),
      ...Array.from({ length: 50 }, () => target.signal('add', 1)),
    ]);
    // No pause: the answers above are all the server had to say before it dies.
    await kill9(first.proc);
    await connection.close();

    const second = await spawnServer(dbFile, port);
    ({ client, connection } = await connectClient(second.address));
    try {
      for (const id of ids) expect((await client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');
      const history = await client.workflow.getHandle(target.workflowId).fetchHistory();
      expect((history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(50);
    } finally {
      await connection.close();
    }
  }, 60_000);
});

describe('state file through the SDK test environment', () => {
  it('TestWorkflowEnvironment.createLocal({ server: { dbFilename } }) finds its workflows again', async () => {
    const dbFile = join(dir, 'sdk-env.db');
    const local = () => TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: MLOPS_BIN }, dbFilename: dbFile } });
    const id = uniqueId('sdk-env');
    const queue = uniqueQueue('sdk-env');
    let env = await local();
    try {
      await env.client.workflow.start('counter', { taskQueue: queue, workflowId: id });
      await env.client.workflow.getHandle(id).signal('add', 40);
      await env.client.workflow.getHandle(id).signal('add', 2);
    } finally {
      await env.teardown();
    }
    env = await local();
    try {
      const w = await startWorker(env.nativeConnection, workflowBundle, { taskQueue: queue });
      try {
        const handle = env.client.workflow.getHandle(id);
        await handle.signal('finish');
        expect(await handle.result()).toBe(42);
      } finally {
        await w.stop();
      }
    } finally {
      await env.teardown();
    }
  }, 60_000);
});

describe('state file in process', () => {
  it('appends a constant amount per change, however long the history already is', async () => {
    const dbFile = join(dir, 'growth.db');
    const server = await startTemporalServer({ dbFilename: dbFile });
    const { client, connection } = await connectClient(server.address);
    try {
      const handle = await client.workflow.start('counter', { taskQueue: uniqueQueue('nobody'), workflowId: uniqueId('growth') });
      const bytesPerSignal = async (n: number): Promise<number> => {
        const before = statSync(dbFile).size;
        for (let i = 0; i < n; i++) await handle.signal('add', i);
        return (statSync(dbFile).size - before) / n;
      };
      const early = await bytesPerSignal(20);
      await bytesPerSignal(400);
      const late = await bytesPerSignal(20);
      expect(late).toBeLessThan(early * 1.2);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  it('rewrites a growing file compactly while serving: closed runs past retention leave it, open ones stay whole', async () => {
    const dbFile = join(dir, 'compact.db');
    const server = await startTemporalServer({ dbFilename: dbFile, dbCompactBytes: 64 * 1024, retentionMs: 200 });
    const { client, connection } = await connectClient(server.address);
    try {
      const open = await client.workflow.start('counter', { taskQueue: uniqueQueue('nobody'), workflowId: uniqueId('kept') });
      for (let i = 0; i < 20; i++) {
        const h = await client.workflow.start('counter', { taskQueue: uniqueQueue('nobody'), workflowId: uniqueId('dropped') });
        await h.terminate('done');
      }
      await new Promise((r) => setTimeout(r, 500));
      let largest = 0;
      for (let i = 0; i < 600; i++) {
        await open.signal('add', 1);
        largest = Math.max(largest, statSync(dbFile).size);
      }
      const events = (await open.fetchHistory()).events?.length;
      await connection.close();
      await server.close();
      // Rewritten at least once: never far past twice the threshold, and the dropped runs are not in it.
      expect(largest).toBeLessThan(4 * 64 * 1024 + 200_000);
      expect(readFileSync(dbFile, 'utf8')).not.toContain('dropped-');
      const again = await startTemporalServer({ dbFilename: dbFile });
      const c2 = await connectClient(again.address);
      try {
        expect((await c2.client.workflow.getHandle(open.workflowId).fetchHistory()).events?.length).toBe(events);
      } finally {
        await c2.connection.close();
        await again.close();
      }
    } finally {
      await connection.close().catch(() => undefined);
      await server.close();
    }
  });

  it('keeps the attempt count of a workflow task that keeps failing across restarts, and no retry in history', async () => {
    const dbFile = join(dir, 'transient.db');
    const tq = uniqueQueue('by-hand');
    const workflowId = uniqueId('transient');
    const poll = (c: Awaited<ReturnType<typeof connectClient>>) =>
      c.connection.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' });
    const fail = (c: Awaited<ReturnType<typeof connectClient>>, taskToken: Uint8Array | null | undefined) =>
      c.connection.workflowService.respondWorkflowTaskFailed({ namespace: 'default', taskToken, failure: { message: 'bug' } });
    const historyLength = async (c: Awaited<ReturnType<typeof connectClient>>) => (await c.client.workflow.getHandle(workflowId).fetchHistory()).events?.length;
    const attempt = async (c: Awaited<ReturnType<typeof connectClient>>) => (await c.client.workflow.getHandle(workflowId).describe()).raw.pendingWorkflowTask?.attempt;

    let server = await startTemporalServer({ dbFilename: dbFile });
    let c = await connectClient(server.address);
    expect((await c.connection.workflowService.getClusterInfo({})).persistenceStore).toBe('file');
    await c.client.workflow.start('rawWorkflow', { taskQueue: tq, workflowId });
    await fail(c, (await poll(c)).taskToken);
    await fail(c, (await poll(c)).taskToken);
    expect(await attempt(c)).toBe(3);
    await c.connection.close();
    await server.close();

    // Attempt 3 was waiting for a worker: it still is.
    server = await startTemporalServer({ dbFilename: dbFile });
    c = await connectClient(server.address);
    expect(await attempt(c)).toBe(3);
    const third = await poll(c);
    expect(third.attempt).toBe(3);
    expect(await historyLength(c)).toBe(4);
    await c.connection.close();
    await server.close();

    // Attempt 3 was started by a worker of the previous process: it times out at load, unwritten, and 4 follows.
    server = await startTemporalServer({ dbFilename: dbFile });
    c = await connectClient(server.address);
    try {
      expect(await attempt(c)).toBe(4);
      const fourth = await poll(c);
      expect(fourth.attempt).toBe(4);
      expect(fourth.history?.events?.map((e) => Number(e.eventId))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await historyLength(c)).toBe(4);
      await c.connection.workflowService.respondWorkflowTaskCompleted({
        namespace: 'default',
        taskToken: fourth.taskToken,
        commands: [{ commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} }],
      });
      const events = (await c.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      expect(events).toHaveLength(8);
      expect(events[4].workflowTaskScheduledEventAttributes?.attempt).toBe(4);
    } finally {
      await c.connection.close();
      await server.close();
    }
  });

  it('retries at once an activity attempt started before the restart when the workers died with the server (mlops start)', async () => {
    const dbFile = join(dir, 'workers-died.db');
    const tq = uniqueQueue('by-hand');
    const workflowId = uniqueId('workers-died');
    const pollActivity = (c: Awaited<ReturnType<typeof connectClient>>) =>
      c.connection.workflowService.pollActivityTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' });
    const pending = async (c: Awaited<ReturnType<typeof connectClient>>) => (await c.client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];

    let server = await startTemporalServer({ dbFilename: dbFile });
    let c = await connectClient(server.address);
    await c.client.workflow.start('rawWorkflow', { taskQueue: tq, workflowId });
    const wt = await c.connection.workflowService.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: tq }, identity: 'by-hand' });
    await c.connection.workflowService.respondWorkflowTaskCompleted({
      namespace: 'default',
      taskToken: wt.taskToken,
      commands: [
        {
          commandType: temporal.api.enums.v1.CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
          scheduleActivityTaskCommandAttributes: {
            activityId: '1',
            activityType: { name: 'copy' },
            taskQueue: { name: tq },
            startToCloseTimeout: msToTs(30_000),
            retryPolicy: { initialInterval: msToTs(10) },
          },
        },
      ],
    });
    expect((await pollActivity(c)).attempt).toBe(1);
    await c.connection.close();
    await server.close();

    // By default a worker may have outlived the server: the attempt stays started, its start-to-close counting.
    server = await startTemporalServer({ dbFilename: dbFile });
    c = await connectClient(server.address);
    expect((await pending(c)).map((a) => [a.state, a.attempt])).toEqual([[temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED, 1]]);
    await c.connection.close();
    await server.close();

    // Its worker died with the server: attempt 2 is handed out now, not after the 30 s start-to-close.
    server = await startTemporalServer({ dbFilename: dbFile, workersDiedWithServer: true });
    c = await connectClient(server.address);
    try {
      const loaded = Date.now();
      const second = await pollActivity(c);
      expect(second.attempt).toBe(2);
      expect(Date.now() - loaded).toBeLessThan(10_000);
      await c.connection.workflowService.respondActivityTaskCompleted({ namespace: 'default', taskToken: second.taskToken, identity: 'by-hand' });
      const events = (await c.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const started = events.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
      expect(started?.attempt).toBe(2);
      expect(started?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
      expect(events.some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
    } finally {
      await c.connection.close();
      await server.close();
    }
  });

  it('a call still in flight when the server closes is written before it is answered "done", or fails', async () => {
    // A large start request is still arriving when close() begins: it must be kept, or answered with an error.
    const big = Buffer.alloc(20 * 1024 * 1024, 7);
    for (const delayMs of [5, 20, 60]) {
      const dbFile = join(dir, `closing-${delayMs}.db`);
      const server = await startTemporalServer({ dbFilename: dbFile });
      const { connection } = await connectClient(server.address);
      const workflowId = `closing-${delayMs}`;
      const answered = connection.workflowService
        .startWorkflowExecution({
          namespace: 'default',
          workflowId,
          workflowType: { name: 'sleeper' },
          taskQueue: { name: 'nobody' },
          requestId: `req-${delayMs}`,
          input: { payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data: big }] },
        })
        .then(() => true, () => false);
      await new Promise((r) => setTimeout(r, delayMs));
      await server.close();
      const ok = await answered;
      await connection.close();
      const again = await startTemporalServer({ dbFilename: dbFile });
      try {
        const kept = (() => {
          try {
            return again.engine.findRun('default', { workflowId }).workflowId === workflowId;
          } catch {
            return false;
          }
        })();
        if (ok) expect(kept, `answered OK after ${delayMs} ms, then missing after the restart`).toBe(true);
      } finally {
        await again.close();
      }
    }
  }, 120_000);

  it('refuses a file another live server holds', async () => {
    const dbFile = join(dir, 'locked.db');
    const server = await startTemporalServer({ dbFilename: dbFile });
    try {
      await expect(startTemporalServer({ dbFilename: dbFile })).rejects.toThrow(StateFileError);
    } finally {
      await server.close();
    }
    // Released on close: the next server starts.
    const again = await startTemporalServer({ dbFilename: dbFile });
    await again.close();
  });

  it('keeps the virtual clock where time skipping left it', async () => {
    const dbFile = join(dir, 'clock.db');
    const server = await startTemporalServer({ dbFilename: dbFile, timeSkipping: true });
    server.time.advance(24 * 60 * 60 * 1000);
    const skippedTo = server.clock.now();
    await server.close();
    const again = await startTemporalServer({ dbFilename: dbFile, timeSkipping: true });
    try {
      expect(again.clock.now()).toBeGreaterThanOrEqual(skippedTo);
    } finally {
      await again.close();
    }
  });

  it('keeps namespaces registered at run time and their search attributes', async () => {
    const dbFile = join(dir, 'namespaces.db');
    const server = await startTemporalServer({ dbFilename: dbFile });
    let { connection } = await connectClient(server.address);
    await connection.workflowService.registerNamespace({ namespace: 'registered-later', workflowExecutionRetentionPeriod: msToTs('2h') });
    await connection.operatorService.addSearchAttributes({ namespace: 'registered-later', searchAttributes: { Stage: 2 } });
    await connection.close();
    await server.close();
    const again = await startTemporalServer({ dbFilename: dbFile });
    ({ connection } = await connectClient(again.address));
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: 'registered-later' });
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(7200);
      const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'registered-later' });
      expect(Object.keys(attrs.customAttributes ?? {})).toContain('Stage');
    } finally {
      await connection.close();
      await again.close();
    }
  });
});

describe('state file problems', () => {
  it('refuses a file that is not its state file, naming the file and what to do', async () => {
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'this is not a state file\n{"x":1}\n');
    await expect(startTemporalServer({ dbFilename: corrupt })).rejects.toThrow(StateFileError);
    await expect(startTemporalServer({ dbFilename: corrupt })).rejects.toThrow(/corrupt\.db.*move the file away/);
    expect(readFileSync(corrupt, 'utf8')).toBe('this is not a state file\n{"x":1}\n');

    const sqlite = join(dir, 'temporal-cli.db');
    writeFileSync(sqlite, Buffer.concat([Buffer.from('SQLite format 3\u0000'), Buffer.alloc(100)]));
    await expect(startTemporalServer({ dbFilename: sqlite })).rejects.toThrow(/SQLite/);
  });

  it('refuses a damaged record in the middle of the file', async () => {
    const dbFile = join(dir, 'damaged.db');
    const server = await startTemporalServer({ dbFilename: dbFile });
    const { client, connection } = await connectClient(server.address);
    await client.workflow.start('longRunner', { taskQueue: uniqueQueue(), workflowId: uniqueId('damaged') });
    await connection.close();
    await server.close();
    const lines = readFileSync(dbFile, 'utf8').split('\n');
    lines[1] = lines[1].slice(0, 10);
    writeFileSync(dbFile, lines.join('\n'));
    await expect(startTemporalServer({ dbFilename: dbFile })).rejects.toThrow(/line 2 is not a readable record/);
  });

  it('drops a torn last write and loads the rest; payload bytes come back exactly', async () => {
    const dbFile = join(dir, 'torn.db');
    const server = await startTemporalServer({ dbFilename: dbFile });
    let { client, connection } = await connectClient(server.address);
    const id = uniqueId('torn');
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    // Uint8Array arguments travel as raw binary/plain payloads: every byte value, unchanged.
    await client.workflow.start('longRunner', { taskQueue: uniqueQueue(), workflowId: id, args: [bytes], memo: { note: 'kept' } });
    await client.workflow.getHandle(id).signal('add', 1);
    const before = await client.workflow.getHandle(id).fetchHistory();
    await connection.close();
    await server.close();
    appendFileSync(dbFile, '{"runs":[{"runId":"half-writ');

    const again = await startTemporalServer({ dbFilename: dbFile });
    ({ client, connection } = await connectClient(again.address));
    try {
      const after = await client.workflow.getHandle(id).fetchHistory();
      expect(after.events?.length).toBe(before.events?.length);
      const payload = after.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      expect(Buffer.from(payload?.data ?? new Uint8Array())).toEqual(Buffer.from(bytes));
      expect(Buffer.from(payload?.metadata?.encoding ?? new Uint8Array()).toString()).toBe('binary/plain');
      expect((await client.workflow.getHandle(id).describe()).memo).toEqual({ note: 'kept' });
      // The torn write is gone from the file: it was rewritten at load.
      expect(readFileSync(dbFile, 'utf8').endsWith('\n')).toBe(true);
    } finally {
      await connection.close();
      await again.close();
    }
  });

  it('mlops server start-dev refuses an unreadable --db-filename with one line and does not touch it', async () => {
    const corrupt = join(dir, 'cli-corrupt.db');
    writeFileSync(corrupt, 'garbage\n');
    const proc = spawn(process.execPath, [MLOPS_BIN, 'server', 'start-dev', '--port', '0', '--db-filename', corrupt], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(corrupt);
    expect(readFileSync(corrupt, 'utf8')).toBe('garbage\n');
  });
});

describe('schedules in the state file across a kill -9', () => {
  it('keeps a schedule created, triggered and paused right before the kill', async () => {
    const dbFile = join(dir, 'schedules-kill.db');
    const port = await freePort();
    const first = await spawnServer(dbFile, port);
    let { client, connection } = await connectClient(first.address);
    const handle = await client.schedule.create({
      scheduleId: 'nightly',
      spec: { cronExpressions: ['0 2 * * *'] },
      // No worker polls this queue: the triggered run stays open across the crash.
      action: { type: 'startWorkflow', workflowType: 'nightlyRetrain', taskQueue: uniqueQueue(), workflowId: 'nightly-run' },
      state: { triggerImmediately: true },
    });
    await handle.pause('frozen for the release');
    const before = await handle.describe();
    expect(before.info.numActionsTaken).toBe(1);
    await kill9(first.proc);
    await connection.close();

    const second = await spawnServer(dbFile, port);
    ({ client, connection } = await connectClient(second.address));
    try {
      const after = await client.schedule.getHandle('nightly').describe();
      expect(after.state).toMatchObject({ paused: true, note: 'frozen for the release' });
      expect(after.info.numActionsTaken).toBe(1);
      expect(after.info.recentActions).toEqual(before.info.recentActions);
      expect(after.info.createdAt).toEqual(before.info.createdAt);
      const run = before.info.recentActions[0].action.workflow;
      expect(run.workflowId).toMatch(/^nightly-run-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect((await client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).describe()).status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }
  }, 60_000);
});
