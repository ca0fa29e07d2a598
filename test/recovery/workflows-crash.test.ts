/**
 * What must survive crashes and interruptions, on the embedded server with time skipping and FakeCloud, with a
 * DataSync cap of 1 so every slot hand-over is visible: a terminated slot holder, a cancelled restore, a restarted
 * worker, and a profile workflow that continues as new.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildGateway } from '../../clients/gateway/server';
import { DATASYNC_SLOTS_WORKFLOW_ID, RECOVERY_TASK_QUEUE, profileWorkflowId, type ProfileKey } from '../../workflows/recovery/model';
import { slotsQuery } from '../../workflows/recovery/messages';
import { FakeCloud } from './fake-cloud';
import { startRecoveryStack, type RecoveryStack } from './harness';
import { driver, eventually } from './drive';

const KEY = 'crash-key';
let stack: RecoveryStack;
let cloud: FakeCloud;
let gateway: FastifyInstance;
let d: ReturnType<typeof driver>;

beforeAll(async () => {
  let c: FakeCloud | undefined;
  stack = await startRecoveryStack({
    activities: ({ client, clock }) => {
      c ??= new FakeCloud(clock);
      return c.activities(client, 1);
    },
  });
  cloud = c!;
  gateway = buildGateway({ client: stack.client, log: pino({ level: 'silent' }), apiKey: KEY });
  d = driver(stack, gateway, KEY);
  cloud.addDomain('d-crashcrash00', 'crash', 'fs-crash');
  // A semaphore that continues as new every few dozen events: its state must survive every hand-over.
  await stack.client.workflow.start('dataSyncSlots', { taskQueue: RECOVERY_TASK_QUEUE, workflowId: DATASYNC_SLOTS_WORKFLOW_ID, args: [{ continueAsNewAfterEvents: 30 }] });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

const key = (name: string): ProfileKey => ({ domainName: 'crash', kind: 'user-profile', name });

async function create(name: string): Promise<string> {
  const uid = cloud.createProfile('d-crashcrash00', 'user-profile', name);
  await d.deliver(d.event('d-crashcrash00', 'user-profile', name));
  return uid;
}

const liveTaskOf = (name: string) => eventually(`a live DataSync task for ${name}`, async () => (cloud.liveTasks.has(`${profileWorkflowId(key(name))}/restore/1`) ? true : undefined));

describe('crash safety', () => {
  it('a slot holder that is terminated mid-copy has its task deleted and its slot handed on after the audit', async () => {
    const t1Restore = `${profileWorkflowId(key('t1'))}/restore/1`;
    cloud.held.add(t1Restore);
    for (const n of ['t1', 't2']) {
      const uid = await create(n);
      cloud.write('fs-crash', uid, `${n}.txt`, n);
      await d.homesSeen(key(n), 1);
    }
    await create('t1');
    await liveTaskOf('t1');
    const t2New = await create('t2');
    await eventually('t2 to wait for the slot', async () => {
      const s = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
      return s.waiting.some((w) => w.holder.includes('/t2/')) ? true : undefined;
    });
    await stack.client.workflow.getHandle(t1Restore).terminate('simulated crash of a slot holder');
    cloud.held.delete(t1Restore);

    const t2 = await d.restoreEnded(key('t2'), 1);
    expect(t2.status).toBe('succeeded');
    expect(cloud.read('fs-crash', t2New)).toEqual({ 't2.txt': 't2' });
    expect((await d.restoreEnded(key('t1'), 1)).status).toBe('failed');
    expect(cloud.liveTasks.size).toBe(0);
    const slots = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
    expect(slots.reclaimedEver).toBe(1);
    expect(slots.holders).toEqual([]);
  });

  it('a cancelled restore still deletes its task and gives its slot back', async () => {
    cloud.held.add(`${profileWorkflowId(key('c1'))}/restore/1`);
    await create('c1');
    await d.homesSeen(key('c1'), 1);
    await create('c1');
    await liveTaskOf('c1');
    await stack.client.workflow.getHandle(`${profileWorkflowId(key('c1'))}/restore/1`).cancel();
    expect((await d.restoreEnded(key('c1'), 1)).status).toBe('failed');
    await eventually('the slot to be free', async () => {
      const s = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
      return s.holders.length === 0 ? true : undefined;
    });
    expect(cloud.liveTasks.size).toBe(0);
  });

  it('a worker stopped in the middle of a copy: the restarted worker finishes it, none left (one task created: e2e, against the emulator)', async () => {
    const w1Restore = `${profileWorkflowId(key('w1'))}/restore/1`;
    cloud.held.add(w1Restore);
    const old = await create('w1');
    cloud.write('fs-crash', old, 'w1.txt', 'survives');
    await d.homesSeen(key('w1'), 1);
    const fresh = await create('w1');
    await liveTaskOf('w1');
    await stack.stopWorker();
    cloud.held.delete(w1Restore);
    await stack.startWorker();
    const r = await d.restoreEnded(key('w1'), 1);
    expect(r.status).toBe('succeeded');
    expect(cloud.read('fs-crash', fresh)).toEqual({ 'w1.txt': 'survives' });
    expect(cloud.liveTasks.size).toBe(0);
  });

  it('a profile workflow continues as new before its history grows large, keeping its state', async () => {
    const k = key('long');
    const handle = await stack.client.workflow.start('profileRecovery', {
      taskQueue: RECOVERY_TASK_QUEUE,
      workflowId: profileWorkflowId(k),
      args: [{ key: k, continueAsNewAfterEvents: 25 }],
    });
    const firstRun = handle.firstExecutionRunId;
    for (let i = 1; i <= 4; i++) {
      await create('long');
      if (i > 1) expect((await d.restoreEnded(k, i - 1)).status).toBe('succeeded');
    }
    const s = await d.statusOf(k);
    expect(s.homes).toHaveLength(4);
    expect(s.restoresEver).toBe(3);
    const latest = await stack.client.workflow.getHandle(profileWorkflowId(k)).describe();
    expect(latest.runId).not.toBe(firstRun);
    expect((await stack.client.workflow.getHandle(profileWorkflowId(k), firstRun).describe()).status.name).toBe('CONTINUED_AS_NEW');
  });

  it('the semaphore continued as new along the way and kept its state', async () => {
    const first = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).describe();
    const runs: string[] = [];
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${DATASYNC_SLOTS_WORKFLOW_ID}'` })) runs.push(wf.status.name);
    expect(runs.filter((r) => r === 'CONTINUED_AS_NEW').length).toBeGreaterThan(0);
    expect(first.status.name).toBe('RUNNING');
    const slots = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
    expect(slots).toMatchObject({ capacity: 1, holders: [], waiting: [], reclaimedEver: 1 });
    expect(slots.grantedEver).toBeGreaterThanOrEqual(5);
  });

  it('a semaphore terminated by hand while a restore waits for a slot: the waiting restore asks again and finishes', async () => {
    const holder = `${profileWorkflowId(key('s1'))}/restore/1`;
    cloud.held.add(holder);
    for (const n of ['s1', 's2']) {
      const uid = await create(n);
      cloud.write('fs-crash', uid, `${n}.txt`, n);
      await d.homesSeen(key(n), 1);
    }
    await create('s1');
    await liveTaskOf('s1');
    const s2New = await create('s2');
    await eventually('s2 to wait for the slot', async () => {
      const s = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
      return s.waiting.some((w) => w.holder.includes('/s2/')) ? true : undefined;
    });
    await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).terminate('operator mistake');
    cloud.held.delete(holder);
    expect((await d.restoreEnded(key('s1'), 1)).status).toBe('succeeded');

    const s2 = await d.restoreEnded(key('s2'), 1);
    expect(s2.status).toBe('succeeded');
    expect(cloud.read('fs-crash', s2New)).toEqual({ 's2.txt': 's2' });
    expect(cloud.liveTasks.size).toBe(0);
    const restarted = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).describe();
    expect(restarted.status.name).toBe('RUNNING');
  });

  it('cleanup that gives up after a week keeps the copy\'s success; the slot stays counted until the audit deletes the task', async () => {
    for (const n of ['g1', 'g2']) {
      const uid = await create(n);
      cloud.write('fs-crash', uid, `${n}.txt`, n);
      await d.homesSeen(key(n), 1);
    }
    cloud.deletesDenied = Number.POSITIVE_INFINITY; // a policy without DeleteTask, for longer than a week
    const g1New = await create('g1');
    const g1 = await d.restoreEnded(key('g1'), 1, 120_000);
    expect(g1).toMatchObject({ status: 'succeeded', figures: { filesTransferred: expect.any(Number) } });
    expect(cloud.read('fs-crash', g1New)).toEqual({ 'g1.txt': 'g1' });
    expect(cloud.liveTasks.size).toBe(1);

    // The cap is 1 and the task still lives: g2 waits, through an audit that cannot delete it either.
    const g2New = await create('g2');
    await eventually('g2 to wait for the slot', async () => {
      const s = await stack.client.workflow.getHandle(DATASYNC_SLOTS_WORKFLOW_ID).query(slotsQuery);
      return s.waiting.some((w) => w.holder.includes('/g2/')) ? true : undefined;
    });
    await stack.sleep(20 * 60_000);
    expect((await d.statusOf(key('g2'))).restores[0]?.status).toBe('running');
    cloud.deletesDenied = 0; // the operator fixes the policy
    expect((await d.restoreEnded(key('g2'), 1, 60_000)).status).toBe('succeeded');
    expect(cloud.read('fs-crash', g2New)).toEqual({ 'g2.txt': 'g2' });
    expect(cloud.liveTasks.size).toBe(0);
  }, 180_000);
});
