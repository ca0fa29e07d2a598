import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ServiceError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { EVENTBRIDGE_MAX_EVENT_BYTES, GATEWAY_BODY_LIMIT_BYTES, apiKeyMatches, buildGateway, startGateway, type GatewayClient } from '../../clients/gateway/server';

const KEY = 'k3y-for-tests';
const sample = () => JSON.parse(readFileSync(join(__dirname, 'fixtures/create-user-profile.event.json'), 'utf8')) as { detail: Record<string, unknown> & { requestParameters: Record<string, unknown> } };

/** A fake Temporal client that behaves like the server on workflow ids: a second start of the same id is refused. */
function fakeClient(opts: { down?: boolean; refuse?: string } = {}) {
  const started: { workflowType: string; workflowId: string; args: unknown[] }[] = [];
  const client: GatewayClient = {
    workflow: {
      start: (async (workflowType: string, options: { workflowId: string; args?: unknown[] }) => {
        if (opts.down) throw new Error('14 UNAVAILABLE: connection refused');
        if (opts.refuse) {
          // What @temporalio/client throws when the frontend answers INVALID_ARGUMENT.
          const grpc = Object.assign(new Error(`3 INVALID_ARGUMENT: ${opts.refuse}`), { code: GrpcStatus.INVALID_ARGUMENT, details: opts.refuse, metadata: new Metadata() });
          throw new ServiceError('Failed to start Workflow', { cause: grpc });
        }
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

  it('refuses, with 400 and without starting anything, every accepted field that is not shaped as AWS gives it', async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    const cases: [string, (ev: ReturnType<typeof sample>) => void, RegExp][] = [
      ['short domain id', (ev) => (ev.detail.requestParameters.domainId = 'd-1'), /domainId/],
      ['upper-case domain id', (ev) => (ev.detail.requestParameters.domainId = 'd-ABCDEFGHIJKL'), /domainId/],
      ['domain id without d-', (ev) => (ev.detail.requestParameters.domainId = 'abcdefghijklmn'), /domainId/],
      ['domain id with a slash', (ev) => (ev.detail.requestParameters.domainId = 'd-abcdef/ghijk'), /domainId/],
      ['event id not a UUID', (ev) => (ev.detail.eventID = 'not-a-uuid'), /eventID/],
      ['200 KB event id', (ev) => (ev.detail.eventID = 'a'.repeat(200 * 1024)), /eventID/],
      ['event id with a slash', (ev) => (ev.detail.eventID = '3c5f1a2b-8d9e-4f60-a1b2-c3d4e5f6071/'), /eventID/],
      ['64-character profile name', (ev) => (ev.detail.requestParameters.userProfileName = 'a'.repeat(64)), /userProfileName/],
      ['profile name not a string', (ev) => (ev.detail.requestParameters.userProfileName = 42), /userProfileName/],
      ['event time not ISO', (ev) => (ev.detail.eventTime = 'yesterday'), /eventTime/],
      ['event time as a number', (ev) => (ev.detail.eventTime = 1772446540), /eventTime/],
      ['envelope id not a UUID', (ev) => ((ev as Record<string, unknown>).id = 'x'.repeat(300)), /"id"/],
      ['2 KB error code', (ev) => (ev.detail.errorCode = 'E'.repeat(2048)), /errorCode/],
    ];
    for (const [what, mutate, field] of cases) {
      const ev = sample();
      mutate(ev);
      const res = await post(ev);
      expect(res.statusCode, what).toBe(400);
      expect(res.json().error, what).toMatch(field);
      expect(res.body.length, `${what}: the answer does not echo the value`).toBeLessThan(400);
    }
    const space = sample();
    space.detail.eventName = 'CreateSpace';
    space.detail.requestParameters = { domainId: 'd-abcdefghijkl', spaceName: '-team' };
    expect((await post(space)).statusCode).toBe(400);
    const longType = sample() as Record<string, unknown>;
    longType['detail-type'] = 'x'.repeat(129);
    expect((await post(longType)).statusCode).toBe(400);
    expect(started).toEqual([]);
  });

  it('an upper-case event id is the same event as its lower-case form', async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    const ev = sample();
    ev.detail.eventID = String(ev.detail.eventID).toUpperCase();
    expect((await post(ev)).json()).toMatchObject({ status: 'accepted' });
    expect((await post(sample())).json()).toMatchObject({ status: 'duplicate' });
    expect(started).toHaveLength(1);
  });

  it('answers 400, not 503, when Temporal refuses the start as an invalid argument, so EventBridge does not redeliver it', async () => {
    const { client } = fakeClient({ refuse: 'WorkflowId exceeds length limit.' });
    const { log, lines } = logCapture();
    app = buildGateway({ client, log, apiKey: KEY });
    const res = await post(sample());
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/WorkflowId exceeds length limit/);
    expect(lines.some((l) => l.decision === 'malformed')).toBe(true);
  });

  it("accepts an event of EventBridge's largest size (256 KB) and refuses a larger body with 413", async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: logCapture().log, apiKey: KEY });
    const padded = (bytes: number) => {
      const ev = sample() as ReturnType<typeof sample> & { detail: { responseElements: Record<string, unknown> } };
      const base = Buffer.byteLength(JSON.stringify(ev));
      ev.detail.responseElements.padding = 'p'.repeat(bytes - base - '"padding":"",'.length);
      const text = JSON.stringify(ev);
      expect(Buffer.byteLength(text)).toBe(bytes);
      return text;
    };
    const largest = await post(padded(EVENTBRIDGE_MAX_EVENT_BYTES));
    expect(largest.statusCode).toBe(202);
    expect(started).toHaveLength(1);
    const tooBig = await post(padded(GATEWAY_BODY_LIMIT_BYTES + 1));
    expect(tooBig.statusCode).toBe(413);
    // Well under the old 1 MB limit: a body EventBridge can never send is not read.
    expect((await post(padded(512 * 1024))).statusCode).toBe(413);
    expect(started).toHaveLength(1);
  });

  it('refuses to start without MLOPS_GATEWAY_API_KEY outside the embedded mode: exit 2, one line saying what to set', () => {
    const main = join(__dirname, '../../clients/cli/main.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'mlops-gw-key-'));
    try {
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', MLOPS_DATA_DIR: dataDir, MLOPS_LOG_LEVEL: 'silent' };
      for (const [args, extra] of [
        [['gateway'], {}],
        [['start', '--in-memory'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }],
      ] as [string[], Record<string, string>][]) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', env: { ...env, ...extra }, timeout: 30_000 });
        expect(r.status, `${args.join(' ')} ${JSON.stringify(extra)}: ${r.stderr}`).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^mlops: MLOPS_GATEWAY_API_KEY is not set: set it to the API key/);
        expect(r.stdout).toBe('');
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

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
