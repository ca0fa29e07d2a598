/**
 * SageMaker feature groups (the Feature Store's control plane): CreateFeatureGroup, DescribeFeatureGroup (status
 * Creating -> Created), UpdateFeatureGroup, DeleteFeatureGroup (Deleting -> gone), ListFeatureGroups, validated as
 * the API reference and botocore's model give them. Records live in the shared store (./feature-store.ts) that the
 * Feature Store runtime writes.
 */
import { z } from 'zod';
import { operation, type OperationContext, type OperationDefinition } from '../../service';
import type { LifecycleDefinition, TransitionContext } from '../../jobs';
import { paginate } from '../efs/pages';
import {
  FEATURE_NAME,
  RESERVED_FEATURE_NAMES,
  newFeatureGroupRecords,
  newOfflineBuffer,
  type FeatureDefinition,
  type FeatureGroup,
  type FeatureStore,
  type ThroughputConfig,
} from './feature-store';

interface WithFeatureStore {
  featureStore: FeatureStore;
}
type Ctx = OperationContext<WithFeatureStore>;

function store(ctx: { state: unknown }): FeatureStore {
  return (ctx.state as WithFeatureStore).featureStore;
}

export const featureGroupCreation: LifecycleDefinition = {
  kind: 'feature-group',
  phases: [{ status: 'Creating', durationMs: 5_000 }],
  succeeded: 'Created',
  failed: 'CreateFailed',
  onTransition(job, ctx: TransitionContext) {
    const g = store(ctx).groups.get(String(job.data.name));
    if (!g || g.rid !== job.id || g.status === 'Deleting') return;
    if (job.status === 'Created' || job.status === 'CreateFailed') {
      g.status = job.status;
      if (job.failureReason) g.failureReason = job.failureReason;
    }
  },
};

export const featureGroupDeletion: LifecycleDefinition = {
  kind: 'feature-group-deletion',
  phases: [{ status: 'Deleting', durationMs: 3_000 }],
  succeeded: 'Deleted',
  failed: 'DeleteFailed',
  onTransition(job, ctx: TransitionContext) {
    const groups = store(ctx).groups;
    const g = groups.get(String(job.data.name));
    if (!g || g.rid !== job.id) return;
    if (job.status === 'Deleted') groups.delete(g.name);
    else if (job.status === 'DeleteFailed') g.status = 'DeleteFailed';
  },
};

const pattern = (re: RegExp, what: string) =>
  z.string().min(1).max(64).regex(re, { message: `Value at '${what}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${re.source}` });
const groupName = pattern(FEATURE_NAME, 'featureGroupName');
/** DescribeFeatureGroup and friends take a name or an ARN. */
const groupNameOrArn = z.string().min(1).max(150);
const featureDefinition = z.looseObject({
  FeatureName: pattern(FEATURE_NAME, 'featureDefinitions.member.featureName'),
  FeatureType: z.enum(['Integral', 'Fractional', 'String']),
  CollectionType: z.enum(['List', 'Set', 'Vector']).optional(),
  CollectionConfig: z.looseObject({}).optional(),
});
const throughputConfig = z.looseObject({
  ThroughputMode: z.enum(['OnDemand', 'Provisioned']),
  ProvisionedReadCapacityUnits: z.number().int().min(0).optional(),
  ProvisionedWriteCapacityUnits: z.number().int().min(0).optional(),
});
const tags = z.array(z.looseObject({ Key: z.string().min(1).max(128), Value: z.string().max(256).optional() })).max(50).optional();
const S3_URI = /^(https|s3):\/\/([^/]+)\/?(.*)$/;

/** AWS's limits for provisioned throughput per feature group. */
const MAX_WRITE_UNITS = 40_000;
const MAX_READ_UNITS = 40_000;

function requireGroup(ctx: Ctx, nameOrArn: string): FeatureGroup {
  const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split('/').pop() ?? nameOrArn) : nameOrArn;
  const g = store(ctx).groups.get(name);
  if (!g) throw ctx.error('ResourceNotFound', `Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name ${name}`);
  return g;
}

