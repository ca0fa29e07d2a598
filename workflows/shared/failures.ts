import { ApplicationFailure, ApplicationFailureCategory, type Duration } from '@temporalio/common';

/**
 * The failure types every pipeline gives an AWS error (activities/shared/aws-errors.ts classifies it): each pipeline's
 * own failure table spreads these in beside its own types, so the same AWS answer has the same type everywhere.
 */
export const AwsFailure = {
  /** AWS refused the request as malformed: a bug, retrying cannot help. */
  InvalidRequest: 'InvalidRequest',
  /** The worker's role lacks a permission: retrying cannot help until an operator fixes the policy. */
  AccessDenied: 'AccessDenied',
  /** The request was throttled (after the SDK's own retries): retried with exponential backoff. */
  Throttled: 'Throttled',
  /** A service quota is reached: retried, or decided by the workflow. */
  QuotaExceeded: 'QuotaExceeded',
  /** A 5xx or a network fault: retried. */
  AwsUnavailable: 'AwsUnavailable',
} as const;

export interface TypedFailureOptions {
  cause?: unknown;
  details?: unknown[];
  /** Expected "not yet" answers polled by activity retries: the SDK logs them at debug level, records no metrics. */
  benign?: boolean;
  /** Beats every retry policy: only for a pipeline whose policies never need to retry the type. */
  nonRetryable?: boolean;
  /** The next attempt's delay instead of the policy's backoff (a "not yet" that knows it will be soon). */
  nextRetryDelay?: Duration;
}

/** A typed failure for an activity to throw (the pipelines' `recoveryFailure`, `forecastFailure`, `featureFailure`). */
export function typedFailure(type: string, message: string, options: TypedFailureOptions = {}): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    ...(options.nonRetryable ? { nonRetryable: true } : {}),
    ...(options.cause instanceof Error ? { cause: options.cause } : {}),
    ...(options.details ? { details: options.details } : {}),
    ...(options.benign ? { category: ApplicationFailureCategory.BENIGN } : {}),
    ...(options.nextRetryDelay !== undefined ? { nextRetryDelay: options.nextRetryDelay } : {}),
  });
}

/** The AWS failure types no retry can fix (each pipeline adds its own). */
export const NON_RETRYABLE_AWS_FAILURES = [AwsFailure.InvalidRequest, AwsFailure.AccessDenied] as const;
