import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// bin/mlops runs the compiled CLI: `npm test` builds before vitest runs.
const mlops = join(__dirname, '..', '..', 'bin', 'mlops');

function run(args: string[], env: Record<string, string> = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [mlops, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 20_000,
  });
  return { ...r, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

describe('mlops command line', () => {
  it('--help lists every command with a one-line description', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    const commands = r.stdout.slice(r.stdout.indexOf('Commands:')).split('\n').slice(1).filter((l) => l.trim() !== '');
    for (const command of ['start', 'worker', 'ping', 'server', 'emulator', 'gateway', 'recovery']) {
      expect(commands.some((l) => new RegExp(`^  ${command}\\b.*\\s{2,}\\S`).test(l)), command).toBe(true);
    }
    // One line each: no description wraps onto a continuation line.
    expect(commands.filter((l) => /^\s{10,}/.test(l))).toEqual([]);
  });

  it('an unknown command prints a helpful error and exits 2', () => {
    const r = run(['statsu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'statsu'/);
    expect(r.stderr).toMatch(/mlops --help/);
  });

  it('a bad flag prints a helpful error and exits 2', () => {
    const r = run(['ping', '--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('a bad configuration value stops the program with one line naming the variable, exit 2', () => {
    const r = run(['worker'], { MLOPS_TEMPORAL_PORT: 'seventy' });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mlops: MLOPS_TEMPORAL_PORT="seventy" is invalid: MLOPS_TEMPORAL_PORT accepts a TCP port number/);
  });

  it('prints the version', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
