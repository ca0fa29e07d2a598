import type { Command } from 'commander';
import { printResult } from '../output';

export function registerPing(program: Command): void {
  program
    .command('ping')
    .summary('check the stack with a round-trip workflow')
    .description('run a round-trip workflow (service, worker, activity) and print the answer')
    .argument('[message]', 'text to echo back', 'hello')
    .option('--json', 'print the result as JSON')
    .action(async (message: string, opts: { json?: boolean }) => {
      const { withClient } = await import('../temporal-client');
      const { SYSTEM_TASK_QUEUE } = await import('../../../workers/registry');
      await withClient(async (client, config) => {
        const started = Date.now();
        const reply = await client.workflow.execute('ping', {
          taskQueue: SYSTEM_TASK_QUEUE,
          workflowId: `ping-${Date.now()}-${process.pid}`,
          args: [message],
          workflowExecutionTimeout: '30 seconds',
        });
        const ms = Date.now() - started;
        printResult(Boolean(opts.json), { reply, ms, namespace: config.TEMPORAL_NAMESPACE }, () => `${reply} (${ms} ms)`);
      });
    });
}
