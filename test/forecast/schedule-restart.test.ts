/**
 * A forecast schedule made with `mlops forecast schedule create` under `mlops start` (state in MLOPS_DATA_DIR) is kept
 * when the process is killed with SIGKILL: started again on the same data directory, the schedule is still there,
 * with the runs it started before, and it goes on starting runs (the first one catching up the time it was down).
 */
import { describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { eventually } from '../recovery/drive';
import { cli, freshDataDir, killStack, stackEnv, startStack } from '../foundation/running-stack';

const EVERY_MS = 5_000;
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

interface Run {
  workflowId: string;
  startTime: Date;
  scheduledStart?: Date;
}

async function runsOf(env: NodeJS.ProcessEnv, scheduleId: string): Promise<Run[]> {
  const connection = await Connection.connect({ address: `127.0.0.1:${env.MLOPS_TEMPORAL_PORT}` });
  try {
    const client = new Client({ connection });
    const runs: Run[] = [];
    for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
      runs.push({ workflowId: w.workflowId, startTime: w.startTime, scheduledStart: w.typedSearchAttributes.get(SCHEDULED_START) });
    }
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  } finally {
    await connection.close();
  }
}

function describeSchedule(env: NodeJS.ProcessEnv, id: string) {
  const r = cli(env, 'forecast', 'schedule', 'describe', '--id', id, '--json');
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { scheduleId: string; overlap: string; recentActions: { workflowId: string }[]; nextActionTimes: string[] };
}

describe('a forecast schedule across a restart of mlops start', () => {
  it('killed with SIGKILL and started again on the same data directory: the schedule is there and still starts runs', async () => {
    const dataDir = freshDataDir('forecast-schedule');
    let env = await stackEnv(dataDir);
    let running = await startStack(env);

    // The runs never finish on this stack (no raw data was uploaded): allow-all lets every time start regardless.
    const made = cli(env, 'forecast', 'schedule', 'create', '--id', 'often', '--every', `${EVERY_MS / 1000}s`, '--overlap', 'allow-all');
    expect(made.status, made.stderr).toBe(0);
    const before = await eventually('a run before the kill', async () => ((await runsOf(env, 'often')).length > 0 ? runsOf(env, 'often') : undefined), 60_000, 250);

    await killStack(running);
    const killedAt = Date.now();
    // Down while one of its times passes.
    const missed = Math.ceil((killedAt + 1) / EVERY_MS) * EVERY_MS;
    await new Promise((r) => setTimeout(r, missed - Date.now() + 250));
    env = await stackEnv(dataDir);
    running = await startStack(env);

    const d = describeSchedule(env, 'often');
    expect(d.overlap).toBe('ALLOW_ALL');
    expect(d.recentActions.map((a) => a.workflowId)).toEqual(expect.arrayContaining(before.map((r) => r.workflowId)));
    // The time missed while down is caught up once the server is back, under the id of its own time.
    const caughtUp = await eventually('the missed time to be caught up', async () => (await runsOf(env, 'often')).find((r) => r.scheduledStart?.getTime() === missed), 60_000, 250);
    expect(caughtUp.workflowId).toBe(`forecast/run/schedule-often-${new Date(missed).toISOString().replace('.000Z', 'Z')}`);
    expect(caughtUp.startTime.getTime()).toBeGreaterThan(missed);
    // And it goes on: the next time after the restart starts its run too.
    const next = Date.parse(d.nextActionTimes[0]!);
    expect(next).toBeGreaterThan(missed);
    await eventually('a run at the next time', async () => (await runsOf(env, 'often')).find((r) => r.scheduledStart?.getTime() === next), 60_000, 250);
    const ids = (await runsOf(env, 'often')).map((r) => r.workflowId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(before.map((r) => r.workflowId)));

    const del = cli(env, 'forecast', 'schedule', 'delete', '--id', 'often');
    expect(del.status, del.stderr).toBe(0);
    running.child.kill('SIGINT');
    expect(await running.exited, running.stderr()).toBe(0);
  }, 300_000);
});
