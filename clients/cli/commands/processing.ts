/**
 * `mlops processing start|status|list|stop|approve`. Every command talks to Temporal only: the job workflow holds the
 * attempts, sizes and costs (queries), stop cancels it (the workflow stops the job and deletes its alarms), approve is
 * a validated update.
 */
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { summary, type ProcessingInput, type ProcessingStatus } from '../../../workflows/processing/model';
import { printResult } from '../output';
import { UsageError } from '../usage-error';

async function model() {
  return await import('../../../workflows/processing/model');
}

function operator(): string {
  const os = require('node:os') as typeof import('node:os');
  return `${process.env.USER ?? os.userInfo().username}@${os.hostname()} (mlops cli)`;
}

async function handleFor(client: Client, name: string) {
  const { processingWorkflowId, isValidBaseName } = await model();
  if (!isValidBaseName(name)) throw new UsageError(`${name} is not a processing job name (the spec's name, without -a<N>)`);
  return client.workflow.getHandle(processingWorkflowId(name));
}

async function notFound(err: unknown, name: string): Promise<never> {
  const { WorkflowNotFoundError } = await import('@temporalio/client');
  if (err instanceof WorkflowNotFoundError) throw new UsageError(`no processing job named ${name} (start one with \`mlops processing start --spec FILE\`)`);
  throw err;
}

