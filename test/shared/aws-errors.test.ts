import { describe, expect, it } from 'vitest';
import { classifyAwsError as featureClassify, isPermanent } from '../../activities/features/aws-errors';
import { classifyAwsError as forecastClassify, createOrAdopt } from '../../activities/forecast/aws-errors';
import { classifyAwsError as recoveryClassify } from '../../activities/recovery/aws-errors';
import { awsErrorKind, classifyAwsError } from '../../activities/shared/aws-errors';
import { FeatureFailure } from '../../workflows/features/model';
import { ForecastFailure } from '../../workflows/forecast/failures';
import { PROCESSING_NON_RETRYABLE } from '../../workflows/processing/failures';

function sdkError(name: string, message: string, httpStatusCode: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode }, ...extra });
}

const classifiers = { recovery: recoveryClassify, forecast: forecastClassify, features: featureClassify, processing: classifyAwsError };

describe('one AWS error classification for every pipeline', () => {
  it.each([
    ['ThrottlingException', 400, 'Throttled'],
    ['ProvisionedThroughputExceededException', 400, 'Throttled'],
    ['SomethingElse', 429, 'Throttled'],
    ['AccessDeniedException', 400, 'AccessDenied'],
    ['AccessForbidden', 403, 'AccessDenied'],
    ['ValidationException', 400, 'InvalidRequest'],
    ['ValidationError', 400, 'InvalidRequest'],
    ['UnknownOperationException', 501, 'InvalidRequest'],
    ['InternalFailure', 500, 'AwsUnavailable'],
    ['ServiceUnavailable', 503, 'AwsUnavailable'],
  ] as const)('%s (%i) is %s in every pipeline', (name, status, type) => {
    for (const [pipeline, classify] of Object.entries(classifiers)) {
      const f = classify(sdkError(name, 'the message', status), 'Call');
      expect(f.type, pipeline).toBe(type);
      expect(f.message, pipeline).toBe(`Call: ${name}: the message`);
    }
  });

  it('reads the protocol code (EC2, S3) before the class name', () => {
    expect(awsErrorKind(sdkError('EC2ServiceException', 'x', 400, { Code: 'RequestLimitExceeded' }))).toBe('Throttled');
  });

  it('a quota: recovery and forecast retry it as QuotaExceeded, the processing workflow decides', () => {
    const err = sdkError('ResourceLimitExceeded', 'The account-level service limit', 400);
    expect(recoveryClassify(err, 'Call').type).toBe('QuotaExceeded');
    expect(forecastClassify(err, 'Call').type).toBe(ForecastFailure.QuotaExceeded);
    expect(PROCESSING_NON_RETRYABLE).toContain(classifyAwsError(err, 'Call').type);
    expect(featureClassify(err, 'Call').type).toBe(FeatureFailure.AwsUnavailable);
  });

  it('not found means what the pipeline says', () => {
    const err = sdkError('ResourceNotFound', 'no such group', 400);
    expect(featureClassify(err, 'Call', FeatureFailure.FeatureGroupNotFound).type).toBe(FeatureFailure.FeatureGroupNotFound);
    expect(featureClassify(sdkError('NotFound', '', 404), 'HeadObject', FeatureFailure.SourceNotFound).type).toBe(FeatureFailure.SourceNotFound);
    expect(forecastClassify(sdkError('ResourceNotFoundException', 'x', 400), 'Call').type).toBe(ForecastFailure.NotFound);
    expect(recoveryClassify(err, 'Call').type).toBe('AwsUnavailable');
    expect(classifyAwsError(err, 'Call').type).toBe('AwsUnavailable');
    expect(isPermanent(err)).toBe(true);
    expect(isPermanent(sdkError('ThrottlingException', 'x', 400))).toBe(false);
  });

  it('createOrAdopt: "already exists" is adopted (undefined), anything else classified', async () => {
    await expect(createOrAdopt('Create', () => Promise.reject(sdkError('ResourceAlreadyExistsException', 'exists', 400)))).resolves.toBeUndefined();
    await expect(createOrAdopt('Create', () => Promise.reject(sdkError('ResourceInUse', 'x', 400)), 'ResourceAlreadyExistsException')).rejects.toMatchObject({ type: 'AwsUnavailable' });
    await expect(createOrAdopt('Create', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
