/**
 * `mlops features` operations against the embedded stack: create-group from a YAML spec (idempotent, refusals name
 * the field), ingest of a local file (uploaded first) with --wait, status, failures, redrive, get.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../../common/config';
import { createGroup, failures, getRecord, listRuns, progressOf, redrive, startIngestion, waitForRun, formatProgress } from '../../clients/cli/commands/features';
import { UsageError } from '../../clients/cli/usage-error';
import { control } from '../aws/harness';
import { startFeaturesStack, syntheticRows, transactionsCsv, type FeaturesStack } from './harness';

let stack: FeaturesStack;
let config: Config;
const dir = mkdtempSync(join(tmpdir(), 'mlops-features-cli-'));
beforeAll(async () => {
  stack = await startFeaturesStack();
  config = loadConfig({ AWS_ENDPOINT_URL: stack.emulator.endpoint, MLOPS_LOG_LEVEL: 'silent' });
  await stack.aws.s3.send(new CreateBucketCommand({ Bucket: 'offline' }));
  // Feature groups take a few emulated seconds to create: move the emulator's clock while create-group waits.
  // A tick in flight when the stack closes is refused: that is not this file's failure.
  const tick = setInterval(() => void control(stack.emulator.endpoint, 'POST', '/clock', { advanceSeconds: 5 }).catch(() => undefined), 500);
  afterAll(() => clearInterval(tick));
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const SPEC = `
FeatureGroupName: cards-cli
RecordIdentifierFeatureName: cc_num
EventTimeFeatureName: trans_time
FeatureDefinitions:
  - { FeatureName: tid, FeatureType: String }
  - { FeatureName: cc_num, FeatureType: Integral }
  - { FeatureName: trans_time, FeatureType: String }
  - { FeatureName: amount, FeatureType: Fractional }
  - { FeatureName: fraud_label, FeatureType: Integral }
OnlineStoreConfig: { EnableOnlineStore: true }
OfflineStoreConfig: { S3StorageConfig: { S3Uri: s3://offline/cli } }
`;

describe('mlops features', () => {
  it('create-group creates once and finds its own group again; a bad spec names the field and creates nothing', async () => {
    const first = await createGroup(stack.client, SPEC, 'cards.yaml');
    expect(first).toMatchObject({ featureGroupArn: 'arn:aws:sagemaker:us-east-1:123456789012:feature-group/cards-cli', existed: false });
    expect(await createGroup(stack.client, SPEC, 'cards.yaml')).toMatchObject({ existed: true });
    const bad = await createGroup(stack.client, SPEC.replace('FeatureType: Fractional', 'FeatureType: Float'), 'bad.yaml').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UsageError);
    expect((bad as Error).message).toMatch(/^bad\.yaml: FeatureDefinitions\.3\.FeatureType: /);
  });

  it('ingests a local file with --wait, then status, failures, redrive and get tell the story', async () => {
    const file = join(dir, 'tx.csv');
    writeFileSync(file, transactionsCsv(syntheticRows(900, 30)));
    await control(stack.emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/rejections', { featureGroupName: 'cards-cli', featureName: 'tid', values: ['T00000010', 'T00000500'], errorMessage: 'refused for the test' });
    const started = await startIngestion(stack.client, config, { group: 'cards-cli', sources: [file], runId: 'cli-1', ledger: 's3://mlops-features/runs', chunkRows: 300 });
    expect(started.sources).toEqual(['s3://mlops-features/runs/cli-1/source/tx.csv']);
    const done = await waitForRun(stack.client, 'cli-1', { bar: false, intervalMs: 100 });
    expect(done).toMatchObject({ phase: 'completed', rowsTotal: 900, rowsWritten: 898, rowsFailed: 2 });
    expect(formatProgress(done)).toContain('898 written, 2 failed');
    expect(await progressOf(stack.client, 'cli-1')).toMatchObject({ phase: 'completed', rowsWritten: 898 });
    expect((await listRuns(stack.client)).map((r) => r.runId)).toContain('cli-1');

    const ledger = await failures(stack.client, config, 'cli-1');
    expect(ledger.map((e) => [e.row, e.record.tid, e.errorMessage])).toEqual([
      [11, 'T00000010', 'refused for the test'],
      [501, 'T00000500', 'refused for the test'],
    ]);
    await expect(startIngestion(stack.client, config, { group: 'cards-cli', sources: [file], runId: 'cli-1' })).rejects.toThrow(/run cli-1 already exists/);

    await control(stack.emulator.endpoint, 'DELETE', '/services/sagemaker-featurestore-runtime/rejections');
    const r = await redrive(stack.client, 'cli-1');
    expect(r).toMatchObject({ runId: 'cli-1-redrive-1', records: 2 });
    expect(await waitForRun(stack.client, r.runId, { bar: false })).toMatchObject({ phase: 'completed', rowsWritten: 2, rowsFailed: 0, redriveOf: 'cli-1' });
    await expect(redrive(stack.client, 'cli-1-redrive-1')).rejects.toThrow(/no failed records/);

    const latest = syntheticRows(900, 30).filter((row) => row.cc === 4010).pop()!;
    expect(await getRecord(config, 'cards-cli', '4010')).toMatchObject({ tid: latest.tid, trans_time: latest.time });
    expect(await getRecord(config, 'cards-cli', '999999')).toBeUndefined();
  });

  it('refuses bad input before starting anything', async () => {
    await expect(startIngestion(stack.client, config, { group: 'cards-cli', sources: [join(dir, 'missing.csv')], runId: 'cli-2' })).rejects.toThrow(/neither an s3:\/\/ URI nor a readable file/);
    await expect(startIngestion(stack.client, config, { group: 'cards-cli', sources: ['s3://x/y.csv'], runId: 'bad id' })).rejects.toThrow(/--run-id/);
    await expect(progressOf(stack.client, 'cli-2')).rejects.toThrow(/unknown run cli-2/);
  });
});
