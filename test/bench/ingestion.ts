/**
 * `npm run bench -- ingestion [--rows N] [--concurrency C] [--repeats R] [--per-row N] [--mem-rows N] [--big-rows N]`:
 * feature ingestion against the emulator (in a child process, so it does not share the worker's event loop), each
 * figure on its own line with its ratio, all measured in the same run:
 *
 * - rows/s of the chunk writer (`ingestChunk`, alone in a worker process of its own: CSV streamed from S3 and read
 *   ahead, a sliding window of 25-record BatchWriteRecord requests with adaptive concurrency up to C, checkpoints in
 *   S3 and heartbeats as the rows done advance) against the emulator's ceiling for the same batched writes at the
 *   same concurrency: the same rows, prepared in memory as 25-record batches, sent through the same client with up
 *   to C requests in flight and nothing else, three ways: C free-running loops, lock-step rounds of C, and the
 *   pipeline's own sliding-window writer without reading or checkpoints (the fastest is the ceiling; the way
 *   requests are issued changes what each costs the sender, so none of them alone is the ceiling). They alternate
 *   with the pipeline R times after a warm-up, each on a fresh group, and medians are compared, as is each pipeline
 *   run with the fastest ceiling run just before it (a shared machine drifts; every run is printed). The pipeline
 *   runs twice each time: with S3 (the source, checkpoints, ledger) served by the Feature Store's emulator process,
 *   where every checkpoint waits behind the writes queued on that one event loop, and with S3 served by an emulator
 *   process of its own, as on AWS, where they are separate services (the machine's cores are shared either way);
 * - the same against a one-PutRecord-per-row loop with the same parallelism (C loops), like FeatureGroup.ingest;
 * - CPU time of the worker process (during the pipeline runs with S3 shared), of the ceiling's sender, and of the emulator per
 *   thousand records;
 * - peak memory of a worker process (a fresh child per file) that validates a whole file of --mem-rows rows and
 *   one of --big-rows rows (default 1 million and 10 million) as `validateAndPlan` does, reads and prepares every
 *   chunk's BatchWriteRecord bodies as `ingestChunk` does (built, not sent: sending 10 million rows to the emulator
 *   would take a quarter of an hour), and writes the file's last chunk for real through `ingestChunk`: peak RSS,
 *   peak heap, and peak live heap (after a full GC, once a second). Flat means the ratios stay near 1 however big
 *   the file.
 *
 * On-demand throughput is set high enough that nothing is throttled: the ceiling is the emulator's, not its quota.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateFeatureGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { BatchWriteRecordCommand, PutRecordCommand, type BatchWriteRecordEntry, type FeatureValue } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { createFeatureActivities } from '../../activities/features/activities';
import { AdaptiveConcurrency, BATCH_SIZE, recordOf, writeWindowed } from '../../activities/features/batch-writer';
import { featureStoreRuntimeClient } from '../../activities/features/runtime-client';
import { chunkRows, csvRows } from '../../activities/features/sources';
import type { Chunk } from '../../workflows/features/model';

const ROLE_ENV = 'MLOPS_BENCH_FEATURES_ROLE';
const CHUNK_ROWS = 50_000;

interface CpuReply {
  cpu: NodeJS.CpuUsage;
}
interface MemoryReply {
  rows: number;
  peakRssBytes: number;
  peakHeapBytes: number;
  peakLiveHeapBytes: number;
  validateSeconds: number;
  prepareSeconds: number;
  batches: number;
  lastChunkWritten: number;
}

function clientsFor(endpoint: string) {
  const base = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  return {
    s3: new S3Client({ ...base, forcePathStyle: true, retryStrategy: new ConfiguredRetryStrategy(3, () => 0) }),
    sagemaker: new SageMakerClient(base),
    runtime: featureStoreRuntimeClient(base),
  };
}

/** The emulator's process: answers its CPU time when asked. */
async function serveEmulator(): Promise<void> {
  const { startEmulator } = await import('../../local/aws');
  const emu = await startEmulator({ port: 0 });
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() } satisfies CpuReply);
    if (m === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ cpu: process.cpuUsage() } satisfies CpuReply);
    }
  });
  process.send?.({ endpoint: emu.endpoint });
  process.on('disconnect', () => void emu.close().then(() => process.exit(0)));
}

interface PipelineRun {
  /** Where the worker's S3 requests (the source, checkpoints, ledger) go: the Feature Store's emulator, or S3's own. */
  s3: 'shared' | 'own';
  runId: string;
  group: string;
  chunk: Chunk;
  maxConcurrency: number;
}
interface PipelineReply {
  written: number;
  seconds: number;
  cpuMs: number;
  throttled: number;
  concurrency: number;
}

