/** Conversions between milliseconds and protobuf Duration / Timestamp (int64 seconds arrive as numbers). */
import type { Duration, Timestamp } from './proto-types';

export function msFromDuration(d: Duration | undefined | null): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) * 1000 + Math.floor(Number(d.nanos ?? 0) / 1e6);
}

export function durationFromMs(ms: number): Duration {
  const whole = Math.floor(ms);
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1e6 };
}

/** A workflow timeout as the server writes it: none (infinite) when 0, so the SDK's workflowInfo() leaves it unset. */
export function timeoutFromMs(ms: number): Duration | undefined {
  return ms > 0 ? durationFromMs(ms) : undefined;
}

export const timestampFromMs: (ms: number) => Timestamp = durationFromMs;
export const msFromTimestamp: (t: Timestamp | undefined | null) => number = msFromDuration;
