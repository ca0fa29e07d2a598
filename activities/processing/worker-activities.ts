import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsClientOptions } from '../../common/aws-clients';
import type { Logger } from '../../common/logger';
import { createProcessingActivities } from './activities';

/** The worker's wiring: one client per service from the shared options. */
export function processingActivitiesFor(deps: { aws: AwsClientOptions; log: Logger }) {
  return createProcessingActivities({
    sagemaker: new SageMakerClient(deps.aws),
    cloudwatch: new CloudWatchClient(deps.aws),
    s3: new S3Client(deps.aws),
    log: deps.log,
  });
}
