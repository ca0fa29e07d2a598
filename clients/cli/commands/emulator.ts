import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../usage-error';

function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a TCP port number from 0 (any free port) to 65535');
  return n;
}

function timeScaleOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number: 60 makes one real second one emulated minute');
  return n;
}

function urlOption(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value;
  } catch {
    // fall through to the usage error
  }
  throw new InvalidArgumentError('an http:// or https:// URL, for example http://127.0.0.1:8088/events/eventbridge');
}

interface EmulatorFlags {
  port?: number;
  host: string;
  timeScale: number;
  eventsTo?: string;
  eventsApiKey?: string;
  eventsApiKeyFile?: string;
  eventsPattern?: string;
  stateDir?: string;
  json?: boolean;
}

// Owned by the AWS emulator work (issue 4). The emulator code loads only when the command runs.
export function registerEmulator(program: Command): void {
  program
    .command('emulator')
    .summary('run only the embedded AWS API emulator')
    .description('run the embedded AWS API emulator (control API under /_emulator/; SIGINT/SIGTERM stop it)')
    .option('--port <port>', 'port to listen on (default MLOPS_EMULATOR_PORT or 4566; 0 = any free port)', portOption)
    .option('--host <address>', 'address to listen on (0.0.0.0 in a container, so other containers reach it)', '127.0.0.1')
    .option('--time-scale <factor>', 'emulated seconds per real second for job durations', timeScaleOption, 1)
    .option('--events-to <url>', 'deliver EventBridge-style events (CloudTrail calls, state changes) to this HTTP endpoint', urlOption)
    .option('--events-api-key-file <file>', 'file holding the API key sent in the x-api-key header of every event delivery (default: MLOPS_GATEWAY_API_KEY)')
    // Refused with a pointer to the safe ways: a key on the command line is visible in the process list.
    .addOption(new Option('--events-api-key <key>').hideHelp())
    .option('--events-pattern <file>', 'deliver only events matching this EventBridge rule pattern (a JSON file), as a real rule would')
    .option('--state-dir <dir>', 'keep every resource, job and owed event in this directory (created when absent) and load it at start, so a crash loses nothing a client was told')
    .option('--json', 'print where it listens as JSON')
    .action(async (flags: EmulatorFlags) => {
      if (flags.eventsApiKey !== undefined) {
        throw new UsageError('--events-api-key would show the key in the process list: set MLOPS_GATEWAY_API_KEY or pass --events-api-key-file FILE');
      }
      if (flags.eventsApiKeyFile !== undefined && flags.eventsTo === undefined) {
        throw new UsageError('--events-api-key-file needs --events-to (the URL the events are delivered to)');
      }
      const { loadConfig } = await import('../../../common/config');
      const { createLogger } = await import('../../../common/logger');
      const config = loadConfig();
      let eventsApiKey = flags.eventsTo !== undefined ? config.MLOPS_GATEWAY_API_KEY : undefined;
      if (flags.eventsApiKeyFile !== undefined) {
        const { readFileSync } = await import('node:fs');
        try {
          eventsApiKey = readFileSync(flags.eventsApiKeyFile, 'utf8').trim();
        } catch (err) {
          throw new UsageError(`--events-api-key-file ${flags.eventsApiKeyFile}: ${(err as Error).message}`);
        }
        if (eventsApiKey === '') throw new UsageError(`--events-api-key-file ${flags.eventsApiKeyFile} is empty`);
      }
      const log = createLogger(config.MLOPS_LOG_LEVEL).child({ part: 'emulator' });
      let eventsPattern: import('../../../local/aws/event-pattern').EventPattern | undefined;
      if (flags.eventsPattern !== undefined) {
        const { readFileSync } = await import('node:fs');
        const { parseEventPattern } = await import('../../../local/aws/event-pattern');
        let text: string;
        try {
          text = readFileSync(flags.eventsPattern, 'utf8');
        } catch (err) {
          throw new UsageError(`--events-pattern ${flags.eventsPattern}: ${(err as Error).message}`);
        }
        try {
          eventsPattern = parseEventPattern(text);
        } catch (err) {
          throw new UsageError(`--events-pattern ${flags.eventsPattern}: ${(err as Error).message}`);
        }
      }
      const { startEmulator } = await import('../../../local/aws');
      const emulator = await startEmulator({
        port: flags.port ?? config.MLOPS_EMULATOR_PORT,
        host: flags.host,
        timeScale: flags.timeScale,
        log,
        ...(flags.eventsTo ? { eventsTo: flags.eventsTo } : {}),
        ...(eventsApiKey ? { eventsApiKey } : {}),
        ...(eventsPattern ? { eventsPattern } : {}),
        ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}),
      });
      // Listening for SIGINT/SIGTERM before the banner: whoever waits for it may stop us the moment it appears.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          log.info({ signal }, 'stopping the emulator');
          emulator.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const services = emulator.emulator.serviceNames();
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ status: 'running', endpoint: emulator.endpoint, control: `${emulator.endpoint}/_emulator/`, services, ...(flags.stateDir !== undefined ? { stateDir: flags.stateDir } : {}) })}\n`,
        );
      } else {
        process.stdout.write(
          `AWS emulator listening on ${emulator.endpoint} (${services.join(', ')})\n` +
            `  control API: ${emulator.endpoint}/_emulator/health\n` +
            (flags.stateDir !== undefined ? `  state: ${flags.stateDir} (kept across restarts)\n` : '') +
            `  try: AWS_ENDPOINT_URL=${emulator.endpoint} AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws s3 ls\n`,
        );
      }
      await stopped;
    });
}
