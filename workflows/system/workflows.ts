import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../activities/system/activities';

const { echo } = proxyActivities<ReturnType<typeof activities.createSystemActivities>>({
  startToCloseTimeout: '10 seconds',
});

/** Round trip through the service, a worker and an activity: what `mlops ping` runs to prove the stack works. */
export async function ping(message: string): Promise<string> {
  return await echo(message);
}
