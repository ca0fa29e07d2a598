/** Server-side retry decisions for activities (and workflow retry policies), with the server's defaults filled in. */
import type { Failure, RetryPolicy } from './proto-types';
import { durationFromMs, msFromDuration } from './time-format';

export interface CompleteRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 = unlimited */
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

export function completeRetryPolicy(p: RetryPolicy | undefined): CompleteRetryPolicy {
  const initialIntervalMs = msFromDuration(p?.initialInterval) || 1000;
  return {
    initialIntervalMs,
    backoffCoefficient: p?.backoffCoefficient && p.backoffCoefficient >= 1 ? p.backoffCoefficient : 2,
    maximumIntervalMs: msFromDuration(p?.maximumInterval) || 100 * initialIntervalMs,
    maximumAttempts: p?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: p?.nonRetryableErrorTypes ?? [],
  };
}

export function retryPolicyMessage(p: CompleteRetryPolicy): RetryPolicy {
  return {
    initialInterval: durationFromMs(p.initialIntervalMs),
    backoffCoefficient: p.backoffCoefficient,
    maximumInterval: durationFromMs(p.maximumIntervalMs),
    maximumAttempts: p.maximumAttempts,
    nonRetryableErrorTypes: p.nonRetryableErrorTypes,
  };
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; retryState: string };

/** The failure's error type as matched against nonRetryableErrorTypes (timeouts use the server's own names). */
function errorType(f: Failure): string | undefined {
  if (f.applicationFailureInfo) return f.applicationFailureInfo.type;
  if (f.timeoutFailureInfo) {
    const t = (f.timeoutFailureInfo.timeoutType ?? '').replace('TIMEOUT_TYPE_', '');
    const name = t.split('_').map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join('');
    return `TemporalTimeout:${name}`;
  }
  return undefined;
}

/**
 * @param attempt the attempt that just failed (1-based)
 * @param deadlineMs schedule-to-close (or execution) deadline; a retry that could not start before it is not made
 */
export function decideRetry(policy: CompleteRetryPolicy, attempt: number, failure: Failure, nowMs: number, deadlineMs?: number): RetryDecision {
  if (failure.applicationFailureInfo?.nonRetryable || failure.serverFailureInfo?.nonRetryable) {
    return { retry: false, retryState: 'RETRY_STATE_NON_RETRYABLE_FAILURE' };
  }
  const type = errorType(failure);
  if (type !== undefined && policy.nonRetryableErrorTypes.includes(type)) {
    return { retry: false, retryState: 'RETRY_STATE_NON_RETRYABLE_FAILURE' };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) {
    return { retry: false, retryState: 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED' };
  }
  const explicit = failure.applicationFailureInfo?.nextRetryDelay;
  const delayMs = explicit
    ? msFromDuration(explicit)
    : Math.min(policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, attempt - 1), policy.maximumIntervalMs);
  if (deadlineMs !== undefined && nowMs + delayMs >= deadlineMs) {
    return { retry: false, retryState: 'RETRY_STATE_TIMEOUT' };
  }
  return { retry: true, delayMs };
}
