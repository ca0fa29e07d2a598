/**
 * Ingestion runs end to end on the embedded server and the emulator, through the real SDK clients: chunks over a
 * bounded window, the online store holding the latest record per card, the offline store every row in its
 * partition; a source that does not match stops before any write, naming file, row and column; rejected rows land
 * in the ledger and a redrive after the fix writes exactly those; a run continues as new and still completes.
 * Throttling: throttling.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { BatchGetRecordCommand } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { DescribeFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { loadParquetReader, loadParquetWriter } from '../../common/esm-import';
import { FEATURES_TASK_QUEUE, ingestionWorkflowId, type IngestInput, type IngestProgress, type LedgerEntry } from '../../workflows/features/model';
import { progressQuery } from '../../workflows/features/messages';
import type { featureIngestion } from '../../workflows/features/ingestion';
import { control } from '../aws/harness';
import { prepareGroup, startFeaturesStack, syntheticRows, transactionsCsv, upload, type FeaturesStack } from './harness';

let stack: FeaturesStack;
beforeAll(async () => {
  stack = await startFeaturesStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

async function ingest(input: Omit<IngestInput, 'ledger'> & { ledger?: string }): Promise<IngestProgress> {
  const handle = await stack.client.workflow.start<typeof featureIngestion>('featureIngestion', {
    taskQueue: FEATURES_TASK_QUEUE,
    workflowId: ingestionWorkflowId(input.runId),
    args: [{ ledger: 's3://ledger/runs', ...input }],
  });
  return handle.result();
}

async function latestOnline(group: string, ids: string[]) {
  const out = new Map<string, Record<string, string>>();
  for (let i = 0; i < ids.length; i += 100) {
    const r = await stack.aws.runtime.send(new BatchGetRecordCommand({ Identifiers: [{ FeatureGroupName: group, RecordIdentifiersValueAsString: ids.slice(i, i + 100) }] }));
    for (const rec of r.Records ?? []) out.set(rec.RecordIdentifierValueAsString!, Object.fromEntries((rec.Record ?? []).map((fv) => [fv.FeatureName!, fv.ValueAsString!])));
  }
  return out;
}

async function offlineRows(group: string): Promise<{ key: string; row: Record<string, unknown> }[]> {
  await control(stack.emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
  const desc = await stack.aws.sagemaker.send(new DescribeFeatureGroupCommand({ FeatureGroupName: group }));
  const prefix = desc.OfflineStoreConfig!.S3StorageConfig!.ResolvedOutputS3Uri!.replace('s3://offline/', '');
  const { parquetReadObjects } = await loadParquetReader();
  const out: { key: string; row: Record<string, unknown> }[] = [];
  let token: string | undefined;
  do {
    const page = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: 'offline', Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const bytes = await (await stack.aws.s3.send(new GetObjectCommand({ Bucket: 'offline', Key: o.Key! }))).Body!.transformToByteArray();
      for (const row of await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })) out.push({ key: o.Key!, row });
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const hourOf = (iso: string) => {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `year=${d.getUTCFullYear()}/month=${p(d.getUTCMonth() + 1)}/day=${p(d.getUTCDate())}/hour=${p(d.getUTCHours())}`;
};

describe('a run', () => {
  it('writes every row: the latest per card online, every row offline in its hour partition; progress says so', async () => {
    await prepareGroup(stack, 'cards-online', { identifier: 'cc_num' });
    const rows = syntheticRows(2_400, 40);
    // Out of order on purpose: a card's older transaction written after a newer one must not win online.
    const shuffled = [...rows.slice(1_200), ...rows.slice(0, 1_200)];
    const source = await upload(stack, 'run1/transactions.csv', transactionsCsv(shuffled));
    const result = await ingest({ runId: 'run1', featureGroupName: 'cards-online', sources: [source], chunkRows: 500, window: 3 });
    expect(result).toMatchObject({ phase: 'completed', rowsTotal: 2_400, rowsWritten: 2_400, rowsFailed: 0, chunksTotal: 5, chunksDone: 5 });
    expect(result.rowsPerSecond).toBeGreaterThan(0);

    const latest = new Map<number, (typeof rows)[number]>();
    for (const r of rows) latest.set(r.cc, r);
    const online = await latestOnline('cards-online', [...latest.keys()].map(String));
    expect(online.size).toBe(40);
    for (const [cc, r] of latest) expect(online.get(String(cc))).toMatchObject({ tid: r.tid, trans_time: r.time });

    const offline = await offlineRows('cards-online');
    expect(offline).toHaveLength(2_400);
    expect(new Set(offline.map((o) => o.row.tid)).size).toBe(2_400);
    for (const o of offline) expect(o.key).toContain(`/${hourOf(String(o.row.trans_time))}/`);

    const j = await stack.journal('cards-online');
    expect(j).toMatchObject({ recordsWritten: 2_400, distinctRecords: 2_400, duplicatedRecords: 0 });
    const progress = await stack.client.workflow.getHandle(ingestionWorkflowId('run1')).query(progressQuery);
    expect(progress).toMatchObject({ phase: 'completed', rowsWritten: 2_400, chunksDone: 5 });
  });

  it('reads Parquet sources too, and continues as new every few chunks without losing count', async () => {
    await prepareGroup(stack, 'tx-parquet');
    const rows = syntheticRows(3_000, 30, Date.parse('2024-03-02T00:00:00Z'));
    const { parquetWriteBuffer } = await loadParquetWriter();
    const body = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'tid', data: rows.map((r) => r.tid), type: 'STRING' },
          { name: 'cc_num', data: rows.map((r) => BigInt(r.cc)), type: 'INT64' },
          { name: 'trans_time', data: rows.map((r) => r.time), type: 'STRING' },
          { name: 'amount', data: rows.map((r) => r.amount), type: 'DOUBLE' },
          { name: 'fraud_label', data: rows.map(() => 0), type: 'INT32' },
        ],
        rowGroupSize: 1_000,
      }),
    );
    const source = await upload(stack, 'run2/part-0.parquet', body);
    const result = await ingest({ runId: 'run2', featureGroupName: 'tx-parquet', sources: ['s3://sources/run2/'], chunkRows: 400, window: 2, chunksPerRun: 3 });
    expect(source).toBe('s3://sources/run2/part-0.parquet');
    expect(result).toMatchObject({ phase: 'completed', rowsTotal: 3_000, rowsWritten: 3_000, chunksTotal: 8, chunksDone: 8 });
    expect(result.continuedAsNew).toBeGreaterThanOrEqual(2);
    expect(await stack.journal('tx-parquet')).toMatchObject({ recordsWritten: 3_000, distinctRecords: 3_000 });
  });

  it('stops before any write when a column does not match the group, naming the file, row and column', async () => {
    await prepareGroup(stack, 'tx-typed');
    const rows: { tid: string; cc: number; time: string; amount: string | number }[] = syntheticRows(300);
    rows[206] = { ...rows[206]!, amount: '12.50 EUR' };
    await upload(stack, 'run3/good.csv', transactionsCsv(syntheticRows(100)));
    await upload(stack, 'run3/bad.csv', transactionsCsv(rows));
    const err = await ingest({ runId: 'run3', featureGroupName: 'tx-typed', sources: ['s3://sources/run3/'], chunkRows: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error & { type?: string };
    expect(cause.type).toBe('SourceInvalid');
    expect(cause.message).toContain('s3://sources/run3/bad.csv row 207, column amount: "12.50 EUR" is not Fractional');
    expect((await stack.journal('tx-typed')).recordsWritten).toBe(0);
    const progress = await stack.client.workflow.getHandle(ingestionWorkflowId('run3')).query(progressQuery);
    expect(progress.phase).toBe('failed');
  });

  it('puts rows the service rejects in the ledger with their reasons; a redrive after the fix writes exactly those', async () => {
    await prepareGroup(stack, 'tx-rejects');
    const rows = syntheticRows(600);
    const rejected = ['T00000007', 'T00000123', 'T00000124', 'T00000599'];
    await control(stack.emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/rejections', {
      featureGroupName: 'tx-rejects',
      featureName: 'tid',
      values: rejected,
      errorCode: 'ValidationError',
      errorMessage: 'blocked by a test',
    });
    await upload(stack, 'run4/tx.csv', transactionsCsv(rows));
    const result = await ingest({ runId: 'run4', featureGroupName: 'tx-rejects', sources: ['s3://sources/run4/tx.csv'], chunkRows: 200 });
    expect(result).toMatchObject({ phase: 'completed', rowsWritten: 596, rowsFailed: 4 });

    const ledger: LedgerEntry[] = [];
    const listed = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: 'ledger', Prefix: 'runs/run4/failures/' }));
    for (const o of listed.Contents ?? []) {
      const text = await (await stack.aws.s3.send(new GetObjectCommand({ Bucket: 'ledger', Key: o.Key! }))).Body!.transformToString();
      ledger.push(...text.trim().split('\n').map((l) => JSON.parse(l) as LedgerEntry));
    }
    expect(ledger.map((e) => e.record.tid).sort()).toEqual(rejected);
    expect(ledger.find((e) => e.record.tid === 'T00000123')).toMatchObject({ source: 's3://sources/run4/tx.csv', row: 124, errorCode: 'ValidationError', errorMessage: 'blocked by a test' });

    await control(stack.emulator.endpoint, 'DELETE', '/services/sagemaker-featurestore-runtime/rejections');
    const before = await stack.journal('tx-rejects');
    const redrive = await ingest({ runId: 'run4-redrive-1', redriveOf: 'run4', featureGroupName: 'tx-rejects', sources: [] });
    expect(redrive).toMatchObject({ phase: 'completed', rowsTotal: 4, rowsWritten: 4, rowsFailed: 0 });
    const after = await stack.journal('tx-rejects');
    expect(after.recordsWritten - before.recordsWritten).toBe(4);
    expect(after.distinctRecords).toBe(600);
    expect(after.duplicatedRecords).toBe(0);
  });
});
