/**
 * NEEDS the embedded server's Temporal Schedules (branch `schedules`): `mlops forecast schedule ...` through the
 * SDK's ScheduleClient on the embedded server with time skipping. A schedule made by the CLI starts retraining runs
 * at its times, with the schedule's trigger recorded; trigger starts one now; a backfill starts the missed runs;
 * pause stops new runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Command } from 'commander';
import { registerForecast } from '../../clients/cli/commands/forecast';
import type { RunReport } from '../../workflows/forecast/model';
import { startForecastStack, testConfig, type ForecastStack } from './harness';

let s: ForecastStack;
const saved = { ...process.env };

beforeAll(async () => {
  s = await startForecastStack();
  await s.upload('raw/sales/2026-04-30.csv', { items: 3, stores: 1, start: '2026-01-01', days: 90 });
  const c = testConfig({ segments: ['popular'] });
  const file = join(mkdtempSync(join(tmpdir(), 'forecast-schedule-')), 'config.yaml');
  writeFileSync(file, stringify({ ...c, retrain: { maxAgeHours: 1, metric: c.retrain.metric, margin: c.retrain.margin, keepLast: c.retrain.keepLast } }));
  process.env.MLOPS_FORECAST_CONFIG = file;
  process.env.TEMPORAL_ADDRESS = s.address;
}, 120_000);
afterAll(async () => {
  process.env = saved;
  await s?.close();
});

function cli(...args: string[]) {
  const program = new Command('mlops').exitOverride();
  registerForecast(program);
  return program.parseAsync(['node', 'mlops', 'forecast', 'schedule', ...args]);
}

async function scheduledRuns(): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of s.client.workflow.list({ query: `WorkflowType = 'forecastRetraining'` })) ids.push(w.workflowId);
  return ids.filter((id) => id.startsWith('forecast/run/schedule-nightly')).sort();
}

describe('mlops forecast schedule', () => {
  it('creates a schedule whose runs start at its times, and triggers, backfills and pauses it', async () => {
    await cli('create', '--id', 'nightly', '--cron', '0 2 * * *', '--time-zone', 'UTC', '--overlap', 'skip');
    const d = await s.client.schedule.getHandle('nightly').describe();
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'forecastRetraining' });
    expect(d.info.nextActionTimes[0]?.getUTCHours()).toBe(2);

    await cli('trigger', '--id', 'nightly');
    let runs: string[] = [];
    for (let i = 0; i < 200 && runs.length === 0; i++) {
      runs = await scheduledRuns();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(runs).toHaveLength(1);
    const report = (await s.client.workflow.getHandle(runs[0] as string).result()) as RunReport;
    expect(report.trigger).toEqual({ kind: 'schedule', detail: 'nightly' });
    expect(report.segments[0]?.decision.retrain).toBe(true);

    // A backfill over three past days starts one run per missed 02:00.
    const now = Date.now();
    await cli('backfill', '--id', 'nightly', '--from', new Date(now - 3 * 86_400_000).toISOString(), '--to', new Date(now).toISOString(), '--overlap', 'allow-all');
    for (let i = 0; i < 400 && (await scheduledRuns()).length < 4; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await scheduledRuns()).length).toBe(4);

    await cli('pause', '--id', 'nightly', '--note', 'maintenance');
    expect((await s.client.schedule.getHandle('nightly').describe()).state.paused).toBe(true);
    await cli('delete', '--id', 'nightly');
  });
});
