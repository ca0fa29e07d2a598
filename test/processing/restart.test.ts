/**
 * A checkpointed processing job under `mlops start` (state in MLOPS_DATA_DIR) when the whole process (server, worker,
 * emulator, gateway) is killed with SIGKILL in the middle of the job and started again on the same data directory: the
 * job is restarted bigger on its executor alarm and finishes once, no checkpointed step ran twice (the emulator's
 * record), and no alarm is left. The emulator's clock stands still but for the test's steps (POST /_emulator/clock),
 * one emulated minute at a time once the stack has acted on the last one, so no real wait paces the job.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DescribeAlarmsCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ListProcessingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { processingStatusQuery } from '../../workflows/processing/messages';
import { processingWorkflowId, type ProcessingStatus } from '../../workflows/processing/model';
import { eventually } from '../recovery/drive';
import { cli, freshDataDir, killStack, stackEnv, startStack } from '../foundation/running-stack';
import { emulatorClientOptions } from '../support/stack';
import { BUCKET, completedTwice, workload } from './harness';

const BASE = 'fe-restart';
const MINUTE = 60_000;

/** The spec a user would write: 3 x ml.m5.xlarge, too few executors for `join` (its executor alarm fires). */
function writeSpec(dataDir: string): string {
  const file = join(dirname(dataDir), 'spec.json');
  const spec = {
    name: BASE,
    processingJob: {
      RoleArn: 'arn:aws:iam::123456789012:role/processing',
      AppSpecification: { ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/features:1' },
      ProcessingResources: { ClusterConfig: { InstanceCount: 3, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 50 } },
      Environment: workload(),
      ProcessingOutputConfig: { Outputs: [{ OutputName: 'checkpoints', S3Output: { S3Uri: `s3://${BUCKET}/${BASE}/checkpoints`, LocalPath: '/opt/ml/processing/checkpoints', S3UploadMode: 'Continuous' } }] },
    },
  };
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** The stack of one `mlops start`: its emulator's clients and control API, its Temporal client. */
async function attach(env: NodeJS.ProcessEnv) {
  const endpoint = `http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}`;
  const connection = await Connection.connect({ address: `127.0.0.1:${env.MLOPS_TEMPORAL_PORT}` });
  const handle = new Client({ connection }).workflow.getHandle(processingWorkflowId(BASE));
  const opts = emulatorClientOptions(endpoint);
  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${endpoint}/_emulator${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`/_emulator${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  /**
   * The emulator's events are all delivered, and the workflow has no task or activity in flight (but the safety-net
   * poll, which waits out its retry interval for as long as the job runs).
   */
  const quiet = async (): Promise<boolean> => {
    const { events } = await control<{ events: { state: string }[] }>('/events');
    if (events.some((e) => e.state === 'pending')) return false;
    const { raw } = await handle.describe();
    return (raw.pendingActivities ?? []).every((a) => a.activityType?.name === 'awaitAttemptEnd') && !raw.pendingWorkflowTask;
  };
  return {
    sm: new SageMakerClient(opts),
    cw: new CloudWatchClient(opts),
    s3: new S3Client({ ...opts, forcePathStyle: true }),
    status: () => handle.query(processingStatusQuery),
    /** The workflow's run status: RUNNING until the job's story ends (COMPLETED, FAILED...). */
    runStatus: async () => (await handle.describe()).status.name,
    stepRuns: async () => (await control<{ steps: { job: string; step: string; outcome: string }[] }>('/services/sagemaker/processing-steps')).steps.filter((s) => s.job.startsWith(`${BASE}-a`)),
    /**
     * Moves the emulated clock a minute at a time, each once the stack is quiet (twice in a row, so an event that
     * woke the workflow has been acted on), until `done` holds.
     */
    minuteByMinute: async <T>(what: string, done: () => Promise<T | undefined>, maxMinutes: number): Promise<T> => {
      for (let m = 0; m <= maxMinutes; m++) {
        await eventually(`the stack to act on minute ${m}`, async () => ((await quiet()) && (await quiet()) ? true : undefined), 30_000, 25);
        const v = await done();
        if (v !== undefined) return v;
        await control('/clock', { advanceMs: MINUTE });
      }
      throw new Error(`${what}: not within ${maxMinutes} emulated minutes`);
    },
    close: () => connection.close(),
  };
}

/** A clock that (all but) stands still: it moves when the test moves it. */
const STILL_CLOCK = { MLOPS_EMULATOR_TIME_SCALE: '0.0001' };

describe('a processing job across a SIGKILL of mlops start', () => {
  it('killed mid-run and started again on the same data directory: the job finishes once, no step ran twice, no alarm is left', async () => {
    const dataDir = freshDataDir('processing-restart');
    let env = await stackEnv(dataDir, STILL_CLOCK);
    let running = await startStack(env);
    let stack = await attach(env);
    await stack.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const started = cli(env, 'processing', 'start', '--spec', writeSpec(dataDir));
    expect(started.status, started.stderr).toBe(0);

    // Into attempt 1's load step (3 minutes provisioning, 5 minutes load), its alarms in place.
    await stack.minuteByMinute('attempt 1 in its load step', async () => ((await stack.stepRuns()).some((r) => r.job === `${BASE}-a1` && r.step === 'load' && r.outcome === 'running') ? true : undefined), 10);
    expect((await stack.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${BASE}-a1-` }))).MetricAlarms?.length).toBe(2);
    await stack.close();

    await killStack(running);
    env = await stackEnv(dataDir, STILL_CLOCK);
    running = await startStack(env);
    stack = await attach(env);
    // The restarted stack goes on: join's memory need trips the executor alarm, the job is stopped and restarted bigger.
    const closed = await stack.minuteByMinute('the workflow to end', async () => ((await stack.runStatus()) !== 'RUNNING' ? stack.runStatus() : undefined), 60);
    expect(closed).toBe('COMPLETED');
    const end = await stack.status();
    expect(end.phase).toBe('completed');
    expect(end.attempts.map((a) => [a.jobName, a.resources.instanceCount, a.outcome])).toEqual([
      [`${BASE}-a1`, 3, 'executor-alarm'],
      [`${BASE}-a2`, 5, 'completed'],
    ]);

    // One SageMaker job per attempt name; each step completed once, from the emulator's record.
    const jobs = (await stack.sm.send(new ListProcessingJobsCommand({ NameContains: BASE }))).ProcessingJobSummaries ?? [];
    expect(jobs.map((j) => [j.ProcessingJobName, j.ProcessingJobStatus]).sort()).toEqual([
      [`${BASE}-a1`, 'Stopped'],
      [`${BASE}-a2`, 'Completed'],
    ]);
    const runs = await stack.stepRuns();
    expect(completedTwice(runs)).toEqual([]);
    expect(runs.filter((r) => r.outcome === 'completed').map((r) => r.step)).toEqual(['load', 'join', 'aggregate']);
    expect((await stack.cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: `${BASE}-` }))).MetricAlarms).toEqual([]);
    // What the user sees from the CLI after the restart.
    const shown = cli(env, 'processing', 'status', BASE, '--json');
    expect(shown.status, shown.stderr).toBe(0);
    expect((JSON.parse(shown.stdout) as ProcessingStatus).attempts).toHaveLength(2);

    await stack.close();
    running.child.kill('SIGINT');
    expect(await running.exited, running.stderr()).toBe(0);
  }, 240_000);
});
