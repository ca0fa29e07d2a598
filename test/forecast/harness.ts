/**
 * The forecast retraining stack in this process: the embedded Temporal server (time skipping), the AWS emulator on
 * the server's virtual clock, a Temporal client, and a worker on the forecast task queue with the real activities
 * against the emulator. Also the example bucket, ETL script and raw data, and a run helper.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { GlueClient } from '@aws-sdk/client-glue';
import { ForecastClient } from '@aws-sdk/client-forecast';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startTemporalServer } from '../../local/temporal';
import { startEmulator } from '../../local/aws';
import { createForecastActivities } from '../../activities/forecast/activities';
import { FORECAST_TASK_QUEUE, type ForecastPipelineConfig, type RunReport } from '../../workflows/forecast/model';
import type { forecastRetraining } from '../../workflows/forecast/retraining';
import { generateSales, type SalesOptions } from '../../examples/forecast/generate-sales';
import { buildStack, emulatorClientOptions, installQuietRuntime, restartableWorker, workflowBundle } from '../support/stack';

export const BUCKET = 'mlops-forecast';

export function testConfig(over: Partial<ForecastPipelineConfig> = {}, retrain: Partial<ForecastPipelineConfig['retrain']> = {}): ForecastPipelineConfig {
  return {
    backend: 'forecast',
    bucket: BUCKET,
    rawPrefix: 'raw/sales/',
    datasetsPrefix: 'datasets/',
    exportPrefix: 'forecasts/',
    glue: { jobName: 'mlops-forecast-etl', scriptLocation: `s3://${BUCKET}/scripts/forecast_etl.py`, roleArn: 'arn:aws:iam::123456789012:role/mlops-glue', popularThreshold: 10 },
    namePrefix: 'fresh_food',
    roleArn: 'arn:aws:iam::123456789012:role/mlops-forecast',
    frequency: 'D',
    horizon: 14,
    forecastTypes: ['0.1', '0.5', '0.9'],
    retrain: { maxAgeSeconds: 3600, metric: 'RMSE', margin: 0, keepLast: 2, ...retrain },
    segments: ['popular', 'slow'],
    ...over,
  };
}

export interface ForecastStack {
  client: Client;
  /** The embedded Temporal server's address. */
  address: string;
  endpoint: string;
  glue: GlueClient;
  forecast: ForecastClient;
  sagemaker: SageMakerClient;
  s3: S3Client;
  /** Uploads one raw sales extract. */
  upload(key: string, opts: SalesOptions): Promise<void>;
  /** Runs one retraining to its end and returns its report. */
  run(workflowId: string, config?: ForecastPipelineConfig): Promise<RunReport>;
  text(uri: string): Promise<string>;
  keys(prefix: string): Promise<string[]>;
  advance(ms: number): void;
  /** The server's (virtual) time. */
  now(): number;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startForecastStack(): Promise<ForecastStack> {
  installQuietRuntime();
  return buildStack(async (teardown) => {
    const server = await startTemporalServer({ port: 0, timeSkipping: true });
    teardown.add(() => server.close());
    const emulator = await startEmulator({ port: 0, clock: server.clock });
    teardown.add(() => emulator.close());
    const opts = emulatorClientOptions(emulator.endpoint);
    const glue = new GlueClient({ ...opts, retryStrategy: undefined, maxAttempts: 1 });
    const forecast = new ForecastClient(opts);
    const sagemaker = new SageMakerClient(opts);
    const s3 = new S3Client({ ...opts, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'scripts/forecast_etl.py', Body: '# mlops-emulator-etl: forecast-datasets\n' }));
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    teardown.add(() => native.close());
    const bundle = await workflowBundle('forecast/index.ts');
    const worker = restartableWorker(() => ({ connection: native, taskQueue: FORECAST_TASK_QUEUE, workflowBundle: bundle, activities: createForecastActivities({ glue, forecast, sagemaker, s3 }) }));
    await worker.start();
    teardown.add(worker.stop);
    const text = async (uri: string) => {
      const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
      const r = await s3.send(new GetObjectCommand({ Bucket: m?.[1], Key: m?.[2] }));
      return (await r.Body?.transformToString()) ?? '';
    };
    return {
      client,
      address: server.address,
      endpoint: emulator.endpoint,
      glue,
      forecast,
      sagemaker,
      s3,
      upload: async (key, o) => {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: generateSales(o) }));
      },
      run: (workflowId, config = testConfig()) =>
        client.workflow.execute<typeof forecastRetraining>('forecastRetraining', { taskQueue: FORECAST_TASK_QUEUE, workflowId, args: [{ config }] }),
      text,
      keys: async (prefix) => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string),
      advance: (ms) => server.time.advance(ms),
      now: () => server.clock.now(),
      startWorker: worker.start,
      stopWorker: worker.stop,
      close: () => teardown.run(),
    };
  });
}
