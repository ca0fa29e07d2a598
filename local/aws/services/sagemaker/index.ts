/**
 * Amazon SageMaker (awsJson1_1, `SageMaker.*`), Studio part: domains (each with its own EFS home file system, mount
 * targets and NFS security groups), user profiles and spaces (a new HomeEfsFileSystemUid at every creation) and
 * apps (the owner's home directory appears on the file system when its app comes InService). See ../efs/CONTROL.md.
 */
import { z } from 'zod';
import { defineService, newId, operation, type OperationContext, type ServiceContext } from '../../service';
import { DEFAULT_SUBNET_IDS, DEFAULT_VPC_ID, NFS_PORT } from '../ec2/store';
import type { LifecycleDefinition } from '../../jobs';
import { paginate } from '../efs/pages';
import { WORLD_CLASSES, worldOf } from '../efs/world';
import {
  appCreation,
  appDeletion,
  domainCreation,
  domainDeletion,
  spaceCreation,
  spaceDeletion,
  userProfileCreation,
  userProfileDeletion,
} from './lifecycles';
import { advanceProcessing, createProcessingState, nextProcessingWake, processingControl, processingLifecycle, processingOperations } from './processing';
import { featureGroupCreation, featureGroupDeletion, featureGroupOperations } from './feature-groups';
import { featureStoreOf } from './feature-store';
import { automlOperations, createAutoMLState, transformLifecycle } from './automl';
import { DEFAULT_QUOTAS, FIRST_HOME_UID, ownerKey, type App, type Domain, type HomeOwner, type OwnerKind, type Quotas, type SageMakerState } from './state';

type Ctx = OperationContext<SageMakerState>;

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const DOMAIN_ID = /^d-(-*[a-z0-9]){1,61}$/;
const APP_TYPES = ['JupyterServer', 'KernelGateway', 'DetailedProfiler', 'TensorBoard', 'RStudioServerPro', 'RSessionGateway', 'JupyterLab', 'CodeEditor', 'Canvas'] as const;

const name = (what: string) => z.string().max(63).regex(NAME, { message: `Member must satisfy regular expression pattern: ${NAME.source} (${what})` });
const domainId = z.string().max(63).regex(DOMAIN_ID, { message: `Member must satisfy regular expression pattern: ${DOMAIN_ID.source}` });
const tags = z.array(z.looseObject({ Key: z.string().min(1).max(128), Value: z.string().max(256).optional() })).max(50).optional();
const listInput = {
  NextToken: z.string().max(8192).optional(),
  MaxResults: z.number().int().min(1).max(100).optional(),
  SortOrder: z.enum(['Ascending', 'Descending']).optional(),
};

function pageOf<T extends { createdAtMs: number }>(ctx: Ctx, all: T[], input: { NextToken?: string; MaxResults?: number; SortOrder?: string; SortBy?: string }, lastModified?: (t: T) => number) {
  const key = input.SortBy === 'LastModifiedTime' && lastModified ? lastModified : (t: T) => t.createdAtMs;
  const sign = input.SortOrder === 'Descending' ? -1 : 1;
  const sorted = [...all].sort((a, b) => sign * (key(a) - key(b)));
  return paginate(sorted, input.NextToken, input.MaxResults ?? 10, () => ctx.error('ValidationException', 'Invalid pagination token'));
}

function jobStatus(ctx: ServiceContext<SageMakerState>, creation: string, deletion: string, rid: string): { status: string; failureReason?: string } {
  const del = ctx.jobs.get(deletion, rid);
  if (del) return { status: del.status, ...(del.failureReason ? { failureReason: del.failureReason } : {}) };
  const job = ctx.jobs.get(creation, rid);
  return job ? { status: job.status, ...(job.failureReason ? { failureReason: job.failureReason } : {}) } : { status: 'InService' };
}

function domainStatus(ctx: ServiceContext<SageMakerState>, d: Domain) {
  return jobStatus(ctx, domainCreation.kind, domainDeletion.kind, d.rid);
}

/** What differs between user profiles and spaces; everything else about a home owner is handled once. */
const OWNER_KINDS: Record<OwnerKind, { word: string; unit: string; quota: string; limit(q: Quotas): number; creation: LifecycleDefinition; deletion: LifecycleDefinition }> = {
  'user-profile': {
    word: 'UserProfile',
    unit: 'UserProfiles',
    quota: 'Maximum number of user profiles per domain',
    limit: (q) => q.userProfilesPerDomain,
    creation: userProfileCreation,
    deletion: userProfileDeletion,
  },
  space: { word: 'Space', unit: 'Spaces', quota: 'Maximum number of spaces per domain', limit: (q) => q.spacesPerDomain, creation: spaceCreation, deletion: spaceDeletion },
};

