import { ApplicationFailure } from '@temporalio/activity';
import { forecastFailure } from '../../workflows/forecast/failures';
import { awsErrorKind, awsErrorText, classified, createOrAdopt as createOrAdoptWith, isAwsError } from '../shared/aws-errors';

export { isAwsError };

/** An AWS SDK error (after the SDK's own retries) as a typed failure of forecast retraining. */
export function classifyAwsError(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // ResourceInUse (a resource still being created), ConcurrentRuns, 5xx and resets: AwsUnavailable, retried.
  return forecastFailure(awsErrorKind(err), awsErrorText(err, what), err);
}

/** Runs one AWS call and classifies its failure. */
export const aws = <T>(what: string, call: () => Promise<T>): Promise<T> => classified(classifyAwsError, what, call);

/** Runs a create; "already exists" (a retry after a lost answer, or a restarted run) gives undefined: find it. */
export const createOrAdopt = <T>(what: string, call: () => Promise<T>, ...alreadyExists: string[]): Promise<T | undefined> =>
  createOrAdoptWith(classifyAwsError, what, call, alreadyExists.length > 0 ? alreadyExists : undefined);
