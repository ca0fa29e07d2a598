/**
 * The failure types of checkpointed processing, in one place (AWS errors get the shared types, see
 * activities/shared/aws-errors.ts: Throttled, AwsUnavailable, InvalidRequest, AccessDenied...).
 */
import { NON_RETRYABLE_AWS_FAILURES } from '../shared/failures';

export const ProcessingFailure = {
  /** CreateProcessingJob: the account's instance quota across processing jobs is reached. The workflow decides. */
  QuotaExceeded: 'QuotaExceeded',
  /** The job failed in a way no restart fixes (AlgorithmError, a ClientError, a bad request). */
  UserError: 'ProcessingUserError',
  /** Every attempt allowed was used. */
  AttemptCapReached: 'AttemptCapReached',
  /** The next attempt would pass the budget and no approval came. */
  BudgetExceeded: 'BudgetExceeded',
  /** No bigger instance, no more instances allowed, no other family with capacity. */
  CannotGrow: 'CannotGrow',
  /** "Not yet": the attempt's job still runs and none of its alarms fires. The benign failure whose retries poll. */
  AttemptRunning: 'AttemptRunning',
  /** The spec is invalid (the CLI checks it first; the workflow checks again). */
  InvalidSpec: 'InvalidProcessingSpec',
} as const;

/** Activity errors the processing workflow never retries: the AWS ones no retry fixes, and the quota (decided by the workflow). */
export const PROCESSING_NON_RETRYABLE: string[] = [...NON_RETRYABLE_AWS_FAILURES, ProcessingFailure.QuotaExceeded];
