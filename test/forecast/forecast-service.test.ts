/**
 * Emulated Amazon Forecast through the real @aws-sdk/client-forecast: RETAIL schemas, CSV and Parquet imports from S3 validated
 * with FieldStatistics, auto predictors trained by a real model with backtest metrics (predictable data scores better
 * than noise; new data changes the metrics), retrains that take half as long, forecasts and CSV export parts,
 * dependency rules on delete, limits and tags.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateAutoPredictorCommand,
  CreateDatasetCommand,
  CreateDatasetGroupCommand,
  CreateDatasetImportJobCommand,
  CreateForecastCommand,
  CreateForecastExportJobCommand,
  DeleteDatasetCommand,
  DeleteDatasetGroupCommand,
  DeleteDatasetImportJobCommand,
  DeleteForecastCommand,
  DeletePredictorCommand,
  DescribeAutoPredictorCommand,
  DescribeDatasetCommand,
  DescribeDatasetGroupCommand,
  DescribeDatasetImportJobCommand,
  DescribeForecastCommand,
  DescribeForecastExportJobCommand,
  ForecastClient,
  GetAccuracyMetricsCommand,
  ListDatasetImportJobsCommand,
  ListForecastsCommand,
  ListPredictorsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-forecast';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningEmulator } from '../../local/aws';
import { loadParquetWriter } from '../../common/esm-import';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

let emu: RunningEmulator;
let fc: ForecastClient;
let s3: S3Client;
const BUCKET = 'forecast-data';
const ROLE = 'arn:aws:iam::123456789012:role/forecast';

beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  await control(emu.endpoint, 'POST', '/reset');
  fc = new ForecastClient(clientConfig(emu.endpoint));
  s3 = new S3Client({ ...clientConfig(emu.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

const advance = (seconds: number) => control(emu.endpoint, 'POST', '/clock', { advanceSeconds: seconds });

/** Daily demand: a weekly pattern per item plus noise of the given size (deterministic). */
function targetCsv(items: number, days: number, noise: number, header = false): string {
  const rows = header ? ['item_id,timestamp,demand'] : [];
  let seed = 7;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  for (let i = 0; i < items; i++) {
    for (let d = 0; d < days; d++) {
      const date = new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      const weekly = [10, 12, 11, 13, 18, 25, 22][d % 7] as number;
      rows.push(`item_${i},${date},${Math.max(0, Math.round((weekly * (1 + i / 4) + noise * rand()) * 10) / 10)}`);
    }
  }
  return `${rows.join('\n')}\n`;
}

const TARGET_SCHEMA = {
  Attributes: [
    { AttributeName: 'item_id', AttributeType: 'string' as const },
    { AttributeName: 'timestamp', AttributeType: 'timestamp' as const },
    { AttributeName: 'demand', AttributeType: 'float' as const },
  ],
};

async function group(name: string): Promise<{ groupArn: string; datasetArn: string }> {
  const { DatasetArn } = await fc.send(new CreateDatasetCommand({ DatasetName: `${name}_target`, Domain: 'RETAIL', DatasetType: 'TARGET_TIME_SERIES', DataFrequency: 'D', Schema: TARGET_SCHEMA }));
  const { DatasetGroupArn } = await fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: name, Domain: 'RETAIL', DatasetArns: [DatasetArn as string] }));
  return { groupArn: DatasetGroupArn as string, datasetArn: DatasetArn as string };
}

async function importCsv(datasetArn: string, jobName: string, key: string, body: string): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const { DatasetImportJobArn } = await fc.send(
    new CreateDatasetImportJobCommand({ DatasetImportJobName: jobName, DatasetArn: datasetArn, DataSource: { S3Config: { Path: `s3://${BUCKET}/${key}`, RoleArn: ROLE } } }),
  );
  return DatasetImportJobArn as string;
}

