/**
 * `mlops forecast schedule ...` through the SDK's ScheduleClient on the embedded server with time skipping: a nightly
 * schedule starts retraining runs at its cron times (workflow ids and the TemporalScheduledStartTime /
 * TemporalScheduledById search attributes name the night); a night that comes while the last run still runs follows
 * the overlap policy (skip: dropped; buffer-one: started when the run ends, later nights dropped); a week paused is
 * not caught up by unpausing, and a backfill over it starts exactly its seven runs; trigger starts one now.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Command } from 'commander';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { registerForecast } from '../../clients/cli/commands/forecast';
import { rfc3339Seconds } from '../../local/temporal/schedules/scheduler';
import type { RunReport } from '../../workflows/forecast/model';
import { startForecastStack, testConfig, type ForecastStack } from './harness';

const DAY = 86_400_000;
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const SCHEDULED_BY = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

let s: ForecastStack;
const saved = { ...process.env };
const created: string[] = [];
let workerStopped = false;

beforeAll(async () => {
  s = await startForecastStack();
  await s.upload('raw/sales/2026-04-30.csv', { items: 3, stores: 1, start: '2026-01-01', days: 90 });
  const c = testConfig({ segments: ['popular'] });
  const file = join(mkdtempSync(join(tmpdir(), 'forecast-schedule-')), 'config.yaml');
  // A predictor older than a day is retrained; a run on unchanged data the same day retrains nothing.
  writeFileSync(file, stringify({ ...c, retrain: { maxAgeHours: 1, metric: c.retrain.metric, margin: c.retrain.margin, keepLast: c.retrain.keepLast } }));
  process.env.MLOPS_FORECAST_CONFIG = file;
  process.env.TEMPORAL_ADDRESS = s.address;
}, 120_000);
afterEach(async () => {
  // Whatever a test left running (a stopped worker, a schedule) does not reach into the next one.
  if (workerStopped) await startWorker();
  for (const id of created.splice(0)) await s.client.schedule.getHandle(id).delete().catch(() => undefined);
  await settle();
});
afterAll(async () => {
  process.env = saved;
  await s?.close();
});

function cli(...args: string[]) {
  const program = new Command('mlops').exitOverride();
  registerForecast(program);
  return program.parseAsync(['node', 'mlops', 'forecast', 'schedule', ...args]);
}

async function stopWorker(): Promise<void> {
  await s.stopWorker();
  workerStopped = true;
}
async function startWorker(): Promise<void> {
  await s.startWorker();
  workerStopped = false;
}

async function createSchedule(id: string, ...flags: string[]): Promise<Date[]> {
  await cli('create', '--id', id, ...flags);
  created.push(id);
  return (await s.client.schedule.getHandle(id).describe()).info.nextActionTimes;
}

const runId = (scheduleId: string, nominal: Date) => `forecast/run/schedule-${scheduleId}-${rfc3339Seconds(nominal.getTime())}`;

interface ScheduledRun {
  workflowId: string;
  status: string;
  startTime: Date;
  closeTime?: Date;
  scheduledStart?: Date;
  scheduledBy?: string;
}

/** The runs a schedule started, found by the search attribute the server sets, oldest first. */
async function runsOf(scheduleId: string): Promise<ScheduledRun[]> {
  const out: ScheduledRun[] = [];
  for await (const w of s.client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) {
    out.push({
      workflowId: w.workflowId,
      status: w.status.name,
      startTime: w.startTime,
      closeTime: w.closeTime,
      scheduledStart: w.typedSearchAttributes.get(SCHEDULED_START),
      scheduledBy: w.typedSearchAttributes.get(SCHEDULED_BY),
    });
  }
  return out.sort((a, b) => a.startTime.getTime() - b.startTime.getTime() || a.workflowId.localeCompare(b.workflowId));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, attempts = 600): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits for `n` runs of the schedule, all closed unless `open` of them may still run. */
function runsStarted(scheduleId: string, n: number, open = 0): Promise<ScheduledRun[]> {
  return until(`${n} runs of ${scheduleId}`, async () => {
    const runs = await runsOf(scheduleId);
    return runs.length === n && runs.filter((r) => r.status === 'RUNNING').length <= open ? runs : undefined;
  });
}

