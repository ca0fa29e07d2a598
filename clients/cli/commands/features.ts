import type { Command } from 'commander';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../../../common/config';
import type { IngestInput, IngestProgress, LedgerEntry } from '../../../workflows/features/model';
import { printResult } from '../output';
import { UsageError } from '../usage-error';

/**
 * `mlops features ...`: feature groups and batch ingestion. Runs are workflows (`features/ingest/<run>`); status is
 * their progress query plus the rows their running chunks have heartbeated; the ledger is read from S3; a local file
 * is uploaded to S3 first; `get` reads one record from the online store.
 */

export const DEFAULT_LEDGER = 's3://mlops-features/runs';

async function model() {
  return await import('../../../workflows/features/model');
}

async function awsClients(config: Config) {
  const { awsClientOptions } = await import('../../../common/aws-clients');
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { SageMakerFeatureStoreRuntimeClient } = await import('@aws-sdk/client-sagemaker-featurestore-runtime');
  const opts = awsClientOptions(config);
  return { s3: new S3Client(opts), runtime: new SageMakerFeatureStoreRuntimeClient(opts) };
}

async function rootCause(err: unknown): Promise<never> {
  const { ApplicationFailure } = await import('@temporalio/common');
  const { NON_RETRYABLE_FEATURE_FAILURES } = await model();
  let e: unknown = err;
  while (e instanceof Error && 'cause' in e && e.cause instanceof Error && !(e instanceof ApplicationFailure && e.type)) e = e.cause;
  if (e instanceof ApplicationFailure && e.type && NON_RETRYABLE_FEATURE_FAILURES.includes(e.type)) throw new UsageError(`${e.type}: ${e.message}`);
  if (e !== err && e instanceof Error) throw new Error(e instanceof ApplicationFailure && e.type ? `${e.type}: ${e.message}` : e.message);
  throw err;
}

async function requireFeaturesWorker(client: Client): Promise<void> {
  const { FEATURES_TASK_QUEUE } = await model();
  let pollers: unknown[];
  try {
    pollers = (await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: FEATURES_TASK_QUEUE }, taskQueueType: 1 })).pollers ?? [];
  } catch {
    return;
  }
  if (pollers.length === 0) throw new Error(`no worker is polling the task queue ${FEATURES_TASK_QUEUE}: start one with \`mlops worker\` (or \`mlops start\`), then try again; nothing was changed`);
}

// --------------------------------------------------------------------------------------------------------------
// The operations, on a connected client: the commander actions below print them, tests call them directly.

export async function createGroup(client: Client, specText: string, file: string): Promise<{ featureGroupArn: string; existed: boolean }> {
  const { parse } = await import('yaml');
  const { z } = await import('zod');
  let raw: unknown;
  try {
    raw = parse(specText);
  } catch (err) {
    throw new UsageError(`${file}: not JSON or YAML (${err instanceof Error ? err.message : String(err)})`);
  }
  const spec = z
    .looseObject({
      FeatureGroupName: z.string().min(1),
      RecordIdentifierFeatureName: z.string().min(1),
      EventTimeFeatureName: z.string().min(1),
      FeatureDefinitions: z.array(z.object({ FeatureName: z.string().min(1), FeatureType: z.enum(['Integral', 'Fractional', 'String']) })).min(1),
    })
    .safeParse(raw);
  if (!spec.success) {
    const issue = spec.error.issues[0]!;
    throw new UsageError(`${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  await requireFeaturesWorker(client);
  const { FEATURES_TASK_QUEUE } = await model();
  try {
    return await client.workflow.execute('createFeatureGroupWorkflow', {
      taskQueue: FEATURES_TASK_QUEUE,
      workflowId: `features/create-group/${spec.data.FeatureGroupName}/${Date.now()}`,
      args: [spec.data],
      workflowExecutionTimeout: '1 hour',
    });
  } catch (err) {
    return await rootCause(err);
  }
}

export interface IngestRequest {
  group: string;
  sources: string[];
  runId?: string;
  ledger?: string;
  chunkRows?: number;
  window?: number;
  maxConcurrency?: number;
}

/** Uploads local files to `<ledger>/<run>/source/`, so every source is an S3 object the workers can range-read. */
async function uploadLocal(config: Config, ledger: string, runId: string, sources: string[]): Promise<string[]> {
  const { existsSync, statSync, createReadStream } = await import('node:fs');
  const { basename } = await import('node:path');
  const { parseS3Uri, runPrefix } = await model();
  const out: string[] = [];
  let clients: Awaited<ReturnType<typeof awsClients>> | undefined;
  for (const s of sources) {
    if (parseS3Uri(s)) {
      out.push(s);
      continue;
    }
    if (!existsSync(s) || !statSync(s).isFile()) throw new UsageError(`${s}: neither an s3:// URI nor a readable file`);
    if (!/\.(csv|parquet)$/i.test(s)) throw new UsageError(`${s}: only .csv and .parquet files can be ingested`);
    clients ??= await awsClients(config);
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const { bucket, prefix } = runPrefix(ledger, runId);
    const key = `${prefix}source/${basename(s)}`;
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(s), ContentLength: statSync(s).size }));
    out.push(`s3://${bucket}/${key}`);
  }
  return out;
}

