import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { apiKeyMatches, buildGateway, startGateway, type GatewayClient } from '../../clients/gateway/server';

const KEY = 'k3y-for-tests';
const sample = () => JSON.parse(readFileSync(join(__dirname, 'fixtures/create-user-profile.event.json'), 'utf8')) as { detail: Record<string, unknown> & { requestParameters: Record<string, unknown> } };

/** A fake Temporal client that behaves like the server on workflow ids: a second start of the same id is refused. */
function fakeClient(opts: { down?: boolean } = {}) {
  const started: { workflowType: string; workflowId: string; args: unknown[] }[] = [];
  const client: GatewayClient = {
    workflow: {
      start: (async (workflowType: string, options: { workflowId: string; args?: unknown[] }) => {
        if (opts.down) throw new Error('14 UNAVAILABLE: connection refused');
        if (started.some((s) => s.workflowId === options.workflowId)) throw new WorkflowExecutionAlreadyStartedError('already started', options.workflowId, workflowType);
        started.push({ workflowType, workflowId: options.workflowId, args: options.args ?? [] });
        return {};
      }) as unknown as GatewayClient['workflow']['start'],
    },
  };
  return { client, started };
}

function logCapture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function post(body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }) {
  return app!.inject({ method: 'POST', url: '/events/eventbridge', headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('trigger gateway', () => {
  it('turns a CloudTrail CreateUserProfile into one intake workflow keyed by the eventID, and logs the decision', async () => {
    const { client, started } = fakeClient();
    const { log, lines } = logCapture();
    app = buildGateway({ client, log, apiKey: KEY });
    const res = await post(sample());
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ status: 'accepted', workflowId: 'recovery/event/3c5f1a2b-8d9e-4f60-a1b2-c3d4e5f60718' });
    expect(started).toEqual([
      {
        workflowType: 'recoveryEventIntake',
        workflowId: 'recovery/event/3c5f1a2b-8d9e-4f60-a1b2-c3d4e5f60718',
        args: [{ eventId: '3c5f1a2b-8d9e-4f60-a1b2-c3d4e5f60718', kind: 'user-profile', domainId: 'd-abcdefghijkl', name: 'alice', eventTime: '2026-03-02T10:15:40.000Z' }],
      },
    ]);
    expect(lines.some((l) => l.decision === 'accepted' && l.eventId === '3c5f1a2b-8d9e-4f60-a1b2-c3d4e5f60718')).toBe(true);
  });

  it('accepts CreateSpace as a space', async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    const ev = sample();
    ev.detail.eventName = 'CreateSpace';
    ev.detail.requestParameters = { domainId: 'd-abcdefghijkl', spaceName: 'team-space' };
    expect((await post(ev)).statusCode).toBe(202);
    expect(started[0]?.args[0]).toMatchObject({ kind: 'space', name: 'team-space' });
  });

  it('the same event delivered twice starts one workflow; the second answer says duplicate', async () => {
    const { client, started } = fakeClient();
    const { log, lines } = logCapture();
    app = buildGateway({ client, log, apiKey: KEY });
    expect((await post(sample())).json()).toMatchObject({ status: 'accepted' });
    const again = await post(sample());
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ status: 'duplicate' });
    expect(started).toHaveLength(1);
    expect(lines.filter((l) => l.decision === 'duplicate')).toHaveLength(1);
  });

  it('refuses a missing or wrong key with 401 before reading the body, and a gateway without a key refuses all', async () => {
    const { client, started } = fakeClient();
    const { log, lines } = logCapture();
    app = buildGateway({ client, log, apiKey: KEY });
    expect((await post(sample(), {})).statusCode).toBe(401);
    expect((await post(sample(), { 'x-api-key': `${KEY}x` })).statusCode).toBe(401);
    expect((await post('{not json', { 'x-api-key': 'nope' })).statusCode).toBe(401);
    expect(started).toEqual([]);
    expect(lines.filter((l) => l.decision === 'unauthorized')).toHaveLength(3);
    await app.close();
    app = buildGateway({ client, log, apiKey: undefined });
    expect((await post(sample(), { 'x-api-key': '' })).statusCode).toBe(401);
  });

  it('answers malformed bodies with 400 and a message naming the problem', async () => {
    const { client, started } = fakeClient();
    const { log, lines } = logCapture();
    app = buildGateway({ client, log, apiKey: KEY });
    const bad = await post('{"detail-type": ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/JSON/i);
    const noDetail = await post({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.sagemaker' });
    expect(noDetail.statusCode).toBe(400);
    expect(noDetail.json().error).toMatch(/detail/);
    const ev = sample();
    delete ev.detail.requestParameters.userProfileName;
    const noName = await post(ev);
    expect(noName.statusCode).toBe(400);
    expect(noName.json().error).toMatch(/userProfileName/);
    const ev2 = sample();
    delete ev2.detail.eventID;
    expect((await post(ev2)).json().error).toMatch(/eventID/);
    expect(started).toEqual([]);
    expect(lines.filter((l) => l.decision === 'malformed').length).toBeGreaterThanOrEqual(3);
    // Unparseable JSON is refused by the body parser, before interpretDelivery: it is a logged decision all the same.
    expect(lines.filter((l) => l.decision === 'malformed')).toHaveLength(4);
  });

  it('answers events of no interest with 202 and starts nothing', async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    const other = sample();
    other.detail.eventName = 'DeleteUserProfile';
    expect((await post(other)).json()).toMatchObject({ status: 'ignored' });
    const failed = sample();
    failed.detail.errorCode = 'ResourceInUse';
    const r = await post(failed);
    expect(r.statusCode).toBe(202);
    expect(r.json().reason).toMatch(/ResourceInUse/);
    expect((await post({ 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', detail: {} })).statusCode).toBe(202);
    expect(started).toEqual([]);
  });

  it('answers 503 when Temporal is unreachable, so EventBridge retries', async () => {
    const { client } = fakeClient({ down: true });
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    expect((await post(sample())).statusCode).toBe(503);
  });

  it('serves /healthz over a real socket', async () => {
    const { client } = fakeClient();
    const gw = await startGateway({ client, log: logCapture().log, apiKey: KEY, port: 0 });
    try {
      const res = await fetch(`${gw.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      await gw.close();
    }
  });

  it('compares keys without short-circuiting on length', () => {
    expect(apiKeyMatches('abc', 'abc')).toBe(true);
    expect(apiKeyMatches('abc', 'abcd')).toBe(false);
    expect(apiKeyMatches('abc', ['abc'])).toBe(false);
    expect(apiKeyMatches(undefined, '')).toBe(false);
  });
});
