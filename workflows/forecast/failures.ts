import type { ApplicationFailure } from '@temporalio/common';
import { AwsFailure, typedFailure } from '../shared/failures';

/**
 * The failure types of forecast retraining. Activities raise them with `forecastFailure`; the workflows pass
 * `NON_RETRYABLE_FORECAST_FAILURES` to their retry policies; "not yet" types are how long waits poll.
 */
export const ForecastFailure = {
  /** "Not yet": the Glue run, import, training, forecast or export is still running. Polled by activity retries. */
  NotReady: 'NotReady',
  /** The Glue job already runs as often as it may (MaxConcurrentRuns): retried. */
  EtlBusy: 'EtlBusy',
  /** The Glue run ended FAILED, TIMEOUT or STOPPED. */
  EtlFailed: 'EtlFailed',
  /** A dataset import ended CREATE_FAILED (bad data). */
  ImportFailed: 'ImportFailed',
  /** The predictor or AutoML job failed. */
  TrainingFailed: 'TrainingFailed',
  /** The forecast, export or batch transform failed. */
  ForecastFailed: 'ForecastFailed',
  /** A resource this run needs does not exist (a run id or segment an operator named). */
  NotFound: 'NotFound',
  /** InvalidRequest, AccessDenied, Throttled, QuotaExceeded, AwsUnavailable. */
  ...AwsFailure,
} as const;

export type ForecastFailureType = (typeof ForecastFailure)[keyof typeof ForecastFailure];

export const NON_RETRYABLE_FORECAST_FAILURES: ForecastFailureType[] = [
  ForecastFailure.EtlFailed,
  ForecastFailure.ImportFailed,
  ForecastFailure.TrainingFailed,
  ForecastFailure.ForecastFailed,
  ForecastFailure.NotFound,
  ForecastFailure.InvalidRequest,
  ForecastFailure.AccessDenied,
];

/** A typed failure; whether it is retried is the caller's policy (never the nonRetryable flag, as in recovery). */
export function forecastFailure(type: ForecastFailureType, message: string, cause?: unknown): ApplicationFailure {
  return typedFailure(type, message, { cause });
}
