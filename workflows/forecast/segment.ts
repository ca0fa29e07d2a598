/**
 * One segment of one run (e.g. popular or slow-moving items): imports, the retrain decision, the challenger trained
 * (a retrain of the champion where one exists), the comparison and the promotion or not (recorded on the predictors
 * and in the report, with both sets of metrics), the forecast and export with the champion, and the cleanup.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { ForecastActivities } from '../../activities/forecast/activities';
import type { RoleChange } from '../../activities/forecast/segment-steps';
import { compareModels, decideRetrain, type Comparison, type ForecastPipelineConfig, type ModelRecord, type SegmentReport } from './model';
import { progressQuery, type Progress } from './messages';
import { cleanupCall, polling } from './options';

const poll = proxyActivities<ForecastActivities>(polling);
const { cleanupSegment } = proxyActivities<ForecastActivities>(cleanupCall);

export interface SegmentInput {
  config: ForecastPipelineConfig;
  segment: string;
  runKey: string;
}

export async function forecastSegment(input: SegmentInput): Promise<SegmentReport> {
  const { config, segment, runKey } = input;
  let progress: Progress = { step: 'importing' };
  setHandler(progressQuery, () => progress);

  // Each step is one activity that creates or adopts and waits, polled by its retries (see segment-steps.ts): the
  // history of a segment is the same few events whether the training takes six hours or sixty.
  const { ds, dataEnd, champion } = await poll.prepareSegment(config, segment, runKey);
  const decision = decideRetrain(champion, dataEnd, Date.now(), config.retrain.maxAgeSeconds);

  let current: ModelRecord | undefined = champion;
  let challenger: ModelRecord | undefined;
  let comparison: Comparison | undefined;
  let roles: RoleChange | undefined;
  if (decision.retrain) {
    progress = { step: 'training', detail: champion ? `retraining from ${champion.id}` : 'first predictor' };
    challenger = await poll.trainChallenger(config, segment, runKey, dataEnd, ds.datasetGroupArn, champion?.id);
    comparison = compareModels(champion?.metrics, challenger.metrics, config.retrain.metric, config.retrain.margin);
    const at = new Date().toISOString();
    if (comparison.promoted) {
      roles = { promotedId: challenger.id, ...(champion ? { formerChampionId: champion.id } : {}), at };
      current = challenger;
    } else {
      roles = { rejectedId: challenger.id, at };
    }
  }
  if (!current) throw new Error('no champion and no challenger: cannot happen (a first run always trains)');

  progress = { step: 'forecasting', detail: current.id };
  const { forecastId, ...exported } = await poll.forecastWith(config, segment, runKey, current.id, roles);
  progress = { step: 'cleaning up' };
  const cleanup = await cleanupSegment(config, segment, current.id, ds);
  progress = { step: 'done' };
  return {
    segment,
    backend: config.backend,
    dataEnd,
    decision,
    ...(challenger ? { challenger } : {}),
    ...(comparison ? { comparison } : {}),
    champion: current,
    forecast: { id: forecastId, exportId: exported.exportId, files: exported.files, modelId: current.id },
    cleanup,
  };
}
