/**
 * Conformance: the official SDK worker and client against `bin/mlops server start-dev`, spawned the way
 * TestWorkflowEnvironment.createLocal spawns the temporal CLI. Every history is replayed at the end.
 */
import { describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  Client,
  QueryRejectedError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WithStartWorkflowOperation,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter, NamespaceNotFoundError, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { MLOPS_BIN, startWorker, uniqueId, useTestEnvironment } from './helpers';

const suite = useTestEnvironment(() => TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: MLOPS_BIN } } }));
const start = suite.start;

describe('workflows, activities, timers, signals, queries', () => {
  it('runs an activity, a timer and signals, and answers queries', async () => {
    const h = await start('activityTimerSignal', ['Ada']);
    await h.signal('add', 2);
    await h.signal('add', 40);
    expect(await h.query('total')).toBe(42);
    await h.signal('finish');
    expect(await h.result()).toBe('Hello, Ada! total=42');
    const desc = await h.describe();
    expect(desc.status.name).toBe('COMPLETED');
  });

  it('keeps every signal of a burst, even those arriving while a workflow task runs', async () => {
    const h = await start('counter', []);
    await Promise.all(Array.from({ length: 30 }, (_, i) => h.signal('add', i + 1)));
    await h.signal('finish');
    expect(await h.result()).toBe((30 * 31) / 2);
  });

  it('signal-with-start starts once and signals the running workflow after', async () => {
    const workflowId = uniqueId('sws');
    const first = await suite.env.client.workflow.signalWithStart('counter', { taskQueue: suite.w.taskQueue, workflowId, signal: 'add', signalArgs: [5] });
    const second = await suite.env.client.workflow.signalWithStart('counter', { taskQueue: suite.w.taskQueue, workflowId, signal: 'add', signalArgs: [6] });
    suite.handles.push(first);
    expect(second.signaledRunId).toBe(first.signaledRunId);
    await first.signal('finish');
    expect(await first.result()).toBe(11);
  });

  it('cancels and fires timers', async () => {
    expect(await (await start('cancelTimerWorkflow', [])).result()).toBe('timer cancelled');
    expect(await (await start('sleeper', [200])).result()).toBeGreaterThanOrEqual(200);
  });

  it('pages long histories to the worker and the client', async () => {
    const h = await start('manyEvents', [60]);
    expect(await h.result()).toBeGreaterThan(0);
    const history = await h.fetchHistory();
    expect(history.events?.length).toBeGreaterThan(300);
  });
});

describe('activity retries and timeouts', () => {
  it('retries a failing activity with the server-side policy until it succeeds', async () => {
    const before = suite.w.log.calls.filter((c) => c.startsWith('failTimes')).length;
    expect(await (await start('retries', [2])).result()).toBe(3);
    expect(suite.w.log.calls.filter((c) => c.startsWith('failTimes')).length - before).toBe(3);
  });

  it('stops at maximum attempts and reports the last failure', async () => {
    const out = await (await start('retriesExhausted', [])).result();
    expect(out).toContain('attempt 3 failed');
    expect(out).toMatch(/MAXIMUM_ATTEMPTS_REACHED|3|4/);
  });

  it('does not retry non-retryable failures, by flag or by type', async () => {
    const before = suite.w.log.calls.length;
    expect(await (await start('nonRetryable', ['flag'])).result()).toBe('no point retrying');
    expect(await (await start('nonRetryable', ['type'])).result()).toBe('typed failure');
    const calls = suite.w.log.calls.slice(before);
    expect(calls.filter((c) => c === 'failNonRetryable')).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('failWithType'))).toHaveLength(1);
  });

  it('hands heartbeat details to the next attempt', async () => {
    expect(await (await start('heartbeatResume', [])).result()).toEqual([2, 5]);
  });

  it('times out activities: start-to-close, heartbeat, schedule-to-close, schedule-to-start', async () => {
    const [a, b, c, d, e] = await Promise.all([
      start('startToCloseTimeout', []).then((h) => h.result()),
      start('heartbeatTimeout', []).then((h) => h.result()),
      start('scheduleToCloseTimeout', []).then((h) => h.result()),
      start('retriesOutlastDeadline', []).then((h) => h.result()),
      start('scheduleToStartTimeout', []).then((h) => h.result()),
    ]);
    expect(a).toBe('timeout:START_TO_CLOSE');
    expect(b).toBe('timeout:HEARTBEAT');
    expect(c).toBe('timeout:SCHEDULE_TO_CLOSE');
    expect(d).toMatch(/^attempt \d failed\|(TIMEOUT|3)$/);
    expect(e).toBe('timeout:SCHEDULE_TO_START');
  });

  it('delivers cancellation to a heartbeating activity', async () => {
    expect(await (await start('cancelActivity', [])).result()).toBe('cancelled');
    expect(suite.w.log.calls).toContain('cancelled');
  });
});

