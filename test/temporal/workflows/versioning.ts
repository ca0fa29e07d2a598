/** Workflows for the worker deployment versioning tests: each reports the build id of the worker that runs it. */
import { condition, defineQuery, defineSignal, makeContinueAsNewFunc, setHandler, setWorkflowOptions, sleep, workflowInfo } from '@temporalio/workflow';

export const buildIdQuery = defineQuery<string>('buildId');
export const proceedSignal = defineSignal('proceed');

const buildId = (): string => workflowInfo().currentDeploymentVersion?.buildId ?? 'unversioned';

async function waitThenReport(): Promise<string> {
  let proceed = false;
  setHandler(proceedSignal, () => void (proceed = true));
  setHandler(buildIdQuery, buildId);
  await condition(() => proceed);
  return buildId();
}

setWorkflowOptions({ versioningBehavior: 'PINNED' }, pinnedWaiter);
export async function pinnedWaiter(): Promise<string> {
  return waitThenReport();
}

setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, upgradingWaiter);
export async function upgradingWaiter(): Promise<string> {
  return waitThenReport();
}

/** Pinned; once its task queue targets another version it continues as new there (auto-upgrade first task). */
setWorkflowOptions({ versioningBehavior: 'PINNED' }, movesWhenTargetChanges);
export async function movesWhenTargetChanges(round: number): Promise<string> {
  if (round > 0) return buildId();
  while (!workflowInfo().targetWorkerDeploymentVersionChanged) await sleep(20);
  return makeContinueAsNewFunc<typeof movesWhenTargetChanges>({ initialVersioningBehavior: 'AUTO_UPGRADE' })(round + 1);
}
