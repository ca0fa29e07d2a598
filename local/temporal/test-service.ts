/**
 * The time-skipping TestService that @temporalio/testing's createTimeSkipping talks to: lock/unlock automatic
 * skipping, sleep on the (virtual) clock, read it.
 */
import type { Handler } from './grpc-service';
import type { TimeSource } from './time-source';
import { msFromDuration, msFromTimestamp, timestampFromMs } from './time-format';

export function testServiceHandlers(time: TimeSource): Record<string, Handler> {
  const h = <T>(fn: (req: T) => unknown): Handler => fn as unknown as Handler;
  return {
    LockTimeSkipping: h(() => (time.lock(), {})),
    UnlockTimeSkipping: h(() => (time.unlock(), {})),
    Sleep: h(async (req: { duration?: { seconds?: number; nanos?: number } }) => {
      await time.sleep(msFromDuration(req.duration));
      return {};
    }),
    SleepUntil: h(async (req: { timestamp?: { seconds?: number; nanos?: number } }) => {
      await time.sleepUntil(msFromTimestamp(req.timestamp));
      return {};
    }),
    UnlockTimeSkippingWithSleep: h(async (req: { duration?: { seconds?: number; nanos?: number } }) => {
      await time.sleepUnlockingCaller(msFromDuration(req.duration));
      return {};
    }),
    GetCurrentTime: h(() => ({ time: timestampFromMs(time.now()) })),
  };
}
