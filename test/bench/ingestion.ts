/**
 * `npm run bench -- ingestion [--rows N] [--concurrency C] [--big-rows N]`: feature ingestion against the emulator
 * (in a child process, so it does not share the worker's event loop), each figure with its ratio, measured in the
 * same run:
 *
 * - rows/s of the chunk writer (CSV streamed from S3, 25-record BatchWriteRecord rounds with adaptive concurrency
 *   up to C, checkpoints after every round) against the emulator's ceiling for the same batched writes at the same
 *   concurrency (C loops sending prepared 25-record batches, nothing else);
 * - the same against a one-PutRecord-per-row loop with the same parallelism (C loops), like FeatureGroup.ingest;
 * - CPU time of the worker process per thousand records;
 * - peak worker memory while a chunk streams a file of N rows and one of --big-rows rows (default 10 million):
 *   flat means the ratio stays near 1 however big the file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BatchWriteRecordCommand, PutRecordCommand, SageMakerFeatureStoreRuntimeClient, type FeatureValue } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { createFeatureActivities } from '../../activities/features/activities';

const ROLE_ENV = 'MLOPS_BENCH_FEATURES_EMULATOR';

async function serve(): Promise<void> {
  const { startEmulator } = await import('../../local/aws');
  const emu = await startEmulator({ port: 0 });
  process.send?.({ endpoint: emu.endpoint });
  process.on('disconnect', () => void emu.close().then(() => process.exit(0)));
}

function startEmulatorProcess(): Promise<{ child: ChildProcess; endpoint: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, [ROLE_ENV]: '1' }, execArgv: ['--import', 'tsx', '--max-old-space-size=4096'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { endpoint: string }) => resolve({ child, endpoint: m.endpoint }));
    child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
  });
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const DEFS = [
  { FeatureName: 'tid', FeatureType: 'String' as const },
  { FeatureName: 'cc_num', FeatureType: 'Integral' as const },
  { FeatureName: 'trans_time', FeatureType: 'String' as const },
  { FeatureName: 'amount', FeatureType: 'Fractional' as const },
  { FeatureName: 'fraud_label', FeatureType: 'Integral' as const },
];
const START = Date.parse('2024-03-01T00:00:00Z');
const row = (i: number, prefix: string) => [`${prefix}${i}`, String(4000 + (i % 10_000)), new Date(START + i * 10).toISOString(), (((i * 37) % 100_000) / 100 + 1).toFixed(2), i % 200 === 0 ? '1' : '0'];
const record = (i: number, prefix: string): FeatureValue[] => row(i, prefix).map((v, k) => ({ FeatureName: DEFS[k]!.FeatureName, ValueAsString: v }));

async function writeCsv(path: string, rows: number, prefix: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('tid,cc_num,trans_time,amount,fraud_label\n');
  for (let i = 0; i < rows; i++) if (!out.write(`${row(i, prefix).join(',')}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

export default async function bench(args: string[]): Promise<void> {
  if (process.env[ROLE_ENV]) return;
  const rows = flag(args, 'rows', 100_000);
  const concurrency = flag(args, 'concurrency', 16);
  const bigRows = flag(args, 'big-rows', 10_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-features-'));
  const { child, endpoint } = await startEmulatorProcess();
  try {
    const base = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
    const s3 = new S3Client({ ...base, forcePathStyle: true, retryStrategy: new ConfiguredRetryStrategy(3, () => 0) });
    const sagemaker = new SageMakerClient(base);
    const runtime = new SageMakerFeatureStoreRuntimeClient({ ...base, maxAttempts: 1 });
    for (const b of ['sources', 'ledger']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    for (const g of ['ceiling', 'pipeline', 'per-row', 'memory']) {
      await sagemaker.send(new CreateFeatureGroupCommand({ FeatureGroupName: g, RecordIdentifierFeatureName: 'tid', EventTimeFeatureName: 'trans_time', FeatureDefinitions: DEFS, OnlineStoreConfig: { EnableOnlineStore: true } }));
    }
    await fetch(`${endpoint}/_emulator/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceSeconds: 10 }) });
    const acts = createFeatureActivities({ sagemaker, runtime, s3 });
    const target = await acts.describeIngestionTarget({ featureGroupName: 'pipeline' });

    // The ceiling: C loops of prepared 25-record batches; measured before and after the pipeline (a busy machine
    // drifts), and their mean is the ceiling.
    const batches = Math.ceil(rows / 25);
    const ceilingRun = async (prefix: string) => {
      const prepared = Array.from({ length: batches }, (_, b) => Array.from({ length: Math.min(25, rows - b * 25) }, (_, k) => ({ FeatureGroupName: 'ceiling', Record: record(b * 25 + k, prefix) })));
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < batches) await runtime.send(new BatchWriteRecordCommand({ Entries: prepared[next++]! }));
        }),
      );
      return rows / ((performance.now() - t0) / 1000);
    };
    const ceilingBefore = await ceilingRun('C');
    let t: number;

    // The pipeline: one chunk of the whole file, streamed from S3, checkpointed every round.
    const csv = join(dir, 'rows.csv');
    await writeCsv(csv, rows, 'P');
    await s3.send(new PutObjectCommand({ Bucket: 'sources', Key: 'rows.csv', Body: createReadStream(csv), ContentLength: statSync(csv).size }));
    const plan = await acts.validateAndPlan({ sources: ['s3://sources/rows.csv'], target, chunkRows: rows });
    const cpu0 = process.cpuUsage();
    t = performance.now();
    const result = await acts.ingestChunk({ runId: 'bench', featureGroupName: 'pipeline', ledger: 's3://ledger/runs', chunk: plan.chunks[0]!, maxConcurrency: concurrency });
    const pipelineSeconds = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pipeline = result.written / pipelineSeconds;
    const ceilingAfter = await ceilingRun('D');
    const ceiling = (ceilingBefore + ceilingAfter) / 2;

    // A per-row loop like FeatureGroup.ingest: C loops, one PutRecord per row (a sample: it is slow).
    const sample = Math.min(rows, 20_000);
    let nextRow = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (nextRow < sample) await runtime.send(new PutRecordCommand({ FeatureGroupName: 'per-row', Record: record(nextRow++, 'R') }));
      }),
    );
    const perRow = sample / ((performance.now() - t) / 1000);

    const pct = (x: number) => `${Math.round(x * 100)}%`;
    process.stdout.write(`rows: ${rows}, concurrency: ${concurrency} requests in flight (pipeline: adaptive, up to ${concurrency}; ended at ${result.concurrency})\n`);
    process.stdout.write(`emulator ceiling (prepared BatchWriteRecord batches, ${concurrency} loops): ${ceiling.toFixed(0)} rows/s (${ceilingBefore.toFixed(0)} before, ${ceilingAfter.toFixed(0)} after the pipeline)\n`);
    process.stdout.write(`pipeline (CSV streamed from S3, checkpoint per round): ${pipeline.toFixed(0)} rows/s = ${pct(pipeline / ceiling)} of the emulator's ceiling\n`);
    process.stdout.write(`per-row PutRecord loop (${concurrency} loops, ${sample} rows): ${perRow.toFixed(0)} rows/s; pipeline = ${(pipeline / perRow).toFixed(1)}x a per-row loop\n`);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    process.stdout.write(`worker CPU: ${(cpuMs / (result.written / 1000)).toFixed(1)} ms per thousand records (${cpuMs.toFixed(0)} ms for ${result.written}; the emulator's CPU is in its own process)\n`);

    // Memory: peak RSS while one chunk streams a small and a big file.
    const peakWhile = async (fn: () => Promise<unknown>) => {
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      try {
        await fn();
      } finally {
        clearInterval(timer);
      }
      return { before, peak: Math.max(peak, process.memoryUsage().rss) };
    };
    const memoryRun = async (n: number, key: string) => {
      const path = join(dir, key);
      await writeCsv(path, n, key);
      await s3.send(new PutObjectCommand({ Bucket: 'sources', Key: key, Body: createReadStream(path), ContentLength: statSync(path).size }));
      rmSync(path);
      const p = await acts.validateAndPlan({ sources: [`s3://sources/${key}`], target: { ...target, featureGroupName: 'memory' }, chunkRows: n });
      return peakWhile(() => acts.ingestChunk({ runId: `mem-${key}`, featureGroupName: 'memory', ledger: 's3://ledger/runs', chunk: p.chunks[0]!, maxConcurrency: concurrency }));
    };
    const small = await memoryRun(rows, 'small.csv');
    const big = await memoryRun(bigRows, 'big.csv');
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
    process.stdout.write(`peak worker memory, ${rows}-row file: ${mb(small.peak)} (rss before ${mb(small.before)})\n`);
    process.stdout.write(`peak worker memory, ${bigRows}-row file: ${mb(big.peak)} (rss before ${mb(big.before)}); ${(big.peak / small.peak).toFixed(2)}x the ${rows}-row file's for ${(bigRows / rows).toFixed(0)}x the rows\n`);
  } finally {
    child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env[ROLE_ENV]) void serve();