export async function startIngestion(client: Client, config: Config, req: IngestRequest): Promise<{ runId: string; workflowId: string; sources: string[] }> {
  const { FEATURES_TASK_QUEUE, RUN_ID, ingestionWorkflowId, parseS3Uri } = await model();
  const runId = req.runId ?? `${req.group}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
  if (!RUN_ID.test(runId)) throw new UsageError(`--run-id ${runId}: letters, digits, '.', '-' and '_' only, at most 100`);
  const ledger = req.ledger ?? DEFAULT_LEDGER;
  if (!parseS3Uri(ledger)) throw new UsageError(`--ledger ${ledger}: an s3://bucket/prefix URI`);
  if (req.sources.length === 0) throw new UsageError('--source: at least one s3:// URI or file');
  await requireFeaturesWorker(client);
  // A run id names S3 keys: check before uploading anything under it.
  const exists = await client.workflow
    .getHandle(ingestionWorkflowId(runId))
    .describe()
    .then(
      () => true,
      () => false,
    );
  if (exists) throw new UsageError(`run ${runId} already exists: choose another --run-id`);
  if (config.MLOPS_AWS === 'emulator') {
    // On the emulator the ledger bucket is made on first use; a real account's is the operator's (docs/features).
    const { s3 } = await awsClients(config);
    const { CreateBucketCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
    const bucket = parseS3Uri(ledger)!.bucket;
    await s3.send(new HeadBucketCommand({ Bucket: bucket })).catch(() => s3.send(new CreateBucketCommand({ Bucket: bucket })));
  }
  const sources = await uploadLocal(config, ledger, runId, req.sources);
  const input: IngestInput = {
    runId,
    featureGroupName: req.group,
    sources,
    ledger,
    ...(req.chunkRows ? { chunkRows: req.chunkRows } : {}),
    ...(req.window ? { window: req.window } : {}),
    ...(req.maxConcurrency ? { maxConcurrency: req.maxConcurrency } : {}),
  };
  const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
  try {
    await client.workflow.start('featureIngestion', { taskQueue: FEATURES_TASK_QUEUE, workflowId: ingestionWorkflowId(runId), args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE' });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new UsageError(`run ${runId} already exists: choose another --run-id`);
    throw err;
  }
  return { runId, workflowId: ingestionWorkflowId(runId), sources };
}

/** The run's progress, with the rows its running chunks have reported in heartbeats since their last checkpoint. */
export async function progressOf(client: Client, runId: string): Promise<IngestProgress> {
  const { ingestionWorkflowId, rateAndEta } = await model();
  const { progressQuery } = await import('../../../workflows/features/messages');
  const handle = client.workflow.getHandle(ingestionWorkflowId(runId));
  let p: IngestProgress;
  try {
    p = await handle.query(progressQuery);
  } catch (err) {
    const { WorkflowNotFoundError } = await import('@temporalio/client');
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`unknown run ${runId} (no workflow ${ingestionWorkflowId(runId)})`);
    throw err;
  }
  if (p.phase !== 'writing') return p;
  const running = await runningChunks(client, handle);
  const rowsDone = p.rowsWritten + p.rowsFailed + running.rows;
  return { ...p, rowsWritten: p.rowsWritten + running.written, rowsFailed: p.rowsFailed + running.failed, ...rateAndEta(p.rowsTotal, rowsDone, p.elapsedSeconds) };
}

async function runningChunks(client: Client, handle: WorkflowHandle): Promise<{ rows: number; written: number; failed: number }> {
  const sum = { rows: 0, written: 0, failed: 0 };
  try {
    const d = await handle.describe();
    for (const a of d.raw.pendingActivities ?? []) {
      if (a.activityType?.name !== 'ingestChunk' || !a.heartbeatDetails?.payloads?.[0]) continue;
      const cp = client.options.loadedDataConverter.payloadConverter.fromPayload<{ rowsDone?: number; written?: number; failed?: number }>(a.heartbeatDetails.payloads[0]);
      sum.rows += cp.rowsDone ?? 0;
      sum.written += cp.written ?? 0;
      sum.failed += cp.failed ?? 0;
    }
  } catch {
    // Describe not allowed or the run just closed: the query's figures stand.
  }
  return sum;
}

export async function listRuns(client: Client): Promise<IngestProgress[]> {
  const out: IngestProgress[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'featureIngestion'` })) {
    const runId = wf.workflowId.replace(/^features\/ingest\//, '');
    try {
      out.push(await progressOf(client, runId));
    } catch {
      // A run whose history is gone (retention) has nothing to show.
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

export async function failures(client: Client, config: Config, runId: string, limit = Infinity): Promise<LedgerEntry[]> {
  const p = await progressOf(client, runId);
  const { runPrefix } = await model();
  const { bucket, prefix } = runPrefix(p.ledger, runId);
  const { s3 } = await awsClients(config);
  const { ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const out: LedgerEntry[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}failures/`, ContinuationToken: token }));
    for (const o of (page.Contents ?? []).sort((a, b) => (a.Key! < b.Key! ? -1 : 1))) {
      const text = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToString();
      for (const line of text.split('\n')) if (line.trim() && out.length < limit) out.push(JSON.parse(line) as LedgerEntry);
    }
    token = page.NextContinuationToken;
  } while (token && out.length < limit);
  return out;
}

