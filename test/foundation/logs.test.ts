/**
 * Logs on stderr: JSON lines when stderr is not a terminal (or with --log-format json), one JSON object per line and
 * nothing else; pretty text for a person at a terminal (or with --log-format pretty).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cli, freshDataDir, mlops, stackEnv, startStack } from './running-stack';

const warnOnceRunning = join(__dirname, 'fixtures', 'warn-once-running.cjs');

function nonJsonLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (line === '') return false;
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });
}

/** `mlops emulator` on a free port until its banner, then SIGINT: its stderr (it logs while stopping). */
async function emulatorStderr(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const child = spawn(process.execPath, [mlops, ...args], { env: { ...env, MLOPS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 30 s: ${stderr}`)), 30_000);
    child.stdout.on('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  child.kill('SIGINT');
  await new Promise((resolve) => child.on('exit', resolve));
  return stderr;
}

describe('logs', () => {
  it('mlops start with stderr piped writes only JSON lines, a dependency\'s process warning included', async () => {
    const env = { ...(await stackEnv(freshDataDir('logs'))), MLOPS_LOG_LEVEL: 'info', NODE_OPTIONS: `--require ${warnOnceRunning}` };
    const running = await startStack(env);
    const ping = cli(env, 'ping', 'logs', '--json');
    expect(ping.status, ping.stderr).toBe(0);
    running.child.kill('SIGINT');
    expect(await running.exited, running.stderr()).toBe(0);

    const stderr = running.stderr();
    expect(nonJsonLines(stderr)).toEqual([]);
    const entries = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; part?: string });
    // What each part says reaches the same stream: the server, the gateway, the workers (through the SDK) and Node itself.
    expect(entries.some((e) => e.part === 'temporal')).toBe(true);
    expect(entries.some((e) => e.part === 'gateway')).toBe(true);
    expect(entries.some((e) => e.msg === 'worker polling')).toBe(true);
    expect(entries.filter((e) => e.msg === 'a dependency warns\nover two lines')).toEqual([expect.objectContaining({ level: 40, warning: { name: 'DependencyWarning' } })]);
  }, 240_000);

  it('--log-format pretty writes human-readable lines, not JSON, even into a pipe', async () => {
    const stderr = await emulatorStderr(['emulator', '--port', '0', '--log-format', 'pretty']);
    expect(stderr).toMatch(/INFO.*stopping the emulator/);
    expect(stderr.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
  }, 60_000);

  it('on a terminal the logs are pretty by default; --log-format json (or MLOPS_LOG_FORMAT) keeps JSON there', async () => {
    // `script` gives the command a pseudo-terminal as stderr, as an interactive shell would (stdout stays a pipe).
    const untilBanner = join(__dirname, 'fixtures', 'until-banner.cjs');
    const inTerminal = (args: string, env: Record<string, string> = {}) =>
      spawnSync('script', ['-qec', [process.execPath, untilBanner, process.execPath, mlops].map((a) => JSON.stringify(a)).join(' ') + ` ${args}`, '/dev/null'], {
        env: { ...process.env, MLOPS_LOG_LEVEL: 'info', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      }).stdout;
    const pretty = inTerminal('emulator --port 0');
    expect(pretty).toMatch(/INFO.*stopping the emulator/);
    expect(pretty).not.toMatch(/"msg":"stopping the emulator"/);
    expect(inTerminal('emulator --port 0 --log-format json')).toMatch(/\{"level":30,.*"msg":"stopping the emulator"\}/);
    expect(inTerminal('emulator --port 0', { MLOPS_LOG_FORMAT: 'json' })).toMatch(/"msg":"stopping the emulator"/);
  }, 240_000);

  it('an unknown format is refused in one line with exit 2', () => {
    const flag = spawnSync(process.execPath, [mlops, 'emulator', '--log-format', 'xml'], { encoding: 'utf8', timeout: 30_000 });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/'xml' is invalid\. Allowed choices are json, pretty/);
    const env = spawnSync(process.execPath, [mlops, 'emulator', '--port', '0'], { env: { ...process.env, MLOPS_LOG_FORMAT: 'xml' }, encoding: 'utf8', timeout: 30_000 });
    expect(env.status).toBe(2);
    expect(env.stderr.trim()).toBe('mlops: MLOPS_LOG_FORMAT="xml" is invalid: MLOPS_LOG_FORMAT accepts "json" (JSON lines) or "pretty" (human-readable); unset: pretty when stderr is a terminal, JSON lines otherwise');
  }, 60_000);
});
