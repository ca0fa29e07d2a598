import type { Command } from 'commander';

export function registerStart(program: Command): void {
  program
    .command('start')
    .summary('run it all: Temporal, AWS emulator, worker, gateway')
    .description('run everything on this machine: embedded Temporal (unless TEMPORAL_ADDRESS), AWS emulator (unless MLOPS_AWS=aws), worker, trigger gateway')
    .option('--json', 'print where each part listens as one JSON line once everything is up')
    .action(async (opts: { json?: boolean }) => {
      const { runStack } = await import('../../../workers/stack');
      await runStack({ json: Boolean(opts.json) });
    });
}
