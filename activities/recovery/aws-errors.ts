import { ApplicationFailure } from '@temporalio/activity';
import { RecoveryFailure, recoveryFailure as failure } from '../../workflows/recovery/failures';

/** What a "not found" means where it happened: the caller names the failure type. */
export type NotFoundMeaning =
  | typeof RecoveryFailure.DomainNotFound
  | typeof RecoveryFailure.ProfileNotFound
  | typeof RecoveryFailure.FileSystemNotFound
  | typeof RecoveryFailure.SecurityGroupNotFound;

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);
const NOT_FOUND = new Set(['ResourceNotFound', 'ResourceNotFoundException', 'FileSystemNotFound', 'MountTargetNotFound', 'InvalidGroup.NotFound', 'NotFoundException']);
const QUOTA = new Set(['ResourceLimitExceeded', 'LimitExceededException', 'ServiceQuotaExceededException', 'RulesPerSecurityGroupLimitExceeded']);
const ACCESS = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'UnrecognizedClientException', 'InvalidClientTokenId']);
const INVALID = new Set(['ValidationException', 'InvalidParameterValue', 'InvalidParameterCombination', 'BadRequest', 'MissingParameter', 'InvalidParameter']);

interface AwsErrorShape {
  name?: string;
  message?: string;
  Code?: string;
  errorCode?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

function awsErrorName(err: unknown): string {
  const e = (err ?? {}) as AwsErrorShape;
  return e.Code ?? e.name ?? 'Error';
}

export function isAwsError(err: unknown, ...names: string[]): boolean {
  const e = (err ?? {}) as AwsErrorShape;
  return names.includes(awsErrorName(err)) || (e.Code !== undefined && names.includes(e.Code));
}

/**
 * Turns an AWS SDK error (after the SDK's own retries) into a typed Temporal failure; `NON_RETRYABLE_FAILURES` says
 * which of the types no retry can help (missing resource, bad request, missing permission).
 */
export function classifyAwsError(err: unknown, what: string, notFound?: NotFoundMeaning): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as AwsErrorShape;
  const name = awsErrorName(err);
  const status = e.$metadata?.httpStatusCode;
  const text = `${what}: ${name}: ${e.message ?? String(err)}`;
  if (THROTTLING.has(name) || status === 429) return failure(RecoveryFailure.Throttled, text, err);
  if (NOT_FOUND.has(name) && notFound) return failure(notFound, text, err);
  if (QUOTA.has(name) || (name === 'InvalidRequestException' && /quota|limit|maximum number/i.test(e.message ?? ''))) {
    return failure(RecoveryFailure.QuotaExceeded, text, err);
  }
  if (ACCESS.has(name) || status === 403) return failure(RecoveryFailure.AccessDenied, text, err);
  // A malformed request, or one the endpoint does not implement (501: an emulator or a region without the API):
  // the same request fails the same way every time.
  // A malformed id (EC2's InvalidGroupId.Malformed) names nothing that exists: to the operator, not found.
  if (name.endsWith('.Malformed') && notFound) return failure(notFound, text, err);
  if (INVALID.has(name) || name.endsWith('.Malformed') || name === 'UnknownOperationException' || status === 501) {
    return failure(RecoveryFailure.InvalidRequest, text, err);
  }
  if (name === 'InvalidRequestException' && notFound && /not found|does not exist|doesn't exist/i.test(e.message ?? '')) {
    // DataSync names a missing security group in the same error as a missing file system.
    return failure(/security group/i.test(e.message ?? '') ? RecoveryFailure.SecurityGroupNotFound : notFound, text, err);
  }
  if (name === 'InvalidRequestException') return failure(RecoveryFailure.InvalidRequest, text, err);
  // 5xx, resets, timeouts and anything unknown: retried (a retry is cheap, a wrongly abandoned restore is not).
  return failure(RecoveryFailure.AwsUnavailable, text, err);
}

/** DataSync's answer to deleting what is already gone (a retried cleanup). */
export function isAlreadyDeleted(err: unknown): boolean {
  return isAwsError(err, 'InvalidRequestException') && /not found|does not exist/i.test(err instanceof Error ? err.message : '');
}

/** Runs one AWS call and classifies its failure. */
export async function aws<T>(what: string, call: () => Promise<T>, notFound?: NotFoundMeaning): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyAwsError(err, what, notFound);
  }
}
