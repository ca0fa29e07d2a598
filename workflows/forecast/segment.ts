/**
 * One segment of one run (e.g. popular or slow-moving items): imports, the retrain decision, the challenger trained
 * (a retrain of the champion where one exists), the comparison and the promotion or not (recorded on the predictors
 * and in the report, with both sets of metrics), the forecast and export with the champion, and the cleanup.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { ForecastActivities } from '../../activities/forecast/activities';
import { compareModels, decideRetrain, type Comparison, type ForecastPipelineConfig, type ModelRecord, type SegmentReport } from './model';
import { progressQuery, type Progress } from './messages';
import { awsCall, cleanupCall, polling } from './options';

const acts = proxyActivities<ForecastActivities>(awsCall);
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

  const ds = await acts.ensureDatasets(config, segment);
  const imports = await acts.startImports(config, segment, runKey, ds);
  const [{ dataEnd }, champion] = await Promise.all([poll.waitImports(imports), acts.findChampion(config, segment)]);
  const decision = decideRetrain(champion, dataEnd, Date.now(), config.retrain.maxAgeSeconds);

  let current: ModelRecord | undefined = champion;
  let challenger: ModelRecord | undefined;
  let comparison: Comparison | undefined;
  if (decision.retrain) {
    progress = { step: 'training', detail: champion ? `retraining from ${champion.id}` : 'first predictor' };
    const id = await acts.startChallenger(config, segment, runKey, dataEnd, ds.datasetGroupArn, champion?.id);
    challenger = await poll.waitChallenger(id);
    comparison = compareModels(champion?.metrics, challenger.metrics, config.retrain.metric, config.retrain.margin);
    const at = new Date().toISOString();
    if (comparison.promoted) {
      await acts.recordRoles(challenger.id, champion?.id, undefined, at);
      current = challenger;
    } else {
      await acts.recordRoles(undefined, undefined, challenger.id, at);
    }
  }
  if (!current) throw new Error('no champion and no challenger: cannot happen (a first run always trains)');

  progress = { step: 'forecasting', detail: current.id };
  const forecastId = await acts.startForecast(config, segment, runKey, current.id);
  const exported = await poll.waitForecast(config, segment, runKey, forecastId);
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
