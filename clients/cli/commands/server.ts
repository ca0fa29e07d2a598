import type { Command } from 'commander';
import { UsageError } from '../usage-error';

interface StartDevOptions {
  port: string;
  ip: string;
  namespace: string[];
  retention?: string;
  logLevel?: string;
  searchAttribute: string[];
  timeSkipping?: boolean;
  dbFilename?: string;
  headless?: boolean;
  uiPort?: string;
  uiIp?: string;
  dynamicConfigValue: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

// `mlops server start-dev ...` mirrors `temporal server start-dev`, so @temporalio/testing's createLocal can spawn it.
export function registerServer(program: Command): void {
  const server = program.command('server').summary('run only the embedded Temporal server').description('the embedded Temporal-compatible server');
  server
    .command('start-dev')
    .description('run the embedded Temporal-compatible server (flags as the temporal CLI; unused ones are accepted and ignored)')
    .option('-p, --port <port>', 'gRPC port', '7233')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('-n, --namespace <name>', 'namespace to register (repeatable)', collect, [])
    .option('--retention <duration>', 'how long closed workflows stay (ms, or 10s, 5m, 24h, 7d)')
    .option('--search-attribute <Name=Type>', 'custom search attribute to register (repeatable)', collect, [])
    .option('--time-skipping', 'virtual time that jumps ahead whenever nothing is in flight')
    .option('--log-level <level>', 'debug, info, warn or error')
    .option('--log-format <format>', 'accepted for compatibility')
    .option('--headless', 'no Temporal Web UI')
    .option('--ui-port <port>', 'port of the Temporal Web UI and HTTP API (default: the gRPC port + 1000, so 8233)')
    .option('--ui-ip <ip>', 'address the Web UI listens on (default: --ip)')
    .option('--db-filename <file>', 'keep state in this file: survives restarts and crashes (default: in memory)')
    .option('--dynamic-config-value <K=V>', 'limit.blobSize.error/.warn and limit.memoSize.error/.warn (bytes) are honoured; others are accepted and ignored (repeatable)', collect, [])
    .option('--log-config', 'accepted for compatibility')
    // Newer temporal CLI flags (and their values) must not stop the SDK from starting us.
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (opts: StartDevOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid --port ${opts.port}`);
      // As `temporal server start-dev`: the UI on the gRPC port + 1000 unless --ui-port (an ephemeral gRPC port: an ephemeral UI port).
      const uiPort = opts.uiPort !== undefined ? Number(opts.uiPort) : port === 0 ? 0 : port + 1000;
      if (!Number.isInteger(uiPort) || uiPort < 0 || uiPort > 65535) throw new UsageError(`invalid --ui-port ${opts.uiPort ?? uiPort}`);
      // Loaded only here: `mlops server start-dev` must accept connections within seconds of being spawned.
      const { startTemporalServer } = await import('../../../local/temporal');
      const { parseDurationFlag } = await import('../../../local/temporal/duration-flag');
      const { parseSearchAttributeFlag } = await import('../../../local/temporal/visibility/search-attributes');
      const { blobLimitsFromDynamicConfig } = await import('../../../local/temporal/blob-limits');
      const { createLogger } = await import('../../../common/logger');
      let retentionMs: number | undefined;
      let searchAttributes: [string, import('../../../local/temporal/visibility/types').SearchAttributeType][];
      try {
        retentionMs = opts.retention ? parseDurationFlag(opts.retention) : undefined;
        searchAttributes = opts.searchAttribute.map(parseSearchAttributeFlag);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
      const { keepServingOnUncaughtErrors } = await import('../../../local/temporal/crash-guard');
      const log = createLogger(normalizeLevel(opts.logLevel), 'temporal');
      keepServingOnUncaughtErrors((err) => log.error({ err }, 'internal error; still serving'));
      const [first = 'default', ...more] = opts.namespace;
      const { StateFileError } = await import('../../../local/temporal/persistence/state-file');
      const running = await startTemporalServer({
        dbFilename: opts.dbFilename,
        port,
        ip: opts.ip,
        namespace: first,
        extraNamespaces: more,
        retentionMs,
        timeSkipping: Boolean(opts.timeSkipping),
        customSearchAttributes: new Map(searchAttributes),
        ...(opts.headless ? {} : { ui: { port: uiPort, ip: opts.uiIp ?? opts.ip, codecEndpoint: process.env.MLOPS_UI_CODEC_ENDPOINT || undefined } }),
        blobLimits: blobLimitsFromDynamicConfig(opts.dynamicConfigValue),
        log,
      }).catch((err: unknown) => {
        // A state file we will not touch is the user's to move: one line, not a stack trace.
        if (err instanceof StateFileError) throw new UsageError(err.message);
        throw err;
      });
      const ui = running.uiUrl ? `  Web UI and HTTP API: ${running.uiUrl}\n` : '';
      process.stdout.write(`Temporal server (embedded) is running\n  gRPC: ${running.address}\n${ui}  namespace: ${[first, ...more].join(', ')}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await running.close();
    });
}

/** The temporal CLI's levels include `never`; pino knows `silent`. */
function normalizeLevel(level: string | undefined): string {
  if (!level) return 'warn';
  const l = level.toLowerCase();
  if (l === 'never' || l === 'off') return 'silent';
  return ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(l) ? l : 'warn';
}
