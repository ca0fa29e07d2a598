import type { Config } from './config';

/**
 * Options every AWS SDK v3 client of the worker is built with. Against the emulator the endpoint is the local
 * server, credentials are fixed dummies and S3 uses path style; against AWS the default credential chain applies.
 */
export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
}

export function awsClientOptions(config: Config, emulatorEndpoint?: string): AwsClientOptions {
  if (config.MLOPS_AWS === 'aws') {
    return { region: config.AWS_REGION, ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}) };
  }
  const endpoint = config.AWS_ENDPOINT_URL ?? emulatorEndpoint ?? `http://127.0.0.1:${config.MLOPS_EMULATOR_PORT}`;
  return {
    region: config.AWS_REGION,
    endpoint,
    credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
    forcePathStyle: true,
  };
}

/**
 * For creates AWS does not de-duplicate (DataSync's CreateTask, CreateLocationEfs, StartTaskExecution have no
 * idempotency token): one attempt, never retried by the SDK, whose retry after a lost answer would create a second
 * resource. The activity's own retry finds what the lost call created (by name and tags) and adopts it.
 */
export function withoutSdkRetries<T extends AwsClientOptions>(opts: T): T & { maxAttempts: 1 } {
  return { ...opts, maxAttempts: 1 };
}
