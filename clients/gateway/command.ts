import type { Command } from 'commander';

/** `mlops gateway`: the trigger gateway alone, against TEMPORAL_ADDRESS (`mlops start` runs it with everything else). */
export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .summary('run only the trigger gateway (events to signals)')
    .description('run the trigger gateway (EventBridge deliveries -> workflows) on MLOPS_GATEWAY_HOST:MLOPS_GATEWAY_PORT')
    .action(async () => {
      const { loadConfig } = await import('../../common/config');
      const { createLogger } = await import('../../common/logger');
      const { Client, Connection } = await import('@temporalio/client');
      const { temporalConnectionOptions } = await import('../../common/temporal-connection');
      const { startGateway } = await import('./server');
      const config = loadConfig();
      const log = createLogger(config.MLOPS_LOG_LEVEL).child({ part: 'gateway' });
      const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.MLOPS_TEMPORAL_PORT}`;
      const connection = await Connection.connect(temporalConnectionOptions(config, address));
      const gateway = await startGateway({
        client: new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }),
        log,
        port: config.MLOPS_GATEWAY_PORT,
        host: config.MLOPS_GATEWAY_HOST,
        apiKey: config.MLOPS_GATEWAY_API_KEY,
      });
      process.stdout.write(`trigger gateway listening on ${gateway.url} (POST /events/eventbridge, GET /healthz)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await gateway.close();
      await connection.close();
    });
}
