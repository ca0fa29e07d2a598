import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

/**
 * `MLOPS_LOG_FORMAT` (set by `--log-format`) when given; otherwise pretty lines for a person at a terminal and JSON
 * lines for everything else (a pipe, a file, a container's log collector).
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, stderrIsTerminal = Boolean(process.stderr.isTTY)): LogFormat {
  const chosen = env.MLOPS_LOG_FORMAT?.trim();
  if (chosen === 'json' || chosen === 'pretty') return chosen;
  return stderrIsTerminal ? 'pretty' : 'json';
}

/** One structured logger per process, on stderr so stdout stays for command output and `--json`. */
export function createLogger(level: string = process.env.MLOPS_LOG_LEVEL || 'info', name = 'mlops', format: LogFormat = logFormat()): Logger {
  const log = pino({ name, level, base: { pid: process.pid } }, format === 'pretty' ? prettyStderr() : pino.destination({ fd: 2, sync: false }));
  routeProcessWarnings(log);
  return log;
}

function prettyStderr(): DestinationStream {
  // Loaded only for a terminal: the JSON path (services, tests, `server start-dev` spawned by the SDK) stays lean.
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pretty.build({
    destination: 2,
    sync: false,
    colorize: Boolean(process.stderr.isTTY),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}

let warningsRouted = false;

/**
 * Node prints process warnings (the AWS SDK's Node-version notice, deprecations) as plain text on stderr, which would
 * break a stream of JSON lines: they go through the first logger of the process instead, once each as Node would.
 */
function routeProcessWarnings(log: Logger): void {
  if (warningsRouted) return;
  warningsRouted = true;
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    log.warn({ warning: { name: warning.name, ...(warning.code ? { code: warning.code } : {}) } }, warning.message);
  });
}
