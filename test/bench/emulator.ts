/**
 * `npm run bench -- emulator [--seconds N]`: requests per second and p50/p99 latency of a small S3 operation
 * (GetObject of 1 KiB through the real S3 client) at 1 and 64 concurrent clients, plus the same GET over plain
 * keep-alive HTTP to separate the emulator's cost from the SDK's. The emulator runs in a child process so the
 * clients do not share its event loop.
 *
 * Then the cost of durable state: mutating requests (PutObject of 1 KiB) per second with and without a state
 * directory, on an emulator already holding 200 S3 objects and 200 EFS files of 64 KiB each (so a write that
 * re-serialised all stored bytes would show), and the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const ROLE_ENV = 'MLOPS_BENCH_EMULATOR_SERVER';
const STATE_DIR_ENV = 'MLOPS_BENCH_EMULATOR_STATE_DIR';

async function serve(): Promise<void> {
  const { startEmulator } = await import('../../local/aws');
  const stateDir = process.env[STATE_DIR_ENV];
  const emu = await startEmulator({ port: 0, ...(stateDir ? { stateDir } : {}) });
  process.send?.({ endpoint: emu.endpoint });
  process.on('disconnect', () => {
    void emu.close().then(() => process.exit(0));
  });
}

function startServer(stateDir?: string): Promise<{ child: ChildProcess; endpoint: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, [ROLE_ENV]: '1', ...(stateDir ? { [STATE_DIR_ENV]: stateDir } : {}) };
    const child = fork(__filename, [], { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { endpoint: string }) => resolve({ child, endpoint: m.endpoint }));
    child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Result {
  label: string;
  concurrency: number;
  requests: number;
  seconds: number;
  latencies: number[];
}

/** Runs `concurrency` loops of `once` for `seconds`, after a short warm-up. */
async function load(label: string, concurrency: number, seconds: number, makeWorker: () => () => Promise<void>): Promise<Result> {
  const workers = Array.from({ length: concurrency }, makeWorker);
  const warmUntil = performance.now() + 300;
  await Promise.all(workers.map(async (w) => { while (performance.now() < warmUntil) await w(); }));
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    workers.map(async (w) => {
      while (performance.now() < until) {
        const t = performance.now();
        await w();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { label, concurrency, requests: latencies.length, seconds: (performance.now() - started) / 1000, latencies };
}

function print(r: Result): void {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const rps = r.requests / r.seconds;
  process.stdout.write(
    `${r.label.padEnd(34)} clients=${String(r.concurrency).padStart(2)}  ${rps.toFixed(0).padStart(6)} req/s  p50 ${percentile(sorted, 50).toFixed(2).padStart(6)} ms  p99 ${percentile(sorted, 99).toFixed(2).padStart(6)} ms  (${r.requests} requests)\n`,
  );
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.disconnect();
  await new Promise((r) => child.once('exit', r));
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
}

/** 200 S3 objects and 200 EFS files of 64 KiB: stored data a mutating request must not pay for. */
async function preload(endpoint: string): Promise<void> {
  const s3 = s3Client(endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: 'bench-data' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const fs = (await (
    await fetch(`${endpoint}/2015-02-01/file-systems`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/elasticfilesystem/aws4_request' },
      body: JSON.stringify({ CreationToken: 'bench' }),
    })
  ).json()) as { FileSystemId: string };
  for (let i = 0; i < 200; i++) {
    const body = Buffer.alloc(64 * 1024, i);
    await s3.send(new PutObjectCommand({ Bucket: 'bench-data', Key: `object-${i}`, Body: body }));
    const res = await fetch(`${endpoint}/_emulator/services/efs/file-systems/${fs.FileSystemId}/files?path=/data/file-${i}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentBase64: body.toString('base64') }),
    });
    if (!res.ok) throw new Error(`preload: writing an EFS file answered ${res.status}`);
  }
}

async function mutating(seconds: number, stateDir: string | undefined): Promise<Result[]> {
  const { child, endpoint } = await startServer(stateDir);
  try {
    await preload(endpoint);
    const results: Result[] = [];
    for (const concurrency of [1, 16]) {
      let n = 0;
      const label = `S3 PutObject 1 KiB, ${stateDir ? 'state dir' : 'in memory'}`;
      const result = await load(label, concurrency, seconds, () => {
        const c = s3Client(endpoint);
        const body = Buffer.alloc(1024, 1);
        return async () => {
          await c.send(new PutObjectCommand({ Bucket: 'bench', Key: `k-${n++ % 100}`, Body: body }));
        };
      });
      print(result);
      results.push(result);
    }
    return results;
  } finally {
    await stopServer(child);
  }
}

async function durableStateCost(seconds: number): Promise<void> {
  process.stdout.write('\nmutating requests, 200 S3 objects + 200 EFS files of 64 KiB already stored:\n');
  const memory = await mutating(seconds, undefined);
  const dir = mkdtempSync(join(tmpdir(), 'bench-emulator-state-'));
  try {
    const durable = await mutating(seconds, dir);
    memory.forEach((m, i) => {
      const d = durable[i] as Result;
      const rate = (r: Result) => r.requests / r.seconds;
      process.stdout.write(
        `clients=${String(m.concurrency).padStart(2)}: in memory ${rate(m).toFixed(0)} req/s, state dir ${rate(d).toFixed(0)} req/s, ratio ${(rate(d) / rate(m)).toFixed(2)}\n`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(args: string[]): Promise<void> {
  const i = args.indexOf('--seconds');
  const seconds = i >= 0 ? Number(args[i + 1]) : 3;
  if (!(seconds > 0)) throw new Error('--seconds takes a positive number');
  await readOnlyThroughput(seconds);
  await durableStateCost(seconds);
}

async function readOnlyThroughput(seconds: number): Promise<void> {
  const { child, endpoint } = await startServer();
  try {
    const client = () => new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    const setup = client();
    await setup.send(new CreateBucketCommand({ Bucket: 'bench' }));
    await setup.send(new PutObjectCommand({ Bucket: 'bench', Key: 'small.bin', Body: Buffer.alloc(1024, 7) }));
    process.stdout.write(`emulator at ${endpoint} (own process); ${seconds} s per run; object of 1 KiB\n`);

    for (const concurrency of [1, 64]) {
      print(
        await load('S3 GetObject via @aws-sdk/client-s3', concurrency, seconds, () => {
          const c = client();
          return async () => {
            const out = await c.send(new GetObjectCommand({ Bucket: 'bench', Key: 'small.bin' }));
            await out.Body?.transformToByteArray();
          };
        }),
      );
    }
    for (const concurrency of [1, 64]) {
      const url = new URL(`${endpoint}/bench/small.bin`);
      print(
        await load('S3 GetObject, plain HTTP keep-alive', concurrency, seconds, () => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          return () =>
            new Promise<void>((resolve, reject) => {
              const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', agent }, (res) => {
                res.resume();
                res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
              });
              req.on('error', reject);
              req.end();
            });
        }),
      );
    }
  } finally {
    await stopServer(child);
  }
}

if (require.main === module && process.env[ROLE_ENV] === '1') void serve();