async function predictor(name: string, groupArn: string, horizon = 14): Promise<string> {
  const r = await fc.send(new CreateAutoPredictorCommand({ PredictorName: name, ForecastHorizon: horizon, ForecastFrequency: 'D', DataConfig: { DatasetGroupArn: groupArn }, OptimizationMetric: 'RMSE' }));
  return r.PredictorArn as string;
}

async function rmse(predictorArn: string): Promise<number> {
  const m = await fc.send(new GetAccuracyMetricsCommand({ PredictorArn: predictorArn }));
  return m.PredictorEvaluationResults?.[0]?.TestWindows?.[0]?.Metrics?.RMSE ?? NaN;
}

/** Emulated minutes a resource took from creation to ACTIVE. */
async function trainingMinutes(predictorArn: string): Promise<number> {
  const d = await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: predictorArn }));
  return ((d.LastModificationTime?.getTime() ?? 0) - (d.CreationTime?.getTime() ?? 0)) / 60_000;
}

describe('datasets and imports', () => {
  it('checks a RETAIL schema, and validates CSV imports with FieldStatistics', async () => {
    const bad = await caught(
      fc.send(new CreateDatasetCommand({ DatasetName: 'bad', Domain: 'RETAIL', DatasetType: 'TARGET_TIME_SERIES', DataFrequency: 'D', Schema: { Attributes: TARGET_SCHEMA.Attributes.slice(0, 2) } })),
    );
    expect(bad.name).toBe('InvalidInputException');
    expect(bad.message).toMatch(/must contain the attribute demand/);
    const { datasetArn } = await group('shop');
    const ok = await importCsv(datasetArn, 'first', 'target/a.csv', targetCsv(3, 60, 2, true));
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: ok }))).Status).toBe('CREATE_PENDING');
    const badTs = await importCsv(datasetArn, 'badts', 'target/b.csv', 'item_0,2026/01/01,3\n');
    const badCols = await importCsv(datasetArn, 'badcols', 'target/c.csv', 'item_0,2026-01-01\n');
    const none = (await fc.send(new CreateDatasetImportJobCommand({ DatasetImportJobName: 'none', DatasetArn: datasetArn, DataSource: { S3Config: { Path: `s3://${BUCKET}/nothing/`, RoleArn: ROLE } } })))
      .DatasetImportJobArn as string;
    await advance(3600);
    const d = await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: ok }));
    expect(d.Status).toBe('ACTIVE');
    expect(d.FieldStatistics?.item_id).toMatchObject({ Count: 180, CountDistinct: 3, CountNull: 0 });
    expect(d.FieldStatistics?.timestamp).toMatchObject({ Min: '2026-01-01', Max: '2026-03-01' });
    expect(Number(d.FieldStatistics?.demand?.Max)).toBeGreaterThan(Number(d.FieldStatistics?.demand?.Min));
    expect(d.DataSize).toBeGreaterThan(0);
    const t = await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: badTs }));
    expect(t.Status).toBe('CREATE_FAILED');
    expect(t.Message).toMatch(/line 1: the timestamp "2026\/01\/01" does not match the format yyyy-MM-dd/);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: badCols }))).Message).toMatch(/has 2 columns, but the dataset's schema has 3/);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: none }))).Message).toMatch(/No files found/);
    // The dataset's data (and modification time) is the last ACTIVE import's.
    const ds = await fc.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }));
    expect(ds.LastModificationTime?.getTime()).toBe(d.LastModificationTime?.getTime());
    expect((await caught(importCsv(datasetArn, 'first', 'target/a.csv', 'x'))).name).toBe('ResourceAlreadyExistsException');
  });
});

