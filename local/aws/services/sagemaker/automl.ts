/**
 * SageMaker AutoML V2, time-series forecasting only: CreateAutoMLJobV2 (TimeSeriesForecastingJobConfig) reads its
 * table from the emulated S3, CSV with a header (`text/csv;header=present`, the default) or Parquet
 * (`x-application/vnd.amazon+parquet`), and trains the same real model as the emulated Amazon Forecast
 * (../forecast/model.ts: ARIMA and SARIMA candidates backtested on the last ForecastHorizon steps, metrics from that
 * backtest), DescribeAutoMLJobV2 (AutoMLJobStatus / AutoMLJobSecondaryStatus on the emulator's clock, BestCandidate
 * with its metrics and InferenceContainers), ListAutoMLJobs, ListCandidatesForAutoMLJob, StopAutoMLJob; then the
 * documented path to forecasts: CreateModel from the best candidate's containers, CreateTransformJob /
 * DescribeTransformJob (batch transform of a CSV input; Parquet input to it is not emulated) writing
 * `<input file>.out` with `item, timestamp, p10, p50, ...` to S3; AddTags / ListTags / DeleteTags on these resources.
 * Training time grows with the rows read. The model artifact at ModelDataUrl is JSON naming the chosen algorithm (the
 * transform reads it back, so it must still be there). Output layout and default objective
 * (AverageWeightedQuantileLoss) are this emulator's reading of the documentation, not confirmed on an account.
 */
import { z } from 'zod';
import { operation, type EmulatorScope, type OperationContext, type OperationDefinition } from '../../service';
import type { JobView, LifecycleDefinition, TransitionContext } from '../../jobs';
import { paginate } from '../efs/pages';
import { getObject, listObjects, parseS3Uri, putObject, s3StateOf } from '../s3/objects';
import type { Bucket } from '../s3/state';
import { isParquet, parquetValue, readParquetTable } from '../../../../common/parquet';
import { targetSeries, timestampMs } from '../forecast/data';
import type { Attribute } from '../forecast/state';
import { backtest, fitAndForecast, metricValue, seasonOf, stepMs, type AccuracyMetrics, type Algorithm, type OptimizationMetric } from '../forecast/model';

export const AUTOML_JOB_KIND = 'automl-job';
export const TRANSFORM_JOB_KIND = 'transform-job';
/** Concurrent AutoML jobs per account (this emulator's quota; more answer ResourceLimitExceeded). */
export const MAX_RUNNING_AUTOML_JOBS = 4;
export const DEFAULT_QUANTILES = ['p10', 'p50', 'p90'];
export const DEFAULT_OBJECTIVE: OptimizationMetric = 'AverageWeightedQuantileLoss';
const IMAGE = (region: string) => `763104351884.dkr.ecr.${region}.amazonaws.com/sagemaker-forecasting-emulated:latest`;

interface Candidate {
  name: string;
  algorithm: Algorithm;
  metrics: AccuracyMetrics;
  modelDataUrl: string;
}

export interface AutoMLJob {
  name: string;
  arn: string;
  createdAtMs: number;
  input: unknown[];
  outputPath: string;
  roleArn: string;
  objective: OptimizationMetric;
  problemConfig: Record<string, unknown>;
  columns: { target: string; timestamp: string; item: string };
  quantiles: string[];
  problem?: string;
  candidates: Candidate[];
  best?: number;
  /** The secondary status of a completed job (Completed, MaxCandidatesReached, MaxAutoMLJobRuntimeReached). */
  completedAs: string;
}

export interface Model {
  name: string;
  arn: string;
  createdAtMs: number;
  containers: { Image?: string; ModelDataUrl?: string; Environment?: Record<string, string> }[];
  roleArn?: string;
}

export interface TransformJob {
  name: string;
  arn: string;
  createdAtMs: number;
  modelName: string;
  input: { S3DataType: string; S3Uri: string; ContentType?: string; SplitType?: string };
  outputPath: string;
  resources: { InstanceType: string; InstanceCount: number };
  /** Computed at creation, written when the job completes. */
  outputs: { key: string; body: Buffer }[];
  bucket: string;
  problem?: string;
}

export interface AutoMLState {
  jobs: Map<string, AutoMLJob>;
  models: Map<string, Model>;
  transforms: Map<string, TransformJob>;
  tags: Map<string, { Key: string; Value?: string }[]>;
  buckets: Map<string, Bucket>;
}

export function createAutoMLState(scope: EmulatorScope): AutoMLState {
  return { jobs: new Map(), models: new Map(), transforms: new Map(), tags: new Map(), buckets: s3StateOf(scope).buckets };
}

interface HasAutoML {
  automl: AutoMLState;
}
type Ctx = OperationContext<HasAutoML>;

/** The secondary statuses a training walks through (the engine's statuses); the primary status is derived. */
export const automlLifecycle: LifecycleDefinition = {
  kind: AUTOML_JOB_KIND,
  phases: [{ status: 'Starting', durationMs: 60_000 }],
  succeeded: 'Completed',
  failed: 'Failed',
  stopping: { status: 'Stopping', durationMs: 60_000 },
  stopped: 'Stopped',
};

