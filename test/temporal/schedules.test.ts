/**
 * Temporal Schedules on the embedded server, through the SDK's ScheduleClient, on a time-skipping server started with
 * time locked: `advance` lets virtual time run (through every timer, action and workflow on the way), as the SDK's
 * test environment's sleep does. The state file keeps schedules across a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type Connection, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startTemporalServer, type TemporalServerInternals } from '../../local/temporal';
import { bundle, connectClient, quietRuntime, startWorker, uniqueId, type WorkerHandle } from './helpers';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let dir: string;
let workflowBundle: WorkflowBundleWithSourceMap;

interface Stack {
  server: TemporalServerInternals;
  client: Client;
  connection: Connection;
  native?: NativeConnection;
  worker: Pick<WorkerHandle, 'taskQueue' | 'stop'>;
}

/** A server on `dbFilename` with a client and (unless `taskQueue` is given with `worker: false`) a worker. */
async function startStack(dbFilename: string, opts: { taskQueue?: string; worker?: boolean } = {}): Promise<Stack> {
  const server = await startTemporalServer({ timeSkipping: true, startLocked: true, testService: true, dbFilename });
  const { client, connection } = await connectClient(server.address);
  if (opts.worker === false) return { server, client, connection, worker: { taskQueue: opts.taskQueue ?? uniqueId('tq'), stop: async () => undefined } };
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await startWorker(native, workflowBundle, { taskQueue: opts.taskQueue });
  return { server, client, connection, native, worker };
}

async function stopStack(s: Stack | undefined): Promise<void> {
  if (!s) return;
  await s.worker.stop();
  await s.native?.close();
  await s.connection.close();
  await s.server.close();
}

/** Lets virtual time run `ms` (locked again after), as TestService.UnlockTimeSkippingWithSleep does. */
async function advance(s: Stack, ms: number): Promise<void> {
  s.server.time.unlock();
  try {
    await s.server.time.sleep(ms);
  } finally {
    s.server.time.lock();
  }
}

/** Moves the locked clock to the next whole hour, so schedule times below are round. */
function toNextHour(s: Stack): number {
  const now = s.server.clock.now();
  const next = Math.ceil((now + 1) / HOUR) * HOUR;
  s.server.time.advance(next - now);
  return next;
}

