/** Creates a feature group from a spec and waits (by activity retries) until it is Created. */
import { proxyActivities } from '@temporalio/workflow';
import type { CreateFeatureGroupCommandInput } from '@aws-sdk/client-sagemaker';
import type { FeatureActivities, IngestionTarget } from '../../activities/features/activities';
import { NON_RETRYABLE_FEATURE_FAILURES } from './model';

const { createFeatureGroup } = proxyActivities<FeatureActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FEATURE_FAILURES },
});

/** Creation takes about a minute on AWS: polled every few seconds. */
const { describeIngestionTarget } = proxyActivities<FeatureActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 1.5, maximumInterval: '10 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FEATURE_FAILURES },
});

export async function createFeatureGroupWorkflow(spec: CreateFeatureGroupCommandInput): Promise<{ featureGroupArn: string; existed: boolean; target: IngestionTarget }> {
  const created = await createFeatureGroup(spec);
  const target = await describeIngestionTarget({ featureGroupName: spec.FeatureGroupName! });
  return { ...created, target };
}