function trainingLifecycle(analyzingMs: number, trainingMs: number, fails: boolean): LifecycleDefinition {
  const phases = [
    { status: 'Starting', durationMs: 60_000 },
    { status: 'AnalyzingData', durationMs: analyzingMs },
    ...(fails ? [] : [{ status: 'FeatureEngineering', durationMs: 5 * 60_000 }, { status: 'TrainingModels', durationMs: trainingMs }]),
  ];
  return { ...automlLifecycle, phases };
}

/** A transform that completes writes its outputs to S3. */
export const transformLifecycle: LifecycleDefinition = {
  kind: TRANSFORM_JOB_KIND,
  phases: [{ status: 'InProgress', durationMs: 5 * 60_000 }],
  succeeded: 'Completed',
  failed: 'Failed',
  stopping: { status: 'Stopping', durationMs: 30_000 },
  stopped: 'Stopped',
  onTransition(job: JobView, ctx: TransitionContext) {
    if (job.status !== 'Completed') return;
    const s = (ctx.state as HasAutoML).automl;
    const t = s.transforms.get(job.id.split('/').pop() ?? '');
    if (!t || t.arn !== job.id) return;
    for (const o of t.outputs) putObject({ buckets: s.buckets }, { bucket: t.bucket, key: o.key }, o.body, new Date(job.statusSinceMs));
  },
};

const jobName = z.string().min(1).max(32).regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$/, { message: 'Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}' });
const modelName = z.string().max(63).regex(/^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, { message: 'Member must satisfy regular expression pattern: [a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?' });
const transformName = z.string().min(1).max(63).regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, { message: 'Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}' });
const s3Uri = z.string().max(1024).regex(/^(https|s3):\/\/([^/]+)\/?(.*)$/, { message: 'Member must satisfy regular expression pattern: (https|s3)://([^/]+)/?(.*)' });
const roleArn = z.string().min(20).max(2048);
const tagList = z.array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256).optional() })).max(50).optional();
const FREQUENCY = /^(1Y|Y|([1-9]|1[0-1])M|M|[1-4]W|W|[1-6]D|D|([1-9]|1[0-9]|2[0-3])H|H|([1-9]|[1-5][0-9])min)$/;
const METRICS = ['RMSE', 'MAPE', 'MASE', 'WAPE', 'AverageWeightedQuantileLoss'] as const;

const timeSeriesConfig = z.looseObject({
  ForecastFrequency: z.string().min(1).max(5).regex(FREQUENCY, { message: `Member must satisfy regular expression pattern: ${FREQUENCY.source}` }),
  ForecastHorizon: z.number().int().min(1),
  ForecastQuantiles: z.array(z.string().min(2).max(4).regex(/^p[1-9]\d?$/, { message: 'Member must satisfy regular expression pattern: (^p[1-9]\\d?$)' })).min(1).max(5).optional(),
  TimeSeriesConfig: z.looseObject({
    TargetAttributeName: z.string().min(1),
    TimestampAttributeName: z.string().min(1).max(256),
    ItemIdentifierAttributeName: z.string().min(1).max(256),
    GroupingAttributeNames: z.array(z.string()).max(5).optional(),
  }),
  CompletionCriteria: z
    .looseObject({
      MaxCandidates: z.number().int().min(1).max(750).optional(),
      MaxRuntimePerTrainingJobInSeconds: z.number().int().min(1).optional(),
      MaxAutoMLJobRuntimeInSeconds: z.number().int().min(1).optional(),
    })
    .optional(),
});

const channel = z.looseObject({
  ChannelType: z.enum(['training', 'validation']).optional(),
  ContentType: z.string().optional(),
  CompressionType: z.enum(['None', 'Gzip']).optional(),
  DataSource: z.object({ S3DataSource: z.object({ S3DataType: z.enum(['ManifestFile', 'S3Prefix', 'AugmentedManifestFile']), S3Uri: s3Uri }) }).optional(),
});

function status(ctx: Ctx, job: AutoMLJob): { primary: string; secondary: string; endMs?: number; lastMs: number; failure?: string } {
  const v = ctx.jobs.get(AUTOML_JOB_KIND, job.arn);
  if (!v) return { primary: 'Failed', secondary: 'Failed', lastMs: job.createdAtMs, failure: 'lost' };
  const primary = v.ended ? v.status : v.status === 'Stopping' ? 'Stopping' : 'InProgress';
  const secondary = v.status === 'Completed' ? job.completedAs : v.status;
  const failure = v.status === 'Failed' ? (job.problem ?? v.failureReason) : undefined;
  return { primary, secondary, lastMs: v.statusSinceMs, ...(v.endedAtMs !== undefined ? { endMs: v.endedAtMs } : {}), ...(failure ? { failure } : {}) };
}

function findJob(ctx: Ctx, name: string): AutoMLJob {
  const j = ctx.state.automl.jobs.get(name.toLowerCase());
  if (!j) throw ctx.error('ResourceNotFound', `Could not find AutoML job with name ${name}.`);
  return j;
}

