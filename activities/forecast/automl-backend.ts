/**
 * The SageMaker AutoML V2 backend of forecast retraining, the same operations as the Forecast backend: AutoML has no
 * datasets, so "imports" read the end of this run's AutoML table (the ETL's `automl_training.csv`); a challenger is an
 * AutoML job on the whole table (AutoML has no retrain: a job from the champion is a new job, tagged with the champion
 * it challenges, and the comparison is the same); a forecast is a model from the champion's best candidate
 * (InferenceContainers) and a batch transform of the latest table writing quantiles to the export prefix. Names come
 * from the run key; jobs are recognised by name prefix and their `mlops:*` tags, as predictors are.
 * AutoML jobs and transform jobs cannot be deleted in SageMaker: cleanup deletes the models of jobs no longer kept.
 */
import {
  AddTagsCommand,
  CreateAutoMLJobV2Command,
  CreateModelCommand,
  CreateTransformJobCommand,
  DeleteModelCommand,
  DescribeAutoMLJobV2Command,
  DescribeTransformJobCommand,
  ListAutoMLJobsCommand,
  ListTagsCommand,
  type AutoMLCandidate,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ForecastFailure, forecastFailure } from '../../workflows/forecast/failures';
import { datasetsUri, exportUri, segmentNames, type ForecastPipelineConfig, type Metrics, type ModelRecord } from '../../workflows/forecast/model';
import { allPages, heartbeat } from '../recovery/paging';
import { aws, createOrAdopt, isAwsError, classifyAwsError } from './aws-errors';
import { DATA_END_TAG, PROMOTED_AT_TAG, ROLE_TAG, RUN_TAG, SEGMENT_TAG, type ForecastBackend, type SegmentDatasets } from './forecast-backend';

/** The tag naming the champion a challenger job was trained against (AutoML's stand-in for ReferencePredictorArn). */
export const CHALLENGES_TAG = 'mlops:challenges';
/** The ETL's table for AutoML, and its columns. */
export const AUTOML_TABLE = 'automl_training.csv';
const COLUMNS = { TargetAttributeName: 'demand', TimestampAttributeName: 'timestamp', ItemIdentifierAttributeName: 'item_id' };
const TRANSFORM_INSTANCE = 'ml.m5.xlarge';

const nameOf = (arn: string) => arn.split('/').pop() ?? arn;
/** Forecast's `0.1` is AutoML's `p10`. */
export const quantileName = (t: string) => `p${Math.round(Number(t) * 100)}`;

/** AutoML's name of a comparison metric (`wQL` is AverageWeightedQuantileLoss). */
const objectiveOf = (m: ForecastPipelineConfig['retrain']['metric']) => (m === 'wQL' ? 'AverageWeightedQuantileLoss' : m);

/** SageMaker names of one run of one segment: letters, digits and hyphens (jobs at most 32, models and transforms 63). */
export function automlNames(config: Pick<ForecastPipelineConfig, 'namePrefix'>, segment: string, runKey: string) {
  const job = segmentNames(config, segment, runKey).automlJob;
  return { job, prefix: segmentNames(config, segment, '').automlJob, model: (jobName: string) => `${jobName}-model`, transform: `${job}-forecast` };
}

export function metricsOfCandidate(c: AutoMLCandidate | undefined): Metrics {
  const m = new Map((c?.CandidateProperties?.CandidateMetrics ?? []).map((d) => [d.StandardMetricName ?? d.MetricName, d.Value ?? NaN]));
  return { RMSE: m.get('RMSE') ?? NaN, WAPE: m.get('WAPE') ?? NaN, MAPE: m.get('MAPE') ?? NaN, MASE: m.get('MASE') ?? NaN, wQL: m.get('AverageWeightedQuantileLoss') ?? NaN };
}

