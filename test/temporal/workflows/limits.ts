/** Workflows for the activity and completion tests (test/temporal/activity-calls.test.ts). */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from './activities';

/** Returns a string of `bytes` characters: a result over the server's blob size limit when large enough. */
export async function returnsLargeResult(bytes: number): Promise<string> {
  return 'x'.repeat(bytes);
}

/** Runs heartbeatUntilInterrupted with a short heartbeat timeout and two attempts at most. */
export async function interruptibleActivity(rethrow: boolean): Promise<unknown> {
  const { heartbeatUntilInterrupted } = proxyActivities<Activities>({ startToCloseTimeout: '20s', heartbeatTimeout: '2s', retry: { maximumAttempts: 2, initialInterval: '10ms' } });
  return heartbeatUntilInterrupted(rethrow);
}
