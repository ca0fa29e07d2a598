/**
 * What an AWS SDK error (after the SDK's own retries) means, for every pipeline: throttled, over a quota, not found,
 * access denied, a malformed request, or anything else (5xx, resets, timeouts, unknown: retried, since a retry is
 * cheap and a wrongly abandoned run is not). Each pipeline maps the kind to its own failure types and keeps its own
 * special cases (DataSync's InvalidRequestException wording, the Feature Store's 404s) in its aws-errors.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { AwsFailure, typedFailure } from '../../workflows/shared/failures';

export interface AwsErrorShape {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export type AwsErrorKind = (typeof AwsFailure)[keyof typeof AwsFailure] | 'NotFound';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const QUOTA = new Set([
  'ResourceLimitExceeded',
  'LimitExceededException',
  'ServiceQuotaExceededException',
  'ResourceNumberLimitExceededException',
  'RulesPerSecurityGroupLimitExceeded',
]);
const NOT_FOUND = new Set([
  'ResourceNotFound',
  'ResourceNotFoundException',
  'EntityNotFoundException',
  'NotFoundException',
  'FileSystemNotFound',
  'MountTargetNotFound',
  'InvalidGroup.NotFound',
  'NoSuchKey',
  'NoSuchBucket',
]);
const ACCESS = new Set(['AccessDeniedException', 'AccessDenied', 'AccessForbidden', 'UnauthorizedOperation', 'UnrecognizedClientException', 'InvalidClientTokenId']);
const INVALID = new Set([
  'ValidationException',
  'ValidationError',
  'InvalidInputException',
  'InvalidNextTokenException',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'MissingParameter',
  'BadRequest',
  'InvalidRequest',
  'UnknownOperationException',
]);

/** The error's code: `Code` where the protocol gives one (EC2, S3), else the SDK's `name`. */
export function awsErrorName(err: unknown): string {
  const e = (err ?? {}) as AwsErrorShape;
  return e.Code ?? e.name ?? 'Error';
}

export function awsHttpStatus(err: unknown): number | undefined {
  return ((err ?? {}) as AwsErrorShape).$metadata?.httpStatusCode;
}

export function isAwsError(err: unknown, ...names: string[]): boolean {
  const e = (err ?? {}) as AwsErrorShape;
  return names.includes(awsErrorName(err)) || (e.name !== undefined && names.includes(e.name));
}

export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(awsErrorName(err)) || awsHttpStatus(err) === 429;
}

/** What the error means; anything not recognised is `AwsUnavailable` (retried). */
export function awsErrorKind(err: unknown): AwsErrorKind {
  const name = awsErrorName(err);
  const status = awsHttpStatus(err);
  if (isThrottling(err)) return AwsFailure.Throttled;
  if (QUOTA.has(name)) return AwsFailure.QuotaExceeded;
  if (NOT_FOUND.has(name)) return 'NotFound';
  if (ACCESS.has(name) || status === 403) return AwsFailure.AccessDenied;
  // A malformed request or id, or one the endpoint does not implement (501: an emulator or a region without the API):
  // the same request fails the same way every time.
  if (INVALID.has(name) || name.endsWith('.Malformed') || status === 501) return AwsFailure.InvalidRequest;
  return AwsFailure.AwsUnavailable;
}

/** `<what>: <code>: <message>`, the message of every classified failure. */
export function awsErrorText(err: unknown, what: string): string {
  return `${what}: ${awsErrorName(err)}: ${((err ?? {}) as AwsErrorShape).message ?? String(err)}`;
}

export type Classify<M> = (err: unknown, what: string, meaning?: M) => ApplicationFailure;

/** Runs one AWS call and classifies its failure with the pipeline's `classify`. */
export async function classified<T, M>(classify: Classify<M>, what: string, call: () => Promise<T>, meaning?: M): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classify(err, what, meaning);
  }
}

export const ALREADY_EXISTS = ['ResourceAlreadyExistsException', 'AlreadyExistsException', 'ResourceInUse'];

/**
 * Runs a create; "already exists" (the SDK's or the activity's retry after a lost answer, or a restarted run) gives
 * undefined: the caller finds what exists and decides. Any other failure is classified.
 */
export async function createOrAdopt<T, M>(classify: Classify<M>, what: string, call: () => Promise<T>, alreadyExists: string[] = ALREADY_EXISTS): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (isAwsError(err, ...alreadyExists)) return undefined;
    throw classify(err, what);
  }
}

/**
 * The pipeline-neutral classification (checkpointed processing uses it as is): the kind as the failure type, a
 * missing resource retried (without a caller to say what it means, it is not the operator's).
 */
export function classifyAwsError(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const kind = awsErrorKind(err);
  return typedFailure(kind === 'NotFound' ? AwsFailure.AwsUnavailable : kind, awsErrorText(err, what), { cause: err });
}

/** Runs one AWS call and classifies its failure with the pipeline-neutral classification. */
export const aws = <T>(what: string, call: () => Promise<T>): Promise<T> => classified(classifyAwsError, what, call);
