/**
 * The emulated Feature Store through the real SDK clients: feature groups on SageMaker (validation, Creating ->
 * Created), the runtime's writes and reads (latest by event time online, every write offline as Parquet in S3 under
 * the documented layout), per-entry errors, throttling beyond the provisioned capacity, and the write journal.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateFeatureGroupCommand, DeleteFeatureGroupCommand, DescribeFeatureGroupCommand, ListFeatureGroupsCommand, SageMakerClient, UpdateFeatureGroupCommand } from '@aws-sdk/client-sagemaker';
import {
  BatchGetRecordCommand,
  BatchWriteRecordCommand,
  DeleteRecordCommand,
  GetRecordCommand,
  PutRecordCommand,
  SageMakerFeatureStoreRuntimeClient,
  type FeatureValue,
} from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { loadParquetReader } from '../../common/esm-import';
import type { RunningEmulator } from '../../local/aws';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

let emulator: RunningEmulator;
let sm: SageMakerClient;
let fs: SageMakerFeatureStoreRuntimeClient;
let s3: S3Client;

// A clock that moves only when the test moves it (POST /_emulator/clock), so write capacity refills on cue.
const START = Date.parse('2024-03-04T00:00:00Z');
beforeAll(async () => {
  emulator = await startTestEmulator({ clock: { now: () => START } });
});
afterAll(async () => {
  await emulator?.close();
});
beforeEach(async () => {
  await control(emulator.endpoint, 'POST', '/reset');
  sm = new SageMakerClient(clientConfig(emulator.endpoint));
  fs = new SageMakerFeatureStoreRuntimeClient(clientConfig(emulator.endpoint, 1));
  s3 = new S3Client({ ...clientConfig(emulator.endpoint), forcePathStyle: true });
});

const DEFS = [
  { FeatureName: 'cc_num', FeatureType: 'Integral' as const },
  { FeatureName: 'event_time', FeatureType: 'String' as const },
  { FeatureName: 'num_trans_last_1w', FeatureType: 'Integral' as const },
  { FeatureName: 'avg_amt_last_1w', FeatureType: 'Fractional' as const },
];

async function createGroup(name: string, extra: Record<string, unknown> = {}): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: 'fs-offline' })).catch(() => undefined);
  await sm.send(
    new CreateFeatureGroupCommand({
      FeatureGroupName: name,
      RecordIdentifierFeatureName: 'cc_num',
      EventTimeFeatureName: 'event_time',
      FeatureDefinitions: DEFS,
      OnlineStoreConfig: { EnableOnlineStore: true },
      OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://fs-offline/features' } },
      RoleArn: 'arn:aws:iam::123456789012:role/feature-store',
      ...extra,
    }),
  );
  await control(emulator.endpoint, 'POST', '/clock', { advanceSeconds: 10 });
}

const rec = (cc: number, time: string, n: number, avg: number): FeatureValue[] => [
  { FeatureName: 'cc_num', ValueAsString: String(cc) },
  { FeatureName: 'event_time', ValueAsString: time },
  { FeatureName: 'num_trans_last_1w', ValueAsString: String(n) },
  { FeatureName: 'avg_amt_last_1w', ValueAsString: String(avg) },
];

describe('feature groups', () => {
  it('go Creating then Created, with the offline store resolved under the documented layout', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'fs-offline' }));
    await sm.send(
      new CreateFeatureGroupCommand({
        FeatureGroupName: 'cards-1w',
        RecordIdentifierFeatureName: 'cc_num',
        EventTimeFeatureName: 'event_time',
        FeatureDefinitions: DEFS,
        OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://fs-offline/features' } },
        ThroughputConfig: { ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 10, ProvisionedWriteCapacityUnits: 100 },
      }),
    );
    const creating = await sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards-1w' }));
    expect(creating.FeatureGroupStatus).toBe('Creating');
    const created = Math.floor(creating.CreationTime!.getTime() / 1000);
    expect(creating.OfflineStoreConfig?.S3StorageConfig?.ResolvedOutputS3Uri).toBe(`s3://fs-offline/features/123456789012/sagemaker/us-east-1/offline-store/cards-1w-${created}/data`);
    expect(creating.ThroughputConfig).toEqual({ ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 10, ProvisionedWriteCapacityUnits: 100 });
    await control(emulator.endpoint, 'POST', '/clock', { advanceSeconds: 10 });
    expect((await sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards-1w' }))).FeatureGroupStatus).toBe('Created');
    const list = await sm.send(new ListFeatureGroupsCommand({ NameContains: 'cards' }));
    expect(list.FeatureGroupSummaries?.map((g) => [g.FeatureGroupName, g.FeatureGroupStatus])).toEqual([['cards-1w', 'Created']]);

    const again = await caught(sm.send(new CreateFeatureGroupCommand({ FeatureGroupName: 'cards-1w', RecordIdentifierFeatureName: 'cc_num', EventTimeFeatureName: 'event_time', FeatureDefinitions: DEFS, OnlineStoreConfig: { EnableOnlineStore: true } })));
    expect(again.name).toBe('ResourceInUse');

    await sm.send(new UpdateFeatureGroupCommand({ FeatureGroupName: 'cards-1w', FeatureAdditions: [{ FeatureName: 'fraud_ratio', FeatureType: 'Fractional' }] }));
    const updated = await sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards-1w' }));
    expect(updated.FeatureDefinitions?.map((d) => d.FeatureName)).toContain('fraud_ratio');

    await sm.send(new DeleteFeatureGroupCommand({ FeatureGroupName: 'cards-1w' }));
    expect((await sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards-1w' }))).FeatureGroupStatus).toBe('Deleting');
    await control(emulator.endpoint, 'POST', '/clock', { advanceSeconds: 10 });
    expect((await caught(sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards-1w' })))).name).toBe('ResourceNotFound');
  });

  it('are refused as AWS refuses them, creating nothing', async () => {
    const base = { FeatureGroupName: 'bad', RecordIdentifierFeatureName: 'cc_num', EventTimeFeatureName: 'event_time', OnlineStoreConfig: { EnableOnlineStore: true } };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['reserved name', { FeatureDefinitions: [...DEFS, { FeatureName: 'write_time', FeatureType: 'String' }] }, /reserved/],
      ['identifier not defined', { FeatureDefinitions: DEFS.slice(1) }, /RecordIdentifierFeatureName cc_num is not defined/],
      ['event time of type Integral', { FeatureDefinitions: [DEFS[0], { FeatureName: 'event_time', FeatureType: 'Integral' }] }, /must be of type Fractional or String/],
      ['no store', { FeatureDefinitions: DEFS, OnlineStoreConfig: undefined }, /At least one of/],
      ['bad feature name', { FeatureDefinitions: [...DEFS, { FeatureName: '-x', FeatureType: 'String' }] }, /regular expression/],
      ['provisioned without units', { FeatureDefinitions: DEFS, ThroughputConfig: { ThroughputMode: 'Provisioned' } }, /required when ThroughputMode is Provisioned/],
    ];
    for (const [what, input, message] of cases) {
      const err = await caught(sm.send(new CreateFeatureGroupCommand({ ...base, ...input } as never)));
      expect(err.name, what).toBe('ValidationException');
      expect(err.message, what).toMatch(message);
    }
    expect((await sm.send(new ListFeatureGroupsCommand({}))).FeatureGroupSummaries).toEqual([]);
  });
});

describe('records', () => {
  it('online keeps the latest by event time; an older event time reaches only the offline store, which is Parquet in S3', async () => {
    await createGroup('cards');
    await fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: rec(4111, '2024-03-01T10:00:00Z', 3, 12.5) }));
    await fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: rec(4111, '2024-03-01T09:00:00Z', 1, 99) }));
    await fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: rec(4222, '2024-03-02T23:30:00.250Z', 7, 40.25) }));
    const got = await fs.send(new GetRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '4111' }));
    expect(got.Record).toEqual(rec(4111, '2024-03-01T10:00:00Z', 3, 12.5));
    const some = await fs.send(new GetRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '4111', FeatureNames: ['avg_amt_last_1w'] }));
    expect(some.Record).toEqual([{ FeatureName: 'avg_amt_last_1w', ValueAsString: '12.5' }]);
    expect((await fs.send(new GetRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '9999' }))).Record).toBeUndefined();
    const batch = await fs.send(new BatchGetRecordCommand({ Identifiers: [{ FeatureGroupName: 'cards', RecordIdentifiersValueAsString: ['4111', '4222', '9999'] }] }));
    expect(batch.Records?.map((r) => r.RecordIdentifierValueAsString)).toEqual(['4111', '4222']);

    const flushed = await control<{ files: string[] }>(emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
    expect(flushed.body, JSON.stringify(flushed.body)).toHaveProperty('files');
    expect(flushed.body.files).toHaveLength(3);
    const desc = await sm.send(new DescribeFeatureGroupCommand({ FeatureGroupName: 'cards' }));
    const prefix = desc.OfflineStoreConfig!.S3StorageConfig!.ResolvedOutputS3Uri!.replace('s3://fs-offline/', '');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'fs-offline', Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1));
    expect(keys.map((k) => k.replace(/\/[^/]+$/, '')).sort()).toEqual(['year=2024/month=03/day=01/hour=09', 'year=2024/month=03/day=01/hour=10', 'year=2024/month=03/day=02/hour=23']);
    for (const k of keys) expect(k).toMatch(/\/\d{8}T\d{6}Z_[0-9a-f]{16}\.parquet$/);

    const { parquetReadObjects } = await loadParquetReader();
    const key = (listed.Contents ?? []).find((o) => o.Key!.includes('hour=09'))!.Key!;
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'fs-offline', Key: key }))).Body!.transformToByteArray();
    const rows = await parquetReadObjects({ file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ cc_num: 4111n, event_time: '2024-03-01T09:00:00Z', num_trans_last_1w: 1n, avg_amt_last_1w: 99, is_deleted: false });
    expect(rows[0]!.write_time).toBeInstanceOf(Date);
    expect(rows[0]!.api_invocation_time).toBeInstanceOf(Date);
  });

  it('rejects bad records per entry in BatchWriteRecord and writes the rest; PutRecord answers ValidationError', async () => {
    await createGroup('cards');
    const out = await fs.send(
      new BatchWriteRecordCommand({
        Entries: [
          { FeatureGroupName: 'cards', Record: rec(1, '2024-03-01T10:00:00Z', 1, 1.5) },
          { FeatureGroupName: 'cards', Record: [...rec(2, '2024-03-01T10:00:00Z', 1, 1).slice(0, 3), { FeatureName: 'avg_amt_last_1w', ValueAsString: 'abc' }] },
          { FeatureGroupName: 'cards', Record: rec(3, '2024-03-01 10:00:00', 1, 1) },
          { FeatureGroupName: 'cards', Record: rec(4, '2024-03-01T10:00:00Z', 1, 1).slice(1) },
          { FeatureGroupName: 'nope', Record: rec(5, '2024-03-01T10:00:00Z', 1, 1) },
        ],
      }),
    );
    expect(out.UnprocessedEntries).toEqual([]);
    expect(out.Errors?.map((e) => [e.Entry?.Record?.[0]?.ValueAsString ?? e.Entry?.FeatureGroupName, e.ErrorCode])).toEqual([
      ['2', 'ValidationError'],
      ['3', 'ValidationError'],
      ['2024-03-01T10:00:00Z', 'ValidationError'],
      ['5', 'ResourceNotFound'],
    ]);
    expect(out.Errors?.[0]?.ErrorMessage).toMatch(/"abc" of feature avg_amt_last_1w is not of type Fractional/);
    expect(out.Errors?.[1]?.ErrorMessage).toMatch(/Invalid EventTime/);
    expect(out.Errors?.[2]?.ErrorMessage).toMatch(/record identifier feature cc_num is missing/);
    const err = await caught(fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: [...rec(9, '2024-03-01T10:00:00Z', 1, 1), { FeatureName: 'extra', ValueAsString: 'x' }] })));
    expect(err.name).toBe('ValidationError');
    expect(err.message).toMatch(/extra is not defined/);
    const journal = await control<{ recordsWritten: number }>(emulator.endpoint, 'GET', '/services/sagemaker-featurestore-runtime/journal?group=cards');
    expect(journal.body.recordsWritten).toBe(1);
  });

  it('throttles beyond the provisioned write capacity: UnprocessedEntries for the rest, ThrottlingException when nothing fits', async () => {
    await createGroup('slow', { ThroughputConfig: { ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 1, ProvisionedWriteCapacityUnits: 30 } });
    const entries = (from: number) => Array.from({ length: 25 }, (_, i) => ({ FeatureGroupName: 'slow', Record: rec(from + i, '2024-03-01T10:00:00Z', 1, 1) }));
    const first = await fs.send(new BatchWriteRecordCommand({ Entries: entries(0) }));
    expect(first.UnprocessedEntries).toEqual([]);
    const second = await fs.send(new BatchWriteRecordCommand({ Entries: entries(100) }));
    expect(second.UnprocessedEntries?.length).toBe(20);
    expect(second.UnprocessedEntries?.[0]?.Record?.[0]?.ValueAsString).toBe(String(100 + 25 - second.UnprocessedEntries!.length));
    const third = await caught(fs.send(new BatchWriteRecordCommand({ Entries: entries(200) })));
    expect(third.name).toBe('ThrottlingException');
    // A second of emulated time refills the bucket.
    await control(emulator.endpoint, 'POST', '/clock', { advanceSeconds: 1 });
    expect((await fs.send(new BatchWriteRecordCommand({ Entries: entries(200) }))).UnprocessedEntries).toEqual([]);
    const journal = await control<{ throttledRequests: number; recordsWritten: number }>(emulator.endpoint, 'GET', '/services/sagemaker-featurestore-runtime/journal?group=slow');
    expect(journal.body.throttledRequests).toBe(1);
    expect(journal.body.recordsWritten).toBe(50 + 25 - second.UnprocessedEntries!.length);
  });

  it('the journal counts records written more than once; DeleteRecord hides a record online and writes a deletion offline', async () => {
    await createGroup('cards');
    for (let i = 0; i < 2; i++) await fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: rec(1, '2024-03-01T10:00:00Z', 1, 1) }));
    await fs.send(new PutRecordCommand({ FeatureGroupName: 'cards', Record: rec(2, '2024-03-01T10:00:00Z', 1, 1) }));
    const j = await control<{ recordsWritten: number; distinctRecords: number; duplicatedRecords: number; maxWritesOfOneRecord: number }>(
      emulator.endpoint,
      'GET',
      '/services/sagemaker-featurestore-runtime/journal?group=cards',
    );
    expect(j.body).toMatchObject({ recordsWritten: 3, distinctRecords: 2, duplicatedRecords: 1, maxWritesOfOneRecord: 2 });
    expect((await caught(fs.send(new DeleteRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '1', EventTime: '2024-03-01T09:00:00Z' })))).name).toBe('ValidationError');
    await fs.send(new DeleteRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '1', EventTime: '2024-03-01T11:00:00Z' }));
    expect((await fs.send(new GetRecordCommand({ FeatureGroupName: 'cards', RecordIdentifierValueAsString: '1' }))).Record).toBeUndefined();
    const flushed = await control<{ files: string[] }>(emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
    expect(flushed.body.files.some((f) => f.includes('hour=11'))).toBe(true);
  });
});

describe('with a state directory', () => {
  it('keeps groups, online records and rows buffered for the offline store across a restart', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const stateDir = join(mkdtempSync(join(tmpdir(), 'mlops-fs-state-')), 'state');
    const clock = { now: () => START };
    try {
      let durable = await startTestEmulator({ stateDir, clock });
      const c = (e: RunningEmulator) => ({
        sm: new SageMakerClient(clientConfig(e.endpoint)),
        fs: new SageMakerFeatureStoreRuntimeClient(clientConfig(e.endpoint)),
        s3: new S3Client({ ...clientConfig(e.endpoint), forcePathStyle: true }),
      });
      let cl = c(durable);
      await cl.s3.send(new CreateBucketCommand({ Bucket: 'fs-offline' }));
      await cl.sm.send(
        new CreateFeatureGroupCommand({
          FeatureGroupName: 'kept',
          RecordIdentifierFeatureName: 'cc_num',
          EventTimeFeatureName: 'event_time',
          FeatureDefinitions: DEFS,
          OnlineStoreConfig: { EnableOnlineStore: true },
          OfflineStoreConfig: { S3StorageConfig: { S3Uri: 's3://fs-offline/kept' } },
        }),
      );
      await control(durable.endpoint, 'POST', '/clock', { advanceSeconds: 10 });
      await cl.fs.send(new BatchWriteRecordCommand({ Entries: [1, 2, 3].map((i) => ({ FeatureGroupName: 'kept', Record: rec(i, '2024-03-01T10:00:00Z', i, i / 2) })) }));
      await durable.close();
      durable = await startTestEmulator({ stateDir, clock });
      cl = c(durable);
      expect((await cl.fs.send(new GetRecordCommand({ FeatureGroupName: 'kept', RecordIdentifierValueAsString: '2' }))).Record).toEqual(rec(2, '2024-03-01T10:00:00Z', 2, 1));
      const flushed = await control<{ files: string[] }>(durable.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/offline-store/flush');
      expect(flushed.body.files).toHaveLength(1);
      const { parquetReadObjects } = await loadParquetReader();
      const body = await (await cl.s3.send(new GetObjectCommand({ Bucket: 'fs-offline', Key: flushed.body.files[0]! }))).Body!.transformToByteArray();
      expect(await parquetReadObjects({ file: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer })).toHaveLength(3);
      await durable.close();
    } finally {
      rmSync(join(stateDir, '..'), { recursive: true, force: true });
    }
  });
});
