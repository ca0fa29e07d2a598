import { NativeConnection, Worker, Runtime, makeTelemetryFilterString, type Logger as SdkLogger } from '@temporalio/worker';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { awsClientOptions } from '../common/aws-clients';
import { temporalConnectionOptions } from '../common/temporal-connection';
import { taskQueues, type TaskQueueDefinition } from './registry';
import { loadWorkflowBundle } from './workflow-bundles';

export interface RunWorkersOptions {
  config: Config;
  log: Logger;
  temporalAddress: string;
  emulatorEndpoint?: string;
  queues?: TaskQueueDefinition[];
  /** Resolves once every worker polls; used by `mlops start` to print its banner after the workers are up. */
  onRunning?: () => void;
}

let runtimeInstalled = false;

/** The SDK's own log lines go through the project's JSON logger, so stderr stays one format. */
function sdkLogger(log: Logger): SdkLogger {
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
    // The bundler's webpack report (dozens of lines in one message) is for debugging the bundle, not for every start.
    log[level === 'info' && message.startsWith('asset workflow-bundle') ? 'debug' : level]({ sdk: true, ...meta }, message);
  return {
    log: (level, message, meta) => at(level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error')(message, meta),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/**
 * Runs one worker per task queue until SIGINT/SIGTERM. The SDK's runtime turns those signals into a graceful
 * shutdown: polling stops, in-flight activities get the grace time to finish, then `run()` resolves.
 */
export async function runWorkers(opts: RunWorkersOptions): Promise<void> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: sdkLogger(opts.log),
      shutdownSignals: ['SIGINT', 'SIGTERM'],
      // Core's own lines are forwarded to our logger too (without `forward` they are printed as plain text).
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
    });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect(temporalConnectionOptions(opts.config, opts.temporalAddress));
  const aws = awsClientOptions(opts.config, opts.emulatorEndpoint);
  try {
    const logger = sdkLogger(opts.log);
    const workers = await Promise.all(
      (opts.queues ?? taskQueues).map(async (q) =>
        Worker.create({
          connection,
          namespace: opts.config.TEMPORAL_NAMESPACE,
          taskQueue: q.taskQueue,
          workflowBundle: await loadWorkflowBundle(q.workflowsPath, logger),
          activities: q.createActivities({ config: opts.config, aws, log: opts.log.child({ taskQueue: q.taskQueue }) }),
          shutdownGraceTime: '30 seconds',
        }),
      ),
    );
    for (const w of workers) opts.log.info({ taskQueue: w.options.taskQueue }, 'worker polling');
    const running = Promise.all(workers.map((w) => w.run()));
    opts.onRunning?.();
    await running;
    opts.log.info('workers drained and stopped');
  } finally {
    await connection.close();
  }
}