describe('closing workflows', () => {
  it('fails a workflow with the application failure', async () => {
    const h = await start('failing', ['it broke']);
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect((err as WorkflowFailedError).cause?.message).toBe('it broke');
  });

  it('cancels a workflow, which runs its cleanup', async () => {
    const h = await start('waitForCancellation', []);
    await new Promise((r) => setTimeout(r, 200));
    await h.cancel();
    const err = await h.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(suite.w.log.calls).toContain('greet:cleanup');
  });

  it('terminates a workflow', async () => {
    const h = await start('longRunner', []);
    await h.terminate('enough');
    const err = await h.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);
    expect((await h.describe()).status.name).toBe('TERMINATED');
  });

  it('gives a workflow no execution or run timeout when the start set none, and those it set otherwise', async () => {
    expect(await (await start('ownTimeouts', [])).result()).toEqual({ executionTimeoutMs: null, runTimeoutMs: null });
    expect(await (await start('ownTimeouts', [], { workflowExecutionTimeout: '1h' })).result()).toEqual({ executionTimeoutMs: 3_600_000, runTimeoutMs: 3_600_000 });
  });

  it('times out a workflow run', async () => {
    const h = await start('longRunner', [], { workflowExecutionTimeout: '1s' });
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(TimeoutFailure);
    expect((await h.describe()).status.name).toBe('TIMED_OUT');
  });

  it('continues as new and result() follows the chain', async () => {
    const h = await start('continuing', [3]);
    expect(await h.result()).toBe(42);
    const latest = await suite.env.client.workflow.getHandle(h.workflowId).describe();
    expect(latest.runId).not.toBe(h.firstExecutionRunId);
  });
});

