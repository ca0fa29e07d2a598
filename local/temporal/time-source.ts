/**
 * The server's one clock and timer wheel. Every timeout, timer and retry backoff is scheduled here so that, with time
 * skipping on, virtual time can jump straight to the next due entry whenever nothing is in flight (no workflow or
 * activity task waiting or running, no query or update waiting) and no one holds a time-skipping lock.
 */
import type { Clock } from '../clock';

interface Entry {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
  /** fires in its turn when time skips, but is no reason to skip by itself (see scheduleAt) */
  passive?: boolean;
}

/** setTimeout takes at most a signed 32-bit delay. */
const MAX_REAL_DELAY_MS = 2 ** 31 - 1;

export type CancelTimer = () => void;

export class TimeSource implements Clock {
  private offsetMs: number;
  private readonly heap: Entry[] = [];
  private seq = 0;
  private liveEntries = 0;
  /** live entries that are not passive: time skips only while there is one */
  private liveActive = 0;
  private realTimer: NodeJS.Timeout | undefined;
  private realTimerAt = Infinity;
  private locks: number;
  /** Keys of things in flight (for example `wt:<runId>`); a Set so marking twice or clearing twice is harmless. */
  private readonly busy = new Set<string>();
  /** Busy activity tasks a worker is running, by key: the token of their current start (a retry is a new start). */
  private readonly running = new Map<string, number>();
  private startSeq = 0;
  /**
   * Callers of UnlockTimeSkippingWithSleep, each with the tokens of the activity starts it may be sleeping in (those
   * running when it called). A sleeper releases one hold, as Java's test server counts its unlock against one lock:
   * one of those activities while it runs, else the test client's lock. Nothing else in flight is released: not a
   * workflow task, a queued activity, an activity started after the call, nor the retry of one that timed out.
   */
  private readonly sleepers = new Set<ReadonlySet<number>>();
  private skipCheckQueued = false;
  private closed = false;

