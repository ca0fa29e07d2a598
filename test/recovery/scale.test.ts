/** Issue 5: 150 profiles recreated at once all recover, and the emulator never sees more live tasks than the cap. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningGateway } from '../../clients/gateway/server';
import { startEndToEndStack, type RecoveryStack } from './harness';
import { recoverMany } from './scale';

let stack: RecoveryStack;
let gateway: RunningGateway;

beforeAll(async () => {
  ({ stack, gateway } = await startEndToEndStack({ dataSyncTaskCap: 90 }));
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await gateway?.close();
});

it('150 profiles recreated at once all get their files back through at most 90 live DataSync tasks', async () => {
  const f = await recoverMany(stack, 150, 90, (m) => console.log(m));
  console.log(JSON.stringify(f));
  expect(f.succeeded).toBe(150);
  expect(f.maxLiveTasks).toBeLessThanOrEqual(90);
  expect(f.maxLiveTasks).toBeGreaterThan(45);
  expect(f).toMatchObject({ leftoverTasks: 0, leftoverLocations: 0 });
  expect(f.eventsPerRestore.max).toBeLessThanOrEqual(60);
}, 400_000);
