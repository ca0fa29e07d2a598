import type { Clock } from '../clock';

/**
 * The emulator's time: an injected clock (the embedded Temporal server's virtual clock, which may jump) or real
 * time multiplied by `timeScale` from the moment the emulator started; `advance` adds an offset on top of either.
 */
export class EmulatorClock implements Clock {
  private offsetMs = 0;
  private readonly startedAtReal = Date.now();

  constructor(
    private readonly base: Clock | undefined,
    readonly timeScale = 1,
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  }

  now(): number {
    if (this.base) return this.base.now() + this.offsetMs;
    const elapsed = Date.now() - this.startedAtReal;
    return Math.floor(this.startedAtReal + elapsed * this.timeScale + this.offsetMs);
  }

  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`the clock only moves forward; got ${ms} ms`);
    this.offsetMs += ms;
    return this.now();
  }

  /**
   * After a restart: the saved advance, and never behind the last saved emulated time (a scaled clock restarts
   * from real time, which may be behind what it had reached).
   */
  restore(saved: { advancedMs: number; nowMs: number }): void {
    this.offsetMs = saved.advancedMs;
    const behind = saved.nowMs - this.now();
    if (behind > 0) this.offsetMs += behind;
  }

  get advancedMs(): number {
    return this.offsetMs;
  }
}