describe('updates, children, local activities, patching', () => {
  it('runs updates and rejects them in the validator', async () => {
    const h = await start('counter', []);
    await h.signal('add', 7);
    expect(await h.executeUpdate('set', { args: [100] })).toBe(7);
    const rejected = await h.executeUpdate('set', { args: [-1] }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((rejected as WorkflowUpdateFailedError).cause?.message).toContain('negative');
    const started = await h.startUpdate('set', { args: [3], waitForStage: 'ACCEPTED' });
    expect(await started.result()).toBe(100);
    await h.signal('finish');
    expect(await h.result()).toBe(3);
  });

  it('runs child workflows and reports their failures', async () => {
    expect(await (await start('parent', [])).result()).toEqual(['child a', 'failed:child failed on purpose']);
  });

  it('hands the start priority to the workflow, to its continued run, and a child its own', async () => {
    const h = await start('priorities', [false], { priority: { priorityKey: 1, fairnessKey: 'main', fairnessWeight: 3 } });
    const [continuedOwn, ofChild] = await h.result();
    expect(continuedOwn).toEqual({ priorityKey: 1, fairnessKey: 'main', fairnessWeight: 3 });
    expect(ofChild).toEqual({ priorityKey: 4, fairnessKey: 'child', fairnessWeight: 2.5 });
    const first = await suite.env.client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory();
    expect(first.events?.[0].workflowExecutionStartedEventAttributes?.priority?.priorityKey).toBe(1);
  });

  it('applies the parent close policy', async () => {
    const terminated = uniqueId('child-t');
    const abandoned = uniqueId('child-a');
    const cancelled = uniqueId('child-c');
    await (await start('abandoningParent', [terminated, 'TERMINATE'])).result();
    const abandoningParent = await start('abandoningParent', [abandoned, 'ABANDON']);
    await abandoningParent.result();
    await (await start('abandoningParent', [cancelled, 'REQUEST_CANCEL'])).result();
    suite.handles.push(suite.env.client.workflow.getHandle(terminated), suite.env.client.workflow.getHandle(abandoned), suite.env.client.workflow.getHandle(cancelled));
    await expect.poll(async () => (await suite.env.client.workflow.getHandle(terminated).describe()).status.name, { timeout: 10_000 }).toBe('TERMINATED');
    await expect.poll(async () => (await suite.env.client.workflow.getHandle(cancelled).describe()).status.name, { timeout: 10_000 }).toBe('CANCELLED');
    const child = await suite.env.client.workflow.getHandle(abandoned).describe();
    expect(child.status.name).toBe('RUNNING');
    // A child's root is the top-level run that started the tree (in its started event and its description).
    expect(child.rootExecution).toMatchObject({ workflowId: abandoningParent.workflowId, runId: abandoningParent.firstExecutionRunId });
    const childStarted = (await suite.env.client.workflow.getHandle(abandoned).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(childStarted?.rootWorkflowExecution).toMatchObject({ workflowId: abandoningParent.workflowId, runId: abandoningParent.firstExecutionRunId });
    const parentStarted = (await abandoningParent.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    expect(parentStarted?.rootWorkflowExecution).toBeFalsy();
    await suite.env.client.workflow.getHandle(abandoned).terminate();
  });

  it('records local activities and patches as markers', async () => {
    const la = await start('localActivities', []);
    expect(await la.result()).toEqual(['Hello, local1!', 'Hello, local2!']);
    const p = await start('patchedWorkflow', []);
    expect(await p.result()).toBe('new');
    const markers = (await la.fetchHistory()).events?.filter((e) => e.markerRecordedEventAttributes) ?? [];
    expect(markers.length).toBe(2);
  });
});

describe('workflow ids, errors, descriptions', () => {
  it('starts a workflow eagerly: the first workflow task comes back with the start to the worker on the same connection', async () => {
    const client = new Client({ connection: suite.env.nativeConnection });
    const h = await client.workflow.start('greeting', { args: ['Eve'], taskQueue: suite.w.taskQueue, workflowId: uniqueId('eager'), requestEagerStart: true });
    suite.handles.push(h);
    expect(h.eagerlyStarted).toBe(true);
    expect(await h.result()).toBe('Hello, Eve!');
  });

  it('dispatches an activity eagerly to the worker completing the workflow task, not to another poller', async () => {
    const connection = await NativeConnection.connect({ address: suite.env.address });
    const other = await Worker.create({ connection, taskQueue: suite.w.taskQueue, activities: { greet: async () => 'other worker' } });
    try {
      const results = await other.runUntil(async () => (await start('greetTimes', ['Fay', 10])).result());
      // without eager dispatch each activity would go to either poller
      expect(results).toEqual(Array.from({ length: 10 }, () => 'Hello, Fay!'));
    } finally {
      await connection.close();
    }
  });

  it('upserts the memo as the real server merges it: null or [] removes a key, other values replace or add', async () => {
    const h = await start('upsertsMemo', [], { memo: { alpha: 'a', bravo: 'b', charlie: 'c', echo: 'e' } });
    await h.result();
    expect((await h.describe()).memo).toEqual({ alpha: 'A', delta: 'd', echo: 'e' });
  });

  it('keeps the static summary and details of a start, as describe() shows them', async () => {
    const h = await start('greeting', ['Gus'], { staticSummary: 'a summary', staticDetails: 'some details' });
    const desc = await h.describe();
    expect(await desc.staticSummary()).toBe('a summary');
    expect(await desc.staticDetails()).toBe('some details');
    expect(await h.result()).toBe('Hello, Gus!');
    const [childId, childRunId] = await (await start('childWithSummary', [])).result();
    expect(await (await suite.env.client.workflow.getHandle(childId, childRunId).describe()).staticSummary()).toBe('child summary');
  });

  it("writes a timer's and an activity's summary on the events their commands wrote", async () => {
    const h = await start('summarised', []);
    expect(await h.result()).toBe('Hello, Sue!');
    const { events } = await h.fetchHistory();
    const summaryOf = (e: NonNullable<typeof events>[number] | undefined): unknown => {
      const summary = e?.userMetadata?.summary;
      return summary ? defaultPayloadConverter.fromPayload(summary) : undefined;
    };
    expect(summaryOf(events?.find((e) => e.timerStartedEventAttributes))).toBe('timer summary');
    expect(summaryOf(events?.find((e) => e.activityTaskScheduledEventAttributes))).toBe('activity summary');
  });

  it("lists the build id of the workers that completed a workflow's tasks in its BuildIds search attribute", async () => {
    const h = await start('greeting', ['Ann']);
    await h.result();
    const buildId = suite.w.worker.options.buildId;
    expect(buildId).toMatch(/^@temporalio\/worker@/);
    expect((await h.describe()).searchAttributes.BuildIds).toEqual(['unversioned', `unversioned:${buildId}`]);
    const listed = suite.env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}' AND BuildIds = 'unversioned:${buildId}'` });
    const ids: string[] = [];
    for await (const w of listed) ids.push(w.workflowId);
    expect(ids).toEqual([h.workflowId]);
  });

  it('refuses a second start of a running workflow id, and honours the conflict policy', async () => {
    const h = await start('counter', []);
    const err = await suite.env.client.workflow.start('counter', { taskQueue: suite.w.taskQueue, workflowId: h.workflowId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    const same = await suite.env.client.workflow.start('counter', { taskQueue: suite.w.taskQueue, workflowId: h.workflowId, workflowIdConflictPolicy: 'USE_EXISTING' });
    expect(same.firstExecutionRunId).toBe(h.firstExecutionRunId);
    await h.signal('finish');
    await h.result();
    const rejected = await suite.env.client.workflow
      .start('counter', { taskQueue: suite.w.taskQueue, workflowId: h.workflowId, workflowIdReusePolicy: 'REJECT_DUPLICATE' })
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  });

  it('de-duplicates starts by request id', async () => {
    const workflowId = uniqueId('dedup');
    const req = {
      namespace: 'default',
      workflowId,
      workflowType: { name: 'longRunner' },
      taskQueue: { name: suite.w.taskQueue },
      requestId: randomUUID(),
    };
    const a = await suite.env.connection.workflowService.startWorkflowExecution(req);
    const b = await suite.env.connection.workflowService.startWorkflowExecution(req);
    expect(b.runId).toBe(a.runId);
    await suite.env.client.workflow.getHandle(workflowId).terminate();
  });

  it('answers NOT_FOUND for unknown workflows and namespaces, INVALID_ARGUMENT for bad requests', async () => {
    const err = await suite.env.client.workflow.getHandle('no-such-workflow').describe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowNotFoundError);
    const otherNamespace = new Client({ connection: suite.env.connection, namespace: 'no-such-namespace' });
    const nsErr = await otherNamespace.workflow.start('greeting', { taskQueue: suite.w.taskQueue, workflowId: uniqueId('ns'), args: ['x'] }).catch((e: unknown) => e);
    expect(nsErr).toBeInstanceOf(NamespaceNotFoundError);
    const bad = await suite.env.connection.workflowService.startWorkflowExecution({ namespace: 'default', workflowId: '' }).catch((e: { code?: number }) => e);
    expect((bad as { code?: number }).code).toBe(3);
    const staleToken = await suite.env.connection.workflowService
      .respondActivityTaskCompleted({ namespace: 'default', taskToken: Buffer.from('garbage') })
      .catch((e: { code?: number }) => e);
    expect((staleToken as { code?: number }).code).toBe(3);
  });

  it('describes a running workflow with its pending activity', async () => {
    const h = await start('cancelActivity', []);
    await expect.poll(async () => (await h.describe()).raw.pendingActivities?.length ?? 0, { timeout: 10_000 }).toBe(1);
    const d = await h.describe();
    expect(d.status.name).toBe('RUNNING');
    expect(d.taskQueue).toBe(suite.w.taskQueue);
    expect(d.type).toBe('cancelActivity');
    await h.result();
  });

  it('retries a failing workflow task without writing the retries, and writes the attempt that succeeds', async () => {
    // Attempt 1 is reported failed by the worker; later attempts time out (1 s, 1 s, then 1 s plus the real server's
    // 4.5 s and 9 s slow-down) and are never written.
    const h = await start('failsWorkflowTaskTimes', [5], { workflowTaskTimeout: '1s' });
    expect(await h.result()).toBe(6);
    const events = (await h.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(1);
    expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(false);
    const scheduled = events.filter((e) => e.workflowTaskScheduledEventAttributes).map((e) => e.workflowTaskScheduledEventAttributes?.attempt);
    // The succeeding attempt's scheduled and started events are written as the worker got them, attempt 6.
    expect(scheduled).toEqual([1, 6]);
    expect(suite.w.log.calls.filter((c) => c === `count:${h.workflowId}`)).toHaveLength(6);
  }, 40_000);

  it('keeps retrying a broken workflow task with a bounded history, and a signal sent meanwhile is delivered', async () => {
    const stuck = await start('explodesOnSignal', [], { workflowTaskTimeout: '1s' });
    const fixable = await start('brokenUntilFixed', [], { workflowTaskTimeout: '1s' });
    await Promise.all([stuck.signal('explode'), fixable.signal('explode')]);
    const attempt = async (h: typeof stuck) => Number((await h.describe()).raw.pendingWorkflowTask?.attempt ?? 0);
    await expect.poll(() => attempt(stuck), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    await expect.poll(() => attempt(fixable), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    const failures = async (h: typeof stuck) => ((await h.fetchHistory()).events ?? []).filter((e) => e.workflowTaskFailedEventAttributes).length;
    // The first failure came from the sticky worker: the real server retries that once on the normal queue, written,
    // before the retries become transient.
    expect(await failures(stuck)).toBe(2);
    expect(((await stuck.fetchHistory()).events ?? []).some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(false);

    await fixable.signal('fix');
    expect(await fixable.result()).toBe('fixed');
    const events = (await fixable.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(2);
    const fix = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'fix');
    expect(fix).toBeGreaterThan(0);
    // The new event made the retry a normal task again: attempt 1.
    expect(events.slice(fix).find((e) => e.workflowTaskScheduledEventAttributes)?.workflowTaskScheduledEventAttributes?.attempt).toBe(1);

    await stuck.terminate();
    const closed = (await stuck.fetchHistory()).events ?? [];
    expect(closed.filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(2);
    expect(closed[closed.length - 1].workflowExecutionTerminatedEventAttributes).toBeTruthy();
  }, 40_000);
});

describe('more of what users rely on', () => {
  it('carries on after the worker restarts', async () => {
    const h = await start('counter', []);
    await h.signal('add', 1);
    expect(await h.query('total')).toBe(1);
    await suite.w.stop();
    suite.w = await startWorker(suite.env.nativeConnection, suite.workflowBundle, { taskQueue: suite.w.taskQueue });
    await h.signal('add', 2);
    await h.signal('finish');
    expect(await h.result()).toBe(3);
  });

  it('answers queries on a closed workflow, unless the reject condition says otherwise', async () => {
    const h = await start('counter', []);
    await h.signal('add', 9);
    await h.signal('finish');
    await h.result();
    expect(await h.query('total')).toBe(9);
    const strict = new Client({
      connection: suite.env.connection,
      workflow: { queryRejectCondition: 'NOT_OPEN' },
    });
    const rejected = await strict.workflow.getHandle(h.workflowId).query('total').catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(QueryRejectedError);
  });

  it('runs update-with-start', async () => {
    const workflowId = uniqueId('uws');
    const op = new WithStartWorkflowOperation('counter', { workflowId, taskQueue: suite.w.taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
    expect(await suite.env.client.workflow.executeUpdateWithStart('set', { args: [8], startWorkflowOperation: op })).toBe(0);
    const h = await op.workflowHandle();
    suite.handles.push(h as WorkflowHandleWithFirstExecutionRunId);
    expect(await h.query('total')).toBe(8);
    await h.signal('finish');
    expect(await h.result()).toBe(8);
  });

  it('de-duplicates updates by id and refuses updates on a closed workflow', async () => {
    const h = await start('counter', []);
    const first = await h.executeUpdate('set', { args: [5], updateId: 'same-id' });
    const again = await h.executeUpdate('set', { args: [6], updateId: 'same-id' });
    expect([first, again]).toEqual([0, 0]);
    expect(await h.query('total')).toBe(5);
    await h.signal('finish');
    await h.result();
    const late = await h.executeUpdate('set', { args: [1] }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);
  });

  it('signals and cancels other workflows', async () => {
    const target = await start('counter', []);
    await (await start('signalOther', [target.workflowId, 4])).result();
    expect(await target.query('total')).toBe(4);
    const victim = await start('waitForCancellation', []);
    await (await start('cancelOther', [victim.workflowId])).result();
    const err = await victim.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    await target.signal('finish');
    await target.result();
  });

  it('keeps a workflow task alive while a local activity outlasts its timeout', async () => {
    expect(await (await start('slowLocalActivity', [1500], { workflowTaskTimeout: '1s' })).result()).toBe('done');
  });

  it('retries a failed workflow by its retry policy and result() follows the retries', async () => {
    const h = await start('failing', ['again and again'], { retry: { maximumAttempts: 2, initialInterval: '10ms' } });
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const runs: string[] = [];
    for await (const wf of suite.env.client.workflow.list({ query: `WorkflowId = '${h.workflowId}'` })) runs.push(wf.runId);
    expect(runs.length).toBe(1);
  });
});

describe('replay', () => {
  it('replays every history of this file without nondeterminism', async () => {
    await suite.replay();
  });
});
