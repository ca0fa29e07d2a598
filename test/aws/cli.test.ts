/** `mlops emulator`: listens where asked, serves the SDK, stops cleanly on SIGTERM / SIGINT, refuses bad flags. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig } from './harness';

const root = join(__dirname, '..', '..');
// The TypeScript entry point through tsx, so the test does not depend on a fresh `npm run build`.
const cli = ['--import', 'tsx', join(root, 'clients/cli/main.ts')];

function startCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...cli, 'emulator', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: 'warn', ...env } });
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
    [['--events-to', 'http://127.0.0.1:9/e', '--events-api-key', 'k'], 'process list'],
    [['--events-api-key-file', '/nonexistent'], '--events-to'],
    [['--events-to', 'http://127.0.0.1:9/e', '--events-api-key-file', '/nonexistent/key'], 'ENOENT'],
  ])('refuses %j with exit code 2', (args, message) => {
    const r = spawnSync(process.execPath, [...cli, 'emulator', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('sends the events with the key from MLOPS_GATEWAY_API_KEY or from --events-api-key-file, never on its command line', async () => {
    const keys: (string | undefined)[] = [];
    const receiver = createServer((req, res) => {
      keys.push(req.headers['x-api-key'] as string | undefined);
      req.resume();
      req.on('end', () => res.writeHead(202).end('{}'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const to = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events/eventbridge`;
    const dir = mkdtempSync(join(tmpdir(), 'mlops-events-key-'));
    try {
      writeFileSync(join(dir, 'key'), 'key-from-file\n', { mode: 0o600 });
      for (const [args, env, expected] of [
        [['--events-to', to], { MLOPS_GATEWAY_API_KEY: 'key-from-env' }, 'key-from-env'],
        [['--events-to', to, '--events-api-key-file', join(dir, 'key')], { MLOPS_GATEWAY_API_KEY: '' }, 'key-from-file'],
      ] as [string[], Record<string, string>, string][]) {
        keys.length = 0;
        const { child, ready, exited } = startCli(['--port', '0', '--json', ...args], env);
        try {
          const { endpoint } = await ready;
          expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).not.toContain(expected);
          await new S3Client({ ...clientConfig(endpoint), forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: 'events-key' }));
          for (let i = 0; i < 100 && keys.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
          expect(keys[0]).toBe(expected);
        } finally {
          child.kill('SIGTERM');
          await exited;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      receiver.close();
    }
  }, 60_000);
});
