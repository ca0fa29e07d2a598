/**
 * Forecast retraining end to end on the embedded server (time skipping) and the emulator, Forecast backend: the
 * first run trains, forecasts and exports per segment; unchanged data retrains nothing and says why; a young champion
 * is kept; newer data retrains from the champion, and the challenger is promoted only when it is better (both metrics
 * recorded); exports come from the champion; old predictors go; a worker killed mid-training creates no second one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeAutoPredictorCommand, DescribeForecastCommand, ListPredictorsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-forecast';
import { FORECAST_TASK_QUEUE, runKeyOf, type RunReport, type SegmentReport } from '../../workflows/forecast/model';
import type { PromotionRecord } from '../../workflows/forecast/promote';
import { startForecastStack, testConfig, type ForecastStack } from './harness';
import { expectFirstTraining, expectKept, expectNothingRetrained, expectPromoted } from './scenarios';

let s: ForecastStack;
beforeAll(async () => {
  s = await startForecastStack();
  await s.upload('raw/sales/2026-04-30.csv', { items: 6, stores: 2, start: '2026-01-01', days: 120, noise: 3 });
}, 120_000);
afterAll(async () => {
  await s?.close();
});

const HOUR = 3_600_000;
const seg = (r: RunReport, name: string): SegmentReport => {
  const found = r.segments.find((x) => x.segment === name);
  if (!found) throw new Error(`no report for ${name}: ${JSON.stringify(r.failures)}`);
  return found;
};

async function predictorsOf(segment: string): Promise<string[]> {
  const groupArn = `arn:aws:forecast:us-east-1:123456789012:dataset-group/fresh_food_${segment}`;
  const r = await s.forecast.send(new ListPredictorsCommand({ Filters: [{ Key: 'DatasetGroupArn', Value: groupArn, Condition: 'IS' }] }));
  return (r.Predictors ?? []).map((p) => p.PredictorArn as string).sort();
}

async function role(arn: string): Promise<string | undefined> {
  return (await s.forecast.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags?.find((t) => t.Key === 'mlops:role')?.Value;
}

/** The exported forecast file of a segment: its rows, and the predictor the forecast came from. */
async function exported(r: SegmentReport): Promise<{ rows: string[]; predictorArn?: string }> {
  expect(r.forecast.files).toHaveLength(1);
  const rows = (await s.text(r.forecast.files[0] as string)).trim().split('\n');
  const f = await s.forecast.send(new DescribeForecastCommand({ ForecastArn: r.forecast.id }));
  return { rows, predictorArn: f.PredictorArn };
}

let first: RunReport;
let promoted: RunReport;
let rejected: RunReport;

