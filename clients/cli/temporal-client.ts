import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../../common/config';
import { temporalConnectionOptions } from '../../common/temporal-connection';

/** Connects to TEMPORAL_ADDRESS (or the embedded server's default port), runs `fn`, and closes the connection. */
export async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.MLOPS_TEMPORAL_PORT}`;
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(config, address), connectTimeout: '5 seconds' });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}); start it with \`mlops start\` or set TEMPORAL_ADDRESS`,
    );
  }
  try {
    return await fn(new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }), config);
  } finally {
    await connection.close();
  }
}