  constructor(
    readonly skipping: boolean,
    /** The standalone test server starts locked, as Java's does: the SDK's test client unlocks while it awaits a result. */
    startLocked: boolean,
    startTimeMs?: number,
  ) {
    this.locks = startLocked ? 1 : 0;
    this.offsetMs = startTimeMs === undefined ? 0 : startTimeMs - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** How far the virtual clock is ahead of the real one (0 without time skipping): saved in the state file. */
  get offset(): number {
    return this.offsetMs;
  }

  /** Puts the virtual clock back where a previous process left it (never backwards). */
  restoreOffset(ms: number): void {
    if (ms > this.offsetMs) this.offsetMs = ms;
  }

  /** Called after timers fired, so what they changed is saved before anything else happens. */
  afterFire?: () => void;

  /**
   * `passive`: an entry that should not by itself make time jump (a schedule's next action, which always has one):
   * it fires in order when something else makes time skip past it, and in real time otherwise.
   */
  scheduleAt(at: number, fire: () => void, opts: { passive?: boolean } = {}): CancelTimer {
    const entry: Entry = { at, seq: this.seq++, fire, cancelled: false, passive: opts.passive };
    this.push(entry);
    this.liveEntries++;
    if (!entry.passive) this.liveActive++;
    this.armRealTimer();
    this.queueSkipCheck();
    return () => {
      if (!entry.cancelled) {
        entry.cancelled = true;
        this.liveEntries--;
        if (!entry.passive) this.liveActive--;
        // Lazy deletion; rebuild when cancelled entries dominate so memory stays bounded.
        if (this.heap.length > 64 && this.liveEntries < this.heap.length / 2) this.compact();
      }
    };
  }

  schedule(delayMs: number, fire: () => void): CancelTimer {
    return this.scheduleAt(this.now() + Math.max(0, delayMs), fire);
  }

  markBusy(key: string): void {
    this.busy.add(key);
  }

  /** A busy activity task that a worker now runs: it may be the caller of a test-clock sleep (sleepUnlockingCaller). */
  markRunning(key: string): void {
    this.busy.add(key);
    this.running.set(key, ++this.startSeq);
  }

  markIdle(key: string): void {
    this.running.delete(key);
    if (this.busy.delete(key) && (this.busy.size === 0 || this.sleepers.size > 0)) this.queueSkipCheck();
  }

  lock(): void {
    this.locks++;
  }

  /**
   * Lock counts stay balanced rather than clamped: the SDK's test client unlocks for each awaited result, so two
   * results awaited together unlock twice (below zero) and lock twice after.
   */
  unlock(): void {
    this.locks--;
    this.queueSkipCheck();
  }

  /** Resolves when the clock reaches now + ms (virtual ms when skipping). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  sleepUntil(at: number): Promise<void> {
    return new Promise((resolve) => this.scheduleAt(at, resolve));
  }

  /**
   * UnlockTimeSkippingWithSleep: sleeps `ms` on the clock, releasing the caller's own hold meanwhile (see sleepers).
   * The hold comes back when the sleep fires, before time can move any further.
   */
  sleepUnlockingCaller(ms: number): Promise<void> {
    const sleeper: ReadonlySet<number> = new Set(this.running.values());
    this.sleepers.add(sleeper);
    this.queueSkipCheck();
    return new Promise((resolve) =>
      this.schedule(ms, () => {
        this.sleepers.delete(sleeper);
        resolve();
      }),
    );
  }

  /**
   * Moves virtual time forward by `ms` now, even while work is in flight, and fires whatever fell due: the way to let
   * a timeout elapse whose task a crashed process still holds (time skipping waits for in-flight work, so without this
   * an abandoned activity costs its whole start-to-close timeout in real time).
   */
  advance(ms: number): void {
    if (!this.skipping) throw new Error('advance needs a time-skipping server');
    if (!(ms >= 0)) throw new Error(`advance takes a non-negative number of milliseconds, got ${ms}`);
    this.offsetMs += ms;
    this.fireDue();
  }

  close(): void {
    this.closed = true;
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimer = undefined;
  }

  private queueSkipCheck(): void {
    if (!this.skipping || this.skipCheckQueued || this.closed) return;
    this.skipCheckQueued = true;
    // After the current request's synchronous work: a completion that immediately schedules new work is not idle.
    setImmediate(() => {
      this.skipCheckQueued = false;
      this.skipIfIdle();
    });
  }

  private skipIfIdle(): void {
    if (this.closed) return;
    // skipping while locks <= 0 and nothing in flight, beyond the holds that sleeping callers release
    if (Math.max(this.locks, 0) + this.busy.size - this.releasedBySleepers() > 0) return;
    const next = this.peekLive();
    if (!next || this.liveActive === 0) return;
    const now = this.now();
    if (next.at > now) this.offsetMs += next.at - now;
    this.fireDue();
  }

  /**
   * How many holds the sleepers release: each at most one, an activity it may be sleeping in (matched so that as many
   * sleepers as possible find a distinct one of theirs still running), or else one unit of the test client's lock.
   */
  private releasedBySleepers(): number {
    if (this.sleepers.size === 0) return 0;
    const live = new Set(this.running.values());
    const holder = new Map<number, ReadonlySet<number>>();
    const claim = (sleeper: ReadonlySet<number>, seen: Set<number>): boolean => {
      for (const token of sleeper) {
        if (!live.has(token) || seen.has(token)) continue;
        seen.add(token);
        const other = holder.get(token);
        if (!other || claim(other, seen)) {
          holder.set(token, sleeper);
          return true;
        }
      }
      return false;
    };
    let matched = 0;
    for (const sleeper of this.sleepers) if (claim(sleeper, new Set())) matched++;
    return matched + Math.min(this.sleepers.size - matched, Math.max(this.locks, 0));
  }

  private fireDue(): void {
    const now = this.now();
    for (;;) {
      const next = this.peekLive();
      if (!next || next.at > now) break;
      this.pop();
      next.cancelled = true;
      this.liveEntries--;
      if (!next.passive) this.liveActive--;
      try {
        next.fire();
      } catch (err) {
        // A failing callback must not stop the clock for everyone else.
        process.emitWarning(`timer callback failed: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
    this.afterFire?.();
    this.armRealTimer();
    this.queueSkipCheck();
  }

  private armRealTimer(): void {
    if (this.closed) return;
    const next = this.peekLive();
    const at = next ? next.at : Infinity;
    if (at === this.realTimerAt && this.realTimer) return;
    if (this.realTimer) clearTimeout(this.realTimer);
    this.realTimer = undefined;
    this.realTimerAt = at;
    if (at === Infinity) return;
    const delay = Math.min(MAX_REAL_DELAY_MS, Math.max(0, at - this.now()));
    this.realTimer = setTimeout(() => {
      this.realTimer = undefined;
      this.realTimerAt = Infinity;
      this.fireDue();
    }, delay);
    // The heap alone must not keep a process alive: the gRPC server does that.
    this.realTimer.unref();
  }

  private peekLive(): Entry | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  private compact(): void {
    const live = this.heap.filter((e) => !e.cancelled);
    this.heap.length = 0;
    for (const e of live) this.push(e);
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
