/**
 * Emulated SageMaker AutoML V2 time series through the real @aws-sdk/client-sagemaker: CreateAutoMLJobV2 validated as
 * botocore's model gives it, statuses on the emulator's clock (longer for more data), the best candidate with its
 * backtest metrics (predictable data scores better than noise), ListCandidatesForAutoMLJob, StopAutoMLJob, and the
 * path to forecasts: CreateModel from the best candidate's containers and a batch transform writing quantiles to S3.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AddTagsCommand,
  CreateAutoMLJobV2Command,
  CreateModelCommand,
  CreateTransformJobCommand,
  DeleteModelCommand,
  DescribeAutoMLJobV2Command,
  DescribeModelCommand,
  DescribeTransformJobCommand,
  ListAutoMLJobsCommand,
  ListCandidatesForAutoMLJobCommand,
  ListTagsCommand,
  SageMakerClient,
  StopAutoMLJobCommand,
  type CreateAutoMLJobV2CommandInput,
} from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningEmulator } from '../../local/aws';
import { loadParquetWriter } from '../../common/esm-import';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

let emu: RunningEmulator;
let sm: SageMakerClient;
let s3: S3Client;
const BUCKET = 'automl-data';
const ROLE = 'arn:aws:iam::123456789012:role/automl';

beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  await control(emu.endpoint, 'POST', '/reset');
  sm = new SageMakerClient(clientConfig(emu.endpoint));
  s3 = new S3Client({ ...clientConfig(emu.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

const advance = (seconds: number) => control(emu.endpoint, 'POST', '/clock', { advanceSeconds: seconds });

/** Daily demand with a header: a weekly pattern per item plus noise of the given size (deterministic). */
function table(items: number, days: number, noise: number): string {
  const rows = ['item_id,timestamp,demand,discount'];
  let seed = 11;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  for (let i = 0; i < items; i++) {
    for (let d = 0; d < days; d++) {
      const day = new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      const demand = Math.max(0, 20 + 5 * i + 8 * Math.sin((2 * Math.PI * d) / 7) + noise * rand() * 2);
      rows.push(`item_${i},${day},${demand.toFixed(2)},0`);
    }
  }
  return `${rows.join('\n')}\n`;
}

async function put(key: string, body: string): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return `s3://${BUCKET}/${key}`;
}

