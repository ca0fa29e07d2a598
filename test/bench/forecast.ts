/**
 * `npm run bench -- forecast [--items=N] [--stores=N] [--days=N]`: forecast retraining end to end on the embedded
 * Temporal server (time skipping) and the AWS emulator with the example data (12 items in 3 stores, 120 days by
 * default). Prints the wall time of a full run, the virtual time of a retrain against a first training, and the
 * history events per run with a six-hour (and a sixty-hour) training: the target is at most 100 (the run's workflow plus
 * its segment workflows) whatever the training time, since every step is one activity polled by its retries.
 */
import { DescribeAutoPredictorCommand } from '@aws-sdk/client-forecast';
import { startForecastStack, testConfig, type ForecastStack } from '../forecast/harness';
import type { RunReport } from '../../workflows/forecast/model';

export function flag(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`${name}=`));
  const v = arg ? Number(arg.slice(name.length + 1)) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

async function trainingMinutes(s: ForecastStack, predictorArn: string): Promise<number> {
  const d = await s.forecast.send(new DescribeAutoPredictorCommand({ PredictorArn: predictorArn }));
  return ((d.LastModificationTime?.getTime() ?? 0) - (d.CreationTime?.getTime() ?? 0)) / 60_000;
}

/** History events of the run's parent workflow and of each of its segment children. */
export async function historyEvents(s: ForecastStack, r: RunReport): Promise<{ parent: number; children: number[] }> {
  const count = async (id: string) => ((await s.client.workflow.getHandle(id).fetchHistory()).events ?? []).length;
  const children = await Promise.all(r.segments.map((x) => count(`${r.workflowId}/${x.segment}`)));
  return { parent: await count(r.workflowId), children };
}

async function setTraining(s: ForecastStack, hours: number | undefined): Promise<void> {
  if (hours === undefined) {
    await fetch(`${s.endpoint}/_emulator/scenarios`, { method: 'DELETE' });
    return;
  }
  await fetch(`${s.endpoint}/_emulator/scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'forecast', kind: 'predictor', resource: '*', durationsMs: { CREATE_IN_PROGRESS: hours * 3_600_000 } }),
  });
}

export default async function bench(args: string[]): Promise<void> {
  const items = flag(args, '--items', 12);
  const stores = flag(args, '--stores', 3);
  const days = flag(args, '--days', 120);
  const s = await startForecastStack();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const config = testConfig();
    let start = Date.parse('2026-01-01T00:00:00Z');
    const upload = async (n: number, noise: number) => {
      const from = new Date(start).toISOString().slice(0, 10);
      await s.upload(`raw/sales/${from}.csv`, { items, stores, start: from, days: n, noise });
      start += n * 86_400_000;
    };
    await upload(days, 2);
    let t = Date.now();
    const first = await s.run('bench-forecast-1', config);
    const wallFirst = Date.now() - t;
    out(`example data: ${items} items x ${stores} stores x ${days} days (${items * stores} series)`);
    out(`wall time of a full first run (ETL, 3 imports, training, forecast, export, 2 segments): ${(wallFirst / 1000).toFixed(1)} s`);

    await upload(14, 1);
    s.advance(2 * 3_600_000);
    t = Date.now();
    const second = await s.run('bench-forecast-2', config);
    const wallSecond = Date.now() - t;
    for (const seg of second.segments) {
      const firstId = first.segments.find((x) => x.segment === seg.segment)?.challenger?.id;
      if (!firstId || !seg.challenger) continue;
      const a = await trainingMinutes(s, firstId);
      const b = await trainingMinutes(s, seg.challenger.id);
      out(`virtual training time, ${seg.segment}: first ${a.toFixed(1)} min, retrain ${b.toFixed(1)} min (ratio ${(b / a).toFixed(2)})`);
    }
    out(`wall time of a retraining run: ${(wallSecond / 1000).toFixed(1)} s`);

    for (const [i, hours] of [6, 60].entries()) {
      await setTraining(s, hours);
      await upload(7, 1);
      s.advance(2 * 3_600_000);
      const r = await s.run(`bench-forecast-${3 + i}`, config);
      const e = await historyEvents(s, r);
      const total = e.parent + e.children.reduce((a, b) => a + b, 0);
      const retrained = r.segments.filter((x) => x.challenger).length;
      out(
        `history events per run: ${total} (${hours}-hour training; counted: the run's workflow ${e.parent} + its ${r.segments.length} segment workflows ${e.children.join(' + ')}, ${retrained} of them retraining; target <= 100)`,
      );
    }
    await setTraining(s, undefined);
  } finally {
    await s.close();
  }
}
