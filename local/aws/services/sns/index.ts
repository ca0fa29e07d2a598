/**
 * Amazon SNS (awsQuery, `Version=2010-03-31`, what @aws-sdk/client-sns sends): topics, HTTP/HTTPS subscriptions with
 * the SubscriptionConfirmation handshake (nothing is delivered before confirmation; the SubscribeURL is a GET of
 * ConfirmSubscription on this emulator), Publish, and the alarm notifications CloudWatch hands over (shared outbox).
 * Every message is signed (SignatureVersion 1 = SHA1withRSA, the default, or 2 = SHA256withRSA, a topic attribute)
 * with a key whose self-signed certificate this emulator serves at the SigningCertURL; deliveries are retried as the
 * delivery policy says (deliveries.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineService, operation, HttpResponse, XmlMap, type OperationContext, type ServiceContext } from '../../service';
import type { SnsMessage, SnsMessageType } from '../../../../common/sns-signature';
import { snsOutboxOf, type SnsOutbox } from '../cloudwatch/sns-outbox';
import { effectiveRetryPolicy, nextDeliveryMs, retryDelaysMs, runDueDeliveries, DEFAULT_RETRY_POLICY, type Delivery, type DeliveryLog } from './deliveries';
import { newSigningKey, signSnsMessage, type SigningKey } from './signing';

interface Topic {
  arn: string;
  name: string;
  attributes: Record<string, string>;
  tags: { Key: string; Value: string }[];
}

interface Subscription {
  arn: string;
  topicArn: string;
  protocol: 'http' | 'https';
  endpoint: string;
  confirmed: boolean;
  token: string;
  tokenIssuedMs: number;
  attributes: Record<string, string>;
}

export interface SnsState {
  topics: Map<string, Topic>;
  subscriptions: Map<string, Subscription>;
  deliveries: DeliveryLog;
  signing?: SigningKey;
  outbox: SnsOutbox;
}

type Ctx = OperationContext<SnsState>;
type SCtx = ServiceContext<SnsState>;

const PENDING = 'pending confirmation';
/** A SubscriptionConfirmation token is valid for three days. */
const TOKEN_VALID_MS = 3 * 86_400_000;
const MAX_MESSAGE_BYTES = 262_144;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const TOPIC_ATTRIBUTES = new Set(['DisplayName', 'Policy', 'DeliveryPolicy', 'SignatureVersion', 'TracingConfig', 'KmsMasterKeyId']);
const SUBSCRIPTION_ATTRIBUTES = new Set(['DeliveryPolicy', 'FilterPolicy', 'FilterPolicyScope', 'RawMessageDelivery', 'RedrivePolicy']);

const invalid = (ctx: { error: Ctx['error'] }, what: string) => ctx.error('InvalidParameter', `Invalid parameter: ${what}`);
const notFound = (ctx: { error: Ctx['error'] }, what: string) => ctx.error('NotFound', `${what} does not exist`, { httpStatus: 404 });

function topicOf(ctx: { state: SnsState; error: Ctx['error'] }, arn: string): Topic {
  const topic = ctx.state.topics.get(arn);
  if (!topic) throw notFound(ctx, 'Topic');
  return topic;
}

function signingKey(ctx: SCtx): SigningKey {
  ctx.state.signing ??= newSigningKey(ctx.nowMs());
  return ctx.state.signing;
}

/** This emulator as the SNS endpoint of the URLs a message carries. */
function baseUrl(ctx: SCtx): string {
  return ctx.endpoint ?? `https://sns.${ctx.region}.amazonaws.com`;
}

function certificateUrl(ctx: SCtx): string {
  return `${baseUrl(ctx)}/SimpleNotificationService-${signingKey(ctx).certificateId}.pem`;
}

function actionUrl(ctx: SCtx, params: Record<string, string>): string {
  return `${baseUrl(ctx)}/?${new URLSearchParams(params).toString()}`;
}

