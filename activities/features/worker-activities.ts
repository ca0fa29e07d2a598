import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from '../../common/aws-clients';
import type { Logger } from '../../common/logger';
import { createFeatureActivities } from './activities';
import { featureStoreRuntimeClient } from './runtime-client';

/** The worker's wiring; the runtime client is the one ingestion writes with (./runtime-client.ts). */
export function featureActivitiesFor(deps: { aws: AwsClientOptions; log: Logger }) {
  return createFeatureActivities({
    sagemaker: new SageMakerClient(deps.aws),
    runtime: featureStoreRuntimeClient(deps.aws),
    s3: new S3Client(deps.aws),
    log: deps.log,
  });
}
