/**
 * The recovery workflows on the embedded Temporal server with time skipping, the AWS side replaced by FakeCloud at
 * activity granularity; events enter through the real gateway. Pins the decisions, the DataSync cap and cleanup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from '../../clients/gateway/server';
import { DATASYNC_SLOTS_WORKFLOW_ID, RECOVERY_TASK_QUEUE, profileWorkflowId, type ProfileKey, type ProfileKind } from '../../workflows/recovery/model';
import { slotsQuery } from '../../workflows/recovery/messages';
import * as cli from '../../clients/cli/commands/recovery';
import { UsageError } from '../../clients/cli/usage-error';
import { FakeCloud } from './fake-cloud';
import { startRecoveryStack, type RecoveryStack } from './harness';
import { driver, eventually } from './drive';

const KEY = 'test-key';
let stack: RecoveryStack;
let cloud: FakeCloud;
let gateway: FastifyInstance;

beforeAll(async () => {
  let c: FakeCloud | undefined;
  stack = await startRecoveryStack({
    activities: ({ client, clock }) => {
      c ??= new FakeCloud(clock);
      return c.activities(client);
    },
  });
  cloud = c!;
  gateway = buildGateway({ client: stack.client, log: pino({ level: 'silent' }), apiKey: KEY });
  d = driver(stack, gateway, KEY);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

let d: ReturnType<typeof driver>;
const { deliver, statusOf, homesSeen, restoreEnded } = {
  deliver: (e: unknown) => d.deliver(e),
  statusOf: (k: ProfileKey) => d.statusOf(k),
  homesSeen: (k: ProfileKey, n: number) => d.homesSeen(k, n),
  restoreEnded: (k: ProfileKey, id: number) => d.restoreEnded(k, id),
};
const cloudTrailEvent = (domainId: string, kind: ProfileKind, name: string) => d.event(domainId, kind, name);

/** Creates (or recreates) the profile in the fake cloud and delivers its CloudTrail event through the gateway. */
async function create(domainId: string, kind: ProfileKind, name: string): Promise<string> {
  const uid = cloud.createProfile(domainId, kind, name);
  await deliver(cloudTrailEvent(domainId, kind, name));
  return uid;
}

