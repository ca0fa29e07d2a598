/**
 * Feature ingestion activities: find the target group, validate and plan a source, write one chunk (its rows read
 * ahead, batched with adaptive concurrency, checkpointed in S3 and heartbeated after every round so a retry resumes
 * where the last attempt stopped), plan a redrive of a run's failure ledger, and create a feature group from a spec.
 * Every one is idempotent: a chunk written again from its checkpoint rewrites at most the window in flight (two
 * rounds of requests), and a group that already exists with the same definitions is "created".
 */
import { Context } from '@temporalio/activity';
import {
  CreateFeatureGroupCommand,
  DescribeFeatureGroupCommand,
  type CreateFeatureGroupCommandInput,
  type DescribeFeatureGroupCommandOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { FeatureValue, SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../../common/logger';
import { FeatureFailure, featureFailure, runPrefix, type Chunk, type ChunkResult, type LedgerEntry } from '../../workflows/features/model';
import { aws, awsErrorName } from './aws-errors';
import { AdaptiveConcurrency, BATCH_SIZE, recordOf, WINDOW_ROUNDS, writeWindowed, type PendingRecord } from './batch-writer';
import { readAhead } from './read-ahead';
import { chunkRows, csvRows, expandSources, ledgerParts, parquetFile, parquetRows, readLedgerPart } from './sources';
import { checkColumns, checkRow, describeProblem, type IngestionTarget, type SourceProblem } from './validate';

export type { IngestionTarget } from './validate';

export interface FeatureActivityDeps {
  sagemaker: SageMakerClient;
  runtime: SageMakerFeatureStoreRuntimeClient;
  s3: S3Client;
  log?: Logger;
}

/** Where a chunk stands, stored in S3 and sent as heartbeat details after every round. */
export interface ChunkCheckpoint {
  rowsDone: number;
  /** CSV: the object offset to resume from. */
  nextByte?: number;
  written: number;
  failed: number;
  requests: number;
  throttled: number;
  unprocessed: number;
  resumed: number;
  /** Adaptive concurrency over every attempt so far: times halved on throttling, grown after a clear round, lowest. */
  backoffs?: number;
  growths?: number;
  lowestConcurrency?: number;
}

export interface Plan {
  chunks: Chunk[];
  rows: number;
  files: number;
}

/** Problems reported at most, so a file wrong on every row still gives a short answer. */
const MAX_PROBLEMS = 10;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function createFeatureActivities(deps: FeatureActivityDeps) {
  const { sagemaker, runtime, s3 } = deps;

  async function putJson(bucket: string, key: string, body: string): Promise<void> {
    await aws(`write s3://${bucket}/${key}`, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' })), FeatureFailure.LedgerNotFound);
  }

  async function readCheckpoint(bucket: string, key: string): Promise<ChunkCheckpoint | undefined> {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse(await out.Body!.transformToString()) as ChunkCheckpoint;
    } catch (err) {
      if (awsErrorName(err) === 'NoSuchKey') return undefined;
      throw await aws(`read s3://${bucket}/${key}`, () => Promise.reject(err));
    }
  }

  /** The running activity's context; none outside an activity (a unit test or bench calling the function). */
  function activityContext(): Context | undefined {
    try {
      return Context.current();
    } catch {
      return undefined;
    }
  }

  function heartbeat(details: unknown, ctx: Context | undefined): void {
    ctx?.heartbeat(details);
  }

  /**
   * Throws once this attempt is cancelled: the server timed its heartbeat out (and retries it elsewhere) or the run
   * was cancelled. An attempt that went on writing would duplicate the rows its successor writes.
   */
  function stopIfCancelled(ctx: Context | undefined): void {
    const signal = ctx?.cancellationSignal;
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(`chunk attempt cancelled: ${String(signal.reason)}`);
  }

  function attemptInfo(ctx: Context | undefined): { attempt: number; details?: ChunkCheckpoint } {
    if (!ctx) return { attempt: 1 };
    return { attempt: ctx.info.attempt, details: ctx.info.heartbeatDetails as ChunkCheckpoint | undefined };
  }

  function targetOf(out: DescribeFeatureGroupCommandOutput): IngestionTarget {
    return {
      featureGroupName: out.FeatureGroupName!,
      recordIdentifierFeatureName: out.RecordIdentifierFeatureName!,
      eventTimeFeatureName: out.EventTimeFeatureName!,
      features: (out.FeatureDefinitions ?? []).map((d) => ({ name: d.FeatureName!, type: d.FeatureType as 'Integral' | 'Fractional' | 'String' })),
    };
  }

  return {
    /** The group's definitions; "not yet" while it is Creating (polled by activity retries). */
    async describeIngestionTarget(input: { featureGroupName: string }): Promise<IngestionTarget> {
      const out = await aws(`DescribeFeatureGroup ${input.featureGroupName}`, () => sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: input.featureGroupName })), FeatureFailure.FeatureGroupNotFound);
      if (out.FeatureGroupStatus === 'Creating') throw featureFailure(FeatureFailure.FeatureGroupNotReady, `feature group ${input.featureGroupName} is still Creating`);
      if (out.FeatureGroupStatus !== 'Created') throw featureFailure(FeatureFailure.FeatureGroupNotUsable, `feature group ${input.featureGroupName} is ${out.FeatureGroupStatus}${out.FailureReason ? `: ${out.FailureReason}` : ''}`);
      return targetOf(out);
    },

    /** Creates a group from a spec; one that exists with the same identifier, event time and features is ours. */
    async createFeatureGroup(spec: CreateFeatureGroupCommandInput): Promise<{ featureGroupArn: string; existed: boolean }> {
      try {
        const out = await sagemaker.send(new CreateFeatureGroupCommand(spec));
        return { featureGroupArn: out.FeatureGroupArn!, existed: false };
      } catch (err) {
        if (awsErrorName(err) !== 'ResourceInUse') throw await aws(`CreateFeatureGroup ${spec.FeatureGroupName}`, () => Promise.reject(err));
        const existing = await aws(`DescribeFeatureGroup ${spec.FeatureGroupName}`, () => sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: spec.FeatureGroupName })));
        const same =
          existing.RecordIdentifierFeatureName === spec.RecordIdentifierFeatureName &&
          existing.EventTimeFeatureName === spec.EventTimeFeatureName &&
          JSON.stringify((existing.FeatureDefinitions ?? []).map((d) => [d.FeatureName, d.FeatureType])) === JSON.stringify((spec.FeatureDefinitions ?? []).map((d) => [d.FeatureName, d.FeatureType]));
        if (!same) throw featureFailure(FeatureFailure.InvalidRequest, `feature group ${spec.FeatureGroupName} already exists with other definitions; choose another name or delete it first`);
        return { featureGroupArn: existing.FeatureGroupArn!, existed: true };
      }
    },

    /** Reads every row of every source once, checks it against the group, and cuts the rows into chunks. */
    async validateAndPlan(input: { sources: string[]; target: IngestionTarget; chunkRows: number }): Promise<Plan> {
      const { target, chunkRows } = input;
      const ctx = activityContext();
      const types = new Map(target.features.map((f) => [f.name, f.type]));
      const files = await expandSources(s3, input.sources);
      const problems: SourceProblem[] = [];
      const chunks: Chunk[] = [];
      let rows = 0;
      const note = (ps: SourceProblem[]) => {
        problems.push(...ps);
        if (problems.length >= MAX_PROBLEMS) throw invalid(problems);
      };
      for (const f of files) {
        let fileRows = 0;
        if (f.format === 'csv') {
          let header: string[] | undefined;
          let chunkStart: { row: number; byte: number } | undefined;
          let lastEnd = 0;
          for await (const r of csvRows(s3, f.uri)) {
            if (!header) {
              header = r.header;
              note(checkColumns(target, f.uri, header));
              if (problems.length > 0) break;
            }
            if (r.fields !== header.length) note([{ file: f.uri, row: r.row + 1, column: '*', problem: `${r.fields} fields where the header has ${header.length}` }]);
            note(checkRow(target, types, f.uri, r.row + 1, r.values));
            chunkStart ??= { row: r.row, byte: r.startByte! };
            if (r.row + 1 - chunkStart.row === chunkRows) {
              chunks.push({ index: chunks.length, source: f.uri, format: 'csv', firstRow: chunkStart.row, rows: chunkRows, byteStart: chunkStart.byte, byteEnd: r.endByte!, header });
              chunkStart = undefined;
            }
            lastEnd = r.endByte!;
            fileRows = r.row + 1;
            if (fileRows % 10_000 === 0) heartbeat({ file: f.uri, row: fileRows }, ctx);
          }
          if (chunkStart && header) chunks.push({ index: chunks.length, source: f.uri, format: 'csv', firstRow: chunkStart.row, rows: fileRows - chunkStart.row, byteStart: chunkStart.byte, byteEnd: lastEnd, header });
        } else {
          const pf = await parquetFile(s3, f.uri);
          note(checkColumns(target, f.uri, pf.columns));
          if (problems.length > 0) continue;
          for await (const r of parquetRows(s3, f.uri, 0)) {
            note(checkRow(target, types, f.uri, r.row + 1, r.values));
            if ((r.row + 1) % 10_000 === 0) heartbeat({ file: f.uri, row: r.row + 1 }, ctx);
          }
          fileRows = pf.rows;
          for (let first = 0; first < pf.rows; first += chunkRows) {
            chunks.push({ index: chunks.length, source: f.uri, format: 'parquet', firstRow: first, rows: Math.min(chunkRows, pf.rows - first) });
          }
        }
        rows += fileRows;
      }
      if (problems.length > 0) throw invalid(problems);
      return { chunks, rows, files: files.length };
    },

    /** The chunks of a redrive: one per ledger object of the earlier run. */
    async planRedrive(input: { ledger: string; runId: string; chunkRows: number }): Promise<Plan> {
      const { bucket, prefix } = runPrefix(input.ledger, input.runId);
      const parts = await ledgerParts(s3, bucket, `${prefix}failures/`);
      if (parts.length === 0) throw featureFailure(FeatureFailure.LedgerNotFound, `run ${input.runId} has no failed records under s3://${bucket}/${prefix}failures/`);
      const chunks: Chunk[] = [];
      let rows = 0;
      for (const p of parts) {
        const n = (await readLedgerPart(s3, `s3://${bucket}/${p.key}`)).length;
        chunks.push({ index: chunks.length, source: `s3://${bucket}/${p.key}`, format: 'ledger', firstRow: 0, rows: n });
        rows += n;
      }
      return { chunks, rows, files: parts.length };
    },

    /**
     * Writes one chunk as a sliding window of BatchWriteRecord requests (batch-writer.ts), its rows read ahead
     * (read-ahead.ts). The rows completed in order are checkpointed as they advance: their rejected records go to
     * the ledger, then the checkpoint to S3 (then as heartbeat). No row more than 2 x concurrency x 25 past the last
     * checkpoint is sent, so a crash rewrites at most that many.
     */
    async ingestChunk(input: { runId: string; featureGroupName: string; ledger: string; chunk: Chunk; maxConcurrency: number }): Promise<ChunkResult> {
      const { chunk } = input;
      const { bucket, prefix } = runPrefix(input.ledger, input.runId);
      const checkpointKey = `${prefix}checkpoints/chunk-${pad(chunk.index, 6)}.json`;
      const ctx = activityContext();
      const { details } = attemptInfo(ctx);
      const stored = await readCheckpoint(bucket, checkpointKey);
      let cp: ChunkCheckpoint = [stored, details].reduce<ChunkCheckpoint>(
        (best, c) => (c && c.rowsDone > best.rowsDone ? c : best),
        { rowsDone: 0, written: 0, failed: 0, requests: 0, throttled: 0, unprocessed: 0, resumed: 0 },
      );
      if (cp.rowsDone > 0) cp = { ...cp, resumed: cp.resumed + 1 };
      if (cp.rowsDone >= chunk.rows) return resultOf(chunk, cp, input.maxConcurrency);

      const concurrency = new AdaptiveConcurrency(Math.min(4, input.maxConcurrency), input.maxConcurrency);
      // At most a window of rows (at the highest concurrency), read while the requests are out.
      const rows = readAhead(chunkRows(s3, chunk, cp), { limit: WINDOW_ROUNDS * input.maxConcurrency * BATCH_SIZE, total: chunk.rows - cp.rowsDone });
      const before = cp;
      // Where each row read ends in the object (CSV), so a checkpoint after n more rows knows its resume byte.
      const endBytes: (number | undefined)[] = [];
      try {
        await writeWindowed(runtime, input.featureGroupName, concurrency, {
          next: async () => {
            stopIfCancelled(ctx);
            const batch: PendingRecord<{ source: string; row: number }>[] = [];
            for (const r of await rows.take(BATCH_SIZE)) {
              batch.push({ record: recordOf(r.values), tag: r.origin ?? { source: chunk.source, row: r.row + 1 } });
              endBytes.push(r.endByte);
            }
            return batch;
          },
          persist: async (rowsDone, out) => {
            const n = rowsDone - (cp.rowsDone - before.rowsDone);
            const nextByte = endBytes[n - 1];
            endBytes.splice(0, n);
            if (out.failures.length > 0) {
              const lines = out.failures.map((f): LedgerEntry => ({ source: f.tag.source, row: f.tag.row, record: fromRecord(f.record), errorCode: f.errorCode, errorMessage: f.errorMessage }));
              // Named by the first row past the last checkpoint: rows written again after a crash overwrite their own part.
              await putJson(bucket, `${prefix}failures/chunk-${pad(chunk.index, 6)}/${pad(chunk.firstRow + cp.rowsDone, 12)}.jsonl`, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
            }
            const next: ChunkCheckpoint = {
              rowsDone: cp.rowsDone + n,
              ...(nextByte !== undefined ? { nextByte } : {}),
              written: cp.written + out.written,
              failed: cp.failed + out.failures.length,
              requests: cp.requests + out.requests,
              throttled: cp.throttled + out.throttled,
              unprocessed: cp.unprocessed + out.unprocessed,
              resumed: cp.resumed,
              backoffs: (before.backoffs ?? 0) + concurrency.backoffs,
              growths: (before.growths ?? 0) + concurrency.growths,
              lowestConcurrency: Math.min(before.lowestConcurrency ?? concurrency.lowest, concurrency.lowest),
            };
            stopIfCancelled(ctx);
            await putJson(bucket, checkpointKey, JSON.stringify(next));
            cp = next;
            heartbeat(cp, ctx);
          },
          onWait: () => {
            heartbeat(cp, ctx);
            stopIfCancelled(ctx);
          },
        });
      } finally {
        await rows.close();
      }
      return resultOf(chunk, cp, concurrency.current);
    },
  };
}

export type FeatureActivities = ReturnType<typeof createFeatureActivities>;

function invalid(problems: SourceProblem[]) {
  const shown = problems.slice(0, MAX_PROBLEMS);
  return featureFailure(
    FeatureFailure.SourceInvalid,
    `the source does not match the feature group; nothing was written: ${shown.map(describeProblem).join('; ')}${problems.length > shown.length ? '; ...' : ''}`,
    undefined,
    [shown],
  );
}

function fromRecord(record: readonly FeatureValue[]): Record<string, string> {
  return Object.fromEntries(record.map((fv) => [fv.FeatureName!, fv.ValueAsString ?? JSON.stringify(fv.ValueAsStringList ?? [])]));
}

function resultOf(chunk: Chunk, cp: ChunkCheckpoint, concurrency: number): ChunkResult {
  return {
    index: chunk.index,
    rows: cp.rowsDone,
    written: cp.written,
    failed: cp.failed,
    requests: cp.requests,
    throttled: cp.throttled,
    unprocessed: cp.unprocessed,
    resumed: cp.resumed,
    concurrency,
    backoffs: cp.backoffs ?? 0,
    growths: cp.growths ?? 0,
    lowestConcurrency: cp.lowestConcurrency ?? concurrency,
  };
}
