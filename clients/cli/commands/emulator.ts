import type { Command } from 'commander';

// Owned by the AWS emulator work (issue 4).
export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .description('run the embedded AWS API emulator on 127.0.0.1')
    .action(async () => {
      throw new Error('the AWS emulator is not built yet (issue 4)');
    });
}
