/**
 * Issue 5's "Done when", end to end: the real SDK clients, the embedded Temporal server with time skipping, the AWS
 * emulator on the server's virtual clock delivering CloudTrail events to the real gateway over HTTP, the real
 * activities on a worker, the CLI's operations. Nothing is stubbed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../clients/gateway/server';
import * as cli from '../../clients/cli/commands/recovery';
import { UsageError } from '../../clients/cli/usage-error';
import type { ProfileKey } from '../../workflows/recovery/model';
import { Worker, type History } from '@temporalio/worker';
import { recoveryBundle, startEndToEndStack, type RecoveryStack } from './harness';
import { driver, eventually } from './drive';
import { studio, type Domain } from './studio';

const KEY = 'e2e-key';
let stack: RecoveryStack;
let gateway: RunningGateway;
let d: ReturnType<typeof driver>;
let s: ReturnType<typeof studio>;

beforeAll(async () => {
  ({ stack, gateway } = await startEndToEndStack({ apiKey: KEY }));
  d = driver(stack, undefined as never, KEY);
  s = studio(stack);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

const key = (domainName: string, kind: ProfileKey['kind'], name: string): ProfileKey => ({ domainName, kind, name });

/** A domain whose mount targets also admit NFS from their own group: `mlops recovery grant-access`, through the worker. */
async function domainWithAccess(name: string): Promise<Domain> {
  const dom = await s.createDomain(name);
  const sg = await s.mountTargetGroup(dom.efsId);
  const grant = await cli.grantAccess(stack.client, dom.efsId, sg);
  expect(grant.rulesAdded + grant.rulesAlreadyPresent).toBeGreaterThan(0);
  return dom;
}

/** Creates a user profile, lets recovery record its home and its app start (the directory exists then); its home uid. */
async function userWithHome(dom: Domain, name: string): Promise<string> {
  await s.create(dom, 'user-profile', name);
  await d.homesSeen(key(dom.name, 'user-profile', name), 1);
  await stack.sleep(3 * 60_000);
  return await s.homeUid(dom, 'user-profile', name);
}

