/**
 * `npm run bench -- temporal [--workflows=N] [--open=N]`: the embedded Temporal server under the real SDK.
 * Prints workflows/second (start, one activity, complete) with 50 concurrent starts, history events/second, and
 * resident memory per 1,000 open workflows; then workflows/second again with a state file (dbFilename) and the ratio.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalServer } from '../../local/temporal';
import { createActivities } from '../temporal/workflows/activities';

/** `--name=value` (the bench runner takes bare words for benchmark names). */
function flag(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`${name}=`));
  const v = arg ? Number(arg.slice(name.length + 1)) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

async function runConcurrently(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

/** A full collection before each memory reading, so garbage does not count as held memory. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export default async function bench(args: string[]): Promise<void> {
  const workflows = flag(args, '--workflows', 500);
  const open = flag(args, '--open', 5000);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startTemporalServer({ port: 0 });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  // Open workflows that no worker polls: what the server itself holds per run (history, task, timers).
  // Measured first, in a process that has done little else, so RSS growth is the runs' and not earlier garbage.
  const idle = `idle-${randomUUID().slice(0, 8)}`;
  await runConcurrently(50, 50, async (i) => {
    await client.workflow.start('activityTimerSignal', { taskQueue: idle, workflowId: `warm-open-${i}-${idle}`, args: ['memory'] });
  });
  gc();
  const before = process.memoryUsage();
  await runConcurrently(open, 50, async (i) => {
    await client.workflow.start('activityTimerSignal', { taskQueue: idle, workflowId: `open-${i}-${idle}`, args: ['memory'] });
  });
  gc();
  const after = process.memoryUsage();
  const per1000 = (bytes: number): string => `${((bytes / open) * 1000 / 1024 / 1024).toFixed(2)} MiB`;
  process.stdout.write(`resident memory per 1,000 open workflows: ${per1000(after.rss - before.rss)} (heap ${per1000(after.heapUsed - before.heapUsed)}; ${open} open)\n`);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../temporal/workflows/index.ts'), logger: new DefaultLogger('ERROR') });
  await workflowsPerSecond(server, client, nativeConnection, workflowBundle, workflows);
  await nativeConnection.close();

  // The server alone: signals into open workflows (no worker), each one history event, 50 calls in flight.
  const signals = workflows * 10;
  const signalRate = await signalsPerSecond(client, signals);
  process.stdout.write(`server-side history events/second (signals, no worker): ${signalRate.toFixed(0)}  (${signals} signals)\n`);

  await connection.close();
  await server.close();

  // The same workload on two fresh servers, without and with every change appended to a state file before each
  // answer: the ratio is the cost of durability.
  const dir = mkdtempSync(join(tmpdir(), 'bench-temporal-state-'));
  const dbFilename = join(dir, 'state.db');
  try {
    const plain = await freshServerRun({}, 'fresh, in memory', workflowBundle, workflows);
    const withFile = await freshServerRun({ dbFilename }, 'fresh, with dbFilename', workflowBundle, workflows);
    process.stdout.write(`state file: ${(statSync(dbFilename).size / 1024 / 1024).toFixed(1)} MiB after ${workflows + 20} workflows and ${workflows * 10} signals\n`);
    process.stdout.write(`with dbFilename / in memory: workflows/second ${(withFile.workflows / plain.workflows).toFixed(2)}, signals/second ${(withFile.signals / plain.signals).toFixed(2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Signals into one open workflow that no worker polls (each one history event), 50 calls in flight. */
async function signalsPerSecond(client: Client, signals: number): Promise<number> {
  const target = `signals-${randomUUID().slice(0, 8)}`;
  await client.workflow.start('counter', { taskQueue: target, workflowId: target });
  const s0 = process.hrtime.bigint();
  await runConcurrently(signals, 50, async () => {
    await client.workflow.getHandle(target).signal('add', 1);
  });
  return signals / (Number(process.hrtime.bigint() - s0) / 1e9);
}

async function freshServerRun(opts: { dbFilename?: string }, label: string, workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>, workflows: number): Promise<{ workflows: number; signals: number }> {
  const server = await startTemporalServer({ port: 0, ...opts });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  try {
    const perSecond = await workflowsPerSecond(server, client, nativeConnection, workflowBundle, workflows, label);
    const signals = await signalsPerSecond(client, workflows * 10);
    process.stdout.write(`signals/second ${label} (no worker, 50 in flight): ${signals.toFixed(0)}\n`);
    return { workflows: perSecond, signals };
  } finally {
    await nativeConnection.close();
    await connection.close();
    await server.close();
  }
}

/** Runs `workflows` greeting workflows (50 concurrent) on a fresh worker; prints and returns workflows/second. */
async function workflowsPerSecond(
  server: Awaited<ReturnType<typeof startTemporalServer>>,
  client: Client,
  nativeConnection: NativeConnection,
  workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>,
  workflows: number,
  label = 'in memory',
): Promise<number> {
  const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
  const worker = await Worker.create({ connection: nativeConnection, taskQueue, workflowBundle, activities: createActivities() });
  const running = worker.run();
  try {
    // Warm-up: the first workflows pay for isolate creation and connection set-up.
    await runConcurrently(20, 10, async (i) => {
      await client.workflow.execute('greeting', { taskQueue, workflowId: `warm-${i}-${taskQueue}`, args: ['warm'] });
    });
    const eventsBefore = countEvents(server);
    const t0 = process.hrtime.bigint();
    await runConcurrently(workflows, 50, async (i) => {
      await client.workflow.execute('greeting', { taskQueue, workflowId: `wf-${i}-${taskQueue}`, args: ['bench'] });
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const events = countEvents(server) - eventsBefore;
    process.stdout.write(`workflows/second ${label} (start + 1 activity + complete, 50 concurrent): ${(workflows / seconds).toFixed(1)}  (${workflows} in ${seconds.toFixed(2)} s)\n`);
    process.stdout.write(`history events/second ${label}: ${(events / seconds).toFixed(0)}  (${events} events)\n`);
    return workflows / seconds;
  } finally {
    worker.shutdown();
    await running;
  }
}

function countEvents(server: Awaited<ReturnType<typeof startTemporalServer>>): number {
  let total = 0;
  for (const ns of server.engine.namespaces.all()) for (const run of ns.runs.values()) total += run.history.length;
  return total;
}
