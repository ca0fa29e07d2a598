/**
 * EFS through the real @aws-sdk/client-efs (file systems, mount targets and their security groups, typed errors),
 * its file-tree control API (CONTROL.md), and EC2 security-group rules through @aws-sdk/client-ec2.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateFileSystemCommand,
  CreateMountTargetCommand,
  DeleteFileSystemCommand,
  DeleteMountTargetCommand,
  DescribeFileSystemsCommand,
  DescribeMountTargetsCommand,
  DescribeMountTargetSecurityGroupsCommand,
  ModifyMountTargetSecurityGroupsCommand,
} from '@aws-sdk/client-efs';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DeleteSecurityGroupCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { caught, control, readFile, startStack, tree, writeFile, type TestStack } from './support';

let s: TestStack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

async function defaultSubnets(): Promise<string[]> {
  const r = await s.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
  return (r.Subnets ?? []).map((x) => x.SubnetId as string);
}

describe('EFS API', () => {
  it('creates, describes and deletes file systems and mount targets', async () => {
    const fs = await s.efs.send(new CreateFileSystemCommand({ CreationToken: 'tok-1', Encrypted: true, Tags: [{ Key: 'Name', Value: 'homes' }] }));
    expect(fs).toMatchObject({ CreationToken: 'tok-1', LifeCycleState: 'available', Name: 'homes', NumberOfMountTargets: 0, Encrypted: true, PerformanceMode: 'generalPurpose' });
    expect(fs.FileSystemArn).toBe(`arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/${fs.FileSystemId}`);
    const dup = await caught(s.efs.send(new CreateFileSystemCommand({ CreationToken: 'tok-1' })));
    expect(dup.name).toBe('FileSystemAlreadyExists');
    expect(dup.$metadata?.httpStatusCode).toBe(409);
    expect(dup.FileSystemId).toBe(fs.FileSystemId);

    const [subnetA, subnetB] = await defaultSubnets();
    const mt = await s.efs.send(new CreateMountTargetCommand({ FileSystemId: fs.FileSystemId, SubnetId: subnetA }));
    expect(mt).toMatchObject({ FileSystemId: fs.FileSystemId, SubnetId: subnetA, LifeCycleState: 'available', AvailabilityZoneName: 'us-east-1a' });
    const sameAz = await caught(s.efs.send(new CreateMountTargetCommand({ FileSystemId: fs.FileSystemId, SubnetId: subnetA })));
    expect(sameAz.name).toBe('MountTargetConflict');
    await s.efs.send(new CreateMountTargetCommand({ FileSystemId: fs.FileSystemId, SubnetId: subnetB }));
    const described = await s.efs.send(new DescribeFileSystemsCommand({ CreationToken: 'tok-1' }));
    expect(described.FileSystems?.[0]?.NumberOfMountTargets).toBe(2);
    const page = await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: fs.FileSystemId, MaxItems: 1 }));
    expect(page.MountTargets).toHaveLength(1);
    const rest = await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: fs.FileSystemId, Marker: page.NextMarker }));
    expect(rest.MountTargets).toHaveLength(1);
    expect(rest.NextMarker).toBeUndefined();

    const { GroupId } = await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'nfs', Description: 'nfs' }));
    await s.efs.send(new ModifyMountTargetSecurityGroupsCommand({ MountTargetId: mt.MountTargetId, SecurityGroups: [GroupId as string] }));
    expect((await s.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mt.MountTargetId }))).SecurityGroups).toEqual([GroupId]);

    const inUse = await caught(s.efs.send(new DeleteFileSystemCommand({ FileSystemId: fs.FileSystemId })));
    expect(inUse.name).toBe('FileSystemInUse');
    for (const m of (await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: fs.FileSystemId }))).MountTargets ?? []) {
      await s.efs.send(new DeleteMountTargetCommand({ MountTargetId: m.MountTargetId }));
    }
    await s.efs.send(new DeleteFileSystemCommand({ FileSystemId: fs.FileSystemId }));
    const gone = await caught(s.efs.send(new DescribeFileSystemsCommand({ FileSystemId: fs.FileSystemId })));
    expect(gone.name).toBe('FileSystemNotFound');
    expect(gone.$metadata?.httpStatusCode).toBe(404);
    expect(gone.ErrorCode).toBe('FileSystemNotFound');
  });

  it('answers MountTargetNotFound, and BadRequest without a filter', async () => {
    const nf = await caught(s.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: 'fsmt-00000000000000000' })));
    expect(nf.name).toBe('MountTargetNotFound');
    const bad = await caught(s.efs.send(new DescribeMountTargetsCommand({})));
    expect(bad.name).toBe('BadRequest');
  });
});

describe('EFS file-tree control API', () => {
  it('writes, reads, lists and removes files with their owner, mode and time; sizes show in DescribeFileSystems', async () => {
    const { FileSystemId } = await s.efs.send(new CreateFileSystemCommand({ CreationToken: 'files' }));
    const efsId = FileSystemId as string;
    const written = await writeFile(s, efsId, '/200001/work/notebook.ipynb', '{"cells":[1]}', { uid: 200001, gid: 1001, mode: '0600', mtime: '2026-01-05T08:00:00Z' });
    expect(written).toMatchObject({ path: '/200001/work/notebook.ipynb', type: 'file', size: 13, mode: '0600', uid: 200001 });
    const bytes = Buffer.from([0, 1, 2, 255]);
    const put = await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${efsId}/files?path=/200001/blob.bin`, { contentBase64: bytes.toString('base64') });
    expect(put.status).toBe(200);
    const blob = await control<{ contentBase64: string }>(s.emu.endpoint, 'GET', `/services/efs/file-systems/${efsId}/files?path=/200001/blob.bin`);
    expect(Buffer.from(blob.body.contentBase64, 'base64')).toEqual(bytes);
    expect(await readFile(s, efsId, '/200001/work/notebook.ipynb')).toEqual({ text: '{"cells":[1]}', uid: 200001, gid: 1001, mode: '0600', mtime: '2026-01-05T08:00:00.000Z' });
    expect((await tree(s, efsId, '/200001')).map((e) => [e.path, e.type, e.size])).toEqual([
      ['/200001', 'directory', 0],
      ['/200001/blob.bin', 'file', 4],
      ['/200001/work', 'directory', 0],
      ['/200001/work/notebook.ipynb', 'file', 13],
    ]);
    expect((await s.efs.send(new DescribeFileSystemsCommand({ FileSystemId: efsId }))).FileSystems?.[0]?.SizeInBytes?.Value).toBe(17);

    const mk = await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${efsId}/directories?path=/200002`, { uid: 200002, gid: 1001 });
    expect(mk.status).toBe(200);
    const removed = await control<{ removed: number }>(s.emu.endpoint, 'DELETE', `/services/efs/file-systems/${efsId}/files?path=/200001/work`);
    expect(removed.body.removed).toBe(2);
    expect(await readFile(s, efsId, '/200001/work/notebook.ipynb')).toBeUndefined();
    expect((await tree(s, efsId)).map((e) => e.path)).toEqual(['/', '/200001', '/200001/blob.bin', '/200002']);

    const listing = await control<{ fileSystems: { fileSystemId: string; files: number; sizeInBytes: number }[] }>(s.emu.endpoint, 'GET', '/services/efs/file-systems');
    expect(listing.body.fileSystems.find((f) => f.fileSystemId === efsId)).toMatchObject({ files: 1, sizeInBytes: 4 });
  });

  it('refuses bad requests with a clear answer', async () => {
    const { FileSystemId } = await s.efs.send(new CreateFileSystemCommand({ CreationToken: 'bad' }));
    expect((await control(s.emu.endpoint, 'GET', `/services/efs/file-systems/fs-nope/tree`)).status).toBe(404);
    expect((await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${FileSystemId}/files`, { text: 'x' })).status).toBe(400);
    expect((await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${FileSystemId}/files?path=/a/../b`, { text: 'x' })).status).toBe(400);
    expect((await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${FileSystemId}/files?path=/a`, { text: 'x', contentBase64: 'eA==' })).status).toBe(400);
    await writeFile(s, FileSystemId as string, '/a', 'file');
    expect((await control(s.emu.endpoint, 'PUT', `/services/efs/file-systems/${FileSystemId}/files?path=/a/b`, { text: 'x' })).status).toBe(400);
    expect((await control(s.emu.endpoint, 'DELETE', `/services/efs/file-systems/${FileSystemId}/files?path=/missing`)).status).toBe(404);
    expect((await control(s.emu.endpoint, 'GET', `/services/efs/file-systems/${FileSystemId}/files?path=/missing`)).status).toBe(404);
  });
});

describe('reset', () => {
  it('forgets every file system, domain and security group, and keeps the default VPC', async () => {
    const { FileSystemId } = await s.efs.send(new CreateFileSystemCommand({ CreationToken: 'gone-after-reset' }));
    await writeFile(s, FileSystemId as string, '/x', 'x');
    await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'temp', Description: 'temp' }));
    expect((await control(s.emu.endpoint, 'POST', '/reset')).status).toBe(200);
    expect((await s.efs.send(new DescribeFileSystemsCommand({}))).FileSystems).toEqual([]);
    expect((await caught(s.efs.send(new DescribeFileSystemsCommand({ FileSystemId })))).name).toBe('FileSystemNotFound');
    expect((await s.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups?.map((g) => g.GroupName)).toEqual(['default']);
    expect(await defaultSubnets()).toHaveLength(3);
  });
});

describe('EC2 security groups', () => {
  it('add an NFS rule once: the same rule again is InvalidPermission.Duplicate; revoke removes it', async () => {
    const { GroupId: efsGroup } = await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'efs', Description: 'mount targets' }));
    const { GroupId: dsGroup } = await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'datasync', Description: 'datasync' }));
    const nfs = { IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: dsGroup, Description: 'NFS from DataSync' }] };
    const added = await s.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: efsGroup, IpPermissions: [nfs] }));
    expect(added.Return).toBe(true);
    expect(added.SecurityGroupRules?.[0]).toMatchObject({ GroupId: efsGroup, IsEgress: false, IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, ReferencedGroupInfo: { GroupId: dsGroup } });
    const dup = await caught(s.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: efsGroup, IpPermissions: [nfs] })));
    expect(dup.name).toBe('InvalidPermission.Duplicate');
    expect(dup.message).toContain(`peer: ${dsGroup}, TCP, from port: 2049, to port: 2049, ALLOW`);

    const [group] = (await s.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [efsGroup as string] }))).SecurityGroups ?? [];
    expect(group).toMatchObject({ GroupName: 'efs', Description: 'mount targets', OwnerId: '123456789012' });
    expect(group?.IpPermissions).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ Description: 'NFS from DataSync', UserId: '123456789012', GroupId: dsGroup }] }),
    ]);
    expect(group?.IpPermissionsEgress?.[0]).toMatchObject({ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] });

    await s.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: efsGroup, IpPermissions: [nfs] }));
    expect((await s.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [efsGroup as string] }))).SecurityGroups?.[0]?.IpPermissions).toEqual([]);
    const unknown = await s.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: efsGroup, IpPermissions: [nfs] }));
    expect(unknown.UnknownIpPermissions).toHaveLength(1);
    await s.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: efsGroup, IpPermissions: [nfs] }));
  });

  it('change egress rules, and cannot be deleted while a mount target or another group uses them', async () => {
    const { GroupId: client } = await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'client', Description: 'c' }));
    const { GroupId: server } = await s.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'server', Description: 's' }));
    const toServer = { IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: server }] };
    const added = await s.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: client, IpPermissions: [toServer] }));
    expect(added.SecurityGroupRules?.[0]).toMatchObject({ IsEgress: true, ReferencedGroupInfo: { GroupId: server } });
    const referenced = await caught(s.ec2.send(new DeleteSecurityGroupCommand({ GroupId: server })));
    expect(referenced.name).toBe('DependencyViolation');
    await s.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: client, IpPermissions: [toServer] }));
    const { FileSystemId } = await s.efs.send(new CreateFileSystemCommand({ CreationToken: 'sg-use' }));
    const [subnet] = await defaultSubnets();
    const mt = await s.efs.send(new CreateMountTargetCommand({ FileSystemId, SubnetId: subnet, SecurityGroups: [server as string] }));
    expect((await caught(s.ec2.send(new DeleteSecurityGroupCommand({ GroupId: server })))).name).toBe('DependencyViolation');
    await s.efs.send(new DeleteMountTargetCommand({ MountTargetId: mt.MountTargetId }));
    await s.ec2.send(new DeleteSecurityGroupCommand({ GroupId: server }));
    expect((await caught(s.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [server as string] })))).name).toBe('InvalidGroup.NotFound');
  });

  it('answers InvalidGroup.NotFound for an unknown group, and lists the default VPC and its subnets', async () => {
    const nf = await caught(s.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })));
    expect(nf.name).toBe('InvalidGroup.NotFound');
    expect(nf.message).toBe("The security group 'sg-0123456789abcdef0' does not exist");
    const auth = await caught(s.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'sg-0123456789abcdef0', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] })));
    expect(auth.name).toBe('InvalidGroup.NotFound');
    const vpcs = await s.ec2.send(new DescribeVpcsCommand({}));
    expect(vpcs.Vpcs).toEqual([expect.objectContaining({ IsDefault: true, CidrBlock: '172.31.0.0/16' })]);
    const subnets = await s.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcs.Vpcs?.[0]?.VpcId as string] }] }));
    expect(subnets.Subnets?.map((x) => x.AvailabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    const badSubnet = await caught(s.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-00000000000000000'] })));
    expect(badSubnet.name).toBe('InvalidSubnetID.NotFound');
  });
});
