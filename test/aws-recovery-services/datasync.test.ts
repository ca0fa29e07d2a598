/**
 * DataSync EFS-to-EFS transfers through the real @aws-sdk/client-datasync: locations on two domains' file systems,
 * tasks with options, executions that really copy the home directory and report their figures and durations, the
 * 100-tasks-per-region quota and its high-water mark, cancellation, failures, tags.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CancelTaskExecutionCommand,
  CreateLocationEfsCommand,
  CreateTaskCommand,
  DeleteLocationCommand,
  DeleteTaskCommand,
  DescribeLocationEfsCommand,
  DescribeTaskCommand,
  DescribeTaskExecutionCommand,
  ListLocationsCommand,
  ListTagsForResourceCommand,
  ListTaskExecutionsCommand,
  ListTasksCommand,
  StartTaskExecutionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type Options,
} from '@aws-sdk/client-datasync';
import {
  allowNfsFromItself as allowNfs,
  caught,
  control,
  createDomain,
  createHome,
  efsLocationConfig,
  readFile,
  startStack,
  tree,
  writeFile,
  type DomainInfo,
  type TestStack,
} from './support';

let s: TestStack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

function locationConfig(efsId: string) {
  return efsLocationConfig(s, efsId);
}

function allowNfsFromItself(groups: string[]) {
  return allowNfs(s, groups);
}

async function location(d: DomainInfo, subdirectory: string): Promise<string> {
  const cfg = await locationConfig(d.efsId);
  const r = await s.ds.send(new CreateLocationEfsCommand({ EfsFilesystemArn: cfg.EfsFilesystemArn, Ec2Config: cfg.Ec2Config, Subdirectory: subdirectory }));
  return r.LocationArn as string;
}

async function twoDomains(): Promise<{ a: DomainInfo; b: DomainInfo }> {
  const a = await createDomain(s, 'old');
  const b = await createDomain(s, 'new');
  for (const d of [a, b]) await allowNfsFromItself((await locationConfig(d.efsId)).groups);
  return { a, b };
}

async function runToEnd(executionArn: string) {
  s.advance(30 * 60_000);
  return s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
}

async function transfer(from: string, to: string, options?: Options) {
  const { TaskArn } = await s.ds.send(new CreateTaskCommand({ SourceLocationArn: from, DestinationLocationArn: to, Name: 'restore', ...(options ? { Options: options } : {}) }));
  const { TaskExecutionArn } = await s.ds.send(new StartTaskExecutionCommand({ TaskArn }));
  return { taskArn: TaskArn as string, executionArn: TaskExecutionArn as string };
}

describe('EFS locations', () => {
  it('are refused until NFS is allowed from their security groups, then describe and list with the efs:// URI', async () => {
    const d = await createDomain(s, 'loc');
    const cfg = await locationConfig(d.efsId);
    const refused = await caught(s.ds.send(new CreateLocationEfsCommand({ EfsFilesystemArn: cfg.EfsFilesystemArn, Ec2Config: cfg.Ec2Config, Subdirectory: '/200001' })));
    expect(refused.name).toBe('InvalidRequestException');
    expect(refused.message).toContain('location access test failed');
    await allowNfsFromItself(cfg.groups);
    const { LocationArn } = await s.ds.send(
      new CreateLocationEfsCommand({ EfsFilesystemArn: cfg.EfsFilesystemArn, Ec2Config: cfg.Ec2Config, Subdirectory: '/200001', Tags: [{ Key: 'mlops:restore', Value: 'r1' }] }),
    );
    expect(LocationArn).toMatch(/^arn:aws:datasync:us-east-1:123456789012:location\/loc-[0-9a-f]{17}$/);
    const described = await s.ds.send(new DescribeLocationEfsCommand({ LocationArn }));
    expect(described.LocationUri).toBe(`efs://us-east-1.${d.efsId}/200001/`);
    expect(described.Ec2Config).toEqual(cfg.Ec2Config);
    const listed = await s.ds.send(new ListLocationsCommand({ Filters: [{ Name: 'LocationUri', Values: [d.efsId], Operator: 'Contains' }] }));
    expect(listed.Locations).toEqual([{ LocationArn, LocationUri: described.LocationUri }]);
    expect((await s.ds.send(new ListTagsForResourceCommand({ ResourceArn: LocationArn }))).Tags).toEqual([{ Key: 'mlops:restore', Value: 'r1' }]);
    await s.ds.send(new DeleteLocationCommand({ LocationArn }));
    const gone = await caught(s.ds.send(new DescribeLocationEfsCommand({ LocationArn })));
    expect(gone.name).toBe('InvalidRequestException');
    expect(gone.message).toContain('not found');
  });

  it("are accepted without any new rule when they use the domain's outbound NFS group, which the mount targets admit", async () => {
    const d = await createDomain(s, 'outbound');
    const cfg = await locationConfig(d.efsId);
    const { body } = await control<{ domains: { domainId: string; outboundNfsSecurityGroupId: string }[] }>(s.emu.endpoint, 'GET', '/services/sagemaker/domains');
    const outbound = body.domains.find((x) => x.domainId === d.domainId)?.outboundNfsSecurityGroupId as string;
    const { LocationArn } = await s.ds.send(
      new CreateLocationEfsCommand({ EfsFilesystemArn: cfg.EfsFilesystemArn, Ec2Config: { ...cfg.Ec2Config, SecurityGroupArns: [`arn:aws:ec2:us-east-1:123456789012:security-group/${outbound}`] } }),
    );
    expect(LocationArn).toMatch(/location\/loc-/);
  });

  it('refuse an unknown file system, subnet or security group', async () => {
    const d = await createDomain(s, 'bad');
    const cfg = await locationConfig(d.efsId);
    const fs = await caught(s.ds.send(new CreateLocationEfsCommand({ ...cfg, EfsFilesystemArn: 'arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-00000000000000000' })));
    expect(fs.name).toBe('InvalidRequestException');
    const sub = await caught(
      s.ds.send(new CreateLocationEfsCommand({ ...cfg, Ec2Config: { ...cfg.Ec2Config, SubnetArn: 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0000000000000000f' } })),
    );
    expect(sub.message).toContain('subnet-0000000000000000f');
    const missing = await caught(s.ds.send(new CreateLocationEfsCommand({ EfsFilesystemArn: cfg.EfsFilesystemArn } as never)));
    expect(missing.name).toBe('InvalidRequestException');
    expect(missing.message).toContain('Ec2Config');
  });
});

describe('task executions', () => {
  it("copy a home directory from one domain's file system to another's, with figures, durations and phases", async () => {
    const { a, b } = await twoDomains();
    await writeFile(s, a.efsId, '/200001/notebook.ipynb', '{"cells":[]}', { uid: 200001, gid: 1001, mode: '0640', mtime: '2026-02-01T10:00:00Z' });
    await writeFile(s, a.efsId, '/200001/data/train.csv', 'a,b\n1,2\n', { uid: 200001, gid: 1001 });
    await writeFile(s, a.efsId, '/200002/other.txt', 'not mine');
    const { taskArn, executionArn } = await transfer(await location(a, '/200001'), await location(b, '/200005'), {
      VerifyMode: 'ONLY_FILES_TRANSFERRED',
      OverwriteMode: 'NEVER',
      PosixPermissions: 'PRESERVE',
      Uid: 'INT_VALUE',
      Gid: 'INT_VALUE',
    });
    expect(executionArn.startsWith(`${taskArn}/execution/exec-`)).toBe(true);
    const statuses: string[] = [];
    for (let i = 0; i < 40; i++) {
      const e = await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
      if (statuses.at(-1) !== e.Status) statuses.push(e.Status as string);
      if (e.Status === 'TRANSFERRING') expect(await readFile(s, b.efsId, '/200005/notebook.ipynb')).toBeUndefined();
      if (e.Status === 'SUCCESS') break;
      s.advance(10_000);
    }
    expect(statuses).toEqual(['QUEUED', 'LAUNCHING', 'PREPARING', 'TRANSFERRING', 'VERIFYING', 'SUCCESS']);
    const e = await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
    expect(e).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 2, BytesWritten: 20, BytesTransferred: 20, EstimatedFilesToTransfer: 2, EstimatedBytesToTransfer: 20, FilesVerified: 2 });
    expect(e.Result).toMatchObject({ PrepareStatus: 'SUCCESS', TransferStatus: 'SUCCESS', VerifyStatus: 'SUCCESS' });
    expect(e.Result?.TransferDuration).toBeGreaterThanOrEqual(30_000);
    expect(e.Result?.TotalDuration).toBeGreaterThan((e.Result?.PrepareDuration ?? 0) + (e.Result?.TransferDuration ?? 0));
    expect(e.Result?.TotalDuration).toBe((e.EndTime?.getTime() ?? 0) - (e.StartTime?.getTime() ?? 0));
    expect(e.Result?.ErrorCode).toBeUndefined();

    const copied = await readFile(s, b.efsId, '/200005/notebook.ipynb');
    expect(copied).toEqual({ text: '{"cells":[]}', uid: 200001, gid: 1001, mode: '0640', mtime: '2026-02-01T10:00:00.000Z' });
    expect((await readFile(s, b.efsId, '/200005/data/train.csv'))?.text).toBe('a,b\n1,2\n');
    expect(await readFile(s, b.efsId, '/200005/other.txt')).toBeUndefined();
    expect((await tree(s, a.efsId, '/200001/')).length).toBe(3);

    expect((await s.ds.send(new ListTaskExecutionsCommand({ TaskArn: taskArn }))).TaskExecutions).toEqual([{ TaskExecutionArn: executionArn, Status: 'SUCCESS', TaskMode: 'BASIC' }]);
    expect((await s.ds.send(new DescribeTaskCommand({ TaskArn: taskArn }))).Status).toBe('AVAILABLE');
    await s.ds.send(new DeleteTaskCommand({ TaskArn: taskArn }));
    expect((await caught(s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn })))).name).toBe('InvalidRequestException');
    expect((await caught(s.ds.send(new DescribeTaskCommand({ TaskArn: taskArn })))).name).toBe('InvalidRequestException');
  });

  it('honour OverwriteMode NEVER, TransferMode CHANGED and ALL, and PreserveDeletedFiles REMOVE', async () => {
    const { a, b } = await twoDomains();
    await writeFile(s, a.efsId, '/200001/same.txt', 'same', { mtime: '2026-01-01T00:00:00Z' });
    await writeFile(s, a.efsId, '/200001/changed.txt', 'new text', { mtime: '2026-01-02T00:00:00Z' });
    await writeFile(s, b.efsId, '/200001/same.txt', 'same', { mtime: '2026-01-01T00:00:00Z' });
    await writeFile(s, b.efsId, '/200001/changed.txt', 'old', { mtime: '2026-01-01T00:00:00Z' });
    await writeFile(s, b.efsId, '/200001/extra.txt', 'only at the destination');
    const src = await location(a, '/200001');
    const dst = await location(b, '/200001');

    const never = await transfer(src, dst, { OverwriteMode: 'NEVER', VerifyMode: 'ONLY_FILES_TRANSFERRED' });
    const e1 = await runToEnd(never.executionArn);
    expect(e1).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 0, BytesWritten: 0, FilesSkipped: 2 });
    expect((await readFile(s, b.efsId, '/200001/changed.txt'))?.text).toBe('old');
    await s.ds.send(new DeleteTaskCommand({ TaskArn: never.taskArn }));

    const changed = await transfer(src, dst, { OverwriteMode: 'ALWAYS', TransferMode: 'CHANGED' });
    const e2 = await runToEnd(changed.executionArn);
    expect(e2).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 1, BytesWritten: 8, FilesSkipped: 1, FilesDeleted: 0 });
    expect((await readFile(s, b.efsId, '/200001/changed.txt'))?.text).toBe('new text');
    expect((await readFile(s, b.efsId, '/200001/extra.txt'))?.text).toBe('only at the destination');
    await s.ds.send(new DeleteTaskCommand({ TaskArn: changed.taskArn }));

    const refused = await caught(s.ds.send(new CreateTaskCommand({ SourceLocationArn: src, DestinationLocationArn: dst, Options: { TransferMode: 'ALL', PreserveDeletedFiles: 'REMOVE' } })));
    expect(refused.name).toBe('InvalidRequestException');
    const remove = await transfer(src, dst, { PreserveDeletedFiles: 'REMOVE' });
    const e3 = await runToEnd(remove.executionArn);
    expect(e3).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 0, FilesDeleted: 1, EstimatedFilesToDelete: 1, FilesVerified: 2 });
    expect(await readFile(s, b.efsId, '/200001/extra.txt')).toBeUndefined();
    await s.ds.send(new DeleteTaskCommand({ TaskArn: remove.taskArn }));

    const all = await transfer(src, dst, { TransferMode: 'ALL', VerifyMode: 'NONE' });
    const e4 = await runToEnd(all.executionArn);
    expect(e4).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 2, BytesWritten: 12, FilesSkipped: 0, FilesVerified: 0 });
  });

  it('fail verification in POINT_IN_TIME_CONSISTENT mode when NEVER left a different file at the destination', async () => {
    const { a, b } = await twoDomains();
    await writeFile(s, a.efsId, '/200001/f.txt', 'source');
    await writeFile(s, b.efsId, '/200009/f.txt', 'dest');
    const { executionArn } = await transfer(await location(a, '/200001'), await location(b, '/200009'), { OverwriteMode: 'NEVER' });
    const e = await runToEnd(executionArn);
    expect(e.Status).toBe('ERROR');
    expect(e.Result).toMatchObject({ VerifyStatus: 'ERROR', ErrorCode: 'VerificationFailed' });
    expect(e.Result?.ErrorDetail).toContain('f.txt');
  });

  it('end in ERROR with the scenario reason, or cancelled, with nothing copied', async () => {
    const { a, b } = await twoDomains();
    await writeFile(s, a.efsId, '/200001/f.txt', 'x');
    const src = await location(a, '/200001');
    const dst = await location(b, '/200002');
    await control(s.emu.endpoint, 'POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', failureReason: 'OpNotSupp: disk full', failAtStatus: 'TRANSFERRING' });
    const failing = await transfer(src, dst);
    const e = await runToEnd(failing.executionArn);
    expect(e).toMatchObject({ Status: 'ERROR', Result: { ErrorCode: 'OpNotSupp', ErrorDetail: 'disk full', TransferStatus: 'ERROR', PrepareStatus: 'SUCCESS' } });
    expect(await readFile(s, b.efsId, '/200002/f.txt')).toBeUndefined();
    await control(s.emu.endpoint, 'DELETE', '/scenarios');

    const second = await s.ds.send(new StartTaskExecutionCommand({ TaskArn: failing.taskArn }));
    s.advance(70_000);
    const running = await caught(s.ds.send(new DeleteTaskCommand({ TaskArn: failing.taskArn })));
    expect(running.name).toBe('InvalidRequestException');
    expect(running.message).toMatch(/running/);
    expect((await s.ds.send(new DescribeTaskCommand({ TaskArn: failing.taskArn })))).toMatchObject({ Status: 'RUNNING', CurrentTaskExecutionArn: second.TaskExecutionArn });
    const refused = await caught(s.ds.send(new StartTaskExecutionCommand({ TaskArn: failing.taskArn, OverrideOptions: { TaskQueueing: 'DISABLED' } })));
    expect(refused.name).toBe('InvalidRequestException');
    const third = await s.ds.send(new StartTaskExecutionCommand({ TaskArn: failing.taskArn }));
    s.advance(10_000);
    expect((await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: third.TaskExecutionArn }))).Status).toBe('QUEUED');
    await s.ds.send(new CancelTaskExecutionCommand({ TaskExecutionArn: second.TaskExecutionArn }));
    expect((await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: second.TaskExecutionArn }))).Status).toBe('CANCELLING');
    s.advance(10_000);
    const cancelled = await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: second.TaskExecutionArn }));
    expect(cancelled).toMatchObject({ Status: 'ERROR', Result: { ErrorCode: 'OperationCanceled' } });
    expect(await readFile(s, b.efsId, '/200002/f.txt')).toBeUndefined();
    const twice = await caught(s.ds.send(new CancelTaskExecutionCommand({ TaskExecutionArn: second.TaskExecutionArn })));
    expect(twice.name).toBe('InvalidRequestException');
    // The queued execution starts when the cancelled one ends, and copies.
    expect((await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: third.TaskExecutionArn }))).Status).toBe('LAUNCHING');
    const done = await runToEnd(third.TaskExecutionArn as string);
    expect(done.Status).toBe('SUCCESS');
    // It waited in the queue: it launched later than it was started, and ran from its launch.
    expect(done.LaunchTime?.getTime()).toBeGreaterThan(done.StartTime?.getTime() ?? Infinity);
    expect(done.Result?.TotalDuration).toBe((done.EndTime?.getTime() ?? 0) - (done.LaunchTime?.getTime() ?? 0));
    expect((await readFile(s, b.efsId, '/200002/f.txt'))?.text).toBe('x');
    await s.ds.send(new DeleteTaskCommand({ TaskArn: failing.taskArn }));
    await s.ds.send(new DeleteLocationCommand({ LocationArn: src }));
  });

  it('copy only what the include and exclude filters cover, the execution overriding the task', async () => {
    const { a, b } = await twoDomains();
    for (const f of ['work/a.py', 'work/cache/x.tmp', 'data/big.csv', 'notes.md', '.git/config']) await writeFile(s, a.efsId, `/200001/${f}`, f);
    const src = await location(a, '/200001');
    const dst = await location(b, '/200001');
    const { TaskArn } = await s.ds.send(
      new CreateTaskCommand({ SourceLocationArn: src, DestinationLocationArn: dst, Excludes: [{ FilterType: 'SIMPLE_PATTERN', Value: '/data|*.tmp|*/.git' }] }),
    );
    const first = await s.ds.send(new StartTaskExecutionCommand({ TaskArn }));
    const e1 = await runToEnd(first.TaskExecutionArn as string);
    expect(e1).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 2, Excludes: [{ FilterType: 'SIMPLE_PATTERN', Value: '/data|*.tmp|*/.git' }] });
    expect((await tree(s, b.efsId, '/200001/')).filter((e) => e.type === 'file').map((e) => e.path)).toEqual(['/200001/notes.md', '/200001/work/a.py']);
    const second = await s.ds.send(new StartTaskExecutionCommand({ TaskArn, Includes: [{ FilterType: 'SIMPLE_PATTERN', Value: '/data' }], Excludes: [] }));
    const e2 = await runToEnd(second.TaskExecutionArn as string);
    expect(e2).toMatchObject({ Status: 'SUCCESS', FilesTransferred: 1, BytesWritten: 'data/big.csv'.length });
    expect((await readFile(s, b.efsId, '/200001/data/big.csv'))?.text).toBe('data/big.csv');
    expect(await readFile(s, b.efsId, '/200001/.git/config')).toBeUndefined();
  });

  it('fail when the source directory does not exist', async () => {
    const { a, b } = await twoDomains();
    const { executionArn } = await transfer(await location(a, '/200077'), await location(b, '/200001'));
    const e = await runToEnd(executionArn);
    expect(e).toMatchObject({ Status: 'ERROR', Result: { ErrorCode: 'PathNotFound', PrepareStatus: 'ERROR' } });
  });

  it('follow scenario durations', async () => {
    const { a, b } = await twoDomains();
    await writeFile(s, a.efsId, '/200001/f.txt', 'x');
    await control(s.emu.endpoint, 'POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', durationsMs: { TRANSFERRING: 3_600_000 } });
    const { executionArn } = await transfer(await location(a, '/200001'), await location(b, '/200001'));
    s.advance(30 * 60_000);
    expect((await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }))).Status).toBe('TRANSFERRING');
    s.advance(40 * 60_000);
    const e = await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
    expect(e.Status).toBe('SUCCESS');
    expect(e.Result?.TransferDuration).toBe(3_600_000);
  });
});

