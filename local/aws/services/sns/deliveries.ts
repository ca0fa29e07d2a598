/**
 * HTTP/S deliveries of the emulated SNS: each message to each subscriber is a stored delivery, POSTed when due on the
 * emulator's clock and retried on failure as the subscription's (or topic's) delivery policy says (default: three
 * retries 20 seconds apart). A 2xx answer delivers it; 429, 5xx, a timeout or a network error is retried; any other
 * answer is a permanent failure, as SNS treats client errors. While a POST is in flight the virtual clock is held.
 */
import type { ServiceContext } from '../../service';
import type { SnsMessageType } from '../../../../common/sns-signature';

export interface Delivery {
  id: string;
  subscriptionArn: string;
  topicArn: string;
  endpoint: string;
  type: SnsMessageType;
  messageId: string;
  headers: Record<string, string>;
  body: string;
  /** Retry delays in ms after the first attempt, from the delivery policy when the message was made. */
  retryDelaysMs: number[];
  attempts: number;
  nextAttemptMs: number;
  createdMs: number;
  state: 'pending' | 'delivered' | 'failed';
  lastStatus?: number;
  lastError?: string;
}

export interface DeliveryLog {
  pending: Map<string, Delivery>;
  /** The last settled deliveries, newest last (for the control API). */
  settled: Delivery[];
}

const SETTLED_KEPT = 500;
const ATTEMPT_TIMEOUT_MS = 15_000;

interface RetryPolicy {
  minDelayTarget?: number;
  maxDelayTarget?: number;
  numRetries?: number;
  numNoDelayRetries?: number;
  numMinDelayRetries?: number;
  numMaxDelayRetries?: number;
  backoffFunction?: string;
}

/** The HTTP/S default: three retries, 20 seconds apart. */
export const DEFAULT_RETRY_POLICY: Required<RetryPolicy> = {
  minDelayTarget: 20,
  maxDelayTarget: 20,
  numRetries: 3,
  numNoDelayRetries: 0,
  numMinDelayRetries: 0,
  numMaxDelayRetries: 0,
  backoffFunction: 'linear',
};

/**
 * The delays between attempts: the immediate phase, the pre-backoff phase at the minimum delay, the backoff phase
 * from the minimum to the maximum delay (linear, arithmetic, geometric or exponential steps), the post-backoff phase
 * at the maximum delay.
 */
export function retryDelaysMs(policy: RetryPolicy | undefined): number[] {
  const p = { ...DEFAULT_RETRY_POLICY, ...policy };
  const min = Math.max(1, p.minDelayTarget);
  const max = Math.max(min, p.maxDelayTarget);
  const backoff = Math.max(0, p.numRetries - p.numNoDelayRetries - p.numMinDelayRetries - p.numMaxDelayRetries);
  const delays: number[] = [];
  for (let i = 0; i < p.numNoDelayRetries; i++) delays.push(0);
  for (let i = 0; i < p.numMinDelayRetries; i++) delays.push(min);
  for (let i = 1; i <= backoff; i++) {
    const f = backoff === 1 ? 1 : (i - 1) / (backoff - 1);
    const step =
      p.backoffFunction === 'exponential' || p.backoffFunction === 'geometric'
        ? min * (max / min) ** f
        : p.backoffFunction === 'arithmetic'
          ? min + (max - min) * f * f
          : min + (max - min) * f;
    delays.push(Math.round(step));
  }
  for (let i = 0; i < p.numMaxDelayRetries; i++) delays.push(max);
  return delays.slice(0, p.numRetries).map((s) => s * 1000);
}

/** The healthy retry policy of a subscription (`healthyRetryPolicy`) or, failing that, of its topic (`http.defaultHealthyRetryPolicy`). */
export function effectiveRetryPolicy(subscriptionPolicy: string | undefined, topicPolicy: string | undefined): RetryPolicy | undefined {
  const parse = (text: string | undefined): Record<string, unknown> | undefined => {
    if (!text) return undefined;
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const sub = parse(subscriptionPolicy)?.healthyRetryPolicy as RetryPolicy | undefined;
  const topic = (parse(topicPolicy)?.http as { defaultHealthyRetryPolicy?: RetryPolicy } | undefined)?.defaultHealthyRetryPolicy;
  return sub ?? topic;
}

/** Runtime only (not stored): which deliveries have a POST in flight, and whether a finished one changed the state. */
const runtime = new WeakMap<DeliveryLog, { inflight: Set<string>; changed: boolean }>();

function runtimeOf(log: DeliveryLog) {
  let r = runtime.get(log);
  if (!r) runtime.set(log, (r = { inflight: new Set(), changed: false }));
  return r;
}

function settle(log: DeliveryLog, d: Delivery, state: 'delivered' | 'failed'): void {
  log.pending.delete(d.id);
  log.settled.push({ ...d, state });
  if (log.settled.length > SETTLED_KEPT) log.settled.splice(0, log.settled.length - SETTLED_KEPT);
}

async function post(d: Delivery): Promise<{ status?: number; error?: string }> {
  try {
    const res = await fetch(d.endpoint, { method: 'POST', headers: d.headers, body: d.body, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), redirect: 'manual' });
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  } catch (err) {
    return { error: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err) };
  }
}

function attempt(ctx: ServiceContext<unknown>, log: DeliveryLog, d: Delivery): void {
  const rt = runtimeOf(log);
  rt.inflight.add(d.id);
  d.attempts += 1;
  const release = ctx.holdClock(`delivery:${d.id}:${d.attempts}`);
  void post(d).then(({ status, error }) => {
    rt.inflight.delete(d.id);
    if (log.pending.get(d.id) === d) {
      if (status !== undefined) d.lastStatus = status;
      if (error !== undefined) d.lastError = error;
      else delete d.lastError;
      const retryable = error !== undefined || status === 429 || (status !== undefined && status >= 500);
      if (status !== undefined && status >= 200 && status < 300) settle(log, d, 'delivered');
      else if (!retryable || d.attempts > d.retryDelaysMs.length) settle(log, d, 'failed');
      else d.nextAttemptMs = ctx.nowMs() + (d.retryDelaysMs[d.attempts - 1] as number);
      rt.changed = true;
    }
    release();
  });
}

/** Starts every due delivery that has no POST in flight; true when the state changed (a durable emulator writes it). */
export function runDueDeliveries(ctx: ServiceContext<unknown>, log: DeliveryLog): boolean {
  const rt = runtimeOf(log);
  let changed = rt.changed;
  rt.changed = false;
  const now = ctx.nowMs();
  for (const d of [...log.pending.values()]) {
    if (d.nextAttemptMs > now || rt.inflight.has(d.id)) continue;
    attempt(ctx, log, d);
    changed = true;
  }
  return changed;
}

/** When the next delivery not in flight is due. */
export function nextDeliveryMs(log: DeliveryLog): number | undefined {
  const rt = runtimeOf(log);
  let next: number | undefined;
  for (const d of log.pending.values()) if (!rt.inflight.has(d.id) && (next === undefined || d.nextAttemptMs < next)) next = d.nextAttemptMs;
  return next;
}
