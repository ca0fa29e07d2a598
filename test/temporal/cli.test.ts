/** `mlops server start-dev` as a user (or a newer SDK) runs it: flags it does not know, several namespaces. */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { MLOPS_BIN } from './helpers';

let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill('SIGTERM');
  child = undefined;
});

function addressFrom(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no address within 5 s; output: ${out}`)), 5000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /gRPC: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('mlops server start-dev', () => {
  it('serves within 5 seconds, ignores unknown flags, registers every --namespace', async () => {
    child = spawn(process.execPath, [MLOPS_BIN, 'server', 'start-dev', '--port', '0', '--namespace', 'default', '--namespace', 'second', '--retention', '1h', '--future-flag', 'value', '--headless'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const address = await addressFrom(child);
    const connection = await Connection.connect({ address });
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace: 'second' });
      expect(ns.namespaceInfo?.name).toBe('second');
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3600);
    } finally {
      await connection.close();
    }
  });

  it('refuses a bad flag value with exit code 2', async () => {
    const proc = spawn(process.execPath, [MLOPS_BIN, 'server', 'start-dev', '--port', 'not-a-port'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(code).toBe(2);
  });
});
