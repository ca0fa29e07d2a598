/**
 * SageMaker Studio through the real @aws-sdk/client-sagemaker: domains with their own file systems, user profiles
 * and spaces with a new HomeEfsFileSystemUid at every creation, apps whose first start creates the home directory,
 * deletion rules and retention, errors as the service answers them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CreateAppCommand,
  CreateDomainCommand,
  CreateSpaceCommand,
  CreateUserProfileCommand,
  DeleteAppCommand,
  DeleteDomainCommand,
  DeleteSpaceCommand,
  DeleteUserProfileCommand,
  DescribeAppCommand,
  DescribeDomainCommand,
  DescribeSpaceCommand,
  DescribeUserProfileCommand,
  ListAppsCommand,
  ListDomainsCommand,
  ListSpacesCommand,
  ListUserProfilesCommand,
} from '@aws-sdk/client-sagemaker';
import { DescribeFileSystemsCommand, DescribeMountTargetsCommand, DescribeMountTargetSecurityGroupsCommand } from '@aws-sdk/client-efs';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { caught, control, createDomain, createHome, START, startStack, tree, writeFile, type TestStack } from './support';

let s: TestStack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

describe('domains', () => {
  it('goes Pending then InService, with its own home file system, mount targets and NFS security groups', async () => {
    const created = await s.sm.send(
      new CreateDomainCommand({ DomainName: 'research', AuthMode: 'IAM', DefaultUserSettings: { ExecutionRole: 'arn:aws:iam::123456789012:role/r' } }),
    );
    expect(created.DomainId).toMatch(/^d-[a-z0-9]{12}$/);
    expect(created.DomainArn).toBe(`arn:aws:sagemaker:us-east-1:123456789012:domain/${created.DomainId}`);
    let d = await s.sm.send(new DescribeDomainCommand({ DomainId: created.DomainId }));
    expect(d.Status).toBe('Pending');
    expect(d.DomainName).toBe('research');
    expect(d.CreationTime?.getTime()).toBe(START);
    s.advance(60_000);
    expect((await s.sm.send(new DescribeDomainCommand({ DomainId: created.DomainId }))).Status).toBe('Pending');
    s.advance(4 * 60_000);
    d = await s.sm.send(new DescribeDomainCommand({ DomainId: created.DomainId }));
    expect(d.Status).toBe('InService');
    expect(d.HomeEfsFileSystemId).toMatch(/^fs-[0-9a-f]{17}$/);
    expect(d.SubnetIds).toHaveLength(3);
    expect(d.VpcId).toMatch(/^vpc-/);

    const fs = await s.efs.send(new DescribeFileSystemsCommand({ FileSystemId: d.HomeEfsFileSystemId }));
    expect(fs.FileSystems?.[0]?.Tags).toContainEqual({ Key: 'ManagedByAmazonSageMakerResource', Value: created.DomainArn });
    const mts = await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: d.HomeEfsFileSystemId }));
    expect(mts.MountTargets).toHaveLength(3);
    const sgs = await s.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mts.MountTargets?.[0]?.MountTargetId }));
    const inbound = await s.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: sgs.SecurityGroups }));
    expect(inbound.SecurityGroups?.[0]?.GroupName).toBe(`security-group-for-inbound-nfs-${created.DomainId}`);
    expect(inbound.SecurityGroups?.[0]?.IpPermissions?.[0]).toMatchObject({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049 });

    const list = await s.sm.send(new ListDomainsCommand({}));
    expect(list.Domains?.map((x) => [x.DomainId, x.DomainName, x.Status])).toEqual([[created.DomainId, 'research', 'InService']]);
  });

  it('refuses a bad request with ValidationException and an unknown domain with ResourceNotFound', async () => {
    const bad = await caught(s.sm.send(new CreateDomainCommand({ DomainName: 'bad name!', AuthMode: 'IAM', DefaultUserSettings: {} })));
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toContain('DomainName');
    const missing = await caught(s.sm.send(new CreateDomainCommand({ DomainName: 'x', AuthMode: 'IAM' } as never)));
    expect(missing.name).toBe('ValidationException');
    expect(missing.message).toContain('DefaultUserSettings');
    const nf = await caught(s.sm.send(new DescribeDomainCommand({ DomainId: 'd-000000000000' })));
    expect(nf.name).toBe('ResourceNotFound');
    expect(nf.constructor.name).toBe('ResourceNotFound');
  });

  it('cannot be deleted while it has profiles; deleted with Retain keeps the file system and its files, with Delete removes it', async () => {
    const a = await createDomain(s, 'keep');
    await createHome(s, a.domainId, 'user-profile', 'alice');
    const inUse = await caught(s.sm.send(new DeleteDomainCommand({ DomainId: a.domainId })));
    expect(inUse.name).toBe('ResourceInUse');

    await s.sm.send(new DeleteAppCommand({ DomainId: a.domainId, UserProfileName: 'alice', AppType: 'JupyterServer', AppName: 'default' }));
    s.advance(2 * 60_000);
    await s.sm.send(new DeleteUserProfileCommand({ DomainId: a.domainId, UserProfileName: 'alice' }));
    s.advance(60_000);
    await writeFile(s, a.efsId, '/200001/work.txt', 'kept');
    await s.sm.send(new DeleteDomainCommand({ DomainId: a.domainId, RetentionPolicy: { HomeEfsFileSystem: 'Retain' } }));
    expect((await s.sm.send(new DescribeDomainCommand({ DomainId: a.domainId }))).Status).toBe('Deleting');
    s.advance(10 * 60_000);
    expect((await caught(s.sm.send(new DescribeDomainCommand({ DomainId: a.domainId })))).name).toBe('ResourceNotFound');
    expect((await s.sm.send(new ListDomainsCommand({}))).Domains).toEqual([]);
    expect((await tree(s, a.efsId, '/200001/')).map((e) => e.path)).toEqual(['/200001/work.txt']);

    const b = await createDomain(s, 'drop');
    await s.sm.send(new DeleteDomainCommand({ DomainId: b.domainId, RetentionPolicy: { HomeEfsFileSystem: 'Delete' } }));
    s.advance(10 * 60_000);
    const gone = await caught(s.efs.send(new DescribeFileSystemsCommand({ FileSystemId: b.efsId })));
    expect(gone.name).toBe('FileSystemNotFound');
  });
});

describe('user profiles and spaces', () => {
  it('get a new HomeEfsFileSystemUid at every creation, shared numbering, recreated under the same name', async () => {
    const { domainId } = await createDomain(s, 'studio');
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    await s.sm.send(new CreateSpaceCommand({ DomainId: domainId, SpaceName: 'team', SpaceSettings: { AppType: 'JupyterLab' } }));
    const alice = await s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect(alice).toMatchObject({ DomainId: domainId, UserProfileName: 'alice', HomeEfsFileSystemUid: '200001', Status: 'Pending' });
    expect(alice.UserProfileArn).toBe(`arn:aws:sagemaker:us-east-1:123456789012:user-profile/${domainId}/alice`);
    const team = await s.sm.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: 'team' }));
    expect(team).toMatchObject({ SpaceName: 'team', HomeEfsFileSystemUid: '200002', SpaceSettings: { AppType: 'JupyterLab' } });
    s.advance(30_000);
    expect((await s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }))).Status).toBe('InService');

    const dup = await caught(s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'Alice' })));
    expect(dup.name).toBe('ResourceInUse');

    await s.sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect((await s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }))).Status).toBe('Deleting');
    const stillThere = await caught(s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' })));
    expect(stillThere.name).toBe('ResourceInUse');
    s.advance(60_000);
    expect((await caught(s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' })))).name).toBe('ResourceNotFound');
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect((await s.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }))).HomeEfsFileSystemUid).toBe('200003');

    await s.sm.send(new DeleteSpaceCommand({ DomainId: domainId, SpaceName: 'team' }));
    s.advance(60_000);
    await s.sm.send(new CreateSpaceCommand({ DomainId: domainId, SpaceName: 'team' }));
    expect((await s.sm.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: 'team' }))).HomeEfsFileSystemUid).toBe('200004');
  });

  it('lists with filters, sort order and pages', async () => {
    const a = await createDomain(s, 'a');
    const b = await createDomain(s, 'b');
    for (const n of ['p1', 'p2', 'p3']) {
      await s.sm.send(new CreateUserProfileCommand({ DomainId: a.domainId, UserProfileName: n }));
      s.advance(1_000);
    }
    await s.sm.send(new CreateUserProfileCommand({ DomainId: b.domainId, UserProfileName: 'other' }));
    await s.sm.send(new CreateSpaceCommand({ DomainId: a.domainId, SpaceName: 'shared', OwnershipSettings: { OwnerUserProfileName: 'p1' }, SpaceSharingSettings: { SharingType: 'Private' } }));
    const first = await s.sm.send(new ListUserProfilesCommand({ DomainIdEquals: a.domainId, MaxResults: 2, SortOrder: 'Descending' }));
    expect(first.UserProfiles?.map((p) => p.UserProfileName)).toEqual(['p3', 'p2']);
    const second = await s.sm.send(new ListUserProfilesCommand({ DomainIdEquals: a.domainId, MaxResults: 2, SortOrder: 'Descending', NextToken: first.NextToken }));
    expect(second.UserProfiles?.map((p) => p.UserProfileName)).toEqual(['p1']);
    expect(second.NextToken).toBeUndefined();
    expect((await s.sm.send(new ListUserProfilesCommand({ UserProfileNameContains: 'oth' }))).UserProfiles?.map((p) => p.DomainId)).toEqual([b.domainId]);
    const ascending = await s.sm.send(new ListUserProfilesCommand({ DomainIdEquals: a.domainId }));
    expect(ascending.UserProfiles?.map((p) => p.UserProfileName)).toEqual(['p1', 'p2', 'p3']);
    const spaces = await s.sm.send(new ListSpacesCommand({ DomainIdEquals: a.domainId }));
    expect(spaces.Spaces).toEqual([
      expect.objectContaining({ SpaceName: 'shared', OwnershipSettingsSummary: { OwnerUserProfileName: 'p1' }, SpaceSharingSettingsSummary: { SharingType: 'Private' } }),
    ]);
    const badToken = await caught(s.sm.send(new ListUserProfilesCommand({ NextToken: 'garbage' })));
    expect(badToken.name).toBe('ValidationException');
    const owned = await caught(s.sm.send(new DeleteUserProfileCommand({ DomainId: a.domainId, UserProfileName: 'p1' })));
    expect(owned.name).toBe('ResourceInUse');
    expect(owned.message).toContain('Space(s)');
  });

  it('answers ResourceNotFound for a profile or space of an unknown domain or name, and ResourceLimitExceeded past the quota', async () => {
    const { domainId } = await createDomain(s, 'q');
    expect((await caught(s.sm.send(new CreateUserProfileCommand({ DomainId: 'd-nothere00000', UserProfileName: 'x' })))).name).toBe('ResourceNotFound');
    expect((await caught(s.sm.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: 'nope' })))).name).toBe('ResourceNotFound');
    expect((await caught(s.sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: 'nope' })))).name).toBe('ResourceNotFound');
    await control(s.emu.endpoint, 'PUT', '/services/sagemaker/quotas', { userProfilesPerDomain: 1 });
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'one' }));
    const limit = await caught(s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'two' })));
    expect(limit.name).toBe('ResourceLimitExceeded');
    expect(limit.constructor.name).toBe('ResourceLimitExceeded');
  });
});

describe('apps', () => {
  it('go Pending then InService, and the first one creates the home directory /<uid> owned by that uid', async () => {
    const { domainId, efsId } = await createDomain(s, 'apps');
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' }));
    const { AppArn } = await s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' }));
    expect(AppArn).toBe(`arn:aws:sagemaker:us-east-1:123456789012:app/${domainId}/bob/jupyterserver/default`);
    expect((await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('Pending');
    expect(await tree(s, efsId, '/200001')).toEqual([]);
    s.advance(60_000);
    expect((await s.sm.send(new ListAppsCommand({ DomainIdEquals: domainId, UserProfileNameEquals: 'bob' }))).Apps?.map((a) => a.Status)).toEqual(['Pending']);
    s.advance(60_000);
    const app = await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' }));
    expect(app).toMatchObject({ Status: 'InService', UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' });
    expect(await tree(s, efsId, '/200001')).toEqual([expect.objectContaining({ path: '/200001', type: 'directory', uid: 200001 })]);

    const dup = await caught(s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' })));
    expect(dup.name).toBe('ResourceInUse');
    const busy = await caught(s.sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' })));
    expect(busy.name).toBe('ResourceInUse');
    expect(busy.message).toContain('App(s) are associated');

    await s.sm.send(new DeleteAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' }));
    expect((await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('Deleting');
    s.advance(2 * 60_000);
    expect((await s.sm.send(new ListAppsCommand({ DomainIdEquals: domainId }))).Apps?.map((a) => a.Status)).toEqual(['Deleted']);
    expect((await caught(s.sm.send(new DeleteAppCommand({ DomainId: domainId, UserProfileName: 'bob', AppType: 'JupyterServer', AppName: 'default' })))).name).toBe('ResourceNotFound');
    await s.sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' }));
  });

  it("of a space create the space's own home; a recreated profile's app creates a new, empty home", async () => {
    const { domainId, efsId } = await createDomain(s, 'homes');
    const profileUid = await createHome(s, domainId, 'user-profile', 'carol');
    const spaceUid = await createHome(s, domainId, 'space', 'lab');
    expect([profileUid, spaceUid]).toEqual(['200001', '200002']);
    await writeFile(s, efsId, `/${profileUid}/notes.md`, 'mine');
    await s.sm.send(new DeleteAppCommand({ DomainId: domainId, UserProfileName: 'carol', AppType: 'JupyterServer', AppName: 'default' }));
    s.advance(2 * 60_000);
    await s.sm.send(new DeleteUserProfileCommand({ DomainId: domainId, UserProfileName: 'carol' }));
    s.advance(60_000);
    const again = await createHome(s, domainId, 'user-profile', 'carol');
    expect(again).toBe('200003');
    const entries = (await tree(s, efsId)).map((e) => e.path);
    expect(entries).toEqual(['/', '/200001', '/200001/notes.md', '/200002', '/200003']);
  });

  it('need exactly one of UserProfileName and SpaceName, and an existing owner', async () => {
    const { domainId } = await createDomain(s, 'v');
    const both = await caught(s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'a', SpaceName: 'b', AppType: 'JupyterLab', AppName: 'default' })));
    expect(both.name).toBe('ValidationException');
    const noOwner = await caught(s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'ghost', AppType: 'JupyterServer', AppName: 'default' })));
    expect(noOwner.name).toBe('ResourceNotFound');
    const badType = await caught(s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'a', AppType: 'Nope' as never, AppName: 'default' })));
    expect(badType.name).toBe('ValidationException');
    expect((await caught(s.sm.send(new DescribeAppCommand({ DomainId: domainId, SpaceName: 'x', AppType: 'JupyterLab', AppName: 'default' })))).name).toBe('ResourceNotFound');
  });

  it('follow scenario durations and failures set through the control API', async () => {
    const { domainId } = await createDomain(s, 'sc');
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'dan' }));
    await s.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'eve' }));
    const rule = { service: 'sagemaker', kind: 'app', resource: `arn:aws:sagemaker:us-east-1:123456789012:app/${domainId}/dan/*` };
    await control(s.emu.endpoint, 'POST', '/scenarios', { ...rule, durationsMs: { Pending: 10 * 60_000 }, failureReason: 'Insufficient capacity' });
    await s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'dan', AppType: 'JupyterServer', AppName: 'default' }));
    await s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'eve', AppType: 'JupyterServer', AppName: 'default' }));
    s.advance(5 * 60_000);
    expect((await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'eve', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('InService');
    expect((await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'dan', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('Pending');
    s.advance(6 * 60_000);
    const failed = await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'dan', AppType: 'JupyterServer', AppName: 'default' }));
    expect(failed).toMatchObject({ Status: 'Failed', FailureReason: 'Insufficient capacity' });
    // A failed app can be created again; without the scenario it comes InService.
    await control(s.emu.endpoint, 'DELETE', '/scenarios');
    await s.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'dan', AppType: 'JupyterServer', AppName: 'default' }));
    s.advance(2 * 60_000);
    expect((await s.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'dan', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('InService');
  });
});
