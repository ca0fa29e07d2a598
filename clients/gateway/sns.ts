/**
 * `POST /events/sns`: Amazon SNS HTTP/S deliveries. SNS cannot send the gateway's API key, so the signature is the
 * authentication: every message is verified (SignatureVersion 1 SHA1withRSA or 2 SHA256withRSA, over the documented
 * string to sign) with the certificate at its SigningCertURL, which must be on `sns.<the topic's region>.amazonaws.com`
 * over HTTPS (or, in embedded mode only, the emulator's own origin); a message older than the replay window, from a
 * topic not listed, or failing any check is refused with a 4xx (SNS does not retry those) and changes nothing.
 * Confirmations are confirmed (GET of the SubscribeURL); CloudWatch alarm notifications become the same signals to
 * the processing workflow as the EventBridge alarm events.
 */
import { X509Certificate, verify } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../../common/logger';
import { snsSignatureDigest, snsStringToSign, type SnsMessage } from '../../common/sns-signature';
import { alarmSignalFor, type ProcessingSignal } from './processing-events';

export interface SnsEndpointOptions {
  /** Topics whose deliveries are accepted; any other topic's, even correctly signed, is refused (403). */
  topicAllowed(topicArn: string): boolean;
  /** Embedded mode only: the emulator's origin (`http://127.0.0.1:4566`), trusted for certificates and SubscribeURLs besides SNS's. */
  emulatorOrigin?: () => string | undefined;
  /** Messages older than this are refused as replays (default one hour: SNS retries a delivery for at most that long). */
  maxAgeMs?: number;
  /** The clock timestamps are judged by (the emulator's virtual clock in tests). */
  now?: () => number;
}

export type SnsVerdict = { ok: true; message: SnsMessage } | { ok: false; status: number; reason: string };

export const SNS_MAX_AGE_MS = 3_600_000;
const TYPES = new Set(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']);
const REQUIRED = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const;

/** The region part of a topic ARN (`arn:aws:sns:<region>:<account>:<name>`). */
function topicRegion(topicArn: string): string | undefined {
  return /^arn:aws(?:-[a-z]+)*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]+$/.exec(topicArn)?.[1];
}

/** SNS's own host for the topic's region over HTTPS, or (embedded mode) the emulator's origin. */
export function trustedSnsUrl(url: string, topicArn: string, emulatorOrigin: string | undefined): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (emulatorOrigin !== undefined && u.origin === new URL(emulatorOrigin).origin) return true;
  const region = topicRegion(topicArn);
  if (!region || u.protocol !== 'https:' || u.port !== '') return false;
  return u.hostname === `sns.${region}.amazonaws.com` || u.hostname === `sns.${region}.amazonaws.com.cn`;
}

function parseMessage(body: unknown): SnsMessage | string {
  let value: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      value = JSON.parse(String(body));
    } catch {
      return 'the body is not JSON';
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'the body is not a JSON object';
  const m = value as Record<string, unknown>;
  for (const key of REQUIRED) if (typeof m[key] !== 'string') return `the message has no ${key}`;
  if (!TYPES.has(m.Type as string)) return `unknown message type ${String(m.Type)}`;
  if (m.Type !== 'Notification' && (typeof m.Token !== 'string' || typeof m.SubscribeURL !== 'string')) return `a ${String(m.Type)} needs Token and SubscribeURL`;
  if (m.Subject !== undefined && typeof m.Subject !== 'string') return 'Subject is not a string';
  return m as unknown as SnsMessage;
}

export function createSnsVerifier(opts: SnsEndpointOptions) {
  const certificates = new Map<string, Promise<X509Certificate>>();
  const now = opts.now ?? Date.now;
  const maxAgeMs = opts.maxAgeMs ?? SNS_MAX_AGE_MS;

  const certificate = (url: string): Promise<X509Certificate> => {
    let cert = certificates.get(url);
    if (!cert) {
      cert = (async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
        if (!res.ok) throw new Error(`${url} answered ${res.status}`);
        return new X509Certificate(await res.text());
      })();
      certificates.set(url, cert);
      // A failed fetch is not remembered: the next delivery tries again.
      cert.catch(() => certificates.delete(url));
    }
    return cert;
  };

  return async function verifySnsMessage(body: unknown): Promise<SnsVerdict> {
    const message = parseMessage(body);
    if (typeof message === 'string') return { ok: false, status: 400, reason: message };
    if (!opts.topicAllowed(message.TopicArn)) return { ok: false, status: 403, reason: `topic ${message.TopicArn} is not one this gateway accepts` };
    const digest = snsSignatureDigest(message.SignatureVersion);
    if (!digest) return { ok: false, status: 400, reason: `unknown SignatureVersion ${message.SignatureVersion}` };
    const origin = opts.emulatorOrigin?.();
    if (!trustedSnsUrl(message.SigningCertURL, message.TopicArn, origin) || !new URL(message.SigningCertURL).pathname.endsWith('.pem')) {
      return { ok: false, status: 403, reason: `SigningCertURL ${message.SigningCertURL.slice(0, 200)} is not on SNS's host for the topic's region` };
    }
    const at = Date.parse(message.Timestamp);
    if (!Number.isFinite(at)) return { ok: false, status: 400, reason: `Timestamp ${message.Timestamp} is not a time` };
    if (now() - at > maxAgeMs) return { ok: false, status: 400, reason: `Timestamp ${message.Timestamp} is older than ${Math.round(maxAgeMs / 60_000)} minutes: a replay` };
    let cert: X509Certificate;
    try {
      cert = await certificate(message.SigningCertURL);
    } catch (err) {
      // Our side or SNS's is down: 5xx, so SNS delivers it again.
      return { ok: false, status: 502, reason: `cannot read the signing certificate: ${err instanceof Error ? err.message : String(err)}` };
    }
    let good = false;
    try {
      good = verify(digest, Buffer.from(snsStringToSign(message), 'utf8'), cert.publicKey, Buffer.from(message.Signature, 'base64'));
    } catch {
      good = false;
    }
    if (!good) return { ok: false, status: 403, reason: 'the signature does not verify' };
    return { ok: true, message };
  };
}