/** A Parquet file of the target rows: timestamps as yyyy-MM-dd strings, or as a TIMESTAMP column. */
async function targetParquet(csv: string, timestamps: 'string' | 'timestamp', extra?: { name: string; data: unknown[] }): Promise<Buffer> {
  const rows = csv.trim().split('\n').map((l) => l.split(','));
  const { parquetWriteBuffer } = await loadParquetWriter();
  const columnData = [
    { name: 'item_id', data: rows.map((r) => r[0] as string), type: 'STRING' as const },
    timestamps === 'string'
      ? { name: 'timestamp', data: rows.map((r) => r[1] as string), type: 'STRING' as const }
      : { name: 'timestamp', data: rows.map((r) => new Date(`${r[1] as string}T00:00:00Z`)), type: 'TIMESTAMP' as const },
    { name: 'demand', data: rows.map((r) => Number(r[2])), type: 'DOUBLE' as const },
    ...(extra ? [{ ...extra, type: 'STRING' as const }] : []),
  ];
  return Buffer.from(parquetWriteBuffer({ columnData: columnData as Parameters<typeof parquetWriteBuffer>[0]['columnData'] }));
}

async function importParquet(datasetArn: string, jobName: string, path: string): Promise<string> {
  const r = await fc.send(new CreateDatasetImportJobCommand({ DatasetImportJobName: jobName, DatasetArn: datasetArn, Format: 'PARQUET', DataSource: { S3Config: { Path: path, RoleArn: ROLE } } }));
  return r.DatasetImportJobArn as string;
}

describe('Parquet imports', () => {
  it('reads Parquet files of a prefix, validates them as CSV, and trains the same model as on the same data in CSV', async () => {
    const csv = targetCsv(4, 84, 2);
    const [first, second] = [csv.trim().split('\n').slice(0, 200).join('\n'), csv.trim().split('\n').slice(200).join('\n')];
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pq/part-0.parquet', Body: await targetParquet(first as string, 'string') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pq/part-1.pqt', Body: await targetParquet(second as string, 'timestamp') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'pq/_SUCCESS.txt', Body: 'not data' }));
    const pq = await group('pq');
    const viaCsv = await group('viacsv');
    const ok = await importParquet(pq.datasetArn, 'i1', `s3://${BUCKET}/pq/`);
    const csvImport = await importCsv(viaCsv.datasetArn, 'i1', 'viacsv.csv', csv);
    // Parquet that breaks the schema fails as CSV would.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/ts.parquet', Body: await targetParquet('item_0,2026/01/01,3', 'string') }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/cols.parquet', Body: await targetParquet('item_0,2026-01-01,3', 'string', { name: 'extra', data: ['x'] }) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/csv.parquet', Body: csv }));
    const badTs = await importParquet(pq.datasetArn, 'badts', `s3://${BUCKET}/bad/ts.parquet`);
    const badCols = await importParquet(pq.datasetArn, 'badcols', `s3://${BUCKET}/bad/cols.parquet`);
    const notParquet = await importParquet(pq.datasetArn, 'notparquet', `s3://${BUCKET}/bad/csv.parquet`);
    await advance(3600);
    const d = await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: ok }));
    expect(d).toMatchObject({ Status: 'ACTIVE', Format: 'PARQUET' });
    expect(d.FieldStatistics?.item_id).toMatchObject({ Count: 4 * 84, CountDistinct: 4, CountNull: 0 });
    expect(d.FieldStatistics?.timestamp).toMatchObject({ Min: '2026-01-01', Max: '2026-03-25' });
    expect(d.FieldStatistics?.demand).toEqual((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: csvImport }))).FieldStatistics?.demand);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: badTs }))).Message).toMatch(/ts\.parquet row 1: the timestamp "2026\/01\/01" does not match the format yyyy-MM-dd/);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: badCols }))).Message).toMatch(/cols\.parquet row 1 has 4 columns, but the dataset's schema has 3/);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: notParquet }))).Message).toMatch(/csv\.parquet is not a Parquet file/);
    // The failed imports came later, but only an ACTIVE import is the dataset's data.
    const a = await predictor('pq_p', pq.groupArn);
    const b = await predictor('csv_p', viaCsv.groupArn);
    await advance(86_400);
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: a }))).DatasetImportJobArns).toEqual([ok]);
    expect(await rmse(a)).toBe(await rmse(b));
  });

  it('finds target items missing from Parquet item metadata', async () => {
    const { datasetArn } = await group('shop');
    const { DatasetArn: meta } = await fc.send(
      new CreateDatasetCommand({ DatasetName: 'shop_meta', Domain: 'RETAIL', DatasetType: 'ITEM_METADATA', Schema: { Attributes: [{ AttributeName: 'item_id', AttributeType: 'string' }, { AttributeName: 'category', AttributeType: 'string' }] } }),
    );
    const { parquetWriteBuffer } = await loadParquetWriter();
    const metadata = parquetWriteBuffer({ columnData: [{ name: 'item_id', data: ['item_0', 'item_1'], type: 'STRING' }, { name: 'category', data: ['bakery', null], type: 'STRING' }] });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'meta/items', Body: Buffer.from(metadata) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'target.parquet', Body: await targetParquet(targetCsv(3, 60, 1), 'string') }));
    const m = await importParquet(meta as string, 'm1', `s3://${BUCKET}/meta/`);
    await importParquet(datasetArn, 't1', `s3://${BUCKET}/target.parquet`);
    const { DatasetGroupArn } = await fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: 'withmeta', Domain: 'RETAIL', DatasetArns: [datasetArn, meta as string] }));
    await advance(3600);
    expect((await fc.send(new DescribeDatasetImportJobCommand({ DatasetImportJobArn: m }))).FieldStatistics?.category).toMatchObject({ Count: 2, CountNull: 1 });
    const p = await predictor('unknown', DatasetGroupArn as string);
    await advance(86_400);
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: p }))).Message).toMatch(/1 items of the target time series are not in the item metadata dataset: item_2/);
  });
});

