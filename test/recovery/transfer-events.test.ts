/**
 * Issue 8, fan-out speed: a DataSync execution's end reaches its restore as an event (emulator -> EventBridge-style
 * delivery -> gateway -> transferEventIntake -> signal), so the restore ends, and its slot is given back, the moment
 * the copy ends. The restore's own poll is only the safety net, at least a minute apart: without the event path a
 * restore would end up to minutes after its execution. And the wait for the new home looks often while the app is
 * starting, so the copy starts soon after it is InService.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesEventPattern, type EventPattern } from '../../local/aws/event-pattern';
import type { RunningGateway } from '../../clients/gateway/server';
import * as cli from '../../clients/cli/commands/recovery';
import { transferIntakeWorkflowId, type ProfileKey, type RestoreRecord } from '../../workflows/recovery/model';
import { startEndToEndStack, type RecoveryStack } from './harness';
import { driver } from './drive';
import { studio, type Domain } from './studio';

const KEY = 'events-key';
let stack: RecoveryStack;
let gateway: RunningGateway;
let d: ReturnType<typeof driver>;
let s: ReturnType<typeof studio>;
let dom: Domain;

beforeAll(async () => {
  ({ stack, gateway } = await startEndToEndStack({ apiKey: KEY }));
  d = driver(stack, undefined as never, KEY);
  s = studio(stack);
  dom = await s.createDomain('events');
  await cli.grantAccess(stack.client, dom.efsId, await s.mountTargetGroup(dom.efsId));
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

interface EndedExecution {
  arn: string;
  status: string;
  startedAtMs: number;
  endedAtMs: number;
}

/** The emulator's record of an execution that ended (kept after the restore deleted its task). */
async function ended(arn: string): Promise<EndedExecution> {
  const { body } = await s.control<{ executions: EndedExecution[] }>('GET', '/services/datasync/ended-executions');
  const e = body.executions.find((x) => x.arn === arn);
  if (!e) throw new Error(`execution ${arn} has not ended in the emulator`);
  return e;
}

/** A user with a file in their home, deleted and created again: its restore 1 runs. */
async function recreated(name: string): Promise<ProfileKey> {
  const k: ProfileKey = { domainName: 'events', kind: 'user-profile', name };
  await s.create(dom, 'user-profile', name);
  await d.homesSeen(k, 1);
  await stack.sleep(3 * 60_000);
  const uid = await s.homeUid(dom, 'user-profile', name);
  await s.writeFile(dom.efsId, `/${uid}/work.txt`, `work of ${name}`, Number(uid));
  await s.remove(dom, 'user-profile', name);
  await s.create(dom, 'user-profile', name);
  return k;
}

const lagMs = (r: RestoreRecord, endedAtMs: number) => Date.parse(r.endedAt!) - endedAtMs;