/** The server's message of the gRPC error the SDK wrapped (it throws 'Failed to create schedule' with it as cause). */
async function grpcMessage(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { cause?: { details?: string }; message?: string } | undefined;
  if (!err) throw new Error('expected the call to fail');
  return err.cause?.details ?? err.message ?? '';
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The workflows a schedule started, from visibility, by TemporalScheduledById. */
async function scheduledRuns(s: Stack, scheduleId: string): Promise<{ workflowId: string; status: string; scheduledStart?: number }[]> {
  const out: { workflowId: string; status: string; scheduledStart?: number }[] = [];
  for await (const w of s.client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    const start = w.searchAttributes.TemporalScheduledStartTime?.[0];
    out.push({ workflowId: w.workflowId, status: w.status.name, scheduledStart: start instanceof Date ? start.getTime() : undefined });
  }
  return out.sort((a, b) => (a.workflowId < b.workflowId ? -1 : 1));
}

function action(s: Stack, workflowType: string, args: unknown[], workflowId: string): ScheduleOptionsStartWorkflowAction<never> {
  return { type: 'startWorkflow', workflowType, args, taskQueue: s.worker.taskQueue, workflowId } as unknown as ScheduleOptionsStartWorkflowAction<never>;
}

let stack: Stack;

beforeAll(async () => {
  quietRuntime();
  dir = mkdtempSync(join(tmpdir(), 'temporal-schedules-'));
  workflowBundle = await bundle();
  stack = await startStack(join(dir, 'main.db'));
}, 60_000);

afterAll(async () => {
  await stopStack(stack);
  rmSync(dir, { recursive: true, force: true });
});

describe('schedules on the embedded server', () => {
  it('starts runs at the spec times, with <workflowId>-<time> ids and the scheduled-by search attributes', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('hourly');
    const handle = await stack.client.schedule.create({ scheduleId, spec: { cronExpressions: ['30 * * * *'] }, action: action(stack, 'greeting', ['cron'], `${scheduleId}-wf`) });
    const before = await handle.describe();
    expect(before.info.nextActionTimes.slice(0, 3).map((d) => d.getTime())).toEqual([t0 + 30 * MIN, t0 + 90 * MIN, t0 + 150 * MIN]);
    expect(before.policies.overlap).toBe('SKIP');
    expect(before.policies.catchupWindow).toBe(365 * DAY);

    await advance(stack, 3 * HOUR);
    const expected = [30, 90, 150].map((m) => t0 + m * MIN);
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).filter((r) => r.status === 'COMPLETED').length, { timeout: 15_000 }).toBe(3);
    const runs = await scheduledRuns(stack, scheduleId);
    expect(runs.map((r) => r.workflowId)).toEqual(expected.map((ms) => `${scheduleId}-wf-${iso(ms)}`));
    expect(runs.map((r) => r.scheduledStart)).toEqual(expected);
    expect(await stack.client.workflow.getHandle(runs[0].workflowId).result()).toBe('Hello, cron!');
    const startedEvent = (await stack.client.workflow.getHandle(runs[0].workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(startedEvent?.identity).toBe(`temporal-scheduler-default-${scheduleId}`);

    const after = await handle.describe();
    expect(after.info.numActionsTaken).toBe(3);
    expect(after.info.recentActions.map((a) => a.scheduledAt.getTime())).toEqual(expected);
    for (const a of after.info.recentActions) expect(a.takenAt.getTime() - a.scheduledAt.getTime()).toBeLessThan(1000);
    expect(after.info.nextActionTimes[0].getTime()).toBe(t0 + 210 * MIN);
    await handle.delete();
  });

  it("hands each run the previous run's result (workflowInfo().lastResult)", async () => {
    toNextHour(stack);
    const scheduleId = uniqueId('last-result');
    const handle = await stack.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1h' }] }, action: action(stack, 'countsScheduledRuns', [], `${scheduleId}-wf`) });
    await advance(stack, 3 * HOUR);
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).filter((r) => r.status === 'COMPLETED').length, { timeout: 15_000 }).toBe(3);
    const results = await Promise.all((await scheduledRuns(stack, scheduleId)).map((r) => stack.client.workflow.getHandle(r.workflowId).result()));
    expect(results).toEqual([1, 2, 3]);
    await handle.delete();
  });

  it('takes only the remaining actions of a limited schedule, and lists the times a spec matches', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('limited');
    const handle = await stack.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action: action(stack, 'greeting', ['limited'], `${scheduleId}-wf`),
      state: { remainingActions: 2 },
    });
    expect((await handle.describe()).info.nextActionTimes.map((d) => d.getTime())).toEqual([t0 + HOUR, t0 + 2 * HOUR]);
    await advance(stack, 4 * HOUR);
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).map((r) => r.scheduledStart), { timeout: 10_000 }).toEqual([t0 + HOUR, t0 + 2 * HOUR]);
    const d = await handle.describe();
    expect(d.state.remainingActions).toBe(0);
    expect(d.info.nextActionTimes).toEqual([]);
    const matching = (await stack.connection.workflowService.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId,
      startTime: msToTs(t0),
      endTime: msToTs(t0 + 3 * HOUR),
    })) as temporal.api.workflowservice.v1.IListScheduleMatchingTimesResponse;
    expect(matching.startTime?.map((t) => tsToMs(t))).toEqual([t0 + HOUR, t0 + 2 * HOUR, t0 + 3 * HOUR]);
    await handle.delete();
  });

  it('gives the next action times of calendar and interval specs in the schedule time zone', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('zoned');
    const handle = await stack.client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 9, minute: 15 }], timezone: 'Asia/Kolkata', intervals: [{ every: '7h', offset: '5m' }] },
      action: action(stack, 'greeting', ['tz'], `${scheduleId}-wf`),
      state: { paused: true },
    });
    const { info, spec } = await handle.describe();
    expect(spec.timezone).toBe('Asia/Kolkata');
    const next = info.nextActionTimes.map((d) => d.getTime());
    // 09:15 in Kolkata (UTC+05:30) is 03:45 UTC; the interval matches epoch + n*7h + 5m.
    const calendarTimes = next.filter((ms) => new Date(ms).toISOString().endsWith('03:45:00.000Z'));
    const intervalTimes = next.filter((ms) => (ms - 5 * MIN) % (7 * HOUR) === 0);
    expect(calendarTimes.length + intervalTimes.length).toBe(next.length);
    expect(calendarTimes.length).toBeGreaterThan(0);
    expect(next[0]).toBeGreaterThan(t0);
    expect(next).toEqual([...next].sort((a, b) => a - b));
    await handle.delete();
  });

  it('follows each overlap policy when a run outlasts the interval', async () => {
    const t0 = toNextHour(stack);
    const policies = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;
    type Policy = (typeof policies)[number];
    const ids = Object.fromEntries(policies.map((p) => [p, uniqueId(`overlap-${p.toLowerCase()}`)])) as Record<Policy, string>;
    // Hourly actions at t0+1h, +2h, +3h; each run sleeps 2.5 hours.
    for (const p of policies) {
      await stack.client.schedule.create({
        scheduleId: ids[p],
        spec: { intervals: [{ every: '1h' }] },
        policies: { overlap: p },
        action: action(stack, 'sleeper', [150 * MIN], `${ids[p]}-wf`),
      });
    }
    await advance(stack, 3 * HOUR + 30 * MIN + 1000);
    const started = async (p: Policy) => (await scheduledRuns(stack, ids[p])).map((r) => [r.scheduledStart && (r.scheduledStart - t0) / HOUR, r.status]);
    const info = async (p: Policy) => (await stack.client.schedule.getHandle(ids[p]).describe()).info;

    // SKIP: the first runs until 3h30; the actions at 2h and 3h are skipped.
    expect(await started('SKIP')).toEqual([[1, 'COMPLETED']]);
    expect((await info('SKIP')).numActionsSkippedOverlap).toBe(2);
    // BUFFER_ONE: 2h waits and starts when the first ends (3h30); 3h found the buffer full and was skipped.
    expect(await started('BUFFER_ONE')).toEqual([
      [1, 'COMPLETED'],
      [2, 'RUNNING'],
    ]);
    expect((await info('BUFFER_ONE')).numActionsSkippedOverlap).toBe(1);
    // BUFFER_ALL: 2h started at 3h30, 3h still waits.
    expect(await started('BUFFER_ALL')).toEqual([
      [1, 'COMPLETED'],
      [2, 'RUNNING'],
    ]);
    const bufferAll = await stack.client.schedule.getHandle(ids.BUFFER_ALL).describe();
    expect(bufferAll.info.numActionsSkippedOverlap).toBe(0);
    expect(Number(bufferAll.raw.info?.bufferSize)).toBe(1);
    // CANCEL_OTHER / TERMINATE_OTHER: each action stops the running one and starts.
    await expect.poll(() => started('CANCEL_OTHER'), { timeout: 10_000 }).toEqual([
      [1, 'CANCELLED'],
      [2, 'CANCELLED'],
      [3, 'RUNNING'],
    ]);
    expect(await started('TERMINATE_OTHER')).toEqual([
      [1, 'TERMINATED'],
      [2, 'TERMINATED'],
      [3, 'RUNNING'],
    ]);
    // ALLOW_ALL: all three run at once (and are not the schedule's "running" workflow).
    expect(await started('ALLOW_ALL')).toEqual([
      [1, 'COMPLETED'],
      [2, 'RUNNING'],
      [3, 'RUNNING'],
    ]);
    const allowAll = await info('ALLOW_ALL');
    expect(allowAll.numActionsTaken).toBe(3);
    expect(allowAll.runningActions).toEqual([]);
    expect((await info('SKIP')).runningActions).toEqual([]);
    expect((await info('TERMINATE_OTHER')).runningActions.map((a) => a.workflow.workflowId)).toEqual([`${ids.TERMINATE_OTHER}-wf-${iso(t0 + 3 * HOUR)}`]);
    for (const p of policies) await stack.client.schedule.getHandle(ids[p]).delete();
  });

  it('backfills a missed week: one run per missed day, named by its day', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('backfill');
    const handle = await stack.client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 2 }] },
      policies: { overlap: 'SKIP' },
      action: action(stack, 'greeting', ['backfill'], `${scheduleId}-wf`),
    });
    const dayStart = Math.floor(t0 / DAY) * DAY;
    const from = dayStart - 7 * DAY;
    await handle.backfill({ start: new Date(from), end: new Date(dayStart), overlap: 'BUFFER_ALL' });
    const expected = [7, 6, 5, 4, 3, 2, 1].map((d) => dayStart - d * DAY + 2 * HOUR);
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).filter((r) => r.status === 'COMPLETED').length, { timeout: 20_000 }).toBe(7);
    const runs = await scheduledRuns(stack, scheduleId);
    expect(runs.map((r) => r.workflowId)).toEqual(expected.map((ms) => `${scheduleId}-wf-${iso(ms)}`));
    expect(runs.map((r) => r.scheduledStart)).toEqual(expected);
    expect((await handle.describe()).info.numActionsTaken).toBe(7);
    await handle.delete();
  });

  it('pauses, unpauses (skipping the paused time) and triggers', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('pause');
    const handle = await stack.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1h' }] }, action: action(stack, 'greeting', ['pause'], `${scheduleId}-wf`) });
    await handle.pause('maintenance');
    expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'maintenance' });
    await advance(stack, 2 * HOUR + MIN);
    expect(await scheduledRuns(stack, scheduleId)).toEqual([]);

    await handle.unpause('back');
    const unpaused = await handle.describe();
    expect(unpaused.state).toMatchObject({ paused: false, note: 'back' });
    expect(unpaused.info.nextActionTimes[0].getTime()).toBe(t0 + 3 * HOUR);
    await advance(stack, HOUR);
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).map((r) => r.scheduledStart), { timeout: 10_000 }).toEqual([t0 + 3 * HOUR]);

    const before = stack.server.clock.now();
    await handle.trigger();
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).length, { timeout: 10_000 }).toBe(2);
    const triggered = (await handle.describe()).info.recentActions[1];
    expect(triggered.scheduledAt.getTime() - before).toBeLessThan(1000);
    expect(triggered.action.workflow.workflowId).toBe(`${scheduleId}-wf-${iso(Math.floor(triggered.scheduledAt.getTime() / 1000) * 1000)}`);
    // A paused schedule still takes a trigger (a second later, so the workflow id differs).
    await expect.poll(async () => (await scheduledRuns(stack, scheduleId)).every((r) => r.status === 'COMPLETED'), { timeout: 10_000 }).toBe(true);
    stack.server.time.advance(1000);
    await handle.pause();
    await handle.trigger();
    await expect.poll(async () => (await handle.describe()).info.numActionsTaken, { timeout: 10_000 }).toBe(3);
    await handle.delete();
  });

  it('pauses itself when a run fails, with pauseOnFailure', async () => {
    toNextHour(stack);
    const scheduleId = uniqueId('on-failure');
    const handle = await stack.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      policies: { pauseOnFailure: true },
      action: action(stack, 'failing', ['disk full'], `${scheduleId}-wf`),
    });
    await advance(stack, HOUR + MIN);
    await expect.poll(async () => (await handle.describe()).state.paused, { timeout: 10_000 }).toBe(true);
    const d = await handle.describe();
    expect(d.state.note).toMatch(/^paused due to workflow failure: .*: disk full$/);
    expect(d.raw.info?.recentActions?.[0]?.startWorkflowStatus).toBe(temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED);
    await advance(stack, 3 * HOUR);
    expect((await handle.describe()).info.numActionsTaken).toBe(1);
    await handle.delete();
  });

  it('catches up only within the catch-up window when the clock jumps past many actions', async () => {
    const t0 = toNextHour(stack);
    const scheduleId = uniqueId('catchup');
    const handle = await stack.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1m' }] },
      // 10.5 minutes: the action exactly 10 minutes old is in, whatever milliseconds the test itself takes.
      policies: { overlap: 'ALLOW_ALL', catchupWindow: 630_000 },
      action: action(stack, 'greeting', ['catchup'], `${scheduleId}-wf`),
    });
    // As when the server was down for two hours: the timer for t0+1m fires only at t0+2h.
    stack.server.time.advance(2 * HOUR);
    await expect.poll(async () => (await handle.describe()).info.numActionsTaken, { timeout: 10_000 }).toBe(11);
    const d = await handle.describe();
    expect(d.info.numActionsMissedCatchupWindow).toBe(109);
    expect(d.info.recentActions.at(-1)?.scheduledAt.getTime()).toBe(t0 + 2 * HOUR);
    expect(d.info.recentActions[0].scheduledAt.getTime()).toBe(t0 + 111 * MIN);
    await handle.delete();
  });

  it('updates, lists (paged, by query), refuses bad input and deletes', async () => {
    const prefix = uniqueId('listed');
    const handles = [];
    for (let i = 0; i < 5; i++) {
      handles.push(
        await stack.client.schedule.create({
          scheduleId: `${prefix}-${i}`,
          spec: { cronExpressions: ['0 3 * * *'] },
          action: action(stack, 'greeting', ['list'], `${prefix}-${i}-wf`),
          state: { paused: i % 2 === 0 },
        }),
      );
    }
    const listed: string[] = [];
    for await (const s of stack.client.schedule.list({ pageSize: 2 })) if (s.scheduleId.startsWith(prefix)) listed.push(s.scheduleId);
    expect(listed).toEqual([0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`));
    const paused: string[] = [];
    for await (const s of stack.client.schedule.list({ query: 'TemporalSchedulePaused = true' })) if (s.scheduleId.startsWith(prefix)) paused.push(s.scheduleId);
    expect(paused).toEqual([0, 2, 4].map((i) => `${prefix}-${i}`));

    await handles[1].update((prev) => ({ ...prev, spec: { cronExpressions: ['TZ=Europe/Paris 0 9 * * MON'] } }));
    const updated = await handles[1].describe();
    expect(updated.spec.timezone).toBe('Europe/Paris');
    expect(updated.info.lastUpdatedAt).toBeInstanceOf(Date);
    for (const t of updated.info.nextActionTimes.slice(0, 3)) {
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(t)).toBe('Mon 09:00');
    }

    await expect(stack.client.schedule.create({ scheduleId: `${prefix}-1`, spec: { intervals: [{ every: '1h' }] }, action: action(stack, 'greeting', ['x'], 'x') })).rejects.toBeInstanceOf(ScheduleAlreadyRunning);
    expect(await grpcMessage(stack.client.schedule.create({ scheduleId: `${prefix}-bad`, spec: { cronExpressions: ['0 25 * * *'] }, action: action(stack, 'greeting', ['x'], 'x') }))).toMatch(/hour '25'.*out of range/);
    await expect(stack.client.schedule.getHandle(`${prefix}-bad`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await grpcMessage(handles[1].update((prev) => ({ ...prev, spec: { cronExpressions: ['0 9 * * *'], timezone: 'Nowhere/Atlantis' } })))).toMatch(/unknown time zone 'Nowhere\/Atlantis'/);
    expect((await handles[1].describe()).spec.timezone).toBe('Europe/Paris');

    for (const h of handles) await h.delete();
    await expect(handles[0].describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('keeps schedules across a restart on the same state file, and catches up what came due meanwhile', async () => {
    const dbFile = join(dir, 'restart.db');
    // No worker before the restart: the runs it starts wait for the worker that comes with the restarted server.
    let s: Stack | undefined = await startStack(dbFile, { worker: false });
    const taskQueue = s.worker.taskQueue;
    const scheduleId = uniqueId('durable');
    let t0: number;
    try {
      t0 = toNextHour(s);
      await s.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1h' }] }, policies: { overlap: 'ALLOW_ALL', catchupWindow: '150m' }, action: action(s, 'greeting', ['durable'], `${scheduleId}-wf`) });
      s.server.time.advance(HOUR);
      s.server.time.advance(HOUR);
      expect((await s.client.schedule.getHandle(scheduleId).describe()).info.numActionsTaken).toBe(2);
    } finally {
      await stopStack(s);
      s = undefined;
    }
    s = await startStack(dbFile, { taskQueue });
    try {
      const handle = s.client.schedule.getHandle(scheduleId);
      const d = await handle.describe();
      expect(d.info.numActionsTaken).toBe(2);
      expect(d.info.recentActions.map((a) => a.scheduledAt.getTime())).toEqual([t0 + HOUR, t0 + 2 * HOUR]);
      expect(d.info.nextActionTimes[0].getTime()).toBe(t0 + 3 * HOUR);
      // Four hours pass while it is down: the action at +3h is past the 150-minute window, +4h..+6h are not.
      s.server.time.advance(4 * HOUR);
      await expect.poll(async () => (await handle.describe()).info.numActionsTaken, { timeout: 10_000 }).toBe(5);
      const after = await handle.describe();
      expect(after.info.numActionsMissedCatchupWindow).toBe(1);
      expect(after.info.recentActions.map((a) => (a.scheduledAt.getTime() - t0) / HOUR)).toEqual([1, 2, 4, 5, 6]);
      await advance(s, HOUR);
      await expect.poll(async () => (await scheduledRuns(s as Stack, scheduleId)).filter((r) => r.status === 'COMPLETED').length, { timeout: 15_000 }).toBe(6);
    } finally {
      await stopStack(s);
    }
  });
});

describe('schedules on a server that skips time whenever idle (not locked)', () => {
  let free: Stack;
  beforeAll(async () => {
    const server = await startTemporalServer({ timeSkipping: true });
    const { client, connection } = await connectClient(server.address);
    const native = await NativeConnection.connect({ address: server.address });
    free = { server, client, connection, native, worker: await startWorker(native, workflowBundle) };
  }, 60_000);
  afterAll(() => stopStack(free));

  it('does not race through its actions on its own, but moves with a workflow timer that skips time', async () => {
    const t0 = toNextHour(free);
    const scheduleId = uniqueId('unlocked');
    const handle = await free.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1h' }] }, action: action(free, 'greeting', ['unlocked'], `${scheduleId}-wf`) });
    await new Promise((r) => setTimeout(r, 500));
    expect(free.server.clock.now() - t0).toBeLessThan(MIN);
    expect((await handle.describe()).info.numActionsTaken).toBe(0);

    // A workflow sleeping 3h30 makes time skip: the schedule's actions come in their turn on the way.
    const sleeper = await free.client.workflow.start('sleeper', { taskQueue: free.worker.taskQueue, workflowId: uniqueId('sleeper'), args: [3 * HOUR + 30 * MIN] });
    await sleeper.result();
    await expect.poll(async () => (await scheduledRuns(free, scheduleId)).map((r) => [r.scheduledStart, r.status]), { timeout: 10_000 }).toEqual(
      [1, 2, 3].map((h) => [t0 + h * HOUR, 'COMPLETED']),
    );
    await handle.delete();
  });
});
