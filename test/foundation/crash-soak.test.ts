/**
 * A crash soak of `mlops start`: eight profiles are recreated at once, and while their restores run the whole
 * process (server, emulator, gateway, worker) is killed with SIGKILL several times at seeded, staggered moments and
 * started again on the same data directory. What a user notices must be as if nothing had happened: every restore
 * succeeds once, every file is back, nothing is left behind in DataSync and no copy was set up twice.
 *
 * CRASH_SOAK_SEED picks the moments (the seed is printed on failure); CRASH_SOAK_KILLS, CRASH_SOAK_MIN_MS /
 * CRASH_SOAK_MAX_MS and CRASH_SOAK_FROM=recreate (kill from the moment the profiles are recreated) make harsher runs by hand.
 */
import { describe, expect, it } from 'vitest';
import { awsClients } from '../recovery/harness';
import { studio, type Domain } from '../recovery/studio';
import { eventually } from '../recovery/drive';
import type { ProfileStatus } from '../../workflows/recovery/model';
import { cli, emulatedSleep, freshDataDir, stackEnv, startStack as start } from './running-stack';

const PROFILES = Array.from({ length: 8 }, (_, i) => `user${i + 1}`);
const SEED = Number(process.env.CRASH_SOAK_SEED ?? 20261122);
const KILLS = Number(process.env.CRASH_SOAK_KILLS ?? 3);
const MIN_MS = Number(process.env.CRASH_SOAK_MIN_MS ?? 1000);
const MAX_MS = Number(process.env.CRASH_SOAK_MAX_MS ?? 4000);
const FIRST_MIN_MS = Number(process.env.CRASH_SOAK_FIRST_MIN_MS ?? 300);
const FIRST_MAX_MS = Number(process.env.CRASH_SOAK_FIRST_MAX_MS ?? 2500);

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mlops start under repeated SIGKILL', () => {
  it(`eight concurrent restores survive ${KILLS} kills at seeded moments (seed ${SEED}): each succeeds once, every file is back, nothing is left`, async () => {
    const random = seeded(SEED);
    const dataDir = freshDataDir('soak');
    const timeline: string[] = [];
    const t0 = Date.now();
    const note = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    const stderrs: string[] = [];

    let env = await stackEnv(dataDir);
    let running = await start(env);
    note('started');
    const emulatorAt = () => `http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}`;
    // Ports change with each start: the clients always follow the current process.
    const cloud = () => studio({ aws: awsClients(emulatorAt()), endpoint: emulatorAt(), sleep: emulatedSleep });
    const statusAll = (): ProfileStatus[] => {
      const r = cli(env, 'recovery', 'status', '--json');
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout) as ProfileStatus[];
    };

    try {
      const dom: Domain = await cloud().createDomain('soak');
      const grant = cli(env, 'recovery', 'grant-access', '--efs-id', dom.efsId, '--security-group', await cloud().mountTargetGroup(dom.efsId), '--json');
      expect(grant.status, grant.stderr).toBe(0);
      await Promise.all(PROFILES.map((p) => cloud().create(dom, 'user-profile', p)));
      await eventually('every first home to be recorded', async () => (statusAll().filter((s) => s.homes.length === 1).length === PROFILES.length ? true : undefined), 120_000, 250);
      await emulatedSleep(3 * 60_000);
      const oldUids = new Map<string, string>();
      for (const p of PROFILES) {
        const uid = await cloud().homeUid(dom, 'user-profile', p);
        oldUids.set(p, uid);
        await cloud().writeFile(dom.efsId, `/${uid}/${p}.txt`, `work of ${p} (seed ${SEED})`, Number(uid));
      }
      await Promise.all(PROFILES.map((p) => cloud().remove(dom, 'user-profile', p)));
      await Promise.all(PROFILES.map((p) => cloud().create(dom, 'user-profile', p)));
      note('profiles recreated');

      // The kills start once the copies are being set up, so they land among DataSync calls, not only in the wait for
      // the new homes (whose activity retries come 15 s apart).
      if (process.env.CRASH_SOAK_FROM !== 'recreate') {
        await eventually('the first DataSync location', async () => ((await cloud().dataSyncStats()).liveLocations > 0 ? true : undefined), 60_000, 50);
        note('copies being set up');
      }

      for (let k = 1; k <= KILLS; k++) {
        // The first kill lands while the copies are set up and launching; the next ones 1-4 s after each restart.
        const waitMs = Math.round(k === 1 ? FIRST_MIN_MS + random() * (FIRST_MAX_MS - FIRST_MIN_MS) : MIN_MS + random() * (MAX_MS - MIN_MS));
        await new Promise((r) => setTimeout(r, waitMs));
        const ds = await cloud()
          .control<{ liveTasks: number; runningExecutions: number; executionsByStatus: Record<string, number> }>('GET', '/services/datasync/stats')
          .then((r) => `liveTasks ${r.body.liveTasks} executions ${JSON.stringify(r.body.executionsByStatus)}`)
          .catch((err: unknown) => `stats unavailable: ${String(err)}`);
        running.child.kill('SIGKILL');
        await running.exited;
        stderrs.push(running.stderr());
        note(`kill ${k} after ${waitMs} ms (${ds})`);
        env = await stackEnv(dataDir);
        running = await start(env);
        note(`restart ${k}`);
      }

      const final = await eventually(
        'every restore to end',
        async () => {
          const all = statusAll();
          return all.length === PROFILES.length && all.every((s) => s.lastRestore && ['succeeded', 'failed'].includes(s.lastRestore.status)) ? all : undefined;
        },
        150_000,
        500,
      );
      note('every restore ended');

      expect(final.map((s) => s.key.name).sort()).toEqual([...PROFILES].sort());
      for (const s of final) {
        expect(s.restoresEver, s.key.name).toBe(1);
        expect(s.restores.map((r) => [r.id, r.status, r.error]), s.key.name).toEqual([[1, 'succeeded', undefined]]);
        const newUid = await cloud().homeUid(dom, 'user-profile', s.key.name);
        expect(newUid).not.toBe(oldUids.get(s.key.name));
        expect(await cloud().homeFiles(dom.efsId, newUid), s.key.name).toEqual({ [`${s.key.name}.txt`]: `work of ${s.key.name} (seed ${SEED})` });
      }
      // The activities find their locations and task again by name and tag after a crash: one task per restore.
      const stats = await eventually('DataSync to be cleaned up', async () => {
        const st = await cloud().dataSyncStats();
        return st.liveTasks === 0 && st.liveLocations === 0 ? st : undefined;
      }, 20_000, 250);
      expect(stats).toMatchObject({ liveTasks: 0, liveLocations: 0, tasksCreated: PROFILES.length, tasksDeleted: PROFILES.length });
      note('checked');

      running.child.kill('SIGINT');
      expect(await running.exited, running.stderr()).toBe(0);
    } catch (err) {
      stderrs.push(running.stderr());
      throw new Error(`${String(err)}\nseed ${SEED}, data dir ${dataDir}\n${timeline.join('\n')}\n--- stderr of each process ---\n${stderrs.map((s) => s.slice(-4000)).join('\n---\n')}`, { cause: err });
    } finally {
      console.log(`crash soak seed ${SEED}, ${KILLS} kills:\n${timeline.join('\n')}`);
    }
  }, 300_000);
});