/** Waits until no retraining run is open (the schedule's buffer has drained). */
async function settle(): Promise<void> {
  await until('every run to close', async () => {
    for await (const _ of s.client.workflow.list({ query: `WorkflowType = 'forecastRetraining' AND ExecutionStatus = 'Running'` })) return undefined;
    return true;
  });
}

/** Moves virtual time to a minute past `at`. */
function advanceTo(at: Date): void {
  s.advance(Math.max(0, at.getTime() + 60_000 - s.now()));
}

async function overlapSkipped(scheduleId: string): Promise<number> {
  return (await s.client.schedule.getHandle(scheduleId).describe()).info.numActionsSkippedOverlap;
}

describe('mlops forecast schedule', () => {
  it('starts nightly runs at the cron times, each named by its night and carrying the scheduled start time and schedule id', async () => {
    const next = await createSchedule('nightly', '--cron', '0 2 * * *', '--time-zone', 'UTC', '--overlap', 'skip');
    const d = await s.client.schedule.getHandle('nightly').describe();
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'forecastRetraining' });
    const nights = next.slice(0, 3);
    expect(nights.map((t) => [t.getUTCHours(), t.getUTCMinutes()])).toEqual([[2, 0], [2, 0], [2, 0]]);
    expect(nights[1]!.getTime() - nights[0]!.getTime()).toBe(DAY);
    expect(await runsOf('nightly')).toEqual([]);

    for (const [i, night] of nights.entries()) {
      advanceTo(night);
      await runsStarted('nightly', i + 1);
    }
    const runs = await runsOf('nightly');
    expect(runs.map((r) => r.workflowId)).toEqual(nights.map((t) => runId('nightly', t)));
    expect(runs.map((r) => r.scheduledStart?.toISOString())).toEqual(nights.map((t) => t.toISOString()));
    expect(runs.map((r) => r.scheduledBy)).toEqual(['nightly', 'nightly', 'nightly']);
    for (const [i, r] of runs.entries()) {
      // Started at its night (virtual time), not when the test happened to look.
      expect(r.startTime.getTime() - nights[i]!.getTime()).toBeGreaterThanOrEqual(0);
      expect(r.startTime.getTime() - nights[i]!.getTime()).toBeLessThan(2 * 60_000);
    }
    const report = (await s.client.workflow.getHandle(runs[0]!.workflowId).result()) as RunReport;
    expect(report.trigger).toEqual({ kind: 'schedule', detail: 'nightly' });
    expect(report.segments[0]?.decision.retrain).toBe(true);

    const after = await s.client.schedule.getHandle('nightly').describe();
    expect(after.info.recentActions.map((a) => a.action.workflow.workflowId)).toEqual(runs.map((r) => r.workflowId));
    expect(after.info.nextActionTimes[0]?.toISOString()).toBe(new Date(nights[2]!.getTime() + DAY).toISOString());
  }, 60_000);

  it('skip: a night that comes while the last run still runs starts nothing; the next night starts again', async () => {
    const nights = (await createSchedule('skip', '--cron', '0 3 * * *', '--overlap', 'skip')).slice(0, 3);
    // The worker away: the first night's run cannot finish before the second night.
    await stopWorker();
    advanceTo(nights[0]!);
    await runsStarted('skip', 1, 1);
    advanceTo(nights[1]!);
    expect(await until('the overlap to be counted', async () => ((await overlapSkipped('skip')) === 1 ? true : undefined))).toBe(true);
    expect((await runsOf('skip')).map((r) => r.workflowId)).toEqual([runId('skip', nights[0]!)]);

    await startWorker();
    await runsStarted('skip', 1);
    advanceTo(nights[2]!);
    const runs = await runsStarted('skip', 2);
    expect(runs.map((r) => r.workflowId)).toEqual([runId('skip', nights[0]!), runId('skip', nights[2]!)]);
    expect(await overlapSkipped('skip')).toBe(1);
  }, 60_000);

  it('buffer-one: the first night that overlaps starts as soon as the running one ends; further ones are dropped', async () => {
    const nights = (await createSchedule('buffer', '--cron', '0 4 * * *', '--overlap', 'buffer-one')).slice(0, 4);
    await stopWorker();
    advanceTo(nights[0]!);
    await runsStarted('buffer', 1, 1);
    advanceTo(nights[1]!); // buffered
    advanceTo(nights[2]!); // the buffer holds one already: dropped
    await until('the third night to be dropped', async () => ((await overlapSkipped('buffer')) === 1 ? true : undefined));
    const d = await s.client.schedule.getHandle('buffer').describe();
    expect(d.info.numActionsSkippedOverlap).toBe(1);
    expect((await runsOf('buffer')).map((r) => r.workflowId)).toEqual([runId('buffer', nights[0]!)]);

    await startWorker();
    const runs = await runsStarted('buffer', 2);
    expect(runs.map((r) => r.workflowId)).toEqual([runId('buffer', nights[0]!), runId('buffer', nights[1]!)]);
    expect(runs[1]!.scheduledStart?.toISOString()).toBe(nights[1]!.toISOString());
    // It waited for the first run: it started after that one closed, a night later than its nominal time.
    expect(runs[1]!.startTime.getTime()).toBeGreaterThanOrEqual(runs[0]!.closeTime!.getTime());
    expect(runs[1]!.startTime.getTime()).toBeGreaterThan(nights[2]!.getTime());

    advanceTo(nights[3]!);
    expect((await runsStarted('buffer', 3)).map((r) => r.workflowId)[2]).toBe(runId('buffer', nights[3]!));
    expect(await overlapSkipped('buffer')).toBe(1);
  }, 60_000);

  it('a week paused is not caught up by unpausing; a backfill over the week starts exactly its seven runs', async () => {
    const [first] = await createSchedule('week', '--cron', '0 5 * * *', '--overlap', 'skip');
    await cli('pause', '--id', 'week', '--note', 'maintenance');
    expect((await s.client.schedule.getHandle('week').describe()).state).toMatchObject({ paused: true, note: 'maintenance' });
    const from = new Date(s.now());
    advanceTo(new Date(first!.getTime() + 6 * DAY));
    const to = new Date(s.now());
    // Unpausing processes the time up to now as paused time: nothing starts.
    await cli('unpause', '--id', 'week');
    expect((await s.client.schedule.getHandle('week').describe()).info.numActionsTaken).toBe(0);
    expect(await runsOf('week')).toEqual([]);

    // The CLI's backfill default (buffer-all) starts every missed run, one after the other.
    await cli('backfill', '--id', 'week', '--from', from.toISOString(), '--to', to.toISOString());
    const week = Array.from({ length: 7 }, (_, i) => new Date(first!.getTime() + i * DAY));
    const runs = await runsStarted('week', 7);
    expect(runs.map((r) => r.workflowId)).toEqual(week.map((t) => runId('week', t)));
    expect(runs.map((r) => r.scheduledStart?.toISOString())).toEqual(week.map((t) => t.toISOString()));
    expect(runs.every((r) => r.status === 'COMPLETED')).toBe(true);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startTime.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.closeTime!.getTime());
  }, 60_000);

  it('trigger starts a run now; pause stops the nightly runs', async () => {
    const [night] = await createSchedule('manual', '--cron', '0 6 * * *');
    await cli('trigger', '--id', 'manual');
    const [run] = await runsStarted('manual', 1);
    expect(run!.startTime.getTime()).toBeLessThan(night!.getTime());
    const report = (await s.client.workflow.getHandle(run!.workflowId).result()) as RunReport;
    expect(report.trigger).toEqual({ kind: 'schedule', detail: 'manual' });

    await cli('pause', '--id', 'manual', '--note', 'maintenance');
    advanceTo(night!);
    expect((await s.client.schedule.getHandle('manual').describe()).info.numActionsTaken).toBe(1);
    expect(await runsOf('manual')).toHaveLength(1);
    await cli('delete', '--id', 'manual');
    await expect(s.client.schedule.getHandle('manual').describe()).rejects.toThrow(/not found/);
  }, 60_000);
});
