/** Shared setup for the conformance tests: one workflow bundle per file, servers, workers, history replay. */
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { Client, Connection, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
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

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function uniqueQueue(prefix = 'tq'): string {
  return uniqueId(prefix);
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

/** A test file's environment: the official test environment around one of our servers, the bundle, a worker. */
export class TestEnvironmentSuite {
  env!: TestWorkflowEnvironment;
  workflowBundle!: WorkflowBundleWithSourceMap;
  w!: WorkerHandle;
  /** Every workflow the file started, for the replay test at its end. */
  readonly handles: WorkflowHandle[] = [];

  /** Starts a workflow under a unique id on the worker's queue. */
  start = async (workflow: string, args: unknown[], extra: Record<string, unknown> = {}): Promise<WorkflowHandleWithFirstExecutionRunId> => {
    const h = await this.env.client.workflow.start(workflow, { taskQueue: this.w.taskQueue, workflowId: uniqueId(workflow), args, ...extra });
    this.handles.push(h);
    return h;
  };

  replay(): Promise<void> {
    return replayAll(this.env.client, this.workflowBundle, this.handles);
  }
}

/** Sets up (beforeAll) and tears down (afterAll) a TestEnvironmentSuite around the environment `create` makes. */
export function useTestEnvironment(create: () => Promise<TestWorkflowEnvironment>): TestEnvironmentSuite {
  const suite = new TestEnvironmentSuite();
  beforeAll(async () => {
    quietRuntime();
    [suite.env, suite.workflowBundle] = await Promise.all([create(), bundle()]);
    suite.w = await startWorker(suite.env.nativeConnection, suite.workflowBundle);
  }, 60_000);
  afterAll(async () => {
    await suite.w?.stop();
    await suite.env?.teardown();
  });
  return suite;
}
