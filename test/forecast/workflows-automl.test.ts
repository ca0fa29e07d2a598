/**
 * Forecast retraining end to end on the SageMaker AutoML V2 backend (`backend: automl`), the scenarios of
 * workflows.test.ts: the first run trains, forecasts and exports per segment; unchanged data retrains nothing and says
 * why; newer data trains a challenger against the champion, promoted only when it is better (both metrics recorded);
 * the exported forecasts come from the champion's model; a worker killed mid-training creates no second job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeModelCommand, DescribeTransformJobCommand, ListAutoMLJobsCommand, ListTagsCommand } from '@aws-sdk/client-sagemaker';
import { FORECAST_TASK_QUEUE, runKeyOf, type RunReport, type SegmentReport } from '../../workflows/forecast/model';
import type { PromotionRecord } from '../../workflows/forecast/promote';
import { startForecastStack, testConfig, type ForecastStack } from './harness';
import { DATA, SEGMENTS, expectFirstTraining, expectKept, expectNothingRetrained, expectPromoted, segmentOf as seg } from './scenarios';

let s: ForecastStack;
beforeAll(async () => {
  s = await startForecastStack();
  await s.upload(DATA.first.key, DATA.first.sales);
}, 120_000);
afterAll(async () => {
  await s?.close();
});

const HOUR = 3_600_000;
const automl = (over: Parameters<typeof testConfig>[0] = {}, retrain: Parameters<typeof testConfig>[1] = {}) => testConfig({ backend: 'automl', ...over }, retrain);

async function jobsOf(segment: string): Promise<string[]> {
  const r = await s.sagemaker.send(new ListAutoMLJobsCommand({ NameContains: `fresh-food-${segment}-`, MaxResults: 100 }));
  return (r.AutoMLJobSummaries ?? []).map((j) => j.AutoMLJobArn as string).sort();
}

async function tag(arn: string, key: string): Promise<string | undefined> {
  return (await s.sagemaker.send(new ListTagsCommand({ ResourceArn: arn }))).Tags?.find((t) => t.Key === key)?.Value;
}

/** The batch transform's output of a segment: its rows, and the AutoML job whose best candidate made the model. */
async function exported(r: SegmentReport): Promise<{ rows: string[]; jobArn?: string }> {
  expect(r.forecast.files).toHaveLength(1);
  const rows = (await s.text(r.forecast.files[0] as string)).trim().split('\n');
  const t = await s.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: r.forecast.id.split('/').pop() }));
  const m = await s.sagemaker.send(new DescribeModelCommand({ ModelName: t.ModelName }));
  const job = /\/automl\/[a-z]+\/([^/]+)\//.exec(m.Containers?.[0]?.ModelDataUrl ?? '')?.[1];
  return { rows, ...(job ? { jobArn: `arn:aws:sagemaker:us-east-1:123456789012:automl-job/${job}` } : {}) };
}

let first: RunReport;
let promoted: RunReport;
let rejected: RunReport;

