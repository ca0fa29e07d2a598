/** Workflows exercising each server behaviour through the real SDK. Bundled once per test file. */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  CancellationScope,
  isCancellation,
  ActivityCancellationType,
  ParentClosePolicy,
  ApplicationFailure,
} from '@temporalio/workflow';
import type { Activities } from './activities';

const { greet } = proxyActivities<Activities>({ startToCloseTimeout: '10s' });

export const addSignal = defineSignal<[number]>('add');
export const finishSignal = defineSignal('finish');
export const totalQuery = defineQuery<number>('total');
export const setUpdate = defineUpdate<number, [number]>('set');

export async function greeting(name: string): Promise<string> {
  return await greet(name);
}

/** Runs greet `n` times, one after the other. */
export async function greetTimes(name: string, n: number): Promise<string[]> {
  const results: string[] = [];
  for (let i = 0; i < n; i++) results.push(await greet(name));
  return results;
}

export async function activityTimerSignal(name: string): Promise<string> {
  let total = 0;
  let finished = false;
  setHandler(addSignal, (n) => void (total += n));
  setHandler(finishSignal, () => void (finished = true));
  setHandler(totalQuery, () => total);
  const greeting = await greet(name);
  await sleep('1s');
  await condition(() => finished);
  return `${greeting} total=${total}`;
}

export async function sleeper(ms: number): Promise<number> {
  const start = Date.now();
  await sleep(ms);
  return Date.now() - start;
}

export async function counter(): Promise<number> {
  let total = 0;
  let finished = false;
  setHandler(addSignal, (n) => void (total += n));
  setHandler(finishSignal, () => void (finished = true));
  setHandler(totalQuery, () => total);
  setHandler(
    setUpdate,
    async (n) => {
      const old = total;
      total = n;
      await sleep(10);
      return old;
    },
    {
      validator: (n) => {
        if (n < 0) throw new Error('negative values are not allowed');
      },
    },
  );
  await condition(() => finished);
  return total;
}

export async function retries(times: number): Promise<number> {
  const { failTimes } = proxyActivities<Activities>({
    startToCloseTimeout: '5s',
    retry: { initialInterval: '10ms', backoffCoefficient: 1, maximumAttempts: 10 },
  });
  return await failTimes(times);
}

export async function retriesExhausted(): Promise<string> {
  const { failTimes } = proxyActivities<Activities>({ startToCloseTimeout: '5s', retry: { initialInterval: '10ms', maximumAttempts: 3 } });
  try {
    await failTimes(100);
    return 'unexpected';
  } catch (err) {
    const e = err as { cause?: { message?: string }; retryState?: unknown; message: string };
    return `${e.message}|${e.cause?.message}|${String(e.retryState)}`;
  }
}

export async function nonRetryable(kind: 'flag' | 'type'): Promise<string> {
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: '5s',
    retry: { initialInterval: '10ms', nonRetryableErrorTypes: ['Forbidden'] },
  });
  try {
    if (kind === 'flag') await acts.failNonRetryable();
    else await acts.failWithType('Forbidden');
    return 'unexpected';
  } catch (err) {
    return (err as { cause?: { message?: string } }).cause?.message ?? 'no cause';
  }
}

export async function heartbeatResume(): Promise<number[]> {
  const { heartbeatThenResume } = proxyActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '10ms' } });
  return await heartbeatThenResume();
}

export async function heartbeatTimeout(): Promise<string> {
  const { stopHeartbeating } = proxyActivities<Activities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '1s',
    retry: { maximumAttempts: 1 },
  });
  try {
    await stopHeartbeating();
    return 'unexpected';
  } catch (err) {
    const cause = (err as { cause?: { timeoutType?: unknown; message?: string } }).cause;
    return `timeout:${String(cause?.timeoutType)}`;
  }
}

export async function startToCloseTimeout(): Promise<string> {
  const { sleepFor } = proxyActivities<Activities>({ startToCloseTimeout: '300ms', retry: { maximumAttempts: 2, initialInterval: '10ms' } });
  try {
    await sleepFor(5000);
    return 'unexpected';
  } catch (err) {
    const cause = (err as { cause?: { timeoutType?: unknown } }).cause;
    return `timeout:${String(cause?.timeoutType)}`;
  }
}