/** `mlops recovery ...` as an operator runs it, against this stack. */
function runRecoveryCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../clients/cli/main.ts'), 'recovery', ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack.address, MLOPS_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('profile recovery end to end', () => {
  it('a user profile and a space each get their own file back after being deleted and recreated', async () => {
    const dom = await domainWithAccess('studio');
    const alice = key('studio', 'user-profile', 'alice');
    const team = key('studio', 'space', 'team');
    await s.create(dom, 'user-profile', 'alice');
    await s.create(dom, 'space', 'team');
    await d.homesSeen(alice, 1);
    await d.homesSeen(team, 1);
    await stack.sleep(3 * 60_000);
    const aliceOld = await s.homeUid(dom, 'user-profile', 'alice');
    const teamOld = await s.homeUid(dom, 'space', 'team');
    await s.writeFile(dom.efsId, `/${aliceOld}/notebooks/alice.ipynb`, 'alice notebook', Number(aliceOld));
    await s.writeFile(dom.efsId, `/${teamOld}/data/team.csv`, 'team,data', Number(teamOld));

    await s.remove(dom, 'user-profile', 'alice');
    await s.remove(dom, 'space', 'team');
    await s.create(dom, 'user-profile', 'alice');
    await s.create(dom, 'space', 'team');

    const ra = await d.restoreEnded(alice, 1, 60_000);
    const rt = await d.restoreEnded(team, 1, 60_000);
    expect(ra).toMatchObject({ status: 'succeeded', figures: { filesTransferred: expect.any(Number) } });
    expect(rt.status).toBe('succeeded');
    const aliceNew = await s.homeUid(dom, 'user-profile', 'alice');
    const teamNew = await s.homeUid(dom, 'space', 'team');
    expect(aliceNew).not.toBe(aliceOld);
    expect(await s.homeFiles(dom.efsId, aliceNew)).toEqual({ 'notebooks/alice.ipynb': 'alice notebook' });
    expect(await s.homeFiles(dom.efsId, teamNew)).toEqual({ 'data/team.csv': 'team,data' });
    expect(ra.figures!.bytesWritten).toBeGreaterThanOrEqual('alice notebook'.length);
    expect(await s.dataSyncStats()).toMatchObject({ liveTasks: 0, liveLocations: 0 });
  }, 120_000);

  it('nothing in the new home is overwritten or deleted: work written there before the copy (even a same-named file) stays, and the copy brings the rest', async () => {
    const dom = await domainWithAccess('keep');
    const hana = key('keep', 'user-profile', 'hana');
    const oldUid = await userWithHome(dom, 'hana');
    await s.writeFile(dom.efsId, `/${oldUid}/notes.md`, 'old notes', Number(oldUid));
    await s.writeFile(dom.efsId, `/${oldUid}/data/train.csv`, 'old,data', Number(oldUid));
    await s.writeFile(dom.efsId, `/${oldUid}/data/labels.csv`, 'old,labels', Number(oldUid));
    await s.remove(dom, 'user-profile', 'hana');

    // Recreated; before the copy can start (its app is not up yet) the user already works in the new home.
    await s.create(dom, 'user-profile', 'hana', { app: false });
    await d.homesSeen(hana, 2);
    const newUid = await s.homeUid(dom, 'user-profile', 'hana');
    await s.writeFile(dom.efsId, `/${newUid}/notes.md`, 'my NEW notes', Number(newUid));
    await s.writeFile(dom.efsId, `/${newUid}/data/labels.csv`, 'new,labels', Number(newUid));
    await s.writeFile(dom.efsId, `/${newUid}/scratch/today.py`, 'print(1)', Number(newUid));
    await s.startApp(dom, 'user-profile', 'hana');

    const r = await d.restoreEnded(hana, 1, 60_000);
    expect(r.status).toBe('succeeded');
    expect(await s.homeFiles(dom.efsId, newUid)).toEqual({
      'notes.md': 'my NEW notes',
      'data/labels.csv': 'new,labels',
      'scratch/today.py': 'print(1)',
      'data/train.csv': 'old,data',
    });
    expect(r.figures).toMatchObject({ filesTransferred: 1 });
  }, 120_000);

  it('a domain deleted (retain) and recreated under the same name: the files move across file systems', async () => {
    // No grant-access: DataSync reaches both file systems through Studio's outbound-NFS group.
    const first = await s.createDomain('lab');
    const bob = key('lab', 'user-profile', 'bob');
    const oldUid = await userWithHome(first, 'bob');
    await s.writeFile(first.efsId, `/${oldUid}/model.pkl`, 'weights', Number(oldUid));
    await s.remove(first, 'user-profile', 'bob');
    await s.deleteDomainRetainingHomes(first);

    const second = await s.createDomain('lab');
    expect(second.efsId).not.toBe(first.efsId);
    await s.create(second, 'user-profile', 'bob');
    const r = await d.restoreEnded(bob, 1, 60_000);
    expect(r).toMatchObject({ status: 'succeeded', from: { efsId: first.efsId }, to: { efsId: second.efsId, domainId: second.domainId } });
    expect(await s.homeFiles(second.efsId, await s.homeUid(second, 'user-profile', 'bob'))).toEqual({ 'model.pkl': 'weights' });
  }, 120_000);

  it('copy to a profile that does not exist yet runs when it is created; disable prevents a restore; a duplicated event gives one restore', async () => {
    const dom = await domainWithAccess('team');
    const carol = key('team', 'user-profile', 'carol');
    const carolUid = await userWithHome(dom, 'carol');
    await s.writeFile(dom.efsId, `/${carolUid}/handover.md`, 'for dave', Number(carolUid));

    // dave does not exist yet: the copy waits for him.
    const copy = await cli.copy(stack.client, 'team/carol', 'team/dave');
    expect(copy).toMatchObject({ pending: true, sourceHome: { homeUid: carolUid } });
    await expect(cli.copy(stack.client, 'team/carol', 'nowhere/dave')).rejects.toThrow(/unknown domain nowhere/);
    await expect(cli.copy(stack.client, 'team/nobody', 'team/dave')).rejects.toThrow(UsageError);
    const dave = key('team', 'user-profile', 'dave');
    await s.create(dom, 'user-profile', 'dave');
    const rc = await d.restoreEnded(dave, 1, 60_000);
    expect(rc).toMatchObject({ status: 'succeeded', reason: 'copy', source: carol });
    expect(await s.homeFiles(dom.efsId, await s.homeUid(dom, 'user-profile', 'dave'))).toEqual({ 'handover.md': 'for dave' });

    // disable: carol recreated, no restore.
    expect(await cli.setReplication(stack.client, 'team/carol', false)).toMatchObject({ replication: false, changed: true });
    await s.remove(dom, 'user-profile', 'carol');
    await s.create(dom, 'user-profile', 'carol');
    await d.homesSeen(carol, 2);
    await stack.sleep(10 * 60_000);
    expect((await d.statusOf(carol)).restoresEver).toBe(0);

    // The CloudTrail event of that creation, delivered again: refused as a duplicate, nothing changes.
    const events = await s.control<{ events: { event: { detail: { eventName: string; requestParameters: { userProfileName?: string } } } }[] }>(
      'GET',
      '/events?source=aws.sagemaker',
    );
    const last = events.body.events.filter((e) => e.event.detail.eventName === 'CreateUserProfile' && e.event.detail.requestParameters.userProfileName === 'carol').pop();
    expect(last).toBeDefined();
    const again = await fetch(`${gateway.url}/events/eventbridge`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(last!.event) });
    expect(await again.json()).toMatchObject({ status: 'duplicate' });
    await cli.setReplication(stack.client, 'team/carol', true);
    const st = await d.statusOf(carol);
    expect(st).toMatchObject({ restoresEver: 0, replication: true });
    expect(st.homes).toHaveLength(2);
  }, 120_000);

  it('injected DataSync throttling, 5xx, lost create answers and a worker stopped mid-copy still end in one successful restore: exactly one task and one pair of locations, nothing left behind', async () => {
    const dom = await domainWithAccess('ops');
    const erin = key('ops', 'user-profile', 'erin');
    const oldUid = await userWithHome(dom, 'erin');
    for (let i = 0; i < 5; i++) await s.writeFile(dom.efsId, `/${oldUid}/runs/run-${i}.json`, `{"run":${i}}`, Number(oldUid));
    await s.remove(dom, 'user-profile', 'erin');

    const before = await s.dataSyncStats();
    const faults = [
      { service: 'datasync', operation: 'CreateLocationEfs', error: 'ThrottlingException', httpStatus: 400, count: 4 },
      // Both locations' answers lost after DataSync created them, then a 5xx.
      { service: 'datasync', operation: 'CreateLocationEfs', mode: 'after-commit', count: 2 },
      { service: 'datasync', operation: 'CreateTask', mode: 'after-commit', count: 1 },
      { service: 'datasync', operation: 'CreateTask', httpStatus: 500, count: 1 },
      { service: 'datasync', operation: 'StartTaskExecution', error: 'ThrottlingException', httpStatus: 400, count: 5 },
      { service: 'datasync', operation: 'StartTaskExecution', mode: 'after-commit', count: 1 },
    ];
    for (const f of faults) expect((await s.control('POST', '/faults', f)).status).toBeLessThan(300);
    await s.create(dom, 'user-profile', 'erin');

    // Stop the worker while the execution runs, let time pass, start a new one.
    await eventually('a running DataSync execution', async () => ((await s.control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions > 0 ? true : undefined), 30_000, 20);
    await stack.stopWorker();
    await stack.startWorker();

    const r = await d.restoreEnded(erin, 1, 60_000);
    expect(r.status).toBe('succeeded');
    const fresh = await s.homeUid(dom, 'user-profile', 'erin');
    expect(Object.keys(await s.homeFiles(dom.efsId, fresh)).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `runs/run-${i}.json`));
    expect((await d.statusOf(erin)).restoresEver).toBe(1);
    const after = await s.dataSyncStats();
    expect(after).toMatchObject({ liveTasks: 0, liveLocations: 0 });
    // What a lost answer created was found by its tags and adopted: never a second one.
    expect(after.tasksCreated - before.tasksCreated).toBe(1);
    expect(after.locationsCreated - before.locationsCreated).toBe(2);
    expect(after.executionsStarted - before.executionsStarted).toBe(1);
    const journal = await s.control<{ entries: { operation: string; error?: string; fault?: string }[] }>('GET', '/journal?service=datasync');
    expect(journal.body.entries.filter((e) => e.error === 'ThrottlingException').length).toBe(9);
    expect(journal.body.entries.filter((e) => e.error?.startsWith('ConnectionReset')).length).toBe(4);
    await s.control('DELETE', '/faults');
  }, 120_000);

  it('seed records the current home of profiles recovery did not know, copying nothing; it is idempotent', async () => {
    const dom = await domainWithAccess('seeded');
    const frank = key('seeded', 'user-profile', 'frank');
    await s.create(dom, 'user-profile', 'frank');
    await d.homesSeen(frank, 1);
    // As if recovery were installed after frank was created: no workflow knows him.
    await stack.client.workflow.getHandle('recovery/seeded/user-profile/frank').terminate('forget frank');
    const first = await cli.seed(stack.client);
    expect(first.domains).toContainEqual({ domainName: 'seeded', domainId: dom.domainId, efsId: dom.efsId, userProfiles: 1, spaces: 0 });
    await d.homesSeen(frank, 1);
    const again = await cli.seed(stack.client);
    expect(again.recorded).toBe(first.recorded);
    const st = await d.statusOf(frank);
    expect(st.homes.map((h) => h.source)).toEqual(['seed']);
    expect(st.homes[0]).toMatchObject({ domainId: dom.domainId, efsId: dom.efsId, homeUid: await s.homeUid(dom, 'user-profile', 'frank') });
    expect(st.restoresEver).toBe(0);
  }, 120_000);

  it('grant-access names an unknown file system or security group in one line, changing nothing', async () => {
    await expect(cli.grantAccess(stack.client, 'fs-0123456789abcdef0', 'sg-0123456789abcdef0')).rejects.toThrow(UsageError);
    const dom = await s.createDomain('no-access');
    await expect(cli.grantAccess(stack.client, dom.efsId, 'sg-0123456789abcdef0')).rejects.toThrow(/sg-0123456789abcdef0/);
  }, 60_000);

  it('the mlops recovery CLI: --json output, a table, and operator mistakes as one line with exit code 2', async () => {
    const run = runRecoveryCli;
    const all = await run('status', '--json');
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { workflowId: string; lastRestore?: { status: string } }[];
    expect(rows.find((r) => r.workflowId === 'recovery/studio/user-profile/alice')?.lastRestore?.status).toBe('succeeded');
    const table = await run('status');
    expect(table.stdout).toMatch(/^PROFILE\s+REPLICATION\s+HOME\s+RESTORES\s+LAST RESTORE/);
    expect(table.stdout).toMatch(/studio\/space:team\s+on\s+fs-\S+\s+1\s+#1 succeeded/);
    const one = await run('status', 'studio/alice');
    expect(one.stdout).toContain('replication: on');

    for (const args of [['disable', 'nowhere/nobody', '--json'], ['grant-access', '--efs-id', 'fs-0123456789abcdef0', '--security-group', 'sg-0123456789abcdef0', '--json'], ['copy', '--from', 'studio/alice', '--to', 'nowhere/x']]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^mlops: /);
    }
  }, 120_000);

  it('the CLI names the cause of a failure (not "Workflow execution failed"), and refuses at once when no worker polls', async () => {
    const dom = await s.createDomain('denied');
    await s.control('POST', '/faults', { service: 'ec2', operation: 'AuthorizeSecurityGroupIngress', error: 'UnauthorizedOperation', httpStatus: 403, count: 10, mode: 'before' });
    try {
      const denied = await runRecoveryCli('grant-access', '--efs-id', dom.efsId, '--security-group', await s.mountTargetGroup(dom.efsId));
      expect(denied.code).toBe(1);
      expect(denied.stderr.trim().split('\n')).toHaveLength(1);
      expect(denied.stderr).toMatch(/^mlops: AccessDenied: .*UnauthorizedOperation/);
    } finally {
      await s.control('DELETE', '/faults');
    }

    await stack.stopWorker();
    try {
      stack.advance(6 * 60_000); // the worker's last poll is past the 5 minutes the server remembers
      const started = Date.now();
      const r = await runRecoveryCli('status', '--json');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^mlops: no worker is polling the task queue mlops-recovery .*mlops worker/);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await stack.startWorker();
    }
  }, 120_000);

  it('the production worker (mlops worker) killed with SIGKILL in the middle of a copy: another worker finishes the one restore, nothing left behind', async () => {
    const dom = await domainWithAccess('killed');
    const gina = key('killed', 'user-profile', 'gina');
    const oldUid = await userWithHome(dom, 'gina');
    await s.writeFile(dom.efsId, `/${oldUid}/thesis.tex`, 'chapter 1', Number(oldUid));
    await s.remove(dom, 'user-profile', 'gina');

    await stack.stopWorker();
    const worker = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../clients/cli/main.ts'), 'worker'], {
      env: { ...process.env, TEMPORAL_ADDRESS: stack.address, MLOPS_AWS: 'emulator', AWS_ENDPOINT_URL: stack.endpoint, MLOPS_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => worker.on('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        let log = '';
        worker.stderr!.on('data', (b: Buffer) => {
          log += b.toString();
          if (/"taskQueue":"mlops-recovery".*worker polling/.test(log)) resolve();
        });
        worker.on('exit', (code) => reject(new Error(`mlops worker exited ${code}: ${log.slice(-2000)}`)));
      });
      const before = await s.dataSyncStats();
      await s.create(dom, 'user-profile', 'gina');
      await eventually('the copy to run on the spawned worker', async () => ((await s.control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions > 0 ? true : undefined), 60_000, 20);
      worker.kill('SIGKILL');
      await exited;
      await stack.startWorker();
      // The killed worker's activity is only given up when its start-to-close timeout (at most 2 minutes) elapses.
      stack.advance(2 * 60_000 + 1_000);

      const r = await d.restoreEnded(gina, 1, 60_000);
      expect(r.status).toBe('succeeded');
      expect(await s.homeFiles(dom.efsId, await s.homeUid(dom, 'user-profile', 'gina'))).toEqual({ 'thesis.tex': 'chapter 1' });
      expect((await d.statusOf(gina)).restoresEver).toBe(1);
      const after = await s.dataSyncStats();
      expect(after).toMatchObject({ liveTasks: 0, liveLocations: 0 });
      expect(after.tasksCreated - before.tasksCreated).toBe(1);
    } finally {
      worker.kill('SIGKILL');
      await exited;
    }
  }, 180_000);

  it('a DataSync quota smaller than the cap (other tools hold tasks): restores retry QuotaExceeded and all finish', async () => {
    const dom = await domainWithAccess('quota');
    const names = ['q1', 'q2', 'q3', 'q4'];
    for (const n of names) await s.create(dom, 'user-profile', n);
    for (const n of names) await d.homesSeen(key('quota', 'user-profile', n), 1);
    await stack.sleep(3 * 60_000);
    for (const n of names) {
      const uid = await s.homeUid(dom, 'user-profile', n);
      await s.writeFile(dom.efsId, `/${uid}/${n}.txt`, n, Number(uid));
    }
    for (const n of names) await s.remove(dom, 'user-profile', n);
    const settings = (await s.control<{ tasksPerRegion: number }>('GET', '/services/datasync/settings')).body;
    await s.control('PUT', '/services/datasync/settings', { ...settings, tasksPerRegion: 2 });
    try {
      const refusedBefore = (await s.control<{ tasksRefusedByQuota: number }>('GET', '/services/datasync/stats')).body.tasksRefusedByQuota;
      for (const n of names) await s.create(dom, 'user-profile', n);
      for (const n of names) {
        expect((await d.restoreEnded(key('quota', 'user-profile', n), 1, 180_000)).status).toBe('succeeded');
        expect(await s.homeFiles(dom.efsId, await s.homeUid(dom, 'user-profile', n))).toEqual({ [`${n}.txt`]: n });
      }
      const stats = (await s.control<{ tasksRefusedByQuota: number; liveTasks: number; liveLocations: number }>('GET', '/services/datasync/stats')).body;
      expect(stats.tasksRefusedByQuota).toBeGreaterThan(refusedBefore);
      expect(stats).toMatchObject({ liveTasks: 0, liveLocations: 0 });
    } finally {
      await s.control('PUT', '/services/datasync/settings', settings);
    }
  }, 240_000);

  it('a profile workflow terminated mid-copy and started afresh: its restore/1 deletes the task the old restore/1 left, and copies for real', async () => {
    const dom = await domainWithAccess('reuse');
    const hal = key('reuse', 'user-profile', 'hal');
    const first = await userWithHome(dom, 'hal');
    await s.writeFile(dom.efsId, `/${first}/first.txt`, 'first home', Number(first));
    await s.remove(dom, 'user-profile', 'hal');
    await s.create(dom, 'user-profile', 'hal');
    await eventually('the first restore to be copying', async () => ((await s.dataSyncStats()).liveTasks > 0 && (await d.statusOf(hal)).restores[0]?.status === 'running' ? true : undefined), 60_000, 20);
    // An operator terminates both: the task and its execution stay behind, and the execution goes on to succeed.
    await stack.client.workflow.getHandle(`recovery/reuse/user-profile/hal/restore/1`).terminate('operator');
    await stack.client.workflow.getHandle('recovery/reuse/user-profile/hal').terminate('operator');
    await stack.sleep(10 * 60_000);
    expect((await s.dataSyncStats()).liveTasks).toBe(1);

    // Recovery starts afresh for hal: seed records the current home, the next recreation is restore/1 again.
    await cli.seed(stack.client);
    const second = await s.homeUid(dom, 'user-profile', 'hal');
    await s.writeFile(dom.efsId, `/${second}/second.txt`, 'second home', Number(second));
    await s.remove(dom, 'user-profile', 'hal');
    await s.create(dom, 'user-profile', 'hal');
    const r = await d.restoreEnded(hal, 1, 60_000);
    expect(r.status).toBe('succeeded');
    expect(r.from.homeUid).toBe(second);
    const third = await s.homeUid(dom, 'user-profile', 'hal');
    // The terminated restore's execution had finished copying the first home into the second one.
    expect(await s.homeFiles(dom.efsId, third)).toEqual({ 'first.txt': 'first home', 'second.txt': 'second home' });
    expect(await s.dataSyncStats()).toMatchObject({ liveTasks: 0, liveLocations: 0 });
  }, 120_000);

  it('every workflow history of these runs replays without a nondeterminism error', async () => {
    const histories: { workflowId: string; history: History }[] = [];
    for await (const wf of stack.client.workflow.list()) {
      const history = await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push({ workflowId: wf.workflowId, history });
    }
    const types = new Set<string>();
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: await recoveryBundle(), replayName: 'recovery-e2e' }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    for (const h of histories) types.add(h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?');
    expect(failures).toEqual([]);
    expect([...types].sort()).toEqual(expect.arrayContaining(['dataSyncSlots', 'grantEfsAccess', 'lookupProfiles', 'profileRecovery', 'recoveryEventIntake', 'restoreHomeDirectory', 'seedRecovery']));
  }, 120_000);
});
