/**
 * Emulated SNS through @aws-sdk/client-sns, and the gateway's POST /events/sns: the confirmation handshake, signed
 * deliveries (v1 and v2, the documented string to sign), retries on the emulator's clock, alarm actions, and the
 * refusals (bad signature, foreign certificate host, replayed timestamp) that change nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  SetTopicAttributesCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import pino from 'pino';
import type { RunningEmulator } from '../../local/aws';
import { startGateway, type GatewayClient, type RunningGateway } from '../../clients/gateway/server';
import { caught, clientConfig, control, startTestEmulator } from '../aws/harness';

let now = Date.parse('2026-06-01T10:00:00Z');
let emu: RunningEmulator;
let receiver: Server;
let receiverUrl: string;
/** What the plain receiver got, and what it answers next (a status per request, then 200). */
const received: { headers: Record<string, string | string[] | undefined>; body: string; at: number }[] = [];
const answers: number[] = [];
let gateway: RunningGateway;
let strictGateway: RunningGateway;
const signals: { workflowId: string; name: string; arg: unknown }[] = [];

const fakeClient = {
  workflow: {
    start: () => Promise.reject(new Error('not used')),
    getHandle: (workflowId: string) => ({
      signal: (def: { name: string }, arg: unknown) => {
        signals.push({ workflowId, name: def.name, arg });
        return Promise.resolve();
      },
    }),
  },
} as unknown as GatewayClient;

async function until<T>(what: string, probe: () => T | undefined | false, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lets the emulator's ticker run a few times without moving its clock. */
const ticks = () => new Promise((r) => setTimeout(r, 350));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: now });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  emu = await startTestEmulator({ clock: { now: () => now } });
  const sns = { topicAllowed: (arn: string) => arn.startsWith('arn:aws:sns:us-east-1:123456789012:'), now: () => now };
  gateway = await startGateway({ client: fakeClient, log: pino({ level: 'silent' }), apiKey: 'k', port: 0, sns: { ...sns, emulatorOrigin: () => emu.endpoint } });
  // As on a real account: only SNS's own hosts are trusted.
  strictGateway = await startGateway({ client: fakeClient, log: pino({ level: 'silent' }), apiKey: 'k', port: 0, sns });
});
afterAll(async () => {
  await gateway?.close();
  await strictGateway?.close();
  await emu?.close();
  await new Promise((r) => receiver?.close(r));
});

const snsClient = () => new SNSClient(clientConfig(emu.endpoint, 1));
const messages = (type: string) => received.filter((r) => r.headers['x-amz-sns-message-type'] === type).map((r) => JSON.parse(r.body) as Record<string, string>);

async function signatureVerifies(m: Record<string, string>, stringToSign: string, digest: 'sha1' | 'sha256'): Promise<boolean> {
  const cert = new X509Certificate(await (await fetch(m.SigningCertURL as string)).text());
  return verify(digest, Buffer.from(stringToSign), cert.publicKey, Buffer.from(m.Signature as string, 'base64'));
}

describe('topics', () => {
  it('creates (idempotently), lists, describes and deletes topics; a missing one is NotFound', async () => {
    const sns = snsClient();
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'shapes', Attributes: { DisplayName: 'Shapes' } }));
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:shapes');
    expect((await sns.send(new CreateTopicCommand({ Name: 'shapes' }))).TopicArn).toBe(TopicArn);
    const differs = await caught(sns.send(new CreateTopicCommand({ Name: 'shapes', Attributes: { DisplayName: 'Other' } })));
    expect(differs.name).toBe('InvalidParameterException');
    expect((await caught(sns.send(new CreateTopicCommand({ Name: 'bad name' })))).name).toBe('InvalidParameterException');
    const attrs = (await sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes ?? {};
    expect(attrs).toMatchObject({ TopicArn, DisplayName: 'Shapes', Owner: '123456789012', SubscriptionsConfirmed: '0', SubscriptionsPending: '0' });
    expect(JSON.parse(attrs.EffectiveDeliveryPolicy as string).http.defaultHealthyRetryPolicy).toMatchObject({ numRetries: 3, minDelayTarget: 20 });
    expect((await sns.send(new ListTopicsCommand({}))).Topics?.map((t) => t.TopicArn)).toContain(TopicArn);
    await sns.send(new DeleteTopicCommand({ TopicArn }));
    await sns.send(new DeleteTopicCommand({ TopicArn }));
    const gone = await caught(sns.send(new GetTopicAttributesCommand({ TopicArn })));
    expect(gone.name).toBe('NotFoundException');
    expect(gone.$metadata.httpStatusCode).toBe(404);
    expect((await caught(sns.send(new PublishCommand({ TopicArn, Message: 'x' })))).name).toBe('NotFoundException');
  });
});

