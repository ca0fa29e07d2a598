import {
  CreateLocationEfsCommand,
  ListLocationsCommand,
  ListTagsForResourceCommand,
  ListTaskExecutionsCommand,
  ListTasksCommand,
  type DataSyncClient,
  type LocationListEntry,
  type Options as DataSyncOptions,
} from '@aws-sdk/client-datasync';
import { DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeFileSystemsCommand, DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand, type EFSClient } from '@aws-sdk/client-efs';
import { RecoveryFailure, recoveryFailure } from '../../workflows/recovery/failures';
import type { HomeDirectory } from '../../workflows/recovery/model';
import { aws, classifyAwsError, isAlreadyDeleted } from './aws-errors';
import { allPages } from './paging';

/** Tag keys that let a retried or crashed restore find the DataSync resources it created. */
export const RESTORE_TAG = 'mlops:restore';
export const ROLE_TAG = 'mlops:role';
/** On a restore's task: the run of the restore workflow that created it (a restore id can be used again). */
export const RESTORE_RUN_TAG = 'mlops:restore-run';

export function transferTaskName(restoreId: string): string {
  return `mlops-restore:${restoreId}`;
}

/**
 * Restores must never clobber what the user already wrote in the new home (NEVER overwrite), must not delete
 * anything there, and must keep POSIX owners and modes so Studio's user (uid 200001) can read its files.
 */
export const RESTORE_TASK_OPTIONS: DataSyncOptions = {
  VerifyMode: 'ONLY_FILES_TRANSFERRED',
  OverwriteMode: 'NEVER',
  PreserveDeletedFiles: 'PRESERVE',
  TransferMode: 'CHANGED',
  PosixPermissions: 'PRESERVE',
  Uid: 'INT_VALUE',
  Gid: 'INT_VALUE',
  LogLevel: 'OFF',
};

function parseArn(arn: string): { partition: string; region: string; account: string } {
  const [, partition, , region, account] = arn.split(':');
  return { partition: partition ?? 'aws', region: region ?? '', account: account ?? '' };
}

/**
 * A restore's DataSync resources, found again by name and tags after a retry or a crash (DataSync has no
 * idempotency token), and created when missing.
 */
