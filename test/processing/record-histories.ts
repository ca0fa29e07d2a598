/**
 * Records the replay fixtures of `replay.test.ts`: real runs of the processing workflow on the embedded server (time
 * skipping, the emulator, the real activities, alarm and job events through the gateway). Closed: an executor restart,
 * a driver restart, a job stopped from the console and resumed, a capacity retry then another family, a user error, a
 * cancel. Running (the histories a deployment finds in flight, the worker stopped): in attempt 1's load step, in
 * attempt 2 after an alarm, and waiting for a budget approval. A job runs for hours to days, so run this once per
 * release whose jobs may still be running when the next one is deployed:
 *
 *   npx tsx test/processing/record-histories.ts [RELEASE]     # writes test/processing/fixtures/histories/RELEASE/
 */
import { join } from 'node:path';
import { StopProcessingJobCommand } from '@aws-sdk/client-sagemaker';
import { projectVersion } from '../../common/project-root';
import { processingWorkflowId } from '../../workflows/processing/model';
import { processingStatusQuery } from '../../workflows/processing/messages';
import { runRecording, writeHistories, writeManifest } from '../support/histories';
import { emulatorControl, processingInput, startProcessing, startProcessingStack, workload } from './harness';

const MINUTE = 60_000;

async function main(): Promise<void> {
  const release = process.argv[2] ?? projectVersion();
  const out = join(__dirname, 'fixtures', 'histories', release);
  const s = await startProcessingStack();
  try {
    const closed = async (name: string, run: Promise<unknown>) => {
      await run.catch(() => undefined);
      return name;
    };
    const driverBound = workload({ SIM_STEP_join: 'cpu=0.6;parallelism=12;execMem=1+0.05;driverMem=2+0.12' });
    await emulatorControl(s, 'POST', '/scenarios', { service: 'sagemaker', kind: 'processing-job', resource: 'rec-user-*', failureReason: 'AlgorithmError: KeyError: customer_id, exit code: 1', failAtStatus: 'InProgress/load' });
    const done = await Promise.all([
      closed('rec-exec', startProcessing(s, processingInput('rec-exec')).then((h) => h.result())),
      closed('rec-driver', startProcessing(s, processingInput('rec-driver', { count: 5, env: driverBound })).then((h) => h.result())),
      closed('rec-user', startProcessing(s, processingInput('rec-user', { count: 5 })).then((h) => h.result())),
    ]);
    // Stopped from the console in its join step, then resumed; and a cancel (mlops processing stop) mid-run.
    const console_ = await startProcessing(s, processingInput('rec-console', { count: 5 }));
    const cancelled = await startProcessing(s, processingInput('rec-cancel', { count: 5 }));
    await s.sleepAndHold(10 * MINUTE);
    await s.sm.send(new StopProcessingJobCommand({ ProcessingJobName: 'rec-console-a1' }));
    await cancelled.cancel();
    s.release();
    done.push(await closed('rec-console', console_.result()), await closed('rec-cancel', cancelled.result()));

    await emulatorControl(s, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: ['ml.m5.xlarge'] });
    done.push(await closed('rec-capacity', startProcessing(s, processingInput('rec-capacity', { count: 5, policy: { capacityRetries: 1 } })).then((h) => h.result())));
    await emulatorControl(s, 'PUT', '/services/sagemaker/processing-capacity', { unavailableInstanceTypes: [] });

    // In flight: attempt 1 in load, attempt 2 after the executor alarm, one waiting for an approval past its budget.
    const inLoad = await startProcessing(s, processingInput('rec-running-a1', { count: 5 }));
    const second = await startProcessing(s, processingInput('rec-running-a2'));
    const budget = await startProcessing(s, processingInput('rec-awaiting-approval', { count: 5, policy: { budgetUsd: 0.1, estimatedRuntimeMinutes: 20 } }));
    for (let i = 0; i < 60 && (await second.query(processingStatusQuery)).attempt < 2; i++) await s.sleepAndHold(MINUTE).then(() => s.release());
    await s.sleepAndHold(MINUTE);
    const states = await Promise.all([inLoad, second, budget].map((h) => h.query(processingStatusQuery)));
    if (states[0]?.phase !== 'running' || states[1]?.attempt !== 2 || states[2]?.phase !== 'awaiting-approval') throw new Error(`the running fixtures are not where they should be: ${JSON.stringify(states.map((x) => [x.phase, x.attempt]))}`);
    await s.stopWorker();
    s.release();

    const names = [...done, 'rec-running-a1', 'rec-running-a2', 'rec-awaiting-approval'];
    const manifest = await writeHistories(s.client, out, names.map((n) => [n, processingWorkflowId(n)]));
    writeManifest(out, manifest);
    process.stdout.write(`${JSON.stringify(manifest, null, 2)}\nwritten to ${out}\n`);
  } finally {
    await s.close();
  }
}

runRecording(main);
