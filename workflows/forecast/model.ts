/**
 * Forecast retraining's domain: the configuration a run carries, the names it gives its resources (the same for every
 * attempt of one run, so a retried or restarted run adopts what it created), the retrain decision and the
 * champion/challenger comparison, and the reports a run returns. Pure code: the workflows and the CLI share it.
 */
export const FORECAST_TASK_QUEUE = 'mlops-forecast';

export type Backend = 'forecast' | 'automl';
/** `wQL` is Forecast's AverageWeightedQuantileLoss. */
export type ComparisonMetric = 'RMSE' | 'WAPE' | 'MAPE' | 'MASE' | 'wQL';

export interface ForecastPipelineConfig {
  backend: Backend;
  /** The bucket of the raw data, the datasets the ETL writes, and the exported forecasts. */
  bucket: string;
  /** Raw sales extracts (every CSV under it is read each run). */
  rawPrefix: string;
  /** The ETL writes `<datasetsPrefix><run key>/<segment>/...`. */
  datasetsPrefix: string;
  /** Forecasts are exported to `<exportPrefix><segment>/<run key>/`. */
  exportPrefix: string;
  glue: { jobName: string; scriptLocation: string; roleArn: string; popularThreshold: number };
  /** Dataset groups and predictors are named `<namePrefix>_<segment>...`. */
  namePrefix: string;
  /** The role Forecast or SageMaker assumes to read and write the bucket. */
  roleArn: string;
  frequency: string;
  horizon: number;
  /** Quantiles as Forecast writes them: `0.1`, `0.5`, `0.9`. */
  forecastTypes: string[];
  retrain: {
    /** A champion younger than this is kept whatever the data (seconds; the public solution's default is a week). */
    maxAgeSeconds: number;
    metric: ComparisonMetric;
    /** The challenger must beat the champion by this fraction of the champion's value (0.02 = 2% better). */
    margin: number;
    /** Predictors (and forecasts) kept per segment besides the champion. */
    keepLast: number;
  };
  segments: string[];
}

export const DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600;

export interface Metrics {
  RMSE: number;
  WAPE: number;
  MAPE: number;
  MASE: number;
  wQL: number;
}

export interface ModelRecord {
  /** Predictor ARN (forecast) or AutoML job name (automl). */
  id: string;
  createdAt: string;
  /** The last timestamp of the data it was trained on (yyyy-MM-dd...). */
  dataEnd: string;
  metrics: Metrics;
  runKey?: string;
}

export interface RetrainDecision {
  retrain: boolean;
  reason: string;
}

export interface Comparison {
  promoted: boolean;
  reason: string;
  metric: ComparisonMetric;
  margin: number;
  champion?: Metrics;
  challenger: Metrics;
}

export interface SegmentReport {
  segment: string;
  backend: Backend;
  dataEnd: string;
  decision: RetrainDecision;
  challenger?: ModelRecord;
  comparison?: Comparison;
  /** The champion after this run. */
  champion: ModelRecord;
  forecast: { id: string; exportId?: string; files: string[]; modelId: string };
  cleanup: { deleted: string[] };
}

export interface RunReport {
  runKey: string;
  workflowId: string;
  startedAt: string;
  trigger: RunTrigger;
  etl: { jobRunId: string; executionSeconds: number };
  segments: SegmentReport[];
  failures: { segment: string; message: string }[];
}

export interface RunTrigger {
  kind: 'cli' | 'schedule' | 's3' | 'promote';
  detail?: string;
}

/** FNV-1a of the workflow id, in base 36: short, stable, and legal in every Forecast and SageMaker name. */
export function runKeyOf(workflowId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < workflowId.length; i++) {
    h ^= workflowId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `r${h.toString(36)}`;
}

/** Every name one run of one segment gives its resources. */
export function segmentNames(config: Pick<ForecastPipelineConfig, 'namePrefix'>, segment: string, runKey: string) {
  const base = `${config.namePrefix}_${segment}`.replace(/[^A-Za-z0-9_]/g, '_');
  return {
    datasetGroup: base,
    dataset: (type: 'target' | 'related' | 'metadata') => `${base}_${type}`,
    importJob: (type: 'target' | 'related' | 'metadata') => `${type}_${runKey}`,
    predictor: `${base}_${runKey}`,
    forecast: `${base}_${runKey}`,
    exportJob: `${base}_${runKey}_export`,
    /** SageMaker names: letters, digits and hyphens, at most 32 for AutoML jobs; the run key is never cut. */
    automlJob: runKey ? `${automlBase(base)}-${runKey}` : automlBase(base),
  };
}

/** At most 23 characters (a run key takes up to 9 with its hyphen): a longer base is cut and keeps a hash of the rest. */
function automlBase(base: string): string {
  const b = base.replace(/_/g, '-');
  return b.length <= 23 ? b : `${b.slice(0, 18)}${runKeyOf(b).slice(1, 6).padStart(5, '0')}`;
}

export function datasetsUri(config: ForecastPipelineConfig, runKey: string, segment: string): string {
  return `s3://${config.bucket}/${config.datasetsPrefix}${runKey}/${segment}/`;
}

export function exportUri(config: ForecastPipelineConfig, runKey: string, segment: string): string {
  return `s3://${config.bucket}/${config.exportPrefix}${segment}/${runKey}/`;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.round(h / 24)} days` : `${Math.round(h * 10) / 10} hours`;
}

/**
 * Retrain only when the data is newer than the champion's and the champion is older than the maximum age; the
 * reason is given either way.
 */
export function decideRetrain(champion: ModelRecord | undefined, dataEnd: string, nowMs: number, maxAgeSeconds: number): RetrainDecision {
  if (!champion) return { retrain: true, reason: 'no champion yet: training the first predictor' };
  if (dataEnd <= champion.dataEnd) return { retrain: false, reason: `no newer data: the data ends ${dataEnd}, as the champion's training data (${champion.dataEnd})` };
  const age = nowMs - Date.parse(champion.createdAt);
  if (age < maxAgeSeconds * 1000) {
    return { retrain: false, reason: `the champion is ${hours(age)} old, younger than the maximum age of ${hours(maxAgeSeconds * 1000)} (newer data until ${dataEnd} waits)` };
  }
  return { retrain: true, reason: `newer data (until ${dataEnd}, the champion's until ${champion.dataEnd}) and the champion is ${hours(age)} old, over the maximum age of ${hours(maxAgeSeconds * 1000)}` };
}

/** Lower is better for every metric; the challenger must beat the champion by the margin. */
export function compareModels(champion: Metrics | undefined, challenger: Metrics, metric: ComparisonMetric, margin: number): Comparison {
  const base = { metric, margin, challenger, ...(champion ? { champion } : {}) };
  if (!champion) return { ...base, promoted: true, reason: 'no champion: the first predictor is promoted' };
  const threshold = champion[metric] * (1 - margin);
  const promoted = challenger[metric] < threshold;
  const verdict = promoted ? 'better' : 'not better';
  return {
    ...base,
    promoted,
    reason: `challenger ${metric} ${challenger[metric]} is ${verdict} than the champion's ${champion[metric]} by the margin of ${margin * 100}% (needs < ${Math.round(threshold * 1e6) / 1e6})`,
  };
}
