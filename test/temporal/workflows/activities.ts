/** Activities used by the conformance workflows; the tests build them with per-test state. */
import { ApplicationFailure, Context, CancelledFailure } from '@temporalio/activity';

export interface ActivityLog {
  calls: string[];
}

export function createActivities(log: ActivityLog = { calls: [] }) {
  return {
    async greet(name: string): Promise<string> {
      log.calls.push(`greet:${name}`);
      return `Hello, ${name}!`;
    },
    async failTimes(times: number): Promise<number> {
      const attempt = Context.current().info.attempt;
      log.calls.push(`failTimes:${attempt}`);
      if (attempt <= times) throw ApplicationFailure.retryable(`attempt ${attempt} failed`, 'Flaky');
      return attempt;
    },
    async failNonRetryable(): Promise<void> {
      log.calls.push('failNonRetryable');
      throw ApplicationFailure.nonRetryable('no point retrying', 'Fatal');
    },
    async failWithType(type: string): Promise<void> {
      log.calls.push(`failWithType:${Context.current().info.attempt}`);
      throw ApplicationFailure.create({ message: 'typed failure', type });
    },
    async failWithNextDelay(delayMs: number): Promise<number> {
      const attempt = Context.current().info.attempt;
      log.calls.push(`delay:${attempt}:${Date.now()}`);
      if (attempt < 2) throw ApplicationFailure.create({ message: 'later', nextRetryDelay: delayMs });
      return attempt;
    },
    async heartbeatThenResume(): Promise<number[]> {
      const ctx = Context.current();
      const seen = (ctx.info.heartbeatDetails as number | undefined) ?? 0;
      log.calls.push(`resume:${ctx.info.attempt}:${seen}`);
      if (ctx.info.attempt === 1) {
        ctx.heartbeat(5);
        await ctx.sleep(50);
        throw ApplicationFailure.retryable('crash after heartbeat');
      }
      return [ctx.info.attempt, seen];
    },
    async sleepFor(ms: number): Promise<void> {
      await Context.current().sleep(ms);
    },
    async stopHeartbeating(): Promise<void> {
      const ctx = Context.current();
      log.calls.push(`silent:${ctx.info.attempt}`);
      ctx.heartbeat();
      await ctx.sleep(3000);
    },
    async waitForCancel(): Promise<string> {
      const ctx = Context.current();
      try {
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      } catch (err) {
        if (err instanceof CancelledFailure) {
          log.calls.push('cancelled');
          throw err;
        }
        throw err;
      }
    },
    /** How many times it was called with `key`: run as a local activity, it numbers the workflow task attempts. */
    async countCalls(key: string): Promise<number> {
      log.calls.push(`count:${key}`);
      return log.calls.filter((c) => c === `count:${key}`).length;
    },
    /** Attempt 1 heartbeats its progress and then hangs (its worker dies); a later attempt reports what it saw. */
    async hangsOnFirstAttempt(): Promise<string> {
      const ctx = Context.current();
      log.calls.push(`hangs:${ctx.info.attempt}`);
      if (ctx.info.attempt === 1) {
        ctx.heartbeat('halfway');
        await ctx.sleep(60_000);
      }
      return `attempt ${ctx.info.attempt} resumed from ${String(ctx.info.heartbeatDetails)}`;
    },
    /**
     * Heartbeats until the server interrupts it (cancel, PauseActivity, ResetActivity), then returns what its heartbeat
     * said, or with `rethrow` fails so it is retried; a retry returns its attempt number.
     */
    async heartbeatUntilInterrupted(rethrow: boolean): Promise<{ attempt: number; paused?: boolean; reset?: boolean; cancelRequested?: boolean }> {
      const ctx = Context.current();
      log.calls.push(`interruptible:${ctx.info.attempt}`);
      if (ctx.info.attempt > 1) return { attempt: ctx.info.attempt };
      try {
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      } catch (err) {
        if (!(err instanceof CancelledFailure) || rethrow) throw err;
        const d = ctx.cancellationDetails;
        return { attempt: ctx.info.attempt, paused: d?.paused, reset: d?.reset, cancelRequested: d?.cancelRequested };
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
