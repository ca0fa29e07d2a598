/** Shared setup for the conformance tests: one workflow bundle per file, servers, workers, history replay. */
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityLog } from './workflows/activities';

export const ROOT = resolve(__dirname, '..', '..');
export const MLOPS_BIN = join(ROOT, 'bin', 'mlops');
export const TEST_SERVER_BIN = join(ROOT, 'bin', 'temporal-test-server');

let runtimeInstalled = false;
/** Activity failures are expected in these tests; only errors are worth printing. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by another file in the same worker
  }
}

export function bundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/index.ts'), logger: new DefaultLogger('WARN') });
}

export function uniqueQueue(prefix = 'tq'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface WorkerHandle {
  worker: Worker;
  log: ActivityLog;
  taskQueue: string;
  /** resolves when the worker stopped */
  stop(): Promise<void>;
}

export async function startWorker(connection: NativeConnection, workflowBundle: WorkflowBundleWithSourceMap, opts: { taskQueue?: string; namespace?: string; maxCachedWorkflows?: number } = {}): Promise<WorkerHandle> {
  const log: ActivityLog = { calls: [] };
  const taskQueue = opts.taskQueue ?? uniqueQueue();
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace ?? 'default',
    taskQueue,
    workflowBundle,
    activities: createActivities(log),
    maxCachedWorkflows: opts.maxCachedWorkflows,
    // Keep shutdown quick in tests.
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  return {
    worker,
    log,
    taskQueue,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** Replays every given workflow's history; a nondeterminism error fails the test with the workflow id. */
export async function replayAll(client: Client, workflowBundle: WorkflowBundleWithSourceMap, handles: WorkflowHandle[]): Promise<void> {
  const histories = await Promise.all(
    handles.map(async (h) => ({ workflowId: h.workflowId, history: await client.workflow.getHandle(h.workflowId, (h as { firstExecutionRunId?: string }).firstExecutionRunId).fetchHistory() })),
  );
  const errors: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'conformance' }, histories)) {
    if (result.error && result.error.name === 'DeterminismViolationError') errors.push(`${result.workflowId}: ${result.error.message}`);
  }
  if (errors.length > 0) throw new Error(`replay found nondeterminism:\n${errors.join('\n')}`);
}

export async function connectClient(address: string, namespace = 'default'): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), connection };
}
