import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const mlops = join(__dirname, '..', '..', 'bin', 'mlops');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('mlops start (what npm start runs)', () => {
  it('runs the embedded server, emulator, gateway and worker; a ping round-trips; SIGINT stops it with exit 0', async () => {
    const [temporal, emulator, gateway] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLOPS_TEMPORAL_PORT: String(temporal),
      MLOPS_EMULATOR_PORT: String(emulator),
      MLOPS_GATEWAY_PORT: String(gateway),
      MLOPS_LOG_LEVEL: 'warn',
    };
    delete env.TEMPORAL_ADDRESS;
    delete env.AWS_ENDPOINT_URL;
    delete env.MLOPS_AWS;
    const child = spawn(process.execPath, [mlops, 'start', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const banner = await new Promise<{ status: string; parts: Record<string, string> }>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no banner within 60 s; stderr: ${stderr}`)), 60_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) {
            clearTimeout(timer);
            resolve(JSON.parse(line));
          }
        });
      });
      expect(banner.status).toBe('running');
      expect(banner.parts.temporal).toContain(`127.0.0.1:${temporal}`);
      expect(banner.parts['aws-emulator']).toContain(`http://127.0.0.1:${emulator}`);
      expect(banner.parts.gateway).toContain(`:${gateway}`);

      const health = (await (await fetch(`http://127.0.0.1:${emulator}/_emulator/health`)).json()) as { services: Record<string, unknown> };
      expect(Object.keys(health.services)).toEqual(expect.arrayContaining(['s3', 'sagemaker', 'datasync', 'efs', 'ec2']));
      expect((await fetch(`http://127.0.0.1:${gateway}/healthz`)).ok).toBe(true);

      const ping = spawnSync(process.execPath, [mlops, 'ping', 'from-test', '--json'], { env, encoding: 'utf8', timeout: 30_000 });
      expect(ping.status, ping.stderr).toBe(0);
      expect(JSON.parse(ping.stdout).reply).toMatch(/^pong from .*: from-test$/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
  });
});
