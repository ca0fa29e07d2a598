/**
 * `npm run bench -- emulator [--seconds N]`: requests per second and p50/p99 latency of a small S3 operation
 * (GetObject of 1 KiB through the real S3 client) at 1 and 64 concurrent clients, plus the same GET over plain
 * keep-alive HTTP to separate the emulator's cost from the SDK's. The emulator runs in a child process so the
 * clients do not share its event loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const ROLE_ENV = 'MLOPS_BENCH_EMULATOR_SERVER';

async function serve(): Promise<void> {
  const { startEmulator } = await import('../../local/aws');
  const emu = await startEmulator({ port: 0 });
  process.send?.({ endpoint: emu.endpoint });
  process.on('disconnect', () => {
    void emu.close().then(() => process.exit(0));
  });
}

function startServer(): Promise<{ child: ChildProcess; endpoint: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, [ROLE_ENV]: '1' }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

export default async function bench(args: string[]): Promise<void> {
  const i = args.indexOf('--seconds');
  const seconds = i >= 0 ? Number(args[i + 1]) : 3;
  if (!(seconds > 0)) throw new Error('--seconds takes a positive number');
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
    child.disconnect();
    await new Promise((r) => child.once('exit', r));
  }
}

if (require.main === module && process.env[ROLE_ENV] === '1') void serve();
