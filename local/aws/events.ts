/**
 * EventBridge-style delivery: every published event is kept (GET /_emulator/events) and, with an events target,
 * POSTed there as an EventBridge event envelope with the API key in the `x-api-key` header (as an EventBridge API
 * destination with API-key authorisation sends it). Delivery is at least once: network errors, 429 and 5xx answers
 * are retried with exponential backoff (real time: delivery crosses a real network), other 4xx answers are
 * given up as EventBridge does and journaled as `rejected`.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PublishedEvent } from './service';
import { matchesEventPattern, type EventPattern } from './event-pattern';

export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface DeliveryRecord {
  event: EventEnvelope;
  /** `none` without an events target; `filtered` when it does not match the delivery pattern. */
  state: 'none' | 'filtered' | 'pending' | 'delivered' | 'rejected' | 'abandoned';
  attempts: number;
  lastStatus?: number;
  lastError?: string;
}

export interface EventBusOptions {
  target?: string;
  apiKey?: string;
  apiKeyHeader?: string;
  /** Only matching events are delivered, as behind an EventBridge rule. */
  pattern?: EventPattern;
  account: string;
  region: string;
  now: () => number;
  log?: Logger;
  /** First retry delay; doubles up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts before an event is abandoned (EventBridge keeps trying for 24 hours; we stop earlier). */
  maxAttempts?: number;
  /** Kept records, oldest dropped first. */
  capacity?: number;
  /**
   * Durable emulators: a new event waits for `release()` (called once the change that published it is written), so
   * an event is never delivered for a change a crash then loses, and an owed event is on disk before it is sent.
   */
  deliverAfterRelease?: boolean;
  /** Called when the set of events still owed to the target changes (one added, one delivered or given up). */
  onOwedChange?: () => void;
}

export class EventBus {
  private records: DeliveryRecord[] = [];
  private held: DeliveryRecord[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(private readonly opts: EventBusOptions) {}

  publish(event: PublishedEvent, region = this.opts.region): EventEnvelope {
    const envelope: EventEnvelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': event.detailType,
      source: event.source,
      account: this.opts.account,
      time: new Date(this.opts.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: event.resources ?? [],
      detail: event.detail,
    };
    const wanted = this.opts.pattern === undefined || matchesEventPattern(this.opts.pattern, envelope);
    const record: DeliveryRecord = { event: envelope, state: !this.opts.target ? 'none' : wanted ? 'pending' : 'filtered', attempts: 0 };
    this.records.push(record);
    const capacity = this.opts.capacity ?? 10_000;
    if (this.records.length > capacity) this.records.splice(0, this.records.length - capacity);
    if (record.state === 'pending') {
      this.opts.onOwedChange?.();
      if (this.opts.deliverAfterRelease) this.held.push(record);
      else void this.deliver(record);
    }
    return envelope;
  }

  /** Starts delivering the events held since the last release (`deliverAfterRelease`). */
  release(): void {
    const ready = this.held;
    this.held = [];
    for (const record of ready) void this.deliver(record);
  }

  /** Events still owed to the target (pending or retrying), as a durable emulator stores them. */
  owed(): DeliveryRecord[] {
    return this.records.filter((r) => r.state === 'pending');
  }

  /** Takes back events owed before a restart and delivers them again (at least once: the target may have one already). */
  restoreOwed(records: readonly DeliveryRecord[]): void {
    for (const r of records) {
      const record: DeliveryRecord = { ...r, state: 'pending' };
      this.records.push(record);
      void this.deliver(record);
    }
  }

  list(filter: { source?: string; detailType?: string } = {}): DeliveryRecord[] {
    return this.records.filter(
      (r) => (!filter.source || r.event.source === filter.source) && (!filter.detailType || r.event['detail-type'] === filter.detailType),
    );
  }

  reset(): void {
    this.records = [];
    this.held = [];
    this.opts.onOwedChange?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.inflight) c.abort();
  }

  private async deliver(record: DeliveryRecord): Promise<void> {
    if (this.closed) return;
    const target = this.opts.target as string;
    record.attempts += 1;
    const controller = new AbortController();
    this.inflight.add(controller);
    const timeout = setTimeout(() => controller.abort(), 10_000);
    let retry = false;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.opts.apiKey) headers[this.opts.apiKeyHeader ?? 'x-api-key'] = this.opts.apiKey;
      const res = await fetch(target, { method: 'POST', headers, body: JSON.stringify(record.event), signal: controller.signal });
      await res.arrayBuffer().catch(() => undefined);
      record.lastStatus = res.status;
      delete record.lastError;
      if (res.ok) record.state = 'delivered';
      else if (res.status === 429 || res.status >= 500) retry = true;
      else record.state = 'rejected';
      if (!retry) this.opts.onOwedChange?.();
    } catch (err) {
      record.lastError = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      retry = true;
    } finally {
      clearTimeout(timeout);
      this.inflight.delete(controller);
    }
    if (!retry || this.closed) return;
    if (record.attempts >= (this.opts.maxAttempts ?? 30)) {
      record.state = 'abandoned';
      this.opts.onOwedChange?.();
      this.opts.log?.warn({ eventId: record.event.id, attempts: record.attempts, error: record.lastError, status: record.lastStatus }, 'event delivery abandoned');
      return;
    }
    const delay = Math.min((this.opts.baseDelayMs ?? 200) * 2 ** (record.attempts - 1), this.opts.maxDelayMs ?? 30_000);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(record);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}