function candidateView(ctx: Ctx, job: AutoMLJob, c: Candidate, s: ReturnType<typeof status>) {
  const metric = (m: OptimizationMetric) => ({ MetricName: m, StandardMetricName: m, Value: metricValue(c.metrics, m), Set: 'Validation' });
  return {
    CandidateName: c.name,
    FinalAutoMLJobObjectiveMetric: { Type: 'Minimize', MetricName: job.objective, Value: metricValue(c.metrics, job.objective), StandardMetricName: job.objective },
    ObjectiveStatus: 'Succeeded',
    CandidateSteps: [{ CandidateStepType: 'AWS::SageMaker::TrainingJob', CandidateStepArn: ctx.arn(`training-job/${c.name.toLowerCase()}`), CandidateStepName: c.name }],
    CandidateStatus: 'Completed',
    InferenceContainers: [{ Image: IMAGE(ctx.region), ModelDataUrl: c.modelDataUrl, Environment: { AUTOML_ALGORITHM: c.algorithm, FORECAST_QUANTILES: job.quantiles.join(',') } }],
    CreationTime: new Date(job.createdAtMs),
    EndTime: new Date(s.endMs ?? s.lastMs),
    LastModifiedTime: new Date(s.lastMs),
    CandidateProperties: {
      CandidateArtifactLocations: { Explainability: `${job.outputPath}${job.name}/explainability/`, BacktestResults: `${job.outputPath}${job.name}/backtest/${c.name}/` },
      CandidateMetrics: METRICS.map(metric),
    },
  };
}

function tagsOf(ctx: Ctx, arn: string) {
  const s = ctx.state.automl;
  const known = [...s.jobs.values(), ...s.models.values(), ...s.transforms.values()].some((r) => r.arn === arn);
  if (!known) throw ctx.error('ValidationException', `Resource ${arn} does not exist or is not taggable by this emulator (AutoML jobs, models and transform jobs).`);
  return s.tags.get(arn) ?? [];
}

/** The content types of an AutoML time-series channel (the default is CSV with a header row). */
export const CSV_CONTENT_TYPE = 'text/csv;header=present';
export const PARQUET_CONTENT_TYPE = 'x-application/vnd.amazon+parquet';

interface Table {
  header: string[];
  rows: string[][];
  files: string[];
}

/** A Parquet timestamp as the CSV table would carry it: a date at midnight, else date and time (UTC). */
const parquetCell = (v: unknown): string => (v instanceof Date ? (v.getTime() % 86_400_000 === 0 ? v.toISOString().slice(0, 10) : v.toISOString().slice(0, 19).replace('T', ' ')) : (parquetValue(v) ?? ''));

/** The objects of an S3 input (one object or every object under a prefix), read now: the bytes do not change under a later await. */
function inputObjects(ctx: Ctx, uri: string): { bucket: string; objects: { key: string; body: Buffer }[] } | string {
  const loc = parseS3Uri(uri);
  if (!loc) return `${uri} is not an S3 URI`;
  const s3 = { buckets: ctx.state.automl.buckets };
  const exact = getObject(s3, loc);
  const objects = exact ? [exact] : listObjects(s3, loc).filter((o) => !o.key.endsWith('/'));
  if (objects.length === 0) return `No data found at ${uri}`;
  return { bucket: loc.bucket, objects: objects.map((o) => ({ key: o.key, body: o.body })) };
}

/** Files' columns and rows as one table: every file must have the first file's columns. */
function tableOf(parts: { key: string; name: string; header: string[]; rows: string[][] }[]): Table | string {
  const header = parts[0]?.header ?? [];
  const odd = parts.find((p) => p.header.join(',') !== header.join(','));
  if (odd) return `The columns of ${odd.name} differ from the first file's`;
  return { header, rows: parts.flatMap((p) => p.rows), files: parts.map((p) => p.key) };
}

/** CSV files with a header row as one table. */
function csvTable(input: ReturnType<typeof inputObjects>): Table | string {
  if (typeof input === 'string') return input;
  return tableOf(
    input.objects.map((o) => {
      const lines = o.body.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
      const header = (lines.shift() ?? '').split(',').map((c) => c.trim());
      return { key: o.key, name: `s3://${input.bucket}/${o.key}`, header, rows: lines.map((l) => l.split(',').map((c) => c.trim())) };
    }),
  );
}

/** The rows of a channel's input as one table: CSV with a header row, or Parquet (its column names as the header). */
async function readTable(input: ReturnType<typeof inputObjects>, contentType: string): Promise<Table | string> {
  if (typeof input === 'string' || contentType !== PARQUET_CONTENT_TYPE) return csvTable(input);
  const parts = [];
  for (const o of input.objects) {
    const name = `s3://${input.bucket}/${o.key}`;
    if (!isParquet(o.body)) return `${name} is not a Parquet file (ContentType ${PARQUET_CONTENT_TYPE})`;
    const table = await readParquetTable(o.body).catch((err: Error) => `${name} cannot be read as Parquet: ${err.message}`);
    if (typeof table === 'string') return table;
    parts.push({ key: o.key, name, header: table.columns, rows: table.rows.map((r) => r.map(parquetCell)) });
  }
  return tableOf(parts);
}

