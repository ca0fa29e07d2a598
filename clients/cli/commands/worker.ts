import type { Command } from 'commander';
import { UsageError } from '../usage-error';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .summary('run the workers against TEMPORAL_ADDRESS')
    .description('run the workers of every task queue against TEMPORAL_ADDRESS (SIGINT/SIGTERM drain and exit 0)')
    .action(async () => {
      const { loadConfig } = await import('../../../common/config');
      const { createLogger } = await import('../../../common/logger');
      const config = loadConfig();
      if (!config.TEMPORAL_ADDRESS) {
        throw new UsageError('TEMPORAL_ADDRESS is not set: `mlops worker` needs a running Temporal service (or use `mlops start`, which embeds one)');
      }
      const { runWorkers } = await import('../../../workers/worker');
      await runWorkers({ config, log: createLogger(config.MLOPS_LOG_LEVEL), temporalAddress: config.TEMPORAL_ADDRESS });
    });
}
