/**
 * The recovery activities (activities/recovery) against these emulated services, outside Temporal: the calls they
 * make, the fields they read and the error names they branch on must all be what the services answer. One restore
 * step by step: wait for the new home, start the transfer (twice: idempotent), follow it, clean up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/activity';
import { DescribeMountTargetsCommand, DescribeMountTargetSecurityGroupsCommand } from '@aws-sdk/client-efs';
import { CreateUserProfileCommand, CreateAppCommand } from '@aws-sdk/client-sagemaker';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { createRecoveryActivities } from '../../activities/recovery/activities';
import { recoveryActivitiesFor } from '../../activities/recovery/worker-activities';
import { RecoveryFailure } from '../../workflows/recovery/failures';
import { caught, control, createDomain, createHome, readFile, startStack, writeFile, type TestStack } from './support';

let s: TestStack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

function activities(dataSyncSecurityGroupId?: string) {
  return createRecoveryActivities({
    sagemaker: s.sm,
    datasync: s.ds,
    datasyncCreates: s.ds,
    efs: s.efs,
    ec2: s.ec2,
    ...(dataSyncSecurityGroupId ? { dataSyncSecurityGroupId } : {}),
    temporal: () => {
      throw new Error('no Temporal in this test');
    },
  });
}

async function mountTargetGroup(efsId: string): Promise<string> {
  const mts = await s.efs.send(new DescribeMountTargetsCommand({ FileSystemId: efsId }));
  const sgs = await s.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mts.MountTargets?.[0]?.MountTargetId }));
  return sgs.SecurityGroups?.[0] as string;
}

describe('recovery activities against the emulated services', () => {
  it('restore a home directory across domains and leave no DataSync task or location behind', async () => {
    const acts = activities();
    const oldDomain = await createDomain(s, 'research');
    const newDomain = await createDomain(s, 'research-v2');
    const oldUid = await createHome(s, oldDomain.domainId, 'user-profile', 'alice');
    await writeFile(s, oldDomain.efsId, `/${oldUid}/results/model.pkl`, 'weights', { uid: Number(oldUid), gid: 1001 });

    // The new profile exists but its app has not started: no home directory yet.
    await s.sm.send(new CreateUserProfileCommand({ DomainId: newDomain.domainId, UserProfileName: 'alice' }));
    await s.sm.send(new CreateAppCommand({ DomainId: newDomain.domainId, UserProfileName: 'alice', AppType: 'JupyterServer', AppName: 'default' }));
    const key = { domainName: 'research-v2', kind: 'user-profile' as const, name: 'alice' };
    const [lookup] = await acts.describeProfiles([key]);
    expect(lookup?.home).toEqual({ domainId: newDomain.domainId, efsId: newDomain.efsId, homeUid: '200001' });
    const to = lookup?.home as { domainId: string; efsId: string; homeUid: string };
    const notYet = await caught(acts.waitForHomeDirectory(key, to));
    expect(notYet).toBeInstanceOf(ApplicationFailure);
    expect((notYet as unknown as ApplicationFailure).type).toBe(RecoveryFailure.HomeNotReady);
    s.advance(3 * 60_000);
    await acts.waitForHomeDirectory(key, to);

    const req = { restoreId: 'recovery/research-v2/user-profile/alice/restore/1', from: { domainId: oldDomain.domainId, efsId: oldDomain.efsId, homeUid: oldUid }, to };
    // No grant needed: DataSync's interfaces get Studio's outbound-NFS group, which the mount targets admit.
    // Idempotent: a second call finds the locations, the task and its execution by name and tags.
    const started = await acts.startTransfer(req);
    expect(await acts.startTransfer(req)).toEqual(started);
    const running = await caught(acts.followTransfer(started.taskExecutionArn));
    expect((running as unknown as ApplicationFailure).type).toBe(RecoveryFailure.TransferInProgress);
    s.advance(10 * 60_000);
    const figures = await acts.followTransfer(started.taskExecutionArn);
    expect(figures).toMatchObject({ bytesWritten: 7, filesTransferred: 1, taskExecutionArn: started.taskExecutionArn });
    expect(figures.transferDurationMs).toBeGreaterThan(60_000);
    expect(await readFile(s, newDomain.efsId, '/200001/results/model.pkl')).toMatchObject({ text: 'weights', uid: 200001 });

    expect(await acts.deleteTransferResources(req)).toEqual({ tasksDeleted: 1, locationsDeleted: 2 });
    const stats = await control<{ liveTasks: number; liveLocations: number; maxLiveTasks: number }>(s.emu.endpoint, 'GET', '/services/datasync/stats');
    expect(stats.body).toMatchObject({ liveTasks: 0, liveLocations: 0, maxLiveTasks: 1 });
  });

  it("the worker's clients never let the SDK retry a DataSync create whose answer was lost: the activity's retry adopts it", async () => {
    // The worker's own wiring (SDK default retries, 3 attempts), pointed at the emulator.
    const acts = recoveryActivitiesFor({
      aws: { region: 'us-east-1', endpoint: s.emu.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } },
      log: pino({ level: 'silent' }),
      dataSyncTaskCap: 90,
    });
    const oldDomain = await createDomain(s, 'research');
    const oldUid = await createHome(s, oldDomain.domainId, 'user-profile', 'alice');
    const newUid = await createHome(s, oldDomain.domainId, 'user-profile', 'alicia');
    const req = {
      restoreId: 'recovery/research/user-profile/alicia/restore/1',
      from: { domainId: oldDomain.domainId, efsId: oldDomain.efsId, homeUid: oldUid },
      to: { domainId: oldDomain.domainId, efsId: oldDomain.efsId, homeUid: newUid },
    };
    for (const operation of ['CreateLocationEfs', 'CreateTask', 'StartTaskExecution']) {
      expect((await control(s.emu.endpoint, 'POST', '/faults', { service: 'datasync', operation, mode: 'after-commit', count: 1 })).status).toBe(201);
    }
    const lost: string[] = [];
    let started;
    for (let attempt = 1; attempt <= 5 && !started; attempt++) {
      try {
        started = await acts.startTransfer(req);
      } catch (err) {
        expect((err as ApplicationFailure).type).toBe(RecoveryFailure.AwsUnavailable);
        lost.push((err as Error).message.split(':')[0]!);
      }
    }
    expect(lost).toEqual([`CreateLocationEfs source ${oldDomain.efsId}/${oldUid}`, 'CreateTask recovery/research/user-profile/alicia/restore/1', expect.stringMatching(/^StartTaskExecution /)]);
    expect(started).toBeDefined();
    const journal = (await control<{ entries: { operation: string; attempt: number; maxAttempts?: number }[] }>(s.emu.endpoint, 'GET', '/journal?service=datasync')).body.entries;
    const creates = journal.filter((e) => ['CreateLocationEfs', 'CreateTask', 'StartTaskExecution'].includes(e.operation));
    expect(creates.map((e) => [e.operation, e.attempt, e.maxAttempts])).toEqual([
      ['CreateLocationEfs', 1, 1],
      ['CreateLocationEfs', 1, 1],
      ['CreateTask', 1, 1],
      ['StartTaskExecution', 1, 1],
    ]);
    const stats = (await control<{ tasksCreated: number; locationsCreated: number; executionsStarted: number }>(s.emu.endpoint, 'GET', '/services/datasync/stats')).body;
    expect(stats).toMatchObject({ tasksCreated: 1, locationsCreated: 2, executionsStarted: 1 });
  });

  it('with an operator-chosen DataSync security group, a restore is refused until grant-access opens NFS to it', async () => {
    const oldDomain = await createDomain(s, 'research');
    const newDomain = await createDomain(s, 'research-v2');
    const oldUid = await createHome(s, oldDomain.domainId, 'user-profile', 'alice');
    const newUid = await createHome(s, newDomain.domainId, 'user-profile', 'alice');
    // The mount targets' own group stands in for a dedicated DataSync group: Studio's rules do not admit it.
    const group = await mountTargetGroup(oldDomain.efsId);
    const acts = activities(group);
    const req = {
      restoreId: 'recovery/research-v2/user-profile/alice/restore/2',
      from: { domainId: oldDomain.domainId, efsId: oldDomain.efsId, homeUid: oldUid },
      to: { domainId: newDomain.domainId, efsId: newDomain.efsId, homeUid: newUid },
    };
    const refused = await caught(acts.startTransfer(req));
    expect((refused as unknown as ApplicationFailure).type).toBe(RecoveryFailure.InvalidRequest);
    expect(refused.message).toContain('location access test failed');
    for (const d of [oldDomain, newDomain]) {
      expect(await acts.allowNfsFromSecurityGroup(d.efsId, group)).toEqual({ efsId: d.efsId, mountTargets: 3, rulesAdded: 1, rulesAlreadyPresent: 0 });
      expect(await acts.allowNfsFromSecurityGroup(d.efsId, group)).toEqual({ efsId: d.efsId, mountTargets: 3, rulesAdded: 0, rulesAlreadyPresent: 1 });
    }
    const started = await acts.startTransfer(req);
    s.advance(10 * 60_000);
    expect(await acts.followTransfer(started.taskExecutionArn)).toMatchObject({ taskExecutionArn: started.taskExecutionArn });
    expect(await acts.deleteTransferResources(req)).toEqual({ tasksDeleted: 1, locationsDeleted: 2 });
  });

  it('see a profile created again as a new home (a new HomeEfsFileSystemUid on the same file system)', async () => {
    const acts = activities();
    const d = await createDomain(s, 'lab');
    await createHome(s, d.domainId, 'space', 'team');
    const key = { domainName: 'lab', kind: 'space' as const, name: 'team' };
    const before = await acts.describeProfiles([key]);
    expect(await acts.listLiveDomains()).toContainEqual({ domainName: 'lab', domainId: d.domainId });
    expect(before[0]?.home?.homeUid).toBe('200001');
    const missing = await acts.describeProfiles([{ domainName: 'nope', kind: 'space', name: 'team' }]);
    expect(missing).toEqual([{ key: { domainName: 'nope', kind: 'space', name: 'team' } }]);
  });

  it('seed a domain again after a crash: it goes on after the last profile done, whatever was created meanwhile', async () => {
    const signalled: string[] = [];
    const fakeTemporal = { workflow: { signalWithStart: async (_type: string, opts: { workflowId: string }) => void signalled.push(opts.workflowId) } };
    const acts = createRecoveryActivities({ sagemaker: s.sm, datasync: s.ds, datasyncCreates: s.ds, efs: s.efs, ec2: s.ec2, temporal: () => fakeTemporal as never });
    const d = await createDomain(s, 'fleet');
    for (const name of ['alice', 'bob', 'carol']) await createHome(s, d.domainId, 'user-profile', name);
    await createHome(s, d.domainId, 'space', 'team');
    // The first attempt did alice and bob, then its worker died; aaron was created before the retry.
    await createHome(s, d.domainId, 'user-profile', 'aaron');
    const env = new MockActivityEnvironment({ heartbeatDetails: { after: ['user-profile', 'bob'], userProfiles: 2, spaces: 0 } });
    const r = await env.run(acts.seedDomainHomes, { domainName: 'fleet', domainId: d.domainId }, '2026-01-01T00:00:00Z');
    expect(signalled).toEqual(['recovery/fleet/user-profile/carol', 'recovery/fleet/space/team']);
    expect(r).toEqual({ domainName: 'fleet', domainId: d.domainId, efsId: d.efsId, userProfiles: 3, spaces: 1 });

    // From the start, every one is recorded.
    signalled.length = 0;
    const all = await new MockActivityEnvironment().run(acts.seedDomainHomes, { domainName: 'fleet', domainId: d.domainId }, '2026-01-01T00:00:00Z');
    expect(all).toMatchObject({ userProfiles: 4, spaces: 1 });
    expect(signalled).toHaveLength(5);
  });
});
