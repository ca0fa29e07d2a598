import type { AwsClientOptions } from '../common/aws-clients';
import type { Logger } from '../common/logger';
import { createSystemActivities } from '../activities/system/activities';
import type { Config } from '../common/config';
import { RECOVERY_TASK_QUEUE } from '../workflows/recovery/model';
import { FEATURES_TASK_QUEUE } from '../workflows/features/model';
import { PROCESSING_TASK_QUEUE } from '../workflows/processing/model';
import { FORECAST_TASK_QUEUE } from '../workflows/forecast/model';

/** What every activity factory may receive; each pipeline builds its own AWS clients from `aws`. */
export interface ActivityDeps {
  config: Config;
  aws: AwsClientOptions;
  log: Logger;
}

/** One task queue: its workflows (a module path, bundled for the sandbox) and its activities. */
export interface TaskQueueDefinition {
  taskQueue: string;
  description: string;
  workflowsPath: string;
  createActivities(deps: ActivityDeps): Record<string, (...args: never[]) => Promise<unknown>>;
}

export const SYSTEM_TASK_QUEUE = 'mlops-system';

/** Every task queue the project defines; pipelines add their entry here. */
export const taskQueues: TaskQueueDefinition[] = [
  {
    taskQueue: SYSTEM_TASK_QUEUE,
    description: 'health checks (mlops ping)',
    workflowsPath: require.resolve('../workflows/system/workflows'),
    createActivities: () => createSystemActivities(),
  },
  {
    taskQueue: RECOVERY_TASK_QUEUE,
    description: 'profile recovery: Studio home directories copied across profile and domain recreation',
    workflowsPath: require.resolve('../workflows/recovery/workflows'),
    // Loaded on demand: the AWS SDK clients are heavy and the CLI imports this registry.
    createActivities: (deps) =>
      (require('../activities/recovery/worker-activities') as typeof import('../activities/recovery/worker-activities')).recoveryActivitiesFor({
        ...deps,
        dataSyncTaskCap: deps.config.MLOPS_DATASYNC_TASK_CAP,
        dataSyncSecurityGroupId: deps.config.MLOPS_DATASYNC_SECURITY_GROUP,
      }),
  },
  {
    taskQueue: FEATURES_TASK_QUEUE,
    description: 'feature ingestion: CSV / Parquet batches into SageMaker Feature Store groups, resumable, with a failure ledger',
    workflowsPath: require.resolve('../workflows/features/workflows'),
    createActivities: (deps) =>
      (require('../activities/features/worker-activities') as typeof import('../activities/features/worker-activities')).featureActivitiesFor(deps),
  },
  {
    taskQueue: PROCESSING_TASK_QUEUE,
    description: 'checkpointed processing: SageMaker Processing jobs restarted bigger when their CloudWatch alarms fire',
    workflowsPath: require.resolve('../workflows/processing/workflows'),
    createActivities: (deps) =>
      (require('../activities/processing/worker-activities') as typeof import('../activities/processing/worker-activities')).processingActivitiesFor(deps),
  },
  {
    taskQueue: FORECAST_TASK_QUEUE,
    description: 'forecast retraining: Glue ETL, imports, retrain decision, champion/challenger, forecast and export',
    workflowsPath: require.resolve('../workflows/forecast/index'),
    createActivities: (deps) =>
      (require('../activities/forecast/worker-activities') as typeof import('../activities/forecast/worker-activities')).forecastActivitiesFor(deps),
  },
];
