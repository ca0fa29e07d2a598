/**
 * Records the replay fixtures of `replay.test.ts`: real runs of the forecast workflows on the embedded server (time
 * skipping, the emulator, the real activities), one stack per backend, exported with the SDK's history JSON. Per
 * backend: a first run (trains), a run on unchanged data (retrains nothing), a run on newer calmer data (promotes),
 * one on noisier data (keeps the champion), an operator's promotion, and a run left in the middle of its training (the
 * history a deployment finds in flight). Run it once per release whose runs may still be going when the next one is
 * deployed (a training takes hours):
 *
 *   npx tsx test/forecast/record-histories.ts [RELEASE]     # writes test/forecast/fixtures/histories/RELEASE/
 */
import { join } from 'node:path';
import { FORECAST_TASK_QUEUE, type ForecastPipelineConfig, type RunReport } from '../../workflows/forecast/model';
import { projectVersion } from '../../common/project-root';
import { runRecording, writeHistories, writeManifest, type RecordedHistory } from '../support/histories';
import { startForecastStack, testConfig, type ForecastStack } from './harness';
import { DATA } from './scenario-data';

const HOUR = 3_600_000;
const BACKENDS = ['forecast', 'automl'] as const;

async function trainingStarted(s: ForecastStack, segmentWorkflowId: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const history = await s.client.workflow.getHandle(segmentWorkflowId).fetchHistory().catch(() => undefined);
    if (history?.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainChallenger')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${segmentWorkflowId} did not start training`);
}

/** The fixtures are only worth keeping when the runs took the paths they stand for. */
function expectPromotions(report: RunReport, promoted: boolean): void {
  const got = report.segments.map((r) => r.comparison?.promoted);
  if (report.failures.length > 0 || got.length !== 2 || got.some((p) => p !== promoted)) throw new Error(`${report.runKey}: expected promoted ${promoted}, got ${JSON.stringify({ got, failures: report.failures })}`);
}

async function record(backend: (typeof BACKENDS)[number], out: string): Promise<Record<string, RecordedHistory>> {
  const s = await startForecastStack();
  try {
    const config = (retrain: Partial<ForecastPipelineConfig['retrain']> = {}) => testConfig({ backend }, retrain);
    const id = (name: string) => `${backend}-${name}`;
    await s.upload(DATA.first.key, DATA.first.sales);
    await s.run(id('run-1'), config());
    await s.run(id('run-2'), config());
    await s.upload(DATA.calmer.key, DATA.calmer.sales);
    s.advance(2 * HOUR);
    expectPromotions(await s.run(id('run-3'), config()), true);
    await s.upload(DATA.noisier.key, DATA.noisier.sales);
    s.advance(2 * HOUR);
    expectPromotions(await s.run(id('run-4'), config()), false);
    await s.client.workflow.execute('forecastPromote', {
      taskQueue: FORECAST_TASK_QUEUE,
      workflowId: id('promote'),
      args: [{ config: config(), runWorkflowId: id('run-4'), segment: 'slow', operator: 'recorder', reason: 'replay fixtures' }],
    });

    await s.upload('raw/sales/2026-07-02.csv', { items: 6, stores: 2, start: '2026-06-12', days: 21, noise: 2 });
    s.advance(2 * HOUR);
    await s.client.workflow.start('forecastRetraining', { taskQueue: FORECAST_TASK_QUEUE, workflowId: id('run-training'), args: [{ config: config() }] });
    await trainingStarted(s, `${id('run-training')}/popular`);
    await trainingStarted(s, `${id('run-training')}/slow`);
    await s.stopWorker();

    const runs: [string, string][] = [];
    for (const run of ['run-1', 'run-2', 'run-3', 'run-4', 'run-training']) {
      runs.push([id(run), id(run)], [`${id(run)}-popular`, `${id(run)}/popular`], [`${id(run)}-slow`, `${id(run)}/slow`]);
    }
    runs.push([id('promote'), id('promote')]);
    return await writeHistories(s.client, out, runs);
  } finally {
    await s.close();
  }
}

async function main(): Promise<void> {
  const release = process.argv[2] ?? projectVersion();
  const out = join(__dirname, 'fixtures', 'histories', release);
  let manifest: Record<string, RecordedHistory> = {};
  for (const backend of BACKENDS) manifest = { ...manifest, ...(await record(backend, out)) };
  writeManifest(out, manifest);
  process.stdout.write(`${JSON.stringify(manifest, null, 2)}\nwritten to ${out}\n`);
}

runRecording(main);
