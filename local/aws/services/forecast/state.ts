/** The emulated Amazon Forecast's resources, as stored (plain data, see SERVICES.md "Durable state"). */
import type { TrackedMap } from '../../persistence/tracked-map';
import type { S3State } from '../s3/state';
import type { Algorithm, AccuracyMetrics, OptimizationMetric } from './model';

export type Tags = Record<string, string>;

export interface Attribute {
  AttributeName: string;
  AttributeType: 'string' | 'integer' | 'float' | 'timestamp' | 'geolocation';
}

export interface DatasetGroup {
  name: string;
  arn: string;
  domain: string;
  datasetArns: string[];
  createdAt: Date;
  modifiedAt: Date;
}

export type DatasetType = 'TARGET_TIME_SERIES' | 'RELATED_TIME_SERIES' | 'ITEM_METADATA';

export interface Dataset {
  name: string;
  arn: string;
  domain: string;
  type: DatasetType;
  frequency?: string;
  attributes: Attribute[];
  createdAt: Date;
  modifiedAt: Date;
  /** The latest import that became ACTIVE: only it is used (it must hold the whole history). */
  latestImportArn?: string;
}

export interface FieldStatistic {
  Count: number;
  CountDistinct: number;
  CountNull: number;
  CountNan: number;
  Min?: string;
  Max?: string;
  Avg?: number;
  Stddev?: number;
}

export interface ImportJob {
  name: string;
  arn: string;
  datasetArn: string;
  path: string;
  roleArn: string;
  timestampFormat: string;
  format: 'CSV' | 'PARQUET';
  importMode: 'FULL' | 'INCREMENTAL';
  createdAt: Date;
  /** Why it fails (validation); undefined when it becomes ACTIVE. */
  problem?: string;
  /** The validated rows, one CSV line each (no header), in the dataset's attribute order. */
  data: Buffer;
  rows: number;
  fieldStatistics: Record<string, FieldStatistic>;
  dataSizeGb: number;
}

export interface PredictorResult {
  algorithm: Algorithm;
  metrics: AccuracyMetrics;
  testWindowStart: Date;
  testWindowEnd: Date;
  itemCount: number;
}

export interface Predictor {
  name: string;
  arn: string;
  datasetGroupArn: string;
  horizon: number;
  frequency: string;
  forecastTypes: string[];
  optimizationMetric: OptimizationMetric;
  referenceArn?: string;
  importJobArns: string[];
  createdAt: Date;
  problem?: string;
  result?: PredictorResult;
}

export interface ItemForecast {
  itemId: string;
  /** ISO timestamps of the horizon. */
  dates: string[];
  /** Forecast type (`0.1`, `mean`, ...) -> values. */
  values: Record<string, number[]>;
}

export interface ForecastRecord {
  name: string;
  arn: string;
  predictorArn: string;
  datasetGroupArn: string;
  forecastTypes: string[];
  createdAt: Date;
  problem?: string;
  items: ItemForecast[];
}

export interface ExportJob {
  name: string;
  arn: string;
  forecastArn: string;
  path: string;
  roleArn: string;
  format: 'CSV' | 'PARQUET';
  createdAt: Date;
  /** Written when it becomes ACTIVE. */
  files: string[];
}

export interface ForecastState {
  s3: S3State;
  datasetGroups: Map<string, DatasetGroup>;
  datasets: Map<string, Dataset>;
  /** Tracked: each import holds its data. */
  importJobs: TrackedMap<string, ImportJob>;
  predictors: Map<string, Predictor>;
  /** Tracked: each forecast holds its values. */
  forecasts: TrackedMap<string, ForecastRecord>;
  exportJobs: Map<string, ExportJob>;
  tags: Map<string, Tags>;
}
