/**
 * A long-poll call ends early when its caller goes away or its deadline approaches; whatever it waits on registers
 * here to be released then (a task-queue poller is removed, a history waiter answers empty).
 */
export class LongPoll {
  private callbacks: (() => void)[] = [];
  private ended = false;

  onEnd(cb: () => void): void {
    if (this.ended) cb();
    else this.callbacks.push(cb);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const cbs = this.callbacks;
    this.callbacks = [];
    for (const cb of cbs) cb();
  }

  /** Resolves when the poll ends (deadline or cancellation). */
  ended$(): Promise<void> {
    return new Promise((resolve) => this.onEnd(resolve));
  }
}