export async function startProcessing(client: Client, input: ProcessingInput): Promise<{ workflowId: string; runId: string }> {
  const { PROCESSING_TASK_QUEUE, processingWorkflowId } = await model();
  const { WorkflowExecutionAlreadyStartedError } = await import('@temporalio/client');
  try {
    const handle = await client.workflow.start('processingJob', {
      taskQueue: PROCESSING_TASK_QUEUE,
      workflowId: processingWorkflowId(input.baseName),
      args: [input],
      // A name that already ran names SageMaker jobs that exist: a new run needs a new name.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new UsageError(`a processing job named ${input.baseName} already exists (its attempts' SageMaker jobs keep the name): give the spec another name`);
    throw err;
  }
}

export async function processingStatus(client: Client, name: string): Promise<ProcessingStatus> {
  const { processingStatusQuery } = await import('../../../workflows/processing/messages');
  try {
    return await (await handleFor(client, name)).query(processingStatusQuery);
  } catch (err) {
    return await notFound(err, name);
  }
}

export async function listProcessing(client: Client): Promise<{ name: string; status: string; startedAt: string }[]> {
  const out: { name: string; status: string; startedAt: string }[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'processingJob'` })) {
    // A job continues as new between attempts: its earlier runs are part of the same job.
    if (wf.status.name === 'CONTINUED_AS_NEW') continue;
    out.push({ name: wf.workflowId.replace(/^processing\//, ''), status: wf.status.name, startedAt: wf.startTime.toISOString() });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function stopProcessing(client: Client, name: string): Promise<{ name: string; stopping: true }> {
  try {
    const handle = await handleFor(client, name);
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') throw new UsageError(`${name} is not running (${d.status.name.toLowerCase()}): nothing to stop`);
    await handle.cancel();
    return { name, stopping: true };
  } catch (err) {
    return await notFound(err, name);
  }
}

export async function approveProcessing(client: Client, name: string, addUsd?: number): Promise<{ budgetUsd?: number }> {
  const { approveBudgetUpdate } = await import('../../../workflows/processing/messages');
  const { WorkflowUpdateFailedError } = await import('@temporalio/client');
  try {
    return await (await handleFor(client, name)).executeUpdate(approveBudgetUpdate, { args: [{ ...(addUsd !== undefined ? { addUsd } : {}), by: operator() }] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`${name}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    return await notFound(err, name);
  }
}

export function statusText(s: ProcessingStatus): string {
  return [`${s.baseName}: ${s.phase}, attempt ${s.attempt} on ${s.resources.instanceCount} x ${s.resources.instanceType}${s.note ? ` (${s.note})` : ''}`, summary(s)].join('\n');
}

/** Waits for the workflow's end, printing a line each time the attempt, phase, size or checkpoints change. */
export async function waitForProcessing(client: Client, name: string, print: (line: string) => void, pollMs = 2000): Promise<ProcessingStatus> {
  const handle = await handleFor(client, name);
  const { processingStatusQuery } = await import('../../../workflows/processing/messages');
  let last = '';
  const result = handle.result().then(
    (r: ProcessingStatus) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  for (;;) {
    const done = await Promise.race([result, new Promise<undefined>((r) => setTimeout(() => r(undefined), pollMs))]);
    if (done) {
      if (done.ok) return done.r;
      const failure = done.e as { cause?: Error & { type?: string } };
      throw new Error(failure.cause ? `${failure.cause.type ? `${failure.cause.type}: ` : ''}${failure.cause.message}` : String(done.e));
    }
    const s = await handle.query(processingStatusQuery).catch(() => undefined);
    if (!s) continue;
    const line = `attempt ${s.attempt} ${s.phase} on ${s.resources.instanceCount} x ${s.resources.instanceType}; checkpoints: ${s.checkpointsDone.join(', ') || 'none'}; $${s.spentUsd.toFixed(2)} spent${s.note ? ` (${s.note})` : ''}`;
    if (line !== last) print(line);
    last = line;
  }
}

export function registerProcessing(program: Command): void {
  const cmd = program.command('processing').summary('Processing jobs restarted bigger on alarms').description(
    'run SageMaker Processing jobs that checkpoint each step to S3 and restart from the checkpoints, bigger, when their CloudWatch alarms fire',
  );
  const run = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const { withClient } = await import('../temporal-client');
    return withClient((client) => fn(client));
  };
  cmd
    .command('start')
    .description('start a job from a spec (YAML or JSON: name, processingJob = the CreateProcessingJob request, scaling = the policy); checked first, nothing starts on a bad spec')
    .requiredOption('--spec <file>', 'the spec file')
    .option('--wait', 'wait for the end, printing attempt, phase, size and checkpoints as they change')
    .option('--json', 'print JSON')
    .action(async (opts: { spec: string; wait?: boolean; json?: boolean }) => {
      const { readSpec } = await import('./processing-spec');
      const input = readSpec(opts.spec);
      await run(async (client) => {
        const started = await startProcessing(client, input);
        if (!opts.wait) return printResult(opts.json ?? false, started, () => `started ${input.baseName} (workflow ${started.workflowId}); follow it with \`mlops processing status ${input.baseName}\``);
        if (!opts.json) process.stdout.write(`started ${input.baseName}\n`);
        const end = await waitForProcessing(client, input.baseName, (line) => {
          if (!opts.json) process.stdout.write(`${line}\n`);
        });
        printResult(opts.json ?? false, end, () => statusText(end));
      });
    });
  cmd
    .command('status [job]')
    .description('one job: phase, attempts with sizes, reasons and durations, checkpoints, estimated and actual cost; without a name, every job')
    .option('--json', 'print JSON')
    .action(async (job: string | undefined, opts: { json?: boolean }) => {
      await run(async (client) => {
        if (job) {
          const s = await processingStatus(client, job);
          return printResult(opts.json ?? false, s, () => statusText(s));
        }
        const all = await listProcessing(client);
        const statuses = await Promise.all(all.filter((j) => j.status === 'RUNNING').map((j) => processingStatus(client, j.name)));
        printResult(opts.json ?? false, statuses, () => statuses.map(statusText).join('\n\n') || 'no processing job is running');
      });
    });
  cmd
    .command('list')
    .description('every processing job workflow, running or ended')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await run(async (client) => {
        const all = await listProcessing(client);
        printResult(opts.json ?? false, all, () => all.map((j) => `${j.name.padEnd(40)} ${j.status.padEnd(12)} ${j.startedAt}`).join('\n') || 'no processing job');
      });
    });
  cmd
    .command('stop <job>')
    .description('stop a job: its running attempt is stopped and its alarms deleted')
    .option('--json', 'print JSON')
    .action(async (job: string, opts: { json?: boolean }) => {
      await run(async (client) => {
        const r = await stopProcessing(client, job);
        printResult(opts.json ?? false, r, () => `stopping ${job}`);
      });
    });
  cmd
    .command('approve <job>')
    .description('let a job spend past its budget: --usd N more, or without limit')
    .option('--usd <amount>', 'how much more may be spent, in US dollars')
    .option('--json', 'print JSON')
    .action(async (job: string, opts: { usd?: string; json?: boolean }) => {
      const usd = opts.usd === undefined ? undefined : Number(opts.usd);
      if (usd !== undefined && !(Number.isFinite(usd) && usd > 0)) throw new UsageError(`--usd ${opts.usd}: a positive number of US dollars`);
      await run(async (client) => {
        const r = await approveProcessing(client, job, usd);
        printResult(opts.json ?? false, r, () => (r.budgetUsd !== undefined ? `${job}: budget now $${r.budgetUsd.toFixed(2)}` : `${job}: budget lifted`));
      });
    });
}
