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
import { TrackedMap } from './persistence/tracked-map';

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
  /** Held while a delivery is in flight: a jumping virtual clock waits until the receiver has acted on the event. */
  hold?: { busy(key: string): void; idle(key: string): void };
}

export class EventBus {
  private records: DeliveryRecord[] = [];
  private held: DeliveryRecord[] = [];
  /** Durable emulators: events still owed to the target by id; tracked, so only new and settled ones are written. */
  private owedById?: Map<string, DeliveryRecord>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(private readonly opts: EventBusOptions) {
    if (opts.deliverAfterRelease) this.owedById = new TrackedMap();
  }

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
      this.owedById?.set(envelope.id, record);
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

  /** Events still owed to the target (pending or retrying) by id, as a durable emulator stores them. */
  owed(): Map<string, DeliveryRecord> {
    return this.owedById ?? new Map();
  }

  /**
   * Takes back events owed before a restart (the map as stored) and delivers them again: at least once, the
   * target may have had one already, under the same id.
   */
  restoreOwed(owed: Map<string, DeliveryRecord>): void {
    for (const record of owed.values()) {
      record.state = 'pending';
      this.records.push(record);
    }
    // Keep the restored map: it knows where it is stored, so the next write holds only what changes.
    if (this.owedById) this.owedById = owed;
    // Started without an events target this time: they stay owed until a start that has one.
    if (!this.opts.target) return;
    for (const record of owed.values()) void this.deliver(record);
  }

  /** A record stopped being owed (delivered, rejected, abandoned). */
  private settled(record: DeliveryRecord): void {
    this.owedById?.delete(record.event.id);
    this.opts.onOwedChange?.();
  }

  list(filter: { source?: string; detailType?: string } = {}): DeliveryRecord[] {
    return this.records.filter(
      (r) => (!filter.source || r.event.source === filter.source) && (!filter.detailType || r.event['detail-type'] === filter.detailType),
    );
  }

  reset(): void {
    this.records = [];
    this.held = [];
    this.owedById?.clear();
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
    const holdKey = `event-delivery:${record.event.id}:${record.attempts}`;
    this.opts.hold?.busy(holdKey);
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
      if (!retry) this.settled(record);
    } catch (err) {
      record.lastError = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      retry = true;
    } finally {
      clearTimeout(timeout);
      this.inflight.delete(controller);
      this.opts.hold?.idle(holdKey);
    }
    if (!retry || this.closed) return;
    if (record.attempts >= (this.opts.maxAttempts ?? 30)) {
      record.state = 'abandoned';
      this.settled(record);
      this.opts.log?.warn({ eventId: record.event.id, attempts: record.attempts, error: record.lastError, status: record.lastStatus }, 'event delivery abandoned');
      return;
    }
    // Still owed: its attempt count is stored again, so a restart does not give it a fresh set of attempts.
    if (this.owedById?.has(record.event.id)) {
      this.owedById.set(record.event.id, { ...record });
      this.opts.onOwedChange?.();
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
