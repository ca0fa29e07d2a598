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
