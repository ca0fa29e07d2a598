/**
 * The processing workflow end to end on the embedded server with time skipping: the emulator's jobs publish metrics
 * on the server's virtual clock, the emulated CloudWatch alarms fire, their events reach the real gateway over HTTP
 * and become signals; the workflow restarts the job bigger from its checkpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { StopProcessingJobCommand } from '@aws-sdk/client-sagemaker';
import { WorkflowFailedError } from '@temporalio/client';
import { processingStatusQuery } from '../../workflows/processing/messages';
import { processingInput, startProcessing, startProcessingStack, stepRuns, workload, type ProcessingStack } from './harness';

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

function completedTwice(runs: { step: string; outcome: string }[]): string[] {
  const seen = new Map<string, number>();
  for (const r of runs) if (r.outcome === 'completed') seen.set(r.step, (seen.get(r.step) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([s]) => s);
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
    await stack.sleep(10 * 60_000);
    await stack.sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-console-a1' }));
    const result = await handle.result();
    expect(result.attempts.map((a) => [a.resources.instanceCount, a.outcome])).toEqual([
      [5, 'stopped-outside'],
      [5, 'completed'],
    ]);
    expect(completedTwice(await stepRuns(stack, 'fe-console'))).toEqual([]);
  });

  it('stops at once on a user error, with its reason, and leaves no alarm', async () => {
    await fetch(`${stack.emu.endpoint}/_emulator/scenarios`, {
      method: 'POST',
      body: JSON.stringify({ service: 'sagemaker', kind: 'processing-job', resource: 'fe-user-*', failureReason: 'AlgorithmError: KeyError: customer_id, exit code: 1', failAtStatus: 'InProgress/load' }),
    });
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
});
