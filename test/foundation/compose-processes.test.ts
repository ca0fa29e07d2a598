/**
 * The processes docker-compose.yml runs, run on this machine from the same file and environment values: the AWS
 * emulator, the gateway and two workers, each its own `mlops` process with the command and environment Compose would
 * give it, against the embedded Temporal server standing in for the `temporal` service. Only what Docker's network
 * does is done here: service names become 127.0.0.1 and a free port, the emulator's volume a temporary folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { grantAccess } from '../../clients/cli/commands/recovery';
import { profileWorkflowId, type ProfileKey, type ProfileStatus } from '../../workflows/recovery/model';
import { statusQuery } from '../../workflows/recovery/messages';
import { awsClients } from '../recovery/harness';
import { studio } from '../recovery/studio';
import { eventually } from '../recovery/drive';
import { freePort } from '../free-port';
import { projectDir, resolveCompose, type ComposeService } from './compose';

/** Emulated jobs run this many times faster than AWS's (set through the compose file's MLOPS_EMULATOR_TIME_SCALE). */
const TIME_SCALE = 600;
// Debug logs: the workers' SDK logs every activity attempt it starts, which shows where each one ran.
const composeEnv = { MLOPS_GATEWAY_API_KEY: `key-${process.pid}`, MLOPS_EMULATOR_TIME_SCALE: String(TIME_SCALE), MLOPS_LOG_LEVEL: 'debug' };
const emulatedSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms / TIME_SCALE));

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

const procs: Proc[] = [];
let server: TemporalServer;
let connection: Connection;
let client: Client;
let emulatorEndpoint: string;
let workers: Proc[];
let stateDir: string;

/** Runs a compose service's command as `mlops <command>` with its environment, Docker's network and volume mapped here. */
function runService(name: string, svc: ComposeService, hosts: Record<string, string>, listenPort: number): Proc {
  const local = (v: string) => {
    let out = v;
    for (const [from, to] of Object.entries(hosts)) out = out.replaceAll(from, to);
    // Inside its container a service listens on every interface at its fixed port; here on loopback at a free one.
    return out.replace(/^0\.0\.0\.0$/, '127.0.0.1').replace(/^\/data\//, `${stateDir}/`);
  };
  const args = svc.command!.map(local);
  const port = args.indexOf('--port');
  if (port >= 0) args[port + 1] = String(listenPort);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };
  for (const [k, v] of Object.entries(svc.environment ?? {})) if (v !== null) env[k] = local(v);
  if (env.MLOPS_GATEWAY_PORT) env.MLOPS_GATEWAY_PORT = String(listenPort);
  // The image's working directory is the project folder (relative paths such as --events-pattern resolve there).
  const child = spawn(process.execPath, [join(projectDir, 'bin', 'mlops'), ...args], { cwd: projectDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout!.resume();
  const proc = { name, child, exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))), stderr: () => stderr };
  procs.push(proc);
  return proc;
}

