import { ApplicationFailure } from '@temporalio/activity';
import { FeatureFailure, featureFailure, type FeatureFailureType } from '../../workflows/features/model';
import { awsErrorKind, awsErrorName, awsErrorText, awsHttpStatus, classified, isThrottling } from '../shared/aws-errors';

export { awsErrorName, isThrottling };

/** The Feature Store's kinds: a 404 is not found; it has no quota error of its own (over its limits it throttles). */
function kindOf(err: unknown): FeatureFailureType | 'NotFound' {
  const kind = awsErrorKind(err);
  if (kind === 'NotFound' || awsHttpStatus(err) === 404) return 'NotFound';
  return kind === 'QuotaExceeded' ? FeatureFailure.AwsUnavailable : kind;
}

/** A failure the same request meets every time (bad input, missing permission, an API the endpoint lacks). */
export function isPermanent(err: unknown): boolean {
  const kind = awsErrorKind(err);
  return kind === FeatureFailure.AccessDenied || kind === FeatureFailure.InvalidRequest || ['ResourceNotFound', 'NoSuchBucket'].includes(awsErrorName(err));
}

/** Turns an AWS SDK error (after the SDK's own retries) into a typed failure; `notFound` names what was missing. */
export function classifyAwsError(err: unknown, what: string, notFound: FeatureFailureType = FeatureFailure.InvalidRequest): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const kind = kindOf(err);
  return featureFailure(kind === 'NotFound' ? notFound : kind, awsErrorText(err, what), err);
}

export const aws = <T>(what: string, call: () => Promise<T>, notFound?: FeatureFailureType): Promise<T> => classified(classifyAwsError, what, call, notFound);
