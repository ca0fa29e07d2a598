/**
 * `npm run bench -- forecast-automl [--items=N] [--stores=N] [--days=N]`: forecast retraining on the SageMaker AutoML
 * V2 backend, end to end on the embedded Temporal server (time skipping) and the AWS emulator with the example data.
 * Prints the wall time of a full run, the virtual time of a challenger job against the first one (AutoML has no
 * retrain: a challenger trains on the whole, longer, history), and the history events per run with a six-hour
 * training (target at most 100 per workflow, as on the Forecast backend).
 */
import { DescribeAutoMLJobV2Command } from '@aws-sdk/client-sagemaker';
import { startForecastStack, testConfig, type ForecastStack } from '../forecast/harness';
import { flag, historyEvents } from './forecast';

async function trainingMinutes(s: ForecastStack, jobArn: string): Promise<number> {
  const d = await s.sagemaker.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: jobArn.split('/').pop() }));
  return ((d.EndTime?.getTime() ?? 0) - (d.CreationTime?.getTime() ?? 0)) / 60_000;
}

export default async function bench(args: string[]): Promise<void> {
  const items = flag(args, '--items', 12);
  const stores = flag(args, '--stores', 3);
  const days = flag(args, '--days', 120);
  const s = await startForecastStack();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const config = testConfig({ backend: 'automl' });
    let start = Date.parse('2026-01-01T00:00:00Z');
    const upload = async (n: number, noise: number) => {
      const from = new Date(start).toISOString().slice(0, 10);
      await s.upload(`raw/sales/${from}.csv`, { items, stores, start: from, days: n, noise });
      start += n * 86_400_000;
    };
    await upload(days, 2);
    let t = Date.now();
    const first = await s.run('bench-automl-1', config);
    out(`example data: ${items} items x ${stores} stores x ${days} days (${items * stores} series), backend automl`);
    out(`wall time of a full first run (ETL, AutoML job, model, batch transform, 2 segments): ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await upload(14, 1);
    s.advance(2 * 3_600_000);
    t = Date.now();
    const second = await s.run('bench-automl-2', config);
    const wallSecond = Date.now() - t;
    for (const seg of second.segments) {
      const firstId = first.segments.find((x) => x.segment === seg.segment)?.challenger?.id;
      if (!firstId || !seg.challenger) continue;
      const a = await trainingMinutes(s, firstId);
      const b = await trainingMinutes(s, seg.challenger.id);
      out(`virtual training time, ${seg.segment}: first job ${a.toFixed(1)} min, challenger job ${b.toFixed(1)} min (ratio ${(b / a).toFixed(2)}; no retrain in AutoML)`);
    }
    out(`wall time of a retraining run: ${(wallSecond / 1000).toFixed(1)} s`);

    await fetch(`${s.endpoint}/_emulator/scenarios`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'sagemaker', kind: 'automl-job', resource: '*', durationsMs: { TrainingModels: 6 * 3_600_000 } }),
    });
    await upload(7, 1);
    s.advance(2 * 3_600_000);
    const r = await s.run('bench-automl-3', config);
    const e = await historyEvents(s, r);
    const total = e.parent + e.children.reduce((a, b) => a + b, 0);
    out(`history events per run with a 6-hour training: ${total} (the run ${e.parent} + its ${e.children.length} segment workflows ${e.children.join(' + ')}; target <= 100)`);
    await fetch(`${s.endpoint}/_emulator/scenarios`, { method: 'DELETE' });
  } finally {
    await s.close();
  }
}