describe('HTTP subscriptions', () => {
  it('delivers nothing before confirmation, then signed notifications (v1 SHA1, v2 SHA256) in the documented field order', async () => {
    const sns = snsClient();
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'handshake' }));
    const sub = await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: receiverUrl }));
    expect(sub.SubscriptionArn).toBe('pending confirmation');
    const [confirm] = await until('the confirmation', () => messages('SubscriptionConfirmation').length > 0 && messages('SubscriptionConfirmation'));
    expect(confirm).toMatchObject({ Type: 'SubscriptionConfirmation', TopicArn, SignatureVersion: '1' });
    const c = confirm as Record<string, string>;
    expect(c.SigningCertURL).toMatch(new RegExp(`^${emu.endpoint}/SimpleNotificationService-[0-9a-f]{32}\\.pem$`));
    const confirmString = `Message\n${c.Message}\nMessageId\n${c.MessageId}\nSubscribeURL\n${c.SubscribeURL}\nTimestamp\n${c.Timestamp}\nToken\n${c.Token}\nTopicArn\n${c.TopicArn}\nType\n${c.Type}\n`;
    expect(await signatureVerifies(c, confirmString, 'sha1')).toBe(true);

    await sns.send(new PublishCommand({ TopicArn, Message: 'too early' }));
    await ticks();
    expect(messages('Notification')).toEqual([]);
    expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }))).Subscriptions?.map((s) => s.SubscriptionArn)).toEqual(['PendingConfirmation']);

    expect((await fetch(c.SubscribeURL as string)).status).toBe(200);
    const [confirmed] = (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }))).Subscriptions ?? [];
    expect(confirmed?.SubscriptionArn).toMatch(new RegExp(`^${TopicArn}:`));

    const { MessageId } = await sns.send(new PublishCommand({ TopicArn, Message: 'hello', Subject: 'greeting' }));
    const n = (await until('a notification', () => messages('Notification')[0])) as Record<string, string>;
    expect(n).toMatchObject({ MessageId, Message: 'hello', Subject: 'greeting', TopicArn, SignatureVersion: '1' });
    expect(n.UnsubscribeURL).toContain('Action=Unsubscribe');
    const notificationString = (m: Record<string, string>) =>
      `Message\n${m.Message}\nMessageId\n${m.MessageId}\n${m.Subject !== undefined ? `Subject\n${m.Subject}\n` : ''}Timestamp\n${m.Timestamp}\nTopicArn\n${m.TopicArn}\nType\n${m.Type}\n`;
    expect(await signatureVerifies(n, notificationString(n), 'sha1')).toBe(true);

    await sns.send(new SetTopicAttributesCommand({ TopicArn, AttributeName: 'SignatureVersion', AttributeValue: '2' }));
    await sns.send(new PublishCommand({ TopicArn, Message: 'no subject' }));
    const v2 = (await until('a v2 notification', () => messages('Notification')[1])) as Record<string, string>;
    expect(v2.SignatureVersion).toBe('2');
    expect(v2.Subject).toBeUndefined();
    expect(await signatureVerifies(v2, notificationString(v2), 'sha256')).toBe(true);
    expect(await signatureVerifies(v2, notificationString(v2), 'sha1')).toBe(false);

    await sns.send(new UnsubscribeCommand({ SubscriptionArn: confirmed?.SubscriptionArn }));
    await until('the unsubscribe confirmation', () => messages('UnsubscribeConfirmation')[0]);
    await sns.send(new PublishCommand({ TopicArn, Message: 'after' }));
    await ticks();
    expect(messages('Notification')).toHaveLength(2);
  });

  it('retries a failed delivery on the emulator clock, 20 seconds apart by default', async () => {
    received.length = 0;
    const sns = snsClient();
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'retries' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'http', Endpoint: receiverUrl }));
    const c = (await until('the confirmation', () => messages('SubscriptionConfirmation')[0])) as Record<string, string>;
    await fetch(c.SubscribeURL as string);
    answers.push(503, 500);
    await sns.send(new PublishCommand({ TopicArn, Message: 'persistent' }));
    await until('the first attempt', () => messages('Notification').length === 1);
    await ticks();
    expect(messages('Notification')).toHaveLength(1);
    now += 20_000;
    await until('the second attempt', () => messages('Notification').length === 2);
    await ticks();
    expect(messages('Notification')).toHaveLength(2);
    now += 20_000;
    await until('the third attempt', () => messages('Notification').length === 3);
    const all = messages('Notification');
    expect(new Set(all.map((m) => m.MessageId)).size).toBe(1);
    const { body } = await control<{ settled: { messageId: string; state: string; attempts: number }[] }>(emu.endpoint, 'GET', '/services/sns/deliveries');
    expect(body.settled.find((d) => d.messageId === all[0]?.MessageId)).toMatchObject({ state: 'delivered', attempts: 3 });
  });
});

