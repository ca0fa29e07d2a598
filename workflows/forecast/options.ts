import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_FORECAST_FAILURES } from './failures';

/** Ordinary AWS calls: throttling and faults retried with backoff, the non-retryable failure types honoured. */
export const awsCall: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FORECAST_FAILURES },
};

/**
 * Waits of minutes to days (ETL runs, imports, training, forecasts, exports): one activity polled by its retries,
 * at most 10 minutes apart, so a wait costs the history the same few events however long it lasts.
 */
export const polling: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: NON_RETRYABLE_FORECAST_FAILURES },
};

/** Cleanup is retried whatever the failure (an operator may fix a missing permission), for a day. */
export const cleanupCall: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: [] },
};
