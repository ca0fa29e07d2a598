/**
 * Emulated Glue through the real @aws-sdk/client-glue: jobs, runs with arguments over the job's defaults, statuses
 * moving with the emulator's clock, MaxConcurrentRuns, stop, timeout, failures; and the example ETL really turning
 * raw sales extracts into the Forecast datasets in the emulated S3 when (and only when) its run succeeds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchStopJobRunCommand,
  CreateJobCommand,
  DeleteJobCommand,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
} from '@aws-sdk/client-glue';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningEmulator } from '../../local/aws';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';
import { generateSales } from '../../examples/forecast/generate-sales';

let emu: RunningEmulator;
let glue: GlueClient;
let s3: S3Client;
const BUCKET = 'sales';
const SCRIPT = `s3://${BUCKET}/scripts/forecast_etl.py`;

beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  await control(emu.endpoint, 'POST', '/reset');
  glue = new GlueClient(clientConfig(emu.endpoint));
  s3 = new S3Client({ ...clientConfig(emu.endpoint), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'scripts/forecast_etl.py', Body: '# mlops-emulator-etl: forecast-datasets\nimport sys\n' }));
});

const advance = (seconds: number) => control(emu.endpoint, 'POST', '/clock', { advanceSeconds: seconds });

async function createJob(name = 'etl', extra: Partial<ConstructorParameters<typeof CreateJobCommand>[0]> = {}) {
  await glue.send(
    new CreateJobCommand({
      Name: name,
      Role: 'arn:aws:iam::123456789012:role/glue',
      Command: { Name: 'glueetl', ScriptLocation: SCRIPT },
      DefaultArguments: { '--raw_path': `s3://${BUCKET}/raw/`, '--output_path': `s3://${BUCKET}/out/default/` },
      ...extra,
    }),
  );
}

async function state(runId: string, job = 'etl') {
  return (await glue.send(new GetJobRunCommand({ JobName: job, RunId: runId }))).JobRun;
}

async function keys(prefix: string): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string);
}

async function text(key: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString() ?? '';
}

describe('Glue jobs and runs', () => {
  it('runs the example ETL: the three datasets per segment appear in S3 when the run succeeds, with the run arguments over the defaults', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/2026-01.csv', Body: generateSales({ items: 6, stores: 2, days: 30 }) }));
    await createJob();
    expect((await glue.send(new GetJobCommand({ JobName: 'etl' }))).Job?.ExecutionProperty?.MaxConcurrentRuns).toBe(1);
    const { JobRunId } = await glue.send(new StartJobRunCommand({ JobName: 'etl', Arguments: { '--output_path': `s3://${BUCKET}/out/run1/` } }));
    const runId = JobRunId as string;
    expect(runId).toMatch(/^jr_[0-9a-f]{64}$/);
    expect((await state(runId))?.JobRunState).toBe('STARTING');
    await advance(31);
    expect((await state(runId))?.JobRunState).toBe('RUNNING');
    expect(await keys('out/')).toEqual([]);
    await advance(600);
    const done = await state(runId);
    expect(done?.JobRunState).toBe('SUCCEEDED');
    expect(done?.Arguments?.['--output_path']).toBe(`s3://${BUCKET}/out/run1/`);
    expect(done?.Arguments?.['--raw_path']).toBe(`s3://${BUCKET}/raw/`);
    expect(done?.CompletedOn).toBeInstanceOf(Date);
    expect(await keys('out/default/')).toEqual([]);
    const written = await keys('out/run1/');
    expect(written).toEqual(
      ['popular', 'slow'].flatMap((s) => ['automl_training.csv', 'item_metadata.csv', 'related_time_series.csv', 'target_time_series.csv'].map((f) => `out/run1/${s}/${f}`)),
    );
    // 6 items x 2 stores: the first 2 items of each store are popular (tens a day), the others slow.
    const popular = (await text('out/run1/popular/item_metadata.csv')).trim().split('\n');
    const slow = (await text('out/run1/slow/item_metadata.csv')).trim().split('\n');
    expect(popular.length + slow.length).toBe(12);
    expect(popular).toContain('item_001_store_001,bakery,store_001');
    const target = (await text('out/run1/popular/target_time_series.csv')).trim().split('\n');
    expect(target).toHaveLength(popular.length * 30);
    expect(target[0]).toMatch(/^2026-01-01,item_\d{3}_store_\d{3},\d+$/);
    const related = (await text('out/run1/slow/related_time_series.csv')).trim().split('\n');
    expect(related[0]?.split(',')).toHaveLength(5);
    const runs = await glue.send(new GetJobRunsCommand({ JobName: 'etl' }));
    expect(runs.JobRuns?.map((r) => r.Id)).toEqual([runId]);
  });

  it('runs longer on more data', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/a.csv', Body: generateSales({ items: 3, stores: 1, days: 10 }) }));
    await createJob('small');
    await createJob('large', { DefaultArguments: { '--raw_path': `s3://${BUCKET}/big/`, '--output_path': `s3://${BUCKET}/out/big/` } });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big/a.csv', Body: generateSales({ items: 20, stores: 5, days: 200 }) }));
    const small = (await glue.send(new StartJobRunCommand({ JobName: 'small' }))).JobRunId as string;
    const large = (await glue.send(new StartJobRunCommand({ JobName: 'large' }))).JobRunId as string;
    await advance(3600);
    const [a, b] = [await state(small, 'small'), await state(large, 'large')];
    expect(a?.JobRunState).toBe('SUCCEEDED');
    expect(b?.JobRunState).toBe('SUCCEEDED');
    expect(b?.ExecutionTime ?? 0).toBeGreaterThan((a?.ExecutionTime ?? 0) * 3);
  });

  it('refuses a run past MaxConcurrentRuns, and stops a run without writing its outputs', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/a.csv', Body: generateSales({ items: 3, stores: 1, days: 10 }) }));
    await createJob();
    const first = (await glue.send(new StartJobRunCommand({ JobName: 'etl' }))).JobRunId as string;
    const err = await caught(glue.send(new StartJobRunCommand({ JobName: 'etl' })));
    expect(err.name).toBe('ConcurrentRunsExceededException');
    const stop = await glue.send(new BatchStopJobRunCommand({ JobName: 'etl', JobRunIds: [first, 'jr_missing'] }));
    expect(stop.SuccessfulSubmissions?.map((s) => s.JobRunId)).toEqual([first]);
    expect(stop.Errors?.[0]?.ErrorDetail?.ErrorCode).toBe('EntityNotFoundException');
    expect((await state(first))?.JobRunState).toBe('STOPPING');
    await advance(3600);
    expect((await state(first))?.JobRunState).toBe('STOPPED');
    expect(await keys('out/')).toEqual([]);
    // A stopped run no longer counts against the limit.
    await glue.send(new StartJobRunCommand({ JobName: 'etl' }));
  });

  it('times a run out after its timeout, and fails runs whose script or data is wrong, saying why', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/a.csv', Body: generateSales({ items: 10, stores: 3, days: 100 }) }));
    await createJob('etl', { Timeout: 1, ExecutionProperty: { MaxConcurrentRuns: 5 } });
    const timed = (await glue.send(new StartJobRunCommand({ JobName: 'etl' }))).JobRunId as string;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'scripts/plain.py', Body: 'import sys\n' }));
    await createJob('plain', { Command: { ScriptLocation: `s3://${BUCKET}/scripts/plain.py` } });
    const plain = (await glue.send(new StartJobRunCommand({ JobName: 'plain' }))).JobRunId as string;
    await createJob('bad', { DefaultArguments: { '--raw_path': `s3://${BUCKET}/bad/`, '--output_path': `s3://${BUCKET}/out/bad/` } });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/x.csv', Body: 'date,store_id,item_id,category,units_sold,discount,inventory,temperature_c\n2026-13-01,s,i,c,1,0,1,1\n' }));
    const bad = (await glue.send(new StartJobRunCommand({ JobName: 'bad' }))).JobRunId as string;
    await advance(7200);
    const t = await state(timed);
    expect(t?.JobRunState).toBe('TIMEOUT');
    expect(t?.ErrorMessage).toMatch(/timed out after 1 minutes/);
    const p = await state(plain, 'plain');
    expect(p?.JobRunState).toBe('FAILED');
    expect(p?.ErrorMessage).toMatch(/names no emulated ETL program/);
    const b = await state(bad, 'bad');
    expect(b?.JobRunState).toBe('FAILED');
    expect(b?.ErrorMessage).toMatch(/bad\/x\.csv line 2: date "2026-13-01"/);
    expect(await keys('out/')).toEqual([]);
  });

  it('answers AlreadyExists and EntityNotFound as Glue does', async () => {
    await createJob();
    expect((await caught(createJob())).name).toBe('AlreadyExistsException');
    expect((await glue.send(new DeleteJobCommand({ JobName: 'etl' }))).JobName).toBe('etl');
    expect((await caught(glue.send(new GetJobCommand({ JobName: 'etl' })))).name).toBe('EntityNotFoundException');
    expect((await caught(glue.send(new StartJobRunCommand({ JobName: 'etl' })))).name).toBe('EntityNotFoundException');
    // Deleting what is gone succeeds, as in Glue.
    expect((await glue.send(new DeleteJobCommand({ JobName: 'etl' }))).JobName).toBe('etl');
  });
});
