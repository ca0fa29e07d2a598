/**
 * The Amazon Forecast backend of forecast retraining: per segment a dataset group with the three RETAIL datasets,
 * one import of each per run, auto predictors (retrained from the champion), forecasts and their exports. Every
 * resource is named from the run key (see `segmentNames`), so a retry adopts what an earlier attempt created; the
 * champion is the predictor tagged `mlops:role=champion`, so the record lives with the predictor itself.
 */
import {
  CreateAutoPredictorCommand,
  CreateDatasetCommand,
  CreateDatasetGroupCommand,
  CreateDatasetImportJobCommand,
  CreateForecastCommand,
  CreateForecastExportJobCommand,
  DeleteDatasetImportJobCommand,
  DeleteForecastCommand,
  DeleteForecastExportJobCommand,
  DeletePredictorCommand,
  DescribeAutoPredictorCommand,
  DescribeDatasetImportJobCommand,
  DescribeForecastCommand,
  DescribeForecastExportJobCommand,
  GetAccuracyMetricsCommand,
  ListDatasetGroupsCommand,
  ListDatasetImportJobsCommand,
  ListDatasetsCommand,
  ListForecastExportJobsCommand,
  ListForecastsCommand,
  ListPredictorsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  type ForecastClient,
  type Schema,
} from '@aws-sdk/client-forecast';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ForecastFailure, forecastFailure } from '../../workflows/forecast/failures';
import { datasetsUri, exportUri, segmentNames, type ForecastPipelineConfig, type Metrics, type ModelRecord } from '../../workflows/forecast/model';
import { allPages, heartbeat, previousAttemptDetails } from '../recovery/paging';
import { aws, classifyAwsError, createOrAdopt, isAwsError } from './aws-errors';

export const ROLE_TAG = 'mlops:role';
export const SEGMENT_TAG = 'mlops:segment';
export const RUN_TAG = 'mlops:run';
export const DATA_END_TAG = 'mlops:data-end';
export const PROMOTED_AT_TAG = 'mlops:promoted-at';

type DatasetKind = 'target' | 'related' | 'metadata';
const KINDS: DatasetKind[] = ['target', 'related', 'metadata'];

/** The schemas of the example ETL's files (column order = attribute order). */
const SCHEMAS: Record<DatasetKind, { type: 'TARGET_TIME_SERIES' | 'RELATED_TIME_SERIES' | 'ITEM_METADATA'; file: string; schema: Schema }> = {
  target: {
    type: 'TARGET_TIME_SERIES',
    file: 'target_time_series.csv',
    schema: { Attributes: [{ AttributeName: 'timestamp', AttributeType: 'timestamp' }, { AttributeName: 'item_id', AttributeType: 'string' }, { AttributeName: 'demand', AttributeType: 'float' }] },
  },
  related: {
    type: 'RELATED_TIME_SERIES',
    file: 'related_time_series.csv',
    schema: {
      Attributes: [
        { AttributeName: 'timestamp', AttributeType: 'timestamp' },
        { AttributeName: 'item_id', AttributeType: 'string' },
        { AttributeName: 'discount', AttributeType: 'float' },
        { AttributeName: 'inventory', AttributeType: 'float' },
        { AttributeName: 'temperature', AttributeType: 'float' },
      ],
    },
  },
  metadata: {
    type: 'ITEM_METADATA',
    file: 'item_metadata.csv',
    schema: { Attributes: [{ AttributeName: 'item_id', AttributeType: 'string' }, { AttributeName: 'category', AttributeType: 'string' }, { AttributeName: 'store', AttributeType: 'string' }] },
  },
};

export interface SegmentDatasets {
  datasetGroupArn: string;
  datasets: Record<DatasetKind, string>;
}

