/**
 * The Feature Store as the emulator keeps it, shared by SageMaker (feature groups: the control plane) and the
 * Feature Store runtime (records: the data plane): one value per emulator (`scope.shared`), so a group created
 * through one API is written through the other.
 */
import type { EmulatorScope } from '../../service';
import { TrackedMap } from '../../persistence/tracked-map';

export type FeatureType = 'Integral' | 'Fractional' | 'String';

export interface FeatureDefinition {
  FeatureName: string;
  FeatureType: FeatureType;
  CollectionType?: 'List' | 'Set' | 'Vector';
  CollectionConfig?: unknown;
}

export interface FeatureValue {
  FeatureName: string;
  ValueAsString?: string;
  ValueAsStringList?: string[];
}

/** The latest record of one identifier in the online store. */
export interface OnlineRecord {
  eventTimeMs: number;
  record: FeatureValue[];
  /** Soft-deleted: kept for its event time, invisible to GetRecord. */
  deleted: boolean;
}

/** One row waiting for the offline store's next Parquet file: values by definition order, then the extras. */
export interface OfflineRow {
  values: (string | undefined)[];
  eventTimeMs: number;
  writeTimeMs: number;
  apiInvocationTimeMs: number;
  isDeleted: boolean;
}

export interface ThroughputConfig {
  ThroughputMode: 'OnDemand' | 'Provisioned';
  ProvisionedReadCapacityUnits?: number;
  ProvisionedWriteCapacityUnits?: number;
}

export interface FeatureGroup {
  /** Names its jobs (scenarios match it): the ARN. */
  rid: string;
  name: string;
  arn: string;
  recordIdentifierFeatureName: string;
  eventTimeFeatureName: string;
  featureDefinitions: FeatureDefinition[];
  onlineStoreConfig?: { EnableOnlineStore?: boolean; [k: string]: unknown };
  offlineStoreConfig?: { S3StorageConfig: { S3Uri: string; ResolvedOutputS3Uri?: string; KmsKeyId?: string }; [k: string]: unknown };
  throughput: ThroughputConfig;
  roleArn?: string;
  description?: string;
  tags: { Key: string; Value?: string }[];
  createdAtMs: number;
  lastModifiedMs: number;
  /** Set by the lifecycle hooks: Creating -> Created, Deleting -> gone. */
  status: 'Creating' | 'Created' | 'CreateFailed' | 'Deleting' | 'DeleteFailed';
  failureReason?: string;
  lastUpdateStatus?: { Status: 'Successful' | 'Failed' | 'InProgress'; FailureReason?: string };
  offlineStatus?: { Status: 'Active' | 'Blocked' | 'Disabled'; BlockedReason?: string };
  online: TrackedMap<string, OnlineRecord>;
  /**
   * Rows not yet in a Parquet file, by arrival number: a TrackedMap, so a durable emulator writes each request's
   * rows, not the whole buffer.
   */
  offlineBuffer: TrackedMap<number, OfflineRow>;
  offlineNextRow: number;
  offlineBufferedRows: number;
  /** Oldest buffered row's write time: a file is due 'within 15 minutes' of it. */
  offlineOldestBufferedMs?: number;
  offlineFiles: string[];
}

/** A rule that makes the runtime reject matching records (test aid: a record the service refuses). */
export interface RejectionRule {
  id: string;
  featureGroupName: string;
  featureName: string;
  /** Exact values of the feature that are rejected. */
  values: string[];
  errorCode: string;
  errorMessage: string;
}

export interface FeatureStore {
  groups: Map<string, FeatureGroup>;
  /** The on-demand write rate the emulator allows per group, in write units per second (AWS: account-wide). */
  onDemandWriteUnitsPerSecond: number;
  rejections: RejectionRule[];
}

export const FEATURE_STORE_KEY = 'feature-store';

export function featureStoreOf(scope: EmulatorScope): FeatureStore {
  return scope.shared<FeatureStore>(FEATURE_STORE_KEY, () => ({ groups: new Map(), onDemandWriteUnitsPerSecond: 10_000, rejections: [] }));
}

export function newFeatureGroupRecords(): TrackedMap<string, OnlineRecord> {
  return new TrackedMap();
}

export function newOfflineBuffer(): TrackedMap<number, OfflineRow> {
  return new TrackedMap();
}

/** Names of features, groups and identifiers: `[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}`. */
export const FEATURE_NAME = /^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$/;
export const RESERVED_FEATURE_NAMES = ['is_deleted', 'write_time', 'api_invocation_time'];
