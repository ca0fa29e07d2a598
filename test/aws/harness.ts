/** Starts an emulator on an ephemeral port for one test file, and builds SDK client options pointing at it. */
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { startEmulator, type RunningEmulator, type StartEmulatorOptions } from '../../local/aws';

export async function startTestEmulator(opts: Omit<StartEmulatorOptions, 'port'> = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, ...opts });
}

/** Options for a fresh SDK client: no back-off between attempts, `maxAttempts` attempts in all. */
export function clientConfig(endpoint: string, maxAttempts = 3) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, () => 0),
  };
}

export async function control<T = unknown>(endpoint: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${endpoint}/_emulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** An SDK service exception as a test inspects it: its name, HTTP status and attempts, and the service's own fields. */
export type CaughtError = Error & { $metadata: { httpStatusCode?: number; attempts?: number }; [field: string]: unknown };

/** The error the call failed with; fails the test when the call succeeds. */
export async function caught(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p;
  } catch (err) {
    return err as CaughtError;
  }
  throw new Error('expected the call to fail');
}
