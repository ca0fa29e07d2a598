/**
 * Feature Store batch ingestion: what a run is (its input, its chunks, its progress) and the pure functions over
 * them, shared by the workflow (deterministic), the activities and the CLI.
 */
import type { ApplicationFailure } from '@temporalio/common';
import { AwsFailure, typedFailure } from '../shared/failures';

export const FEATURES_TASK_QUEUE = 'mlops-features';

export const ingestionWorkflowId = (runId: string) => `features/ingest/${runId}`;

/** A run id: letters, digits, dots, dashes and underscores (it names S3 keys and a workflow id). */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export type SourceFormat = 'csv' | 'parquet' | 'ledger';

/** One unit of work: a row range of one source file, written by one activity. */
export interface Chunk {
  index: number;
  source: string;
  format: SourceFormat;
  /** First data row of the chunk in its file (0-based, header excluded) and how many rows it has. */
  firstRow: number;
  rows: number;
  /** CSV: the byte range of the chunk's rows in the object (end exclusive), and the file's header. */
  byteStart?: number;
  byteEnd?: number;
  header?: string[];
}

export interface ChunkResult {
  index: number;
  rows: number;
  written: number;
  failed: number;
  /** BatchWriteRecord requests sent, throttled answers met, entries the service left unprocessed (then resent). */
  requests: number;
  throttled: number;
  unprocessed: number;
  /** Attempts of this chunk that resumed from a checkpoint (a worker crash or an activity retry). */
  resumed: number;
  /** Requests in flight at the end; times it was halved on throttling and grown after a clear round; the lowest. */
  concurrency: number;
  backoffs: number;
  growths: number;
  lowestConcurrency: number;
}

export interface IngestInput {
  runId: string;
  featureGroupName: string;
  /** `s3://bucket/key` files, or `s3://bucket/prefix/` for every .csv / .parquet object under it. */
  sources: string[];
  /** `s3://bucket/prefix`: the run's checkpoints and failure ledger go under `<ledger>/<runId>/`. */
  ledger: string;
  /** The run whose failure ledger this run writes again (`mlops features redrive`). */
  redriveOf?: string;
  chunkRows?: number;
  /** Chunks written at once, across however many workers poll the queue. */
  window?: number;
  /** Most BatchWriteRecord requests one chunk keeps in flight (adaptive: halved on throttling, grown while clear). */
  maxConcurrency?: number;
  /** Heartbeat timeout of a chunk: how soon a chunk a dead worker held is retried elsewhere. */
  heartbeatTimeoutSeconds?: number;
  /** Continue as new after this many chunks, so a run of any size keeps a bounded history. */
  chunksPerRun?: number;
  /** Carried across continue-as-new. */
  carried?: CarriedState;
}

export interface Totals {
  rows: number;
  written: number;
  failed: number;
  requests: number;
  throttled: number;
  unprocessed: number;
  resumed: number;
  chunksDone: number;
  /** Adaptive concurrency of the chunks done (optional: older runs carried no such figures). */
  backoffs?: number;
  growths?: number;
  lowestConcurrency?: number;
  lowestEndConcurrency?: number;
}

export interface CarriedState {
  startedAtMs: number;
  chunks: Chunk[];
  /** Indexes of the chunks already done (in earlier runs of the chain). */
  done: number[];
  totals: Totals;
  rowsTotal: number;
  continuedAsNew: number;
}

export type IngestPhase = 'validating' | 'writing' | 'completed' | 'failed';

export interface IngestProgress {
  runId: string;
  featureGroupName: string;
  phase: IngestPhase;
  rowsTotal: number;
  rowsWritten: number;
  rowsFailed: number;
  chunksTotal: number;
  chunksDone: number;
  chunksRunning: number;
  startedAt: string;
  elapsedSeconds: number;
  rowsPerSecond: number;
  /** Seconds left at the current rate; undefined before the first chunk is done. */
  etaSeconds?: number;
  throttled: number;
  unprocessed: number;
  resumed: number;
  /**
   * The chunks' adaptive concurrency: times it was halved on throttling and grown after a clear round, the lowest
   * it went, and the lowest a finished chunk ended at (back at the maximum: it grew again once clear).
   */
  concurrency: { backoffs: number; growths: number; lowest?: number; lowestAtEnd?: number };
  continuedAsNew: number;
  ledger: string;
  redriveOf?: string;
  error?: string;
}

