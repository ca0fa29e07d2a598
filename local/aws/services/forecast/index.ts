/**
 * Amazon Forecast (awsJson1_1, `AmazonForecast.*`): dataset groups, datasets with schema validation per domain,
 * dataset import jobs that read and validate CSV or Parquet from the emulated S3 (FieldStatistics, DataSize), auto predictors
 * (new, and retrained from `ReferencePredictorArn`) trained on the imported data by a real model (./model.ts) with
 * accuracy metrics from a backtest on the last window, forecasts, export jobs writing CSV parts to S3, tags, deletes
 * with dependency rules (`ResourceInUseException`), and statuses CREATE_PENDING -> CREATE_IN_PROGRESS -> ACTIVE or
 * CREATE_FAILED moving with the emulator's clock. Training time grows with the data and a retrain takes half as long.
 * A delete is accepted for an ACTIVE or CREATE_FAILED resource whose dependants are gone; the resource then answers
 * DELETE_PENDING and DELETE_IN_PROGRESS (Describe and List still show it, nothing can use it) and disappears when
 * the deletion ends (kind `deletion` in scenarios). Parquet exports are refused (CSV only).
 */
import { z } from 'zod';
import { defineService, operation, type OperationContext } from '../../service';
import type { JobView, LifecycleDefinition, TransitionContext } from '../../jobs';
import { TrackedMap } from '../../persistence/tracked-map';
import { paginate } from '../efs/pages';
import { getObject, listObjects, parseS3Uri, putObject, s3StateOf } from '../s3/objects';
import { csvImportRows, DOMAINS, itemIdsOf, parquetImportRows, schemaProblem, targetAttributeOf, targetSeries, timestampFormatProblem, validateImport, type ValidatedImport } from './data';
import { backtest, fitAndForecast, seasonOf, stepMs, type OptimizationMetric } from './model';
import type { Dataset, DatasetGroup, ForecastRecord, ForecastState, ImportJob, Predictor, Tags } from './state';

type Ctx = OperationContext<ForecastState>;
type Outcome = 'ACTIVE' | 'CREATE_FAILED';

export const KINDS = { datasetGroup: 'dataset-group', dataset: 'dataset', import: 'dataset-import-job', predictor: 'predictor', forecast: 'forecast', export: 'forecast-export-job' } as const;
/** Concurrent predictor trainings per account (Forecast's quota is a few; more answer LimitExceededException). */
export const MAX_TRAINING_PREDICTORS = 3;
export const DEFAULT_FORECAST_TYPES = ['0.1', '0.5', '0.9'];

const NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/;
const name = z.string().min(1).max(63).regex(NAME, { message: `Member must satisfy regular expression pattern: ${NAME.source}` });
const arn = z.string().min(1).max(256);
const tags = z.array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) })).max(200).optional();
const filters = z.array(z.object({ Key: z.string(), Value: z.string(), Condition: z.enum(['IS', 'IS_NOT']) })).optional();
const list = { NextToken: z.string().optional(), MaxResults: z.number().int().min(1).max(100).optional() };

function lifecycle(kind: string, pendingMs: number, runningMs: number, outcome: Outcome, onTransition?: LifecycleDefinition['onTransition']): LifecycleDefinition {
  return {
    kind,
    phases: [
      { status: 'CREATE_PENDING', durationMs: pendingMs },
      { status: 'CREATE_IN_PROGRESS', durationMs: runningMs },
    ],
    succeeded: outcome,
    failed: 'CREATE_FAILED',
    ...(onTransition ? { onTransition } : {}),
  };
}

function st(ctx: TransitionContext): ForecastState {
  return ctx.state as ForecastState;
}

/** An import that becomes ACTIVE is its dataset's data from then on. */
function importDone(job: JobView, ctx: TransitionContext): void {
  if (job.status !== 'ACTIVE') return;
  const s = st(ctx);
  const imp = s.importJobs.get(job.id);
  const ds = imp ? s.datasets.get(imp.datasetArn) : undefined;
  if (!imp || !ds) return;
  s.datasets.set(ds.arn, { ...ds, latestImportArn: imp.arn, modifiedAt: new Date(job.statusSinceMs) });
}