function ownerStatus(ctx: ServiceContext<SageMakerState>, o: HomeOwner) {
  const { creation, deletion } = OWNER_KINDS[o.kind];
  return jobStatus(ctx, creation.kind, deletion.kind, o.rid);
}

function appStatus(ctx: ServiceContext<SageMakerState>, a: App) {
  return jobStatus(ctx, appCreation.kind, appDeletion.kind, a.rid);
}

function liveApp(ctx: ServiceContext<SageMakerState>, a: App): boolean {
  const s = appStatus(ctx, a).status;
  return s !== 'Deleted' && s !== 'Failed';
}

function liveAppsOf(ctx: Ctx, domainId: string, kind: OwnerKind, ownerName: string): App[] {
  const lower = ownerName.toLowerCase();
  return [...ctx.state.apps.values()].filter((a) => a.domainId === domainId && a.ownerKind === kind && a.ownerName.toLowerCase() === lower && liveApp(ctx, a));
}

function requireDomain(ctx: Ctx, id: string): Domain {
  const d = ctx.state.domains.get(id);
  if (!d) throw ctx.error('ResourceNotFound', `Domain ${ctx.arn(`domain/${id}`)} does not exist.`);
  return d;
}

/** A domain that accepts new profiles, spaces and apps: not being deleted. */
function usableDomain(ctx: Ctx, id: string): Domain {
  const d = requireDomain(ctx, id);
  const status = domainStatus(ctx, d).status;
  if (status === 'Deleting' || status === 'Delete_Failed') throw ctx.error('ResourceInUse', `Domain ${d.arn} is being deleted.`);
  if (status === 'Failed') throw ctx.error('ValidationException', `Domain ${d.arn} is in Failed state.`);
  return d;
}

function requireOwner(ctx: Ctx, domainId: string, kind: OwnerKind, ownerName: string): HomeOwner {
  const o = ctx.state.owners.get(ownerKey(domainId, kind, ownerName));
  if (!o) throw ctx.error('ResourceNotFound', `${OWNER_KINDS[kind].word} ${ctx.arn(`${kind}/${domainId}/${ownerName}`)} does not exist.`);
  return o;
}

function quotaExceeded(ctx: Ctx, quota: string, limit: number, current: number, unit: string): Error {
  return ctx.error(
    'ResourceLimitExceeded',
    `The account-level service limit '${quota}' is ${limit} ${unit}, with current utilization of ${current} ${unit} and a request delta of 1 ${unit}. Please use AWS Service Quotas to request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase for this quota.`,
  );
}

function createOwner(ctx: Ctx, kind: OwnerKind, input: { DomainId: string; Name: string; Tags?: { Key: string; Value?: string }[] }, extra: Partial<HomeOwner>): HomeOwner {
  const domain = usableDomain(ctx, input.DomainId);
  const key = ownerKey(domain.domainId, kind, input.Name);
  const arn = ctx.arn(`${kind}/${domain.domainId}/${input.Name.toLowerCase()}`);
  if (ctx.state.owners.has(key)) throw ctx.error('ResourceInUse', `Resource Already Exists: ${OWNER_KINDS[kind].word} with ARN ${arn} already exists`);
  const count = [...ctx.state.owners.values()].filter((o) => o.domainId === domain.domainId && o.kind === kind).length;
  const limit = OWNER_KINDS[kind].limit(ctx.state.quotas);
  if (count >= limit) throw quotaExceeded(ctx, OWNER_KINDS[kind].quota, limit, count, OWNER_KINDS[kind].unit);
  const now = ctx.nowMs();
  const owner: HomeOwner = {
    rid: arn,
    kind,
    domainId: domain.domainId,
    name: input.Name,
    arn,
    homeUid: String(domain.nextUid),
    createdAtMs: now,
    lastModifiedMs: now,
    tags: input.Tags ?? [],
    deleting: false,
    ...extra,
  };
  domain.nextUid += 1;
  ctx.state.owners.set(key, owner);
  // Jobs are named by ARN, so scenarios can target a profile, space or app by name; a recreation starts afresh.
  ctx.jobs.remove(OWNER_KINDS[kind].deletion.kind, owner.rid);
  ctx.jobs.start(OWNER_KINDS[kind].creation, owner.rid, { key });
  return owner;
}