export interface SnsDeliveryDeps {
  verify: ReturnType<typeof createSnsVerifier>;
  emulatorOrigin?: () => string | undefined;
  log: Logger;
  signal(s: ProcessingSignal): Promise<'signalled' | 'no-workflow'>;
}

/** The meaning of a verified notification: an alarm state change of a processing attempt, or nothing for us. */
function alarmOf(message: SnsMessage): ReturnType<typeof alarmSignalFor> | undefined {
  let body: unknown;
  try {
    body = JSON.parse(message.Message);
  } catch {
    return undefined;
  }
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.AlarmName !== 'string' || typeof b.NewStateValue !== 'string') return undefined;
  return alarmSignalFor(b.AlarmName, b.NewStateValue, typeof b.NewStateReason === 'string' ? b.NewStateReason : undefined, typeof b.StateChangeTime === 'string' ? b.StateChangeTime : undefined);
}

export async function handleSnsDelivery(body: unknown, deps: SnsDeliveryDeps, reply: FastifyReply): Promise<FastifyReply> {
  const { log } = deps;
  const verdict = await deps.verify(body);
  if (!verdict.ok) {
    log.warn({ decision: 'refused', status: verdict.status, reason: verdict.reason }, 'SNS delivery refused');
    return reply.code(verdict.status).send({ error: verdict.reason });
  }
  const m = verdict.message;
  if (m.Type === 'SubscriptionConfirmation') {
    const url = m.SubscribeURL as string;
    if (!trustedSnsUrl(url, m.TopicArn, deps.emulatorOrigin?.())) {
      log.warn({ decision: 'refused', topicArn: m.TopicArn }, 'SNS SubscribeURL is not on SNS');
      return reply.code(403).send({ error: 'SubscribeURL is not on SNS\'s host for the topic\'s region' });
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`answered ${res.status}`);
    } catch (err) {
      log.error({ decision: 'unavailable', topicArn: m.TopicArn, err: err instanceof Error ? err.message : String(err) }, 'cannot confirm the SNS subscription');
      return reply.code(502).send({ error: 'the subscription could not be confirmed; deliver it again' });
    }
    log.info({ decision: 'confirmed', topicArn: m.TopicArn }, 'SNS subscription confirmed');
    return reply.code(200).send({ status: 'confirmed' });
  }
  if (m.Type === 'UnsubscribeConfirmation') {
    log.info({ decision: 'ignored', topicArn: m.TopicArn }, 'SNS subscription ended');
    return reply.code(200).send({ status: 'ignored', reason: 'unsubscribed' });
  }
  const meaning = alarmOf(m);
  if (!meaning || meaning.kind === 'ignored' || meaning.kind === 'not-processing') {
    const reason = meaning?.kind === 'ignored' ? meaning.reason : 'not a CloudWatch alarm notification';
    log.info({ decision: 'ignored', topicArn: m.TopicArn, messageId: m.MessageId, reason }, 'SNS notification of no interest');
    return reply.code(200).send({ status: 'ignored', reason });
  }
  try {
    const outcome = await deps.signal(meaning);
    log.info({ decision: outcome, workflowId: meaning.workflowId, messageId: m.MessageId }, 'SNS alarm notification');
    return reply.code(200).send({ status: outcome === 'signalled' ? 'accepted' : 'ignored', workflowId: meaning.workflowId });
  } catch (err) {
    log.error({ decision: 'unavailable', workflowId: meaning.workflowId, err: err instanceof Error ? err.message : String(err) }, 'cannot hand the SNS notification to Temporal');
    // 5xx: SNS delivers it again.
    return reply.code(503).send({ error: 'Temporal is unavailable; retry later' });
  }
}
