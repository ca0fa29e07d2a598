import type { ApplicationFailure } from '@temporalio/common';
import { AwsFailure, NON_RETRYABLE_AWS_FAILURES, typedFailure, type TypedFailureOptions } from '../shared/failures';

/**
 * The failure types of profile recovery, in one place. Activities raise them with `recoveryFailure`; workflows pass
 * `NON_RETRYABLE_FAILURES` to every activity retry policy and branch on the types; the CLI turns the operator-mistake
 * ones into one line and exit code 2.
 */
export const RecoveryFailure = {
  /** InvalidRequest, AccessDenied, Throttled, QuotaExceeded (such as 100 DataSync tasks per region), AwsUnavailable. */
  ...AwsFailure,
  /** The SageMaker domain (by id or by name) does not exist. */
  DomainNotFound: 'DomainNotFound',
  /** The user profile or space does not exist (deleted again, or a typo). */
  ProfileNotFound: 'ProfileNotFound',
  /** The EFS file system or its mount targets do not exist. */
  FileSystemNotFound: 'FileSystemNotFound',
  /** The EC2 security group does not exist. */
  SecurityGroupNotFound: 'SecurityGroupNotFound',
  /** The DataSync execution ended in ERROR. */
  TransferFailed: 'TransferFailed',
  /** "Not yet": the new home directory has no running app yet. Polled by activity retries. */
  HomeNotReady: 'HomeNotReady',
  /** "Not yet": the DataSync execution is still running. Polled by activity retries. */
  TransferInProgress: 'TransferInProgress',
  /** "Not yet": the restore still waits for its DataSync slot. Polled by activity retries until the grant arrives. */
  SlotNotGranted: 'SlotNotGranted',
  /** The profile has no home directory id yet (just created): retried. */
  HomeNotAssigned: 'HomeNotAssigned',
  /** A restore's new home was never opened (no app InService) within the home wait: `mlops recovery retry` waits again. */
  GaveUpWaiting: 'GaveUpWaiting',
} as const;

export type RecoveryFailureType = (typeof RecoveryFailure)[keyof typeof RecoveryFailure];

/** Failure types that no retry can fix. Everything else is retried by Temporal with the activity's policy. */
export const NON_RETRYABLE_FAILURES: RecoveryFailureType[] = [
  RecoveryFailure.DomainNotFound,
  RecoveryFailure.ProfileNotFound,
  RecoveryFailure.FileSystemNotFound,
  RecoveryFailure.SecurityGroupNotFound,
  ...NON_RETRYABLE_AWS_FAILURES,
  RecoveryFailure.TransferFailed,
  RecoveryFailure.GaveUpWaiting,
];

/**
 * "Not yet" answers polled by activity retries: expected, so they are BENIGN (the SDK logs their attempts at debug
 * level, not as warnings with the task token, and records no failure metrics).
 */
export const NOT_YET_FAILURES: RecoveryFailureType[] = [
  RecoveryFailure.HomeNotReady,
  RecoveryFailure.TransferInProgress,
  RecoveryFailure.SlotNotGranted,
  RecoveryFailure.HomeNotAssigned,
];

/** Failures that mean the operator named something that does not exist: the CLI answers them with exit code 2. */
export const OPERATOR_MISTAKE_FAILURES: RecoveryFailureType[] = [
  RecoveryFailure.DomainNotFound,
  RecoveryFailure.ProfileNotFound,
  RecoveryFailure.FileSystemNotFound,
  RecoveryFailure.SecurityGroupNotFound,
];

/**
 * A typed failure for an activity to throw. It never carries the `nonRetryable` flag: that flag would beat every retry
 * policy, and cleanup must retry even an AccessDenied an operator can fix. Whether a type is retried is decided by
 * the caller's policy (`NON_RETRYABLE_FAILURES`, or nothing for cleanup).
 */
export function recoveryFailure(type: RecoveryFailureType, message: string, cause?: unknown, options: Pick<TypedFailureOptions, 'nextRetryDelay'> = {}): ApplicationFailure {
  return typedFailure(type, message, { cause, benign: NOT_YET_FAILURES.includes(type), ...options });
}