async function postEvent(event: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gateway.url}/events/eventbridge`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(event) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const executionEvent = (arn: string, state: string) => ({
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'DataSync Task Execution State Change',
  source: 'aws.datasync',
  account: '123456789012',
  time: '2026-12-03T08:00:00Z',
  region: 'us-east-1',
  resources: [arn],
  detail: { State: state },
});

describe('DataSync execution state-change events', () => {
  it('a restore ends within seconds of its DataSync execution, not at the next poll a minute or more later', async () => {
    const alice = await recreated('alice');
    const r = await d.restoreEnded(alice, 1, 120_000);
    expect(r.status).toBe('succeeded');
    const arn = r.figures!.taskExecutionArn;
    const e = await ended(arn);
    expect(e.status).toBe('SUCCESS');
    // The safety-net poll would find the end at least a minute after the execution's ~2 minutes started.
    expect(lagMs(r, e.endedAtMs)).toBeLessThan(5_000);
    expect(await s.homeFiles(dom.efsId, await s.homeUid(dom, 'user-profile', 'alice'))).toEqual({ 'work.txt': 'work of alice' });
    // The event went through the gateway: one intake for the execution, which told the restore.
    const intake = await stack.client.workflow.getHandle(transferIntakeWorkflowId(arn)).result();
    expect(intake).toEqual({ status: 'delivered', workflowId: r.workflowId });
    expect(await s.dataSyncStats()).toMatchObject({ liveTasks: 0, liveLocations: 0 });
  }, 120_000);

  it('a failed execution fails its restore at once, with DataSync error', async () => {
    await s.control('POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', failureReason: 'TransferError: injected by the test' });
    try {
      const bob = await recreated('bob');
      const r = await d.restoreEnded(bob, 1, 120_000);
      expect(r.status).toBe('failed');
      expect(r.error).toContain('injected by the test');
      const { body } = await s.control<{ executions: EndedExecution[] }>('GET', '/services/datasync/ended-executions');
      const failed = body.executions.filter((x) => x.status === 'ERROR');
      expect(failed).toHaveLength(1);
      expect(lagMs(r, failed[0]!.endedAtMs)).toBeLessThan(5_000);
    } finally {
      await s.control('DELETE', '/scenarios');
    }
  }, 120_000);

  it('a restore starts its copy within seconds of the new app coming InService, not at a backoff that has grown to half a minute', async () => {
    const carol = await recreated('carol');
    const r = await d.restoreEnded(carol, 1, 120_000);
    expect(r.status).toBe('succeeded');
    const { body } = await s.control<{ jobs: { id: string; history: { status: string; atMs: number }[] }[] }>('GET', '/jobs?service=sagemaker&kind=app');
    const app = body.jobs.find((j) => j.id.endsWith('/carol/jupyterserver/default'));
    const inService = app?.history.find((h) => h.status === 'InService')?.atMs;
    // The app starts for 90 s: polls by the policy's backoff (15 s, x1.5) would come at +71 s and +122 s.
    expect((await ended(r.figures!.taskExecutionArn)).startedAtMs - inService!).toBeLessThan(10_000);
  }, 120_000);

  it('the documented EventBridge rule (docs/recovery) passes the ends the emulator published, and no other state', async () => {
    const pattern = JSON.parse(readFileSync(join(__dirname, '../../docs/recovery/datasync-execution-rule-pattern.json'), 'utf8')) as EventPattern;
    const { body } = await s.control<{ events: { event: { detail: { State: string } } }[] }>('GET', `/events?source=aws.datasync&detailType=${encodeURIComponent('DataSync Task Execution State Change')}`);
    const published = body.events.map((r) => r.event);
    // The CloudTrail records of DataSync calls share the source: the rule must not pass those.
    const { body: calls } = await s.control<{ events: { event: object }[] }>('GET', `/events?source=aws.datasync&detailType=${encodeURIComponent('AWS API Call via CloudTrail')}`);
    expect(calls.events.length).toBeGreaterThan(0);
    expect(calls.events.filter((r) => matchesEventPattern(pattern, r.event))).toEqual([]);
    expect(new Set(published.map((e) => e.detail.State))).toEqual(new Set(['QUEUED', 'LAUNCHING', 'PREPARING', 'TRANSFERRING', 'VERIFYING', 'SUCCESS', 'ERROR']));
    const passed = published.filter((e) => matchesEventPattern(pattern, e)).map((e) => e.detail.State);
    expect(passed.length).toBeGreaterThan(0);
    expect(new Set(passed)).toEqual(new Set(['SUCCESS', 'ERROR']));
  });

  it('the gateway: a state other than SUCCESS or ERROR is ignored, a repeated end is a duplicate, a bad ARN is refused', async () => {
    const running = await postEvent(executionEvent('arn:aws:datasync:us-east-1:123456789012:task/task-0123456789abcdef0/execution/exec-0123456789abcdef0', 'TRANSFERRING'));
    expect(running).toMatchObject({ status: 202, body: { status: 'ignored' } });
    const bad = await postEvent(executionEvent('arn:aws:datasync:us-east-1:123456789012:task/not-a-task', 'SUCCESS'));
    expect(bad.status).toBe(400);
    // An execution of no restore (not tagged by one): accepted, and its intake ends with nothing to tell.
    const arn = 'arn:aws:datasync:us-east-1:123456789012:task/task-0123456789abcdef0/execution/exec-0123456789abcdef1';
    const first = await postEvent(executionEvent(arn, 'Success'));
    expect(first).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(await stack.client.workflow.getHandle(String(first.body.workflowId)).result()).toMatchObject({ status: 'ignored' });
    expect(await postEvent(executionEvent(arn, 'SUCCESS'))).toMatchObject({ status: 202, body: { status: 'duplicate' } });
  }, 60_000);
});
