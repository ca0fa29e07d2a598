/** EventBridge-style delivery to an HTTP target: API key header, retries with backoff, at least once, journaled. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTaskCommand, DataSyncClient } from '@aws-sdk/client-datasync';
import type { RunningEmulator } from '../../local/aws';
import type { DeliveryRecord, EventEnvelope } from '../../local/aws/events';
import { clientConfig, control, startTestEmulator } from './harness';
import { datasyncExample } from './fixtures/datasync-example';

interface Receiver {
  url: string;
  port: number;
  received: { headers: IncomingHttpHeaders; event: EventEnvelope; at: number }[];
  close(): Promise<void>;
}

/** A target that answers the statuses given in turn (then 200), recording every delivery. */
async function startReceiver(statuses: number[], port = 0): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as EventEnvelope, at: Date.now() });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/events/eventbridge`,
    port: actual,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function emulatorTo(url: string): Promise<RunningEmulator> {
  const emu = await startTestEmulator({ services: [datasyncExample], eventsTo: url, eventsApiKey: 'secret-key', eventRetryBaseMs: 25 });
  cleanups.push(() => emu.close());
  return emu;
}

async function createTask(emu: RunningEmulator): Promise<void> {
  await new DataSyncClient(clientConfig(emu.endpoint)).send(new CreateTaskCommand({ SourceLocationArn: 'arn:src', DestinationLocationArn: 'arn:dst', Name: 'n' }));
}

async function records(emu: RunningEmulator): Promise<DeliveryRecord[]> {
  return (await control<{ events: DeliveryRecord[] }>(emu.endpoint, 'GET', '/events?detailType=AWS%20API%20Call%20via%20CloudTrail')).body.events;
}

describe('event delivery', () => {
  it('POSTs the EventBridge envelope with the API key header', async () => {
    const receiver = await startReceiver([]);
    cleanups.push(() => receiver.close());
    const emu = await emulatorTo(receiver.url);
    await createTask(emu);
    const got = await until(async () => receiver.received[0]);
    expect(got.headers['x-api-key']).toBe('secret-key');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.event).toMatchObject({
      version: '0',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.datasync',
      account: '123456789012',
      region: 'us-east-1',
      detail: { eventName: 'CreateTask', eventSource: 'datasync.amazonaws.com', requestParameters: { name: 'n' } },
    });
    const [record] = await until(async () => ((await records(emu))[0]?.state === 'delivered' ? records(emu) : undefined));
    expect(record).toMatchObject({ state: 'delivered', attempts: 1, lastStatus: 200 });
    expect(record?.event.id).toBe(got.event.id);
  });

  it('retries 5xx and 429 answers with growing delays until delivered, at least once', async () => {
    const receiver = await startReceiver([503, 429, 500]);
    cleanups.push(() => receiver.close());
    const emu = await emulatorTo(receiver.url);
    await createTask(emu);
    const [record] = await until(async () => ((await records(emu))[0]?.state === 'delivered' ? records(emu) : undefined));
    expect(record).toMatchObject({ state: 'delivered', attempts: 4, lastStatus: 200 });
    expect(receiver.received).toHaveLength(4);
    expect(new Set(receiver.received.map((r) => r.event.id)).size).toBe(1);
    const gaps = receiver.received.slice(1).map((r, i) => r.at - (receiver.received[i] as { at: number }).at);
    // Base 25 ms, doubling: 25, 50, 100 (timers fire no earlier than asked).
    expect(gaps[0]).toBeGreaterThanOrEqual(24);
    expect(gaps[1]).toBeGreaterThanOrEqual(49);
    expect(gaps[2]).toBeGreaterThanOrEqual(99);
  });

  it('retries while the target is down and delivers once it comes up', async () => {
    const probe = await startReceiver([]);
    const port = probe.port;
    await probe.close();
    const emu = await emulatorTo(`http://127.0.0.1:${port}/events/eventbridge`);
    await createTask(emu);
    await until(async () => ((await records(emu))[0]?.attempts ?? 0) >= 2 ? true : undefined);
    const [pending] = await records(emu);
    expect(pending?.state).toBe('pending');
    expect(pending?.lastError).toBeTruthy();
    const receiver = await startReceiver([], port);
    cleanups.push(() => receiver.close());
    await until(async () => receiver.received[0], 15_000);
    expect(receiver.received[0]?.event.id).toBe(pending?.event.id);
  });

  it('gives up on a 4xx answer, as EventBridge does, and journals it as rejected', async () => {
    const receiver = await startReceiver([401]);
    cleanups.push(() => receiver.close());
    const emu = await emulatorTo(receiver.url);
    await createTask(emu);
    const [record] = await until(async () => ((await records(emu))[0]?.state === 'rejected' ? records(emu) : undefined));
    expect(record).toMatchObject({ attempts: 1, lastStatus: 401 });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(1);
  });
});