function checkThroughput(ctx: Ctx, t: ThroughputConfig | undefined): ThroughputConfig {
  if (!t) return { ThroughputMode: 'OnDemand' };
  if (t.ThroughputMode === 'OnDemand') {
    if (t.ProvisionedReadCapacityUnits !== undefined || t.ProvisionedWriteCapacityUnits !== undefined) {
      throw ctx.error('ValidationException', 'Provisioned read and write capacity units cannot be specified when ThroughputMode is OnDemand.');
    }
    return { ThroughputMode: 'OnDemand' };
  }
  const read = t.ProvisionedReadCapacityUnits;
  const write = t.ProvisionedWriteCapacityUnits;
  if (read === undefined || write === undefined) throw ctx.error('ValidationException', 'ProvisionedReadCapacityUnits and ProvisionedWriteCapacityUnits are required when ThroughputMode is Provisioned.');
  if (read < 1 || read > MAX_READ_UNITS) throw ctx.error('ValidationException', `ProvisionedReadCapacityUnits must be between 1 and ${MAX_READ_UNITS}.`);
  if (write < 1 || write > MAX_WRITE_UNITS) throw ctx.error('ValidationException', `ProvisionedWriteCapacityUnits must be between 1 and ${MAX_WRITE_UNITS}.`);
  return { ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: read, ProvisionedWriteCapacityUnits: write };
}

function checkDefinitions(ctx: Ctx, defs: FeatureDefinition[], existing: FeatureDefinition[] = []): void {
  const seen = new Set(existing.map((d) => d.FeatureName.toLowerCase()));
  for (const d of defs) {
    if (RESERVED_FEATURE_NAMES.includes(d.FeatureName.toLowerCase())) {
      throw ctx.error('ValidationException', `The feature name ${d.FeatureName} is reserved. Reserved feature names: ${RESERVED_FEATURE_NAMES.join(', ')}.`);
    }
    if (seen.has(d.FeatureName.toLowerCase())) throw ctx.error('ValidationException', `Duplicate feature name ${d.FeatureName} in FeatureDefinitions.`);
    seen.add(d.FeatureName.toLowerCase());
  }
}

function describe(ctx: Ctx, g: FeatureGroup) {
  const t = g.throughput;
  return {
    FeatureGroupArn: g.arn,
    FeatureGroupName: g.name,
    RecordIdentifierFeatureName: g.recordIdentifierFeatureName,
    EventTimeFeatureName: g.eventTimeFeatureName,
    FeatureDefinitions: g.featureDefinitions,
    CreationTime: new Date(g.createdAtMs),
    LastModifiedTime: new Date(g.lastModifiedMs),
    ...(g.onlineStoreConfig ? { OnlineStoreConfig: g.onlineStoreConfig } : {}),
    ...(g.offlineStoreConfig ? { OfflineStoreConfig: g.offlineStoreConfig } : {}),
    ThroughputConfig: {
      ThroughputMode: t.ThroughputMode,
      ...(t.ThroughputMode === 'Provisioned' ? { ProvisionedReadCapacityUnits: t.ProvisionedReadCapacityUnits, ProvisionedWriteCapacityUnits: t.ProvisionedWriteCapacityUnits } : {}),
    },
    ...(g.roleArn ? { RoleArn: g.roleArn } : {}),
    FeatureGroupStatus: g.status,
    ...(g.offlineStatus ? { OfflineStoreStatus: g.offlineStatus } : {}),
    ...(g.lastUpdateStatus ? { LastUpdateStatus: g.lastUpdateStatus } : {}),
    ...(g.failureReason ? { FailureReason: g.failureReason } : {}),
    ...(g.description ? { Description: g.description } : {}),
    NextToken: '',
    OnlineStoreTotalSizeBytes: g.online.size === 0 ? 0 : [...g.online.values()].reduce((n, r) => n + JSON.stringify(r.record).length, 0),
  };
}

