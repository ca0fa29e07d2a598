/**
 * Writes rows to a feature group with BatchWriteRecord (25 entries a request) and adaptive concurrency: a round
 * sends `concurrency` requests at once; throttling (ThrottlingException, or entries answered as
 * UnprocessedEntries, which are sent again) halves it and backs off, a clear round grows it by one up to the
 * maximum. Entries the service rejects come back as failures with their error code and message.
 */
import { BatchWriteRecordCommand, type BatchWriteRecordEntry, type FeatureValue, type SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { setTimeout as delay } from 'node:timers/promises';
import { FeatureFailure, featureFailure } from '../../workflows/features/model';
import { awsErrorName, classifyAwsError, isPermanent, isThrottling } from './aws-errors';

export const BATCH_SIZE = 25;

/** A row as a record: empty values are left out (as the SageMaker SDK drops NaN). */
export function recordOf(values: Readonly<Record<string, string | undefined>>): FeatureValue[] {
  const record: FeatureValue[] = [];
  for (const FeatureName in values) {
    const v = values[FeatureName];
    if (v !== undefined && v !== '') record.push({ FeatureName, ValueAsString: v });
  }
  return record;
}

export interface PendingRecord<T> {
  record: FeatureValue[];
  /** Whatever the caller needs back for a failure (the row and its source). */
  tag: T;
}

export interface RoundOutcome<T> {
  written: number;
  failures: { tag: T; record: FeatureValue[]; errorCode: string; errorMessage: string }[];
  requests: number;
  throttled: number;
  unprocessed: number;
}

/** Requests in flight: halved on throttling, grown by one after a clear round; counts both for telemetry. */
export class AdaptiveConcurrency {
  /** Times it was halved and grown, and the lowest it went. */
  backoffs = 0;
  growths = 0;
  lowest: number;
  constructor(
    public current: number,
    readonly max: number,
  ) {
    this.lowest = current;
  }

  throttled(): void {
    const next = Math.max(1, Math.floor(this.current / 2));
    if (next < this.current) this.backoffs += 1;
    this.current = next;
    this.lowest = Math.min(this.lowest, next);
  }

  clear(): void {
    if (this.current < this.max) {
      this.current += 1;
      this.growths += 1;
    }
  }
}

const MAX_TRANSIENT_ATTEMPTS = 8;

/** Backoff after throttling: 50 ms doubling to 2 s, with jitter (decorrelates chunks). */
function backoffMs(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
  return base / 2 + Math.random() * (base / 2);
}

/** Writes one batch until every entry is written or rejected; throttling is waited out, never failed. */
async function writeBatch<T>(client: SageMakerFeatureStoreRuntimeClient, group: string, batch: PendingRecord<T>[], out: RoundOutcome<T>, onWait: () => void): Promise<boolean> {
  let pending = batch;
  let sawThrottling = false;
  let throttles = 0;
  let transient = 0;
  while (pending.length > 0) {
    const entries: BatchWriteRecordEntry[] = pending.map((p) => ({ FeatureGroupName: group, Record: p.record }));
    let answer;
    try {
      out.requests += 1;
      answer = await client.send(new BatchWriteRecordCommand({ Entries: entries }));
    } catch (err) {
      if (isThrottling(err)) {
        sawThrottling = true;
        out.throttled += 1;
        onWait();
        await delay(backoffMs(throttles++));
        continue;
      }
      if (isPermanent(err)) {
        const failure = classifyAwsError(err, `BatchWriteRecord to ${group}`, FeatureFailure.FeatureGroupNotFound);
        throw failure.nonRetryable ? failure : featureFailure(FeatureFailure.InvalidRequest, failure.message, err);
      }
      if (++transient >= MAX_TRANSIENT_ATTEMPTS) throw classifyAwsError(err, `BatchWriteRecord to ${group} (${awsErrorName(err)} ${transient} times)`);
      await delay(backoffMs(transient));
      continue;
    }
    const errors = answer.Errors ?? [];
    const unprocessed = answer.UnprocessedEntries ?? [];
    if (errors.length === 0 && unprocessed.length === 0) {
      out.written += pending.length;
      break;
    }
    // Answers name entries by content: match them back to their rows, first unmatched one of equal content.
    const byContent = new Map<string, PendingRecord<T>[]>();
    for (const p of pending) {
      const k = JSON.stringify(p.record);
      const list = byContent.get(k);
      if (list) list.push(p);
      else byContent.set(k, [p]);
    }
    const take = (e: BatchWriteRecordEntry | undefined): PendingRecord<T> | undefined => {
      const list = e?.Record ? byContent.get(JSON.stringify(e.Record.map((fv) => ({ FeatureName: fv.FeatureName, ValueAsString: fv.ValueAsString })))) : undefined;
      return list?.shift();
    };
    let notWritten = 0;
    for (const err of errors) {
      const p = take(err.Entry);
      notWritten += 1;
      out.failures.push({ tag: p?.tag as T, record: p?.record ?? err.Entry?.Record ?? [], errorCode: err.ErrorCode ?? 'Unknown', errorMessage: err.ErrorMessage ?? '' });
    }
    const again: PendingRecord<T>[] = [];
    for (const e of unprocessed) {
      const p = take(e);
      if (p) again.push(p);
    }
    notWritten += again.length;
    out.written += pending.length - notWritten;
    if (again.length > 0) {
      sawThrottling = true;
      out.unprocessed += again.length;
      onWait();
      await delay(backoffMs(throttles++));
    }
    pending = again;
  }
  return sawThrottling;
}

/** Writes `records` (at most concurrency x 25) as one round of concurrent batches. */
export async function writeRound<T>(
  client: SageMakerFeatureStoreRuntimeClient,
  group: string,
  records: PendingRecord<T>[],
  concurrency: AdaptiveConcurrency,
  onWait: () => void = () => undefined,
): Promise<RoundOutcome<T>> {
  const out: RoundOutcome<T> = { written: 0, failures: [], requests: 0, throttled: 0, unprocessed: 0 };
  const batches: PendingRecord<T>[][] = [];
  for (let i = 0; i < records.length; i += BATCH_SIZE) batches.push(records.slice(i, i + BATCH_SIZE));
  const throttled = await Promise.all(batches.map((b) => writeBatch(client, group, b, out, onWait)));
  if (throttled.some(Boolean)) concurrency.throttled();
  else concurrency.clear();
  return out;
}
