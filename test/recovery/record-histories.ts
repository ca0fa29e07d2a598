/**
 * Records the replay fixtures of `replay.test.ts`: real runs of the recovery workflows on the embedded server (time
 * skipping, the emulator, the real activities, events through the gateway), exported with the SDK's history JSON.
 * Run it once per release whose workflows may still be running when the next one is deployed:
 *
 *   npx tsx test/recovery/record-histories.ts [RELEASE]     # writes test/recovery/fixtures/histories/RELEASE/
 */
import { join } from 'node:path';
import { runRecording, writeHistories, writeManifest } from '../support/histories';
import * as cli from '../../clients/cli/commands/recovery';
import { DATASYNC_SLOTS_WORKFLOW_ID, profileWorkflowId, restoreWorkflowId, type ProfileKey } from '../../workflows/recovery/model';
import { projectVersion } from '../../common/project-root';
import { startEndToEndStack } from './harness';
import { driver, eventually } from './drive';
import { studio } from './studio';

async function main(): Promise<void> {
  const release = process.argv[2] ?? projectVersion();
  const out = join(__dirname, 'fixtures', 'histories', release);
  const { stack, gateway } = await startEndToEndStack({ apiKey: 'record' });
  try {
    const d = driver(stack, undefined as never, 'record');
    const s = studio(stack);
    const dom = await s.createDomain('hist');
    const alice: ProfileKey = { domainName: 'hist', kind: 'user-profile', name: 'alice' };
    const bob: ProfileKey = { domainName: 'hist', kind: 'user-profile', name: 'bob' };

    // alice: created, works, deleted and created again: restore 1 copies her files.
    await s.create(dom, 'user-profile', 'alice');
    await d.homesSeen(alice, 1);
    await stack.sleep(3 * 60_000);
    const first = await s.homeUid(dom, 'user-profile', 'alice');
    await s.writeFile(dom.efsId, `/${first}/notes.md`, 'notes', Number(first));
    await s.remove(dom, 'user-profile', 'alice');
    await s.create(dom, 'user-profile', 'alice');
    if ((await d.restoreEnded(alice, 1, 120_000)).status !== 'succeeded') throw new Error('restore 1 did not succeed');

    // Admin updates: disable and enable again.
    await cli.setReplication(stack.client, 'hist/alice', false);
    await cli.setReplication(stack.client, 'hist/alice', true);

    // Created again with a copy that fails (DataSync ERROR), then retried by the operator.
    await s.control('POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', failureReason: 'injected for the replay fixtures' });
    await s.remove(dom, 'user-profile', 'alice');
    await s.create(dom, 'user-profile', 'alice');
    if ((await d.restoreEnded(alice, 2, 120_000)).status !== 'failed') throw new Error('restore 2 did not fail');
    await s.control('DELETE', '/scenarios');
    await cli.retry(stack.client, 'hist/alice');
    if ((await d.restoreEnded(alice, 3, 120_000)).status !== 'succeeded') throw new Error('restore 3 did not succeed');

    // bob: a copy requested before he exists, run when he is created.
    await cli.copy(stack.client, 'hist/alice', 'hist/bob');
    await s.create(dom, 'user-profile', 'bob');
    if ((await d.restoreEnded(bob, 1, 120_000)).status !== 'succeeded') throw new Error("bob's copy did not succeed");

    // carol: created again but never opened: her restore is still waiting for the new home.
    const carol: ProfileKey = { domainName: 'hist', kind: 'user-profile', name: 'carol' };
    await s.create(dom, 'user-profile', 'carol');
    await d.homesSeen(carol, 1);
    await s.remove(dom, 'user-profile', 'carol');
    await s.create(dom, 'user-profile', 'carol', { app: false });
    await eventually("carol's restore to wait", async () => ((await d.statusOf(carol)).restores[0]?.status === 'running' ? true : undefined), 60_000);
    await stack.sleep(30 * 60_000);

    await cli.seed(stack.client);

    const intakes: string[] = [];
    for await (const w of stack.client.workflow.list({ query: "WorkflowType = 'recoveryEventIntake'" })) intakes.push(w.workflowId);
    const seeds: string[] = [];
    for await (const w of stack.client.workflow.list({ query: "WorkflowType = 'seedRecovery'" })) seeds.push(w.workflowId);
    const lookups: string[] = [];
    for await (const w of stack.client.workflow.list({ query: "WorkflowType = 'lookupProfiles'" })) lookups.push(w.workflowId);
    await eventually('the slots to be free', async () => (await s.dataSyncStats()).liveTasks === 0 || undefined, 60_000);

    const wanted: [string, string][] = [
      ['profile-alice', profileWorkflowId(alice)],
      ['profile-bob', profileWorkflowId(bob)],
      ['datasync-slots', DATASYNC_SLOTS_WORKFLOW_ID],
      ['restore-succeeded', restoreWorkflowId(alice, 1)],
      ['restore-failed', restoreWorkflowId(alice, 2)],
      ['restore-retry', restoreWorkflowId(alice, 3)],
      ['restore-copy', restoreWorkflowId(bob, 1)],
      ['profile-carol-waiting', profileWorkflowId(carol)],
      ['restore-waiting', restoreWorkflowId(carol, 1)],
      ['intake', intakes[0]!],
      ['seed', seeds[0]!],
      ['lookup', lookups[0]!],
    ];
    const manifest = await writeHistories(stack.client, out, wanted);
    writeManifest(out, manifest);
    process.stdout.write(`${JSON.stringify(manifest, null, 2)}\nwritten to ${out}\n`);
  } finally {
    await stack.close();
    await gateway.close();
  }
}

runRecording(main);