function deleteOwner(ctx: Ctx, domainId: string, kind: OwnerKind, ownerName: string): void {
  requireDomain(ctx, domainId);
  const owner = requireOwner(ctx, domainId, kind, ownerName);
  if (owner.deleting) throw ctx.error('ResourceInUse', `${OWNER_KINDS[kind].word} ${owner.arn} is already being deleted.`);
  if (liveAppsOf(ctx, domainId, kind, owner.name).length > 0) throw ctx.error('ResourceInUse', `Unable to delete ${OWNER_KINDS[kind].word} [${owner.arn}] because App(s) are associated with it.`);
  if (kind === 'user-profile') {
    const owned = [...ctx.state.owners.values()].some(
      (o) => o.kind === 'space' && o.domainId === domainId && o.ownershipSettings?.OwnerUserProfileName?.toLowerCase() === owner.name.toLowerCase(),
    );
    if (owned) throw ctx.error('ResourceInUse', `Unable to delete UserProfile [${owner.arn}] because Space(s) are associated with it.`);
  }
  owner.deleting = true;
  owner.lastModifiedMs = ctx.nowMs();
  ctx.jobs.start(OWNER_KINDS[kind].deletion, owner.rid, { key: ownerKey(domainId, kind, owner.name) });
}

/** ListUserProfiles / ListSpaces: one page of the domain's profiles or spaces whose name contains `contains`. */
function ownersPage(ctx: Ctx, kind: OwnerKind, domainIdEquals: string | undefined, contains: string | undefined, input: { NextToken?: string; MaxResults?: number; SortOrder?: string; SortBy?: string }) {
  const all = [...ctx.state.owners.values()].filter(
    (o) =>
      o.kind === kind &&
      (domainIdEquals === undefined || o.domainId === domainIdEquals) &&
      (contains === undefined || o.name.toLowerCase().includes(contains.toLowerCase())),
  );
  return pageOf(ctx, all, input, (o) => o.lastModifiedMs);
}

/** The fields DescribeUserProfile and DescribeSpace share. */
function describeOwner(ctx: Ctx, o: HomeOwner) {
  const { status, failureReason } = ownerStatus(ctx, o);
  return {
    DomainId: o.domainId,
    HomeEfsFileSystemUid: o.homeUid,
    Status: status,
    LastModifiedTime: new Date(o.lastModifiedMs),
    CreationTime: new Date(o.createdAtMs),
    ...(failureReason ? { FailureReason: failureReason } : {}),
  };
}

/** The fields a ListUserProfiles and a ListSpaces entry share. */
function ownerSummary(ctx: Ctx, o: HomeOwner) {
  return { DomainId: o.domainId, Status: ownerStatus(ctx, o).status, CreationTime: new Date(o.createdAtMs), LastModifiedTime: new Date(o.lastModifiedMs) };
}

function appKey(domainId: string, kind: OwnerKind, ownerName: string, appType: string, appName: string): string {
  return `${domainId}/${kind}/${ownerName.toLowerCase()}/${appType}/${appName.toLowerCase()}`;
}

/** The app a request names: exactly one of UserProfileName and SpaceName. */
function appOwnerOf(ctx: Ctx, input: { UserProfileName?: string; SpaceName?: string }): { kind: OwnerKind; name: string } {
  if ((input.UserProfileName === undefined) === (input.SpaceName === undefined)) {
    throw ctx.error('ValidationException', 'Exactly one of UserProfileName or SpaceName must be specified.');
  }
  return input.UserProfileName !== undefined ? { kind: 'user-profile', name: input.UserProfileName } : { kind: 'space', name: input.SpaceName as string };
}

function describeApp(ctx: Ctx, a: App) {
  const { status, failureReason } = appStatus(ctx, a);
  return {
    AppArn: a.arn,
    AppType: a.appType,
    AppName: a.appName,
    DomainId: a.domainId,
    ...(a.ownerKind === 'user-profile' ? { UserProfileName: a.ownerName } : { SpaceName: a.ownerName }),
    Status: status,
    ...(a.recoveryMode !== undefined ? { RecoveryMode: a.recoveryMode } : {}),
    CreationTime: new Date(a.createdAtMs),
    ...(status === 'InService' ? { LastHealthCheckTimestamp: ctx.now(), LastUserActivityTimestamp: new Date(a.createdAtMs) } : {}),
    ...(failureReason ? { FailureReason: failureReason } : {}),
    ...(a.resourceSpec ? { ResourceSpec: a.resourceSpec } : {}),
  };
}

