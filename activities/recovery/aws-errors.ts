import { ApplicationFailure } from '@temporalio/activity';
import { RecoveryFailure, recoveryFailure as failure } from '../../workflows/recovery/failures';
import { awsErrorKind, awsErrorName, awsErrorText, classified, isAwsError } from '../shared/aws-errors';

export { isAwsError };

/** What a "not found" means where it happened: the caller names the failure type. */
export type NotFoundMeaning =
  | typeof RecoveryFailure.DomainNotFound
  | typeof RecoveryFailure.ProfileNotFound
  | typeof RecoveryFailure.FileSystemNotFound
  | typeof RecoveryFailure.SecurityGroupNotFound;

/**
 * Turns an AWS SDK error (after the SDK's own retries) into a typed Temporal failure; `NON_RETRYABLE_FAILURES` says
 * which of the types no retry can help (missing resource, bad request, missing permission).
 */
export function classifyAwsError(err: unknown, what: string, notFound?: NotFoundMeaning): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const name = awsErrorName(err);
  const message = err instanceof Error ? err.message : '';
  const text = awsErrorText(err, what);
  const kind = awsErrorKind(err);
  // A missing resource means what the caller says; without a meaning it is not the operator's (retried).
  if (kind === 'NotFound') return failure(notFound ?? RecoveryFailure.AwsUnavailable, text, err);
  // A malformed id (EC2's InvalidGroupId.Malformed) names nothing that exists: to the operator, not found.
  if (name.endsWith('.Malformed') && notFound) return failure(notFound, text, err);
  if (name === 'InvalidRequestException') {
    // DataSync answers a quota, a missing resource and a bad request all with InvalidRequestException.
    if (/quota|limit|maximum number/i.test(message)) return failure(RecoveryFailure.QuotaExceeded, text, err);
    if (notFound && /not found|does not exist|doesn't exist/i.test(message)) {
      // DataSync names a missing security group in the same error as a missing file system.
      return failure(/security group/i.test(message) ? RecoveryFailure.SecurityGroupNotFound : notFound, text, err);
    }
    return failure(RecoveryFailure.InvalidRequest, text, err);
  }
  return failure(kind, text, err);
}

/** DataSync's answer to deleting what is already gone (a retried cleanup). */
export function isAlreadyDeleted(err: unknown): boolean {
  return isAwsError(err, 'InvalidRequestException') && /not found|does not exist/i.test(err instanceof Error ? err.message : '');
}

/** Runs one AWS call and classifies its failure. */
export const aws = <T>(what: string, call: () => Promise<T>, notFound?: NotFoundMeaning): Promise<T> => classified(classifyAwsError, what, call, notFound);
