/**
 * An operator's override of a comparison: the challenger a run trained for a segment becomes the champion (the
 * former one retired), and a forecast is made and exported with it. The workflow's history and result are the audit
 * record: who, when, why, from which predictor to which.
 */
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ForecastActivities } from '../../activities/forecast/activities';
import { ForecastFailure } from './failures';
import { runKeyOf, type ForecastPipelineConfig, type Metrics } from './model';
import { awsCall, polling } from './options';

const acts = proxyActivities<ForecastActivities>(awsCall);
const poll = proxyActivities<ForecastActivities>(polling);

export interface PromoteInput {
  config: ForecastPipelineConfig;
  /** The workflow id of the run whose challenger is promoted. */
  runWorkflowId: string;
  segment: string;
  operator: string;
  reason: string;
}

export interface PromotionRecord {
  runWorkflowId: string;
  segment: string;
  operator: string;
  reason: string;
  at: string;
  from?: { id: string; metrics: Metrics };
  to: { id: string; metrics: Metrics };
  forecast: { id: string; exportId: string; files: string[] };
}

export async function forecastPromote(input: PromoteInput): Promise<PromotionRecord> {
  const { config, segment } = input;
  const report = await acts.runReportOf(input.runWorkflowId);
  const seg = report.segments.find((s) => s.segment === segment);
  if (!seg) throw ApplicationFailure.create({ type: ForecastFailure.NotFound, message: `run ${input.runWorkflowId} has no report for segment ${segment}` });
  if (!seg.challenger) {
    throw ApplicationFailure.create({ type: ForecastFailure.NotFound, message: `run ${input.runWorkflowId} trained no challenger for ${segment} (${seg.decision.reason})` });
  }
  const champion = await acts.findChampion(config, segment);
  if (champion?.id === seg.challenger.id) {
    throw ApplicationFailure.create({ type: ForecastFailure.InvalidRequest, message: `${seg.challenger.id} is already the champion of ${segment}` });
  }
  const at = new Date().toISOString();
  const runKey = runKeyOf(workflowInfo().workflowId);
  const { forecastId, ...out } = await poll.forecastWith(config, segment, runKey, seg.challenger.id, {
    promotedId: seg.challenger.id,
    ...(champion ? { formerChampionId: champion.id } : {}),
    at,
  });
  return {
    runWorkflowId: input.runWorkflowId,
    segment,
    operator: input.operator,
    reason: input.reason,
    at,
    ...(champion ? { from: { id: champion.id, metrics: champion.metrics } } : {}),
    to: { id: seg.challenger.id, metrics: seg.challenger.metrics },
    forecast: { id: forecastId, ...out },
  };
}
