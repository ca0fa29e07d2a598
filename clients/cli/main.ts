import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../../common/config';
import { DataDirError } from '../../common/data-dir';
import { registerStart } from './commands/start';
import { registerWorker } from './commands/worker';
import { registerPing } from './commands/ping';
import { registerServer } from './commands/server';
import { registerEmulator } from './commands/emulator';
import { registerRecovery } from './commands/recovery';
import { registerProcessing } from './commands/processing';
import { registerForecast } from './commands/forecast';
import { registerFeatures } from './commands/features';
import { registerGateway } from '../gateway/command';
import { UsageError } from './usage-error';
import { projectVersion } from '../../common/project-root';

/** Exit codes: 0 success, 1 the operation failed, 2 the invocation or configuration was wrong. */
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('mlops')
    .description('Durable Temporal workflows for SageMaker ML operations')
    .version(projectVersion())
    .showHelpAfterError('(run `mlops --help` for the list of commands)')
    .showSuggestionAfterError(true)
    .exitOverride();
  // Every command's logs (start, worker, gateway, emulator, server start-dev): MLOPS_LOG_FORMAT for this process.
  program
    .addOption(new Option('--log-format <format>', 'logs on stderr as JSON lines or pretty text (default: pretty on a terminal, JSON otherwise; MLOPS_LOG_FORMAT)').choices(['json', 'pretty']))
    .hook('preAction', (cmd) => {
      const format = cmd.opts<{ logFormat?: string }>().logFormat;
      if (format !== undefined) process.env.MLOPS_LOG_FORMAT = format;
    });
  registerStart(program);
  registerWorker(program);
  registerPing(program);
  registerServer(program);
  registerEmulator(program);
  registerGateway(program);
  registerRecovery(program);
  registerProcessing(program);
  registerForecast(program);
  registerFeatures(program);
  // Subcommands inherit exitOverride so their parse errors also come back here.
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version are "errors" to commander but successes to the user.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return EXIT_USAGE;
  }
  // State files of the embedded parts are matched by name: importing their modules here would slow every command.
  const unusableState = err instanceof Error && (err.name === 'StateFileError' || err.name === 'StateDirError');
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof DataDirError || unusableState) {
    process.stderr.write(`mlops: ${err.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`mlops: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

if (require.main === module) void main(process.argv);
