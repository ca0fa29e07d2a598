import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';

function waitForLine(child: ChildProcess, line: string, timeoutMs = 45_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${line}" within ${timeoutMs} ms; output so far: ${seen}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('worker shutdown', () => {
  let server: TemporalServer;
  beforeAll(async () => {
    server = await startTemporalServer({ port: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('SIGTERM lets the in-flight activity finish, completes the workflow, and exits 0', async () => {
    const queue = `drain-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'drain-worker.js')], {
      env: { ...process.env, TEMPORAL_ADDRESS: server.address, DRAIN_QUEUE: queue, MLOPS_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForLine(child, 'WORKER_RUNNING');

    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection });
      const handle = await client.workflow.start('drainProbe', { taskQueue: queue, workflowId: `drain-${queue}`, args: [1500] });
      await waitForLine(child, 'ACTIVITY_STARTED');
      child.kill('SIGTERM');
      const code = await exited;
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('ACTIVITY_FINISHED');
      // The activity that was running when the signal came finished and its result reached the workflow.
      // Nothing polls any more, so the workflow task after the activity waits for a new worker: give it one.
      const resumed = spawn(process.execPath, [join(__dirname, 'fixtures', 'drain-worker.js')], {
        env: { ...process.env, TEMPORAL_ADDRESS: server.address, DRAIN_QUEUE: queue, MLOPS_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        expect(await handle.result()).toBe('finished');
        const history = await handle.fetchHistory();
        const completed = history.events?.filter((e) => e.activityTaskCompletedEventAttributes) ?? [];
        expect(completed).toHaveLength(1);
        // Drained, not cancelled and retried: the first attempt is the one that completed.
        const started = history.events?.find((e) => e.activityTaskStartedEventAttributes);
        expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(1);
      } finally {
        resumed.kill('SIGTERM');
      }
    } finally {
      await connection.close();
    }
  });
});