export const sagemaker = defineService<SageMakerState>({
  name: 'sagemaker',
  protocol: 'awsJson1_1',
  targetPrefix: 'SageMaker',
  persistentClasses: WORLD_CLASSES,
  lifecycles: [domainCreation, domainDeletion, userProfileCreation, userProfileDeletion, spaceCreation, spaceDeletion, appCreation, appDeletion, processingLifecycle, featureGroupCreation, featureGroupDeletion, transformLifecycle],
  createState: (scope) => ({ world: worldOf(scope), domains: new Map(), owners: new Map(), apps: new Map(), quotas: { ...DEFAULT_QUOTAS }, processing: createProcessingState(scope), featureStore: featureStoreOf(scope), automl: createAutoMLState(scope) }),
  advance: advanceProcessing,
  nextWakeMs: nextProcessingWake,
  operations: {
    ...processingOperations,
    ...featureGroupOperations,
    ...automlOperations,
    CreateDomain: operation({
      input: z.looseObject({
        DomainName: name('DomainName'),
        AuthMode: z.enum(['SSO', 'IAM']),
        DefaultUserSettings: z.looseObject({}),
        DomainSettings: z.looseObject({}).optional(),
        SubnetIds: z.array(z.string().max(32)).min(1).max(16).optional(),
        VpcId: z.string().max(32).optional(),
        Tags: tags,
        AppNetworkAccessType: z.enum(['PublicInternetOnly', 'VpcOnly']).optional(),
        KmsKeyId: z.string().max(2048).optional(),
        DefaultSpaceSettings: z.looseObject({}).optional(),
      }),
      handler(input, ctx: Ctx) {
        const { world, quotas } = ctx.state;
        const live = ctx.state.domains.size;
        if (live >= quotas.domainsPerRegion) throw quotaExceeded(ctx, 'Maximum number of domains per region', quotas.domainsPerRegion, live, 'Domains');
        // Without VpcId / SubnetIds the emulator uses the default VPC (AWS requires them outside Unified Studio).
        const vpcId = input.VpcId ?? DEFAULT_VPC_ID;
        const subnetIds = input.SubnetIds ?? [...DEFAULT_SUBNET_IDS];
        if (!world.ec2.vpcs.has(vpcId)) throw ctx.error('ValidationException', `VPC ${vpcId} does not exist.`);
        for (const id of subnetIds) {
          const subnet = world.ec2.subnets.get(id);
          if (!subnet) throw ctx.error('ValidationException', `Subnet ${id} does not exist.`);
          if (subnet.vpcId !== vpcId) throw ctx.error('ValidationException', `Subnet ${id} does not belong to VPC ${vpcId}.`);
        }
        const id = newId('d-', 12);
        const arn = ctx.arn(`domain/${id}`);
        const now = ctx.nowMs();
        // What Studio provisions with a domain: NFS security groups, the home file system and a mount target per subnet.
        const inbound = world.ec2.createSecurityGroup({ groupName: `security-group-for-inbound-nfs-${id}`, description: `[DO NOT DELETE] Security Group that allows inbound NFS traffic for SageMaker Notebooks Domain [${id}]`, vpcId, tags: [{ Key: 'ManagedByAmazonSageMakerResource', Value: arn }] });
        const outbound = world.ec2.createSecurityGroup({ groupName: `security-group-for-outbound-nfs-${id}`, description: `[DO NOT DELETE] Security Group that allows outbound NFS traffic for SageMaker Notebooks Domain [${id}]`, vpcId, tags: [{ Key: 'ManagedByAmazonSageMakerResource', Value: arn }] });
        outbound.egress = [];
        world.ec2.authorize(outbound.groupId, 'egress', [{ protocol: 'tcp', fromPort: NFS_PORT, toPort: NFS_PORT, cidrs: [], groups: [{ groupId: inbound.groupId }] }]);
        world.ec2.authorize(inbound.groupId, 'ingress', [{ protocol: 'tcp', fromPort: NFS_PORT, toPort: NFS_PORT, cidrs: [], groups: [{ groupId: outbound.groupId }] }]);
        const fs = world.efs.createFileSystem(
          { creationToken: newId('', 32), encrypted: true, ...(input.KmsKeyId ? { kmsKeyId: input.KmsKeyId } : {}), tags: [{ Key: 'ManagedByAmazonSageMakerResource', Value: arn }] },
          { region: ctx.region, accountId: ctx.accountId, nowMs: now },
        );
        const seenAz = new Set<string>();
        for (const subnetId of subnetIds) {
          const az = world.ec2.subnets.get(subnetId)?.azLetter;
          if (az === undefined || seenAz.has(az)) continue;
          seenAz.add(az);
          world.efs.createMountTarget({ fileSystemId: fs.fileSystemId, subnetId, securityGroups: [inbound.groupId] });
        }
        const domain: Domain = {
          rid: id,
          domainId: id,
          domainName: input.DomainName,
          arn,
          authMode: input.AuthMode,
          vpcId,
          subnetIds,
          appNetworkAccessType: input.AppNetworkAccessType ?? 'PublicInternetOnly',
          defaultUserSettings: input.DefaultUserSettings,
          ...(input.DomainSettings ? { domainSettings: input.DomainSettings } : {}),
          ...(input.DefaultSpaceSettings ? { defaultSpaceSettings: input.DefaultSpaceSettings } : {}),
          ...(input.KmsKeyId ? { kmsKeyId: input.KmsKeyId } : {}),
          tags: input.Tags ?? [],
          createdAtMs: now,
          lastModifiedMs: now,
          homeEfsFileSystemId: fs.fileSystemId,
          inboundNfsSecurityGroupId: inbound.groupId,
          outboundNfsSecurityGroupId: outbound.groupId,
          nextUid: FIRST_HOME_UID,
        };
        ctx.state.domains.set(id, domain);
        ctx.jobs.start(domainCreation, domain.rid, { domainId: id });
        return { DomainArn: arn, DomainId: id, Url: `https://${id}.studio.${ctx.region}.sagemaker.aws` };
      },
    }),
    DescribeDomain: operation({
      input: z.looseObject({ DomainId: domainId }),
      handler(input, ctx: Ctx) {
        const d = requireDomain(ctx, input.DomainId);
        const { status, failureReason } = domainStatus(ctx, d);
        return {
          DomainArn: d.arn,
          DomainId: d.domainId,
          DomainName: d.domainName,
          HomeEfsFileSystemId: d.homeEfsFileSystemId,
          Status: status,
          CreationTime: new Date(d.createdAtMs),
          LastModifiedTime: new Date(d.lastModifiedMs),
          ...(failureReason ? { FailureReason: failureReason } : {}),
          AuthMode: d.authMode,
          DefaultUserSettings: d.defaultUserSettings,
          ...(d.domainSettings ? { DomainSettings: d.domainSettings } : {}),
          AppNetworkAccessType: d.appNetworkAccessType,
          SubnetIds: d.subnetIds,
          Url: `https://${d.domainId}.studio.${ctx.region}.sagemaker.aws`,
          VpcId: d.vpcId,
          ...(d.kmsKeyId ? { KmsKeyId: d.kmsKeyId } : {}),
          ...(d.defaultSpaceSettings ? { DefaultSpaceSettings: d.defaultSpaceSettings } : {}),
        };
      },
    }),
    ListDomains: operation({
      input: z.looseObject({ NextToken: listInput.NextToken, MaxResults: listInput.MaxResults }),
      handler(input, ctx: Ctx) {
        const page = pageOf(ctx, [...ctx.state.domains.values()], input);
        return {
          Domains: page.items.map((d) => ({
            DomainArn: d.arn,
            DomainId: d.domainId,
            DomainName: d.domainName,
            Status: domainStatus(ctx, d).status,
            CreationTime: new Date(d.createdAtMs),
            LastModifiedTime: new Date(d.lastModifiedMs),
            Url: `https://${d.domainId}.studio.${ctx.region}.sagemaker.aws`,
          })),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    DeleteDomain: operation({
      input: z.looseObject({ DomainId: domainId, RetentionPolicy: z.looseObject({ HomeEfsFileSystem: z.enum(['Retain', 'Delete']).optional() }).optional() }),
      handler(input, ctx: Ctx) {
        const d = requireDomain(ctx, input.DomainId);
        const status = domainStatus(ctx, d).status;
        if (status === 'Deleting') throw ctx.error('ResourceInUse', `Domain ${d.arn} is already being deleted.`);
        const members = [...ctx.state.owners.values()].filter((o) => o.domainId === d.domainId);
        if (members.some((o) => o.kind === 'user-profile')) throw ctx.error('ResourceInUse', `Unable to delete Domain [${d.arn}] because UserProfile(s) are associated with it.`);
        if (members.length > 0) throw ctx.error('ResourceInUse', `Unable to delete Domain [${d.arn}] because Space(s) are associated with it.`);
        if ([...ctx.state.apps.values()].some((a) => a.domainId === d.domainId && liveApp(ctx, a))) {
          throw ctx.error('ResourceInUse', `Unable to delete Domain [${d.arn}] because App(s) are associated with it.`);
        }
        d.retainHomeEfs = (input.RetentionPolicy?.HomeEfsFileSystem ?? 'Retain') === 'Retain';
        d.lastModifiedMs = ctx.nowMs();
        ctx.jobs.start(domainDeletion, d.rid, { domainId: d.domainId });
        return {};
      },
    }),
    CreateUserProfile: operation({
      input: z.looseObject({
        DomainId: domainId,
        UserProfileName: name('UserProfileName'),
        SingleSignOnUserIdentifier: z.string().optional(),
        SingleSignOnUserValue: z.string().optional(),
        Tags: tags,
        UserSettings: z.looseObject({}).optional(),
      }),
      handler(input, ctx: Ctx) {
        const owner = createOwner(ctx, 'user-profile', { DomainId: input.DomainId, Name: input.UserProfileName, Tags: input.Tags }, {
          ...(input.UserSettings ? { settings: input.UserSettings } : {}),
          ...(input.SingleSignOnUserIdentifier || input.SingleSignOnUserValue ? { singleSignOn: { identifier: input.SingleSignOnUserIdentifier, value: input.SingleSignOnUserValue } } : {}),
        });
        return { UserProfileArn: owner.arn };
      },
    }),
    DescribeUserProfile: operation({
      input: z.looseObject({ DomainId: domainId, UserProfileName: name('UserProfileName') }),
      handler(input, ctx: Ctx) {
        const o = requireOwner(ctx, input.DomainId, 'user-profile', input.UserProfileName);
        return {
          ...describeOwner(ctx, o),
          UserProfileArn: o.arn,
          UserProfileName: o.name,
          ...(o.singleSignOn?.identifier ? { SingleSignOnUserIdentifier: o.singleSignOn.identifier } : {}),
          ...(o.singleSignOn?.value ? { SingleSignOnUserValue: o.singleSignOn.value } : {}),
          ...(o.settings ? { UserSettings: o.settings } : {}),
        };
      },
    }),
    ListUserProfiles: operation({
      input: z.looseObject({
        ...listInput,
        SortBy: z.enum(['CreationTime', 'LastModifiedTime']).optional(),
        DomainIdEquals: z.string().optional(),
        UserProfileNameContains: z.string().optional(),
      }),
      handler(input, ctx: Ctx) {
        const page = ownersPage(ctx, 'user-profile', input.DomainIdEquals, input.UserProfileNameContains, input);
        return {
          UserProfiles: page.items.map((o) => ({ ...ownerSummary(ctx, o), UserProfileName: o.name })),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    DeleteUserProfile: operation({
      input: z.looseObject({ DomainId: domainId, UserProfileName: name('UserProfileName') }),
      handler(input, ctx: Ctx) {
        deleteOwner(ctx, input.DomainId, 'user-profile', input.UserProfileName);
        return {};
      },
    }),
    CreateSpace: operation({
      input: z.looseObject({
        DomainId: domainId,
        SpaceName: name('SpaceName'),
        Tags: tags,
        SpaceSettings: z.looseObject({ AppType: z.enum(APP_TYPES).optional() }).optional(),
        OwnershipSettings: z.looseObject({ OwnerUserProfileName: name('OwnerUserProfileName') }).optional(),
        SpaceSharingSettings: z.looseObject({ SharingType: z.enum(['Private', 'Shared']) }).optional(),
        SpaceDisplayName: z.string().max(64).optional(),
      }),
      handler(input, ctx: Ctx) {
        if (input.SpaceSharingSettings && !input.OwnershipSettings) {
          throw ctx.error('ValidationException', 'OwnershipSettings must be specified when SpaceSharingSettings is specified.');
        }
        const ownerName = input.OwnershipSettings?.OwnerUserProfileName;
        if (ownerName !== undefined) requireOwner(ctx, input.DomainId, 'user-profile', ownerName);
        const owner = createOwner(ctx, 'space', { DomainId: input.DomainId, Name: input.SpaceName, Tags: input.Tags }, {
          ...(input.SpaceSettings ? { settings: input.SpaceSettings } : {}),
          ...(input.OwnershipSettings ? { ownershipSettings: input.OwnershipSettings } : {}),
          ...(input.SpaceSharingSettings ? { spaceSharingSettings: input.SpaceSharingSettings } : {}),
          ...(input.SpaceDisplayName ? { spaceDisplayName: input.SpaceDisplayName } : {}),
        });
        return { SpaceArn: owner.arn };
      },
    }),
    DescribeSpace: operation({
      input: z.looseObject({ DomainId: domainId, SpaceName: name('SpaceName') }),
      handler(input, ctx: Ctx) {
        const o = requireOwner(ctx, input.DomainId, 'space', input.SpaceName);
        return {
          ...describeOwner(ctx, o),
          SpaceArn: o.arn,
          SpaceName: o.name,
          ...(o.settings ? { SpaceSettings: o.settings } : {}),
          ...(o.ownershipSettings ? { OwnershipSettings: o.ownershipSettings } : {}),
          ...(o.spaceSharingSettings ? { SpaceSharingSettings: o.spaceSharingSettings } : {}),
          ...(o.spaceDisplayName ? { SpaceDisplayName: o.spaceDisplayName } : {}),
          Url: `https://${o.domainId}.studio.${ctx.region}.sagemaker.aws/jupyterlab/default`,
        };
      },
    }),
    ListSpaces: operation({
      input: z.looseObject({
        ...listInput,
        SortBy: z.enum(['CreationTime', 'LastModifiedTime']).optional(),
        DomainIdEquals: z.string().optional(),
        SpaceNameContains: z.string().optional(),
      }),
      handler(input, ctx: Ctx) {
        const page = ownersPage(ctx, 'space', input.DomainIdEquals, input.SpaceNameContains, input);
        return {
          Spaces: page.items.map((o) => {
            const settings = (o.settings ?? {}) as { AppType?: string };
            return {
              ...ownerSummary(ctx, o),
              SpaceName: o.name,
              ...(settings.AppType ? { SpaceSettingsSummary: { AppType: settings.AppType } } : {}),
              ...(o.spaceSharingSettings?.SharingType ? { SpaceSharingSettingsSummary: { SharingType: o.spaceSharingSettings.SharingType } } : {}),
              ...(o.ownershipSettings?.OwnerUserProfileName ? { OwnershipSettingsSummary: { OwnerUserProfileName: o.ownershipSettings.OwnerUserProfileName } } : {}),
              ...(o.spaceDisplayName ? { SpaceDisplayName: o.spaceDisplayName } : {}),
            };
          }),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    DeleteSpace: operation({
      input: z.looseObject({ DomainId: domainId, SpaceName: name('SpaceName') }),
      handler(input, ctx: Ctx) {
        deleteOwner(ctx, input.DomainId, 'space', input.SpaceName);
        return {};
      },
    }),
    CreateApp: operation({
      input: z.looseObject({
        DomainId: domainId,
        UserProfileName: name('UserProfileName').optional(),
        SpaceName: name('SpaceName').optional(),
        AppType: z.enum(APP_TYPES),
        AppName: name('AppName'),
        Tags: tags,
        ResourceSpec: z.looseObject({}).optional(),
        RecoveryMode: z.boolean().optional(),
      }),
      handler(input, ctx: Ctx) {
        const who = appOwnerOf(ctx, input);
        usableDomain(ctx, input.DomainId);
        const owner = requireOwner(ctx, input.DomainId, who.kind, who.name);
        if (owner.deleting) throw ctx.error('ResourceInUse', `${OWNER_KINDS[who.kind].word} ${owner.arn} is being deleted.`);
        const key = appKey(input.DomainId, who.kind, who.name, input.AppType, input.AppName);
        const arn = ctx.arn(`app/${input.DomainId}/${owner.name.toLowerCase()}/${input.AppType.toLowerCase()}/${input.AppName.toLowerCase()}`);
        const existing = ctx.state.apps.get(key);
        if (existing && liveApp(ctx, existing)) throw ctx.error('ResourceInUse', `App ${arn} already exists`);
        const running = liveAppsOf(ctx, input.DomainId, who.kind, who.name).length;
        if (running >= ctx.state.quotas.appsPerOwner) throw quotaExceeded(ctx, 'Maximum number of running apps per user profile or space', ctx.state.quotas.appsPerOwner, running, 'Apps');
        const app: App = {
          rid: arn,
          domainId: input.DomainId,
          ownerKind: who.kind,
          ownerName: owner.name,
          homeUid: owner.homeUid,
          appType: input.AppType,
          appName: input.AppName,
          arn,
          createdAtMs: ctx.nowMs(),
          ...(input.ResourceSpec ? { resourceSpec: input.ResourceSpec } : {}),
          ...(input.RecoveryMode !== undefined ? { recoveryMode: input.RecoveryMode } : {}),
          tags: input.Tags ?? [],
          deleting: false,
        };
        ctx.state.apps.set(key, app);
        ctx.jobs.remove(appDeletion.kind, app.rid);
        ctx.jobs.start(appCreation, app.rid, { appKey: key });
        return { AppArn: arn };
      },
    }),
    DescribeApp: operation({
      input: z.looseObject({
        DomainId: domainId,
        UserProfileName: name('UserProfileName').optional(),
        SpaceName: name('SpaceName').optional(),
        AppType: z.enum(APP_TYPES),
        AppName: name('AppName'),
      }),
      handler(input, ctx: Ctx) {
        const who = appOwnerOf(ctx, input);
        const app = ctx.state.apps.get(appKey(input.DomainId, who.kind, who.name, input.AppType, input.AppName));
        if (!app) {
          const arn = ctx.arn(`app/${input.DomainId}/${who.name.toLowerCase()}/${input.AppType.toLowerCase()}/${input.AppName.toLowerCase()}`);
          throw ctx.error('ResourceNotFound', `App ${arn} does not exist.`);
        }
        return describeApp(ctx, app);
      },
    }),
    ListApps: operation({
      input: z.looseObject({
        ...listInput,
        SortBy: z.enum(['CreationTime']).optional(),
        DomainIdEquals: z.string().optional(),
        UserProfileNameEquals: z.string().optional(),
        SpaceNameEquals: z.string().optional(),
      }),
      handler(input, ctx: Ctx) {
        if (input.UserProfileNameEquals !== undefined && input.SpaceNameEquals !== undefined) {
          throw ctx.error('ValidationException', 'Only one of UserProfileNameEquals or SpaceNameEquals can be specified.');
        }
        const all = [...ctx.state.apps.values()].filter(
          (a) =>
            (input.DomainIdEquals === undefined || a.domainId === input.DomainIdEquals) &&
            (input.UserProfileNameEquals === undefined || (a.ownerKind === 'user-profile' && a.ownerName.toLowerCase() === input.UserProfileNameEquals.toLowerCase())) &&
            (input.SpaceNameEquals === undefined || (a.ownerKind === 'space' && a.ownerName.toLowerCase() === input.SpaceNameEquals.toLowerCase())),
        );
        const page = pageOf(ctx, all, input);
        return {
          Apps: page.items.map((a) => ({
            DomainId: a.domainId,
            ...(a.ownerKind === 'user-profile' ? { UserProfileName: a.ownerName } : { SpaceName: a.ownerName }),
            AppType: a.appType,
            AppName: a.appName,
            Status: appStatus(ctx, a).status,
            CreationTime: new Date(a.createdAtMs),
            ...(a.resourceSpec ? { ResourceSpec: a.resourceSpec } : {}),
          })),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    DeleteApp: operation({
      input: z.looseObject({
        DomainId: domainId,
        UserProfileName: name('UserProfileName').optional(),
        SpaceName: name('SpaceName').optional(),
        AppType: z.enum(APP_TYPES),
        AppName: name('AppName'),
      }),
      handler(input, ctx: Ctx) {
        const who = appOwnerOf(ctx, input);
        const app = ctx.state.apps.get(appKey(input.DomainId, who.kind, who.name, input.AppType, input.AppName));
        const arn = ctx.arn(`app/${input.DomainId}/${who.name.toLowerCase()}/${input.AppType.toLowerCase()}/${input.AppName.toLowerCase()}`);
        if (!app || appStatus(ctx, app).status === 'Deleted') throw ctx.error('ResourceNotFound', `App ${arn} does not exist.`);
        if (app.deleting) throw ctx.error('ResourceInUse', `App ${arn} is already being deleted.`);
        app.deleting = true;
        ctx.jobs.start(appDeletion, app.rid, { appKey: appKey(input.DomainId, who.kind, who.name, input.AppType, input.AppName) });
        return {};
      },
    }),
  },
  control: [
    ...processingControl,
    {
      method: 'GET',
      path: '/domains',
      description: 'every domain with its status, file system, NFS security groups, profiles, spaces and apps',
      handler: (_req, ctx) => ({
        domains: [...ctx.state.domains.values()].map((d) => ({
          domainId: d.domainId,
          domainName: d.domainName,
          status: domainStatus(ctx, d).status,
          homeEfsFileSystemId: d.homeEfsFileSystemId,
          inboundNfsSecurityGroupId: d.inboundNfsSecurityGroupId,
          outboundNfsSecurityGroupId: d.outboundNfsSecurityGroupId,
          owners: [...ctx.state.owners.values()]
            .filter((o) => o.domainId === d.domainId)
            .map((o) => ({ kind: o.kind, name: o.name, homeEfsFileSystemUid: o.homeUid, status: ownerStatus(ctx, o).status })),
          apps: [...ctx.state.apps.values()]
            .filter((a) => a.domainId === d.domainId)
            .map((a) => ({ ownerKind: a.ownerKind, ownerName: a.ownerName, appType: a.appType, appName: a.appName, status: appStatus(ctx, a).status })),
        })),
      }),
    },
    {
      method: 'GET',
      path: '/quotas',
      description: 'the service quotas the emulator enforces (ResourceLimitExceeded)',
      handler: (_req, ctx) => ctx.state.quotas,
    },
    {
      method: 'PUT',
      path: '/quotas',
      description: 'changes quotas: { domainsPerRegion?, userProfilesPerDomain?, spacesPerDomain?, appsPerOwner? }',
      handler: (req, ctx) => {
        const parsed = z
          .object({
            domainsPerRegion: z.number().int().nonnegative().optional(),
            userProfilesPerDomain: z.number().int().nonnegative().optional(),
            spacesPerDomain: z.number().int().nonnegative().optional(),
            appsPerOwner: z.number().int().nonnegative().optional(),
          })
          .strict()
          .safeParse(req.body ?? {});
        if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
        Object.assign(ctx.state.quotas, parsed.data);
        return ctx.state.quotas;
      },
    },
  ],
});