export function createAutoMLBackend(sm: SageMakerClient, s3: S3Client): ForecastBackend {
  async function tagsOf(arn: string): Promise<Record<string, string>> {
    const r = await aws(`ListTags ${arn}`, () => sm.send(new ListTagsCommand({ ResourceArn: arn })));
    return Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function describe(jobArn: string) {
    return aws(`DescribeAutoMLJobV2 ${jobArn}`, () => sm.send(new DescribeAutoMLJobV2Command({ AutoMLJobName: nameOf(jobArn) })));
  }

  async function modelRecord(jobArn: string): Promise<ModelRecord> {
    const d = await describe(jobArn);
    const tags = await tagsOf(jobArn);
    return {
      id: jobArn,
      createdAt: (d.CreationTime ?? new Date(0)).toISOString(),
      dataEnd: tags[DATA_END_TAG] ?? '',
      metrics: metricsOfCandidate(d.BestCandidate),
      ...(tags[RUN_TAG] ? { runKey: tags[RUN_TAG] } : {}),
    };
  }

  /** The segment's jobs (name prefix, then the segment tag: a prefix may be another segment's too). */
  async function jobsOf(config: ForecastPipelineConfig, segment: string) {
    const prefix = automlNames(config, segment, '').prefix;
    const listed = await allPages(async (token) => {
      const r = await aws('ListAutoMLJobs', () => sm.send(new ListAutoMLJobsCommand({ NameContains: prefix, NextToken: token, MaxResults: 100 })));
      return { items: r.AutoMLJobSummaries ?? [], next: r.NextToken };
    });
    const out: { arn: string; name: string; status: string; createdAt: number; tags: Record<string, string> }[] = [];
    for (const j of listed) {
      if (!j.AutoMLJobArn || !j.AutoMLJobName?.startsWith(prefix)) continue;
      const tags = await tagsOf(j.AutoMLJobArn);
      heartbeat();
      if (tags[SEGMENT_TAG] !== segment) continue;
      out.push({ arn: j.AutoMLJobArn, name: j.AutoMLJobName, status: j.AutoMLJobStatus ?? '', createdAt: j.CreationTime?.getTime() ?? 0, tags });
    }
    return out;
  }

  const tableUri = (config: ForecastPipelineConfig, runKey: string, segment: string) => `${datasetsUri(config, runKey, segment)}${AUTOML_TABLE}`;

  /** This run's table, or (a promotion, which runs no ETL) the segment's newest: the latest data, as a Forecast forecast uses. */
  async function latestTable(config: ForecastPipelineConfig, segment: string, runKey: string): Promise<string> {
    const objects = await allPages(async (token) => {
      const r = await aws('ListObjectsV2', () => s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.datasetsPrefix, ContinuationToken: token })));
      return { items: r.Contents ?? [], next: r.NextContinuationToken };
    });
    const tables = objects.filter((o) => o.Key?.endsWith(`/${segment}/${AUTOML_TABLE}`));
    const mine = tableUri(config, runKey, segment);
    if (tables.some((o) => `s3://${config.bucket}/${o.Key ?? ''}` === mine)) return mine;
    const newest = tables.sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))[0];
    if (!newest?.Key) throw forecastFailure(ForecastFailure.NotFound, `no AutoML table of segment ${segment} under s3://${config.bucket}/${config.datasetsPrefix}`);
    return `s3://${config.bucket}/${newest.Key}`;
  }

  return {
    /** AutoML reads its table from S3: there is nothing to create per segment. */
    async ensureDatasets(_config: ForecastPipelineConfig, _segment: string): Promise<SegmentDatasets> {
      return { datasetGroupArn: '', datasets: { target: '', related: '', metadata: '' } };
    },

    /** The "import" is this run's table, as an S3 ARN (so the dispatcher knows the backend from it). */
    async startImports(config: ForecastPipelineConfig, segment: string, runKey: string, _ds: SegmentDatasets): Promise<string[]> {
      return [tableUri(config, runKey, segment).replace(/^s3:\/\//, 'arn:aws:s3:::')];
    },

    /** The table's last timestamp (checked for the columns AutoML is told about); a table that is not there failed the ETL's promise. */
    async waitImports(importArns: string[]): Promise<{ dataEnd: string }> {
      let dataEnd = '';
      for (const arn of importArns) {
        const [bucket, ...key] = arn.replace(/^arn:aws[a-z-]*:s3:::/, '').split('/');
        let text: string;
        try {
          const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }));
          text = (await r.Body?.transformToString()) ?? '';
        } catch (err) {
          if (isAwsError(err, 'NoSuchKey')) throw forecastFailure(ForecastFailure.ImportFailed, `the AutoML table s3://${bucket}/${key.join('/')} is missing: did the ETL write it?`);
          throw classifyAwsError(err, `GetObject s3://${bucket}/${key.join('/')}`);
        }
        const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
        const header = (lines.shift() ?? '').split(',');
        const missing = Object.values(COLUMNS).filter((c) => !header.includes(c));
        if (missing.length > 0) throw forecastFailure(ForecastFailure.ImportFailed, `the AutoML table ${arn} has no column ${missing.join(', ')} (header: ${header.join(',')})`);
        const t = header.indexOf(COLUMNS.TimestampAttributeName);
        for (const l of lines) {
          const v = l.split(',')[t] ?? '';
          if (v > dataEnd) dataEnd = v;
        }
      }
      return { dataEnd };
    },

    /** The Completed job tagged champion (the latest promoted if a crash left two). */
    async findChampion(config: ForecastPipelineConfig, segment: string): Promise<ModelRecord | undefined> {
      let best: { arn: string; at: string } | undefined;
      for (const j of await jobsOf(config, segment)) {
        if (j.status !== 'Completed' || j.tags[ROLE_TAG] !== 'champion') continue;
        const at = j.tags[PROMOTED_AT_TAG] ?? '';
        if (!best || at > best.at) best = { arn: j.arn, at };
      }
      return best ? modelRecord(best.arn) : undefined;
    },

    /** This run's AutoML job on the whole table (a "retrain" is a new job, tagged with the champion it challenges), or adopts it. */
    async startChallenger(config: ForecastPipelineConfig, segment: string, runKey: string, dataEnd: string, _datasetGroupArn: string, championId?: string): Promise<string> {
      const name = automlNames(config, segment, runKey).job;
      const tags = [
        { Key: SEGMENT_TAG, Value: segment },
        { Key: RUN_TAG, Value: runKey },
        { Key: DATA_END_TAG, Value: dataEnd },
        { Key: ROLE_TAG, Value: 'challenger' },
        ...(championId ? [{ Key: CHALLENGES_TAG, Value: nameOf(championId) }] : []),
      ];
      const r = await createOrAdopt(
        `CreateAutoMLJobV2 ${name}`,
        () =>
          sm.send(
            new CreateAutoMLJobV2Command({
              AutoMLJobName: name,
              AutoMLJobInputDataConfig: [{ ChannelType: 'training', ContentType: 'text/csv;header=present', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: tableUri(config, runKey, segment) } } }],
              OutputDataConfig: { S3OutputPath: `s3://${config.bucket}/${config.exportPrefix}automl/${segment}/` },
              AutoMLProblemTypeConfig: {
                TimeSeriesForecastingJobConfig: {
                  ForecastFrequency: config.frequency,
                  ForecastHorizon: config.horizon,
                  ForecastQuantiles: config.forecastTypes.filter((t) => t !== 'mean').map(quantileName),
                  TimeSeriesConfig: COLUMNS,
                },
              },
              AutoMLJobObjective: { MetricName: objectiveOf(config.retrain.metric) },
              RoleArn: config.roleArn,
              Tags: tags,
            }),
          ),
        'ResourceInUse',
      );
      return r?.AutoMLJobArn ?? (await describe(name)).AutoMLJobArn ?? name;
    },

    /** "Not yet" while the job runs; its record (the best candidate's backtest metrics) once Completed. */
    async waitChallenger(jobArn: string): Promise<ModelRecord> {
      const d = await describe(jobArn);
      const s = d.AutoMLJobStatus;
      if (s === 'Failed' || s === 'Stopped') throw forecastFailure(ForecastFailure.TrainingFailed, `the AutoML job ${jobArn} ended ${s}: ${d.FailureReason ?? 'no reason given'}`);
      if (s !== 'Completed') throw forecastFailure(ForecastFailure.NotReady, `the AutoML job ${jobArn} is ${s ?? 'unknown'} (${d.AutoMLJobSecondaryStatus ?? '?'})`);
      if (!d.BestCandidate) throw forecastFailure(ForecastFailure.TrainingFailed, `the AutoML job ${jobArn} completed without a best candidate`);
      return modelRecord(jobArn);
    },

    /** The decision as tags on the jobs: the new champion first, then the old one retired (a crash between leaves two, the later wins). */
    async recordRoles(promotedId: string | undefined, formerChampionId: string | undefined, rejectedId: string | undefined, at: string): Promise<void> {
      const tag = (arn: string, t: { Key: string; Value: string }[]) => aws(`AddTags ${arn}`, () => sm.send(new AddTagsCommand({ ResourceArn: arn, Tags: t })));
      if (promotedId) {
        await tag(promotedId, [{ Key: ROLE_TAG, Value: 'champion' }, { Key: PROMOTED_AT_TAG, Value: at }]);
        if (formerChampionId && formerChampionId !== promotedId) await tag(formerChampionId, [{ Key: ROLE_TAG, Value: 'retired' }]);
      }
      if (rejectedId) await tag(rejectedId, [{ Key: ROLE_TAG, Value: 'rejected' }]);
    },

    /** A model from the job's best candidate (created once per job, adopted after), and this run's batch transform of the latest table. */
    async startForecast(config: ForecastPipelineConfig, segment: string, runKey: string, modelId: string): Promise<string> {
      const names = automlNames(config, segment, runKey);
      const d = await describe(modelId);
      const containers = d.BestCandidate?.InferenceContainers ?? [];
      if (containers.length === 0) throw forecastFailure(ForecastFailure.ForecastFailed, `the AutoML job ${modelId} has no best candidate with inference containers`);
      const model = names.model(nameOf(modelId));
      try {
        await sm.send(new CreateModelCommand({ ModelName: model, Containers: containers, ExecutionRoleArn: config.roleArn, Tags: [{ Key: SEGMENT_TAG, Value: segment }] }));
      } catch (err) {
        // SageMaker answers a duplicate model with a ValidationException: "Cannot create already existing model".
        if (!(isAwsError(err, 'ValidationException') && /already existing model/i.test((err as Error).message))) throw classifyAwsError(err, `CreateModel ${model}`);
      }
      const input = await latestTable(config, segment, runKey);
      const r = await createOrAdopt(
        `CreateTransformJob ${names.transform}`,
        () =>
          sm.send(
            new CreateTransformJobCommand({
              TransformJobName: names.transform,
              ModelName: model,
              TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: input } }, ContentType: 'text/csv', SplitType: 'None' },
              TransformOutput: { S3OutputPath: exportUri(config, runKey, segment), AssembleWith: 'Line' },
              TransformResources: { InstanceType: TRANSFORM_INSTANCE, InstanceCount: 1 },
              Tags: [{ Key: RUN_TAG, Value: runKey }, { Key: SEGMENT_TAG, Value: segment }],
            }),
          ),
        'ResourceInUse',
      );
      if (r?.TransformJobArn) return r.TransformJobArn;
      const t = await aws(`DescribeTransformJob ${names.transform}`, () => sm.send(new DescribeTransformJobCommand({ TransformJobName: names.transform })));
      return t.TransformJobArn ?? names.transform;
    },

    /** "Not yet" while the transform runs; the files it wrote once Completed (the transform is its own export). */
    async waitForecast(config: ForecastPipelineConfig, segment: string, runKey: string, forecastId: string): Promise<{ exportId: string; files: string[] }> {
      const t = await aws(`DescribeTransformJob ${forecastId}`, () => sm.send(new DescribeTransformJobCommand({ TransformJobName: nameOf(forecastId) })));
      if (t.TransformJobStatus === 'Failed' || t.TransformJobStatus === 'Stopped') {
        throw forecastFailure(ForecastFailure.ForecastFailed, `the batch transform ${forecastId} ended ${t.TransformJobStatus}: ${t.FailureReason ?? 'no reason given'}`);
      }
      if (t.TransformJobStatus !== 'Completed') throw forecastFailure(ForecastFailure.NotReady, `the batch transform ${forecastId} is ${t.TransformJobStatus ?? 'unknown'}`);
      const destination = exportUri(config, runKey, segment);
      const prefix = destination.replace(/^s3:\/\/[^/]+\//, '');
      const listed = await aws(`ListObjectsV2 ${destination}`, () => s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix })));
      return { exportId: forecastId, files: (listed.Contents ?? []).map((o) => `s3://${config.bucket}/${o.Key ?? ''}`) };
    },

    /** Keeps the champion and the newest `keepLast` other jobs; deletes the models of the rest (jobs and transforms cannot be deleted). */
    async cleanupSegment(config: ForecastPipelineConfig, segment: string, championId: string, _ds: SegmentDatasets): Promise<{ deleted: string[] }> {
      const finished = (await jobsOf(config, segment)).filter((j) => ['Completed', 'Failed', 'Stopped'].includes(j.status)).sort((a, b) => b.createdAt - a.createdAt);
      const kept = new Set([championId, ...finished.filter((j) => j.arn !== championId).slice(0, config.retrain.keepLast).map((j) => j.arn)]);
      const deleted: string[] = [];
      for (const j of finished) {
        if (kept.has(j.arn)) continue;
        const model = automlNames(config, segment, '').model(j.name);
        try {
          await sm.send(new DeleteModelCommand({ ModelName: model }));
          deleted.push(model);
        } catch (err) {
          if (!(isAwsError(err, 'ValidationException') && /could not find model/i.test((err as Error).message))) throw classifyAwsError(err, `DeleteModel ${model}`);
        }
      }
      return { deleted };
    },
  };
}