export const featureGroupOperations: Record<string, OperationDefinition<WithFeatureStore>> = {
  CreateFeatureGroup: operation({
    input: z.looseObject({
      FeatureGroupName: groupName,
      RecordIdentifierFeatureName: pattern(FEATURE_NAME, 'recordIdentifierFeatureName'),
      EventTimeFeatureName: pattern(FEATURE_NAME, 'eventTimeFeatureName'),
      FeatureDefinitions: z.array(featureDefinition).min(1).max(2500),
      OnlineStoreConfig: z.looseObject({ EnableOnlineStore: z.boolean().optional(), StorageType: z.enum(['Standard', 'InMemory']).optional() }).optional(),
      OfflineStoreConfig: z
        .looseObject({
          S3StorageConfig: z.looseObject({ S3Uri: z.string().max(1024).regex(S3_URI, { message: 'S3Uri must be an s3:// or https:// URI' }), KmsKeyId: z.string().max(2048).optional() }),
          DisableGlueTableCreation: z.boolean().optional(),
          TableFormat: z.enum(['Glue', 'Iceberg']).optional(),
        })
        .optional(),
      ThroughputConfig: throughputConfig.optional(),
      RoleArn: z.string().min(20).max(2048).optional(),
      Description: z.string().max(128).optional(),
      Tags: tags,
    }),
    handler(input, ctx: Ctx) {
      const fs = store(ctx);
      if (fs.groups.has(input.FeatureGroupName)) {
        throw ctx.error('ResourceInUse', `Resource Already Exists: FeatureGroup with name ${input.FeatureGroupName} already exists. Choose a different name.`);
      }
      const defs = input.FeatureDefinitions as FeatureDefinition[];
      checkDefinitions(ctx, defs);
      const byName = new Map(defs.map((d) => [d.FeatureName, d]));
      const id = byName.get(input.RecordIdentifierFeatureName);
      if (!id) throw ctx.error('ValidationException', `The RecordIdentifierFeatureName ${input.RecordIdentifierFeatureName} is not defined in FeatureDefinitions.`);
      if (id.FeatureType === 'Fractional' || id.CollectionType) throw ctx.error('ValidationException', `The RecordIdentifierFeatureName ${id.FeatureName} must be of type String or Integral.`);
      const et = byName.get(input.EventTimeFeatureName);
      if (!et) throw ctx.error('ValidationException', `The EventTimeFeatureName ${input.EventTimeFeatureName} is not defined in FeatureDefinitions.`);
      if (et.FeatureType === 'Integral' || et.CollectionType) throw ctx.error('ValidationException', `The EventTimeFeatureName ${et.FeatureName} must be of type Fractional or String.`);
      const online = input.OnlineStoreConfig?.EnableOnlineStore === true;
      if (!online && !input.OfflineStoreConfig) throw ctx.error('ValidationException', 'At least one of OnlineStoreConfig (with EnableOnlineStore) or OfflineStoreConfig must be specified.');
      if (defs.some((d) => d.CollectionType) && !online) throw ctx.error('ValidationException', 'Collection types are supported only for feature groups with an online store.');
      const throughput = checkThroughput(ctx, input.ThroughputConfig as ThroughputConfig | undefined);
      const now = ctx.nowMs();
      const arn = ctx.arn(`feature-group/${input.FeatureGroupName.toLowerCase()}`);
      let offlineStoreConfig: FeatureGroup['offlineStoreConfig'];
      if (input.OfflineStoreConfig) {
        const base = input.OfflineStoreConfig.S3StorageConfig.S3Uri.replace(/\/+$/, '');
        const resolved = `${base}/${ctx.accountId}/sagemaker/${ctx.region}/offline-store/${input.FeatureGroupName}-${Math.floor(now / 1000)}/data`;
        offlineStoreConfig = {
          ...input.OfflineStoreConfig,
          S3StorageConfig: { ...input.OfflineStoreConfig.S3StorageConfig, ResolvedOutputS3Uri: resolved },
          DisableGlueTableCreation: input.OfflineStoreConfig.DisableGlueTableCreation ?? false,
        };
      }
      const group: FeatureGroup = {
        rid: arn,
        name: input.FeatureGroupName,
        arn,
        recordIdentifierFeatureName: input.RecordIdentifierFeatureName,
        eventTimeFeatureName: input.EventTimeFeatureName,
        featureDefinitions: defs,
        ...(input.OnlineStoreConfig ? { onlineStoreConfig: input.OnlineStoreConfig } : {}),
        ...(offlineStoreConfig ? { offlineStoreConfig, offlineStatus: { Status: 'Active' as const } } : {}),
        throughput,
        ...(input.RoleArn ? { roleArn: input.RoleArn } : {}),
        ...(input.Description ? { description: input.Description } : {}),
        tags: input.Tags ?? [],
        createdAtMs: now,
        lastModifiedMs: now,
        status: 'Creating',
        online: newFeatureGroupRecords(),
        offlineBuffer: newOfflineBuffer(),
        offlineNextRow: 0,
        offlineBufferedRows: 0,
        offlineFiles: [],
      };
      fs.groups.set(group.name, group);
      ctx.jobs.remove(featureGroupDeletion.kind, arn);
      ctx.jobs.start(featureGroupCreation, arn, { name: group.name });
      return { FeatureGroupArn: arn };
    },
  }),
  DescribeFeatureGroup: operation({
    input: z.looseObject({ FeatureGroupName: groupNameOrArn, NextToken: z.string().max(8192).optional() }),
    handler(input, ctx: Ctx) {
      return describe(ctx, requireGroup(ctx, input.FeatureGroupName));
    },
  }),
  UpdateFeatureGroup: operation({
    input: z.looseObject({
      FeatureGroupName: groupNameOrArn,
      FeatureAdditions: z.array(featureDefinition).min(1).max(100).optional(),
      OnlineStoreConfig: z.looseObject({ TtlDuration: z.looseObject({}).optional() }).optional(),
      ThroughputConfig: throughputConfig.partial().optional(),
    }),
    handler(input, ctx: Ctx) {
      const g = requireGroup(ctx, input.FeatureGroupName);
      if (g.status !== 'Created') throw ctx.error('ResourceInUse', `FeatureGroup ${g.name} is in ${g.status} status; it can be updated only when Created.`);
      const additions = (input.FeatureAdditions ?? []) as FeatureDefinition[];
      checkDefinitions(ctx, additions, g.featureDefinitions);
      let throughput = g.throughput;
      if (input.ThroughputConfig) {
        const t = input.ThroughputConfig;
        throughput = checkThroughput(ctx, {
          ThroughputMode: t.ThroughputMode ?? g.throughput.ThroughputMode,
          ProvisionedReadCapacityUnits: t.ProvisionedReadCapacityUnits ?? (t.ThroughputMode === 'OnDemand' ? undefined : g.throughput.ProvisionedReadCapacityUnits),
          ProvisionedWriteCapacityUnits: t.ProvisionedWriteCapacityUnits ?? (t.ThroughputMode === 'OnDemand' ? undefined : g.throughput.ProvisionedWriteCapacityUnits),
        });
      }
      // Rows buffered for the offline store keep their columns: new features join at the end.
      g.featureDefinitions = [...g.featureDefinitions, ...additions];
      g.throughput = throughput;
      if (input.OnlineStoreConfig?.TtlDuration) g.onlineStoreConfig = { ...g.onlineStoreConfig, TtlDuration: input.OnlineStoreConfig.TtlDuration };
      g.lastModifiedMs = ctx.nowMs();
      g.lastUpdateStatus = { Status: 'Successful' };
      return { FeatureGroupArn: g.arn };
    },
  }),
  DeleteFeatureGroup: operation({
    input: z.looseObject({ FeatureGroupName: groupName }),
    handler(input, ctx: Ctx) {
      const g = requireGroup(ctx, input.FeatureGroupName);
      if (g.status === 'Creating' || g.status === 'Deleting') throw ctx.error('ResourceInUse', `FeatureGroup ${g.name} is in ${g.status} status.`);
      g.status = 'Deleting';
      g.lastModifiedMs = ctx.nowMs();
      ctx.jobs.start(featureGroupDeletion, g.rid, { name: g.name });
      return {};
    },
  }),
  ListFeatureGroups: operation({
    input: z.looseObject({
      NameContains: z.string().min(1).max(64).optional(),
      FeatureGroupStatusEquals: z.enum(['Creating', 'Created', 'CreateFailed', 'Deleting', 'DeleteFailed']).optional(),
      OfflineStoreStatusEquals: z.enum(['Active', 'Blocked', 'Disabled']).optional(),
      CreationTimeAfter: z.number().optional(),
      CreationTimeBefore: z.number().optional(),
      SortOrder: z.enum(['Ascending', 'Descending']).optional(),
      SortBy: z.enum(['Name', 'FeatureGroupStatus', 'OfflineStoreStatus', 'CreationTime']).optional(),
      MaxResults: z.number().int().min(1).max(100).optional(),
      NextToken: z.string().max(8192).optional(),
    }),
    handler(input, ctx: Ctx) {
      const all = [...store(ctx).groups.values()].filter(
        (g) =>
          (input.NameContains === undefined || g.name.toLowerCase().includes(input.NameContains.toLowerCase())) &&
          (input.FeatureGroupStatusEquals === undefined || g.status === input.FeatureGroupStatusEquals) &&
          (input.OfflineStoreStatusEquals === undefined || g.offlineStatus?.Status === input.OfflineStoreStatusEquals) &&
          (input.CreationTimeAfter === undefined || g.createdAtMs > input.CreationTimeAfter * 1000) &&
          (input.CreationTimeBefore === undefined || g.createdAtMs < input.CreationTimeBefore * 1000),
      );
      const key = (g: FeatureGroup): string | number =>
        input.SortBy === 'Name' ? g.name : input.SortBy === 'FeatureGroupStatus' ? g.status : input.SortBy === 'OfflineStoreStatus' ? (g.offlineStatus?.Status ?? '') : g.createdAtMs;
      const sign = input.SortOrder === 'Ascending' ? 1 : -1;
      all.sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        return sign * (ka < kb ? -1 : ka > kb ? 1 : 0);
      });
      const page = paginate(all, input.NextToken, input.MaxResults ?? 10, () => ctx.error('ValidationException', 'Invalid pagination token'));
      return {
        FeatureGroupSummaries: page.items.map((g) => ({
          FeatureGroupName: g.name,
          FeatureGroupArn: g.arn,
          CreationTime: new Date(g.createdAtMs),
          FeatureGroupStatus: g.status,
          ...(g.offlineStatus ? { OfflineStoreStatus: g.offlineStatus } : {}),
        })),
        NextToken: page.next ?? '',
      };
    },
  }),
};
