/** `mlops emulator`: listens where asked, serves the SDK, stops cleanly on SIGTERM / SIGINT, refuses bad flags. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from './harness';

const root = join(__dirname, '..', '..');
// The TypeScript entry point through tsx, so the test does not depend on a fresh `npm run build`.
const cli = ['--import', 'tsx', join(root, 'clients/cli/main.ts')];

function startCli(args: string[]) {
  const child = spawn(process.execPath, [...cli, 'emulator', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const ready = new Promise<{ endpoint: string; services: string[] }>((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { endpoint: string; services: string[] });
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, ready, exited };
}

describe('mlops emulator', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('serves the SDK and exits 0 on %s', async (signal) => {
    const { child, ready, exited } = startCli(['--port', '0', '--time-scale', '60', '--json']);
    const { endpoint, services } = await ready;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(services).toContain('s3');
    const s3 = new S3Client({ ...clientConfig(endpoint), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'from-cli' }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual(['from-cli']);
    const clock = (await (await fetch(`${endpoint}/_emulator/clock`)).json()) as { timeScale: number };
    expect(clock.timeScale).toBe(60);
    child.kill(signal);
    expect(await exited).toBe(0);
    await expect(fetch(`${endpoint}/_emulator/health`)).rejects.toThrow();
  });

  it.each([
    [['--port', 'abc'], 'TCP port'],
    [['--time-scale', '0'], 'positive number'],
    [['--events-to', 'ftp://x'], 'http:// or https://'],
    [['--events-api-key', 'k'], '--events-to'],
  ])('refuses %j with exit code 2', (args, message) => {
    const r = spawnSync(process.execPath, [...cli, 'emulator', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