export const emptyTotals = (): Totals => ({ rows: 0, written: 0, failed: 0, requests: 0, throttled: 0, unprocessed: 0, resumed: 0, chunksDone: 0 });

export function addResult(t: Totals, r: ChunkResult): Totals {
  return {
    rows: t.rows + r.rows,
    written: t.written + r.written,
    failed: t.failed + r.failed,
    requests: t.requests + r.requests,
    throttled: t.throttled + r.throttled,
    unprocessed: t.unprocessed + r.unprocessed,
    resumed: t.resumed + r.resumed,
    chunksDone: t.chunksDone + 1,
    backoffs: (t.backoffs ?? 0) + r.backoffs,
    growths: (t.growths ?? 0) + r.growths,
    lowestConcurrency: Math.min(t.lowestConcurrency ?? r.lowestConcurrency, r.lowestConcurrency),
    lowestEndConcurrency: Math.min(t.lowestEndConcurrency ?? r.concurrency, r.concurrency),
  };
}

/** Rate and time left from rows done since the start; `extraRows` adds rows of chunks still running (CLI). */
export function rateAndEta(rowsTotal: number, rowsDone: number, elapsedSeconds: number): { rowsPerSecond: number; etaSeconds?: number } {
  const rowsPerSecond = elapsedSeconds > 0 ? rowsDone / elapsedSeconds : 0;
  if (rowsPerSecond <= 0) return { rowsPerSecond: 0 };
  return { rowsPerSecond, etaSeconds: Math.max(0, (rowsTotal - rowsDone) / rowsPerSecond) };
}

/** `s3://bucket/key` -> bucket and key. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export function runPrefix(ledger: string, runId: string): { bucket: string; prefix: string } {
  const l = parseS3Uri(ledger);
  if (!l) throw new Error(`not an s3:// URI: ${ledger}`);
  return { bucket: l.bucket, prefix: `${l.key ? `${l.key.replace(/\/+$/, '')}/` : ''}${runId}/` };
}

/** One ledger line: a record the service rejected, with where it came from and why. */
export interface LedgerEntry {
  source: string;
  /** 1-based data row in the source (header excluded); a redrive keeps the original row. */
  row: number;
  record: Record<string, string>;
  errorCode: string;
  errorMessage: string;
}

/** The failure types of feature ingestion; `NON_RETRYABLE_FEATURE_FAILURES` are the ones no retry can help. */
export const FeatureFailure = {
  /** The source does not match the group's definitions (file, row, column named): nothing was written. */
  SourceInvalid: 'SourceInvalid',
  /** A source object or prefix does not exist or holds no CSV / Parquet file. */
  SourceNotFound: 'SourceNotFound',
  FeatureGroupNotFound: 'FeatureGroupNotFound',
  /** The group exists but cannot take records (CreateFailed, Deleting). */
  FeatureGroupNotUsable: 'FeatureGroupNotUsable',
  /** "Not yet": the group is still Creating. Polled by activity retries. */
  FeatureGroupNotReady: 'FeatureGroupNotReady',
  LedgerNotFound: 'LedgerNotFound',
  InvalidRequest: AwsFailure.InvalidRequest,
  AccessDenied: AwsFailure.AccessDenied,
  Throttled: AwsFailure.Throttled,
  AwsUnavailable: AwsFailure.AwsUnavailable,
} as const;

export type FeatureFailureType = (typeof FeatureFailure)[keyof typeof FeatureFailure];

export const NON_RETRYABLE_FEATURE_FAILURES: string[] = [
  FeatureFailure.SourceInvalid,
  FeatureFailure.SourceNotFound,
  FeatureFailure.FeatureGroupNotFound,
  FeatureFailure.FeatureGroupNotUsable,
  FeatureFailure.LedgerNotFound,
  FeatureFailure.InvalidRequest,
  FeatureFailure.AccessDenied,
];

export function featureFailure(type: FeatureFailureType, message: string, cause?: unknown, details?: unknown[]): ApplicationFailure {
  return typedFailure(type, message, { cause, details, nonRetryable: NON_RETRYABLE_FEATURE_FAILURES.includes(type) });
}
