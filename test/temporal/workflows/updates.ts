/** Workflows for the update tests (test/temporal/updates.test.ts). */
import { condition, continueAsNew, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from './activities';

export const appendUpdate = defineUpdate<string[], [string]>('append');
export const doneUpdate = defineUpdate<void>('done');
export const mutateUpdate = defineUpdate<void>('mutate');
export const blockUpdate = defineUpdate<void>('block');
export const whichRunUpdate = defineUpdate<string>('whichRun');

/** Sets the update's handler and returns at once: the result shows whether an update of its first task ran. */
export async function returnsStateAtOnce(): Promise<string> {
  let state = 'initial';
  setHandler(mutateUpdate, () => void (state = 'mutated-by-update'));
  return state;
}

/** Appends each `append` argument; `done` ends it. Returns what was appended, then '$'. */
export async function appendUntilDone(): Promise<string[]> {
  const state: string[] = [];
  let done = false;
  setHandler(appendUpdate, (arg: string) => {
    state.push(arg);
    return state;
  });
  setHandler(doneUpdate, () => {
    state.push('done');
    done = true;
  });
  await condition(() => done);
  state.push('$');
  return state;
}

/** Accepts `block` updates that never finish. */
export async function blockingUpdates(): Promise<void> {
  setHandler(blockUpdate, () => condition(() => false));
  await condition(() => false);
}

/**
 * The first run's one workflow task runs a slow local activity and then continues as new (or returns, with
 * `end` = 'return'); an update sent meanwhile was never seen by that run. Only the second run handles `whichRun`.
 */
export async function slowTaskThenEnds(end: 'continue' | 'return', run = 1): Promise<string> {
  if (run === 2) {
    setHandler(whichRunUpdate, () => 'handled by run 2');
    await condition(() => false);
  }
  const { sleepFor } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s' });
  await sleepFor(1500);
  if (end === 'continue') await continueAsNew<typeof slowTaskThenEnds>(end, 2);
  return 'returned';
}
