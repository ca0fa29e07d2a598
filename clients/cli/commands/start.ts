import type { Command } from 'commander';
import { UsageError } from '../usage-error';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run everything on this machine: embedded Temporal (unless TEMPORAL_ADDRESS), AWS emulator (unless MLOPS_AWS=aws), worker, trigger gateway')
    .action(async () => {
      const { loadConfig } = await import('../../../common/config');
      const { createLogger } = await import('../../../common/logger');
      const config = loadConfig();
      const log = createLogger(config.MLOPS_LOG_LEVEL);
      if (!config.TEMPORAL_ADDRESS) {
        throw new UsageError('TEMPORAL_ADDRESS is not set and the embedded Temporal server is not available yet; point TEMPORAL_ADDRESS at a Temporal service (for example `docker compose up -d` then TEMPORAL_ADDRESS=localhost:7233)');
      }
      const { runWorkers } = await import('../../../workers/worker');
      await runWorkers({
        config,
        log,
        temporalAddress: config.TEMPORAL_ADDRESS,
        onRunning: () => {
          process.stdout.write(`mlops is running\n  temporal: ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})\n  try: mlops ping\n`);
        },
      });
    });
}