export function createForecastBackend(fc: ForecastClient, s3: S3Client) {
  async function tagsOf(arn: string): Promise<Record<string, string>> {
    const r = await aws(`ListTagsForResource ${arn}`, () => fc.send(new ListTagsForResourceCommand({ ResourceArn: arn })));
    return Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function groupArnOf(name: string): Promise<string | undefined> {
    const groups = await allPages(async (token) => {
      const r = await aws('ListDatasetGroups', () => fc.send(new ListDatasetGroupsCommand({ NextToken: token, MaxResults: 100 })));
      return { items: r.DatasetGroups ?? [], next: r.NextToken };
    });
    return groups.find((g) => g.DatasetGroupName === name)?.DatasetGroupArn;
  }

  async function predictorsOf(groupArn: string) {
    return allPages(async (token) => {
      const r = await aws('ListPredictors', () => fc.send(new ListPredictorsCommand({ Filters: [{ Key: 'DatasetGroupArn', Value: groupArn, Condition: 'IS' }], NextToken: token, MaxResults: 100 })));
      return { items: r.Predictors ?? [], next: r.NextToken };
    });
  }

  async function metricsOf(predictorArn: string): Promise<Metrics> {
    const r = await aws(`GetAccuracyMetrics ${predictorArn}`, () => fc.send(new GetAccuracyMetricsCommand({ PredictorArn: predictorArn })));
    const m = r.PredictorEvaluationResults?.[0]?.TestWindows?.find((w) => w.EvaluationType === 'SUMMARY')?.Metrics ?? r.PredictorEvaluationResults?.[0]?.TestWindows?.[0]?.Metrics;
    const e = m?.ErrorMetrics?.find((x) => x.ForecastType === 'mean') ?? m?.ErrorMetrics?.[0];
    return { RMSE: m?.RMSE ?? e?.RMSE ?? NaN, WAPE: e?.WAPE ?? NaN, MAPE: e?.MAPE ?? NaN, MASE: e?.MASE ?? NaN, wQL: m?.AverageWeightedQuantileLoss ?? NaN };
  }

  async function modelRecord(predictorArn: string): Promise<ModelRecord> {
    const d = await aws(`DescribeAutoPredictor ${predictorArn}`, () => fc.send(new DescribeAutoPredictorCommand({ PredictorArn: predictorArn })));
    const tags = await tagsOf(predictorArn);
    return {
      id: predictorArn,
      createdAt: (d.CreationTime ?? new Date(0)).toISOString(),
      dataEnd: tags[DATA_END_TAG] ?? '',
      metrics: await metricsOf(predictorArn),
      ...(tags[RUN_TAG] ? { runKey: tags[RUN_TAG] } : {}),
    };
  }

  return {
    /** The segment's dataset group and its three datasets, created or adopted. */
    async ensureDatasets(config: ForecastPipelineConfig, segment: string): Promise<SegmentDatasets> {
      const names = segmentNames(config, segment, '');
      const datasets = {} as Record<DatasetKind, string>;
      const existing = await allPages(async (token) => {
        const r = await aws('ListDatasets', () => fc.send(new ListDatasetsCommand({ NextToken: token, MaxResults: 100 })));
        return { items: r.Datasets ?? [], next: r.NextToken };
      });
      for (const kind of KINDS) {
        const s = SCHEMAS[kind];
        const name = names.dataset(kind);
        const created = await createOrAdopt(`CreateDataset ${name}`, () =>
          fc.send(
            new CreateDatasetCommand({
              DatasetName: name,
              Domain: 'RETAIL',
              DatasetType: s.type,
              ...(kind === 'metadata' ? {} : { DataFrequency: config.frequency }),
              Schema: s.schema,
              Tags: [{ Key: SEGMENT_TAG, Value: segment }],
            }),
          ),
        );
        const arn = created?.DatasetArn ?? existing.find((d) => d.DatasetName === name)?.DatasetArn;
        if (!arn) throw forecastFailure(ForecastFailure.AwsUnavailable, `dataset ${name} exists but is not listed yet`);
        datasets[kind] = arn;
      }
      const created = await createOrAdopt(`CreateDatasetGroup ${names.datasetGroup}`, () =>
        fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: names.datasetGroup, Domain: 'RETAIL', DatasetArns: KINDS.map((k) => datasets[k]), Tags: [{ Key: SEGMENT_TAG, Value: segment }] })),
      );
      const datasetGroupArn = created?.DatasetGroupArn ?? (await groupArnOf(names.datasetGroup));
      if (!datasetGroupArn) throw forecastFailure(ForecastFailure.AwsUnavailable, `dataset group ${names.datasetGroup} exists but is not listed yet`);
      return { datasetGroupArn, datasets };
    },

    /** One import of each dataset from this run's ETL output (the whole history, as Forecast uses only the latest). */
    async startImports(config: ForecastPipelineConfig, segment: string, runKey: string, ds: SegmentDatasets): Promise<string[]> {
      const names = segmentNames(config, segment, runKey);
      const out: string[] = [];
      for (const kind of KINDS) {
        const name = names.importJob(kind);
        const datasetName = ds.datasets[kind].split('/').pop() ?? '';
        const arn = ds.datasets[kind].replace(/:dataset\/.*$/, `:dataset-import-job/${datasetName}/${name}`);
        await createOrAdopt(`CreateDatasetImportJob ${name}`, () =>
          fc.send(
            new CreateDatasetImportJobCommand({
              DatasetImportJobName: name,
              DatasetArn: ds.datasets[kind],
              DataSource: { S3Config: { Path: `${datasetsUri(config, runKey, segment)}${SCHEMAS[kind].file}`, RoleArn: config.roleArn } },
              ...(kind === 'metadata' ? {} : { TimestampFormat: 'yyyy-MM-dd' }),
              Tags: [{ Key: RUN_TAG, Value: runKey }],
            }),
          ),
        );
        out.push(arn);
      }
      return out;
    },

    /** "Not yet" until every import is ACTIVE; then the last timestamp of the target data. Polled by activity retries. */
    async waitImports(importArns: string[]): Promise<{ dataEnd: string }> {
      let dataEnd = '';
      for (const arn of importArns) {
        const d = await aws(`DescribeDatasetImportJob ${arn}`, () => fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: arn })));
        if (d.Status === 'CREATE_FAILED') throw forecastFailure(ForecastFailure.ImportFailed, `the import ${arn} failed: ${d.Message ?? 'no message'}`);
        if (d.Status !== 'ACTIVE') throw forecastFailure(ForecastFailure.NotReady, `the import ${arn} is ${d.Status ?? 'unknown'}`);
        const max = d.FieldStatistics?.timestamp?.Max;
        if (max && max > dataEnd) dataEnd = max;
      }
      return { dataEnd };
    },

    /** The segment's champion: the ACTIVE predictor tagged champion (the latest promoted if a crash left two). */
    async findChampion(config: ForecastPipelineConfig, segment: string): Promise<ModelRecord | undefined> {
      const groupArn = await groupArnOf(segmentNames(config, segment, '').datasetGroup);
      if (!groupArn) return undefined;
      let best: { arn: string; at: string } | undefined;
      for (const p of await predictorsOf(groupArn)) {
        if (p.Status !== 'ACTIVE' || !p.PredictorArn) continue;
        const tags = await tagsOf(p.PredictorArn);
        heartbeat();
        if (tags[ROLE_TAG] !== 'champion') continue;
        const at = tags[PROMOTED_AT_TAG] ?? '';
        if (!best || at > best.at) best = { arn: p.PredictorArn, at };
      }
      return best ? modelRecord(best.arn) : undefined;
    },

    /** Creates this run's predictor (a retrain of the champion when there is one), or adopts it. */
    async startChallenger(config: ForecastPipelineConfig, segment: string, runKey: string, dataEnd: string, datasetGroupArn: string, championId?: string): Promise<string> {
      const name = segmentNames(config, segment, runKey).predictor;
      const tags = [
        { Key: SEGMENT_TAG, Value: segment },
        { Key: RUN_TAG, Value: runKey },
        { Key: DATA_END_TAG, Value: dataEnd },
        { Key: ROLE_TAG, Value: 'challenger' },
      ];
      const input = championId
        ? { PredictorName: name, ReferencePredictorArn: championId, Tags: tags }
        : {
            PredictorName: name,
            ForecastHorizon: config.horizon,
            ForecastFrequency: config.frequency,
            ForecastTypes: config.forecastTypes,
            DataConfig: { DatasetGroupArn: datasetGroupArn },
            OptimizationMetric: config.retrain.metric === 'wQL' ? ('AverageWeightedQuantileLoss' as const) : config.retrain.metric,
            Tags: tags,
          };
      const r = await createOrAdopt(`CreateAutoPredictor ${name}`, () => fc.send(new CreateAutoPredictorCommand(input)));
      return r?.PredictorArn ?? datasetGroupArn.replace(/:dataset-group\/.*$/, `:predictor/${name}`);
    },

    /** "Not yet" while the predictor trains; its record (metrics from its backtest) once ACTIVE. Polled by activity retries. */
    async waitChallenger(predictorArn: string): Promise<ModelRecord> {
      const d = await aws(`DescribeAutoPredictor ${predictorArn}`, () => fc.send(new DescribeAutoPredictorCommand({ PredictorArn: predictorArn })));
      if (d.Status === 'CREATE_FAILED') throw forecastFailure(ForecastFailure.TrainingFailed, `the predictor ${predictorArn} failed: ${d.Message ?? 'no message'}`);
      if (d.Status !== 'ACTIVE') {
        throw forecastFailure(ForecastFailure.NotReady, `the predictor ${predictorArn} is ${d.Status ?? 'unknown'} (about ${d.EstimatedTimeRemainingInMinutes ?? '?'} minutes left)`);
      }
      return modelRecord(predictorArn);
    },

    /** Records the decision on the predictors: the new champion first, then the old one retired (a crash between leaves two, the later wins). */
    async recordRoles(promotedId: string | undefined, formerChampionId: string | undefined, rejectedId: string | undefined, at: string): Promise<void> {
      if (promotedId) {
        await aws(`TagResource ${promotedId}`, () => fc.send(new TagResourceCommand({ ResourceArn: promotedId, Tags: [{ Key: ROLE_TAG, Value: 'champion' }, { Key: PROMOTED_AT_TAG, Value: at }] })));
        if (formerChampionId && formerChampionId !== promotedId) {
          await aws(`TagResource ${formerChampionId}`, () => fc.send(new TagResourceCommand({ ResourceArn: formerChampionId, Tags: [{ Key: ROLE_TAG, Value: 'retired' }] })));
        }
      }
      if (rejectedId) await aws(`TagResource ${rejectedId}`, () => fc.send(new TagResourceCommand({ ResourceArn: rejectedId, Tags: [{ Key: ROLE_TAG, Value: 'rejected' }] })));
    },

    /** Creates this run's forecast with the model, or adopts it. */
    async startForecast(config: ForecastPipelineConfig, segment: string, runKey: string, modelId: string): Promise<string> {
      const name = segmentNames(config, segment, runKey).forecast;
      const r = await createOrAdopt(`CreateForecast ${name}`, () =>
        fc.send(new CreateForecastCommand({ ForecastName: name, PredictorArn: modelId, ForecastTypes: config.forecastTypes, Tags: [{ Key: RUN_TAG, Value: runKey }, { Key: SEGMENT_TAG, Value: segment }] })),
      );
      return r?.ForecastArn ?? modelId.replace(/:predictor\/.*$/, `:forecast/${name}`);
    },

    /** "Not yet" until the forecast is ACTIVE, then its export is started (or adopted) and waited for; the files it wrote. */
    async waitForecast(config: ForecastPipelineConfig, segment: string, runKey: string, forecastArn: string): Promise<{ exportId: string; files: string[] }> {
      const f = await aws(`DescribeForecast ${forecastArn}`, () => fc.send(new DescribeForecastCommand({ ForecastArn: forecastArn })));
      if (f.Status === 'CREATE_FAILED') throw forecastFailure(ForecastFailure.ForecastFailed, `the forecast ${forecastArn} failed: ${f.Message ?? 'no message'}`);
      if (f.Status !== 'ACTIVE') throw forecastFailure(ForecastFailure.NotReady, `the forecast ${forecastArn} is ${f.Status ?? 'unknown'}`);
      const names = segmentNames(config, segment, runKey);
      const destination = exportUri(config, runKey, segment);
      const created = await createOrAdopt(`CreateForecastExportJob ${names.exportJob}`, () =>
        fc.send(
          new CreateForecastExportJobCommand({
            ForecastExportJobName: names.exportJob,
            ForecastArn: forecastArn,
            Destination: { S3Config: { Path: destination, RoleArn: config.roleArn } },
            Tags: [{ Key: RUN_TAG, Value: runKey }],
          }),
        ),
      );
      const forecastName = forecastArn.split('/').pop() ?? '';
      const exportId = created?.ForecastExportJobArn ?? forecastArn.replace(/:forecast\/.*$/, `:forecast-export-job/${forecastName}/${names.exportJob}`);
      const e = await aws(`DescribeForecastExportJob ${exportId}`, () => fc.send(new DescribeForecastExportJobCommand({ ForecastExportJobArn: exportId })));
      if (e.Status === 'CREATE_FAILED') throw forecastFailure(ForecastFailure.ForecastFailed, `the export ${exportId} failed: ${e.Message ?? 'no message'}`);
      if (e.Status !== 'ACTIVE') throw forecastFailure(ForecastFailure.NotReady, `the export ${exportId} is ${e.Status ?? 'unknown'}`);
      const prefix = destination.replace(/^s3:\/\/[^/]+\//, '');
      const listed = await aws(`ListObjectsV2 ${destination}`, () => s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix })));
      return { exportId, files: (listed.Contents ?? []).map((o) => `s3://${config.bucket}/${o.Key ?? ''}`) };
    },

    /**
     * Keeps the champion and the newest `keepLast` other predictors, forecasts and imports of the segment; deletes the
     * rest (exports, then forecasts, then predictors, as Forecast's dependencies require). Forecast deletes
     * asynchronously (DELETE_PENDING, DELETE_IN_PROGRESS) and a parent cannot go while a child still exists, so each
     * attempt deletes what it can and answers "not yet" while anything it wants gone is still there: polled by the
     * activity's retries, it returns once all of it is gone, the deletions carried across attempts in the heartbeat
     * details.
     */
    async cleanupSegment(config: ForecastPipelineConfig, segment: string, championId: string, ds: SegmentDatasets): Promise<{ deleted: string[] }> {
      const keep = config.retrain.keepLast;
      const deleted = new Set(previousAttemptDetails<{ deleted: string[] }>()?.deleted ?? []);
      const waiting: string[] = [];
      const byNewest = <T extends { CreationTime?: Date }>(items: T[]) => [...items].sort((a, b) => (b.CreationTime?.getTime() ?? 0) - (a.CreationTime?.getTime() ?? 0));
      const finished = (s?: string) => s === 'ACTIVE' || s === 'CREATE_FAILED';
      const beingDeleted = (s?: string) => s === 'DELETE_PENDING' || s === 'DELETE_IN_PROGRESS';
      /** Deletes it unless it is already going; what is still there (being deleted, or held by a child) is waited for. */
      const remove = async (arn: string | undefined, status: string | undefined, what: string, call: () => Promise<unknown>): Promise<void> => {
        if (!arn) return;
        if (beingDeleted(status)) {
          waiting.push(arn);
          return;
        }
        try {
          await call();
        } catch (err) {
          if (isAwsError(err, 'ResourceNotFoundException')) return;
          if (isAwsError(err, 'ResourceInUseException')) {
            waiting.push(arn);
            return;
          }
          throw classifyAwsError(err, what);
        }
        // Deleted, but not gone yet: the next attempt sees it go.
        deleted.add(arn);
        waiting.push(arn);
        heartbeat({ deleted: [...deleted] });
      };
      const allPredictors = await predictorsOf(ds.datasetGroupArn);
      const predictors = byNewest(allPredictors).filter((p) => finished(p.Status));
      const kept = new Set([championId, ...predictors.filter((p) => p.PredictorArn !== championId).slice(0, keep).map((p) => p.PredictorArn)]);
      const allForecasts = byNewest(
        await allPages(async (token) => {
          const r = await aws('ListForecasts', () => fc.send(new ListForecastsCommand({ Filters: [{ Key: 'DatasetGroupArn', Value: ds.datasetGroupArn, Condition: 'IS' }], NextToken: token })));
          return { items: r.Forecasts ?? [], next: r.NextToken };
        }),
      );
      const keptForecasts = new Set(allForecasts.filter((f) => finished(f.Status)).slice(0, keep).map((f) => f.ForecastArn));
      for (const f of allForecasts) {
        if (!f.ForecastArn || !(finished(f.Status) || beingDeleted(f.Status)) || (keptForecasts.has(f.ForecastArn) && kept.has(f.PredictorArn))) continue;
        const exports = await aws('ListForecastExportJobs', () => fc.send(new ListForecastExportJobsCommand({ Filters: [{ Key: 'ForecastArn', Value: f.ForecastArn ?? '', Condition: 'IS' }] })));
        for (const e of exports.ForecastExportJobs ?? []) {
          await remove(e.ForecastExportJobArn, e.Status, 'DeleteForecastExportJob', () => fc.send(new DeleteForecastExportJobCommand({ ForecastExportJobArn: e.ForecastExportJobArn })));
        }
        await remove(f.ForecastArn, f.Status, 'DeleteForecast', () => fc.send(new DeleteForecastCommand({ ForecastArn: f.ForecastArn })));
        heartbeat({ deleted: [...deleted] });
      }
      for (const p of allPredictors) {
        if (!p.PredictorArn || kept.has(p.PredictorArn) || !(finished(p.Status) || beingDeleted(p.Status))) continue;
        await remove(p.PredictorArn, p.Status, 'DeletePredictor', () => fc.send(new DeletePredictorCommand({ PredictorArn: p.PredictorArn })));
      }
      for (const datasetArn of Object.values(ds.datasets)) {
        const imports = byNewest(
          (await aws('ListDatasetImportJobs', () => fc.send(new ListDatasetImportJobsCommand({ Filters: [{ Key: 'DatasetArn', Value: datasetArn, Condition: 'IS' }] })))).DatasetImportJobs ?? [],
        );
        const keptImports = new Set(imports.filter((i) => finished(i.Status)).slice(0, Math.max(keep, 1)).map((i) => i.DatasetImportJobArn));
        for (const i of imports) {
          if (!i.DatasetImportJobArn || keptImports.has(i.DatasetImportJobArn) || !(finished(i.Status) || beingDeleted(i.Status))) continue;
          await remove(i.DatasetImportJobArn, i.Status, 'DeleteDatasetImportJob', () => fc.send(new DeleteDatasetImportJobCommand({ DatasetImportJobArn: i.DatasetImportJobArn })));
        }
      }
      if (waiting.length > 0) {
        heartbeat({ deleted: [...deleted] });
        throw forecastFailure(ForecastFailure.NotReady, `cleanup waits for ${waiting.length} resources to be gone: ${waiting.slice(0, 3).join(', ')}${waiting.length > 3 ? ', ...' : ''}`);
      }
      return { deleted: [...deleted] };
    },
  };
}

export type ForecastBackend = ReturnType<typeof createForecastBackend>;