describe('forecast retraining on Amazon Forecast', () => {
  it('a first run trains, forecasts and exports per segment', async () => {
    first = await s.run('forecast-run-1');
    expect(first.failures).toEqual([]);
    expect(first.runKey).toBe(runKeyOf('forecast-run-1'));
    expect(first.etl.executionSeconds).toBeGreaterThan(60);
    for (const name of ['popular', 'slow']) {
      const r = seg(first, name);
      expectFirstTraining(r);
      expect(await role(r.champion.id)).toBe('champion');
      const out = await exported(r);
      expect(out.predictorArn).toBe(r.champion.id);
      expect(out.rows[0]).toBe('item_id,date,p10,p50,p90');
      expect(out.rows[1]).toMatch(/^item_00\d_store_00\d,2026-05-01T00:00:00Z,/);
      expect(r.forecast.files[0]).toMatch(new RegExp(`^s3://mlops-forecast/forecasts/${name}/${first.runKey}/fresh_food_${name}_${first.runKey}_export_.*_part0$`));
    }
    // 6 items in 2 stores: 2 popular items per store, 4 slow ones.
    expect((await exported(seg(first, 'popular'))).rows).toHaveLength(1 + 4 * 14);
    expect((await exported(seg(first, 'slow'))).rows).toHaveLength(1 + 8 * 14);
  });

  it('a second run on unchanged data retrains nothing and says why, and still forecasts with the champion', async () => {
    const second = await s.run('forecast-run-2');
    for (const name of ['popular', 'slow']) {
      const r = seg(second, name);
      expectNothingRetrained(r, seg(first, name).champion);
      expect((await exported(r)).predictorArn).toBe(r.champion.id);
      expect(await predictorsOf(name)).toEqual([r.champion.id]);
    }
  });

  it('newer data does not retrain a champion younger than the maximum age', async () => {
    await s.upload('raw/sales/2026-05-21.csv', { items: 6, stores: 2, start: '2026-05-01', days: 21, noise: 1 });
    const r = await s.run('forecast-run-young', testConfig({}, { maxAgeSeconds: 30 * 24 * 3600 }));
    const p = seg(r, 'popular');
    expect(p.dataEnd).toBe('2026-05-21');
    expect(p.decision.retrain).toBe(false);
    expect(p.decision.reason).toMatch(/^the champion is [\d.]+ hours old, younger than the maximum age of 30 days/);
  });

  it('newer data retrains from the champion; a better challenger is promoted and the export comes from it', async () => {
    s.advance(2 * HOUR);
    promoted = await s.run('forecast-run-3');
    for (const name of ['popular', 'slow']) {
      const r = seg(promoted, name);
      const old = seg(first, name).champion;
      expectPromoted(r, old);
      const d = await s.forecast.send(new DescribeAutoPredictorCommand({ PredictorArn: r.challenger?.id }));
      expect(d.ReferencePredictorSummary?.Arn).toBe(old.id);
      expect((await exported(r)).predictorArn).toBe(r.challenger?.id);
      expect(await role(old.id)).toBe('retired');
      expect(await role(r.champion.id)).toBe('champion');
    }
  });

  it('a worse challenger is not promoted (both metrics recorded), the champion keeps forecasting, and old predictors go', async () => {
    await s.upload('raw/sales/2026-06-11.csv', { items: 6, stores: 2, start: '2026-05-22', days: 21, noise: 6 });
    s.advance(2 * HOUR);
    const r4 = await s.run('forecast-run-4', testConfig({}, { keepLast: 1 }));
    rejected = r4;
    for (const name of ['popular', 'slow']) {
      const r = seg(r4, name);
      const champion = seg(promoted, name).champion;
      expectKept(r, champion);
      expect((await exported(r)).predictorArn).toBe(champion.id);
      expect(await role(r.challenger?.id as string)).toBe('rejected');
      // Kept: the champion and the newest other predictor (keepLast 1); the first champion is deleted with its forecasts.
      expect(await predictorsOf(name)).toEqual([champion.id, r.challenger?.id].sort());
      expect(r.cleanup.deleted).toContain(seg(first, name).champion.id);
    }
  });

  it('an operator promotes a rejected challenger: audited, the former champion retired, the export from the promoted one', async () => {
    const challenger = seg(rejected, 'slow').challenger?.id as string;
    const former = seg(rejected, 'slow').champion.id;
    const record = (await s.client.workflow.execute('forecastPromote', {
      taskQueue: FORECAST_TASK_QUEUE,
      workflowId: 'forecast/promote/slow/1',
      args: [{ config: testConfig(), runWorkflowId: 'forecast-run-4', segment: 'slow', operator: 'alice', reason: 'the noisy weeks were a promotion' }],
    })) as PromotionRecord;
    expect(record).toMatchObject({ runWorkflowId: 'forecast-run-4', segment: 'slow', operator: 'alice', reason: 'the noisy weeks were a promotion', from: { id: former }, to: { id: challenger } });
    expect(await role(challenger)).toBe('champion');
    expect(await role(former)).toBe('retired');
    const f = await s.forecast.send(new DescribeForecastCommand({ ForecastArn: record.forecast.id }));
    expect(f.PredictorArn).toBe(challenger);
    expect(record.forecast.files).toHaveLength(1);
    // Promoting it again, or a run without a challenger, is refused and changes nothing.
    const again = s.client.workflow.execute('forecastPromote', {
      taskQueue: FORECAST_TASK_QUEUE,
      workflowId: 'forecast/promote/slow/2',
      args: [{ config: testConfig(), runWorkflowId: 'forecast-run-2', segment: 'slow', operator: 'alice', reason: 'x' }],
    });
    await expect(again).rejects.toThrow();
    expect(await role(challenger)).toBe('champion');
  });

  it('a worker killed mid-training loses nothing and creates no second predictor', async () => {
    await s.upload('raw/sales/2026-07-02.csv', { items: 6, stores: 2, start: '2026-06-12', days: 21, noise: 1 });
    s.advance(2 * HOUR);
    const config = testConfig({ segments: ['popular'] });
    const handle = await s.client.workflow.start('forecastRetraining', { taskQueue: FORECAST_TASK_QUEUE, workflowId: 'forecast-run-crash', args: [{ config }] });
    const runKey = runKeyOf('forecast-run-crash');
    const mine = `arn:aws:forecast:us-east-1:123456789012:predictor/fresh_food_popular_${runKey}`;
    for (let i = 0; i < 600 && !(await predictorsOf('popular')).includes(mine); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await predictorsOf('popular')).toContain(mine);
    await s.stopWorker();
    s.advance(6 * HOUR);
    await s.startWorker();
    const report = (await handle.result()) as RunReport;
    const r = seg(report, 'popular');
    expect(r.challenger?.id).toBe(mine);
    expect((await predictorsOf('popular')).filter((p) => p.includes(runKey))).toEqual([mine]);
  });

  it('a run costs the same history events, at most 100 with its segment workflows, whether training takes 6 or 60 hours', async () => {
    const scenario = (body?: object) =>
      fetch(`${s.endpoint}/_emulator/scenarios`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : { method: 'DELETE' });
    const count = async (id: string) => ((await s.client.workflow.getHandle(id).fetchHistory()).events ?? []).length;
    const totals: number[] = [];
    let start = Date.parse('2026-07-03T00:00:00Z');
    try {
      for (const hours of [6, 60]) {
        await scenario({ service: 'forecast', kind: 'predictor', resource: '*', durationsMs: { CREATE_IN_PROGRESS: hours * HOUR } });
        const from = new Date(start).toISOString().slice(0, 10);
        await s.upload(`raw/sales/${from}.csv`, { items: 6, stores: 2, start: from, days: 7, noise: 1 });
        start += 7 * 24 * HOUR;
        s.advance(2 * HOUR);
        const id = `forecast-run-history-${hours}`;
        const r = await s.run(id, testConfig());
        expect(r.segments.map((x) => x.segment).sort()).toEqual(['popular', 'slow']);
        for (const x of r.segments) {
          const d = await s.forecast.send(new DescribeAutoPredictorCommand({ PredictorArn: x.challenger?.id }));
          expect((d.LastModificationTime?.getTime() ?? 0) - (d.CreationTime?.getTime() ?? 0)).toBeGreaterThanOrEqual(hours * HOUR);
        }
        totals.push((await count(id)) + (await count(`${id}/popular`)) + (await count(`${id}/slow`)));
      }
    } finally {
      await scenario();
    }
    expect(totals[1]).toBe(totals[0]);
    expect(totals[0]).toBeLessThanOrEqual(100);
  });
});