describe('the gateway, POST /events/sns', () => {
  let topicArn: string;
  let genuine: Record<string, string>;
  const post = (g: RunningGateway, body: unknown) =>
    fetch(`${g.url}/events/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body: JSON.stringify(body) });
  const alarmSignals = () => signals.filter((s) => s.name === 'processingAlarm');

  it('confirms its subscription and turns an alarm notification into the processing signal', async () => {
    const sns = snsClient();
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'processing-alarms' }))).TopicArn as string;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `${gateway.url}/events/sns` }));
    const listed = async () => (await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions?.[0]?.SubscriptionArn;
    for (let i = 0; i < 100 && (await listed()) === 'PendingConfirmation'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await listed()).toMatch(new RegExp(`^${topicArn}:`));

    const cw = new CloudWatchClient(clientConfig(emu.endpoint, 1));
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'features-a1-driver',
        MetricName: 'CPUUtilization',
        Namespace: '/aws/sagemaker/ProcessingJobs',
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 80,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topicArn],
      }),
    );
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'features-a1-driver', StateValue: 'ALARM', StateReason: 'driver too small' }));
    await until('the alarm signal', () => alarmSignals().length > 0);
    expect(alarmSignals()).toEqual([{ workflowId: 'processing/features', name: 'processingAlarm', arg: expect.objectContaining({ alarmName: 'features-a1-driver', state: 'ALARM', reason: 'driver too small' }) }]);
    const { body } = await control<{ settled: { topicArn: string; type: string; state: string; body: string }[] }>(emu.endpoint, 'GET', '/services/sns/deliveries');
    const delivered = body.settled.filter((d) => d.topicArn === topicArn && d.type === 'Notification');
    expect(delivered.map((d) => d.state)).toEqual(['delivered']);
    genuine = JSON.parse(delivered[0]?.body as string) as Record<string, string>;
    expect(genuine.Subject).toBe('ALARM: "features-a1-driver" in US East (N. Virginia)');
    expect(JSON.parse(genuine.Message as string)).toMatchObject({ AlarmName: 'features-a1-driver', NewStateValue: 'ALARM', OldStateValue: 'INSUFFICIENT_DATA', NewStateReason: 'driver too small', Trigger: { MetricName: 'CPUUtilization', Threshold: 80 } });
  });

  it('refuses a bad signature, a foreign or non-embedded certificate host and a replayed timestamp, signalling nothing', async () => {
    signals.length = 0;
    const tampered = { ...genuine, Message: (genuine.Message as string).replace('features-a1-driver', 'features-a2-driver') };
    expect((await post(gateway, tampered)).status).toBe(403);
    const otherVersion = { ...genuine, SignatureVersion: '2' };
    expect((await post(gateway, otherVersion)).status).toBe(403);
    const foreign = { ...genuine, SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-x.pem' };
    expect((await post(gateway, foreign)).status).toBe(403);
    const otherRegion = { ...genuine, SigningCertURL: genuine.SigningCertURL?.replace(emu.endpoint, 'https://sns.eu-west-1.amazonaws.com') };
    expect((await post(gateway, otherRegion)).status).toBe(403);
    // The emulator's certificate is trusted in embedded mode only.
    expect((await post(strictGateway, genuine)).status).toBe(403);
    const otherTopic = { ...genuine, TopicArn: 'arn:aws:sns:us-east-1:999999999999:processing-alarms' };
    expect((await post(gateway, otherTopic)).status).toBe(403);
    expect((await post(gateway, { hello: 'world' })).status).toBe(400);
    expect(signals).toEqual([]);

    // The genuine message is still good now...
    expect((await post(gateway, genuine)).status).toBe(200);
    expect(alarmSignals()).toHaveLength(1);
    // ...but not once it is older than the replay window.
    now += 2 * 3_600_000;
    const replay = await post(gateway, genuine);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toContain('replay');
    expect(alarmSignals()).toHaveLength(1);
  });
});
