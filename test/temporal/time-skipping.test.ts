/**
 * Conformance: `bin/temporal-test-server`, spawned by TestWorkflowEnvironment.createTimeSkipping. Time is locked
 * until the test client awaits a result (or env.sleep() is called), then jumps to the next timer, backoff or timeout.
 */
import { describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { TimeoutFailure } from '@temporalio/common';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { Worker } from '@temporalio/worker';
import { TEST_SERVER_BIN, uniqueId, uniqueQueue, useTestEnvironment } from './helpers';

const DAY = 24 * 60 * 60 * 1000;
const suite = useTestEnvironment(() => TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER_BIN } } }));
const start = suite.start;

describe('time skipping test server', () => {
  it('skips a day-long timer while the client awaits the result', async () => {
    const before = await suite.env.currentTimeMs();
    const realStart = Date.now();
    const h = await start('sleeper', [DAY]);
    expect(await h.result()).toBeGreaterThanOrEqual(DAY);
    expect(Date.now() - realStart).toBeLessThan(15_000);
    expect((await suite.env.currentTimeMs()) - before).toBeGreaterThanOrEqual(DAY);
  });

  it('keeps time locked until something waits on it, and suite.env.sleep() moves it', async () => {
    const h = await start('sleeper', [2 * 60 * 60 * 1000]);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.describe()).status.name).toBe('RUNNING');
    const before = await suite.env.currentTimeMs();
    await suite.env.sleep(3 * 60 * 60 * 1000);
    expect((await suite.env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * 60 * 60 * 1000);
    await expect.poll(async () => (await h.describe()).status.name, { timeout: 10_000 }).toBe('COMPLETED');
  });

  it('skips time for several results awaited together, and stays balanced after', async () => {
    const hs = await Promise.all([start('sleeper', [DAY]), start('sleeper', [2 * DAY]), start('sleeper', [3 * DAY])]);
    const results = await Promise.all(hs.map((h) => h.result()));
    expect(results[2]).toBeGreaterThanOrEqual(3 * DAY);
    expect(await (await start('sleeper', [DAY])).result()).toBeGreaterThanOrEqual(DAY);
  });

  it('serves the TestService sleep calls and the current time', async () => {
    const testService = suite.env.connection.testService;
    if (!testService) throw new Error('the time-skipping environment has a test service');
    const t0 = tsToMs((await testService.getCurrentTime({})).time);
    await testService.unlockTimeSkipping({});
    try {
      await testService.sleep({ duration: msToTs(60 * 60 * 1000) });
      const t1 = tsToMs((await testService.getCurrentTime({})).time);
      expect(t1 - t0).toBeGreaterThanOrEqual(60 * 60 * 1000);
      await testService.sleepUntil({ timestamp: msToTs(t1 + 2 * 60 * 60 * 1000) });
      expect(tsToMs((await testService.getCurrentTime({})).time)).toBeGreaterThanOrEqual(t1 + 2 * 60 * 60 * 1000);
    } finally {
      await testService.lockTimeSkipping({});
    }
  });

  it('skips activity retry backoff', async () => {
    const realStart = Date.now();
    const h = await start('retriesWithLongBackoff', []);
    expect(await h.result()).toBe(2);
    expect(Date.now() - realStart).toBeLessThan(15_000);
  });

  const HOUR = 60 * 60 * 1000;

  /** A worker on its own queue whose activities sleep on the test clock or wait until the test releases them. */
  async function testClockWorker() {
    let started!: () => void;
    let release!: () => void;
    const held = new Promise<void>((r) => (started = r));
    const released = new Promise<void>((r) => (release = r));
    const worker = await Worker.create({
      connection: suite.env.nativeConnection,
      taskQueue: uniqueQueue('test-clock'),
      workflowBundle: suite.workflowBundle,
      activities: {
        sleepOnTestClock: (ms: number) => suite.env.sleep(ms),
        holdUntilReleased: () => (started(), released),
      },
      shutdownGraceTime: '1s',
    });
    const run = <T>(workflow: string, args: unknown[], whileRunning: () => Promise<void> = async () => {}): Promise<T> =>
      worker.runUntil(async () => {
        const h = await suite.env.client.workflow.start(workflow, { taskQueue: worker.options.taskQueue, workflowId: uniqueId(workflow), args });
        suite.handles.push(h);
        const [result] = await Promise.all([h.result() as Promise<T>, whileRunning()]);
        return result;
      });
    return { run, held, release };
  }

  it('skips time while an activity sleeps on the test clock (env.sleep), firing the timers in between', async () => {
    const { run } = await testClockWorker();
    const realStart = Date.now();
    const fired = await run<boolean>('timerDuringTestClockSleep', [2 * HOUR, HOUR]);
    expect(fired).toBe(true);
    // without skipping, the activity's sleep takes its two hours in real time
    expect(Date.now() - realStart).toBeLessThan(30_000);
  });

  it('keeps time still while another activity is in flight beside one sleeping on the test clock', async () => {
    const { run, held, release } = await testClockWorker();
    const t0 = await suite.env.currentTimeMs();
    const realStart = Date.now();
    const fired = await run<[boolean, boolean]>('testClockSleepBesideHeldActivity', [2 * HOUR, HOUR], async () => {
      await held;
      await new Promise((r) => setTimeout(r, 1000)); // time enough to skip, were the held activity not holding it
      expect((await suite.env.currentTimeMs()) - t0).toBeLessThan(HOUR);
      release();
    });
    // the timer fired only once the held activity was done, and then time skipped through the sleep
    expect(fired).toEqual([false, true]);
    expect((await suite.env.currentTimeMs()) - t0).toBeGreaterThanOrEqual(2 * HOUR);
    expect(Date.now() - realStart).toBeLessThan(30_000);
  });

  it('an activity that timed out while sleeping on the test clock no longer lets time skip past other work', async () => {
    const { run, held, release } = await testClockWorker();
    // the 10-hour sleep goes on after its activity timed out at 1 hour: the workflow task that learns of the timeout,
    // then the held activity, must each keep the 5-hour timer from firing
    const fired = await run<boolean>('heldActivityAfterTestClockSleepTimedOut', [10 * HOUR, HOUR, 5 * HOUR], async () => {
      await held;
      await new Promise((r) => setTimeout(r, 1000));
      release();
    });
    expect(fired).toBe(false);
  });

  it('times out a workflow by its execution timeout in virtual time', async () => {
    const h = await start('longRunner', [], { workflowExecutionTimeout: '1 day' });
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(TimeoutFailure);
  });

  it('answers queries and signals while time is skipped', async () => {
    const h = await start('activityTimerSignal', ['Time']);
    await h.signal('add', 1);
    expect(await h.query('total')).toBe(1);
    await h.signal('finish');
    expect(await h.result()).toBe('Hello, Time! total=1');
  });

  it('replays every history of this file', async () => {
    await suite.replay();
  });
});
