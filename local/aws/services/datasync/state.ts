/** DataSync resources as the emulator keeps them: EFS locations, tasks, executions, tags and quota figures. */
import type { World } from '../efs/world';
import type { FilterRule, TransferFigures, TransferOptions, TransferPlan } from './transfer';

export interface Tag {
  Key: string;
  Value?: string;
}

export interface EfsLocation {
  arn: string;
  region: string;
  uri: string;
  fileSystemId: string;
  /** Normalised: `/` or `/200001`. */
  subdirectory: string;
  ec2Config: { SubnetArn: string; SecurityGroupArns: string[] };
  securityGroupIds: string[];
  accessPointArn?: string;
  fileSystemAccessRoleArn?: string;
  inTransitEncryption?: string;
  createdAtMs: number;
}

export interface Task {
  arn: string;
  region: string;
  name?: string;
  sourceLocationArn: string;
  destinationLocationArn: string;
  options: TransferOptions;
  excludes?: FilterRule[];
  includes?: FilterRule[];
  cloudWatchLogGroupArn?: string;
  schedule?: unknown;
  taskMode?: string;
  createdAtMs: number;
  sourceNetworkInterfaceArns: string[];
  destinationNetworkInterfaceArns: string[];
  /** Its executions, oldest first. */
  executionArns: string[];
}

export interface ExecutionFailure {
  atMs: number;
  phase: string;
  code: string;
  detail: string;
}

export interface Execution {
  arn: string;
  taskArn: string;
  options: TransferOptions;
  /** The task's filters, or the ones StartTaskExecution gave instead. */
  includes: FilterRule[];
  excludes: FilterRule[];
  startedAtMs: number;
  plan?: TransferPlan;
  figures?: TransferFigures;
  filesVerified?: number;
  /** Set when the execution failed on its own (network, missing path, verification) rather than by a scenario. */
  failure?: ExecutionFailure;
  cancelled: boolean;
  /** Waiting for the task's previous execution to end (TaskQueueing ENABLED): no job yet. */
  queued: boolean;
}

/** An execution that ended, as the emulator measured it (emulated epoch milliseconds). */
export interface EndedExecution {
  arn: string;
  taskArn: string;
  status: string;
  /** StartTaskExecution. */
  startedAtMs: number;
  /** Left the task's queue and began. */
  launchedAtMs: number;
  endedAtMs: number;
}

export interface DataSyncSettings {
  /** Tasks per account and region (AWS: 100). */
  tasksPerRegion: number;
  /** Whether CreateLocationEfs refuses a location whose security groups cannot reach a mount target on NFS. */
  checkNetworkAccess: boolean;
}

export interface DataSyncStats {
  tasksCreated: number;
  tasksDeleted: number;
  /** Most tasks that existed at once since start (or the last stats reset). */
  maxLiveTasks: number;
  /** CreateTask calls refused by the tasks-per-region quota. */
  tasksRefusedByQuota: number;
  locationsCreated: number;
  locationsDeleted: number;
  maxLiveLocations: number;
  executionsStarted: number;
  maxRunningExecutions: number;
}

export interface DataSyncState {
  world: World;
  locations: Map<string, EfsLocation>;
  tasks: Map<string, Task>;
  /** A TrackedMap (durable state writes changed entries only): after changing a record in place, `set` it again. */
  executions: Map<string, Execution>;
  tags: Map<string, Tag[]>;
  settings: DataSyncSettings;
  stats: DataSyncStats;
  /** The most recent ended executions, oldest first (at most 10,000), since start or the last stats reset. */
  endedExecutions: EndedExecution[];
}

export const DEFAULT_SETTINGS: DataSyncSettings = { tasksPerRegion: 100, checkNetworkAccess: true };

export function emptyStats(): DataSyncStats {
  return {
    tasksCreated: 0,
    tasksDeleted: 0,
    maxLiveTasks: 0,
    tasksRefusedByQuota: 0,
    locationsCreated: 0,
    locationsDeleted: 0,
    maxLiveLocations: 0,
    executionsStarted: 0,
    maxRunningExecutions: 0,
  };
}
