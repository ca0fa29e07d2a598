import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerFeatureStoreRuntimeClient } from '@aws-sdk/client-sagemaker-featurestore-runtime';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from '../../common/aws-clients';
import type { Logger } from '../../common/logger';
import { createFeatureActivities } from './activities';

/**
 * The worker's wiring. The runtime client makes one attempt per call: the batch writer itself waits out
 * throttling (adapting its concurrency) and retries faults, which the SDK's fixed backoff would only slow down.
 */
export function featureActivitiesFor(deps: { aws: AwsClientOptions; log: Logger }) {
  return createFeatureActivities({
    sagemaker: new SageMakerClient(deps.aws),
    runtime: new SageMakerFeatureStoreRuntimeClient({ ...deps.aws, maxAttempts: 1 }),
    s3: new S3Client(deps.aws),
    log: deps.log,
  });
}