/** Signs and queues one message for one subscriber, due now. */
function queueDelivery(ctx: SCtx, sub: Subscription, type: SnsMessageType, fields: Pick<SnsMessage, 'Message'> & Partial<SnsMessage>, messageId: string = randomUUID()): void {
  const topic = ctx.state.topics.get(sub.topicArn);
  const version = topic?.attributes.SignatureVersion === '2' ? '2' : '1';
  const unsigned: Omit<SnsMessage, 'Signature'> = {
    Type: type,
    MessageId: messageId,
    ...(fields.Token !== undefined ? { Token: fields.Token } : {}),
    TopicArn: sub.topicArn,
    ...(fields.Subject !== undefined ? { Subject: fields.Subject } : {}),
    Message: fields.Message,
    ...(fields.SubscribeURL !== undefined ? { SubscribeURL: fields.SubscribeURL } : {}),
    Timestamp: ctx.now().toISOString(),
    SignatureVersion: version,
    SigningCertURL: certificateUrl(ctx),
    ...(type === 'Notification' ? { UnsubscribeURL: actionUrl(ctx, { Action: 'Unsubscribe', SubscriptionArn: sub.arn }) } : {}),
  };
  const raw = type === 'Notification' && sub.attributes.RawMessageDelivery === 'true';
  const message: SnsMessage = { ...unsigned, Signature: signSnsMessage(signingKey(ctx), unsigned) };
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=UTF-8',
    'user-agent': 'Amazon Simple Notification Service Agent',
    'x-amz-sns-message-type': type,
    'x-amz-sns-message-id': messageId,
    'x-amz-sns-topic-arn': sub.topicArn,
    ...(type !== 'SubscriptionConfirmation' ? { 'x-amz-sns-subscription-arn': sub.arn } : {}),
    ...(raw ? { 'x-amz-sns-rawdelivery': 'true' } : {}),
  };
  const now = ctx.nowMs();
  const delivery: Delivery = {
    id: `${messageId}/${sub.arn}`,
    subscriptionArn: sub.arn,
    topicArn: sub.topicArn,
    endpoint: sub.endpoint,
    type,
    messageId,
    headers,
    body: raw ? fields.Message : JSON.stringify(message),
    retryDelaysMs: retryDelaysMs(effectiveRetryPolicy(sub.attributes.DeliveryPolicy, topic?.attributes.DeliveryPolicy)),
    attempts: 0,
    nextAttemptMs: now,
    createdMs: now,
    state: 'pending',
  };
  ctx.state.deliveries.pending.set(delivery.id, delivery);
}

