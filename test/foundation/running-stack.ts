/**
 * `mlops start` as a child process, as users run it: free ports, a data directory, emulated jobs 60 times faster;
 * the banner awaited; the CLI run against it. Processes and data directories are cleaned up after each test.
 */
import { afterEach } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../free-port';

export const mlops = join(__dirname, '..', '..', 'bin', 'mlops');
/** Emulated jobs (domain creation, apps, DataSync) run this many times faster than real ones. */
export const TIME_SCALE = 60;

export interface RunningStack {
  child: ChildProcess;
  banner: { status: string; parts: Record<string, string> };
  exited: Promise<number | null>;
  stderr: () => string;
}

const children: ChildProcess[] = [];
const dataDirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dataDirs.splice(0)) rmSync(dirname(d), { recursive: true, force: true });
});


/** A data directory that does not exist yet (in a fresh temporary folder, removed after the test). */
export function freshDataDir(label: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `mlops-${label}-`)), 'data');
  dataDirs.push(dir);
  return dir;
}

/**
 * The environment of a `mlops start` on the embedded defaults, with new free ports and the given data directory;
 * `over` sets more (e.g. another MLOPS_EMULATOR_TIME_SCALE).
 */
export async function stackEnv(dataDir: string, over: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MLOPS_TEMPORAL_PORT: String(await freePort()),
    MLOPS_EMULATOR_PORT: String(await freePort()),
    MLOPS_GATEWAY_PORT: String(await freePort()),
    MLOPS_UI_PORT: String(await freePort()),
    MLOPS_DATA_DIR: dataDir,
    MLOPS_EMULATOR_TIME_SCALE: String(TIME_SCALE),
    MLOPS_LOG_LEVEL: 'warn',
  };
  for (const k of ['TEMPORAL_ADDRESS', 'AWS_ENDPOINT_URL', 'MLOPS_AWS', 'MLOPS_GATEWAY_API_KEY', 'MLOPS_DATASYNC_TASK_CAP']) delete env[k];
  return { ...env, ...over };
}

/** Spawns `mlops start --json` and resolves once its banner is printed. */
export function startStack(env: NodeJS.ProcessEnv): Promise<RunningStack> {
  const child = spawn(process.execPath, [mlops, 'start', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise<RunningStack>((resolve, reject) => {
    let out = '';
    // Every task queue's workflows are bundled at start (five now): on a loaded machine that takes minutes.
    const timer = setTimeout(() => reject(new Error(`no banner within 180 s; stderr: ${stderr}`)), 180_000);
    child.on('exit', (code) => reject(new Error(`mlops start exited ${code}: ${stderr}`)));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, banner: JSON.parse(line) as RunningStack['banner'], exited, stderr: () => stderr });
      }
    });
  });
}

/** Kills `mlops start` with SIGKILL (server, emulator, gateway and worker at once, as a crash would) and waits until it is gone. */
export async function killStack(running: RunningStack): Promise<void> {
  running.child.kill('SIGKILL');
  await running.exited;
}

/** `mlops ...` against the stack started with `env`. */
export function cli(env: NodeJS.ProcessEnv, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [mlops, ...args], { env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${env.MLOPS_TEMPORAL_PORT}` }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lets `ms` of emulated time pass for jobs of an emulator running at TIME_SCALE. */
export const emulatedSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms / TIME_SCALE));
