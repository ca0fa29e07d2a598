import pino, { type Logger } from 'pino';

export type { Logger };

/** One structured logger per process; JSON lines on stderr so stdout stays for command output and `--json`. */
export function createLogger(level: string = process.env.MLOPS_LOG_LEVEL || 'info', name = 'mlops'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
