/** Emulated SageMaker Processing through the real SDK clients: the simulated workload, checkpoints, failures, quota. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProcessingJobCommand, DescribeProcessingJobCommand, ListProcessingJobsCommand, SageMakerClient, StopProcessingJobCommand, type CreateProcessingJobCommandInput } from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import type { RunningEmulator } from '../../local/aws';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

const START = Date.parse('2026-03-01T09:00:00Z');
const MIN = 60_000;
let now = START;
let emu: RunningEmulator;
let sm: SageMakerClient;
let s3: S3Client;
let cw: CloudWatchClient;

function advance(ms: number): void {
  // Minute by minute, as a running emulator's wake-ups would.
  for (let left = ms; left > 0; left -= Math.min(left, MIN)) {
    now += Math.min(left, MIN);
    emu.emulator.advanceJobs();
  }
}

/** 100 GiB; load 5 min and join 10 min on 2 x m5.xlarge executors; an executor needs 1 + 20/executors GiB. */
const WORKLOAD = {
  SIM_DATA_GIB: '100',
  SIM_STEPS: 'load,join',
  SIM_STEP_load: 'cpu=0.4;execMem=1+0.2;driverMem=2+0.02',
  SIM_STEP_join: 'cpu=0.8;execMem=1+0.2;driverMem=2+0.02;disk=1+0.1',
};