export async function scheduleToCloseTimeout(): Promise<string> {
  const { sleepFor } = proxyActivities<Activities>({ scheduleToCloseTimeout: '1s', startToCloseTimeout: '5s' });
  try {
    await sleepFor(3000);
    return 'unexpected';
  } catch (err) {
    const cause = (err as { cause?: { timeoutType?: unknown } }).cause;
    return `timeout:${String(cause?.timeoutType)}`;
  }
}

/** Retrying would outlast schedule-to-close: the server gives up with the last failure and retry state TIMEOUT. */
export async function retriesOutlastDeadline(): Promise<string> {
  const { failTimes } = proxyActivities<Activities>({ scheduleToCloseTimeout: '1s', retry: { initialInterval: '300ms', backoffCoefficient: 1 } });
  try {
    await failTimes(1000);
    return 'unexpected';
  } catch (err) {
    const e = err as { cause?: { message?: string }; retryState?: unknown };
    return `${e.cause?.message}|${String(e.retryState)}`;
  }
}

export async function cancelActivity(): Promise<string> {
  const { waitForCancel } = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    heartbeatTimeout: '1s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  try {
    await CancellationScope.cancellable(async () => {
      const p = waitForCancel();
      await sleep(500);
      CancellationScope.current().cancel();
      await p;
    });
    return 'unexpected';
  } catch (err) {
    return isCancellation(err) ? 'cancelled' : `other:${(err as Error).message}`;
  }
}

export async function waitForCancellation(): Promise<string> {
  try {
    await sleep('1 day');
    return 'slept';
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => greet('cleanup'));
      throw err;
    }
    throw err;
  }
}

export async function cancelTimerWorkflow(): Promise<string> {
  const scope = new CancellationScope();
  const p = scope.run(() => sleep('1h'));
  await sleep(10);
  scope.cancel();
  try {
    await p;
    return 'fired';
  } catch (err) {
    return isCancellation(err) ? 'timer cancelled' : 'other';
  }
}

export async function localActivities(): Promise<string[]> {
  const { greet: localGreet } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });
  const a = await localGreet('local1');
  const b = await localGreet('local2');
  return [a, b];
}

export async function patchedWorkflow(): Promise<string> {
  if (patched('my-change')) {
    await sleep(1);
    return 'new';
  }
  return 'old';
}

export async function continuing(n: number): Promise<number> {
  if (n > 0) {
    await sleep(1);
    await continueAsNew<typeof continuing>(n - 1);
  }
  return workflowInfo().continuedFromExecutionRunId ? 42 : 0;
}

export async function child(name: string): Promise<string> {
  await sleep(5);
  return `child ${name}`;
}

export async function failingChild(): Promise<string> {
  throw ApplicationFailure.create({ message: 'child failed on purpose', nonRetryable: true });
}

export async function parent(): Promise<string[]> {
  const a = await executeChild(child, { args: ['a'] });
  let b: string;
  try {
    await executeChild(failingChild, { retry: { maximumAttempts: 1 } });
    b = 'unexpected';
  } catch (err) {
    b = `failed:${(err as { cause?: { message?: string } }).cause?.message}`;
  }
  return [a, b];
}

/** Runs child('s') with a static summary; returns the child's workflow id and run id. */
export async function childWithSummary(): Promise<[string, string]> {
  const h = await startChild(child, { args: ['s'], staticSummary: 'child summary' });
  await h.result();
  return [h.workflowId, h.firstExecutionRunId];
}

/** A timer and an activity, each with a summary (the command's user metadata). */
export async function summarised(): Promise<string> {
  await sleep(1, { summary: 'timer summary' });
  return await proxyActivities<Activities>({ startToCloseTimeout: '10s', summary: 'activity summary' }).greet('Sue');
}

export async function longChild(): Promise<void> {
  await sleep('1 day');
}

export async function abandoningParent(childId: string, policy: 'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL'): Promise<string> {
  await startChild(longChild, { workflowId: childId, parentClosePolicy: ParentClosePolicy[`PARENT_CLOSE_POLICY_${policy}`] });
  return 'parent done';
}

/** The type the workflow sees for the value of the (untyped) search attribute `name` it was started with. */
export async function searchAttributeValueType(name: string): Promise<string> {
  const value = (workflowInfo().searchAttributes[name] as unknown[] | undefined)?.[0];
  return value instanceof Date ? 'Date' : typeof value;
}