/** An export that becomes ACTIVE writes its CSV part to S3, named as Forecast names them. */
function exportDone(job: JobView, ctx: TransitionContext): void {
  if (job.status !== 'ACTIVE') return;
  const s = st(ctx);
  const exp = s.exportJobs.get(job.id);
  const fc = exp ? s.forecasts.get(exp.forecastArn) : undefined;
  if (!exp || !fc) return;
  const loc = parseS3Uri(exp.path);
  if (!loc) return;
  const stamp = new Date(exp.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
  const key = `${loc.key.replace(/\/?$/, loc.key === '' ? '' : '/')}${exp.name}_${stamp}_part0`;
  const types = fc.forecastTypes.map((t) => (t === 'mean' ? 'mean' : `p${Math.round(Number(t) * 100)}`));
  const rows = [`item_id,date,${types.join(',')}`];
  for (const item of fc.items) {
    item.dates.forEach((d, i) => rows.push(`${item.itemId},${d},${fc.forecastTypes.map((t) => round3(item.values[t]?.[i] ?? 0)).join(',')}`));
  }
  putObject(s.s3, { bucket: loc.bucket, key }, Buffer.from(`${rows.join('\n')}\n`), new Date(job.statusSinceMs));
  s.exportJobs.set(exp.arn, { ...exp, files: [`s3://${loc.bucket}/${key}`] });
}

const round3 = (n: number): string => String(Math.round(n * 1000) / 1000);

const importLifecycle = (runningMs: number, outcome: Outcome) => lifecycle(KINDS.import, 30_000, runningMs, outcome, importDone);
const exportLifecycle = (runningMs: number, outcome: Outcome) => lifecycle(KINDS.export, 30_000, runningMs, outcome, exportDone);

/** The state maps of the resources a Delete* removes, and the create job kind of each (dataset groups and datasets have none). */
type Deletable = 'datasetGroups' | 'datasets' | 'importJobs' | 'predictors' | 'forecasts' | 'exportJobs';
const CREATE_KIND: Record<Deletable, string | undefined> = {
  datasetGroups: undefined,
  datasets: undefined,
  importJobs: KINDS.import,
  predictors: KINDS.predictor,
  forecasts: KINDS.forecast,
  exportJobs: KINDS.export,
};
export const DELETION_KIND = 'deletion';
/** DELETE_PENDING, then DELETE_IN_PROGRESS for `inProgressMs`; at its end the resource is gone (NotFound). */
export const DELETE_PENDING_MS = 30_000;

function removeResource(s: ForecastState, jobs: TransitionContext['jobs'], map: Deletable, resourceArn: string): void {
  (s[map] as Map<string, unknown>).delete(resourceArn);
  s.tags.delete(resourceArn);
  const kind = CREATE_KIND[map];
  if (kind) jobs.remove(kind, resourceArn);
  if (map === 'importJobs') {
    for (const ds of s.datasets.values()) {
      if (ds.latestImportArn !== resourceArn) continue;
      const { latestImportArn: _gone, ...rest } = ds;
      s.datasets.set(ds.arn, rest);
    }
  }
}

/** A deletion that ends removes its resource (and the deletion itself: a resource of the same name may come again). */
function deletionDone(job: JobView, ctx: TransitionContext): void {
  if (job.status !== 'DELETED') return;
  removeResource(st(ctx), ctx.jobs, job.data.map as Deletable, job.id);
  ctx.jobs.remove(DELETION_KIND, job.id);
}

function deletionLifecycle(inProgressMs: number): LifecycleDefinition {
  return {
    kind: DELETION_KIND,
    phases: [
      { status: 'DELETE_PENDING', durationMs: DELETE_PENDING_MS },
      { status: 'DELETE_IN_PROGRESS', durationMs: inProgressMs },
    ],
    succeeded: 'DELETED',
    failed: 'DELETE_FAILED',
    onTransition: deletionDone,
  };
}

function deleting(ctx: Ctx, resourceArn: string): boolean {
  const job = ctx.jobs.get(DELETION_KIND, resourceArn);
  return job !== undefined && !job.ended;
}

/** A resource being deleted cannot be used (imported into, trained on, updated). */
function notDeleting(ctx: Ctx, resourceArn: string, what: string): void {
  if (deleting(ctx, resourceArn)) throw ctx.error('ResourceInUseException', `The ${what} ${resourceArn} is being deleted (${status(ctx, '', resourceArn).Status})`);
}

/**
 * Starts deleting a resource Forecast lets go (ACTIVE or CREATE_FAILED): DELETE_PENDING, DELETE_IN_PROGRESS, then
 * gone. A resource still being created or already being deleted answers ResourceInUseException.
 */
function startDeletion(ctx: Ctx, map: Deletable, resourceArn: string, what: string, inProgressMs = 60_000): void {
  const kind = CREATE_KIND[map];
  if (kind && live(ctx, kind, resourceArn)) throw ctx.error('ResourceInUseException', `The ${what} ${resourceArn} is ${status(ctx, kind, resourceArn).Status}: only an ACTIVE or CREATE_FAILED ${what} can be deleted`);
  if (deleting(ctx, resourceArn)) throw ctx.error('ResourceInUseException', `The ${what} ${resourceArn} is already being deleted (${status(ctx, kind ?? '', resourceArn).Status})`);
  ctx.jobs.start(deletionLifecycle(inProgressMs), resourceArn, { map });
}

function status(ctx: Ctx, kind: string, id: string): { Status: string; LastModificationTime: Date; EstimatedTimeRemainingInMinutes?: number } {
  const deletion = ctx.jobs.get(DELETION_KIND, id);
  if (deletion && !deletion.ended) return { Status: deletion.status, LastModificationTime: new Date(deletion.statusSinceMs) };
  const job = ctx.jobs.get(kind, id);
  if (!job) return { Status: 'ACTIVE', LastModificationTime: ctx.now() };
  return {
    Status: job.status,
    LastModificationTime: new Date(job.statusSinceMs),
    ...(job.ended ? {} : { EstimatedTimeRemainingInMinutes: Math.max(0, Math.ceil(((job.data.endsAtMs as number) - ctx.nowMs()) / 60_000)) }),
  };
}

function notFound(ctx: Ctx, what: string, id: string): Error {
  return ctx.error('ResourceNotFoundException', `No ${what} found with ARN ${id}`);
}

function get<T>(ctx: Ctx, map: Map<string, T>, what: string, id: string): T {
  const v = map.get(id);
  if (!v) throw notFound(ctx, what, id);
  return v;
}

function tagsIn(input: { Key: string; Value: string }[] | undefined): Tags {
  return Object.fromEntries((input ?? []).map((t) => [t.Key, t.Value]));
}

function setTags(ctx: Ctx, resourceArn: string, input: { Key: string; Value: string }[] | undefined): void {
  ctx.state.tags.set(resourceArn, { ...(ctx.state.tags.get(resourceArn) ?? {}), ...tagsIn(input) });
}

function exists(ctx: Ctx, map: Map<string, unknown>, resourceArn: string, what: string): void {
  if (map.has(resourceArn)) throw ctx.error('ResourceAlreadyExistsException', `A ${what} already exists with the arn: ${resourceArn}`);
}

function applyFilters<T>(items: T[], input: { Key: string; Value: string; Condition: 'IS' | 'IS_NOT' }[] | undefined, value: (item: T, key: string) => string | undefined): T[] {
  return items.filter((item) => (input ?? []).every((f) => (value(item, f.Key) === f.Value) === (f.Condition === 'IS')));
}

function page<T>(ctx: Ctx, items: T[], input: { NextToken?: string; MaxResults?: number }): { items: T[]; next?: string } {
  return paginate(items, input.NextToken, input.MaxResults ?? 100, () => ctx.error('InvalidNextTokenException', 'The token is not valid.'));
}

function live(ctx: Ctx, kind: string, id: string): boolean {
  const job = ctx.jobs.get(kind, id);
  return job !== undefined && !job.ended;
}

function groupDatasets(ctx: Ctx, group: DatasetGroup): Dataset[] {
  return group.datasetArns.map((a) => ctx.state.datasets.get(a)).filter((d): d is Dataset => d !== undefined);
}

interface Training {
  importJobArns: string[];
  problem?: string;
  result?: Predictor['result'];
  rows: number;
}

/** Trains on the dataset group's current data: the backtest picks the algorithm and gives the metrics. */
function train(ctx: Ctx, groupArn: string, horizon: number, frequency: string, forecastTypes: string[], metric: OptimizationMetric): Training {
  const group = ctx.state.datasetGroups.get(groupArn);
  if (!group) return { importJobArns: [], rows: 0, problem: `The dataset group ${groupArn} does not exist` };
  const datasets = groupDatasets(ctx, group);
  const target = datasets.find((d) => d.type === 'TARGET_TIME_SERIES');
  const imports = datasets.map((d) => (d.latestImportArn ? ctx.state.importJobs.get(d.latestImportArn) : undefined)).filter((i): i is ImportJob => i !== undefined);
  const importJobArns = imports.map((i) => i.arn);
  const targetImport = target?.latestImportArn ? ctx.state.importJobs.get(target.latestImportArn) : undefined;
  if (!target || !targetImport) return { importJobArns, rows: 0, problem: 'The dataset group has no TARGET_TIME_SERIES dataset with imported data' };
  const series = targetSeries(targetImport.data, target.attributes, targetAttributeOf(target.domain), stepMs(frequency));
  const items = new Set(series.items.map((i) => i.itemId));
  const metadata = datasets.find((d) => d.type === 'ITEM_METADATA');
  const metadataImport = metadata?.latestImportArn ? ctx.state.importJobs.get(metadata.latestImportArn) : undefined;
  if (metadata && metadataImport) {
    const known = itemIdsOf(metadataImport.data, metadata.attributes);
    const unknown = [...items].filter((i) => !known.has(i));
    if (unknown.length > 0) {
      return { importJobArns, rows: targetImport.rows, problem: `${unknown.length} items of the target time series are not in the item metadata dataset: ${unknown.slice(0, 5).join(', ')}` };
    }
  }
  const maxHorizon = Math.min(500, Math.floor(series.axis.length / 3));
  if (horizon > maxHorizon) {
    return { importJobArns, rows: targetImport.rows, problem: `ForecastHorizon ${horizon} is more than a third of the target time series (${series.axis.length} time steps): at most ${maxHorizon}` };
  }
  const quantiles = forecastTypes.filter((t) => t !== 'mean').map(Number);
  const bt = backtest(series.items.map((i) => i.values), horizon, quantiles, metric, seasonOf(frequency));
  return {
    importJobArns,
    rows: targetImport.rows,
    result: {
      algorithm: bt.algorithm,
      metrics: bt.metrics,
      testWindowStart: new Date(series.axis[bt.testStart] ?? 0),
      testWindowEnd: new Date(series.axis[bt.testEnd - 1] ?? 0),
      itemCount: bt.itemCount,
    },
  };
}

function describePredictor(ctx: Ctx, p: Predictor): Record<string, unknown> {
  const s = status(ctx, KINDS.predictor, p.arn);
  const ref = p.referenceArn;
  return {
    PredictorArn: p.arn,
    PredictorName: p.name,
    ForecastHorizon: p.horizon,
    ForecastTypes: p.forecastTypes,
    ForecastFrequency: p.frequency,
    DatasetImportJobArns: p.importJobArns,
    DataConfig: { DatasetGroupArn: p.datasetGroupArn },
    ...(ref ? { ReferencePredictorSummary: { Arn: ref, State: ctx.state.predictors.has(ref) ? 'Active' : 'Deleted' } } : {}),
    ...s,
    ...(s.Status === 'CREATE_FAILED' ? { Message: p.problem ?? ctx.jobs.get(KINDS.predictor, p.arn)?.failureReason } : {}),
    CreationTime: p.createdAt,
    OptimizationMetric: p.optimizationMetric,
  };
}

export const forecast = defineService<ForecastState>({
  name: 'forecast',
  protocol: 'awsJson1_1',
  targetPrefix: 'AmazonForecast',
  validationError: { code: 'InvalidInputException' },
  lifecycles: [importLifecycle(0, 'ACTIVE'), exportLifecycle(0, 'ACTIVE'), deletionLifecycle(0)],
  createState: (scope) => ({
    s3: s3StateOf(scope),
    datasetGroups: new Map(),
    datasets: new Map(),
    importJobs: new TrackedMap(),
    predictors: new Map(),
    forecasts: new TrackedMap(),
    exportJobs: new Map(),
    tags: new Map(),
  }),
  operations: {
    CreateDatasetGroup: operation({
      input: z.object({ DatasetGroupName: name, Domain: z.enum(DOMAINS), DatasetArns: z.array(arn).optional(), Tags: tags }),
      handler(input, ctx: Ctx) {
        const a = ctx.arn(`dataset-group/${input.DatasetGroupName}`);
        exists(ctx, ctx.state.datasetGroups, a, 'dataset group');
        for (const d of input.DatasetArns ?? []) get(ctx, ctx.state.datasets, 'dataset', d);
        ctx.state.datasetGroups.set(a, { name: input.DatasetGroupName, arn: a, domain: input.Domain, datasetArns: input.DatasetArns ?? [], createdAt: ctx.now(), modifiedAt: ctx.now() });
        setTags(ctx, a, input.Tags);
        return { DatasetGroupArn: a };
      },
    }),
    DescribeDatasetGroup: operation({
      input: z.object({ DatasetGroupArn: arn }),
      handler(input, ctx: Ctx) {
        const g = get(ctx, ctx.state.datasetGroups, 'dataset group', input.DatasetGroupArn);
        const s = status(ctx, KINDS.datasetGroup, g.arn);
        return { DatasetGroupName: g.name, DatasetGroupArn: g.arn, DatasetArns: g.datasetArns, Domain: g.domain, Status: s.Status, CreationTime: g.createdAt, LastModificationTime: deleting(ctx, g.arn) ? s.LastModificationTime : g.modifiedAt };
      },
    }),
    ListDatasetGroups: operation({
      input: z.object(list),
      handler(input, ctx: Ctx) {
        const p = page(ctx, [...ctx.state.datasetGroups.values()], input);
        return {
          DatasetGroups: p.items.map((g) => ({ DatasetGroupArn: g.arn, DatasetGroupName: g.name, CreationTime: g.createdAt, LastModificationTime: g.modifiedAt })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    UpdateDatasetGroup: operation({
      input: z.object({ DatasetGroupArn: arn, DatasetArns: z.array(arn) }),
      handler(input, ctx: Ctx) {
        const g = get(ctx, ctx.state.datasetGroups, 'dataset group', input.DatasetGroupArn);
        notDeleting(ctx, g.arn, 'dataset group');
        const types = input.DatasetArns.map((d) => get(ctx, ctx.state.datasets, 'dataset', d).type);
        if (new Set(types).size !== types.length) throw ctx.error('InvalidInputException', 'A dataset group can hold at most one dataset of each type');
        ctx.state.datasetGroups.set(g.arn, { ...g, datasetArns: input.DatasetArns, modifiedAt: ctx.now() });
        return {};
      },
    }),
    DeleteDatasetGroup: operation({
      input: z.object({ DatasetGroupArn: arn }),
      handler(input, ctx: Ctx) {
        get(ctx, ctx.state.datasetGroups, 'dataset group', input.DatasetGroupArn);
        const predictors = [...ctx.state.predictors.values()].filter((p) => p.datasetGroupArn === input.DatasetGroupArn);
        if (predictors.length > 0) {
          throw ctx.error('ResourceInUseException', `The dataset group ${input.DatasetGroupArn} is used by ${predictors.length} predictors: delete them first`);
        }
        startDeletion(ctx, 'datasetGroups', input.DatasetGroupArn, 'dataset group');
        return {};
      },
    }),
    CreateDataset: operation({
      input: z.object({
        DatasetName: name,
        Domain: z.enum(DOMAINS),
        DatasetType: z.enum(['TARGET_TIME_SERIES', 'RELATED_TIME_SERIES', 'ITEM_METADATA']),
        DataFrequency: z.string().regex(/^Y|M|W|D|H|30min|15min|10min|5min|1min$/).optional(),
        Schema: z.object({
          Attributes: z
            .array(z.object({ AttributeName: z.string().min(1).max(63).regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), AttributeType: z.enum(['string', 'integer', 'float', 'timestamp', 'geolocation']) }))
            .min(1)
            .max(100),
        }),
        EncryptionConfig: z.object({ RoleArn: arn, KMSKeyArn: arn }).optional(),
        Tags: tags,
      }),
      handler(input, ctx: Ctx) {
        const a = ctx.arn(`dataset/${input.DatasetName}`);
        exists(ctx, ctx.state.datasets, a, 'dataset');
        const problem = schemaProblem(input.Domain, input.DatasetType, input.Schema.Attributes, input.DataFrequency);
        if (problem) throw ctx.error('InvalidInputException', problem);
        ctx.state.datasets.set(a, {
          name: input.DatasetName,
          arn: a,
          domain: input.Domain,
          type: input.DatasetType,
          ...(input.DataFrequency ? { frequency: input.DataFrequency } : {}),
          attributes: input.Schema.Attributes,
          createdAt: ctx.now(),
          modifiedAt: ctx.now(),
        });
        setTags(ctx, a, input.Tags);
        return { DatasetArn: a };
      },
    }),
    DescribeDataset: operation({
      input: z.object({ DatasetArn: arn }),
      handler(input, ctx: Ctx) {
        const d = get(ctx, ctx.state.datasets, 'dataset', input.DatasetArn);
        return {
          DatasetArn: d.arn,
          DatasetName: d.name,
          Domain: d.domain,
          DatasetType: d.type,
          ...(d.frequency ? { DataFrequency: d.frequency } : {}),
          Schema: { Attributes: d.attributes },
          Status: status(ctx, KINDS.dataset, d.arn).Status,
          CreationTime: d.createdAt,
          LastModificationTime: deleting(ctx, d.arn) ? status(ctx, KINDS.dataset, d.arn).LastModificationTime : d.modifiedAt,
        };
      },
    }),
    ListDatasets: operation({
      input: z.object(list),
      handler(input, ctx: Ctx) {
        const p = page(ctx, [...ctx.state.datasets.values()], input);
        return {
          Datasets: p.items.map((d) => ({ DatasetArn: d.arn, DatasetName: d.name, DatasetType: d.type, Domain: d.domain, CreationTime: d.createdAt, LastModificationTime: d.modifiedAt })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    DeleteDataset: operation({
      input: z.object({ DatasetArn: arn }),
      handler(input, ctx: Ctx) {
        get(ctx, ctx.state.datasets, 'dataset', input.DatasetArn);
        const running = [...ctx.state.importJobs.values()].find((i) => i.datasetArn === input.DatasetArn && live(ctx, KINDS.import, i.arn));
        if (running) throw ctx.error('ResourceInUseException', `The dataset ${input.DatasetArn} has an import in progress: ${running.arn}`);
        // Forecast leaves the dataset in its groups' lists (UpdateDatasetGroup removes it); so does the emulator.
        startDeletion(ctx, 'datasets', input.DatasetArn, 'dataset');
        return {};
      },
    }),
    CreateDatasetImportJob: operation({
      input: z.object({
        DatasetImportJobName: name,
        DatasetArn: arn,
        DataSource: z.object({ S3Config: z.object({ Path: z.string().min(1), RoleArn: arn, KMSKeyArn: arn.optional() }) }),
        TimestampFormat: z.string().optional(),
        TimeZone: z.string().optional(),
        UseGeolocationForTimeZone: z.boolean().optional(),
        GeolocationFormat: z.string().optional(),
        Tags: tags,
        Format: z.enum(['CSV', 'PARQUET']).optional(),
        ImportMode: z.enum(['FULL', 'INCREMENTAL']).optional(),
      }),
      async handler(input, ctx: Ctx) {
        const ds = get(ctx, ctx.state.datasets, 'dataset', input.DatasetArn);
        const a = ctx.arn(`dataset-import-job/${ds.name}/${input.DatasetImportJobName}`);
        exists(ctx, ctx.state.importJobs, a, 'dataset import job');
        notDeleting(ctx, ds.arn, 'dataset');
        const format = input.TimestampFormat ?? (ds.frequency === 'D' || ds.frequency === 'W' || ds.frequency === 'M' || ds.frequency === 'Y' ? 'yyyy-MM-dd' : 'yyyy-MM-dd HH:mm:ss');
        const tsProblem = timestampFormatProblem(format);
        if (tsProblem) throw ctx.error('InvalidInputException', tsProblem);
        const loc = parseS3Uri(input.DataSource.S3Config.Path);
        if (!loc) throw ctx.error('InvalidInputException', `${input.DataSource.S3Config.Path} is not a valid S3 path`);
        const fileFormat = input.Format ?? 'CSV';
        let problem: string | undefined;
        let validated: ValidatedImport = { lines: [], fieldStatistics: {} };
        let bytes = 0;
        if (!ctx.state.s3.buckets.has(loc.bucket)) {
          problem = `AccessDeniedException: the S3 bucket ${loc.bucket} does not exist or Forecast cannot reach it with ${input.DataSource.S3Config.RoleArn}`;
        } else {
          const exact = getObject(ctx.state.s3, loc);
          // Under a prefix, Parquet files end .parquet, .parq or .pqt, or have no extension at all.
          const listed = exact ? [] : listObjects(ctx.state.s3, { bucket: loc.bucket, key: loc.key.replace(/\/?$/, loc.key === '' ? '' : '/') }).filter((o) => !o.key.endsWith('/'));
          const objects = exact ? [exact] : fileFormat === 'PARQUET' ? listed.filter((o) => /\.(parquet|parq|pqt)$/i.test(o.key) || !/\.[^/.]+$/.test(o.key)) : listed;
          if (objects.length === 0) problem = `No files found at ${input.DataSource.S3Config.Path}`;
          else if (objects.length > 10_000) problem = `More than 10,000 files at ${input.DataSource.S3Config.Path}`;
          else {
            bytes = objects.reduce((n, o) => n + o.body.length, 0);
            const files = objects.map((o) => ({ name: `s3://${loc.bucket}/${o.key}`, body: o.body }));
            // Parquet is decoded asynchronously: what was checked above is checked again before anything is written.
            const rows = fileFormat === 'PARQUET' ? await parquetImportRows(files, format) : csvImportRows(files, ds.attributes);
            if ('problem' in rows) problem = rows.problem;
            else {
              validated = validateImport(rows, ds.attributes, format);
              problem = validated.problem;
            }
          }
        }
        exists(ctx, ctx.state.importJobs, a, 'dataset import job');
        get(ctx, ctx.state.datasets, 'dataset', ds.arn);
        notDeleting(ctx, ds.arn, 'dataset');
        const rows = validated.lines.length;
        const job: ImportJob = {
          name: input.DatasetImportJobName,
          arn: a,
          datasetArn: ds.arn,
          path: input.DataSource.S3Config.Path,
          roleArn: input.DataSource.S3Config.RoleArn,
          timestampFormat: format,
          format: fileFormat,
          importMode: input.ImportMode ?? 'FULL',
          createdAt: ctx.now(),
          ...(problem ? { problem } : {}),
          data: Buffer.from(rows > 0 ? `${validated.lines.join('\n')}\n` : ''),
          rows,
          fieldStatistics: validated.fieldStatistics,
          dataSizeGb: bytes / 1024 ** 3,
        };
        ctx.state.importJobs.set(a, job);
        setTags(ctx, a, input.Tags);
        const runningMs = 5 * 60_000 + rows * 20;
        ctx.jobs.start(importLifecycle(runningMs, problem ? 'CREATE_FAILED' : 'ACTIVE'), a, { endsAtMs: ctx.nowMs() + 30_000 + runningMs });
        return { DatasetImportJobArn: a };
      },
    }),
    DescribeDatasetImportJob: operation({
      input: z.object({ DatasetImportJobArn: arn }),
      handler(input, ctx: Ctx) {
        const j = get(ctx, ctx.state.importJobs, 'dataset import job', input.DatasetImportJobArn);
        const s = status(ctx, KINDS.import, j.arn);
        return {
          DatasetImportJobName: j.name,
          DatasetImportJobArn: j.arn,
          DatasetArn: j.datasetArn,
          TimestampFormat: j.timestampFormat,
          DataSource: { S3Config: { Path: j.path, RoleArn: j.roleArn } },
          ...(s.Status === 'ACTIVE' ? { FieldStatistics: j.fieldStatistics, DataSize: j.dataSizeGb } : {}),
          Format: j.format,
          ImportMode: j.importMode,
          ...s,
          ...(s.Status === 'CREATE_FAILED' ? { Message: j.problem ?? ctx.jobs.get(KINDS.import, j.arn)?.failureReason } : {}),
          CreationTime: j.createdAt,
        };
      },
    }),
    ListDatasetImportJobs: operation({
      input: z.object({ ...list, Filters: filters }),
      handler(input, ctx: Ctx) {
        const all = applyFilters([...ctx.state.importJobs.values()], input.Filters, (j, k) => (k === 'DatasetArn' ? j.datasetArn : k === 'Status' ? status(ctx, KINDS.import, j.arn).Status : undefined));
        const p = page(ctx, all, input);
        return {
          DatasetImportJobs: p.items.map((j) => ({
            DatasetImportJobArn: j.arn,
            DatasetImportJobName: j.name,
            DataSource: { S3Config: { Path: j.path, RoleArn: j.roleArn } },
            Status: status(ctx, KINDS.import, j.arn).Status,
            CreationTime: j.createdAt,
            LastModificationTime: status(ctx, KINDS.import, j.arn).LastModificationTime,
            ImportMode: j.importMode,
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    DeleteDatasetImportJob: operation({
      input: z.object({ DatasetImportJobArn: arn }),
      handler(input, ctx: Ctx) {
        const j = get(ctx, ctx.state.importJobs, 'dataset import job', input.DatasetImportJobArn);
        startDeletion(ctx, 'importJobs', j.arn, 'dataset import job', 60_000 + j.rows * 5);
        return {};
      },
    }),
    CreateAutoPredictor: operation({
      input: z.object({
        PredictorName: name,
        ForecastHorizon: z.number().int().min(1).optional(),
        ForecastTypes: z.array(z.string().regex(/^(mean|0?\.\d+|1(\.0+)?)$/)).min(1).max(20).optional(),
        ForecastDimensions: z.array(z.string()).optional(),
        ForecastFrequency: z.string().optional(),
        DataConfig: z.object({ DatasetGroupArn: arn, AttributeConfigs: z.array(z.unknown()).optional(), AdditionalDatasets: z.array(z.unknown()).optional() }).optional(),
        EncryptionConfig: z.unknown().optional(),
        ReferencePredictorArn: arn.optional(),
        OptimizationMetric: z.enum(['WAPE', 'RMSE', 'AverageWeightedQuantileLoss', 'MASE', 'MAPE']).optional(),
        ExplainPredictor: z.boolean().optional(),
        Tags: tags,
        MonitorConfig: z.unknown().optional(),
        TimeAlignmentBoundary: z.unknown().optional(),
      }),
      handler(input, ctx: Ctx) {
        const a = ctx.arn(`predictor/${input.PredictorName}`);
        exists(ctx, ctx.state.predictors, a, 'predictor');
        let config: Pick<Predictor, 'datasetGroupArn' | 'horizon' | 'frequency' | 'forecastTypes' | 'optimizationMetric'>;
        if (input.ReferencePredictorArn) {
          if (input.ForecastHorizon !== undefined || input.DataConfig || input.ForecastFrequency || input.ForecastTypes) {
            throw ctx.error('InvalidInputException', 'A retrain (ReferencePredictorArn) takes only PredictorName, ReferencePredictorArn and Tags');
          }
          const ref = get(ctx, ctx.state.predictors, 'predictor', input.ReferencePredictorArn);
          if (status(ctx, KINDS.predictor, ref.arn).Status !== 'ACTIVE') throw ctx.error('ResourceInUseException', `The reference predictor ${ref.arn} is not ACTIVE`);
          config = { datasetGroupArn: ref.datasetGroupArn, horizon: ref.horizon, frequency: ref.frequency, forecastTypes: ref.forecastTypes, optimizationMetric: ref.optimizationMetric };
        } else {
          if (!input.DataConfig || input.ForecastHorizon === undefined || !input.ForecastFrequency) {
            throw ctx.error('InvalidInputException', 'A new predictor needs DataConfig.DatasetGroupArn, ForecastHorizon and ForecastFrequency');
          }
          get(ctx, ctx.state.datasetGroups, 'dataset group', input.DataConfig.DatasetGroupArn);
          notDeleting(ctx, input.DataConfig.DatasetGroupArn, 'dataset group');
          config = {
            datasetGroupArn: input.DataConfig.DatasetGroupArn,
            horizon: input.ForecastHorizon,
            frequency: input.ForecastFrequency,
            forecastTypes: input.ForecastTypes ?? DEFAULT_FORECAST_TYPES,
            optimizationMetric: input.OptimizationMetric ?? 'AverageWeightedQuantileLoss',
          };
        }
        const training = [...ctx.state.predictors.values()].filter((p) => live(ctx, KINDS.predictor, p.arn)).length;
        if (training >= MAX_TRAINING_PREDICTORS) {
          throw ctx.error('LimitExceededException', `You have reached the maximum of ${MAX_TRAINING_PREDICTORS} predictors being created at once`);
        }
        const t = train(ctx, config.datasetGroupArn, config.horizon, config.frequency, config.forecastTypes, config.optimizationMetric);
        const predictor: Predictor = {
          name: input.PredictorName,
          arn: a,
          ...config,
          ...(input.ReferencePredictorArn ? { referenceArn: input.ReferencePredictorArn } : {}),
          importJobArns: t.importJobArns,
          createdAt: ctx.now(),
          ...(t.problem ? { problem: t.problem } : {}),
          ...(t.result ? { result: t.result } : {}),
        };
        ctx.state.predictors.set(a, predictor);
        setTags(ctx, a, input.Tags);
        // Training time grows with the data; a retrain starts from the reference's model and takes half as long.
        const full = t.problem ? 10 * 60_000 : 30 * 60_000 + t.rows * 500;
        const runningMs = input.ReferencePredictorArn ? Math.round(full / 2) : full;
        ctx.jobs.start(lifecycle(KINDS.predictor, 60_000, runningMs, t.problem ? 'CREATE_FAILED' : 'ACTIVE'), a, { endsAtMs: ctx.nowMs() + 60_000 + runningMs });
        return { PredictorArn: a };
      },
    }),
    DescribeAutoPredictor: operation({
      input: z.object({ PredictorArn: arn }),
      handler: (input, ctx: Ctx) => describePredictor(ctx, get(ctx, ctx.state.predictors, 'predictor', input.PredictorArn)),
    }),
    ListPredictors: operation({
      input: z.object({ ...list, Filters: filters }),
      handler(input, ctx: Ctx) {
        const all = applyFilters([...ctx.state.predictors.values()], input.Filters, (p, k) =>
          k === 'DatasetGroupArn' ? p.datasetGroupArn : k === 'Status' ? status(ctx, KINDS.predictor, p.arn).Status : undefined,
        );
        const p = page(ctx, all, input);
        return {
          Predictors: p.items.map((x) => {
            const s = status(ctx, KINDS.predictor, x.arn);
            return {
              PredictorArn: x.arn,
              PredictorName: x.name,
              DatasetGroupArn: x.datasetGroupArn,
              IsAutoPredictor: true,
              ...(x.referenceArn ? { ReferencePredictorSummary: { Arn: x.referenceArn, State: ctx.state.predictors.has(x.referenceArn) ? 'Active' : 'Deleted' } } : {}),
              Status: s.Status,
              CreationTime: x.createdAt,
              LastModificationTime: s.LastModificationTime,
            };
          }),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    GetAccuracyMetrics: operation({
      input: z.object({ PredictorArn: arn }),
      handler(input, ctx: Ctx) {
        const p = get(ctx, ctx.state.predictors, 'predictor', input.PredictorArn);
        if (status(ctx, KINDS.predictor, p.arn).Status !== 'ACTIVE' || !p.result) throw ctx.error('ResourceInUseException', `The predictor ${p.arn} is not ACTIVE`);
        const r = p.result;
        return {
          PredictorEvaluationResults: [
            {
              AlgorithmArn: `arn:aws:forecast:::algorithm/${r.algorithm === 'SARIMA' ? 'SARIMA' : 'ARIMA'}`,
              TestWindows: [
                {
                  TestWindowStart: r.testWindowStart,
                  TestWindowEnd: r.testWindowEnd,
                  ItemCount: r.itemCount,
                  EvaluationType: 'SUMMARY',
                  Metrics: {
                    RMSE: r.metrics.RMSE,
                    WeightedQuantileLosses: r.metrics.WeightedQuantileLosses,
                    ErrorMetrics: [{ ForecastType: 'mean', WAPE: r.metrics.WAPE, RMSE: r.metrics.RMSE, MASE: r.metrics.MASE, MAPE: r.metrics.MAPE }],
                    AverageWeightedQuantileLoss: r.metrics.AverageWeightedQuantileLoss,
                  },
                },
              ],
            },
          ],
          IsAutoPredictor: true,
          OptimizationMetric: p.optimizationMetric,
        };
      },
    }),
    DeletePredictor: operation({
      input: z.object({ PredictorArn: arn }),
      handler(input, ctx: Ctx) {
        get(ctx, ctx.state.predictors, 'predictor', input.PredictorArn);
        // A forecast being deleted still exists until it is gone.
        const forecasts = [...ctx.state.forecasts.values()].filter((f) => f.predictorArn === input.PredictorArn);
        if (forecasts.length > 0) throw ctx.error('ResourceInUseException', `The predictor ${input.PredictorArn} has ${forecasts.length} forecasts: delete them first`);
        startDeletion(ctx, 'predictors', input.PredictorArn, 'predictor', 2 * 60_000);
        return {};
      },
    }),
    CreateForecast: operation({
      input: z.object({ ForecastName: name, PredictorArn: arn, ForecastTypes: z.array(z.string()).min(1).max(20).optional(), Tags: tags, TimeSeriesSelector: z.unknown().optional() }),
      handler(input, ctx: Ctx) {
        const a = ctx.arn(`forecast/${input.ForecastName}`);
        exists(ctx, ctx.state.forecasts, a, 'forecast');
        const p = get(ctx, ctx.state.predictors, 'predictor', input.PredictorArn);
        if (status(ctx, KINDS.predictor, p.arn).Status !== 'ACTIVE' || !p.result) throw ctx.error('ResourceInUseException', `The predictor ${p.arn} is not ACTIVE`);
        const types = input.ForecastTypes ?? p.forecastTypes;
        // The forecast uses the dataset group's latest data with the predictor's algorithm (no retraining).
        const group = ctx.state.datasetGroups.get(p.datasetGroupArn);
        const target = group ? groupDatasets(ctx, group).find((d) => d.type === 'TARGET_TIME_SERIES') : undefined;
        const imp = target?.latestImportArn ? ctx.state.importJobs.get(target.latestImportArn) : undefined;
        let problem: string | undefined;
        const items: ForecastRecord['items'] = [];
        if (!target || !imp) problem = 'The dataset group has no TARGET_TIME_SERIES data';
        else {
          const step = stepMs(p.frequency);
          const series = targetSeries(imp.data, target.attributes, targetAttributeOf(target.domain), step);
          const last = series.axis[series.axis.length - 1] ?? 0;
          const dates = Array.from({ length: p.horizon }, (_, i) => new Date(last + (i + 1) * step).toISOString().replace(/\.\d{3}Z$/, 'Z'));
          const quantiles = types.filter((t) => t !== 'mean').map(Number);
          for (const s of series.items) {
            const f = fitAndForecast(s.values, p.horizon, p.result.algorithm, quantiles, seasonOf(p.frequency));
            const values: Record<string, number[]> = {};
            for (const t of types) values[t] = t === 'mean' ? f.mean : (f.quantiles.get(Number(t)) ?? f.mean);
            items.push({ itemId: s.itemId, dates, values });
          }
        }
        ctx.state.forecasts.set(a, { name: input.ForecastName, arn: a, predictorArn: p.arn, datasetGroupArn: p.datasetGroupArn, forecastTypes: types, createdAt: ctx.now(), ...(problem ? { problem } : {}), items });
        setTags(ctx, a, input.Tags);
        const runningMs = 10 * 60_000 + items.length * p.horizon * 50;
        ctx.jobs.start(lifecycle(KINDS.forecast, 30_000, runningMs, problem ? 'CREATE_FAILED' : 'ACTIVE'), a, { endsAtMs: ctx.nowMs() + 30_000 + runningMs });
        return { ForecastArn: a };
      },
    }),
    DescribeForecast: operation({
      input: z.object({ ForecastArn: arn }),
      handler(input, ctx: Ctx) {
        const f = get(ctx, ctx.state.forecasts, 'forecast', input.ForecastArn);
        const s = status(ctx, KINDS.forecast, f.arn);
        return {
          ForecastArn: f.arn,
          ForecastName: f.name,
          ForecastTypes: f.forecastTypes,
          PredictorArn: f.predictorArn,
          DatasetGroupArn: f.datasetGroupArn,
          ...s,
          ...(s.Status === 'CREATE_FAILED' ? { Message: f.problem ?? ctx.jobs.get(KINDS.forecast, f.arn)?.failureReason } : {}),
          CreationTime: f.createdAt,
        };
      },
    }),
    ListForecasts: operation({
      input: z.object({ ...list, Filters: filters }),
      handler(input, ctx: Ctx) {
        const all = applyFilters([...ctx.state.forecasts.values()], input.Filters, (f, k) =>
          k === 'DatasetGroupArn' ? f.datasetGroupArn : k === 'PredictorArn' ? f.predictorArn : k === 'Status' ? status(ctx, KINDS.forecast, f.arn).Status : undefined,
        );
        const p = page(ctx, all, input);
        return {
          Forecasts: p.items.map((f) => ({
            ForecastArn: f.arn,
            ForecastName: f.name,
            PredictorArn: f.predictorArn,
            CreatedUsingAutoPredictor: true,
            DatasetGroupArn: f.datasetGroupArn,
            Status: status(ctx, KINDS.forecast, f.arn).Status,
            CreationTime: f.createdAt,
            LastModificationTime: status(ctx, KINDS.forecast, f.arn).LastModificationTime,
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    DeleteForecast: operation({
      input: z.object({ ForecastArn: arn }),
      handler(input, ctx: Ctx) {
        const f = get(ctx, ctx.state.forecasts, 'forecast', input.ForecastArn);
        const exporting = [...ctx.state.exportJobs.values()].find((e) => e.forecastArn === input.ForecastArn && live(ctx, KINDS.export, e.arn));
        if (exporting) throw ctx.error('ResourceInUseException', `The forecast ${input.ForecastArn} is being exported by ${exporting.arn}`);
        startDeletion(ctx, 'forecasts', f.arn, 'forecast', 60_000 + f.items.length * 10);
        return {};
      },
    }),
    CreateForecastExportJob: operation({
      input: z.object({
        ForecastExportJobName: name,
        ForecastArn: arn,
        Destination: z.object({ S3Config: z.object({ Path: z.string().min(1), RoleArn: arn, KMSKeyArn: arn.optional() }) }),
        Tags: tags,
        Format: z.enum(['CSV', 'PARQUET']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const f = get(ctx, ctx.state.forecasts, 'forecast', input.ForecastArn);
        const a = ctx.arn(`forecast-export-job/${f.name}/${input.ForecastExportJobName}`);
        exists(ctx, ctx.state.exportJobs, a, 'forecast export job');
        if (status(ctx, KINDS.forecast, f.arn).Status !== 'ACTIVE') throw ctx.error('ResourceInUseException', `The forecast ${f.arn} is not ACTIVE`);
        const loc = parseS3Uri(input.Destination.S3Config.Path);
        if (!loc) throw ctx.error('InvalidInputException', `${input.Destination.S3Config.Path} is not a valid S3 path`);
        const problem = (input.Format ?? 'CSV') === 'PARQUET' ? 'This emulator exports CSV only' : !ctx.state.s3.buckets.has(loc.bucket) ? `The S3 bucket ${loc.bucket} does not exist` : undefined;
        ctx.state.exportJobs.set(a, { name: input.ForecastExportJobName, arn: a, forecastArn: f.arn, path: input.Destination.S3Config.Path, roleArn: input.Destination.S3Config.RoleArn, format: input.Format ?? 'CSV', createdAt: ctx.now(), files: [] });
        setTags(ctx, a, input.Tags);
        const runningMs = 5 * 60_000 + f.items.length * 20;
        ctx.jobs.start(exportLifecycle(runningMs, problem ? 'CREATE_FAILED' : 'ACTIVE'), a, { endsAtMs: ctx.nowMs() + 30_000 + runningMs, ...(problem ? { problem } : {}) });
        return { ForecastExportJobArn: a };
      },
    }),
    DescribeForecastExportJob: operation({
      input: z.object({ ForecastExportJobArn: arn }),
      handler(input, ctx: Ctx) {
        const e = get(ctx, ctx.state.exportJobs, 'forecast export job', input.ForecastExportJobArn);
        const s = status(ctx, KINDS.export, e.arn);
        const job = ctx.jobs.get(KINDS.export, e.arn);
        return {
          ForecastExportJobArn: e.arn,
          ForecastExportJobName: e.name,
          ForecastArn: e.forecastArn,
          Destination: { S3Config: { Path: e.path, RoleArn: e.roleArn } },
          ...s,
          ...(s.Status === 'CREATE_FAILED' ? { Message: (job?.data.problem as string | undefined) ?? job?.failureReason } : {}),
          CreationTime: e.createdAt,
          Format: e.format,
        };
      },
    }),
    ListForecastExportJobs: operation({
      input: z.object({ ...list, Filters: filters }),
      handler(input, ctx: Ctx) {
        const all = applyFilters([...ctx.state.exportJobs.values()], input.Filters, (e, k) => (k === 'ForecastArn' ? e.forecastArn : k === 'Status' ? status(ctx, KINDS.export, e.arn).Status : undefined));
        const p = page(ctx, all, input);
        return {
          ForecastExportJobs: p.items.map((e) => ({
            ForecastExportJobArn: e.arn,
            ForecastExportJobName: e.name,
            Destination: { S3Config: { Path: e.path, RoleArn: e.roleArn } },
            Status: status(ctx, KINDS.export, e.arn).Status,
            CreationTime: e.createdAt,
            LastModificationTime: status(ctx, KINDS.export, e.arn).LastModificationTime,
          })),
          ...(p.next ? { NextToken: p.next } : {}),
        };
      },
    }),
    DeleteForecastExportJob: operation({
      input: z.object({ ForecastExportJobArn: arn }),
      handler(input, ctx: Ctx) {
        startDeletion(ctx, 'exportJobs', get(ctx, ctx.state.exportJobs, 'forecast export job', input.ForecastExportJobArn).arn, 'forecast export job');
        return {};
      },
    }),
    TagResource: operation({
      input: z.object({ ResourceArn: arn, Tags: z.array(z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) })).max(200) }),
      handler(input, ctx: Ctx) {
        if (!resourceExists(ctx, input.ResourceArn)) throw notFound(ctx, 'resource', input.ResourceArn);
        setTags(ctx, input.ResourceArn, input.Tags);
        return {};
      },
    }),
    UntagResource: operation({
      input: z.object({ ResourceArn: arn, TagKeys: z.array(z.string()).max(200) }),
      handler(input, ctx: Ctx) {
        if (!resourceExists(ctx, input.ResourceArn)) throw notFound(ctx, 'resource', input.ResourceArn);
        const t = { ...(ctx.state.tags.get(input.ResourceArn) ?? {}) };
        for (const k of input.TagKeys) delete t[k];
        ctx.state.tags.set(input.ResourceArn, t);
        return {};
      },
    }),
    ListTagsForResource: operation({
      input: z.object({ ResourceArn: arn }),
      handler(input, ctx: Ctx) {
        if (!resourceExists(ctx, input.ResourceArn)) throw notFound(ctx, 'resource', input.ResourceArn);
        return { Tags: Object.entries(ctx.state.tags.get(input.ResourceArn) ?? {}).map(([Key, Value]) => ({ Key, Value })) };
      },
    }),
  },
});

function resourceExists(ctx: Ctx, resourceArn: string): boolean {
  const s = ctx.state;
  return [s.datasetGroups, s.datasets, s.importJobs, s.predictors, s.forecasts, s.exportJobs].some((m: Map<string, unknown>) => m.has(resourceArn));
}

