import type { Command } from 'commander';

/** `mlops gateway`: the trigger gateway alone, against TEMPORAL_ADDRESS (`mlops start` runs it with everything else). */
export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .summary('run only the trigger gateway (events to signals)')
    .description('run the trigger gateway (EventBridge deliveries -> workflows) on MLOPS_GATEWAY_HOST:MLOPS_GATEWAY_PORT')
    .action(async () => {
      const { withClient } = await import('../cli/temporal-client');
      const { createLogger } = await import('../../common/logger');
      const { startGateway, requireGatewayApiKey, gatewaySnsOptions } = await import('./server');
      const { loadConfig } = await import('../../common/config');
      // Before connecting: a gateway that would refuse every delivery must not start at all.
      requireGatewayApiKey(loadConfig().MLOPS_GATEWAY_API_KEY);
      await withClient(async (client, config) => {
        const gateway = await startGateway({
          client,
          log: createLogger(config.MLOPS_LOG_LEVEL).child({ part: 'gateway' }),
          port: config.MLOPS_GATEWAY_PORT,
          host: config.MLOPS_GATEWAY_HOST,
          apiKey: config.MLOPS_GATEWAY_API_KEY,
          sns: gatewaySnsOptions(config.MLOPS_GATEWAY_SNS_TOPIC_ARNS),
        });
        process.stdout.write(`trigger gateway listening on ${gateway.url} (POST /events/eventbridge, POST /events/sns, GET /healthz)\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
        await gateway.close();
      });
    });
}
