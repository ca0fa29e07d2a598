import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DataSyncClient } from '@aws-sdk/client-datasync';
import { EFSClient } from '@aws-sdk/client-efs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { withoutSdkRetries, type AwsClientOptions } from '../../common/aws-clients';
import type { Logger } from '../../common/logger';
import { createRecoveryActivities } from './activities';

/** The worker's wiring: one client per service from the shared options, the task cap from the configuration. */
export function recoveryActivitiesFor(deps: { aws: AwsClientOptions; log: Logger; dataSyncTaskCap: number; dataSyncSecurityGroupId?: string }) {
  return createRecoveryActivities({
    sagemaker: new SageMakerClient(deps.aws),
    datasync: new DataSyncClient(deps.aws),
    datasyncCreates: new DataSyncClient(withoutSdkRetries(deps.aws)),
    efs: new EFSClient(deps.aws),
    ec2: new EC2Client(deps.aws),
    dataSyncTaskCap: deps.dataSyncTaskCap,
    ...(deps.dataSyncSecurityGroupId ? { dataSyncSecurityGroupId: deps.dataSyncSecurityGroupId } : {}),
    log: deps.log,
  });
}
