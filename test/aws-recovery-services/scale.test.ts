/**
 * The emulator under the load of issue 5's large case: 150 homes copied between two domains' file systems by a
 * driver that keeps at most 90 DataSync tasks alive; every file arrives, and the stats endpoint's high-water mark
 * shows the cap was held (and what the quota would have refused).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CreateLocationEfsCommand, CreateTaskCommand, DeleteLocationCommand, DeleteTaskCommand, DescribeTaskExecutionCommand, StartTaskExecutionCommand } from '@aws-sdk/client-datasync';
import { allowNfsFromItself, control, createDomain, efsLocationConfig, readFile, startStack, writeFile, type TestStack } from './support';

let s: TestStack;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await s.close();
});

async function locationConfig(efsId: string) {
  const { groups, ...cfg } = await efsLocationConfig(s, efsId);
  await allowNfsFromItself(s, groups);
  return cfg;
}

describe('150 simultaneous restores under a 90-task cap', () => {
  it('copy every home and never hold more than 90 tasks', async () => {
    const HOMES = 150;
    const CAP = 90;
    const a = await createDomain(s, 'before');
    const b = await createDomain(s, 'after');
    const [cfgA, cfgB] = [await locationConfig(a.efsId), await locationConfig(b.efsId)];
    for (let i = 0; i < HOMES; i++) await writeFile(s, a.efsId, `/${200001 + i}/work/file-${i}.txt`, `home ${i}`.repeat(100), { uid: 200001 + i, gid: 1001 });

    let live = 0;
    let next = 0;
    async function restore(i: number): Promise<void> {
      const src = await s.ds.send(new CreateLocationEfsCommand({ ...cfgA, Subdirectory: `/${200001 + i}` }));
      const dst = await s.ds.send(new CreateLocationEfsCommand({ ...cfgB, Subdirectory: `/${200001 + i}` }));
      const { TaskArn } = await s.ds.send(new CreateTaskCommand({ SourceLocationArn: src.LocationArn, DestinationLocationArn: dst.LocationArn, Name: `restore-${i}`, Options: { OverwriteMode: 'NEVER', VerifyMode: 'ONLY_FILES_TRANSFERRED' } }));
      const { TaskExecutionArn } = await s.ds.send(new StartTaskExecutionCommand({ TaskArn }));
      for (;;) {
        const e = await s.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn }));
        if (e.Status === 'SUCCESS') break;
        if (e.Status === 'ERROR') throw new Error(`restore ${i} failed: ${e.Result?.ErrorDetail}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await s.ds.send(new DeleteTaskCommand({ TaskArn }));
      await s.ds.send(new DeleteLocationCommand({ LocationArn: src.LocationArn }));
      await s.ds.send(new DeleteLocationCommand({ LocationArn: dst.LocationArn }));
    }
    async function worker(): Promise<void> {
      while (next < HOMES) {
        const i = next++;
        live++;
        expect(live).toBeLessThanOrEqual(CAP);
        await restore(i);
        live--;
      }
    }
    // Virtual time moves on while the restores poll.
    const ticker = setInterval(() => s.advance(20_000), 2);
    try {
      await Promise.all(Array.from({ length: CAP }, worker));
    } finally {
      clearInterval(ticker);
    }

    for (const i of [0, 74, 149]) expect((await readFile(s, b.efsId, `/${200001 + i}/work/file-${i}.txt`))?.text).toBe(`home ${i}`.repeat(100));
    const stats = await control<{ liveTasks: number; maxLiveTasks: number; tasksCreated: number; tasksRefusedByQuota: number; executionsByStatus: Record<string, number> }>(
      s.emu.endpoint,
      'GET',
      '/services/datasync/stats',
    );
    expect(stats.body).toMatchObject({ liveTasks: 0, tasksCreated: HOMES, tasksRefusedByQuota: 0 });
    expect(stats.body.maxLiveTasks).toBeLessThanOrEqual(CAP);
    expect(stats.body.maxLiveTasks).toBeGreaterThan(CAP / 2);
  });
});