/** Upserts the custom Stage attribute (registered by the test), then waits to be told to finish. */
export async function searchAttributesWorkflow(stage: string): Promise<void> {
  let finished = false;
  setHandler(finishSignal, () => void (finished = true));
  upsertSearchAttributes({ Stage: [stage] });
  await condition(() => finished);
}

export async function manyEvents(n: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += (await greet(`${i}`)).length;
  }
  return total;
}

export async function failing(message: string): Promise<void> {
  throw ApplicationFailure.create({ message, type: 'Boom', nonRetryable: true });
}

export async function longRunner(): Promise<void> {
  await sleep('10 days');
}

export const explodeSignal = defineSignal('explode');

/** A signal handler bug fails every workflow task from then on: the server must keep retrying (and timing out) the task. */
export async function explodesOnSignal(): Promise<void> {
  setHandler(explodeSignal, () => {
    throw new TypeError('bug in signal handler');
  });
  await condition(() => false);
}

export const fixSignal = defineSignal('fix');

/**
 * Fails its first `times` workflow tasks (an Error that is not an ApplicationFailure fails the task, not the
 * workflow). A local activity numbers the attempts: it runs again in every attempt that fails, and the attempt that
 * passes records its answer in a marker, so replay takes the same path.
 */
export async function failsWorkflowTaskTimes(times: number): Promise<number> {
  const { countCalls } = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });
  const attempt = await countCalls(workflowInfo().workflowId);
  if (attempt <= times) throw new Error(`workflow task attempt ${attempt} fails on purpose`);
  return attempt;
}

/** After an 'explode' signal every workflow task fails, until a 'fix' signal is there too. */
export async function brokenUntilFixed(): Promise<string> {
  let exploded = false;
  let fixed = false;
  setHandler(explodeSignal, () => void (exploded = true));
  setHandler(fixSignal, () => void (fixed = true));
  await condition(() => exploded);
  if (!fixed) throw new TypeError('bug after the explode signal');
  return 'fixed';
}

/** The activity asks to be retried in an hour; with time skipping that hour passes at once. */
export async function retriesWithLongBackoff(): Promise<number> {
  const { failWithNextDelay } = proxyActivities<Activities>({ startToCloseTimeout: '10s' });
  return await failWithNextDelay(60 * 60 * 1000);
}

/**
 * The priority each run sees in its info: this run, the run it continues as (once), then a child started with its own
 * priority.
 */
export async function priorities(continued: boolean): Promise<Array<Record<string, unknown> | undefined>> {
  const own = { ...workflowInfo().priority };
  if (!continued) await continueAsNew<typeof priorities>(true);
  const ofChild = await executeChild(childPriority, { priority: { priorityKey: 4, fairnessKey: 'child', fairnessWeight: 2.5 } });
  return [own, ofChild];
}

export async function childPriority(): Promise<Record<string, unknown> | undefined> {
  return { ...workflowInfo().priority };
}

/**
 * Runs an activity that sleeps `sleepMs` on the test server's clock (env.sleep) while a `timerMs` workflow timer is
 * due in between; returns whether the timer had fired by the time the activity completed.
 */
export async function timerDuringTestClockSleep(sleepMs: number, timerMs: number): Promise<boolean> {
  const { sleepOnTestClock } = proxyActivities<TestClockActivities>({ scheduleToCloseTimeout: '10 days' });
  let fired = false;
  void sleep(timerMs).then(() => (fired = true));
  await sleepOnTestClock(sleepMs);
  return fired;
}

/** Activities of the test-clock workflows: a sleep on the test server's clock (env.sleep), a hold the test releases. */
interface TestClockActivities {
  sleepOnTestClock(ms: number): Promise<void>;
  holdUntilReleased(): Promise<void>;
}

/**
 * An activity sleeps `sleepMs` on the test clock beside one that the test holds in real time, with a `timerMs` timer
 * due in between: whether the timer had fired when the held one finished, and when the sleeping one did.
 */
export async function testClockSleepBesideHeldActivity(sleepMs: number, timerMs: number): Promise<[boolean, boolean]> {
  const { sleepOnTestClock, holdUntilReleased } = proxyActivities<TestClockActivities>({ scheduleToCloseTimeout: '10 days' });
  let fired = false;
  void sleep(timerMs).then(() => (fired = true));
  const sleeping = sleepOnTestClock(sleepMs);
  await holdUntilReleased();
  const whenHeldDone = fired;
  await sleeping;
  return [whenHeldDone, fired];
}

