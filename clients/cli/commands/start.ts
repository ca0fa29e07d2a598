import type { Command } from 'commander';

export function registerStart(program: Command): void {
  program
    .command('start')
    .summary('run it all: Temporal, AWS emulator, worker, gateway')
    .description('run everything on this machine: embedded Temporal (unless TEMPORAL_ADDRESS), AWS emulator (unless MLOPS_AWS=aws), worker, trigger gateway')
    .option('--json', 'print where each part listens as one JSON line once everything is up')
    .option('--in-memory', 'keep the embedded server\'s and emulator\'s state in memory only (lost when this process stops) instead of in MLOPS_DATA_DIR')
    .option('--headless', 'no Temporal Web UI (it is served on MLOPS_UI_PORT, default 8233, otherwise)')
    .action(async (opts: { json?: boolean; inMemory?: boolean; headless?: boolean }) => {
      const { runStack } = await import('../../../workers/stack');
      await runStack({ json: Boolean(opts.json), inMemory: Boolean(opts.inMemory), headless: Boolean(opts.headless) });
    });
}
