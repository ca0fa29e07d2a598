import { ApplicationFailure } from '@temporalio/activity';
import { FeatureFailure, featureFailure, type FeatureFailureType } from '../../workflows/features/model';

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown', 'ProvisionedThroughputExceededException']);
const ACCESS = new Set(['AccessForbidden', 'AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'InvalidClientTokenId']);
const INVALID = new Set(['ValidationError', 'ValidationException', 'UnknownOperationException', 'InvalidRequest']);

export function awsErrorName(err: unknown): string {
  return ((err ?? {}) as AwsErrorShape).name ?? 'Error';
}

export function isThrottling(err: unknown): boolean {
  return THROTTLING.has(awsErrorName(err)) || ((err ?? {}) as AwsErrorShape).$metadata?.httpStatusCode === 429;
}

/** A failure the same request meets every time (bad input, missing permission, an API the endpoint lacks). */
export function isPermanent(err: unknown): boolean {
  const name = awsErrorName(err);
  const status = ((err ?? {}) as AwsErrorShape).$metadata?.httpStatusCode;
  return ACCESS.has(name) || INVALID.has(name) || name === 'ResourceNotFound' || name === 'NoSuchBucket' || status === 403 || status === 501;
}

/** Turns an AWS SDK error (after the SDK's own retries) into a typed failure; `notFound` names what was missing. */
export function classifyAwsError(err: unknown, what: string, notFound: FeatureFailureType = FeatureFailure.InvalidRequest): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const name = awsErrorName(err);
  const e = (err ?? {}) as AwsErrorShape;
  const text = `${what}: ${name}: ${e.message ?? String(err)}`;
  if (isThrottling(err)) return featureFailure(FeatureFailure.Throttled, text, err);
  if (name === 'ResourceNotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return featureFailure(notFound, text, err);
  if (ACCESS.has(name) || e.$metadata?.httpStatusCode === 403) return featureFailure(FeatureFailure.AccessDenied, text, err);
  if (INVALID.has(name) || e.$metadata?.httpStatusCode === 501) return featureFailure(FeatureFailure.InvalidRequest, text, err);
  return featureFailure(FeatureFailure.AwsUnavailable, text, err);
}

export async function aws<T>(what: string, call: () => Promise<T>, notFound?: FeatureFailureType): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyAwsError(err, what, notFound);
  }
}