function job(name: string, over: { count?: number; type?: string; env?: Record<string, string>; prefix?: string } = {}): CreateProcessingJobCommandInput {
  return {
    ProcessingJobName: name,
    RoleArn: 'arn:aws:iam::123456789012:role/processing',
    AppSpecification: { ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/features:1' },
    ProcessingResources: { ClusterConfig: { InstanceCount: over.count ?? 3, InstanceType: (over.type ?? 'ml.m5.xlarge') as never, VolumeSizeInGB: 30 } },
    Environment: over.env ?? WORKLOAD,
    ProcessingOutputConfig: { Outputs: [{ OutputName: 'checkpoints', S3Output: { S3Uri: `s3://features/${over.prefix ?? name}`, LocalPath: '/opt/ml/processing/checkpoints', S3UploadMode: 'Continuous' } }] },
  };
}

async function status(name: string) {
  return sm.send(new DescribeProcessingJobCommand({ ProcessingJobName: name }));
}

async function steps(name: string): Promise<{ step: string; outcome: string }[]> {
  return (await control<{ steps: { step: string; outcome: string }[] }>(emu.endpoint, 'GET', `/services/sagemaker/processing-steps?job=${name}`)).body.steps;
}

beforeAll(async () => {
  emu = await startTestEmulator({ clock: { now: () => now } });
  const config = clientConfig(emu.endpoint, 1);
  sm = new SageMakerClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  cw = new CloudWatchClient(config);
  await s3.send(new CreateBucketCommand({ Bucket: 'features' }));
});
afterAll(async () => {
  await emu?.close();
});

describe('emulated processing jobs', () => {
  it('runs the declared steps, publishes per-host metrics each minute, checkpoints each step and completes', async () => {
    await sm.send(new CreateProcessingJobCommand(job('fe-ok')));
    expect((await status('fe-ok')).ProcessingJobStatus).toBe('InProgress');
    advance(3 * MIN + 5 * MIN + 30_000);
    let objects = await s3.send(new ListObjectsV2Command({ Bucket: 'features', Prefix: 'fe-ok/' }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual(['fe-ok/load.json']);
    advance(10 * MIN);
    const done = await status('fe-ok');
    expect(done.ProcessingJobStatus).toBe('Completed');
    expect(done.ProcessingEndTime!.getTime() - done.ProcessingStartTime!.getTime()).toBe(15 * MIN);
    objects = await s3.send(new ListObjectsV2Command({ Bucket: 'features', Prefix: 'fe-ok/' }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual(['fe-ok/join.json', 'fe-ok/load.json']);
    expect(await steps('fe-ok')).toEqual([
      expect.objectContaining({ step: 'load', outcome: 'completed' }),
      expect.objectContaining({ step: 'join', outcome: 'completed' }),
    ]);
    const metrics = await cw.send(new ListMetricsCommand({ Namespace: '/aws/sagemaker/ProcessingJobs', Dimensions: [{ Name: 'Host', Value: 'fe-ok/algo-2' }] }));
    expect(metrics.Metrics?.map((m) => m.MetricName).sort()).toEqual(['CPUUtilization', 'DiskUtilization', 'MemoryUtilization']);
    const data = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(START),
        EndTime: new Date(now),
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          { Id: 'mem', MetricStat: { Metric: { Namespace: '/aws/sagemaker/ProcessingJobs', MetricName: 'MemoryUtilization', Dimensions: [{ Name: 'Host', Value: 'fe-ok/algo-2' }] }, Period: 60, Stat: 'Maximum' } },
          { Id: 'cpu', MetricStat: { Metric: { Namespace: '/aws/sagemaker/ProcessingJobs', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'Host', Value: 'fe-ok/algo-2' }] }, Period: 60, Stat: 'Maximum' } },
        ],
      }),
    );
    const mem = data.MetricDataResults?.find((r) => r.Id === 'mem');
    // One point per running minute (15), none while provisioning; 11 GiB of 16 GiB on each executor.
    expect(mem?.Values).toHaveLength(15);
    expect(new Set(mem?.Values)).toEqual(new Set([68.8]));
    // Summed over the 4 cores, as SageMaker reports it.
    expect(Math.max(...(data.MetricDataResults?.find((r) => r.Id === 'cpu')?.Values ?? []))).toBe(400);
  });

  it('skips the steps whose checkpoints the output prefix already holds', async () => {
    await sm.send(new CreateProcessingJobCommand(job('fe-stop-a1', { prefix: 'fe-stop' })));
    advance(3 * MIN + 6 * MIN);
    await sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-stop-a1' }));
    expect((await status('fe-stop-a1')).ProcessingJobStatus).toBe('Stopping');
    advance(MIN);
    expect((await status('fe-stop-a1')).ProcessingJobStatus).toBe('Stopped');
    await sm.send(new CreateProcessingJobCommand(job('fe-stop-a2', { prefix: 'fe-stop' })));
    advance(3 * MIN + 10 * MIN);
    expect((await status('fe-stop-a2')).ProcessingJobStatus).toBe('Completed');
    expect(await steps('fe-stop-a1')).toEqual([expect.objectContaining({ step: 'load', outcome: 'completed' }), expect.objectContaining({ step: 'join', outcome: 'interrupted' })]);
    expect(await steps('fe-stop-a2')).toEqual([expect.objectContaining({ step: 'join', outcome: 'completed' })]);
    const err = await caught(sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-stop-a2' })));
    expect(err.name).toBe('ValidationException');
  });

  it('fails a job whose executor runs out of memory, in the first minute of that step, naming the host', async () => {
    await sm.send(new CreateProcessingJobCommand(job('fe-oom', { count: 2 })));
    advance(3 * MIN + MIN);
    const d = await status('fe-oom');
    expect(d.ProcessingJobStatus).toBe('Failed');
    expect(d.FailureReason).toMatch(/^OutOfMemoryError: /);
    expect(d.ExitMessage).toMatch(/^algo-2: .*exit code 137/);
    expect(await steps('fe-oom')).toEqual([expect.objectContaining({ step: 'load', outcome: 'failed' })]);
  });

  it('fails with CapacityError on an instance type without capacity, and refuses instances over the quota', async () => {
    await control(emu.endpoint, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: ['ml.r5.xlarge'], instanceQuota: 8 });
    await sm.send(new CreateProcessingJobCommand(job('fe-capacity', { type: 'ml.r5.xlarge' })));
    advance(2 * MIN);
    expect((await status('fe-capacity')).FailureReason).toBe('CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type.');
    await sm.send(new CreateProcessingJobCommand(job('fe-q1', { count: 6 })));
    const err = await caught(sm.send(new CreateProcessingJobCommand(job('fe-q2', { count: 3 }))));
    expect(err.name).toBe('ResourceLimitExceeded');
    expect(err.message).toContain("'Number of instances across all processing jobs' is 8 Instances, with current utilization of 6 Instances and a request delta of 3 Instances");
    await sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'fe-q1' }));
    advance(MIN);
    await control(emu.endpoint, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: [], instanceQuota: 20 });
  });

  it('refuses a bad workload, a reused name and an unknown instance type, and lists with filters and pages', async () => {
    const bad = await caught(sm.send(new CreateProcessingJobCommand(job('fe-bad', { env: { SIM_STEPS: 'a', SIM_STEP_a: 'cpu=fast' } }))));
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toContain('SIM_STEP_a cpu=fast');
    expect((await caught(sm.send(new CreateProcessingJobCommand(job('fe-ok'))))).name).toBe('ResourceInUse');
    expect((await caught(sm.send(new CreateProcessingJobCommand(job('fe-type', { type: 'ml.x9.huge' })))))).toMatchObject({ name: 'ValidationException' });
    const failed = await sm.send(new ListProcessingJobsCommand({ StatusEquals: 'Failed', SortBy: 'Name', SortOrder: 'Ascending' }));
    expect(failed.ProcessingJobSummaries?.map((s) => s.ProcessingJobName)).toEqual(['fe-capacity', 'fe-oom']);
    const first = await sm.send(new ListProcessingJobsCommand({ NameContains: 'fe-stop', MaxResults: 1, SortBy: 'Name', SortOrder: 'Ascending' }));
    const second = await sm.send(new ListProcessingJobsCommand({ NameContains: 'fe-stop', MaxResults: 1, SortBy: 'Name', SortOrder: 'Ascending', NextToken: first.NextToken }));
    expect([...(first.ProcessingJobSummaries ?? []), ...(second.ProcessingJobSummaries ?? [])].map((s) => s.ProcessingJobName)).toEqual(['fe-stop-a1', 'fe-stop-a2']);
    expect(second.NextToken).toBeUndefined();
  });

  it('publishes a state change event for every status a job reaches', async () => {
    const events = await control<{ events: { event: { detail: { ProcessingJobName: string; ProcessingJobStatus: string } } }[] }>(
      emu.endpoint,
      'GET',
      '/events?detailType=SageMaker%20Processing%20Job%20State%20Change',
    );
    const of = (name: string) => events.body.events.filter((e) => e.event.detail.ProcessingJobName === name).map((e) => e.event.detail.ProcessingJobStatus);
    expect(of('fe-ok')).toEqual(['InProgress', 'Completed']);
    expect(of('fe-stop-a1')).toEqual(['InProgress', 'Stopping', 'Stopped']);
    expect(of('fe-oom')).toEqual(['InProgress', 'Failed']);
  });
});
