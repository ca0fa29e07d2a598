/**
 * Shared set-up of the recovery-services contract tests: an emulator on a virtual clock, fresh SDK clients, and the
 * few steps most tests start from (a domain, a profile with a running app, a file in a home directory).
 */
import { CreateAppCommand, CreateDomainCommand, CreateSpaceCommand, CreateUserProfileCommand, DescribeDomainCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DataSyncClient } from '@aws-sdk/client-datasync';
import { DescribeFileSystemsCommand, DescribeMountTargetsCommand, DescribeMountTargetSecurityGroupsCommand, EFSClient } from '@aws-sdk/client-efs';
import { AuthorizeSecurityGroupIngressCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { RunningEmulator } from '../../local/aws';
import { clientConfig, control, startTestEmulator } from '../aws/harness';

export interface TestStack {
  emu: RunningEmulator;
  sm: SageMakerClient;
  ds: DataSyncClient;
  efs: EFSClient;
  ec2: EC2Client;
  /** Moves the virtual clock forward (jobs move with it). */
  advance(ms: number): void;
  close(): Promise<void>;
}

export const START = Date.parse('2026-03-01T09:00:00Z');

export async function startStack(opts: { eventsTo?: string; eventsApiKey?: string } = {}): Promise<TestStack> {
  let now = START;
  const emu = await startTestEmulator({ clock: { now: () => now }, ...opts, eventRetryBaseMs: 10 });
  const config = clientConfig(emu.endpoint, 1);
  return {
    emu,
    sm: new SageMakerClient(config),
    ds: new DataSyncClient(config),
    efs: new EFSClient(config),
    ec2: new EC2Client(config),
    advance: (ms) => {
      now += ms;
      emu.emulator.jobs.advance();
    },
    close: () => emu.close(),
  };
}

export interface DomainInfo {
  domainId: string;
  efsId: string;
}

/** A domain in the default VPC, InService. */
export async function createDomain(s: TestStack, name: string): Promise<DomainInfo> {
  const { DomainId } = await s.sm.send(
    new CreateDomainCommand({ DomainName: name, AuthMode: 'IAM', DefaultUserSettings: { ExecutionRole: 'arn:aws:iam::123456789012:role/studio' } }),
  );
  s.advance(5 * 60_000);
  const d = await s.sm.send(new DescribeDomainCommand({ DomainId }));
  return { domainId: DomainId as string, efsId: d.HomeEfsFileSystemId as string };
}

/** Creates a user profile or space and starts an app for it; returns its HomeEfsFileSystemUid once the app runs. */
export async function createHome(s: TestStack, domainId: string, kind: 'user-profile' | 'space', name: string): Promise<string> {
  if (kind === 'user-profile') {
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: name }));
    await s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: name, AppType: 'JupyterServer', AppName: 'default' }));
  } else {
    await s.sm.send(new CreateSpaceCommand({ DomainId: domainId, SpaceName: name }));
    await s.sm.send(new CreateAppCommand({ DomainId: domainId, SpaceName: name, AppType: 'JupyterLab', AppName: 'default' }));
  }
  s.advance(3 * 60_000);
  const { body } = await control<{ domains: { domainId: string; owners: { kind: string; name: string; homeEfsFileSystemUid: string }[] }[] }>(
    s.emu.endpoint,
    'GET',
    '/services/sagemaker/domains',
  );
  const owner = body.domains.find((d) => d.domainId === domainId)?.owners.find((o) => o.kind === kind && o.name === name);
  if (!owner) throw new Error(`${kind} ${name} not found`);
  return owner.homeEfsFileSystemUid;
}

export async function writeFile(s: TestStack, efsId: string, path: string, text: string, meta: { uid?: number; gid?: number; mode?: string; mtime?: string } = {}) {
  const res = await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${efsId}/files?path=${encodeURIComponent(path)}`, { text, ...meta });
  if (res.status !== 200) throw new Error(`writing ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The file's text, or undefined when it does not exist. */
export async function readFile(s: TestStack, efsId: string, path: string): Promise<{ text: string; uid: number; gid: number; mode: string; mtime: string } | undefined> {
  const res = await control<{ contentBase64: string; uid: number; gid: number; mode: string; mtime: string }>(
    s.emu.endpoint,
    'GET',
    `/services/efs/file-systems/${efsId}/files?path=${encodeURIComponent(path)}`,
  );
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`reading ${path}: ${JSON.stringify(res.body)}`);
  return { text: Buffer.from(res.body.contentBase64, 'base64').toString('utf8'), uid: res.body.uid, gid: res.body.gid, mode: res.body.mode, mtime: res.body.mtime };
}

export async function tree(s: TestStack, efsId: string, prefix = '/'): Promise<{ path: string; type: string; size: number; uid: number }[]> {
  const res = await control<{ entries: { path: string; type: string; size: number; uid: number }[] }>(
    s.emu.endpoint,
    'GET',
    `/services/efs/file-systems/${efsId}/tree?prefix=${encodeURIComponent(prefix)}`,
  );
  return res.body.entries;
}

/** What the recovery activities pass to CreateLocationEfs: the file system ARN, a mount target's subnet and groups. */
export async function efsLocationConfig(s: TestStack, efsId: string) {
  const fs = await s.efs.send(new DescribeFileSystemsCommand({ FileSystemId: efsId }));
  const mt = (await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: efsId }))).MountTargets?.[0];
  const groups = (await s.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mt?.MountTargetId }))).SecurityGroups ?? [];
  return {
    EfsFilesystemArn: fs.FileSystems?.[0]?.FileSystemArn as string,
    Ec2Config: {
      SubnetArn: `arn:aws:ec2:us-east-1:123456789012:subnet/${mt?.SubnetId}`,
      SecurityGroupArns: groups.map((g) => `arn:aws:ec2:us-east-1:123456789012:security-group/${g}`),
    },
    groups,
  };
}

/** The grant-access step: NFS from each group to itself (the mount targets' group is the one DataSync's interfaces get). */
export async function allowNfsFromItself(s: TestStack, groups: readonly string[]): Promise<void> {
  for (const g of groups) {
    await s.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: g, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: g }] }] }));
  }
}

export { caught, control } from '../aws/harness';