function sendConfirmation(ctx: SCtx, sub: Subscription): void {
  queueDelivery(ctx, sub, 'SubscriptionConfirmation', {
    Message: `You have chosen to subscribe to the topic ${sub.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    Token: sub.token,
    SubscribeURL: actionUrl(ctx, { Action: 'ConfirmSubscription', TopicArn: sub.topicArn, Token: sub.token }),
  });
}

/** A message to every confirmed subscriber of the topic (a pending subscription gets nothing). */
function publishToTopic(ctx: SCtx, topicArn: string, message: string, subject: string | undefined, perProtocol?: Record<string, string>): string {
  const messageId = randomUUID();
  for (const sub of ctx.state.subscriptions.values()) {
    if (sub.topicArn !== topicArn || !sub.confirmed) continue;
    queueDelivery(ctx, sub, 'Notification', { Message: perProtocol?.[sub.protocol] ?? message, ...(subject !== undefined ? { Subject: subject } : {}) }, messageId);
  }
  return messageId;
}

function topicAttributes(state: SnsState, topic: Topic, accountId: string): Record<string, string> {
  const subs = [...state.subscriptions.values()].filter((s) => s.topicArn === topic.arn);
  return {
    TopicArn: topic.arn,
    Owner: accountId,
    DisplayName: '',
    Policy: JSON.stringify({
      Version: '2008-10-17',
      Id: '__default_policy_ID',
      Statement: [{ Sid: '__default_statement_ID', Effect: 'Allow', Principal: { AWS: '*' }, Action: ['SNS:Publish', 'SNS:Subscribe', 'SNS:GetTopicAttributes'], Resource: topic.arn, Condition: { StringEquals: { 'AWS:SourceOwner': accountId } } }],
    }),
    EffectiveDeliveryPolicy: topic.attributes.DeliveryPolicy ?? JSON.stringify({ http: { defaultHealthyRetryPolicy: DEFAULT_RETRY_POLICY, disableSubscriptionOverrides: false } }),
    SubscriptionsConfirmed: String(subs.filter((s) => s.confirmed).length),
    SubscriptionsPending: String(subs.filter((s) => !s.confirmed).length),
    SubscriptionsDeleted: '0',
    ...topic.attributes,
  };
}

function checkTopicAttribute(ctx: Ctx, name: string, value: string): void {
  if (!TOPIC_ATTRIBUTES.has(name)) throw invalid(ctx, `AttributeName`);
  if (name === 'SignatureVersion' && value !== '1' && value !== '2') throw invalid(ctx, 'SignatureVersion: must be 1 or 2');
  if ((name === 'DeliveryPolicy' || name === 'Policy') && value !== '') {
    try {
      JSON.parse(value);
    } catch {
      throw invalid(ctx, `${name}: Invalid JSON`);
    }
  }
}

function page<T>(ctx: Ctx, items: T[], token: string | undefined, size: number): { items: T[]; next?: string } {
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw invalid(ctx, 'NextToken');
  const end = Math.min(items.length, start + size);
  return { items: items.slice(start, end), ...(end < items.length ? { next: Buffer.from(String(end)).toString('base64') } : {}) };
}

const describeSubscription = (s: Subscription, accountId: string) => ({
  SubscriptionArn: s.confirmed ? s.arn : 'PendingConfirmation',
  Owner: accountId,
  Protocol: s.protocol,
  Endpoint: s.endpoint,
  TopicArn: s.topicArn,
});

const attributeMap = z.record(z.string(), z.string()).optional();

export const sns = defineService<SnsState>({
  name: 'sns',
  protocol: 'awsQuery',
  apiVersion: '2010-03-31',
  xmlNamespace: 'http://sns.amazonaws.com/doc/2010-03-31/',
  validationError: { code: 'InvalidParameter' },
  createState: (scope) => ({ topics: new Map(), subscriptions: new Map(), deliveries: { pending: new Map(), settled: [] }, outbox: snsOutboxOf(scope) }),
  advance(ctx) {
    let changed = false;
    // CloudWatch alarm actions handed over since the last step.
    for (const m of ctx.state.outbox.messages.splice(0)) {
      changed = true;
      if (ctx.state.topics.has(m.topicArn)) publishToTopic(ctx, m.topicArn, m.message, m.subject);
    }
    return runDueDeliveries(ctx, ctx.state.deliveries) || changed;
  },
  nextWakeMs: (ctx) => (ctx.state.outbox.messages.length > 0 ? ctx.nowMs() : nextDeliveryMs(ctx.state.deliveries)),
  operations: {
    CreateTopic: operation({
      input: z.looseObject({ Name: z.string(), Attributes: attributeMap, Tags: z.array(z.looseObject({ Key: z.string(), Value: z.string() })).optional() }),
      handler(input, ctx: Ctx) {
        if (!TOPIC_NAME.test(input.Name)) throw invalid(ctx, 'Topic Name');
        const arn = ctx.arn(input.Name);
        const attributes = input.Attributes ?? {};
        for (const [k, v] of Object.entries(attributes)) checkTopicAttribute(ctx, k, v);
        const existing = ctx.state.topics.get(arn);
        if (existing) {
          // As SNS: the same name again is the same topic, unless it asks for different attributes.
          if (Object.entries(attributes).some(([k, v]) => (existing.attributes[k] ?? '') !== v)) throw invalid(ctx, 'Attributes Reason: Topic already exists with different attributes');
          return { TopicArn: arn };
        }
        ctx.state.topics.set(arn, { arn, name: input.Name, attributes: { ...attributes }, tags: input.Tags ?? [] });
        return { TopicArn: arn };
      },
    }),
    DeleteTopic: operation({
      input: z.looseObject({ TopicArn: z.string() }),
      handler(input, ctx: Ctx) {
        // Deleting a topic that does not exist is not an error.
        ctx.state.topics.delete(input.TopicArn);
        for (const [arn, s] of ctx.state.subscriptions) if (s.topicArn === input.TopicArn) ctx.state.subscriptions.delete(arn);
        return {};
      },
    }),
    ListTopics: operation({
      input: z.looseObject({ NextToken: z.string().optional() }),
      handler(input, ctx: Ctx) {
        const all = [...ctx.state.topics.keys()].sort().map((TopicArn) => ({ TopicArn }));
        const p = page(ctx, all, input.NextToken, 100);
        return { Topics: p.items, ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    GetTopicAttributes: operation({
      input: z.looseObject({ TopicArn: z.string() }),
      handler(input, ctx: Ctx) {
        return { Attributes: new XmlMap(topicAttributes(ctx.state, topicOf(ctx, input.TopicArn), ctx.accountId)) };
      },
    }),
    SetTopicAttributes: operation({
      input: z.looseObject({ TopicArn: z.string(), AttributeName: z.string(), AttributeValue: z.string().optional() }),
      handler(input, ctx: Ctx) {
        const topic = topicOf(ctx, input.TopicArn);
        const value = input.AttributeValue ?? '';
        checkTopicAttribute(ctx, input.AttributeName, value);
        topic.attributes = { ...topic.attributes, [input.AttributeName]: value };
        return {};
      },
    }),
    Subscribe: operation({
      input: z.looseObject({ TopicArn: z.string(), Protocol: z.string(), Endpoint: z.string().optional(), Attributes: attributeMap, ReturnSubscriptionArn: z.union([z.boolean(), z.string()]).optional() }),
      handler(input, ctx: Ctx) {
        topicOf(ctx, input.TopicArn);
        const protocol = input.Protocol.toLowerCase();
        if (protocol !== 'http' && protocol !== 'https') throw invalid(ctx, `Amazon SNS does not support this protocol string: ${input.Protocol} (the emulator delivers to http and https endpoints)`);
        const endpoint = input.Endpoint ?? '';
        let url: URL | undefined;
        try {
          url = new URL(endpoint);
        } catch {
          url = undefined;
        }
        if (!url || url.protocol !== `${protocol}:`) throw invalid(ctx, 'Endpoint must match the specified protocol');
        const attributes = input.Attributes ?? {};
        for (const k of Object.keys(attributes)) if (!SUBSCRIPTION_ATTRIBUTES.has(k)) throw invalid(ctx, `Attributes Reason: Unknown attribute ${k}`);
        const returnArn = input.ReturnSubscriptionArn === true || input.ReturnSubscriptionArn === 'true';
        const same = [...ctx.state.subscriptions.values()].find((s) => s.topicArn === input.TopicArn && s.protocol === protocol && s.endpoint === endpoint);
        if (same?.confirmed) return { SubscriptionArn: same.arn };
        const sub: Subscription = same ?? {
          arn: `${input.TopicArn}:${randomUUID()}`,
          topicArn: input.TopicArn,
          protocol,
          endpoint,
          confirmed: false,
          token: randomBytes(64).toString('hex'),
          tokenIssuedMs: ctx.nowMs(),
          attributes: { ...attributes },
        };
        sub.tokenIssuedMs = ctx.nowMs();
        ctx.state.subscriptions.set(sub.arn, sub);
        // A pending subscription subscribed again gets its confirmation again.
        sendConfirmation(ctx, sub);
        return { SubscriptionArn: returnArn ? sub.arn : PENDING };
      },
    }),
    ConfirmSubscription: operation({
      input: z.looseObject({ TopicArn: z.string(), Token: z.string(), AuthenticateOnUnsubscribe: z.string().optional() }),
      handler(input, ctx: Ctx) {
        topicOf(ctx, input.TopicArn);
        const sub = [...ctx.state.subscriptions.values()].find((s) => s.topicArn === input.TopicArn && s.token === input.Token);
        if (!sub) throw invalid(ctx, 'Token');
        if (!sub.confirmed && ctx.nowMs() - sub.tokenIssuedMs > TOKEN_VALID_MS) throw invalid(ctx, 'Token: the confirmation token has expired');
        sub.confirmed = true;
        return { SubscriptionArn: sub.arn };
      },
    }),
    Unsubscribe: operation({
      input: z.looseObject({ SubscriptionArn: z.string() }),
      handler(input, ctx: Ctx) {
        const sub = ctx.state.subscriptions.get(input.SubscriptionArn);
        if (!sub) throw notFound(ctx, 'Subscription');
        ctx.state.subscriptions.delete(sub.arn);
        queueDelivery(ctx, sub, 'UnsubscribeConfirmation', {
          Message: `You have chosen to deactivate subscription ${sub.arn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`,
          Token: sub.token,
          SubscribeURL: actionUrl(ctx, { Action: 'ConfirmSubscription', TopicArn: sub.topicArn, Token: sub.token }),
        });
        return {};
      },
    }),
    ListSubscriptions: operation({
      input: z.looseObject({ NextToken: z.string().optional() }),
      handler(input, ctx: Ctx) {
        const all = [...ctx.state.subscriptions.values()].map((s) => describeSubscription(s, ctx.accountId));
        const p = page(ctx, all, input.NextToken, 100);
        return { Subscriptions: p.items, ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    ListSubscriptionsByTopic: operation({
      input: z.looseObject({ TopicArn: z.string(), NextToken: z.string().optional() }),
      handler(input, ctx: Ctx) {
        topicOf(ctx, input.TopicArn);
        const all = [...ctx.state.subscriptions.values()].filter((s) => s.topicArn === input.TopicArn).map((s) => describeSubscription(s, ctx.accountId));
        const p = page(ctx, all, input.NextToken, 100);
        return { Subscriptions: p.items, ...(p.next ? { NextToken: p.next } : {}) };
      },
    }),
    Publish: operation({
      cloudTrail: false,
      input: z.looseObject({ TopicArn: z.string().optional(), TargetArn: z.string().optional(), Message: z.string(), Subject: z.string().optional(), MessageStructure: z.string().optional() }),
      handler(input, ctx: Ctx) {
        const arn = input.TopicArn ?? input.TargetArn;
        if (!arn) throw invalid(ctx, 'TopicArn or TargetArn Reason: no value for required parameter');
        topicOf(ctx, arn);
        if (Buffer.byteLength(input.Message, 'utf8') > MAX_MESSAGE_BYTES) throw invalid(ctx, 'Message too long');
        if (input.Message.length === 0) throw invalid(ctx, 'Empty message');
        if (input.Subject !== undefined && (input.Subject.length === 0 || input.Subject.length > 100 || /[\r\n]/.test(input.Subject))) throw invalid(ctx, 'Subject');
        let message = input.Message;
        let perProtocol: Record<string, string> | undefined;
        if (input.MessageStructure !== undefined) {
          if (input.MessageStructure !== 'json') throw invalid(ctx, 'MessageStructure');
          let parsed: unknown;
          try {
            parsed = JSON.parse(input.Message);
          } catch {
            throw invalid(ctx, 'Message Structure - JSON message body failed to parse');
          }
          const values = parsed as Record<string, unknown>;
          if (typeof values?.default !== 'string') throw invalid(ctx, 'Message Structure - No default entry in JSON message body');
          message = values.default;
          perProtocol = Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string'));
        }
        return { MessageId: publishToTopic(ctx, arn, message, input.Subject, perProtocol) };
      },
    }),
    // Not an API operation: the certificate behind every SigningCertURL this emulator hands out.
    GetSigningCertificate: {
      cloudTrail: false,
      http: { method: 'GET', path: '/SimpleNotificationService-{CertificateId}.pem' },
      handler(_input, ctx: Ctx) {
        const key = ctx.state.signing;
        if (!key || ctx.http.params.CertificateId !== key.certificateId) return new HttpResponse(404, { 'content-type': 'text/plain' }, 'no such certificate');
        return new HttpResponse(200, { 'content-type': 'application/x-x509-ca-cert' }, key.certificatePem);
      },
    },
  },
  control: [
    {
      method: 'GET',
      path: '/deliveries',
      description: 'HTTP/S deliveries still owed (with their attempts) and the last settled ones',
      handler: (_req, ctx) => {
        const view = (d: Delivery) => ({ id: d.id, type: d.type, messageId: d.messageId, topicArn: d.topicArn, subscriptionArn: d.subscriptionArn, endpoint: d.endpoint, state: d.state, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError, body: d.body });
        return { pending: [...ctx.state.deliveries.pending.values()].map(view), settled: ctx.state.deliveries.settled.map(view) };
      },
    },
  ],
});
