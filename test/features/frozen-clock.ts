/**
 * A frozen emulator clock for the features tests: write capacity refills only when a test moves the clock, so
 * throttled runs take a known number of emulated seconds on any machine.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../local/clock';
import { control } from '../aws/harness';
import { startFeaturesStack, type FeaturesStack, type JournalSummary } from './harness';

/** One stack for the test file on a frozen emulator clock: started before its tests (handed to `use`), closed after. */
export function frozenClockStack(use: (stack: FeaturesStack) => void): void {
  let stack: FeaturesStack | undefined;
  beforeAll(async () => {
    stack = await startFeaturesStack({ emulatorClock: frozenClock() });
    use(stack);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });
}

/** An emulator clock that stands still: only the control API moves it (on top of this base). */
export const frozenClock = (atMs = Date.parse('2026-01-05T00:00:00Z')): Clock => ({ now: () => atMs });

/**
 * Moves a frozen emulator clock one second whenever the group's writers are held up (a request throttled or entries
 * left unprocessed since the last move), at most once per `minIntervalMs` of real time, until `until` holds or
 * `signal` aborts. Write capacity refills only when the clock moves, so a run's emulated rate is bounded by its
 * capacity however fast or slow this machine is. Answers how many seconds it moved the clock and the last journal.
 */
export async function paceClockByThrottling(
  stack: FeaturesStack,
  group: string,
  opts: { until?: (j: JournalSummary) => boolean; signal?: AbortSignal; minIntervalMs?: number } = {},
): Promise<{ seconds: number; journal: JournalSummary }> {
  let seconds = 0;
  let seen = 0;
  let movedAt = 0;
  for (;;) {
    const j = await stack.journal(group);
    if (opts.until?.(j) || opts.signal?.aborted) return { seconds, journal: j };
    const held = j.throttledRequests + j.entriesUnprocessed;
    if (held > seen && Date.now() - movedAt >= (opts.minIntervalMs ?? 0)) {
      seen = held;
      movedAt = Date.now();
      await control(stack.emulator.endpoint, 'POST', '/clock', { advanceSeconds: 1 });
      seconds += 1;
    }
    await delay(10);
  }
}
