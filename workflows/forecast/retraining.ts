/**
 * One retraining run: the Glue ETL once for every segment, then one child workflow per segment (in parallel). Its
 * run key comes from the workflow id, so every resource it names is the same on a retry or after a crash.
 */
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ForecastActivities } from '../../activities/forecast/activities';
import { runKeyOf, type ForecastPipelineConfig, type RunReport, type RunTrigger, type SegmentReport } from './model';
import { progressQuery, type Progress } from './messages';
import { polling } from './options';
import { forecastSegment } from './segment';

const poll = proxyActivities<ForecastActivities>(polling);

export interface RetrainingInput {
  config: ForecastPipelineConfig;
  /** Only these segments (default: every segment of the configuration). */
  segments?: string[];
  trigger?: RunTrigger;
}

function rootMessage(err: unknown): string {
  let e: unknown = err;
  while ((e instanceof ChildWorkflowFailure || e instanceof ActivityFailure) && e.cause) e = e.cause;
  return e instanceof ApplicationFailure && e.type ? `${e.type}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

export async function forecastRetraining(input: RetrainingInput): Promise<RunReport> {
  const { config } = input;
  const info = workflowInfo();
  const runKey = runKeyOf(info.workflowId);
  let progress: Progress = { step: 'etl' };
  setHandler(progressQuery, () => progress);

  // One activity for the ETL step (job, run, wait): three history events however long the run takes.
  const etl = await poll.runEtl(config, runKey, info.runId);

  const segments = input.segments ?? config.segments;
  progress = { step: 'segments', detail: segments.join(', ') };
  const settled = await Promise.allSettled(
    segments.map((segment) => executeChild(forecastSegment, { workflowId: `${info.workflowId}/${segment}`, args: [{ config, segment, runKey }] })),
  );
  const reports: SegmentReport[] = [];
  const failures: RunReport['failures'] = [];
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') reports.push(r.value);
    else failures.push({ segment: segments[i] as string, message: rootMessage(r.reason) });
  });
  progress = { step: 'done' };
  return {
    runKey,
    workflowId: info.workflowId,
    startedAt: new Date(info.startTime).toISOString(),
    trigger: input.trigger ?? { kind: 'cli' },
    etl,
    segments: reports,
    failures,
  };
}
