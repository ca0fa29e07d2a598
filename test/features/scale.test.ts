/**
 * One million generated records (the fraud example's enriched transactions, by the DuckDB generator) ingest with
 * every record readable afterwards: online, the latest transaction of every card; offline, every row once, in the
 * partition of its event hour (the offline store's Parquet files read back by DuckDB, as Athena would read them).
 * The emulator runs in its own process (as `mlops emulator`), so it and the worker share the machine's cores.
 * FEATURES_SCALE_ROWS sets the size; each phase's time goes to stderr.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
import { control } from '../aws/harness';
import { freePort } from '../free-port';
import { clientsFor, featuresBundle, type Clients, type JournalSummary } from './harness';

// The issue's million: about 2 minutes on an idle 2-core machine.
const ROWS = Number(process.env.FEATURES_SCALE_ROWS ?? 1_000_000);
const CARDS = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'mlops-features-scale-'));
const closers: (() => Promise<unknown>)[] = [];
let endpoint: string;
let aws: Clients;
let client: Client;
let emulatorPid: number | undefined;

beforeAll(async () => {
  const port = await freePort();
  const emulator: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../clients/cli/main.ts'), 'emulator', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' } });
  emulatorPid = emulator.pid;
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

/** Logs how long each phase took, so a slow CI run shows where. */
function phases() {
  let t = performance.now();
  return (name: string, rows?: number) => {
    const seconds = (performance.now() - t) / 1000;
    process.stderr.write(`scale ${ROWS}: ${name} ${seconds.toFixed(1)} s${rows ? ` (${Math.round(rows / seconds)} rows/s)` : ''}\n`);
    t = performance.now();
  };
}

it(`${ROWS} generated records ingest, every one readable online (latest per card) and offline (every row, in its partition)`, async () => {
  const phase = phases();
  const data = await generateFraudData({ transactions: ROWS, cards: CARDS, days: 1, out: dir, formats: ['csv'] });
  phase('generated');
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
  // The emulator's default on-demand rate (10,000 write units a second) would make this a test of throttling,
  // which test/features/throttling.test.ts covers; here the machine sets the pace.
  await control(endpoint, 'PUT', '/services/sagemaker-featurestore-runtime/throughput', { onDemandWriteUnitsPerSecond: 1_000_000 });
  phase('uploaded');

  const result = await client.workflow.execute<typeof featureIngestion>('featureIngestion', {
    taskQueue: FEATURES_TASK_QUEUE,
    workflowId: ingestionWorkflowId('scale'),
    args: [{ runId: 'scale', featureGroupName: 'cc-transactions', sources: ['s3://sources/scale/transactions.csv'], ledger: 's3://ledger/runs', chunkRows: 50_000, window: 4, maxConcurrency: 16 }],
  });
  phase('ingested (validation included)', ROWS);
  expect(result).toMatchObject({ phase: 'completed', rowsTotal: ROWS, rowsWritten: ROWS, rowsFailed: 0 });
  const journal = (await control<JournalSummary>(endpoint, 'GET', '/services/sagemaker-featurestore-runtime/journal?group=cc-transactions')).body;
  expect(journal).toMatchObject({ recordsWritten: ROWS, distinctRecords: ROWS, duplicatedRecords: 0, throttledRequests: 0, entriesUnprocessed: 0 });

  // Online: every card's latest transaction, as DuckDB finds it in the generated file.
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await db.connect();
  try {
    const expected = (await c.runAndReadAll(`SELECT CAST(cc_num AS VARCHAR) AS id, arg_max(tid, trans_time) AS tid FROM read_csv('${data.transactions.csv!}') GROUP BY cc_num`)).getRowObjects() as { id: string; tid: string }[];
    expect(expected).toHaveLength(CARDS);
    let matched = 0;
    for (let i = 0; i < expected.length; i += 100) {
      const slice = expected.slice(i, i + 100);
      const got = await aws.runtime.send(new BatchGetRecordCommand({ Identifiers: [{ FeatureGroupName: 'cc-transactions', RecordIdentifiersValueAsString: slice.map((e) => e.id), FeatureNames: ['tid', 'trans_time'] }] }));
      const byId = new Map((got.Records ?? []).map((r) => [r.RecordIdentifierValueAsString!, Object.fromEntries((r.Record ?? []).map((fv) => [fv.FeatureName!, fv.ValueAsString!]))]));
      for (const e of slice) if (byId.get(e.id)?.tid === e.tid) matched += 1;
    }
    expect(matched).toBe(expected.length);
    phase('online store read back');

    // Offline: the store's Parquet files, copied out of S3 under their keys, read by DuckDB with their hive
    // partitions: every generated row once, each in the hour partition of its event time.
    await control(endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
    const desc = await aws.sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cc-transactions' }));
    const prefix = desc.OfflineStoreConfig!.S3StorageConfig!.ResolvedOutputS3Uri!.replace('s3://offline/', '');
    const local = join(dir, 'offline');
    let files = 0;
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: 'offline', Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const path = join(local, o.Key!.slice(prefix.length));
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, await (await aws.s3.send(new GetObjectCommand({ Bucket: 'offline', Key: o.Key! }))).Body!.transformToByteArray());
        files += 1;
      }
      token = page.NextContinuationToken;
    } while (token);
    expect(files).toBeGreaterThan(0);
    const [offline] = (
      await c.runAndReadAll(`
        WITH o AS (SELECT * FROM read_parquet('${local}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)),
             src AS (SELECT tid FROM read_csv('${data.transactions.csv!}'))
        SELECT count(*) AS rows, count(DISTINCT tid) AS distinct_rows,
               count(*) FILTER (WHERE strftime(CAST(trans_time AS TIMESTAMP), 'year=%Y/month=%m/day=%d/hour=%H') IS DISTINCT FROM format('year={}/month={}/day={}/hour={}', year, month, day, hour)) AS misplaced,
               (SELECT count(*) FROM src ANTI JOIN o USING (tid)) AS missing
        FROM o`)
    ).getRowObjects();
    expect(offline).toEqual({ rows: BigInt(ROWS), distinct_rows: BigInt(ROWS), misplaced: 0n, missing: 0n });
    phase(`offline store read back (${files} files)`);
    const status = `/proc/${emulatorPid}/status`;
    const peak = existsSync(status) && /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1];
    if (peak) process.stderr.write(`scale ${ROWS}: emulator peak RSS ${Math.round(Number(peak) / 1024)} MB, test process peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}, 1_800_000);
