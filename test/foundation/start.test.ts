/**
 * `mlops start` as users run it: one process with the embedded server, emulator, gateway and worker, its state in
 * MLOPS_DATA_DIR. Killing it with SIGKILL in the middle of a restore and starting it again loses nothing.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsClients } from '../recovery/harness';
import { studio } from '../recovery/studio';
import { eventually } from '../recovery/drive';
import { cli, emulatedSleep, freshDataDir as tempDataDir, mlops, stackEnv, startStack as start } from './running-stack';

const freshDataDir = () => tempDataDir('start');

describe('mlops start (what npm start runs)', () => {
  it('runs the embedded server, emulator, gateway and worker; a ping round-trips; SIGINT stops it with exit 0', async () => {
    const dataDir = freshDataDir();
    const env = await stackEnv(dataDir);
    const { banner, child, exited, stderr } = await start(env);
    try {
      expect(banner.status).toBe('running');
      expect(banner.parts.temporal).toContain(`127.0.0.1:${env.MLOPS_TEMPORAL_PORT}`);
      expect(banner.parts['aws-emulator']).toContain(`http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}`);
      expect(banner.parts.gateway).toContain(`:${env.MLOPS_GATEWAY_PORT}`);
      expect(banner.parts.state).toContain(dataDir);

      const health = (await (await fetch(`http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}/_emulator/health`)).json()) as { services: Record<string, unknown> };
      expect(Object.keys(health.services)).toEqual(expect.arrayContaining(['s3', 'sagemaker', 'datasync', 'efs', 'ec2']));
      expect((await fetch(`http://127.0.0.1:${env.MLOPS_GATEWAY_PORT}/healthz`)).ok).toBe(true);

      const ping = cli(env, 'ping', 'from-test', '--json');
      expect(ping.status, ping.stderr).toBe(0);
      expect(JSON.parse(ping.stdout).reply).toMatch(/^pong from .*: from-test$/);

      // A second stack on the same data directory would corrupt it: refused in one line, exit 2.
      const second = spawnSync(process.execPath, [mlops, 'start'], { env: await stackEnv(dataDir), encoding: 'utf8', timeout: 60_000 });
      expect(second.status).toBe(2);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toContain(`pid ${child.pid}`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr()).toBe(0);
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
  }, 120_000);

  it('refuses a damaged state file in one line (exit 2) and leaves it as it was', async () => {
    const dataDir = freshDataDir();
    mkdirSync(dataDir, { recursive: true });
    const damaged = join(dataDir, 'temporal-server.state');
    writeFileSync(damaged, 'SQLite format 3\u0000 not ours');
    const r = spawnSync(process.execPath, [mlops, 'start'], { env: await stackEnv(dataDir), encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('mlops: '))).toHaveLength(1);
    expect(r.stderr).toContain(damaged);
    expect(readFileSync(damaged, 'utf8')).toBe('SQLite format 3\u0000 not ours');
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
  }, 60_000);

  it('killed with SIGKILL in the middle of a restore and started again: the restore finishes, the file is back, nothing is left behind', async () => {
    const dataDir = freshDataDir();
    let env = await stackEnv(dataDir);
    let running = await start(env);
    const emulatorAt = () => `http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}`;
    // Both the clients and the way time passes follow the current process's emulator.
    const cloud = () => studio({ aws: awsClients(emulatorAt()), endpoint: emulatorAt(), sleep: emulatedSleep });
    const status = async (ref: string) => {
      const r = cli(env, 'recovery', 'status', ref, '--json');
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as { homes: unknown[]; restores: { status: string }[]; restoresEver: number };
    };

    const dom = await cloud().createDomain('crashdom');
    const grant = cli(env, 'recovery', 'grant-access', '--efs-id', dom.efsId, '--security-group', await cloud().mountTargetGroup(dom.efsId), '--json');
    expect(grant.status, grant.stderr).toBe(0);
    await cloud().create(dom, 'user-profile', 'ann');
    await eventually('ann\'s first home to be recorded', async () => ((await status('crashdom/ann')).homes.length === 1 ? true : undefined), 60_000, 250);
    await emulatedSleep(3 * 60_000);
    const oldUid = await cloud().homeUid(dom, 'user-profile', 'ann');
    await cloud().writeFile(dom.efsId, `/${oldUid}/notes.md`, 'kept across a crash', Number(oldUid));
    await cloud().remove(dom, 'user-profile', 'ann');
    await cloud().create(dom, 'user-profile', 'ann');
    await eventually('the copy to be running', async () => ((await cloud().control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions > 0 ? true : undefined), 120_000, 100);

    running.child.kill('SIGKILL');
    await running.exited;
    env = await stackEnv(dataDir);
    running = await start(env);

    const restore = await eventually(
      'the restore to end after the restart',
      async () => {
        const s = await status('crashdom/ann');
        const last = s.restores[s.restores.length - 1];
        return last && (last.status === 'succeeded' || last.status === 'failed') ? { s, last } : undefined;
      },
      150_000,
      500,
    );
    expect(restore.last.status).toBe('succeeded');
    expect(restore.s.restoresEver).toBe(1);
    expect(restore.s.homes).toHaveLength(2);
    const newUid = await cloud().homeUid(dom, 'user-profile', 'ann');
    expect(newUid).not.toBe(oldUid);
    expect(await cloud().homeFiles(dom.efsId, newUid)).toEqual({ 'notes.md': 'kept across a crash' });
    const stats = await cloud().dataSyncStats();
    expect(stats).toMatchObject({ liveTasks: 0, liveLocations: 0, tasksCreated: 1 });

    running.child.kill('SIGINT');
    expect(await running.exited, running.stderr()).toBe(0);
  }, 300_000);
});
