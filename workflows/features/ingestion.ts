/**
 * One ingestion run: validate the source against the feature group (nothing is written when it does not match),
 * plan chunks, then write them as activities over a bounded window, so any number of workers share the run and a
 * chunk a dead worker held is retried (resuming from its checkpoint) elsewhere. After `chunksPerRun` chunks the
 * workflow continues as new with what is left, so a run of many millions of records keeps a bounded history.
 */
import { ApplicationFailure, condition, continueAsNew, proxyActivities, setHandler, type ActivityOptions } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { FeatureActivities } from '../../activities/features/activities';
import { progressQuery } from './messages';
import {
  NON_RETRYABLE_FEATURE_FAILURES,
  addResult,
  emptyTotals,
  rateAndEta,
  type CarriedState,
  type Chunk,
  type IngestInput,
  type IngestPhase,
  type IngestProgress,
} from './model';

const retry: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FEATURE_FAILURES };

const awsCall: ActivityOptions = { startToCloseTimeout: '2 minutes', scheduleToCloseTimeout: '2 hours', retry };
const { describeIngestionTarget } = proxyActivities<FeatureActivities>(awsCall);

/** Validation reads every row once: it heartbeats, and a dead worker's attempt moves on after a minute. */
const { validateAndPlan, planRedrive } = proxyActivities<FeatureActivities>({ startToCloseTimeout: '6 hours', heartbeatTimeout: '1 minute', retry });

export const DEFAULTS = { chunkRows: 50_000, window: 8, maxConcurrency: 16, heartbeatTimeoutSeconds: 60, chunksPerRun: 100 };

export async function featureIngestion(input: IngestInput): Promise<IngestProgress> {
  const o = { ...DEFAULTS, ...stripUndefined(input) };
  const { ingestChunk } = proxyActivities<FeatureActivities>({ startToCloseTimeout: '12 hours', heartbeatTimeout: `${o.heartbeatTimeoutSeconds} seconds`, retry });

  let phase: IngestPhase = input.carried ? 'writing' : 'validating';
  let error: string | undefined;
  let state: CarriedState = input.carried ?? { startedAtMs: Date.now(), chunks: [], done: [], totals: emptyTotals(), rowsTotal: 0, continuedAsNew: 0 };
  const running = new Set<number>();

  const progress = (): IngestProgress => {
    const elapsedSeconds = Math.max(0, (Date.now() - state.startedAtMs) / 1000);
    const t = state.totals;
    return {
      runId: input.runId,
      featureGroupName: input.featureGroupName,
      phase,
      rowsTotal: state.rowsTotal,
      rowsWritten: t.written,
      rowsFailed: t.failed,
      chunksTotal: state.chunks.length,
      chunksDone: t.chunksDone,
      chunksRunning: running.size,
      startedAt: new Date(state.startedAtMs).toISOString(),
      elapsedSeconds,
      ...rateAndEta(state.rowsTotal, t.rows, elapsedSeconds),
      throttled: t.throttled,
      unprocessed: t.unprocessed,
      resumed: t.resumed,
      concurrency: {
        backoffs: t.backoffs ?? 0,
        growths: t.growths ?? 0,
        ...(t.lowestConcurrency !== undefined ? { lowest: t.lowestConcurrency } : {}),
        ...(t.lowestEndConcurrency !== undefined ? { lowestAtEnd: t.lowestEndConcurrency } : {}),
      },
      continuedAsNew: state.continuedAsNew,
      ledger: input.ledger,
      ...(input.redriveOf ? { redriveOf: input.redriveOf } : {}),
      ...(error ? { error } : {}),
    };
  };
  setHandler(progressQuery, progress);

  try {
    if (!input.carried) {
      const target = await describeIngestionTarget({ featureGroupName: input.featureGroupName });
      const plan = input.redriveOf
        ? await planRedrive({ ledger: input.ledger, runId: input.redriveOf, chunkRows: o.chunkRows })
        : await validateAndPlan({ sources: input.sources, target, chunkRows: o.chunkRows });
      state = { ...state, chunks: plan.chunks, rowsTotal: plan.rows };
    }
    phase = 'writing';
    const done = new Set(state.done);
    const todo: Chunk[] = state.chunks.filter((c) => !done.has(c.index));
    let startedThisRun = 0;
    const writes: Promise<void>[] = [];
    for (const chunk of todo) {
      if (startedThisRun >= o.chunksPerRun) break;
      await condition(() => running.size < o.window);
      running.add(chunk.index);
      startedThisRun += 1;
      writes.push(
        ingestChunk({ runId: input.runId, featureGroupName: input.featureGroupName, ledger: input.ledger, chunk, maxConcurrency: o.maxConcurrency }).then((r) => {
          running.delete(chunk.index);
          done.add(chunk.index);
          state = { ...state, done: [...done], totals: addResult(state.totals, r) };
        }),
      );
    }
    await Promise.all(writes);
    if (done.size < state.chunks.length) {
      // What is left goes on in a fresh history; the chunks' checkpoints and the ledger are in S3, not here.
      await continueAsNew<typeof featureIngestion>({ ...input, carried: { ...state, continuedAsNew: state.continuedAsNew + 1 } });
    }
    phase = 'completed';
    return progress();
  } catch (err) {
    phase = 'failed';
    error = rootMessage(err);
    throw err;
  }
}

function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause?: unknown }).cause;
  return e instanceof ApplicationFailure || e instanceof Error ? e.message : String(e);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
