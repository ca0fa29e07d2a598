/**
 * One million generated records (the fraud example's enriched transactions, by the DuckDB generator) ingest with
 * every record readable afterwards: online, the latest transaction of every card; offline, every row once, in the
 * partition of its event hour. The emulator runs in its own process (as `mlops emulator`), so it and the worker
 * share the machine's cores. FEATURES_SCALE_ROWS sets the size.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateFeatureGroupCommand, DescribeFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import { BatchGetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { DuckDBInstance } from '@duckdb/node-api';
import { startTemporalServer } from '../../local/temporal';
import { createFeatureActivities } from '../../activities/features/activities';
import { FEATURES_TASK_QUEUE, ingestionWorkflowId } from '../../workflows/features/model';
import type { featureIngestion } from '../../workflows/features/ingestion';
import { generateFraudData, TRANSACTION_FEATURES } from '../../examples/features/generate';
import { loadParquetReader } from '../../common/esm-import';
import { control } from '../aws/harness';
import { freePort } from '../free-port';
import { clientsFor, featuresBundle, type Clients, type JournalSummary } from './harness';

// The suite runs 200,000 (minutes on a busy 2-core machine); `FEATURES_SCALE_ROWS=1000000` runs the million.
const ROWS = Number(process.env.FEATURES_SCALE_ROWS ?? 200_000);
const CARDS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'mlops-features-scale-'));
const closers: (() => Promise<unknown>)[] = [];
let endpoint: string;
let aws: Clients;
let client: Client;

beforeAll(async () => {
  const port = await freePort();
  const emulator: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../clients/cli/main.ts'), 'emulator', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' } });
  closers.push(async () => emulator.kill('SIGKILL'));
  endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${endpoint}/_emulator/health`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error('emulator did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  aws = clientsFor(endpoint);
  const server = await startTemporalServer({ port: 0 });
  closers.push(() => server.close());
  const connection = await Connection.connect({ address: server.address });
  closers.push(() => connection.close());
  client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({ connection: native, taskQueue: FEATURES_TASK_QUEUE, workflowBundle: await featuresBundle(), activities: createFeatureActivities(aws), maxConcurrentActivityTaskExecutions: 4 });
  const running = worker.run();
  closers.push(async () => {
    worker.shutdown();
    await running;
    await native.close();
  });
}, 180_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const hourOf = (iso: string) => {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `year=${d.getUTCFullYear()}/month=${p(d.getUTCMonth() + 1)}/day=${p(d.getUTCDate())}/hour=${p(d.getUTCHours())}`;
};

it(`${ROWS} generated records ingest, every one readable online (latest per card) and offline (every row, in its partition)`, async () => {
  const data = await generateFraudData({ transactions: ROWS, cards: CARDS, days: 1, out: dir, formats: ['csv'] });
  for (const b of ['sources', 'ledger', 'offline']) await aws.s3.send(new CreateBucketCommand({ Bucket: b }));
  await aws.s3.send(new PutObjectCommand({ Bucket: 'sources', Key: 'scale/transactions.csv', Body: createReadStream(data.transactions.csv!), ContentLength: statSync(data.transactions.csv!).size }));
  await aws.sagemaker.send(
    new CreateFeatureGroupCommand({
      FeatureGroupName: 'cc-transactions',
      RecordIdentifierFeatureName: 'cc_num',
      EventTimeFeatureName: 'trans_time',
      FeatureDefinitions: TRANSACTION_FEATURES.map((f) => ({ ...f })),
      OnlineStoreConfig: { EnableOnlineStore: true },
      OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://offline/store' } },
    }),
  );
  await control(endpoint, 'POST', '/clock', { advanceSeconds: 10 });

  const result = await client.workflow.execute<typeof featureIngestion>('featureIngestion', {
    taskQueue: FEATURES_TASK_QUEUE,
    workflowId: ingestionWorkflowId('scale'),
    args: [{ runId: 'scale', featureGroupName: 'cc-transactions', sources: ['s3://sources/scale/transactions.csv'], ledger: 's3://ledger/runs', chunkRows: 50_000, window: 4, maxConcurrency: 16 }],
  });
  expect(result).toMatchObject({ phase: 'completed', rowsTotal: ROWS, rowsWritten: ROWS, rowsFailed: 0 });
  const journal = (await control<JournalSummary>(endpoint, 'GET', '/services/sagemaker-featurestore-runtime/journal?group=cc-transactions')).body;
  expect(journal).toMatchObject({ recordsWritten: ROWS, distinctRecords: ROWS, duplicatedRecords: 0 });

  // Online: every card's latest transaction, as DuckDB finds it in the generated file.
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const expected = (await c.runAndReadAll(`SELECT CAST(cc_num AS VARCHAR) AS id, arg_max(tid, trans_time) AS tid, max(trans_time) AS t FROM read_csv('${data.transactions.csv!}') GROUP BY cc_num`)).getRowObjects() as { id: string; tid: string; t: string }[];
  c.closeSync();
  db.closeSync();
  let matched = 0;
  for (let i = 0; i < expected.length; i += 100) {
    const slice = expected.slice(i, i + 100);
    const got = await aws.runtime.send(new BatchGetRecordCommand({ Identifiers: [{ FeatureGroupName: 'cc-transactions', RecordIdentifiersValueAsString: slice.map((e) => e.id), FeatureNames: ['tid', 'trans_time'] }] }));
    const byId = new Map((got.Records ?? []).map((r) => [r.RecordIdentifierValueAsString!, Object.fromEntries((r.Record ?? []).map((fv) => [fv.FeatureName!, fv.ValueAsString!]))]));
    for (const e of slice) if (byId.get(e.id)?.tid === e.tid) matched += 1;
  }
  expect(matched).toBe(expected.length);

  // Offline: every row once, in the hour partition of its event time.
  await control(endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
  const desc = await aws.sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cc-transactions' }));
  const prefix = desc.OfflineStoreConfig!.S3StorageConfig!.ResolvedOutputS3Uri!.replace('s3://offline/', '');
  const { parquetReadObjects } = await loadParquetReader();
  const seen = new Set<string>();
  let misplaced = 0;
  let token: string | undefined;
  do {
    const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'offline', Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const bytes = await (await aws.s3.send(new GetObjectCommand({ Bucket: 'offline', Key: o.Key! }))).Body!.transformToByteArray();
      const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, columns: ['tid', 'trans_time'] });
      for (const r of rows) {
        seen.add(String(r.tid));
        if (!o.Key!.includes(`/${hourOf(String(r.trans_time))}/`)) misplaced += 1;
      }
    }
    token = page.NextContinuationToken;
  } while (token);
  expect(seen.size).toBe(ROWS);
  expect(misplaced).toBe(0);
}, 1_800_000);