export function dataSyncResources(datasync: DataSyncClient, datasyncCreates: DataSyncClient, efs: EFSClient, ec2: EC2Client, dataSyncSecurityGroupId?: string) {
  /**
   * The security group DataSync's network interfaces get. An operator-chosen group (MLOPS_DATASYNC_SECURITY_GROUP,
   * opened on each file system with `mlops recovery grant-access`) wins. Otherwise Studio's own
   * `security-group-for-outbound-nfs-<domain>`, which the domain's mount targets already admit on port 2049, so a
   * recreated domain's new file system needs no grant before its first restore. Failing both, the mount target's
   * own groups, which need `grant-access` from themselves.
   */
  async function dataSyncGroups(domainId: string, vpcId: string | undefined, mountTargetGroups: string[]): Promise<string[]> {
    if (dataSyncSecurityGroupId) return [dataSyncSecurityGroupId];
    const found = await aws(`DescribeSecurityGroups security-group-for-outbound-nfs-${domainId}`, () =>
      ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'group-name', Values: [`security-group-for-outbound-nfs-${domainId}`] },
            ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
          ],
        }),
      ),
    );
    const studioOutbound = found.SecurityGroups?.[0]?.GroupId;
    return studioOutbound ? [studioOutbound] : mountTargetGroups;
  }

  /** Where DataSync's network interfaces go to reach the file system: a mount target's subnet, and a group it admits. */
  async function efsLocationConfig(h: HomeDirectory): Promise<{ fileSystemArn: string; subnetArn: string; securityGroupArns: string[] }> {
    const efsId = h.efsId;
    const fs = await aws(`DescribeFileSystems ${efsId}`, () => efs.send(new DescribeFileSystemsCommand({ FileSystemId: efsId })), RecoveryFailure.FileSystemNotFound);
    const fileSystemArn = fs.FileSystems?.[0]?.FileSystemArn;
    if (!fileSystemArn) throw recoveryFailure(RecoveryFailure.FileSystemNotFound, `file system ${efsId} not found`);
    const mts = await aws(`DescribeMountTargets ${efsId}`, () => efs.send(new DescribeMountTargetsCommand({ FileSystemId: efsId })), RecoveryFailure.FileSystemNotFound);
    const mt = (mts.MountTargets ?? []).find((m) => m.LifeCycleState === 'available') ?? mts.MountTargets?.[0];
    if (!mt?.MountTargetId || !mt.SubnetId) throw recoveryFailure(RecoveryFailure.FileSystemNotFound, `file system ${efsId} has no mount target`);
    const sgs = await aws(
      `DescribeMountTargetSecurityGroups ${mt.MountTargetId}`,
      () => efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mt.MountTargetId })),
      RecoveryFailure.FileSystemNotFound,
    );
    const { partition, region, account } = parseArn(fileSystemArn);
    const ec2Arn = (what: string) => `arn:${partition}:ec2:${region}:${account}:${what}`;
    return {
      fileSystemArn,
      subnetArn: ec2Arn(`subnet/${mt.SubnetId}`),
      securityGroupArns: (await dataSyncGroups(h.domainId, mt.VpcId, sgs.SecurityGroups ?? [])).map((sg) => ec2Arn(`security-group/${sg}`)),
    };
  }

  /** A resource's tags; none when it was deleted since it was listed (another restore's cleanup): not ours then. */
  async function tagsOf(arn: string): Promise<Record<string, string>> {
    let r;
    try {
      r = await datasync.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
    } catch (err) {
      if (isAlreadyDeleted(err)) return {};
      throw classifyAwsError(err, `ListTagsForResource ${arn}`);
    }
    return Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  async function listLocations() {
    return await allPages(async (token) => {
      const r = await aws('ListLocations', () => datasync.send(new ListLocationsCommand({ NextToken: token, MaxResults: 100 })));
      return { items: r.Locations ?? [], next: r.NextToken };
    });
  }

  /** Locations this restore created for one home: matched by URI first (cheap), then by tags (ours for sure). */
  async function findLocations(restoreId: string, role: 'source' | 'destination', h: HomeDirectory, listed?: LocationListEntry[]): Promise<string[]> {
    const locations = listed ?? (await listLocations());
    const candidates = locations.filter((l) => l.LocationArn && l.LocationUri?.includes(h.efsId) && l.LocationUri.replace(/\/+$/, '').endsWith(`/${h.homeUid}`));
    const mine: string[] = [];
    for (const c of candidates) {
      const tags = await tagsOf(c.LocationArn!);
      if (tags[RESTORE_TAG] === restoreId && tags[ROLE_TAG] === role) mine.push(c.LocationArn!);
    }
    return mine;
  }

  /**
   * Both locations of a restore, found (a retry, a crash) or created. One listing serves both, and the network
   * settings of a file system are looked up once when both homes are on it (the usual case): fewer calls while a
   * slot is held.
   */
  async function findOrCreateLocations(restoreId: string, from: HomeDirectory, to: HomeDirectory): Promise<{ sourceLocationArn: string; destinationLocationArn: string }> {
    const listed = await listLocations();
    const configs = new Map<string, ReturnType<typeof efsLocationConfig>>();
    const configOf = (h: HomeDirectory) => {
      const k = `${h.domainId}/${h.efsId}`;
      if (!configs.has(k)) configs.set(k, efsLocationConfig(h));
      return configs.get(k)!;
    };
    const one = async (role: 'source' | 'destination', h: HomeDirectory): Promise<string> => {
      const existing = await findLocations(restoreId, role, h, listed);
      if (existing[0]) return existing[0];
      const cfg = await configOf(h);
      const r = await aws(
        `CreateLocationEfs ${role} ${h.efsId}/${h.homeUid}`,
        () =>
          datasyncCreates.send(
            new CreateLocationEfsCommand({
              EfsFilesystemArn: cfg.fileSystemArn,
              Subdirectory: `/${h.homeUid}`,
              Ec2Config: { SubnetArn: cfg.subnetArn, SecurityGroupArns: cfg.securityGroupArns },
              Tags: [
                { Key: RESTORE_TAG, Value: restoreId },
                { Key: ROLE_TAG, Value: role },
              ],
            }),
          ),
        RecoveryFailure.FileSystemNotFound,
      );
      if (!r.LocationArn) throw recoveryFailure(RecoveryFailure.AwsUnavailable, 'CreateLocationEfs returned no LocationArn');
      return r.LocationArn;
    };
    return { sourceLocationArn: await one('source', from), destinationLocationArn: await one('destination', to) };
  }

  /**
   * This restore's tasks, sorted by ARN: one (creates are never retried by the SDK, and a retried activity adopts
   * the task a lost answer created); cleanup still deletes every one it finds, as a last line of defence.
   */
  async function findTasks(restoreId: string): Promise<string[]> {
    const name = transferTaskName(restoreId);
    const tasks = await allPages(async (token) => {
      const r = await aws('ListTasks', () => datasync.send(new ListTasksCommand({ NextToken: token, MaxResults: 100 })));
      return { items: r.Tasks ?? [], next: r.NextToken };
    });
    return tasks
      .filter((t) => t.Name === name && t.TaskArn)
      .map((t) => t.TaskArn!)
      .sort();
  }

  async function executionsOf(taskArn: string) {
    const r = await aws(`ListTaskExecutions ${taskArn}`, () => datasync.send(new ListTaskExecutionsCommand({ TaskArn: taskArn })));
    return r.TaskExecutions ?? [];
  }

  return { findLocations, findOrCreateLocations, findTasks, executionsOf, tagsOf };
}
