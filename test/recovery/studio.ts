/**
 * What a Studio administrator and users do, against the emulator through the real SDK clients: domains,
 * profiles and spaces with their apps, files in home directories (through the emulator's EFS control API).
 */
import {
  CreateAppCommand,
  CreateDomainCommand,
  CreateSpaceCommand,
  CreateUserProfileCommand,
  DeleteAppCommand,
  DeleteDomainCommand,
  DeleteSpaceCommand,
  DeleteUserProfileCommand,
  DescribeDomainCommand,
  DescribeSpaceCommand,
  DescribeUserProfileCommand,
} from '@aws-sdk/client-sagemaker';
import { DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand } from '@aws-sdk/client-efs';
import type { ProfileKind } from '../../workflows/recovery/model';
import type { RecoveryStack } from './harness';

export interface DataSyncStats {
  liveTasks: number;
  liveLocations: number;
  maxLiveTasks: number;
  tasksCreated: number;
  tasksDeleted: number;
  locationsCreated: number;
  executionsStarted: number;
}

export interface Domain {
  domainId: string;
  name: string;
  efsId: string;
}

/** Needs the emulator's clients and endpoint, and a way to let (emulated) time pass. */
export function studio(stack: Pick<RecoveryStack, 'aws' | 'endpoint' | 'sleep'>) {
  const aws = stack.aws!;
  const endpoint = stack.endpoint!;

  async function control<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${endpoint}/_emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async function createDomain(name: string): Promise<Domain> {
    const { DomainId } = await aws.sagemaker.send(
      new CreateDomainCommand({ DomainName: name, AuthMode: 'IAM', DefaultUserSettings: { ExecutionRole: 'arn:aws:iam::123456789012:role/studio' } }),
    );
    await stack.sleep(5 * 60_000);
    const d = await aws.sagemaker.send(new DescribeDomainCommand({ DomainId }));
    return { domainId: DomainId!, name, efsId: d.HomeEfsFileSystemId! };
  }

  /** The security group of the file system's mount targets: DataSync's interfaces get it, so it must allow NFS from itself. */
  async function mountTargetGroup(efsId: string): Promise<string> {
    const mts = await aws.efs.send(new DescribeMountTargetsCommand({ FileSystemId: efsId }));
    const sgs = await aws.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mts.MountTargets?.[0]?.MountTargetId }));
    return sgs.SecurityGroups![0]!;
  }

  const appOf = (kind: ProfileKind, name: string) =>
    kind === 'user-profile' ? { UserProfileName: name, AppType: 'JupyterServer' as const, AppName: 'default' } : { SpaceName: name, AppType: 'JupyterLab' as const, AppName: 'default' };

  /** Creates the profile or space (CloudTrail tells the gateway) and, unless told not to, starts its first app. */
  async function create(d: Domain, kind: ProfileKind, name: string, opts: { app?: boolean } = {}): Promise<void> {
    if (kind === 'user-profile') await aws.sagemaker.send(new CreateUserProfileCommand({ DomainId: d.domainId, UserProfileName: name }));
    else await aws.sagemaker.send(new CreateSpaceCommand({ DomainId: d.domainId, SpaceName: name }));
    if (opts.app !== false) await startApp(d, kind, name);
  }

  async function startApp(d: Domain, kind: ProfileKind, name: string): Promise<void> {
    await aws.sagemaker.send(new CreateAppCommand({ DomainId: d.domainId, ...appOf(kind, name) }));
  }

  async function homeUid(d: Domain, kind: ProfileKind, name: string): Promise<string> {
    const r =
      kind === 'user-profile'
        ? await aws.sagemaker.send(new DescribeUserProfileCommand({ DomainId: d.domainId, UserProfileName: name }))
        : await aws.sagemaker.send(new DescribeSpaceCommand({ DomainId: d.domainId, SpaceName: name }));
    return r.HomeEfsFileSystemUid!;
  }

  /** Stops the app, then deletes the profile or space, waiting (virtually) for each step as an administrator would. */
  async function remove(d: Domain, kind: ProfileKind, name: string): Promise<void> {
    await aws.sagemaker.send(new DeleteAppCommand({ DomainId: d.domainId, ...appOf(kind, name) }));
    await stack.sleep(2 * 60_000);
    if (kind === 'user-profile') await aws.sagemaker.send(new DeleteUserProfileCommand({ DomainId: d.domainId, UserProfileName: name }));
    else await aws.sagemaker.send(new DeleteSpaceCommand({ DomainId: d.domainId, SpaceName: name }));
    await stack.sleep(60_000);
  }

  async function deleteDomainRetainingHomes(d: Domain): Promise<void> {
    await aws.sagemaker.send(new DeleteDomainCommand({ DomainId: d.domainId, RetentionPolicy: { HomeEfsFileSystem: 'Retain' } }));
    await stack.sleep(4 * 60_000);
  }

  async function writeFile(efsId: string, path: string, text: string, uid: number): Promise<void> {
    const r = await control('PUT', `/services/efs/file-systems/${efsId}/files?path=${encodeURIComponent(path)}`, { text, uid, gid: 1001, mode: '0644' });
    if (r.status !== 200) throw new Error(`writing ${path}: ${JSON.stringify(r.body)}`);
  }

  /** Paths of the regular files under a home directory, relative to it, with their text. */
  async function homeFiles(efsId: string, uid: string): Promise<Record<string, string>> {
    const r = await control<{ entries: { path: string; type: string }[] }>('GET', `/services/efs/file-systems/${efsId}/tree?prefix=${encodeURIComponent(`/${uid}/`)}`);
    const out: Record<string, string> = {};
    for (const e of r.body.entries.filter((x) => x.type === 'file')) {
      const f = await control<{ contentBase64: string }>('GET', `/services/efs/file-systems/${efsId}/files?path=${encodeURIComponent(e.path)}`);
      out[e.path.slice(uid.length + 2)] = Buffer.from(f.body.contentBase64, 'base64').toString('utf8');
    }
    return out;
  }

  async function dataSyncStats(): Promise<DataSyncStats> {
    return (await control<DataSyncStats>('GET', '/services/datasync/stats')).body;
  }

  return { control, createDomain, mountTargetGroup, create, startApp, homeUid, remove, deleteDomainRetainingHomes, writeFile, homeFiles, dataSyncStats };
}
