import { readFileSync } from 'node:fs';
import type { Config } from './config';

/** Connection options shared by the client and the worker: address, TLS (mTLS files) and API key. */
export function temporalConnectionOptions(config: Config, address: string) {
  const tls =
    config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY
      ? { clientCertPair: { crt: readFileSync(config.TEMPORAL_TLS_CERT), key: readFileSync(config.TEMPORAL_TLS_KEY) } }
      : config.TEMPORAL_API_KEY
        ? true // Temporal Cloud API keys travel over TLS.
        : undefined;
  return {
    address,
    ...(tls !== undefined ? { tls } : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}
