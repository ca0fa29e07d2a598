/**
 * The processing workflow end to end on the embedded server with time skipping: the emulator's jobs publish metrics
 * on the server's virtual clock, the emulated CloudWatch alarms fire, their events reach the real gateway over HTTP
 * and become signals; the workflow restarts the job bigger from its checkpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeProcessingJobCommand, StopProcessingJobCommand } from '@aws-sdk/client-sagemaker';
import * as cli from '../../clients/cli/commands/processing';
import { UsageError } from '../../clients/cli/usage-error';
import { WorkflowFailedError } from '@temporalio/client';
import { approveBudgetUpdate, processingStatusQuery } from '../../workflows/processing/messages';
import { completedTwice, emulatorControl, processingInput, startProcessing, startProcessingStack, stepRuns, workload, type ProcessingStack } from './harness';

let stack: ProcessingStack;
beforeAll(async () => {
  stack = await startProcessingStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

async function alarmsLeft(prefix: string): Promise<string[]> {
  const out = await stack.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix }));
  return (out.MetricAlarms ?? []).map((a) => a.AlarmName as string);
}

describe('processing workflow', () => {
  it('gives an undersized executor fleet more instances on the executor alarm, resumes from the checkpoints and completes', async () => {
    const handle = await startProcessing(stack, processingInput('fe-exec'));
    const result = await handle.result();
    expect(result.status).toBe('Completed');
    expect(result.attempts.map((a) => [a.jobName, a.resources.instanceCount, a.outcome])).toEqual([
      ['fe-exec-a1', 3, 'executor-alarm'],
      ['fe-exec-a2', 5, 'completed'],
    ]);
    const runs = await stepRuns(stack, 'fe-exec');
    expect(runs).toEqual([
      { job: 'fe-exec-a1', step: 'load', outcome: 'completed' },
      { job: 'fe-exec-a1', step: 'join', outcome: 'interrupted' },
      { job: 'fe-exec-a2', step: 'join', outcome: 'completed' },
      { job: 'fe-exec-a2', step: 'aggregate', outcome: 'completed' },
    ]);
    expect(completedTwice(runs)).toEqual([]);
    expect(result.checkpointsDone.sort()).toEqual(['aggregate', 'join', 'load']);
    expect(result.spentUsd).toBeGreaterThan(0);
    // The alarm came as a signal: attempt 1 stopped within a minute or two of join's first datapoint (3 min provisioning
    // + 5 min load + 1 min), long before the 15-minute poll would have looked.
    expect(result.attempts[0]?.durationMs).toBeLessThanOrEqual(11 * 60_000);
    expect(await alarmsLeft('fe-exec-')).toEqual([]);
  });

  it('gives an undersized driver the next size up on the driver alarm', async () => {
    const env = workload({ SIM_STEP_join: 'cpu=0.6;parallelism=12;execMem=1+0.05;driverMem=2+0.12' });
    const handle = await startProcessing(stack, processingInput('fe-driver', { count: 5, env }));
    const result = await handle.result();
    expect(result.attempts.map((a) => [a.resources.instanceType, a.outcome])).toEqual([
      ['ml.m5.xlarge', 'driver-alarm'],
      ['ml.m5.2xlarge', 'completed'],
    ]);
    expect(completedTwice(await stepRuns(stack, 'fe-driver'))).toEqual([]);
    expect(await alarmsLeft('fe-driver-')).toEqual([]);
  });

  it('resumes a job stopped from the console on the same resources', async () => {
    const handle = await startProcessing(stack, processingInput('fe-console', { count: 5 }));
    // Into the join step of attempt 1 (3 min provisioning, 5 min load).
    await stack.sleepAndHold(10 * 60_000);
    await stack.sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-console-a1' }));
    stack.release();
    const result = await handle.result();
    expect(result.attempts.map((a) => [a.resources.instanceCount, a.outcome])).toEqual([
      [5, 'stopped-outside'],
      [5, 'completed'],
    ]);
    expect(completedTwice(await stepRuns(stack, 'fe-console'))).toEqual([]);
  });

  it('stops at once on a user error, with its reason, and leaves no alarm', async () => {
    await emulatorControl(stack, 'POST', '/scenarios', { service: 'sagemaker', kind: 'processing-job', resource: 'fe-user-*', failureReason: 'AlgorithmError: KeyError: customer_id, exit code: 1', failAtStatus: 'InProgress/load' });
    const handle = await startProcessing(stack, processingInput('fe-user', { count: 5 }));
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { type?: string };
    expect(cause.type).toBe('ProcessingUserError');
    expect(cause.message).toContain('AlgorithmError: KeyError: customer_id, exit code: 1');
    expect(cause.message).toMatch(/1 attempt\(s\)/);
    const status = await handle.query(processingStatusQuery);
    expect(status.attempts).toHaveLength(1);
    expect(await alarmsLeft('fe-user-')).toEqual([]);
  });

  it('fails at once on a job the service refuses, its status saying why (not still "starting"), and leaves no alarm', async () => {
    const handle = await startProcessing(stack, processingInput('fe-refused', { env: { SIM_STEPS: 'a', SIM_STEP_a: 'cpu=fast' } }));
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const status = await handle.query(processingStatusQuery);
    expect(status.phase).toBe('failed');
    expect(status.note).toContain('fe-refused-a1');
    expect(status.note).toContain('SIM_STEP_a cpu=fast');
    expect(status.attempts.map((a) => [a.jobName, a.outcome])).toEqual([['fe-refused-a1', 'error']]);
    expect(status.attempts[0]?.reason).toContain('SIM_STEP_a cpu=fast');
    expect(await alarmsLeft('fe-refused-')).toEqual([]);
  });

  it('restarts once for a duplicated alarm notification', async () => {
    const handle = await startProcessing(stack, processingInput('fe-dup', { count: 5 }));
    await stack.sleepAndHold(10 * 60_000);
    // EventBridge delivers at least once: the same event twice, at once.
    const [a, b] = await Promise.all([postAlarm('fe-dup-a1-driver'), postAlarm('fe-dup-a1-driver')]);
    stack.release();
    expect([a, b]).toEqual([202, 202]);
    const result = await handle.result();
    expect(result.attempts.map((x) => [x.resources.instanceType, x.outcome])).toEqual([
      ['ml.m5.xlarge', 'driver-alarm'],
      ['ml.m5.2xlarge', 'completed'],
    ]);
  });

  it('ignores an alarm that arrives while the job is already stopping, and resumes on the same resources', async () => {
    const handle = await startProcessing(stack, processingInput('fe-late', { count: 5 }));
    await stack.sleepAndHold(10 * 60_000);
    await stack.sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-late-a1' }));
    expect(await postAlarm('fe-late-a1-executors-1')).toBe(202);
    stack.release();
    const result = await handle.result();
    expect(result.attempts.map((x) => [x.resources.instanceCount, x.outcome])).toEqual([
      [5, 'stopped-outside'],
      [5, 'completed'],
    ]);
  });

  it('retries a capacity error later, then changes family', async () => {
    await emulatorControl(stack, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: ['ml.m5.xlarge'] });
    try {
      const handle = await startProcessing(stack, processingInput('fe-cap', { count: 5, policy: { capacityRetries: 1 } }));
      const result = await handle.result();
      expect(result.attempts.map((x) => [x.resources.instanceType, x.outcome])).toEqual([
        ['ml.m5.xlarge', 'capacity'],
        ['ml.m5.xlarge', 'capacity'],
        ['ml.t3.xlarge', 'completed'],
      ]);
      // The retry waited the policy's 10 minutes after the first failure.
      expect(Date.parse(result.attempts[1]!.createdAt ?? '') - Date.parse(result.attempts[0]!.endedAt ?? '')).toBeGreaterThanOrEqual(10 * 60_000);
    } finally {
      await emulatorControl(stack, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: [] });
    }
  });

  it('continues as new between attempts: each run holds one attempt, and the queries and the CLI still show every attempt', async () => {
    await emulatorControl(stack, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: ['ml.m5.xlarge'] });
    try {
      const handle = await startProcessing(stack, processingInput('fe-runs', { count: 5, policy: { capacityRetries: 1 } }));
      // In the third attempt's run, the first two are there, with their outcomes and reasons.
      for (let i = 0; i < 60 && (await handle.query(processingStatusQuery)).attempt < 3; i++) await stack.sleep(60_000);
      const during = await handle.query(processingStatusQuery);
      expect(during.attempts.map((a) => [a.jobName, a.outcome])).toEqual([
        ['fe-runs-a1', 'capacity'],
        ['fe-runs-a2', 'capacity'],
        ['fe-runs-a3', 'running'],
      ]);
      expect(during.attempts[0]?.reason).toMatch(/^CapacityError/);
      const result = await handle.result();
      expect(result.status).toBe('Completed');
      expect(result.attempts.map((a) => [a.jobName, a.resources.instanceType, a.outcome])).toEqual([
        ['fe-runs-a1', 'ml.m5.xlarge', 'capacity'],
        ['fe-runs-a2', 'ml.m5.xlarge', 'capacity'],
        ['fe-runs-a3', 'ml.t3.xlarge', 'completed'],
      ]);
      expect(result.spentUsd).toBeCloseTo(result.attempts.reduce((sum, a) => sum + a.costUsd, 0), 6);
      expect((await handle.query(processingStatusQuery)).attempts).toHaveLength(3);
      // One run per attempt, none of them holding more than its own attempt's events.
      const runs: { status: string; events: number }[] = [];
      for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
        const history = await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        runs.push({ status: wf.status.name, events: history.events?.length ?? 0 });
      }
      expect(runs.map((r) => r.status).sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
      const oneAttempt = Math.max(...runs.map((r) => r.events));
      expect(oneAttempt).toBeLessThan(100);
      expect((await cli.listProcessing(stack.client)).filter((j) => j.name === 'fe-runs')).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
      expect(completedTwice(await stepRuns(stack, 'fe-runs'))).toEqual([]);
    } finally {
      await emulatorControl(stack, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: [] });
    }
  });

  it('waits for a long attempt at the history of a short one (the safety-net poll runs by activity retries)', async () => {
    const light = 'cpu=0.6;parallelism=12;execMem=1+0.01;driverMem=2+0.001';
    const env = (gib: number) => workload({ SIM_DATA_GIB: String(gib), SIM_STEP_load: light, SIM_STEP_join: light, SIM_STEP_aggregate: light });
    const [short, long] = await Promise.all(
      [
        ['fe-short', 100],
        ['fe-long', 800],
      ].map(async ([name, gib]) => {
        const handle = await startProcessing(stack, processingInput(name as string, { count: 5, env: env(gib as number) }));
        const result = await handle.result();
        return { result, events: (await handle.fetchHistory()).events?.length ?? 0 };
      }),
    );
    expect([short!.result.attempts.length, long!.result.attempts.length]).toEqual([1, 1]);
    // 15 minutes against about 2 hours of steps: eight poll intervals more, not one event more for them.
    expect(long!.result.attempts[0]!.durationMs! - short!.result.attempts[0]!.durationMs!).toBeGreaterThan(90 * 60_000);
    expect(long!.events).toBeLessThanOrEqual(short!.events);
  });

  it('ends at the attempt cap with a summary of attempts and cost', async () => {
    // One executor: its CPU saturates in load (executor alarm), and no attempt is left.
    const handle = await startProcessing(stack, processingInput('fe-capped', { count: 2, policy: { maxAttempts: 1 } }));
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    const cause = err.cause as Error & { type?: string };
    expect(cause.type).toBe('AttemptCapReached');
    expect(cause.message).toMatch(/all 1 attempts used/);
    expect(cause.message).toMatch(/attempt 1 fe-capped-a1: 2 x ml\.m5\.xlarge, executor-alarm/);
    expect(cause.message).toMatch(/\$\d+\.\d\d spent/);
  });

  it('waits for an approval past the budget, goes on once approved, and ends with a summary when none comes', async () => {
    const policy = { budgetUsd: 0.1, estimatedRuntimeMinutes: 20 };
    const waiting = await startProcessing(stack, processingInput('fe-budget', { count: 5, policy }));
    await stack.sleepAndHold(60_000);
    const status = await waiting.query(processingStatusQuery);
    expect(status.phase).toBe('awaiting-approval');
    expect(status.note).toContain('mlops processing approve fe-budget');
    expect(await stepRuns(stack, 'fe-budget')).toEqual([]);
    expect(await waiting.executeUpdate(approveBudgetUpdate, { args: [{ addUsd: 5 }] })).toEqual({ budgetUsd: 5.1 });
    stack.release();
    const done = await waiting.result();
    expect(done.status).toBe('Completed');
    expect(done.budgetUsd).toBe(5.1);
    const refused = await startProcessing(stack, processingInput('fe-nobudget', { count: 5, policy }));
    const err = (await refused.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as Error & { type?: string }).type).toBe('BudgetExceeded');
    expect((err.cause as Error).message).toMatch(/would pass the \$0\.10 budget and no approval came in 24 h/);
  });
});

describe('crash of the worker', () => {
  it('loses nothing: the job finishes once, each step completed once, and no alarm is left', async () => {
    const handle = await startProcessing(stack, processingInput('fe-crash'));
    // Mid-run of attempt 1 (in its load step) the worker dies; a second later a new one starts. (Virtual time cannot
    // skip while a workflow task waits for a worker, so the outage is short in virtual time.)
    await stack.sleepAndHold(5 * 60_000);
    await stack.stopWorker();
    stack.release();
    await new Promise((r) => setTimeout(r, 1000));
    await stack.startWorker();
    const result = await handle.result();
    expect(result.status).toBe('Completed');
    expect(result.attempts.map((a) => [a.resources.instanceCount, a.outcome])).toEqual([
      [3, 'executor-alarm'],
      [5, 'completed'],
    ]);
    const runs = await stepRuns(stack, 'fe-crash');
    expect(completedTwice(runs)).toEqual([]);
    expect(runs.filter((r) => r.outcome === 'completed').map((r) => r.step).sort()).toEqual(['aggregate', 'join', 'load']);
    expect(new Set(runs.map((r) => r.job))).toEqual(new Set(['fe-crash-a1', 'fe-crash-a2']));
    expect(await alarmsLeft('fe-crash-')).toEqual([]);
  });
});

describe('mlops processing (the CLI operations, on the same stack)', () => {
  it('starts from the example-shaped input, shows live progress while waiting, lists, and refuses a reused name', async () => {
    const input = processingInput('fe-cli');
    const lines: string[] = [];
    await cli.startProcessing(stack.client, input);
    const end = await cli.waitForProcessing(stack.client, 'fe-cli', (l) => lines.push(l), 50);
    expect(end.phase).toBe('completed');
    expect(lines.some((l) => /^attempt 1 running on 3 x ml\.m5\.xlarge/.test(l))).toBe(true);
    expect(lines.some((l) => /^attempt 2 .* on 5 x ml\.m5\.xlarge/.test(l))).toBe(true);
    expect(cli.statusText(end)).toMatch(/attempt 1 fe-cli-a1: 3 x ml\.m5\.xlarge, executor-alarm/);
    expect((await cli.listProcessing(stack.client)).find((j) => j.name === 'fe-cli')?.status).toBe('COMPLETED');
    await expect(cli.startProcessing(stack.client, input)).rejects.toThrow(/already exists/);
    await expect(cli.approveProcessing(stack.client, 'fe-cli', 5)).rejects.toThrow(UsageError);
    await expect(cli.processingStatus(stack.client, 'fe-none')).rejects.toThrow(/no processing job named fe-none/);
  });

  it('stop cancels the workflow: the running attempt is stopped and its alarms deleted', async () => {
    const handle = await startProcessing(stack, processingInput('fe-cancel', { count: 5 }));
    await stack.sleepAndHold(6 * 60_000);
    // The driver's and two executor groups' (algo-2..4, algo-5).
    expect(await alarmsLeft('fe-cancel-a1-')).toEqual(['fe-cancel-a1-driver', 'fe-cancel-a1-executors-1', 'fe-cancel-a1-executors-2']);
    await cli.stopProcessing(stack.client, 'fe-cancel');
    stack.release();
    await expect(handle.result()).rejects.toThrow();
    expect(await alarmsLeft('fe-cancel-')).toEqual([]);
    const job = await stack.sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: 'fe-cancel-a1' }));
    expect(['Stopping', 'Stopped']).toContain(job.ProcessingJobStatus);
  });
});

async function postAlarm(alarmName: string): Promise<number> {
  const res = await fetch(`${stack.gateway.url}/events/eventbridge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'processing-key' },
    body: JSON.stringify({
      version: '0',
      id: 'dup-1',
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '123456789012',
      time: new Date(stack.now()).toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarmName}`],
      detail: { alarmName, state: { value: 'ALARM', reason: 'test', timestamp: new Date(stack.now()).toISOString() }, previousState: { value: 'OK', reason: 'test' } },
    }),
  });
  return res.status;
}
