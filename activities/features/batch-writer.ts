/**
 * Writes rows to a feature group with BatchWriteRecord (25 entries a request) as a sliding window with adaptive
 * concurrency: a request goes out whenever one completes, within `concurrency` requests and two rounds of them
 * (2 x `concurrency` x 25 rows) past the last checkpoint; throttling (ThrottlingException, or entries answered as UnprocessedEntries, which are
 * sent again) halves the concurrency and backs off, clear requests grow it up to the maximum. Entries the service
 * rejects come back as failures with their error code and message.
 */
import { BatchWriteRecordCommand, type BatchWriteRecordEntry, type FeatureValue, type SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { setTimeout as delay } from 'node:timers/promises';
import { FeatureFailure, featureFailure } from '../../workflows/features/model';
import { awsErrorName, classifyAwsError, isPermanent, isThrottling } from './aws-errors';

export const BATCH_SIZE = 25;
/**
 * How far sending may run ahead of the last durable checkpoint, in rounds of `concurrency` requests. A checkpoint
 * goes out once half of that (one round) is done, so sending goes on while it is written. With one round, every
 * checkpoint's round trip stalled sending (measured: 31k rows/s on the ingestion bench, 1.4 s of a 1.6 s chunk spent
 * waiting for checkpoints); with two, 36k, and half the checkpoints.
 */
export const WINDOW_ROUNDS = 2;

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

/**
 * Requests in flight, adapted as each request completes: halved when one is throttled (once per congestion event:
 * not again until as many requests as were in flight have completed since), and grown while clear, doubling until
 * the first throttling (slow start), then by one per `current` clear completions (about a round of requests).
 * Counts both for telemetry.
 */
export class AdaptiveConcurrency {
  /** Times it was halved and grown, and the lowest it went. */
  backoffs = 0;
  growths = 0;
  lowest: number;
  private clearStreak = 0;
  private sinceBackoff = Infinity;
  private slowStart = true;
  constructor(
    public current: number,
    readonly max: number,
  ) {
    this.lowest = current;
  }

  /** One request completed, after `throttled` (ThrottlingException or unprocessed entries on the way) or not. */
  completed(throttled: boolean): void {
    this.sinceBackoff += 1;
    if (throttled) {
      this.clearStreak = 0;
      this.slowStart = false;
      if (this.sinceBackoff < this.current) return;
      this.sinceBackoff = 0;
      const next = Math.max(1, Math.floor(this.current / 2));
      if (next < this.current) this.backoffs += 1;
      this.current = next;
      this.lowest = Math.min(this.lowest, next);
      return;
    }
    this.clearStreak += 1;
    if (this.clearStreak < this.current || this.current >= this.max) return;
    this.clearStreak = 0;
    this.current = this.slowStart ? Math.min(this.max, this.current * 2) : this.current + 1;
    this.growths += 1;
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

const emptyOutcome = <T>(): RoundOutcome<T> => ({ written: 0, failures: [], requests: 0, throttled: 0, unprocessed: 0 });

function addOutcome<T>(into: RoundOutcome<T>, from: RoundOutcome<T>): void {
  into.written += from.written;
  into.requests += from.requests;
  into.throttled += from.throttled;
  into.unprocessed += from.unprocessed;
  for (const f of from.failures) into.failures.push(f);
}

export interface WindowedWrite<T> {
  /** The next batch of rows (at most 25), in order; empty once there are no more. */
  next(): Promise<PendingRecord<T>[]>;
  /**
   * Makes the first `rows` rows durable (a checkpoint): `outcome` is what their batches came to since the last
   * call. Called with one call at a time, in order; rows past the last durable ones stay within the window.
   */
  persist(rows: number, outcome: RoundOutcome<T>): Promise<void>;
  /** Called while a batch waits out throttling (a chance to heartbeat, or to stop). */
  onWait?: () => void;
}

/**
 * Writes rows as a sliding window of BatchWriteRecord requests: a new batch goes out as soon as one completes, as
 * long as fewer than `concurrency.current` are in flight and every row sent is within WINDOW_ROUNDS x
 * `concurrency.current` x 25 rows of the last durable checkpoint. So a crash rewrites at most that many rows, while
 * the service is kept busy (no request waits for the slowest of a round). A checkpoint of the rows completed in
 * order goes out, one at a time, once at least half the window is completed past the last (a checkpoint costs about
 * what a batch does, so checkpointing after every batch would halve the rate).
 */
export async function writeWindowed<T>(client: SageMakerFeatureStoreRuntimeClient, group: string, concurrency: AdaptiveConcurrency, w: WindowedWrite<T>): Promise<void> {
  const onWait = w.onWait ?? (() => undefined);
  const completedBatches = new Map<number, { rows: number; out: RoundOutcome<T> }>();
  let issuedBatches = 0;
  let orderedBatches = 0;
  let issuedRows = 0;
  let orderedRows = 0;
  let durableRows = 0;
  let inFlight = 0;
  let exhausted = false;
  let persisting = false;
  let failure: { err: unknown } | undefined;
  let sinceDurable = emptyOutcome<T>();
  let waiting: PendingRecord<T>[] | undefined;
  let wake = () => undefined as void;
  const wakeUp = () => wake();

  const issue = (batch: PendingRecord<T>[]) => {
    const seq = issuedBatches++;
    const out = emptyOutcome<T>();
    inFlight += 1;
    issuedRows += batch.length;
    writeBatch(client, group, batch, out, onWait).then(
      (throttled) => {
        inFlight -= 1;
        concurrency.completed(throttled);
        completedBatches.set(seq, { rows: batch.length, out });
        for (let done = completedBatches.get(orderedBatches); done; done = completedBatches.get(orderedBatches)) {
          completedBatches.delete(orderedBatches++);
          orderedRows += done.rows;
          addOutcome(sinceDurable, done.out);
        }
        wakeUp();
      },
      (err: unknown) => {
        inFlight -= 1;
        failure ??= { err };
        wakeUp();
      },
    );
  };

  for (;;) {
    if (failure) throw failure.err;
    const window = WINDOW_ROUNDS * concurrency.current * BATCH_SIZE;
    const pendingRows = orderedRows - durableRows;
    if (!persisting && pendingRows > 0 && (pendingRows * 2 >= window || (exhausted && inFlight === 0))) {
      persisting = true;
      const rows = orderedRows;
      const outcome = sinceDurable;
      sinceDurable = emptyOutcome<T>();
      w.persist(rows, outcome).then(
        () => {
          durableRows = rows;
          persisting = false;
          wakeUp();
        },
        (err: unknown) => {
          failure ??= { err };
          wakeUp();
        },
      );
      continue;
    }
    if (exhausted && inFlight === 0 && !persisting && orderedRows === durableRows) return;
    if (!exhausted && inFlight < concurrency.current) {
      if (!waiting) {
        waiting = await w.next();
        if (waiting.length === 0) {
          exhausted = true;
          waiting = undefined;
        }
        continue;
      }
      if (issuedRows + waiting.length - durableRows <= window || issuedRows === durableRows) {
        issue(waiting);
        waiting = undefined;
        continue;
      }
    }
    await new Promise<void>((resolve) => (wake = resolve));
  }
}