/** The pipeline's worker process: runs `ingestChunk` when asked, alone in its process as on a worker. */
async function serveWorker(): Promise<void> {
  const clients = clientsFor(process.env.MLOPS_BENCH_ENDPOINT!);
  const acts = {
    shared: createFeatureActivities(clients),
    own: createFeatureActivities({ ...clients, s3: clientsFor(process.env.MLOPS_BENCH_S3_ENDPOINT!).s3 }),
  };
  process.on('message', (m: PipelineRun) => {
    void (async () => {
      (globalThis as { gc?: () => void }).gc?.();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await acts[m.s3].ingestChunk({ runId: m.runId, featureGroupName: m.group, ledger: 's3://ledger/runs', chunk: m.chunk, maxConcurrency: m.maxConcurrency });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      process.send?.({ written: r.written, seconds, cpuMs: (cpu.user + cpu.system) / 1000, throttled: r.throttled + r.unprocessed, concurrency: r.concurrency } satisfies PipelineReply);
    })();
  });
  process.send?.({ ready: true });
  process.on('disconnect', () => process.exit(0));
}

/** A worker process on one file: validate it, prepare every chunk's batches, write its last chunk; report peaks. */
async function probeMemory(): Promise<void> {
  const { endpoint, source, rows, group } = JSON.parse(process.env.MLOPS_BENCH_PROBE!) as { endpoint: string; source: string; rows: number; group: string };
  const clients = clientsFor(endpoint);
  const acts = createFeatureActivities(clients);
  let peakRssBytes = 0;
  let peakHeapBytes = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRssBytes = Math.max(peakRssBytes, m.rss);
    peakHeapBytes = Math.max(peakHeapBytes, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  // What the worker holds: the heap right after a full collection, once a second (the peaks above also count
  // garbage not yet collected, which depends on when V8 chooses to collect).
  let peakLiveHeapBytes = 0;
  const gc = (globalThis as { gc?: () => void }).gc;
  const live = setInterval(() => {
    gc?.();
    peakLiveHeapBytes = Math.max(peakLiveHeapBytes, process.memoryUsage().heapUsed);
  }, 1000);
  const target = await acts.describeIngestionTarget({ featureGroupName: group });
  let t = performance.now();
  const plan = await acts.validateAndPlan({ sources: [source], target, chunkRows: CHUNK_ROWS });
  const validateSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  let batches = 0;
  for (const chunk of plan.chunks) {
    let batch: BatchWriteRecordEntry[] = [];
    for await (const r of chunkRows(clients.s3, chunk, { rowsDone: 0 })) {
      batch.push({ FeatureGroupName: group, Record: recordOf(r.values) });
      if (batch.length === BATCH_SIZE) {
        // The body the runtime client sends (runtime-client.ts).
        if (JSON.stringify({ Entries: batch }).length > 0) batches += 1;
        batch = [];
      }
    }
    if (batch.length > 0) batches += 1;
  }
  const prepareSeconds = (performance.now() - t) / 1000;
  const last = await acts.ingestChunk({ runId: `memory-${rows}`, featureGroupName: group, ledger: 's3://ledger/runs', chunk: plan.chunks.at(-1)!, maxConcurrency: 16 });
  clearInterval(timer);
  clearInterval(live);
  sample();
  gc?.();
  peakLiveHeapBytes = Math.max(peakLiveHeapBytes, process.memoryUsage().heapUsed);
  peakRssBytes = Math.max(peakRssBytes, process.resourceUsage().maxRSS * 1024);
  process.send?.({ rows: plan.rows, peakRssBytes, peakHeapBytes, peakLiveHeapBytes, validateSeconds, prepareSeconds, batches, lastChunkWritten: last.written } satisfies MemoryReply);
  process.disconnect();
}

function child<T>(role: string, env: Record<string, string>, execArgv: string[] = []): { child: ChildProcess; first: Promise<T> } {
  const c = fork(__filename, [], { env: { ...process.env, ...env, [ROLE_ENV]: role }, execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const first = new Promise<T>((resolve, reject) => {
    c.once('message', (m) => resolve(m as T));
    c.once('exit', (code) => reject(new Error(`bench ${role} process exited with ${code}`)));
  });
  return { child: c, first };
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
  let block = '';
  for (let i = 0; i < rows; i++) {
    block += `${row(i, prefix).join(',')}\n`;
    if (block.length > 1 << 16) {
      if (!out.write(block)) await once(out, 'drain');
      block = '';
    }
  }
  out.end(block);
  await once(out, 'finish');
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (x: number) => `${Math.round(x * 100)}%`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const say = (line: string) => process.stdout.write(`${line}\n`);

export default async function bench(args: string[]): Promise<void> {
  if (process.env[ROLE_ENV]) return;
  const rows = flag(args, 'rows', 50_000);
  const concurrency = flag(args, 'concurrency', 16);
  const repeats = flag(args, 'repeats', 5);
  const perRowSample = Math.min(rows, flag(args, 'per-row', 10_000));
  const memRows = flag(args, 'mem-rows', 1_000_000);
  const bigRows = flag(args, 'big-rows', 10_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-features-'));
  const emulator = child<{ endpoint: string }>('emulator', {}, ['--max-old-space-size=4096', '--expose-gc']);
  const { endpoint } = await emulator.first;
  const emulatorCpu = async (ask: 'cpu' | 'gc' = 'cpu'): Promise<number> => {
    const reply = new Promise<CpuReply>((resolve) => emulator.child.once('message', (m) => resolve(m as CpuReply)));
    emulator.child.send(ask);
    const { cpu } = await reply;
    return (cpu.user + cpu.system) / 1000;
  };
  // S3 on its own emulator process, as on AWS, where S3 and the Feature Store runtime are separate services.
  const s3Emulator = child<{ endpoint: string }>('emulator', {}, ['--expose-gc']);
  const { endpoint: s3Endpoint } = await s3Emulator.first;
  const worker = child<{ ready: true }>('worker', { MLOPS_BENCH_ENDPOINT: endpoint, MLOPS_BENCH_S3_ENDPOINT: s3Endpoint }, ['--expose-gc']);
  await worker.first;
  const runPipeline = (run: PipelineRun) => {
    const reply = new Promise<PipelineReply>((resolve) => worker.child.once('message', (m) => resolve(m as PipelineReply)));
    worker.child.send(run);
    return reply;
  };
  try {
    const { s3, sagemaker, runtime } = clientsFor(endpoint);
    const createGroup = (name: string) => sagemaker.send(new CreateFeatureGroupCommand({ FeatureGroupName: name, RecordIdentifierFeatureName: 'tid', EventTimeFeatureName: 'trans_time', FeatureDefinitions: DEFS, OnlineStoreConfig: { EnableOnlineStore: true } }));
    const ownS3 = clientsFor(s3Endpoint).s3;
    for (const b of ['sources', 'ledger']) for (const c of [s3, ownS3]) await c.send(new CreateBucketCommand({ Bucket: b }));
    const groups = ['per-row', 'memory', ...Array.from({ length: repeats + 1 }, (_, i) => [`loops-${i}`, `rounds-${i}`, `window-${i}`, `pipeline-${i}`, `pipeline-own-s3-${i}`]).flat()];
    for (const g of groups) await createGroup(g);
    await fetch(`${endpoint}/_emulator/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceSeconds: 10 }) });
    const rate = 100_000_000;
    await fetch(`${endpoint}/_emulator/services/sagemaker-featurestore-runtime/throughput`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ onDemandWriteUnitsPerSecond: rate }) });
    const acts = createFeatureActivities({ sagemaker, runtime, s3 });

    // One file for every pipeline run; the ceiling sends the same rows, read once into 25-record batches.
    const csv = join(dir, 'rows.csv');
    await writeCsv(csv, rows, 'P');
    for (const c of [s3, ownS3]) await c.send(new PutObjectCommand({ Bucket: 'sources', Key: 'rows.csv', Body: createReadStream(csv), ContentLength: statSync(csv).size }));
    const target = await acts.describeIngestionTarget({ featureGroupName: 'pipeline-0' });
    const plan = await acts.validateAndPlan({ sources: ['s3://sources/rows.csv'], target, chunkRows: rows });
    const prepared: FeatureValue[][][] = [];
    let batch: FeatureValue[][] = [];
    for await (const r of csvRows(s3, 's3://sources/rows.csv')) {
      batch.push(recordOf(r.values));
      if (batch.length === BATCH_SIZE) {
        prepared.push(batch);
        batch = [];
      }
    }
    if (batch.length > 0) prepared.push(batch);

    const send = async (entries: BatchWriteRecordEntry[]) => {
      const out = await runtime.send(new BatchWriteRecordCommand({ Entries: entries }));
      if ((out.Errors?.length ?? 0) + (out.UnprocessedEntries?.length ?? 0) > 0) throw new Error('a ceiling run was not answered in full');
    };
    const entriesFor = (group: string) => prepared.map((b) => b.map((Record): BatchWriteRecordEntry => ({ FeatureGroupName: group, Record })));
    // Ways to keep C requests in flight; the ceiling is the fastest (on this machine, lock-step rounds often beat
    // free-running loops).
    const loopsRun = async (group: string) => {
      const bodies = entriesFor(group);
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) await send(bodies[next++]!);
      }));
      return rows / ((performance.now() - t0) / 1000);
    };
    // Our own sliding-window writer (batch-writer.ts) on the prepared batches, checkpoints left out: the writer the
    // pipeline uses, without the reading and the checkpoints. It issues requests in a pattern that, on this
    // machine, costs the sender less CPU per request than either of the two above.
    const windowRun = async (group: string) => {
      let next = 0;
      const t0 = performance.now();
      await writeWindowed(runtime, group, new AdaptiveConcurrency(Math.min(4, concurrency), concurrency), {
        next: async () => (next < prepared.length ? prepared[next++]!.map((record) => ({ record, tag: 0 })) : []),
        persist: async (_rows, out) => {
          if (out.failures.length + out.unprocessed > 0) throw new Error('a ceiling run was not answered in full');
        },
      });
      return rows / ((performance.now() - t0) / 1000);
    };
    const roundsRun = async (group: string) => {
      const bodies = entriesFor(group);
      const t0 = performance.now();
      for (let next = 0; next < bodies.length; next += concurrency) await Promise.all(bodies.slice(next, next + concurrency).map(send));
      return rows / ((performance.now() - t0) / 1000);
    };
    // Every timed run starts from collected heaps on both sides, so no run pays for the garbage of the one before.
    setFlagsFromString('--expose-gc');
    const benchGc = runInNewContext('gc') as () => void;
    const settle = async () => {
      await emulatorCpu('gc');
      benchGc();
    };
    const loops: number[] = [];
    const rounds: number[] = [];
    const windows: number[] = [];
    const pipelines: number[] = [];
    const ownS3Pipelines: number[] = [];
    /** Pipeline / ceiling of each consecutive pair: what a load change between pairs cannot skew. */
    const ratios: number[] = [];
    const ownS3Ratios: number[] = [];
    let workerCpuMs = 0;
    let ceilingCpuMs = 0;
    let emulatorCpuMs = 0;
    let written = 0;
    let throttled = 0;
    let endConcurrency = 0;
    // Run 0 warms every path up (JIT, sockets) and is not counted.
    for (let i = 0; i <= repeats; i++) {
      await settle();
      const c0 = process.cpuUsage();
      const loopsRate = await loopsRun(`loops-${i}`);
      await settle();
      const roundsRate = await roundsRun(`rounds-${i}`);
      await settle();
      const windowRate = await windowRun(`window-${i}`);
      const c1 = process.cpuUsage(c0);
      if (i > 0) ceilingCpuMs += (c1.user + c1.system) / 1000;
      await settle();
      const e0 = await emulatorCpu();
      const result = await runPipeline({ s3: 'shared', runId: `bench-${i}`, group: `pipeline-${i}`, chunk: plan.chunks[0]!, maxConcurrency: concurrency });
      const e1 = await emulatorCpu();
      await settle();
      const own = await runPipeline({ s3: 'own', runId: `bench-${i}`, group: `pipeline-own-s3-${i}`, chunk: plan.chunks[0]!, maxConcurrency: concurrency });
      for (const r of [result, own]) if (r.written !== rows) throw new Error(`the pipeline wrote ${r.written} of ${rows} rows`);
      if (i === 0) continue;
      ownS3Pipelines.push(own.written / own.seconds);
      ownS3Ratios.push(own.written / own.seconds / Math.max(loopsRate, roundsRate, windowRate));
      loops.push(loopsRate);
      rounds.push(roundsRate);
      windows.push(windowRate);
      pipelines.push(result.written / result.seconds);
      ratios.push(result.written / result.seconds / Math.max(loopsRate, roundsRate, windowRate));
      workerCpuMs += result.cpuMs;
      emulatorCpuMs += e1 - e0;
      written += result.written;
      throttled += result.throttled;
      endConcurrency = result.concurrency;
    }
    const ceiling = Math.max(median(loops), median(rounds), median(windows));
    const pipeline = median(pipelines);
    const ownS3Pipeline = median(ownS3Pipelines);

    // A per-row loop like FeatureGroup.ingest: C loops, one PutRecord per row (a sample: it is slow).
    let nextRow = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (nextRow < perRowSample) await runtime.send(new PutRecordCommand({ FeatureGroupName: 'per-row', Record: record(nextRow++, 'R') }));
      }),
    );
    const perRow = perRowSample / ((performance.now() - t0) / 1000);

    const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    say(`rows: ${rows} per run, ${repeats} runs each, concurrency ${concurrency} requests in flight (pipeline: adaptive, up to ${concurrency}; ended at ${endConcurrency}); on-demand rate ${rate} units/s, ${throttled} throttled`);
    say(
      `emulator ceiling (the same rows as prepared 25-record BatchWriteRecord batches, up to ${concurrency} in flight, nothing else): ${ceiling.toFixed(0)} rows/s, the fastest median of ${concurrency} free-running loops ${median(loops).toFixed(0)} (runs: ${runs(loops)}), lock-step rounds of ${concurrency} ${median(rounds).toFixed(0)} (runs: ${runs(rounds)}) and the pipeline's sliding-window writer ${median(windows).toFixed(0)} (runs: ${runs(windows)})`,
    );
    say(`pipeline (ingestChunk in its worker process: CSV streamed from S3, sliding window, checkpoints in S3), S3 served by the Feature Store's emulator process (its requests wait behind the writes on one event loop): ${pipeline.toFixed(0)} rows/s median (runs: ${runs(pipelines)}) = ${pct(pipeline / ceiling)} of the emulator's ceiling (per run, against the fastest ceiling run just before it: median ${pct(median(ratios))}, runs ${ratios.map(pct).join(', ')})`);
    say(`pipeline, S3 served by an emulator process of its own (as on AWS, where S3 and the Feature Store runtime are separate services; the same two cores): ${ownS3Pipeline.toFixed(0)} rows/s median (runs: ${runs(ownS3Pipelines)}) = ${pct(ownS3Pipeline / ceiling)} of the emulator's ceiling (per run: median ${pct(median(ownS3Ratios))}, runs ${ownS3Ratios.map(pct).join(', ')})`);
    say(`per-row PutRecord loop (${concurrency} loops, ${perRowSample} rows): ${perRow.toFixed(0)} rows/s; pipeline = ${(pipeline / perRow).toFixed(1)}x a per-row loop`);
    say(`worker CPU: ${(workerCpuMs / (written / 1000)).toFixed(1)} ms per thousand records (${workerCpuMs.toFixed(0)} ms for ${written}; the ceiling's sender: ${(ceilingCpuMs / ((3 * written) / 1000)).toFixed(1)} ms per thousand over its three ways); emulator CPU: ${(emulatorCpuMs / (written / 1000)).toFixed(1)} ms per thousand = ${(workerCpuMs / emulatorCpuMs).toFixed(2)}x the emulator's`);

    // Memory: a fresh worker process per file, so each peak is that file's alone.
    const memoryRun = async (n: number): Promise<MemoryReply> => {
      const key = `mem-${n}.csv`;
      const path = join(dir, key);
      await writeCsv(path, n, `M${n}-`);
      await s3.send(new PutObjectCommand({ Bucket: 'sources', Key: key, Body: createReadStream(path), ContentLength: statSync(path).size }));
      rmSync(path);
      const probe = child<MemoryReply>('memory', { MLOPS_BENCH_PROBE: JSON.stringify({ endpoint, source: `s3://sources/${key}`, rows: n, group: 'memory' }) }, ['--expose-gc']);
      return await probe.first;
    };
    const small = await memoryRun(memRows);
    const big = await memoryRun(bigRows);
    const line = (m: MemoryReply) =>
      `peak RSS ${mb(m.peakRssBytes)}, peak heap ${mb(m.peakHeapBytes)}, peak live heap ${mb(m.peakLiveHeapBytes)} (validated in ${m.validateSeconds.toFixed(0)} s, ${m.batches} batches prepared in ${m.prepareSeconds.toFixed(0)} s, last chunk: ${m.lastChunkWritten} rows written)`;
    say(`worker memory, ${small.rows}-row file (validate, prepare every chunk, write the last): ${line(small)}`);
    say(`worker memory, ${big.rows}-row file (the same): ${line(big)}; peak RSS = ${(big.peakRssBytes / small.peakRssBytes).toFixed(2)}x, peak heap = ${(big.peakHeapBytes / small.peakHeapBytes).toFixed(2)}x, peak live heap = ${(big.peakLiveHeapBytes / small.peakLiveHeapBytes).toFixed(2)}x the ${small.rows}-row file's for ${(big.rows / small.rows).toFixed(0)}x the rows`);
  } finally {
    worker.child.disconnect();
    emulator.child.disconnect();
    s3Emulator.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env[ROLE_ENV] === 'emulator') void serveEmulator();
if (process.env[ROLE_ENV] === 'memory') void probeMemory();
if (process.env[ROLE_ENV] === 'worker') void serveWorker();
