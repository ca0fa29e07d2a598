/**
 * A run survives its worker being killed (SIGKILL, a child process) twice: it completes with every record written
 * and none written more than once beyond the window in flight in each running chunk (two rounds of requests past its
 * last checkpoint), as the emulator's write journal counts them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { BATCH_SIZE, WINDOW_ROUNDS } from '../../activities/features/batch-writer';
import { FEATURES_TASK_QUEUE, ingestionWorkflowId } from '../../workflows/features/model';
import type { featureIngestion } from '../../workflows/features/ingestion';
import { prepareGroup, startFeaturesStack, syntheticRows, transactionsCsv, upload, type FeaturesStack } from './harness';

let stack: FeaturesStack;
beforeAll(async () => {
  stack = await startFeaturesStack({ worker: false });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

async function writtenAtLeast(n: number): Promise<void> {
  const deadline = Date.now() + 240_000;
  while ((await stack.journal('tx-crash')).recordsWritten < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} records written in 4 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

it('loses no record and duplicates at most the window in flight when the worker is killed twice', async () => {
  const ROWS = 12_000;
  const WINDOW = 3;
  const MAX_CONCURRENCY = 8;
  await prepareGroup(stack, 'tx-crash');
  const source = await upload(stack, 'crash/tx.csv', transactionsCsv(syntheticRows(ROWS, 500)));
  let worker = await stack.spawnWorker();
  const handle = await stack.client.workflow.start<typeof featureIngestion>('featureIngestion', {
    taskQueue: FEATURES_TASK_QUEUE,
    workflowId: ingestionWorkflowId('crash'),
    args: [{ runId: 'crash', featureGroupName: 'tx-crash', sources: [source], ledger: 's3://ledger/runs', chunkRows: 2_000, window: WINDOW, maxConcurrency: MAX_CONCURRENCY, heartbeatTimeoutSeconds: 10 }],
  });
  await writtenAtLeast(2_000);
  await kill(worker);
  worker = await stack.spawnWorker();
  await writtenAtLeast(7_000);
  await kill(worker);
  await stack.spawnWorker();
  const result = await handle.result();

  expect(result).toMatchObject({ phase: 'completed', rowsTotal: ROWS, rowsFailed: 0, chunksDone: 6 });
  expect(result.resumed).toBeGreaterThanOrEqual(1);
  const j = await stack.journal('tx-crash');
  // 0 lost: every (identifier, event time) written at least once.
  expect(j.distinctRecords).toBe(ROWS);
  // Each kill can repeat at most the window in flight in each running chunk.
  expect(j.extraWrites).toBeLessThanOrEqual(2 * WINDOW * WINDOW_ROUNDS * MAX_CONCURRENCY * BATCH_SIZE);
  expect(j.maxWritesOfOneRecord).toBeLessThanOrEqual(3);
}, 600_000);
