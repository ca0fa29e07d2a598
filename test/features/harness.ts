/**
 * The feature-ingestion stack for one test file: the embedded Temporal server (real time: chunks run real writes),
 * the AWS emulator, a Temporal client, SDK clients without back-off, and a worker on the features queue, either in
 * this process or as a child process a test can SIGKILL. Workflow code is bundled once per file.
 */
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { CreateFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startTemporalServer } from '../../local/temporal';
import type { Clock } from '../../local/clock';
import { startEmulator, type RunningEmulator } from '../../local/aws';
import { createFeatureActivities } from '../../activities/features/activities';
import { featureStoreRuntimeClient } from '../../activities/features/runtime-client';
import { FEATURES_TASK_QUEUE } from '../../workflows/features/model';
import { control } from '../aws/harness';
import { buildStack, emulatorClientOptions, installQuietRuntime, restartableWorker, workflowBundle, workflowBundleFile } from '../support/stack';

export function featuresBundle(): Promise<{ code: string }> {
  return workflowBundle('features/workflows.ts');
}

export interface Clients {
  sagemaker: SageMakerClient;
  runtime: SageMakerFeatureStoreRuntimeClient;
  s3: S3Client;
}

export function clientsFor(endpoint: string): Clients {
  const opts = emulatorClientOptions(endpoint);
  return {
    sagemaker: new SageMakerClient(opts),
    runtime: featureStoreRuntimeClient({ region: opts.region, endpoint, credentials: opts.credentials }),
    s3: new S3Client({ ...opts, forcePathStyle: true }),
  };
}

export interface FeaturesStack {
  client: Client;
  emulator: RunningEmulator;
  aws: Clients;
  address: string;
  /** Starts the in-process worker (default at start). */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** A worker in a child process (killed with SIGKILL by the test); resolves once it polls. */
  spawnWorker(): Promise<ChildProcess>;
  journal(group: string): Promise<JournalSummary>;
  close(): Promise<void>;
}

export interface JournalSummary {
  requests: Record<string, number>;
  recordsWritten: number;
  distinctRecords: number;
  duplicatedRecords: number;
  extraWrites: number;
  maxWritesOfOneRecord: number;
  recordsRejected: number;
  entriesUnprocessed: number;
  throttledRequests: number;
}

/** `emulatorClock`: the emulator's time (default real time); a frozen one moves only by POST /_emulator/clock. */
export async function startFeaturesStack(opts: { worker?: boolean; maxConcurrentActivities?: number; emulatorClock?: Clock } = {}): Promise<FeaturesStack> {
  installQuietRuntime();
  return buildStack(async (teardown) => {
    const server = await startTemporalServer({ port: 0 });
    teardown.add(() => server.close());
    const emulator = await startEmulator({ port: 0, ...(opts.emulatorClock ? { clock: opts.emulatorClock } : {}) });
    teardown.add(() => emulator.close());
    const aws = clientsFor(emulator.endpoint);
    const connection = await Connection.connect({ address: server.address });
    teardown.add(() => connection.close());
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    teardown.add(() => native.close());
    const bundle = await featuresBundle();
    const bundleFile = await workflowBundleFile('features/workflows.ts');
    const children: ChildProcess[] = [];
    teardown.add(async () => {
      for (const c of children) c.kill('SIGKILL');
    });
    const worker = restartableWorker(() => ({
      connection: native,
      taskQueue: FEATURES_TASK_QUEUE,
      workflowBundle: bundle,
      activities: createFeatureActivities(aws),
      maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 8,
    }));
    const spawnWorker = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'worker-process.ts')], {
          env: { ...process.env, FEATURES_TEMPORAL_ADDRESS: server.address, FEATURES_EMULATOR: emulator.endpoint, FEATURES_BUNDLE: bundleFile },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let err = '';
        child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        child.stdout!.on('data', (c: Buffer) => {
          if (c.toString().includes('polling')) resolve(child);
        });
        child.on('exit', (code) => reject(new Error(`worker exited (${code}) before polling: ${err}`)));
      });
    if (opts.worker !== false) await worker.start();
    teardown.add(worker.stop);
    return {
      client,
      emulator,
      aws,
      address: server.address,
      startWorker: worker.start,
      stopWorker: worker.stop,
      spawnWorker,
      journal: async (group) => (await control<JournalSummary>(emulator.endpoint, 'GET', `/services/sagemaker-featurestore-runtime/journal?group=${group}`)).body,
      close: () => teardown.run(),
    };
  });
}

export const TRANSACTION_DEFS = [
  { FeatureName: 'tid', FeatureType: 'String' as const },
  { FeatureName: 'cc_num', FeatureType: 'Integral' as const },
  { FeatureName: 'trans_time', FeatureType: 'String' as const },
  { FeatureName: 'amount', FeatureType: 'Fractional' as const },
  { FeatureName: 'fraud_label', FeatureType: 'Integral' as const },
];

/** A bucket for sources and the ledger, and a Created group (the clock moved past its creation). */
export async function prepareGroup(stack: FeaturesStack, name: string, opts: { identifier?: string; defs?: typeof TRANSACTION_DEFS; extra?: Record<string, unknown> } = {}): Promise<void> {
  for (const b of ['sources', 'ledger', 'offline']) await stack.aws.s3.send(new CreateBucketCommand({ Bucket: b })).catch(() => undefined);
  await stack.aws.sagemaker.send(
    new CreateFeatureGroupCommand({
      FeatureGroupName: name,
      RecordIdentifierFeatureName: opts.identifier ?? 'tid',
      EventTimeFeatureName: 'trans_time',
      FeatureDefinitions: opts.defs ?? TRANSACTION_DEFS,
      OnlineStoreConfig: { EnableOnlineStore: true },
      OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://offline/store' } },
      ...opts.extra,
    }),
  );
  await control(stack.emulator.endpoint, 'POST', '/clock', { advanceSeconds: 10 });
}

export async function upload(stack: FeaturesStack, key: string, body: string | Buffer): Promise<string> {
  await stack.aws.s3.send(new PutObjectCommand({ Bucket: 'sources', Key: key, Body: body }));
  return `s3://sources/${key}`;
}

/** CSV text of transaction rows. */
export function transactionsCsv(rows: { tid: string; cc: number; time: string; amount: string | number; fraud?: number }[]): string {
  return ['tid,cc_num,trans_time,amount,fraud_label', ...rows.map((r) => `${r.tid},${r.cc},${r.time},${r.amount},${r.fraud ?? 0}`)].join('\n') + '\n';
}

export function syntheticRows(n: number, cards = 50, startMs = Date.parse('2024-03-01T00:00:00Z')) {
  return Array.from({ length: n }, (_, i) => ({ tid: `T${String(i).padStart(8, '0')}`, cc: 4000 + (i % cards), time: new Date(startMs + i * 1000).toISOString(), amount: ((i * 37) % 1000) / 10 + 1 }));
}