/** The target series of a table as the Forecast model reads them (one axis, gaps as 0). */
function seriesOf(table: { header: string[]; rows: string[][] }, columns: AutoMLJob['columns'], frequency: string) {
  const iItem = table.header.indexOf(columns.item);
  const iTime = table.header.indexOf(columns.timestamp);
  const iTarget = table.header.indexOf(columns.target);
  const missing = [columns.item, columns.timestamp, columns.target].filter((_, k) => [iItem, iTime, iTarget][k] === -1);
  if (missing.length > 0) return `The input data has no column ${missing.join(', ')} (columns: ${table.header.join(', ')})`;
  const bad = table.rows.find((r) => Number.isNaN(timestampMs(r[iTime] ?? '')));
  if (bad) return `The timestamp "${bad[iTime] ?? ''}" of item ${bad[iItem] ?? ''} is not a timestamp`;
  const attributes: Attribute[] = [
    { AttributeName: 'item_id', AttributeType: 'string' },
    { AttributeName: 'timestamp', AttributeType: 'timestamp' },
    { AttributeName: 'target', AttributeType: 'float' },
  ];
  const data = Buffer.from(table.rows.map((r) => `${r[iItem] ?? ''},${r[iTime] ?? ''},${r[iTarget] ?? ''}`).join('\n'));
  return { ...targetSeries(data, attributes, 'target', stepMs(frequency)), dateOnly: /^\d{4}-\d{2}-\d{2}$/.test(table.rows[0]?.[iTime] ?? '') };
}

const quantileOf = (p: string) => Number(p.slice(1)) / 100;

