/**
 * What every pipeline's test stack is made of: the SDK runtime with quiet logs, the workflow bundle of a task queue
 * (the one the workers use, kept across test files while the code is unchanged), SDK client options for the
 * emulator, a worker a test can stop and start again as a crash would, and teardown in reverse order.
 */
import { join } from 'node:path';
import { Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { loadWorkflowBundle, workflowBundlePath } from '../../workers/workflow-bundles';

/** The SDK's logs: errors only ("activity failed" warnings are the expected polling of not-yet activities). */
export const quietSdkLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (m: string, meta?: unknown) => console.error(m, meta ?? ''),
};

let runtimeInstalled = false;
export function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: quietSdkLogger, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });
  } catch {
    // Already installed in this process (by a test of its own).
  }
  runtimeInstalled = true;
}

/** The bundle of `workflows/<path>` from the sources, as the workers make it (see workers/workflow-bundles.ts). */
export function workflowBundle(path: string): Promise<{ code: string }> {
  return loadWorkflowBundle(join(__dirname, '../../workflows', path), quietSdkLogger);
}

/** The bundle's file, for a worker in a child process. */
export function workflowBundleFile(path: string): Promise<string> {
  return workflowBundlePath(join(__dirname, '../../workflows', path), quietSdkLogger);
}

/** SDK client options on the emulator, without back-off delays (the retry budget is the client's). */
export function emulatorClientOptions(endpoint: string, attempts = 3) {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
    retryStrategy: new ConfiguredRetryStrategy(attempts, () => 0),
  };
}

/** Closers run in reverse order, each failure ignored, so a half-started stack tears down as far as it got. */
export class Teardown {
  private readonly closers: (() => Promise<void>)[] = [];
  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }
  async run(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) await c().catch(() => undefined);
  }
}

/** Builds a stack; if building fails, what was started is torn down before the error goes on. */
export async function buildStack<T>(build: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  try {
    return await build(teardown);
  } catch (err) {
    await teardown.run();
    throw err;
  }
}

export interface RestartableWorker {
  start(): Promise<void>;
  /** Shuts the worker down; activities still in flight are abandoned to their timeouts, as a crash would leave them. */
  stop(): Promise<void>;
}

/** A worker on one task queue, created anew by each `start()` (options, activities included, made each time). */
export function restartableWorker(options: () => WorkerOptions | Promise<WorkerOptions>): RestartableWorker {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  return {
    start: async () => {
      worker = await Worker.create({ shutdownGraceTime: '100 ms', ...(await options()) });
      running = worker.run();
    },
    stop: async () => {
      if (!worker) return;
      worker.shutdown();
      await running;
      worker = undefined;
    },
  };
}