/**
 * An activity sleeps `sleepMs` on the test clock and times out meanwhile (start-to-close `timeoutMs`, one attempt),
 * its sleep going on, while a `timerMs` timer is due after the timeout; then an activity the test holds runs: whether
 * the timer had fired when the held activity finished.
 */
export async function heldActivityAfterTestClockSleepTimedOut(sleepMs: number, timeoutMs: number, timerMs: number): Promise<boolean> {
  const { sleepOnTestClock } = proxyActivities<TestClockActivities>({ startToCloseTimeout: timeoutMs, retry: { maximumAttempts: 1 } });
  const { holdUntilReleased } = proxyActivities<TestClockActivities>({ scheduleToCloseTimeout: '10 days' });
  let fired = false;
  void sleep(timerMs).then(() => (fired = true));
  await sleepOnTestClock(sleepMs).catch(() => undefined);
  await holdUntilReleased();
  return fired;
}

/** Signals another workflow through the server (SignalExternalWorkflowExecution). */
export async function signalOther(targetId: string, value: number): Promise<void> {
  await getExternalWorkflowHandle(targetId).signal(addSignal, value);
}

/** Cancels another workflow through the server (RequestCancelExternalWorkflowExecution). */
export async function cancelOther(targetId: string): Promise<void> {
  await getExternalWorkflowHandle(targetId).cancel();
}

/** A local activity that outlasts the workflow task timeout: the worker heartbeats the task to keep it. */
export async function slowLocalActivity(ms: number): Promise<string> {
  const { sleepFor } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s' });
  await sleepFor(ms);
  return 'done';
}

/** No worker polls the activity's task queue: the schedule-to-start timeout fires. */
export async function scheduleToStartTimeout(): Promise<string> {
  const { greet: unserved } = proxyActivities<Activities>({ taskQueue: 'nobody-polls-this', scheduleToStartTimeout: '300ms', startToCloseTimeout: '5s' });
  try {
    await unserved('x');
    return 'unexpected';
  } catch (err) {
    const cause = (err as { cause?: { timeoutType?: unknown } }).cause;
    return `timeout:${String(cause?.timeoutType)}`;
  }
}

/** Reports whether the server suggested continue-as-new on the first task (it does once history is long). */
export async function reportsContinueAsNewSuggestion(): Promise<boolean> {
  setHandler(addSignal, () => undefined);
  return workflowInfo().continueAsNewSuggested;
}

/** Fails `times` attempts with seconds between them, so a crash can land between two attempts. */
export async function retriesSlowly(times: number): Promise<number> {
  const { failTimes } = proxyActivities<Activities>({
    startToCloseTimeout: '10s',
    retry: { initialInterval: '3s', backoffCoefficient: 1, maximumAttempts: 10 },
  });
  return await failTimes(times);
}

/** A parent whose child waits on a timer: both are open across a crash. */
export async function parentOfSleeper(ms: number): Promise<string> {
  const slept = await executeChild(sleeper, { args: [ms] });
  return `child slept ${slept >= ms ? 'enough' : `only ${slept} ms`}`;
}

/** Its activity's first attempt is running when the server dies; the attempt times out and the retry resumes. */
export async function activityInFlight(): Promise<string> {
  const { hangsOnFirstAttempt } = proxyActivities<Activities>({ startToCloseTimeout: '3s', retry: { initialInterval: '100ms' } });
  return await hangsOnFirstAttempt();
}

/** Counts its runs through the previous run's result, as a scheduled workflow sees it (workflowInfo().lastResult). */
export async function countsScheduledRuns(): Promise<number> {
  const last = workflowInfo().lastResult as number | undefined;
  return (last ?? 0) + 1;
}
export * from './updates';
export * from './limits';

/** The workflow's own execution and run timeouts, as workflowInfo() shows them (unset when the start set none). */
export async function ownTimeouts(): Promise<{ executionTimeoutMs: number | null; runTimeoutMs: number | null }> {
  const { executionTimeoutMs, runTimeoutMs } = workflowInfo();
  return { executionTimeoutMs: executionTimeoutMs ?? null, runTimeoutMs: runTimeoutMs ?? null };
}

/** Upserts its memo: a key set to null or to [] is removed, the others are replaced or added. */
export async function upsertsMemo(): Promise<void> {
  upsertMemo({ bravo: null, charlie: [], delta: 'd', alpha: 'A' });
}
