import { ApplicationFailure } from '@temporalio/activity';
import { ForecastFailure, forecastFailure, type ForecastFailureType } from '../../workflows/forecast/failures';
import { isAwsError } from '../recovery/aws-errors';

export { isAwsError };

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'SlowDown', 'RequestLimitExceeded']);
const NOT_FOUND = new Set(['ResourceNotFoundException', 'ResourceNotFound', 'EntityNotFoundException', 'NoSuchKey', 'NoSuchBucket']);
const INVALID = new Set(['InvalidInputException', 'ValidationException', 'InvalidNextTokenException', 'UnknownOperationException']);
const ACCESS = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException']);
const QUOTA = new Set(['LimitExceededException', 'ResourceLimitExceeded', 'ResourceNumberLimitExceededException']);

/** An AWS SDK error (after the SDK's own retries) as a typed failure of forecast retraining. */
export function classifyAwsError(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const text = `${what}: ${name}: ${e.message ?? String(err)}`;
  let type: ForecastFailureType = ForecastFailure.AwsUnavailable;
  if (THROTTLING.has(name) || status === 429) type = ForecastFailure.Throttled;
  else if (QUOTA.has(name)) type = ForecastFailure.QuotaExceeded;
  else if (NOT_FOUND.has(name)) type = ForecastFailure.NotFound;
  else if (ACCESS.has(name) || status === 403) type = ForecastFailure.AccessDenied;
  else if (INVALID.has(name) || status === 501) type = ForecastFailure.InvalidRequest;
  // ResourceInUse (a resource still being created), ConcurrentRuns, 5xx and resets: retried.
  return forecastFailure(type, text, err);
}

/** Runs one AWS call and classifies its failure. */
export async function aws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyAwsError(err, what);
  }
}

/** Runs a create; "already exists" (a retry after a lost answer, or a restarted run) gives undefined: find it. */
export async function createOrAdopt<T>(what: string, call: () => Promise<T>, ...alreadyExists: string[]): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (isAwsError(err, ...(alreadyExists.length > 0 ? alreadyExists : ['ResourceAlreadyExistsException', 'AlreadyExistsException', 'ResourceInUse']))) return undefined;
    throw classifyAwsError(err, what);
  }
}