const logLines = (p: Proc) => p.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; taskQueue?: string; activityType?: string });
/** Every task queue's worker is polling: the SDK announces each one it creates, we log each that polls. */
const polling = async (p: Proc) => {
  const lines = logLines(p);
  const polls = lines.filter((l) => l.msg === 'worker polling').length;
  return polls > 0 && polls === lines.filter((l) => l.msg.startsWith('Creating worker')).length ? true : undefined;
};
const activitiesStarted = (p: Proc) => logLines(p).filter((l) => l.msg === 'Activity started').length;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'mlops-compose-'));
  server = await startTemporalServer({ port: 0, timeSkipping: true });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection });
  const [emulatorPort, gatewayPort] = [await freePort(), await freePort()];
  emulatorEndpoint = `http://127.0.0.1:${emulatorPort}`;
  const hosts = { 'temporal:7233': server.address, 'aws-emulator:4566': `127.0.0.1:${emulatorPort}`, 'gateway:8088': `127.0.0.1:${gatewayPort}` };
  const s = resolveCompose(composeEnv).services;

  // In the order Compose starts them: the gateway and the workers once the namespace exists, the emulator once the
  // gateway is healthy.
  const gateway = runService('gateway', s.gateway!, hosts, gatewayPort);
  workers = [runService('worker-1', s.worker!, hosts, 0), runService('worker-2', s.worker!, hosts, 0)];
  await eventually('the gateway to be healthy', async () => ((await fetch(`http://127.0.0.1:${gatewayPort}/healthz`)).ok ? true : undefined), 45_000, 100).catch((err: unknown) => {
    throw new Error(`${String(err)}; gateway stderr: ${gateway.stderr()}`);
  });
  const emulator = runService('aws-emulator', s['aws-emulator']!, hosts, emulatorPort);
  await eventually('the emulator to be healthy', async () => ((await fetch(`${emulatorEndpoint}/_emulator/health`)).ok ? true : undefined), 30_000, 100).catch((err: unknown) => {
    throw new Error(`${String(err)}; emulator stderr: ${emulator.stderr()}`);
  });
  for (const w of workers) {
    await eventually(`${w.name} to poll every task queue`, () => polling(w), 200_000, 100).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}; ${w.name} stderr: ${w.stderr()}`);
      },
    );
  }
}, 240_000);

afterAll(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await connection?.close();
  await server?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the compose file\'s processes on this machine', () => {
  it('restore a profile with its activities spread over two workers, and survive one worker\'s SIGTERM', async () => {
    const cloud = studio({ aws: awsClients(emulatorEndpoint), endpoint: emulatorEndpoint, sleep: emulatedSleep });
    const ann: ProfileKey = { domainName: 'composedom', kind: 'user-profile', name: 'ann' };
    const status = () => client.workflow.getHandle(profileWorkflowId(ann)).query(statusQuery) as Promise<ProfileStatus>;

    const dom = await cloud.createDomain('composedom');
    const grant = await grantAccess(client, dom.efsId, await cloud.mountTargetGroup(dom.efsId));
    expect(grant.rulesAdded + grant.rulesAlreadyPresent).toBeGreaterThan(0);
    await cloud.create(dom, 'user-profile', 'ann');
    await eventually('ann\'s first home to be recorded', async () => ((await status()).homes.length === 1 ? true : undefined), 20_000, 50);
    await emulatedSleep(3 * 60_000);
    const oldUid = await cloud.homeUid(dom, 'user-profile', 'ann');
    await cloud.writeFile(dom.efsId, `/${oldUid}/notes.md`, 'copied by whichever worker', Number(oldUid));
    // The copy lasts until the test lets it end (a day, emulated): a worker is stopped in the middle of it.
    await cloud.control('POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', durationsMs: { TRANSFERRING: 24 * 3600_000 } });
    await cloud.remove(dom, 'user-profile', 'ann');
    await cloud.create(dom, 'user-profile', 'ann');

    await eventually('the copy to be running', async () => ((await cloud.control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions > 0 ? true : undefined), 20_000, 50);
    // While the copy runs, its progress is polled by activity retries, which the server hands to either worker.
    await eventually('both workers to have run activities', async () => (workers.every((w) => activitiesStarted(w) > 0) ? true : undefined), 20_000, 50);
    const [stopped, remaining] = workers as [Proc, Proc];
    const atStop = workers.map(activitiesStarted);
    stopped.child.kill('SIGTERM');
    // It drains (its running activities finish) and exits 0, as `docker compose stop` would see it.
    expect(await stopped.exited, stopped.stderr()).toBe(0);
    // It was stopped in the middle of the copy, not after the restore.
    expect((await cloud.control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions).toBe(1);
    expect((await status()).restores.at(-1)?.status).toBe('running');
    // Now the copy may end (a rule for a running job applies from its start, so it is done): the other worker sees
    // the restore through.
    await cloud.control('POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', durationsMs: { TRANSFERRING: 60_000 } });

    const restore = await eventually(
      'the restore to end',
      async () => {
        const s = await status();
        const last = s.restores[s.restores.length - 1];
        return last && (last.status === 'succeeded' || last.status === 'failed') ? { s, last } : undefined;
      },
      30_000,
      100,
    );
    expect(restore.last.status).toBe('succeeded');
    expect(restore.s.restoresEver).toBe(1);
    const newUid = await cloud.homeUid(dom, 'user-profile', 'ann');
    expect(newUid).not.toBe(oldUid);
    expect(await cloud.homeFiles(dom.efsId, newUid)).toEqual({ 'notes.md': 'copied by whichever worker' });
    expect(await cloud.dataSyncStats()).toMatchObject({ liveTasks: 0, liveLocations: 0, tasksCreated: 1 });

    // Both workers ran activities before the SIGTERM; after it, the one left ran the rest (the copy's polling, the
    // cleanup).
    expect(atStop[0], 'activities started by the worker stopped').toBeGreaterThan(0);
    expect(atStop[1], 'activities started by the other worker').toBeGreaterThan(0);
    expect(activitiesStarted(remaining)).toBeGreaterThan(atStop[1]!);
    expect(remaining.child.exitCode).toBeNull();
  }, 90_000);
});