describe('profile recovery workflows', () => {
  it('a recreated user profile and space each get their own old files back; the copy is cleaned up', async () => {
    cloud.addDomain('d-aaaaaaaaaaaa', 'research', 'fs-aaaa');
    const alice: ProfileKey = { domainName: 'research', kind: 'user-profile', name: 'alice' };
    const team: ProfileKey = { domainName: 'research', kind: 'space', name: 'team' };
    const aliceOld = await create('d-aaaaaaaaaaaa', 'user-profile', 'alice');
    const teamOld = await create('d-aaaaaaaaaaaa', 'space', 'team');
    cloud.write('fs-aaaa', aliceOld, 'notebook.ipynb', 'alice work');
    cloud.write('fs-aaaa', teamOld, 'shared.csv', 'team data');
    await homesSeen(alice, 1);
    await homesSeen(team, 1);

    const aliceNew = await create('d-aaaaaaaaaaaa', 'user-profile', 'alice');
    const teamNew = await create('d-aaaaaaaaaaaa', 'space', 'team');
    const ra = await restoreEnded(alice, 1);
    const rt = await restoreEnded(team, 1);
    expect(ra).toMatchObject({ status: 'succeeded', reason: 'recreated', figures: { filesTransferred: 1, bytesWritten: 'alice work'.length } });
    expect(rt.status).toBe('succeeded');
    expect(cloud.read('fs-aaaa', aliceNew)).toEqual({ 'notebook.ipynb': 'alice work' });
    expect(cloud.read('fs-aaaa', teamNew)).toEqual({ 'shared.csv': 'team data' });
    // Waited for the app (3 min) and the transfer (10 min), in virtual time.
    expect(ra.figures!.durationMs).toBeGreaterThanOrEqual(13 * 60_000);
    expect(cloud.liveTasks.size).toBe(0);
  });

  it('a duplicated CloudTrail event gives one restore; disable prevents one; enable restores again', async () => {
    cloud.addDomain('d-bbbbbbbbbbbb', 'ops', 'fs-bbbb');
    const bob: ProfileKey = { domainName: 'ops', kind: 'user-profile', name: 'bob' };
    await create('d-bbbbbbbbbbbb', 'user-profile', 'bob');
    await homesSeen(bob, 1);
    cloud.createProfile('d-bbbbbbbbbbbb', 'user-profile', 'bob');
    const ev = cloudTrailEvent('d-bbbbbbbbbbbb', 'user-profile', 'bob');
    expect(await deliver(ev)).toBe('accepted');
    expect(await deliver(ev)).toBe('duplicate');
    await restoreEnded(bob, 1);
    expect((await statusOf(bob)).restoresEver).toBe(1);

    expect(await cli.setReplication(stack.client, 'ops/bob', false)).toMatchObject({ replication: false, changed: true });
    await create('d-bbbbbbbbbbbb', 'user-profile', 'bob');
    await homesSeen(bob, 3);
    const s = await statusOf(bob);
    expect(s.restoresEver).toBe(1);
    expect(s.audit.map((a) => a.action)).toEqual(['disable']);

    await cli.setReplication(stack.client, 'ops/bob', true);
    await create('d-bbbbbbbbbbbb', 'user-profile', 'bob');
    expect((await restoreEnded(bob, 2)).status).toBe('succeeded');
  });

  it('operator mistakes are one clear line and change nothing', async () => {
    await expect(cli.setReplication(stack.client, 'nowhere/nobody', false)).rejects.toThrow(UsageError);
    await expect(cli.status(stack.client, 'nowhere/nobody')).rejects.toThrow(/unknown user profile nobody in domain nowhere/);
    await expect(stack.client.workflow.getHandle(profileWorkflowId({ domainName: 'nowhere', kind: 'user-profile', name: 'nobody' })).describe()).rejects.toThrow();
  });

  it('an event whose AWS lookup is refused as malformed ends its intake as failed, instead of retrying it for ever', async () => {
    cloud.addDomain('d-eeeeeeeeeeee', 'malformed', 'fs-eeee');
    cloud.malformedDomains.add('d-eeeeeeeeeeee');
    cloud.createProfile('d-eeeeeeeeeeee', 'user-profile', 'eve');
    const ev = cloudTrailEvent('d-eeeeeeeeeeee', 'user-profile', 'eve');
    const res = await gateway.inject({ method: 'POST', url: '/events/eventbridge', headers: { 'x-api-key': KEY }, payload: ev });
    expect(res.json()).toMatchObject({ status: 'accepted' });
    const intake = stack.client.workflow.getHandle((res.json() as { workflowId: string }).workflowId);
    // Retried for ever, the intake would never end (time skipping races through the backoff): bound the wait.
    const ended = await Promise.race([intake.result().then(() => 'completed', (err: Error) => `failed: ${String(((err.cause as Error | undefined)?.cause as Error | undefined)?.message ?? err.message)}`), new Promise((r) => setTimeout(() => r('still retrying'), 15_000))]);
    expect(ended).toMatch(/^failed: .*ValidationException/);
    expect((await intake.describe()).status.name).toBe('FAILED');
  });

  it('a profile created again but never opened: its restore gives up after the home wait and retry waits again; an operator cancels a waiting restore', async () => {
    cloud.addDomain('d-ffffffffffff', 'idle', 'fs-ffff');
    const fay: ProfileKey = { domainName: 'idle', kind: 'user-profile', name: 'fay' };
    // A short wait: the default (30 days) would be thousands of polls here.
    await stack.client.workflow.start('profileRecovery', { workflowId: profileWorkflowId(fay), taskQueue: RECOVERY_TASK_QUEUE, args: [{ key: fay, homeWaitTimeout: '2 hours' }] });
    const first = await create('d-ffffffffffff', 'user-profile', 'fay');
    await homesSeen(fay, 1);
    cloud.write('fs-ffff', first, 'thesis.tex', 'chapter 1');

    const never = cloud.createProfile('d-ffffffffffff', 'user-profile', 'fay', { appStarts: false });
    await deliver(cloudTrailEvent('d-ffffffffffff', 'user-profile', 'fay'));
    const gaveUp = await restoreEnded(fay, 1);
    expect(gaveUp.status).toBe('failed');
    expect(gaveUp.error).toMatch(/^gave up waiting: user-profile fay was not opened .* within 2 hours; `mlops recovery retry idle\/fay` waits again/);
    // It waited the whole wait, but for the last poll interval (the server does not retry past the deadline).
    expect(Date.parse(gaveUp.endedAt!) - Date.parse(gaveUp.startedAt!)).toBeGreaterThan(2 * 3600_000 - 5 * 60_000);
    expect(cloud.liveTasks.size).toBe(0);

    // Opened at last: retry resumes it.
    cloud.profiles.get('d-ffffffffffff/user-profile/fay')!.readyAt = stack.clock.now();
    expect(await cli.retry(stack.client, 'idle/fay')).toMatchObject({ retryOf: 1, restoreId: 2 });
    expect(await restoreEnded(fay, 2)).toMatchObject({ status: 'succeeded', retryOf: 1 });
    expect(cloud.read('fs-ffff', never)).toEqual({ 'thesis.tex': 'chapter 1' });

    // Created again, not opened: the operator cancels the waiting restore, and the profile takes the next one at once.
    cloud.createProfile('d-ffffffffffff', 'user-profile', 'fay', { appStarts: false });
    await deliver(cloudTrailEvent('d-ffffffffffff', 'user-profile', 'fay'));
    await eventually('restore 3 to wait', async () => ((await statusOf(fay)).restores.find((r) => r.id === 3)?.status === 'running' ? true : undefined));
    expect(await cli.cancel(stack.client, 'idle/fay')).toMatchObject({ restoreId: 3, wasRunning: true });
    const cancelled = await restoreEnded(fay, 3);
    expect(cancelled).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/^cancelled by .*mlops cli/) });
    expect((await stack.client.workflow.getHandle(cancelled.workflowId).describe()).status.name).toBe('CANCELLED');
    expect((await statusOf(fay)).audit.map((a) => a.action)).toContain('cancel-requested');
    await expect(cli.cancel(stack.client, 'idle/fay')).rejects.toThrow(/no running or queued restore to cancel/);
    await expect(cli.cancel(stack.client, 'idle/fay', 2)).rejects.toThrow(/restore #2 is succeeded/);
    // A cancelled restore can be run again.
    expect(await cli.retry(stack.client, 'idle/fay', 3)).toMatchObject({ retryOf: 3, restoreId: 4 });
    expect(await cli.cancel(stack.client, 'idle/fay', 4)).toMatchObject({ restoreId: 4 });
    expect((await restoreEnded(fay, 4)).status).toBe('cancelled');
  });

  it('status of all profiles runs the queries concurrently and reports one that fails instead of failing whole; restores and slots views', async () => {
    cloud.addDomain('d-gggggggggggg', 'views', 'fs-gggg');
    const gus: ProfileKey = { domainName: 'views', kind: 'user-profile', name: 'gus' };
    await create('d-gggggggggggg', 'user-profile', 'gus');
    await homesSeen(gus, 1);
    await create('d-gggggggggggg', 'user-profile', 'gus');
    expect((await restoreEnded(gus, 1)).status).toBe('succeeded');
    // A profile workflow whose status query fails (started without its key).
    const broken = await stack.client.workflow.start('profileRecovery', { workflowId: 'recovery/views/user-profile/broken', taskQueue: RECOVERY_TASK_QUEUE, args: [{}] });
    try {
      const all = await cli.statusAll(stack.client, 4);
      expect(all.failed.map((f) => f.workflowId)).toEqual(['recovery/views/user-profile/broken']);
      expect(all.profiles.map((p) => p.workflowId)).toContain(profileWorkflowId(gus));
      await expect(cli.status(stack.client)).rejects.toThrow(/could not query 1 profile workflows: recovery\/views\/user-profile\/broken/);
      const succeeded = await cli.restores(stack.client, ['succeeded']);
      expect(succeeded.restores).toContainEqual({ profile: 'views/gus', restore: expect.objectContaining({ id: 1, status: 'succeeded' }) });
      expect((await cli.restores(stack.client)).restores.some((r) => r.profile === 'views/gus')).toBe(false);
      const sl = await cli.slots(stack.client);
      expect(sl).toMatchObject({ capacity: 90, holders: [], waiting: [] });
      expect(sl!.grantedEver).toBeGreaterThan(0);
    } finally {
      await broken.terminate('test done');
    }
  });

  it('a failed transfer is recorded as failed and still leaves no DataSync task behind', async () => {
    cloud.addDomain('d-cccccccccccc', 'fails', 'fs-cccc');
    const carol: ProfileKey = { domainName: 'fails', kind: 'user-profile', name: 'carol' };
    await create('d-cccccccccccc', 'user-profile', 'carol');
    await homesSeen(carol, 1);
    cloud.failing.add(`${profileWorkflowId(carol)}/restore/1`);
    await create('d-cccccccccccc', 'user-profile', 'carol');
    const r = await restoreEnded(carol, 1);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/injected/);
    expect(cloud.liveTasks.size).toBe(0);

    // The operator fixes the cause and runs it again: the same old home into the current one, as restore #2.
    cloud.failing.delete(`${profileWorkflowId(carol)}/restore/1`);
    const again = await cli.retry(stack.client, 'fails/carol');
    expect(again).toMatchObject({ retryOf: 1, restoreId: 2 });
    const r2 = await restoreEnded(carol, 2);
    expect(r2).toMatchObject({ status: 'succeeded', retryOf: 1, from: r.from, to: r.to });
    // Only a failed restore runs again, and a wrong number changes nothing.
    await expect(cli.retry(stack.client, 'fails/carol', 2)).rejects.toThrow(/restore #2 is succeeded/);
    await expect(cli.retry(stack.client, 'fails/carol', 9)).rejects.toThrow(/no restore #9/);
    await expect(cli.retry(stack.client, 'fails/carol')).rejects.toThrow(UsageError);
    expect((await cli.status(stack.client, 'fails/carol'))[0]?.restoresEver).toBe(2);
  });

  it('cleanup refused for a missing permission is retried until it goes through: no DataSync task is left', async () => {
    cloud.addDomain('d-dddddddddddd', 'denied', 'fs-dddd');
    const dan: ProfileKey = { domainName: 'denied', kind: 'user-profile', name: 'dan' };
    await create('d-dddddddddddd', 'user-profile', 'dan');
    await homesSeen(dan, 1);
    cloud.deletesDenied = 3;
    await create('d-dddddddddddd', 'user-profile', 'dan');
    expect((await restoreEnded(dan, 1)).status).toBe('succeeded');
    expect(cloud.deletesDenied).toBe(0);
    expect(cloud.liveTasks.size).toBe(0);
  });

  it('150 profiles recreated at once all recover and never hold more live tasks than the cap', async () => {
    cloud.addDomain('d-manymanymany', 'many', 'fs-many');
    const names = Array.from({ length: 150 }, (_, i) => `user-${i}`);
    const keys = names.map((name): ProfileKey => ({ domainName: 'many', kind: 'user-profile', name }));
    await Promise.all(names.map((n) => create('d-manymanymany', 'user-profile', n)));
    await Promise.all(keys.map((k) => homesSeen(k, 1)));
    cloud.maxLiveTasks = 0;
    const startVirtual = stack.clock.now();
    const startWall = Date.now();
    await Promise.all(names.map((n) => create('d-manymanymany', 'user-profile', n)));
    // Watch the fake cloud rather than 150 pollers: each query costs a workflow task.
    const deletedBefore = cloud.tasksDeleted;
    await eventually('150 copies to finish and be cleaned up', async () => (cloud.tasksDeleted - deletedBefore >= 150 ? true : undefined), 100_000, 500);
    const restores = [];
    for (const k of keys) restores.push(await restoreEnded(k, 1));
    expect(restores.every((r) => r.status === 'succeeded')).toBe(true);
    expect(cloud.maxLiveTasks).toBeLessThanOrEqual(90);
    expect(cloud.maxLiveTasks).toBeGreaterThan(45);
    expect(cloud.liveTasks.size).toBe(0);

    const lengths = await Promise.all(restores.map(async (r) => (await stack.client.workflow.getHandle(r.workflowId).fetchHistory()).events?.length ?? 0));
    const virtualMin = (stack.clock.now() - startVirtual) / 60_000;
    // Two waves of 10-minute copies after a 3-minute app start: the quota-bound minimum is 23 minutes.
    console.log(`150 restores: ${virtualMin.toFixed(1)} virtual min (minimum 23), max ${Math.max(...lengths)} history events per restore, ${Date.now() - startWall} ms wall, max live tasks ${cloud.maxLiveTasks}`);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(60);
    const slots = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
    expect(slots.holders).toEqual([]);
  }, 120_000);
});
