import { GlueClient } from '@aws-sdk/client-glue';
import { ForecastClient } from '@aws-sdk/client-forecast';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { AwsClientOptions } from '../../common/aws-clients';
import { createForecastActivities } from './activities';

/** The worker's wiring: one client per service from the shared options; Glue without SDK retries (StartJobRun is not idempotent). */
export function forecastActivitiesFor(deps: { aws: AwsClientOptions }) {
  return createForecastActivities({
    glue: new GlueClient({ ...deps.aws, maxAttempts: 1 }),
    forecast: new ForecastClient(deps.aws),
    sagemaker: new SageMakerClient(deps.aws),
    s3: new S3Client(deps.aws),
  });
}