export async function redrive(client: Client, runId: string): Promise<{ runId: string; workflowId: string; records: number }> {
  const p = await progressOf(client, runId);
  if (p.phase === 'validating' || p.phase === 'writing') throw new UsageError(`run ${runId} is still ${p.phase}: redrive it once it has finished`);
  if (p.rowsFailed === 0) throw new UsageError(`run ${runId} has no failed records: nothing to redrive`);
  await requireFeaturesWorker(client);
  const { FEATURES_TASK_QUEUE, ingestionWorkflowId } = await model();
  const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
  for (let n = 1; n < 1000; n++) {
    const id = `${runId}-redrive-${n}`;
    try {
      await client.workflow.start('featureIngestion', {
        taskQueue: FEATURES_TASK_QUEUE,
        workflowId: ingestionWorkflowId(id),
        args: [{ runId: id, redriveOf: runId, featureGroupName: p.featureGroupName, sources: [], ledger: p.ledger } satisfies IngestInput],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return { runId: id, workflowId: ingestionWorkflowId(id), records: p.rowsFailed };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  throw new Error(`run ${runId} has been redriven 999 times`);
}

export async function getRecord(config: Config, group: string, id: string): Promise<Record<string, string> | undefined> {
  const { runtime } = await awsClients(config);
  const { GetRecordCommand } = await import('@aws-sdk/client-sagemaker-featurestore-runtime');
  const r = await runtime.send(new GetRecordCommand({ FeatureGroupName: group, RecordIdentifierValueAsString: id }));
  return r.Record ? Object.fromEntries(r.Record.map((fv) => [fv.FeatureName!, fv.ValueAsString ?? JSON.stringify(fv.ValueAsStringList)])) : undefined;
}

/** Waits for the run to finish, drawing a progress bar on a terminal (rows, rows/s, failures, time left). */
export async function waitForRun(client: Client, runId: string, opts: { bar: boolean; intervalMs?: number }): Promise<IngestProgress> {
  const { ingestionWorkflowId } = await model();
  const handle = client.workflow.getHandle(ingestionWorkflowId(runId));
  const done = handle.result().then(
    (p: IngestProgress) => ({ ok: true as const, p }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  let bar: import('cli-progress').SingleBar | undefined;
  if (opts.bar) {
    const { SingleBar, Presets } = await import('cli-progress');
    // The figures first and a short bar: an 80-column terminal cuts the end of the line, not the failures.
    bar = new SingleBar(
      { format: '{value}/{total} rows | {rate} rows/s | {failed} failed | {eta_left} left | {bar} {percentage}% {phase}', barsize: 20, hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    bar.start(1, 0, { rate: '0', failed: 0, eta_left: '?', phase: 'validating' });
  }
  for (;;) {
    const settled = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), opts.intervalMs ?? 500))]);
    if (settled) {
      if (settled.ok) {
        bar?.setTotal(Math.max(1, settled.p.rowsTotal));
        bar?.update(settled.p.rowsWritten + settled.p.rowsFailed, { rate: settled.p.rowsPerSecond.toFixed(0), failed: settled.p.rowsFailed, eta_left: '0s', phase: 'completed' });
        bar?.stop();
        return settled.p;
      }
      bar?.stop();
      return await rootCause(settled.err);
    }
    if (!bar) continue;
    const p = await progressOf(client, runId).catch(() => undefined);
    if (!p) continue;
    bar.setTotal(Math.max(1, p.rowsTotal));
    bar.update(p.rowsWritten + p.rowsFailed, { rate: p.rowsPerSecond.toFixed(0), failed: p.rowsFailed, eta_left: p.etaSeconds === undefined ? '?' : timeLeft(p.etaSeconds), phase: p.phase });
  }
}

/** 45s, 3m05s, 2h03m. */
function timeLeft(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatProgress(p: IngestProgress): string {
  const lines = [
    `run ${p.runId} into ${p.featureGroupName}: ${p.phase}${p.redriveOf ? ` (redrive of ${p.redriveOf})` : ''}`,
    `  rows     ${p.rowsWritten + p.rowsFailed} of ${p.rowsTotal} (${p.rowsWritten} written, ${p.rowsFailed} failed)`,
    `  chunks   ${p.chunksDone} of ${p.chunksTotal} done, ${p.chunksRunning} running`,
    `  rate     ${p.rowsPerSecond.toFixed(0)} rows/s${p.etaSeconds !== undefined && p.phase === 'writing' ? `, about ${timeLeft(p.etaSeconds)} left` : ''}`,
    `  throttled ${p.throttled} requests, ${p.unprocessed} entries resent; ${p.resumed} chunk attempts resumed; continued as new ${p.continuedAsNew} times`,
    `  ledger   ${p.ledger}/${p.runId}/failures/`,
  ];
  // Runs started by an older worker report no concurrency figures.
  const c = p.concurrency as IngestProgress['concurrency'] | undefined;
  if (c && (c.backoffs > 0 || c.growths > 0)) {
    lines.splice(5, 0, `  concurrency halved ${c.backoffs} times on throttling${c.lowest !== undefined ? ` (down to ${c.lowest})` : ''}, grown ${c.growths} times${c.lowestAtEnd !== undefined ? `; chunks ended at ${c.lowestAtEnd} or more` : ''}`);
  }
  if (p.error) lines.push(`  error    ${p.error}`);
  return lines.join('\n');
}

function formatRuns(rows: IngestProgress[]): string {
  if (rows.length === 0) return 'no ingestion runs';
  return rows.map((p) => `${p.runId.padEnd(40)} ${p.featureGroupName.padEnd(24)} ${p.phase.padEnd(10)} ${p.rowsWritten}/${p.rowsTotal} written, ${p.rowsFailed} failed`).join('\n');
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} ${v}: a whole number above 0`);
    return n;
  };
}

async function withFeaturesClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const { withClient } = await import('../temporal-client');
  return withClient(fn);
}

export function registerFeatures(program: Command): void {
  const features = program.command('features').summary('Feature Store batch ingestion').description('create feature groups, ingest CSV / Parquet into them, follow runs, read their failure ledgers, redrive');
  const json = (c: Command) => c.option('--json', 'print the result as JSON');

  json(features.command('create-group').description('create a feature group from a JSON or YAML spec (CreateFeatureGroup input) and wait until it is Created').requiredOption('--spec <file>', 'the spec file')).action(
    async (opts: { spec: string; json?: boolean }) => {
      const { readFileSync } = await import('node:fs');
      let text: string;
      try {
        text = readFileSync(opts.spec, 'utf8');
      } catch {
        throw new UsageError(`--spec ${opts.spec}: cannot read the file`);
      }
      const r = await withFeaturesClient((c) => createGroup(c, text, opts.spec));
      printResult(Boolean(opts.json), r, () => `${r.featureGroupArn}: Created${r.existed ? ' (already existed with the same definitions)' : ''}`);
    },
  );

  json(
    features
      .command('ingest')
      .description('ingest CSV / Parquet objects (or local files, uploaded first) into a feature group')
      .requiredOption('--group <name>', 'the feature group')
      .requiredOption('--source <uri...>', 's3://bucket/key, s3://bucket/prefix/ (every .csv / .parquet under it), or a local file')
      .option('--run-id <id>', 'names the run (default: <group>-<UTC time>)')
      .option('--ledger <s3uri>', `where checkpoints and the failure ledger go (default ${DEFAULT_LEDGER})`)
      .option('--chunk-rows <n>', 'rows per chunk (default 50000)', positiveInt('--chunk-rows'))
      .option('--window <n>', 'chunks written at once (default 8)', positiveInt('--window'))
      .option('--max-concurrency <n>', 'most requests in flight per chunk (default 16)', positiveInt('--max-concurrency'))
      .option('--wait', 'wait for the run to finish, with a progress bar'),
  ).action(async (opts: { group: string; source: string[]; runId?: string; ledger?: string; chunkRows?: number; window?: number; maxConcurrency?: number; wait?: boolean; json?: boolean }) => {
    await withFeaturesClient(async (c, config) => {
      const started = await startIngestion(c, config, { group: opts.group, sources: opts.source, runId: opts.runId, ledger: opts.ledger, chunkRows: opts.chunkRows, window: opts.window, maxConcurrency: opts.maxConcurrency });
      if (!opts.wait) {
        printResult(Boolean(opts.json), started, () => `run ${started.runId} started (${started.workflowId}); follow it with \`mlops features status ${started.runId}\``);
        return;
      }
      const p = await waitForRun(c, started.runId, { bar: !opts.json && Boolean(process.stderr.isTTY) });
      printResult(Boolean(opts.json), p, () => formatProgress(p));
      if (p.rowsFailed > 0) process.exitCode = 1;
    });
  });

  json(features.command('status').description('one run in detail, or every run').argument('[run]', 'the run id')).action(async (runId: string | undefined, opts: { json?: boolean }) => {
    await withFeaturesClient(async (c) => {
      if (runId) {
        const p = await progressOf(c, runId);
        printResult(Boolean(opts.json), p, () => formatProgress(p));
      } else {
        const rows = await listRuns(c);
        printResult(Boolean(opts.json), rows, () => formatRuns(rows));
      }
    });
  });

  json(features.command('failures').description("the run's failure ledger: every rejected record with its row, error code and message").argument('<run>', 'the run id').option('--limit <n>', 'at most this many', positiveInt('--limit'))).action(
    async (runId: string, opts: { json?: boolean; limit?: number }) => {
      await withFeaturesClient(async (c, config) => {
        const rows = await failures(c, config, runId, opts.limit);
        printResult(Boolean(opts.json), rows, () => (rows.length === 0 ? `run ${runId}: no failed records` : rows.map((e) => `${e.source} row ${e.row}: ${e.errorCode}: ${e.errorMessage}`).join('\n')));
      });
    },
  );

  json(features.command('redrive').description("ingest a finished run's failure ledger again (after a fix), as a new run").argument('<run>', 'the run id').option('--wait', 'wait for it, with a progress bar')).action(
    async (runId: string, opts: { json?: boolean; wait?: boolean }) => {
      await withFeaturesClient(async (c) => {
        const r = await redrive(c, runId);
        if (!opts.wait) {
          printResult(Boolean(opts.json), r, () => `run ${r.runId} redrives ${r.records} records of ${runId}`);
          return;
        }
        const p = await waitForRun(c, r.runId, { bar: !opts.json && Boolean(process.stderr.isTTY) });
        printResult(Boolean(opts.json), p, () => formatProgress(p));
        if (p.rowsFailed > 0) process.exitCode = 1;
      });
    },
  );

  json(features.command('get').description("one record from a group's online store").requiredOption('--group <name>', 'the feature group').requiredOption('--id <value>', 'the record identifier')).action(
    async (opts: { group: string; id: string; json?: boolean }) => {
      const { loadConfig } = await import('../../../common/config');
      const r = await getRecord(loadConfig(), opts.group, opts.id);
      if (!r) {
        printResult(Boolean(opts.json), null, () => `${opts.group}: no record ${opts.id}`);
        process.exitCode = 1;
        return;
      }
      printResult(Boolean(opts.json), r, () => Object.entries(r).map(([k, v]) => `${k.padEnd(24)} ${v}`).join('\n'));
    },
  );

  for (const c of features.commands) c.exitOverride();
  features.exitOverride();
}
