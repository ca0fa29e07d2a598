import type { Command } from 'commander';

// Owned by the embedded Temporal server work (issue 3): `mlops server start-dev ...` mirrors the temporal CLI.
export function registerServer(program: Command): void {
  const server = program.command('server').description('the embedded Temporal-compatible server');
  server
    .command('start-dev')
    .description('run the embedded Temporal-compatible server (flags as the temporal CLI)')
    .allowUnknownOption(true)
    .action(async () => {
      throw new Error('the embedded Temporal server is not built yet (issue 3); set TEMPORAL_ADDRESS to a running Temporal service');
    });
}