export const automlOperations: Record<string, OperationDefinition<HasAutoML>> = {
  CreateAutoMLJobV2: operation({
    input: z.looseObject({
      AutoMLJobName: jobName,
      AutoMLJobInputDataConfig: z.array(channel).min(1).max(2),
      OutputDataConfig: z.looseObject({ S3OutputPath: s3Uri, KmsKeyId: z.string().optional() }),
      AutoMLProblemTypeConfig: z.looseObject({ TimeSeriesForecastingJobConfig: timeSeriesConfig.optional() }),
      RoleArn: roleArn,
      Tags: tagList,
      AutoMLJobObjective: z.object({ MetricName: z.string() }).optional(),
    }),
    async handler(input, ctx: Ctx) {
      const s = ctx.state.automl;
      const key = input.AutoMLJobName.toLowerCase();
      const arn = ctx.arn(`automl-job/${key}`);
      if (s.jobs.has(key)) throw ctx.error('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn}).`);
      const ts = input.AutoMLProblemTypeConfig.TimeSeriesForecastingJobConfig;
      if (!ts) throw ctx.error('ValidationException', 'This emulator supports the TimeSeriesForecastingJobConfig problem type only.');
      const objective = (input.AutoMLJobObjective?.MetricName ?? DEFAULT_OBJECTIVE) as OptimizationMetric;
      if (!(METRICS as readonly string[]).includes(objective)) throw ctx.error('ValidationException', `The objective metric ${objective} is not supported for time-series forecasting (${METRICS.join(', ')}).`);
      const training = input.AutoMLJobInputDataConfig.find((c) => (c.ChannelType ?? 'training') === 'training');
      const source = training?.DataSource?.S3DataSource;
      if (!source) throw ctx.error('ValidationException', 'AutoMLJobInputDataConfig needs a training channel with DataSource.S3DataSource.');
      if (source.S3DataType !== 'S3Prefix') throw ctx.error('ValidationException', `S3DataType ${source.S3DataType} is not supported for time-series forecasting: use S3Prefix.`);
      const contentTypes = new Set(input.AutoMLJobInputDataConfig.map((c) => c.ContentType ?? CSV_CONTENT_TYPE));
      const contentType = training?.ContentType ?? CSV_CONTENT_TYPE;
      if (contentType !== CSV_CONTENT_TYPE && contentType !== PARQUET_CONTENT_TYPE) {
        throw ctx.error('ValidationException', `ContentType ${contentType} is not supported for time-series forecasting: use ${CSV_CONTENT_TYPE} or ${PARQUET_CONTENT_TYPE}.`);
      }
      if (contentTypes.size > 1) throw ctx.error('ValidationException', 'Channels for training and validation must share the same ContentType.');
      const limit = () => {
        const running = [...s.jobs.values()].filter((j) => !ctx.jobs.get(AUTOML_JOB_KIND, j.arn)?.ended).length;
        if (running >= MAX_RUNNING_AUTOML_JOBS) throw ctx.error('ResourceLimitExceeded', `The account-level service limit 'Number of concurrent AutoML jobs' is ${MAX_RUNNING_AUTOML_JOBS} Jobs.`);
      };
      limit();

      const tsc = ts.TimeSeriesConfig;
      const columns = { target: tsc.TargetAttributeName, timestamp: tsc.TimestampAttributeName, item: tsc.ItemIdentifierAttributeName };
      const quantiles = ts.ForecastQuantiles ?? DEFAULT_QUANTILES;
      const outputPath = input.OutputDataConfig.S3OutputPath.replace(/\/?$/, '/');
      const job: AutoMLJob = { name: input.AutoMLJobName, arn, createdAtMs: ctx.nowMs(), input: input.AutoMLJobInputDataConfig, outputPath, roleArn: input.RoleArn, objective, problemConfig: ts, columns, quantiles, candidates: [], completedAs: 'Completed' };

      // The model is fitted now (the emulator's clock then shows the time it takes): a bad table fails the job after AnalyzingData.
      // Parquet is decoded asynchronously: the name and the limit are checked again before anything is written.
      const table = await readTable(inputObjects(ctx, source.S3Uri), contentType);
      if (s.jobs.has(key)) throw ctx.error('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn}).`);
      limit();
      const series = typeof table === 'string' ? table : seriesOf(table, columns, ts.ForecastFrequency);
      const rows = typeof table === 'string' ? 0 : table.rows.length;
      if (typeof series === 'string') job.problem = series;
      else if (ts.ForecastHorizon > Math.floor(series.axis.length / 4)) {
        job.problem = `ForecastHorizon ${ts.ForecastHorizon} is more than a quarter of the time steps of the input data (${series.axis.length}).`;
      } else {
        const bt = backtest(series.items.map((i) => i.values), ts.ForecastHorizon, quantiles.map(quantileOf), objective, seasonOf(ts.ForecastFrequency));
        const max = ts.CompletionCriteria?.MaxCandidates;
        const candidates = max !== undefined && max < bt.candidates.length ? bt.candidates.slice(0, max) : bt.candidates;
        if (candidates.length < bt.candidates.length) job.completedAs = 'MaxCandidatesReached';
        job.candidates = candidates.map((c) => {
          const name = `${job.name}-${c.algorithm}`.slice(0, 64);
          const modelDataUrl = `${outputPath}${job.name}/sagemaker-automl-candidates/${name}/model.tar.gz`;
          return { name, algorithm: c.algorithm, metrics: c.metrics, modelDataUrl };
        });
        job.best = job.candidates.reduce((b, c, i) => (metricValue(c.metrics, objective) < metricValue((job.candidates[b] as Candidate).metrics, objective) ? i : b), 0);
        const loc = parseS3Uri(outputPath);
        for (const c of job.candidates) {
          const artifact = { algorithm: c.algorithm, frequency: ts.ForecastFrequency, horizon: ts.ForecastHorizon, quantiles, columns, trainedOn: source.S3Uri };
          if (loc) putObject({ buckets: s.buckets }, { bucket: loc.bucket, key: parseS3Uri(c.modelDataUrl)?.key ?? '' }, Buffer.from(JSON.stringify(artifact)), ctx.now(), 'application/json');
        }
      }
      // Training time grows with the data: 5 minutes of analysis plus 30 ms a row; per candidate 30 minutes plus a second a row.
      const analyzingMs = 5 * 60_000 + rows * 30;
      let trainingMs = (30 * 60_000 + rows * 1000) * Math.max(job.candidates.length, 1);
      const cap = ts.CompletionCriteria?.MaxAutoMLJobRuntimeInSeconds;
      if (cap !== undefined && !job.problem) {
        const left = cap * 1000 - 60_000 - analyzingMs - 5 * 60_000;
        if (left < trainingMs) {
          const fit = Math.floor(Math.max(left, 0) / (trainingMs / job.candidates.length));
          if (fit === 0) job.problem = `MaxAutoMLJobRuntimeInSeconds (${cap}) was reached before a candidate completed.`;
          else {
            job.candidates = job.candidates.slice(0, fit);
            job.best = job.candidates.reduce((b, c, i) => (metricValue(c.metrics, objective) < metricValue((job.candidates[b] as Candidate).metrics, objective) ? i : b), 0);
            job.completedAs = 'MaxAutoMLJobRuntimeReached';
          }
          trainingMs = Math.max(left, 0);
        }
      }
      s.jobs.set(key, job);
      s.tags.set(arn, input.Tags ?? []);
      const def = trainingLifecycle(analyzingMs, trainingMs, job.problem !== undefined);
      ctx.jobs.start(job.problem ? { ...def, succeeded: 'Failed' } : def, arn, {});
      return { AutoMLJobArn: arn };
    },
  }),
  DescribeAutoMLJobV2: operation({
    input: z.object({ AutoMLJobName: jobName }),
    handler(input, ctx: Ctx) {
      const job = findJob(ctx, input.AutoMLJobName);
      const s = status(ctx, job);
      const best = s.primary === 'Completed' && job.best !== undefined ? job.candidates[job.best] : undefined;
      return {
        AutoMLJobName: job.name,
        AutoMLJobArn: job.arn,
        AutoMLJobInputDataConfig: job.input,
        OutputDataConfig: { S3OutputPath: job.outputPath },
        RoleArn: job.roleArn,
        AutoMLJobObjective: { MetricName: job.objective },
        AutoMLProblemTypeConfig: { TimeSeriesForecastingJobConfig: job.problemConfig },
        AutoMLProblemTypeConfigName: 'TimeSeriesForecasting',
        CreationTime: new Date(job.createdAtMs),
        ...(s.endMs !== undefined ? { EndTime: new Date(s.endMs) } : {}),
        LastModifiedTime: new Date(s.lastMs),
        ...(s.failure ? { FailureReason: s.failure } : {}),
        ...(best ? { BestCandidate: candidateView(ctx, job, best, s) } : {}),
        AutoMLJobStatus: s.primary,
        AutoMLJobSecondaryStatus: s.secondary,
        ResolvedAttributes: {
          AutoMLJobObjective: { MetricName: job.objective },
          CompletionCriteria: (job.problemConfig.CompletionCriteria as object | undefined) ?? { MaxCandidates: 2 },
          AutoMLProblemTypeResolvedAttributes: {},
        },
      };
    },
  }),
  ListAutoMLJobs: operation({
    input: z.object({
      NameContains: z.string().max(63).optional(),
      StatusEquals: z.enum(['Completed', 'InProgress', 'Failed', 'Stopped', 'Stopping']).optional(),
      SortOrder: z.enum(['Ascending', 'Descending']).optional(),
      SortBy: z.enum(['Name', 'CreationTime', 'Status']).optional(),
      MaxResults: z.number().int().min(1).max(100).optional(),
      NextToken: z.string().optional(),
      CreationTimeAfter: z.unknown().optional(),
      CreationTimeBefore: z.unknown().optional(),
      LastModifiedTimeAfter: z.unknown().optional(),
      LastModifiedTimeBefore: z.unknown().optional(),
    }),
    handler(input, ctx: Ctx) {
      const needle = input.NameContains?.toLowerCase();
      const all = [...ctx.state.automl.jobs.values()]
        .map((j) => ({ j, s: status(ctx, j) }))
        .filter(({ j, s }) => (!needle || j.name.toLowerCase().includes(needle)) && (!input.StatusEquals || s.primary === input.StatusEquals));
      const by = input.SortBy ?? 'CreationTime';
      const key = (x: (typeof all)[number]) => (by === 'Name' ? x.j.name : by === 'Status' ? x.s.primary : String(x.j.createdAtMs).padStart(16, '0'));
      const sign = (input.SortOrder ?? 'Descending') === 'Descending' ? -1 : 1;
      all.sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      const page = paginate(all, input.NextToken, input.MaxResults ?? 10, () => ctx.error('ValidationException', 'Invalid pagination token'));
      return {
        AutoMLJobSummaries: page.items.map(({ j, s }) => ({
          AutoMLJobName: j.name,
          AutoMLJobArn: j.arn,
          AutoMLJobStatus: s.primary,
          AutoMLJobSecondaryStatus: s.secondary,
          CreationTime: new Date(j.createdAtMs),
          ...(s.endMs !== undefined ? { EndTime: new Date(s.endMs) } : {}),
          LastModifiedTime: new Date(s.lastMs),
          ...(s.failure ? { FailureReason: s.failure } : {}),
        })),
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
  }),
  ListCandidatesForAutoMLJob: operation({
    input: z.object({
      AutoMLJobName: jobName,
      StatusEquals: z.enum(['Completed', 'InProgress', 'Failed', 'Stopped', 'Stopping']).optional(),
      CandidateNameEquals: z.string().min(1).max(64).optional(),
      SortOrder: z.enum(['Ascending', 'Descending']).optional(),
      SortBy: z.enum(['CreationTime', 'Status', 'FinalObjectiveMetricValue']).optional(),
      MaxResults: z.number().int().min(1).max(100).optional(),
      NextToken: z.string().optional(),
    }),
    handler(input, ctx: Ctx) {
      const job = findJob(ctx, input.AutoMLJobName);
      const s = status(ctx, job);
      // Candidates appear when the job has trained them (at its end on this emulator).
      const trained = s.primary === 'Completed' ? job.candidates : [];
      let list = trained.filter((c) => (!input.CandidateNameEquals || c.name === input.CandidateNameEquals) && (!input.StatusEquals || input.StatusEquals === 'Completed'));
      if ((input.SortBy ?? 'FinalObjectiveMetricValue') === 'FinalObjectiveMetricValue') {
        const sign = (input.SortOrder ?? 'Ascending') === 'Descending' ? -1 : 1;
        list = [...list].sort((a, b) => sign * (metricValue(a.metrics, job.objective) - metricValue(b.metrics, job.objective)));
      }
      const page = paginate(list, input.NextToken, input.MaxResults ?? 10, () => ctx.error('ValidationException', 'Invalid pagination token'));
      return { Candidates: page.items.map((c) => candidateView(ctx, job, c, s)), ...(page.next ? { NextToken: page.next } : {}) };
    },
  }),
  StopAutoMLJob: operation({
    input: z.object({ AutoMLJobName: jobName }),
    handler(input, ctx: Ctx) {
      const job = findJob(ctx, input.AutoMLJobName);
      const v = ctx.jobs.get(AUTOML_JOB_KIND, job.arn);
      if (!v || v.ended || v.status === 'Stopping') throw ctx.error('ValidationException', `The AutoML job ${job.name} is ${status(ctx, job).primary}: only an InProgress job can be stopped.`);
      ctx.jobs.stop(AUTOML_JOB_KIND, job.arn);
      return {};
    },
  }),
  CreateModel: operation({
    input: z.looseObject({
      ModelName: modelName,
      PrimaryContainer: z.looseObject({ Image: z.string().optional(), ModelDataUrl: z.string().optional(), Environment: z.record(z.string(), z.string()).optional() }).optional(),
      Containers: z.array(z.looseObject({ Image: z.string().optional(), ModelDataUrl: z.string().optional(), Environment: z.record(z.string(), z.string()).optional() })).max(15).optional(),
      ExecutionRoleArn: roleArn.optional(),
      Tags: tagList,
    }),
    handler(input, ctx: Ctx) {
      const s = ctx.state.automl;
      const arn = ctx.arn(`model/${input.ModelName.toLowerCase()}`);
      if (s.models.has(input.ModelName.toLowerCase())) throw ctx.error('ValidationException', `Cannot create already existing model "${arn}".`);
      const containers = input.Containers ?? (input.PrimaryContainer ? [input.PrimaryContainer] : []);
      if (containers.length === 0) throw ctx.error('ValidationException', 'Either PrimaryContainer or Containers is required.');
      s.models.set(input.ModelName.toLowerCase(), { name: input.ModelName, arn, createdAtMs: ctx.nowMs(), containers, ...(input.ExecutionRoleArn ? { roleArn: input.ExecutionRoleArn } : {}) });
      s.tags.set(arn, input.Tags ?? []);
      return { ModelArn: arn };
    },
  }),
  DescribeModel: operation({
    input: z.object({ ModelName: modelName }),
    handler(input, ctx: Ctx) {
      const m = ctx.state.automl.models.get(input.ModelName.toLowerCase());
      if (!m) throw ctx.error('ValidationException', `Could not find model "${ctx.arn(`model/${input.ModelName.toLowerCase()}`)}".`);
      return { ModelName: m.name, ModelArn: m.arn, Containers: m.containers, ...(m.roleArn ? { ExecutionRoleArn: m.roleArn } : {}), CreationTime: new Date(m.createdAtMs) };
    },
  }),
  DeleteModel: operation({
    input: z.object({ ModelName: modelName }),
    handler(input, ctx: Ctx) {
      const s = ctx.state.automl;
      const m = s.models.get(input.ModelName.toLowerCase());
      if (!m) throw ctx.error('ValidationException', `Could not find model "${ctx.arn(`model/${input.ModelName.toLowerCase()}`)}".`);
      s.models.delete(input.ModelName.toLowerCase());
      s.tags.delete(m.arn);
      return {};
    },
  }),
  CreateTransformJob: operation({
    input: z.looseObject({
      TransformJobName: transformName,
      ModelName: modelName,
      TransformInput: z.looseObject({
        DataSource: z.object({ S3DataSource: z.object({ S3DataType: z.enum(['ManifestFile', 'S3Prefix', 'AugmentedManifestFile', 'Converse']), S3Uri: s3Uri }) }),
        ContentType: z.string().optional(),
        SplitType: z.enum(['None', 'Line', 'RecordIO', 'TFRecord']).optional(),
        CompressionType: z.enum(['None', 'Gzip']).optional(),
      }),
      TransformOutput: z.looseObject({ S3OutputPath: s3Uri, Accept: z.string().optional(), AssembleWith: z.enum(['None', 'Line']).optional() }),
      TransformResources: z.looseObject({ InstanceType: z.string(), InstanceCount: z.number().int().min(1) }),
      Tags: tagList,
    }),
    handler(input, ctx: Ctx) {
      const s = ctx.state.automl;
      const key = input.TransformJobName.toLowerCase();
      const arn = ctx.arn(`transform-job/${key}`);
      if (s.transforms.has(key)) throw ctx.error('ResourceInUse', `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn}).`);
      const model = s.models.get(input.ModelName.toLowerCase());
      if (!model) throw ctx.error('ValidationException', `Could not find model "${ctx.arn(`model/${input.ModelName.toLowerCase()}`)}".`);
      const out = parseS3Uri(input.TransformOutput.S3OutputPath);
      if (!out) throw ctx.error('ValidationException', `${input.TransformOutput.S3OutputPath} is not an S3 URI`);
      const source = input.TransformInput.DataSource.S3DataSource;
      let problem: string | undefined;
      const outputs: TransformJob['outputs'] = [];
      // The model's artifact names the algorithm: read back from S3, as the container would load model.tar.gz.
      const url = model.containers[0]?.ModelDataUrl ?? '';
      const artifactLoc = parseS3Uri(url);
      const artifact = artifactLoc ? getObject({ buckets: s.buckets }, artifactLoc) : undefined;
      if (!artifact) problem = `ClientError: the model artifact ${url} could not be downloaded.`;
      else if (!s.buckets.has(out.bucket)) problem = `ClientError: the output bucket ${out.bucket} does not exist.`;
      else if (source.S3DataType !== 'S3Prefix') problem = `ClientError: S3DataType ${source.S3DataType} is not supported by this emulator.`;
      else {
        const a = JSON.parse(artifact.body.toString('utf8')) as { algorithm: Algorithm; frequency: string; horizon: number; quantiles: string[]; columns: AutoMLJob['columns'] };
        const inLoc = parseS3Uri(source.S3Uri);
        const table = csvTable(inputObjects(ctx, source.S3Uri));
        const series = typeof table === 'string' ? table : seriesOf(table, a.columns, a.frequency);
        if (typeof series === 'string') problem = `ClientError: ${series}`;
        else if (typeof table !== 'string' && inLoc) {
          const step = stepMs(a.frequency);
          const last = series.axis[series.axis.length - 1] ?? 0;
          const fmt = (t: number) => (series.dateOnly ? new Date(t).toISOString().slice(0, 10) : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
          const lines = [`${a.columns.item},${a.columns.timestamp},${a.quantiles.join(',')}`];
          for (const item of series.items) {
            const f = fitAndForecast(item.values, a.horizon, a.algorithm, a.quantiles.map(quantileOf), seasonOf(a.frequency));
            for (let i = 0; i < a.horizon; i++) {
              lines.push(`${item.itemId},${fmt(last + (i + 1) * step)},${a.quantiles.map((q) => String(Math.round((f.quantiles.get(quantileOf(q))?.[i] ?? 0) * 1000) / 1000)).join(',')}`);
            }
          }
          // One output per input object (`<name>.out`); the table's files are read together, so the first names it.
          const base = (table.files[0] ?? 'input').split('/').pop() ?? 'input';
          outputs.push({ key: `${out.key.replace(/\/?$/, out.key === '' ? '' : '/')}${base}.out`, body: Buffer.from(`${lines.join('\n')}\n`) });
        }
      }
      const job: TransformJob = {
        name: input.TransformJobName,
        arn,
        createdAtMs: ctx.nowMs(),
        modelName: model.name,
        input: { S3DataType: source.S3DataType, S3Uri: source.S3Uri, ...(input.TransformInput.ContentType ? { ContentType: input.TransformInput.ContentType } : {}), ...(input.TransformInput.SplitType ? { SplitType: input.TransformInput.SplitType } : {}) },
        outputPath: input.TransformOutput.S3OutputPath,
        resources: { InstanceType: input.TransformResources.InstanceType, InstanceCount: input.TransformResources.InstanceCount },
        outputs: problem ? [] : outputs,
        bucket: out.bucket,
        ...(problem ? { problem } : {}),
      };
      s.transforms.set(key, job);
      s.tags.set(arn, input.Tags ?? []);
      // Time grows with the forecast written: 5 minutes plus a millisecond per 10 bytes.
      const bytes = outputs.reduce((n, o) => n + o.body.length, 0);
      const def = { ...transformLifecycle, phases: [{ status: 'InProgress', durationMs: 5 * 60_000 + Math.round(bytes / 10) }] };
      ctx.jobs.start(problem ? { ...def, succeeded: 'Failed' } : def, arn, {});
      return { TransformJobArn: arn };
    },
  }),
  DescribeTransformJob: operation({
    input: z.object({ TransformJobName: transformName }),
    handler(input, ctx: Ctx) {
      const t = ctx.state.automl.transforms.get(input.TransformJobName.toLowerCase());
      if (!t) throw ctx.error('ResourceNotFound', `Could not find requested job with name ${input.TransformJobName}`);
      const v = ctx.jobs.get(TRANSFORM_JOB_KIND, t.arn);
      const st = v?.status ?? 'Failed';
      return {
        TransformJobName: t.name,
        TransformJobArn: t.arn,
        TransformJobStatus: st,
        ...(st === 'Failed' ? { FailureReason: t.problem ?? v?.failureReason ?? 'lost' } : {}),
        ModelName: t.modelName,
        TransformInput: { DataSource: { S3DataSource: { S3DataType: t.input.S3DataType, S3Uri: t.input.S3Uri } }, ...(t.input.ContentType ? { ContentType: t.input.ContentType } : {}), ...(t.input.SplitType ? { SplitType: t.input.SplitType } : {}) },
        TransformOutput: { S3OutputPath: t.outputPath },
        TransformResources: t.resources,
        CreationTime: new Date(t.createdAtMs),
        ...(v && v.history.length > 0 ? { TransformStartTime: new Date(v.createdAtMs) } : {}),
        ...(v?.endedAtMs !== undefined ? { TransformEndTime: new Date(v.endedAtMs) } : {}),
      };
    },
  }),
  AddTags: operation({
    input: z.object({ ResourceArn: z.string().max(256), Tags: z.array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256).optional() })).max(50) }),
    handler(input, ctx: Ctx) {
      const current = tagsOf(ctx, input.ResourceArn).filter((t) => !input.Tags.some((n) => n.Key === t.Key));
      const next = [...current, ...input.Tags];
      if (next.length > 50) throw ctx.error('ResourceLimitExceeded', `A resource has at most 50 tags: ${input.ResourceArn} would have ${next.length}.`);
      ctx.state.automl.tags.set(input.ResourceArn, next);
      return { Tags: input.Tags };
    },
  }),
  ListTags: operation({
    input: z.object({ ResourceArn: z.string().max(256), NextToken: z.string().optional(), MaxResults: z.number().int().min(50).max(100).optional() }),
    handler(input, ctx: Ctx) {
      const page = paginate(tagsOf(ctx, input.ResourceArn), input.NextToken, input.MaxResults ?? 50, () => ctx.error('ValidationException', 'Invalid pagination token'));
      return { Tags: page.items, ...(page.next ? { NextToken: page.next } : {}) };
    },
  }),
  DeleteTags: operation({
    input: z.object({ ResourceArn: z.string().max(256), TagKeys: z.array(z.string().min(1).max(128)).min(1).max(50) }),
    handler(input, ctx: Ctx) {
      ctx.state.automl.tags.set(input.ResourceArn, tagsOf(ctx, input.ResourceArn).filter((t) => !input.TagKeys.includes(t.Key)));
      return {};
    },
  }),
};