describe('predictors', () => {
  it('trains a real model: predictable data backtests better than noise, metrics in the documented shape', async () => {
    const calm = await group('calm');
    const noisy = await group('noisy');
    await importCsv(calm.datasetArn, 'i1', 'calm.csv', targetCsv(4, 84, 1));
    await importCsv(noisy.datasetArn, 'i1', 'noisy.csv', targetCsv(4, 84, 30));
    await advance(3600);
    const a = await predictor('calm_p', calm.groupArn);
    expect((await caught(fc.send(new GetAccuracyMetricsCommand({ PredictorArn: a })))).name).toBe('ResourceInUseException');
    const b = await predictor('noisy_p', noisy.groupArn);
    await advance(61);
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: a }))).Status).toBe('CREATE_IN_PROGRESS');
    await advance(86_400);
    const described = await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: a }));
    expect(described.Status).toBe('ACTIVE');
    expect(described.DatasetImportJobArns).toHaveLength(1);
    const m = await fc.send(new GetAccuracyMetricsCommand({ PredictorArn: a }));
    expect(m.IsAutoPredictor).toBe(true);
    expect(m.OptimizationMetric).toBe('RMSE');
    const w = m.PredictorEvaluationResults?.[0]?.TestWindows?.[0];
    expect(w?.EvaluationType).toBe('SUMMARY');
    expect(w?.ItemCount).toBe(4);
    expect(w?.TestWindowStart?.toISOString().slice(0, 10)).toBe('2026-03-12');
    expect(w?.Metrics?.WeightedQuantileLosses?.map((l) => l.Quantile)).toEqual([0.1, 0.5, 0.9]);
    expect(w?.Metrics?.ErrorMetrics?.[0]).toMatchObject({ ForecastType: 'mean' });
    for (const k of ['WAPE', 'RMSE', 'MASE', 'MAPE'] as const) expect(w?.Metrics?.ErrorMetrics?.[0]?.[k]).toBeGreaterThan(0);
    expect(await rmse(a)).toBeLessThan(3);
    expect(await rmse(b)).toBeGreaterThan((await rmse(a)) * 2);
  });

  it('retrains from a reference predictor on the new data in half the time; new data changes the accuracy', async () => {
    const { groupArn, datasetArn } = await group('shop');
    await importCsv(datasetArn, 'i1', 'a.csv', targetCsv(6, 90, 1));
    await advance(3600);
    const first = await predictor('first', groupArn);
    await advance(86_400);
    await importCsv(datasetArn, 'i2', 'b.csv', targetCsv(6, 90, 25));
    await advance(3600);
    const retrain = (await fc.send(new CreateAutoPredictorCommand({ PredictorName: 'second', ReferencePredictorArn: first }))).PredictorArn as string;
    await advance(86_400);
    const d = await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: retrain }));
    expect(d.Status).toBe('ACTIVE');
    expect(d.ReferencePredictorSummary).toEqual({ Arn: first, State: 'Active' });
    expect(d.ForecastHorizon).toBe(14);
    expect(await trainingMinutes(retrain)).toBeLessThan((await trainingMinutes(first)) * 0.6);
    expect(await rmse(retrain)).toBeGreaterThan((await rmse(first)) * 2);
    // More data trains longer.
    const big = await group('big');
    await importCsv(big.datasetArn, 'i1', 'big.csv', targetCsv(30, 90, 1));
    await advance(3600);
    const bigP = await predictor('big_p', big.groupArn);
    await advance(86_400);
    expect(await trainingMinutes(bigP)).toBeGreaterThan((await trainingMinutes(first)) * 1.5);
    const listed = await fc.send(new ListPredictorsCommand({ Filters: [{ Key: 'DatasetGroupArn', Value: groupArn, Condition: 'IS' }] }));
    expect(listed.Predictors?.map((p) => p.PredictorName).sort()).toEqual(['first', 'second']);
  });

  it('fails a predictor whose target items lack item metadata, or whose horizon is too long; refuses a fourth concurrent training', async () => {
    const { groupArn, datasetArn } = await group('shop');
    const { DatasetArn: meta } = await fc.send(
      new CreateDatasetCommand({ DatasetName: 'shop_meta', Domain: 'RETAIL', DatasetType: 'ITEM_METADATA', Schema: { Attributes: [{ AttributeName: 'item_id', AttributeType: 'string' }, { AttributeName: 'category', AttributeType: 'string' }] } }),
    );
    await importCsv(datasetArn, 'i1', 'a.csv', targetCsv(3, 60, 1));
    await importCsv(meta as string, 'm1', 'm.csv', 'item_0,bakery\nitem_1,dairy\n');
    await fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: 'other', Domain: 'RETAIL' }));
    const { DatasetGroupArn: withMeta } = await fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: 'withmeta', Domain: 'RETAIL', DatasetArns: [datasetArn, meta as string] }));
    await advance(3600);
    const unknown = await predictor('unknown', withMeta as string);
    const long = await predictor('long', groupArn, 30);
    const third = await predictor('third', groupArn);
    expect((await caught(predictor('fourth', groupArn))).name).toBe('LimitExceededException');
    await advance(86_400);
    const u = await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: unknown }));
    expect(u.Status).toBe('CREATE_FAILED');
    expect(u.Message).toMatch(/1 items of the target time series are not in the item metadata dataset: item_2/);
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: long }))).Message).toMatch(/ForecastHorizon 30 is more than a third/);
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: third }))).Status).toBe('ACTIVE');
  });
});