describe('forecast retraining on SageMaker AutoML V2', () => {
  it('a first run trains, forecasts and exports per segment', async () => {
    first = await s.run('automl-run-1', automl());
    expect(first.failures).toEqual([]);
    for (const name of SEGMENTS) {
      const r = seg(first, name);
      expect(r.backend).toBe('automl');
      expectFirstTraining(r);
      expect(r.champion.id).toBe(`arn:aws:sagemaker:us-east-1:123456789012:automl-job/fresh-food-${name}-${first.runKey}`);
      expect(r.champion.metrics.wQL).toBeGreaterThan(0);
      expect(await tag(r.champion.id, 'mlops:role')).toBe('champion');
      const out = await exported(r);
      expect(out.jobArn).toBe(r.champion.id);
      expect(out.rows[0]).toBe('item_id,timestamp,p10,p50,p90');
      expect(out.rows[1]).toMatch(/^item_00\d_store_00\d,2026-05-01,/);
      expect(r.forecast.files[0]).toBe(`s3://mlops-forecast/forecasts/${name}/${first.runKey}/automl_training.csv.out`);
    }
    expect((await exported(seg(first, 'popular'))).rows).toHaveLength(1 + 4 * 14);
    expect((await exported(seg(first, 'slow'))).rows).toHaveLength(1 + 8 * 14);
  });

  it('a second run on unchanged data retrains nothing and says why, and still forecasts with the champion', async () => {
    const second = await s.run('automl-run-2', automl());
    for (const name of SEGMENTS) {
      const r = seg(second, name);
      expectNothingRetrained(r, seg(first, name).champion);
      expect((await exported(r)).jobArn).toBe(r.champion.id);
      expect(await jobsOf(name)).toEqual([r.champion.id]);
    }
  });

  it('newer data trains a challenger against the champion; a better one is promoted and the export comes from it', async () => {
    await s.upload(DATA.calmer.key, DATA.calmer.sales);
    s.advance(2 * HOUR);
    promoted = await s.run('automl-run-3', automl());
    for (const name of SEGMENTS) {
      const r = seg(promoted, name);
      const old = seg(first, name).champion;
      expectPromoted(r, old);
      expect(await tag(r.challenger?.id as string, 'mlops:challenges')).toBe(old.id.split('/').pop());
      expect((await exported(r)).jobArn).toBe(r.challenger?.id);
      expect(await tag(old.id, 'mlops:role')).toBe('retired');
    }
  });

  it('a worse challenger is not promoted (both metrics recorded) and the champion keeps forecasting', async () => {
    await s.upload(DATA.noisier.key, DATA.noisier.sales);
    s.advance(2 * HOUR);
    const r4 = await s.run('automl-run-4', automl({}, { keepLast: 0 }));
    rejected = r4;
    for (const name of SEGMENTS) {
      const r = seg(r4, name);
      const champion = seg(promoted, name).champion;
      expectKept(r, champion);
      expect((await exported(r)).jobArn).toBe(champion.id);
      expect(await tag(r.challenger?.id as string, 'mlops:role')).toBe('rejected');
      // AutoML jobs cannot be deleted: the first champion's model goes (keepLast 0), the champion's stays.
      expect(r.cleanup.deleted).toEqual([`${seg(first, name).champion.id.split('/').pop()}-model`]);
    }
  });

  it('an operator promotes a rejected challenger: the former champion retired, the forecast from the promoted job on the latest table', async () => {
    const challenger = seg(rejected, 'slow').challenger?.id as string;
    const former = seg(rejected, 'slow').champion.id;
    const record = (await s.client.workflow.execute('forecastPromote', {
      taskQueue: FORECAST_TASK_QUEUE,
      workflowId: 'automl/promote/slow/1',
      args: [{ config: automl(), runWorkflowId: 'automl-run-4', segment: 'slow', operator: 'alice', reason: 'the noisy weeks were a promotion' }],
    })) as PromotionRecord;
    expect(record).toMatchObject({ operator: 'alice', from: { id: former }, to: { id: challenger } });
    expect(await tag(challenger, 'mlops:role')).toBe('champion');
    expect(await tag(former, 'mlops:role')).toBe('retired');
    const t = await s.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: record.forecast.id.split('/').pop() }));
    expect(t.TransformInput?.DataSource?.S3DataSource?.S3Uri).toBe(`s3://mlops-forecast/datasets/${rejected.runKey}/slow/automl_training.csv`);
    expect(t.ModelName).toBe(`${challenger.split('/').pop()}-model`);
    expect(record.forecast.files).toHaveLength(1);
  });

  it('a worker killed mid-training loses nothing and creates no second AutoML job', async () => {
    await s.upload('raw/sales/2026-07-02.csv', { items: 6, stores: 2, start: '2026-06-12', days: 21, noise: 1 });
    s.advance(2 * HOUR);
    const handle = await s.client.workflow.start('forecastRetraining', { taskQueue: FORECAST_TASK_QUEUE, workflowId: 'automl-run-crash', args: [{ config: automl({ segments: ['popular'] }) }] });
    const mine = `arn:aws:sagemaker:us-east-1:123456789012:automl-job/fresh-food-popular-${runKeyOf('automl-run-crash')}`;
    for (let i = 0; i < 600 && !(await jobsOf('popular')).includes(mine); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await jobsOf('popular')).toContain(mine);
    await s.stopWorker();
    s.advance(6 * HOUR);
    await s.startWorker();
    const r = seg((await handle.result()) as RunReport, 'popular');
    expect(r.challenger?.id).toBe(mine);
    expect((await jobsOf('popular')).filter((j) => j.includes(runKeyOf('automl-run-crash')))).toEqual([mine]);
  });
});