function jobInput(name: string, uri: string, over: Record<string, unknown> = {}): CreateAutoMLJobV2CommandInput {
  return {
    AutoMLJobName: name,
    AutoMLJobInputDataConfig: [{ ChannelType: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: uri } } }],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/automl/` },
    AutoMLProblemTypeConfig: {
      TimeSeriesForecastingJobConfig: {
        ForecastFrequency: 'D',
        ForecastHorizon: 14,
        ForecastQuantiles: ['p10', 'p50', 'p90'],
        TimeSeriesConfig: { TargetAttributeName: 'demand', TimestampAttributeName: 'timestamp', ItemIdentifierAttributeName: 'item_id' },
        ...over,
      },
    },
    AutoMLJobObjective: { MetricName: 'RMSE' },
    RoleArn: ROLE,
  };
}

async function untilDone(name: string) {
  for (let i = 0; i < 100; i++) {
    const d = await sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: name }));
    if (d.AutoMLJobStatus !== 'InProgress' && d.AutoMLJobStatus !== 'Stopping') return d;
    await advance(600);
  }
  throw new Error(`${name} never ended`);
}

/** The table as Parquet: timestamps as a TIMESTAMP column, demand as DOUBLE. */
async function parquetTable(csv: string): Promise<Buffer> {
  const [, ...rows] = csv.trim().split('\n').map((l) => l.split(','));
  const { parquetWriteBuffer } = await loadParquetWriter();
  return Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'item_id', data: rows.map((r) => r[0] as string), type: 'STRING' },
        { name: 'timestamp', data: rows.map((r) => new Date(`${r[1] as string}T00:00:00Z`)), type: 'TIMESTAMP' },
        { name: 'demand', data: rows.map((r) => Number(r[2])), type: 'DOUBLE' },
        { name: 'discount', data: rows.map((r) => Number(r[3])), type: 'DOUBLE' },
      ],
    }),
  );
}

describe('emulated SageMaker AutoML V2 time series', () => {
  it('reads a Parquet table (x-application/vnd.amazon+parquet) as it reads the same table in CSV', async () => {
    const csv = table(3, 120, 4);
    const csvUri = await put('csv/train.csv', csv);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pq/train.parquet', Body: await parquetTable(csv) }));
    const parquet = (name: string, uri: string): CreateAutoMLJobV2CommandInput => {
      const input = jobInput(name, uri);
      return { ...input, AutoMLJobInputDataConfig: [{ ...input.AutoMLJobInputDataConfig![0], ContentType: 'x-application/vnd.amazon+parquet' }] };
    };
    await sm.send(new CreateAutoMLJobV2Command(jobInput('csv-job', csvUri)));
    await sm.send(new CreateAutoMLJobV2Command(parquet('parquet-job', `s3://${BUCKET}/pq/`)));
    await sm.send(new CreateAutoMLJobV2Command(parquet('not-parquet', csvUri)));
    const fromCsv = await untilDone('csv-job');
    const fromParquet = await untilDone('parquet-job');
    expect(fromParquet.AutoMLJobStatus).toBe('Completed');
    expect(fromParquet.BestCandidate?.CandidateProperties?.CandidateMetrics).toEqual(fromCsv.BestCandidate?.CandidateProperties?.CandidateMetrics);
    const bad = await untilDone('not-parquet');
    expect(bad.AutoMLJobStatus).toBe('Failed');
    expect(bad.FailureReason).toMatch(/train\.csv is not a Parquet file/);
    const other = jobInput('other-type', csvUri);
    const refused = await caught(sm.send(new CreateAutoMLJobV2Command({ ...other, AutoMLJobInputDataConfig: [{ ...other.AutoMLJobInputDataConfig![0], ContentType: 'application/json' }] })));
    expect(refused.name).toBe('ValidationException');
    expect(refused.message).toMatch(/ContentType application\/json is not supported for time-series forecasting/);
  });

  it('trains on the S3 table through the secondary statuses; the best candidate carries its backtest metrics', async () => {
    const uri = await put('clean/train.csv', table(3, 120, 1));
    const noisy = await put('noisy/train.csv', table(3, 120, 12));
    const { AutoMLJobArn } = await sm.send(new CreateAutoMLJobV2Command(jobInput('clean-job', uri)));
    expect(AutoMLJobArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:automl-job/clean-job');
    await sm.send(new CreateAutoMLJobV2Command(jobInput('noisy-job', noisy)));
    const first = await sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'clean-job' }));
    expect(first).toMatchObject({ AutoMLJobStatus: 'InProgress', AutoMLJobSecondaryStatus: 'Starting', AutoMLProblemTypeConfigName: 'TimeSeriesForecasting' });
    expect(first.BestCandidate).toBeUndefined();
    expect((await sm.send(new ListCandidatesForAutoMLJobCommand({ AutoMLJobName: 'clean-job' }))).Candidates).toEqual([]);
    await advance(120);
    expect((await sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'clean-job' }))).AutoMLJobSecondaryStatus).toBe('AnalyzingData');
    const done = await untilDone('clean-job');
    expect(done.AutoMLJobStatus).toBe('Completed');
    expect(done.AutoMLJobSecondaryStatus).toBe('Completed');
    expect(done.EndTime!.getTime() - done.CreationTime!.getTime()).toBeGreaterThan(60 * 60_000);
    const best = done.BestCandidate!;
    expect(best.FinalAutoMLJobObjectiveMetric).toMatchObject({ MetricName: 'RMSE' });
    const names = (best.CandidateProperties?.CandidateMetrics ?? []).map((m) => m.MetricName).sort();
    expect(names).toEqual(['AverageWeightedQuantileLoss', 'MAPE', 'MASE', 'RMSE', 'WAPE']);
    expect(best.InferenceContainers?.[0]?.ModelDataUrl).toMatch(/^s3:\/\/automl-data\/automl\/clean-job\//);
    const candidates = (await sm.send(new ListCandidatesForAutoMLJobCommand({ AutoMLJobName: 'clean-job' }))).Candidates ?? [];
    expect(candidates.length).toBe(2);
    expect(candidates[0]?.CandidateName).toBe(best.CandidateName);
    expect(candidates[0]!.FinalAutoMLJobObjectiveMetric!.Value!).toBeLessThanOrEqual(candidates[1]!.FinalAutoMLJobObjectiveMetric!.Value!);
    const noisyDone = await untilDone('noisy-job');
    expect(noisyDone.BestCandidate!.FinalAutoMLJobObjectiveMetric!.Value!).toBeGreaterThan(best.FinalAutoMLJobObjectiveMetric!.Value!);
    const listed = await sm.send(new ListAutoMLJobsCommand({ NameContains: 'clean' }));
    expect(listed.AutoMLJobSummaries?.map((j) => [j.AutoMLJobName, j.AutoMLJobStatus])).toEqual([['clean-job', 'Completed']]);
  });

  it('training takes longer on more data', async () => {
    await sm.send(new CreateAutoMLJobV2Command(jobInput('small', await put('s/t.csv', table(2, 60, 1)))));
    await sm.send(new CreateAutoMLJobV2Command(jobInput('large', await put('l/t.csv', table(8, 240, 1)))));
    const small = await untilDone('small');
    const large = await untilDone('large');
    const took = (d: typeof small) => d.EndTime!.getTime() - d.CreationTime!.getTime();
    expect(took(large)).toBeGreaterThan(took(small) * 1.5);
  });

  it('a model from the best candidate and a batch transform write quantile forecasts to S3', async () => {
    const uri = await put('f/train.csv', table(2, 90, 1));
    await sm.send(new CreateAutoMLJobV2Command(jobInput('fc-job', uri)));
    const best = (await untilDone('fc-job')).BestCandidate!;
    const { ModelArn } = await sm.send(new CreateModelCommand({ ModelName: 'fc-model', Containers: best.InferenceContainers, ExecutionRoleArn: ROLE }));
    expect(ModelArn).toBe('arn:aws:sagemaker:us-east-1:123456789012:model/fc-model');
    expect((await sm.send(new DescribeModelCommand({ ModelName: 'fc-model' }))).Containers?.[0]?.ModelDataUrl).toBe(best.InferenceContainers?.[0]?.ModelDataUrl);
    expect((await caught(sm.send(new CreateModelCommand({ ModelName: 'fc-model', Containers: best.InferenceContainers })))).message).toMatch(/Cannot create already existing model/);
    const transform = {
      TransformJobName: 'fc-transform',
      ModelName: 'fc-model',
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri } }, ContentType: 'text/csv' },
      TransformOutput: { S3OutputPath: `s3://${BUCKET}/out/` },
      TransformResources: { InstanceType: 'ml.m5.xlarge' as const, InstanceCount: 1 },
    };
    await sm.send(new CreateTransformJobCommand(transform));
    expect((await caught(sm.send(new CreateTransformJobCommand(transform)))).name).toBe('ResourceInUse');
    expect((await sm.send(new DescribeTransformJobCommand({ TransformJobName: 'fc-transform' }))).TransformJobStatus).toBe('InProgress');
    expect((await caught(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out/train.csv.out' })))).name).toBe('NoSuchKey');
    await advance(3600);
    expect((await sm.send(new DescribeTransformJobCommand({ TransformJobName: 'fc-transform' }))).TransformJobStatus).toBe('Completed');
    const out = (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out/train.csv.out' }))).Body!.transformToString()).trim().split('\n');
    expect(out[0]).toBe('item_id,timestamp,p10,p50,p90');
    expect(out).toHaveLength(1 + 2 * 14);
    expect(out[1]).toMatch(/^item_0,2026-04-01,/);
    const [p10, p50, p90] = (out[1] as string).split(',').slice(2).map(Number) as [number, number, number];
    expect(p10).toBeLessThanOrEqual(p50);
    expect(p50).toBeLessThanOrEqual(p90);
    expect(p50).toBeGreaterThan(5);
    // The model's artifact is what the container would load: without it, the transform fails.
    await sm.send(new DeleteModelCommand({ ModelName: 'fc-model' }));
    expect((await caught(sm.send(new DescribeModelCommand({ ModelName: 'fc-model' })))).message).toMatch(/Could not find model/);
  });

  it('refuses what the API refuses, stops a job, and tags jobs', async () => {
    const uri = await put('e/train.csv', table(2, 90, 1));
    const bad = async (input: CreateAutoMLJobV2CommandInput) => caught(sm.send(new CreateAutoMLJobV2Command(input)));
    expect((await bad(jobInput('x'.repeat(33), uri))).name).toBe('ValidationException');
    expect((await bad(jobInput('bad_name', uri))).name).toBe('ValidationException');
    expect((await bad(jobInput('freq', uri, { ForecastFrequency: '8D' }))).message).toMatch(/regular expression/);
    expect((await bad(jobInput('quant', uri, { ForecastQuantiles: ['p0'] }))).name).toBe('ValidationException');
    expect((await bad(jobInput('six', uri, { ForecastQuantiles: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'] }))).name).toBe('ValidationException');
    expect((await caught(sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'nope' })))).name).toBe('ResourceNotFound');
    await sm.send(new CreateAutoMLJobV2Command({ ...jobInput('tagged', uri), Tags: [{ Key: 'mlops:segment', Value: 'popular' }] }));
    expect((await bad(jobInput('tagged', uri))).name).toBe('ResourceInUse');
    await sm.send(new AddTagsCommand({ ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:automl-job/tagged', Tags: [{ Key: 'mlops:role', Value: 'champion' }] }));
    expect((await sm.send(new ListTagsCommand({ ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:automl-job/tagged' }))).Tags).toEqual([
      { Key: 'mlops:segment', Value: 'popular' },
      { Key: 'mlops:role', Value: 'champion' },
    ]);
    await sm.send(new StopAutoMLJobCommand({ AutoMLJobName: 'tagged' }));
    expect((await sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'tagged' }))).AutoMLJobStatus).toBe('Stopping');
    await advance(120);
    expect((await sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'tagged' }))).AutoMLJobStatus).toBe('Stopped');
    expect((await caught(sm.send(new StopAutoMLJobCommand({ AutoMLJobName: 'tagged' })))).name).toBe('ValidationException');
    // Data the job cannot use fails it after AnalyzingData, with the reason.
    await sm.send(new CreateAutoMLJobV2Command(jobInput('short', await put('short/t.csv', table(2, 30, 1)))));
    const failed = await untilDone('short');
    expect(failed.AutoMLJobStatus).toBe('Failed');
    expect(failed.FailureReason).toMatch(/ForecastHorizon 14 is more than a quarter/);
    await sm.send(new CreateAutoMLJobV2Command(jobInput('nocol', uri, { TimeSeriesConfig: { TargetAttributeName: 'sales', TimestampAttributeName: 'timestamp', ItemIdentifierAttributeName: 'item_id' } })));
    expect((await untilDone('nocol')).FailureReason).toMatch(/no column sales/);
    // The account's concurrent-job quota.
    for (const n of ['q1', 'q2', 'q3', 'q4']) await sm.send(new CreateAutoMLJobV2Command(jobInput(n, uri))).catch((e: Error) => e);
    expect((await bad(jobInput('q5', uri))).name).toBe('ResourceLimitExceeded');
  });

  it('a training and a transform go on across a restart of a durable emulator', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'mlops-automl-state-')), 'state');
    try {
      let durable = await startTestEmulator({ stateDir });
      const clients = (e: RunningEmulator) => ({ sm: new SageMakerClient(clientConfig(e.endpoint)), s3: new S3Client({ ...clientConfig(e.endpoint), forcePathStyle: true }) });
      let c = clients(durable);
      await c.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      await c.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'd/train.csv', Body: table(2, 90, 1) }));
      await c.sm.send(new CreateAutoMLJobV2Command(jobInput('durable', `s3://${BUCKET}/d/train.csv`)));
      await durable.close();
      durable = await startTestEmulator({ stateDir });
      c = clients(durable);
      await control(durable.endpoint, 'POST', '/clock', { advanceSeconds: 6 * 3600 });
      const best = (await c.sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: 'durable' }))).BestCandidate;
      expect(best?.InferenceContainers).toHaveLength(1);
      await c.sm.send(new CreateModelCommand({ ModelName: 'durable-model', Containers: best?.InferenceContainers }));
      await c.sm.send(
        new CreateTransformJobCommand({
          TransformJobName: 'durable-forecast',
          ModelName: 'durable-model',
          TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/d/train.csv` } } },
          TransformOutput: { S3OutputPath: `s3://${BUCKET}/d-out/` },
          TransformResources: { InstanceType: 'ml.m5.xlarge', InstanceCount: 1 },
        }),
      );
      await durable.close();
      durable = await startTestEmulator({ stateDir });
      c = clients(durable);
      await control(durable.endpoint, 'POST', '/clock', { advanceSeconds: 3600 });
      expect((await c.sm.send(new DescribeTransformJobCommand({ TransformJobName: 'durable-forecast' }))).TransformJobStatus).toBe('Completed');
      const out = await (await c.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'd-out/train.csv.out' }))).Body!.transformToString();
      expect(out.trim().split('\n')).toHaveLength(1 + 2 * 14);
      await durable.close();
    } finally {
      rmSync(join(stateDir, '..'), { recursive: true, force: true });
    }
  });
});