describe('forecasts and exports', () => {
  it('forecasts after the data with the predictor and exports CSV parts as Forecast names them; deletes follow the dependencies', async () => {
    const { groupArn, datasetArn } = await group('shop');
    await importCsv(datasetArn, 'i1', 'a.csv', targetCsv(3, 70, 1));
    await advance(3600);
    const p = await predictor('p1', groupArn, 7);
    await advance(86_400);
    const { ForecastArn } = await fc.send(new CreateForecastCommand({ ForecastName: 'f1', PredictorArn: p, Tags: [{ Key: 'run', Value: 'r1' }] }));
    const f = ForecastArn as string;
    expect((await caught(fc.send(new CreateForecastExportJobCommand({ ForecastExportJobName: 'e1', ForecastArn: f, Destination: { S3Config: { Path: `s3://${BUCKET}/out/`, RoleArn: ROLE } } })))).name).toBe(
      'ResourceInUseException',
    );
    await advance(3600);
    const df = await fc.send(new DescribeForecastCommand({ ForecastArn: f }));
    expect(df).toMatchObject({ Status: 'ACTIVE', PredictorArn: p, DatasetGroupArn: groupArn, ForecastTypes: ['0.1', '0.5', '0.9'] });
    const { ForecastExportJobArn } = await fc.send(
      new CreateForecastExportJobCommand({ ForecastExportJobName: 'e1', ForecastArn: f, Destination: { S3Config: { Path: `s3://${BUCKET}/out/`, RoleArn: ROLE } } }),
    );
    expect(ForecastExportJobArn).toMatch(/:forecast-export-job\/f1\/e1$/);
    expect((await caught(fc.send(new DeleteForecastCommand({ ForecastArn: f })))).name).toBe('ResourceInUseException');
    await advance(3600);
    expect((await fc.send(new DescribeForecastExportJobCommand({ ForecastExportJobArn }))).Status).toBe('ACTIVE');
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'out/' }))).Contents ?? []).map((o) => o.Key as string);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^out\/e1_\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z_part0$/);
    const csv = ((await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: keys[0] }))).Body?.transformToString()) ?? '').trim().split('\n');
    expect(csv[0]).toBe('item_id,date,p10,p50,p90');
    expect(csv).toHaveLength(1 + 3 * 7);
    expect(csv[1]).toMatch(/^item_0,2026-03-12T00:00:00Z,/);
    for (const row of csv.slice(1)) {
      const [p10, p50, p90] = row.split(',').slice(2).map(Number) as [number, number, number];
      expect(p10).toBeLessThanOrEqual(p50);
      expect(p50).toBeLessThanOrEqual(p90);
      expect(p90).toBeGreaterThan(p10);
    }
    // Friday-Saturday peaks of the weekly pattern carry into the forecast (the model is real).
    const item0 = csv.slice(1, 8).map((r) => Number(r.split(',')[3]));
    expect(Math.max(...item0)).toBeGreaterThan(Math.min(...item0) * 1.5);
    expect((await caught(fc.send(new DeletePredictorCommand({ PredictorArn: p })))).name).toBe('ResourceInUseException');
    expect((await caught(fc.send(new DeleteDatasetGroupCommand({ DatasetGroupArn: groupArn })))).name).toBe('ResourceInUseException');
    await fc.send(new TagResourceCommand({ ResourceArn: f, Tags: [{ Key: 'keep', Value: 'no' }] }));
    expect((await fc.send(new ListTagsForResourceCommand({ ResourceArn: f }))).Tags).toEqual([
      { Key: 'run', Value: 'r1' },
      { Key: 'keep', Value: 'no' },
    ]);
    // A delete is asynchronous: DELETE_PENDING, DELETE_IN_PROGRESS, then gone; until then the forecast still holds its predictor.
    await fc.send(new DeleteForecastCommand({ ForecastArn: f }));
    expect((await fc.send(new DescribeForecastCommand({ ForecastArn: f }))).Status).toBe('DELETE_PENDING');
    expect((await caught(fc.send(new DeleteForecastCommand({ ForecastArn: f })))).name).toBe('ResourceInUseException');
    expect((await caught(fc.send(new DeletePredictorCommand({ PredictorArn: p })))).name).toBe('ResourceInUseException');
    const exportOfDeleting = fc.send(new CreateForecastExportJobCommand({ ForecastExportJobName: 'e2', ForecastArn: f, Destination: { S3Config: { Path: `s3://${BUCKET}/out2/`, RoleArn: ROLE } } }));
    expect((await caught(exportOfDeleting)).name).toBe('ResourceInUseException');
    await advance(31);
    expect((await fc.send(new DescribeForecastCommand({ ForecastArn: f }))).Status).toBe('DELETE_IN_PROGRESS');
    expect((await fc.send(new ListForecastsCommand({}))).Forecasts?.map((x) => x.Status)).toEqual(['DELETE_IN_PROGRESS']);
    await advance(600);
    expect((await caught(fc.send(new DescribeForecastCommand({ ForecastArn: f })))).name).toBe('ResourceNotFoundException');
    expect((await fc.send(new ListForecastsCommand({}))).Forecasts).toEqual([]);
    await fc.send(new DeletePredictorCommand({ PredictorArn: p }));
    expect((await fc.send(new DescribeAutoPredictorCommand({ PredictorArn: p }))).Status).toBe('DELETE_PENDING');
    expect((await caught(fc.send(new CreateForecastCommand({ ForecastName: 'f2', PredictorArn: p })))).name).toBe('ResourceInUseException');
    expect((await caught(fc.send(new DeleteDatasetGroupCommand({ DatasetGroupArn: groupArn })))).name).toBe('ResourceInUseException');
    await advance(600);
    expect((await caught(fc.send(new DescribeAutoPredictorCommand({ PredictorArn: p })))).name).toBe('ResourceNotFoundException');
    await fc.send(new DeleteDatasetGroupCommand({ DatasetGroupArn: groupArn }));
    expect((await fc.send(new DescribeDatasetGroupCommand({ DatasetGroupArn: groupArn }))).Status).toBe('DELETE_PENDING');
    expect((await caught(predictor('p2', groupArn))).name).toBe('ResourceInUseException');
    await advance(600);
    expect((await caught(fc.send(new DescribeDatasetGroupCommand({ DatasetGroupArn: groupArn })))).name).toBe('ResourceNotFoundException');
    // The same name can be used again once the old resource is gone.
    await fc.send(new CreateDatasetGroupCommand({ DatasetGroupName: 'shop', Domain: 'RETAIL' }));
    expect((await fc.send(new DescribeDatasetGroupCommand({ DatasetGroupArn: groupArn }))).Status).toBe('ACTIVE');
  });

  it('refuses to delete what is still being created, and deletes imports asynchronously', async () => {
    const { datasetArn } = await group('shop');
    const imp = await importCsv(datasetArn, 'i1', 'a.csv', targetCsv(2, 60, 1));
    expect((await caught(fc.send(new DeleteDatasetImportJobCommand({ DatasetImportJobArn: imp })))).message).toMatch(/is CREATE_PENDING: only an ACTIVE or CREATE_FAILED/);
    expect((await caught(fc.send(new DeleteDatasetCommand({ DatasetArn: datasetArn })))).name).toBe('ResourceInUseException');
    await advance(3600);
    await fc.send(new DeleteDatasetImportJobCommand({ DatasetImportJobArn: imp }));
    expect((await fc.send(new ListDatasetImportJobsCommand({}))).DatasetImportJobs?.map((j) => j.Status)).toEqual(['DELETE_PENDING']);
    await advance(600);
    expect((await fc.send(new ListDatasetImportJobsCommand({}))).DatasetImportJobs).toEqual([]);
    await fc.send(new DeleteDatasetCommand({ DatasetArn: datasetArn }));
    expect((await fc.send(new DescribeDatasetCommand({ DatasetArn: datasetArn }))).Status).toBe('DELETE_PENDING');
    expect((await caught(importCsv(datasetArn, 'i2', 'a.csv', targetCsv(2, 60, 1)))).name).toBe('ResourceInUseException');
    await advance(600);
    expect((await caught(fc.send(new DescribeDatasetCommand({ DatasetArn: datasetArn })))).name).toBe('ResourceNotFoundException');
  });
});