describe('tasks', () => {
  it('are limited to 100 per region, and the stats endpoint keeps the high-water mark of live tasks', async () => {
    const { a, b } = await twoDomains();
    const src = await location(a, '/');
    const dst = await location(b, '/');
    const arns: string[] = [];
    for (let i = 0; i < 100; i++) arns.push((await s.ds.send(new CreateTaskCommand({ SourceLocationArn: src, DestinationLocationArn: dst, Name: `t${i}` }))).TaskArn as string);
    const over = await caught(s.ds.send(new CreateTaskCommand({ SourceLocationArn: src, DestinationLocationArn: dst })));
    expect(over.name).toBe('InvalidRequestException');
    expect(over.message).toMatch(/maximum number of tasks \(100\)/);
    let page = await s.ds.send(new ListTasksCommand({ MaxResults: 60 }));
    expect(page.Tasks).toHaveLength(60);
    page = await s.ds.send(new ListTasksCommand({ MaxResults: 60, NextToken: page.NextToken }));
    expect(page.Tasks).toHaveLength(40);
    expect(page.NextToken).toBeUndefined();
    for (const arn of arns.slice(0, 30)) await s.ds.send(new DeleteTaskCommand({ TaskArn: arn }));
    await s.ds.send(new CreateTaskCommand({ SourceLocationArn: src, DestinationLocationArn: dst }));
    const stats = await control<Record<string, number>>(s.emu.endpoint, 'GET', '/services/datasync/stats');
    expect(stats.body).toMatchObject({ liveTasks: 71, maxLiveTasks: 100, tasksCreated: 101, tasksDeleted: 30, tasksRefusedByQuota: 1 });
    const reset = await control<Record<string, number>>(s.emu.endpoint, 'POST', '/services/datasync/stats/reset');
    expect(reset.body).toMatchObject({ maxLiveTasks: 71, tasksCreated: 0 });
    const inUse = await caught(s.ds.send(new DeleteLocationCommand({ LocationArn: src })));
    expect(inUse.name).toBe('InvalidRequestException');
    const filtered = await s.ds.send(new ListTasksCommand({ Filters: [{ Name: 'LocationId', Values: [src], Operator: 'Equals' }], MaxResults: 100 }));
    expect(filtered.Tasks).toHaveLength(71);
  });

  it('describe with their options over the defaults, tags, and refuse invalid option combinations', async () => {
    const { a, b } = await twoDomains();
    const { TaskArn } = await s.ds.send(
      new CreateTaskCommand({
        SourceLocationArn: await location(a, '/200001'),
        DestinationLocationArn: await location(b, '/200001'),
        Name: 'mlops-restore:r-1',
        Options: { OverwriteMode: 'NEVER', VerifyMode: 'ONLY_FILES_TRANSFERRED' },
        Tags: [{ Key: 'mlops:restore', Value: 'r-1' }],
      }),
    );
    const t = await s.ds.send(new DescribeTaskCommand({ TaskArn }));
    expect(t).toMatchObject({ Name: 'mlops-restore:r-1', Status: 'AVAILABLE' });
    expect(t.Options).toMatchObject({ OverwriteMode: 'NEVER', VerifyMode: 'ONLY_FILES_TRANSFERRED', TransferMode: 'CHANGED', PreserveDeletedFiles: 'PRESERVE', PosixPermissions: 'PRESERVE', Uid: 'INT_VALUE', Gid: 'INT_VALUE' });
    await s.ds.send(new TagResourceCommand({ ResourceArn: TaskArn, Tags: [{ Key: 'team', Value: 'ml' }] }));
    await s.ds.send(new UntagResourceCommand({ ResourceArn: TaskArn, Keys: ['mlops:restore'] }));
    expect((await s.ds.send(new ListTagsForResourceCommand({ ResourceArn: TaskArn }))).Tags).toEqual([{ Key: 'team', Value: 'ml' }]);
    const bad = await caught(
      s.ds.send(new CreateTaskCommand({ SourceLocationArn: await location(a, '/'), DestinationLocationArn: await location(b, '/'), Options: { Atime: 'BEST_EFFORT', Mtime: 'NONE' } })),
    );
    expect(bad.name).toBe('InvalidRequestException');
    const badEnum = await caught(s.ds.send(new CreateTaskCommand({ SourceLocationArn: await location(a, '/'), DestinationLocationArn: await location(b, '/'), Options: { OverwriteMode: 'SOMETIMES' as never } })));
    expect(badEnum.name).toBe('InvalidRequestException');
    expect(badEnum.message).toContain('Options.OverwriteMode');
    const nf = await caught(s.ds.send(new DescribeTaskCommand({ TaskArn: 'arn:aws:datasync:us-east-1:123456789012:task/task-00000000000000000' })));
    expect(nf.name).toBe('InvalidRequestException');
  });
});

describe('recovery across recreated profiles', () => {
  it('moves a user file from the old home to the new one on the same file system', async () => {
    const d = await createDomain(s, 'same');
    await allowNfsFromItself((await locationConfig(d.efsId)).groups);
    const oldUid = await createHome(s, d.domainId, 'user-profile', 'erin');
    await writeFile(s, d.efsId, `/${oldUid}/thesis.tex`, '\\documentclass{article}', { uid: Number(oldUid), gid: 1001 });
    const newUid = await createHome(s, d.domainId, 'space', 'erin-space');
    const { executionArn } = await transfer(await location(d, `/${oldUid}`), await location(d, `/${newUid}`), { OverwriteMode: 'NEVER', VerifyMode: 'ONLY_FILES_TRANSFERRED' });
    expect((await runToEnd(executionArn)).FilesTransferred).toBe(1);
    expect((await readFile(s, d.efsId, `/${newUid}/thesis.tex`))?.text).toBe('\\documentclass{article}');
  });
});
