import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventPattern, type EventPattern } from '../local/aws/event-pattern';
import { projectRoot } from '../common/project-root';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { claimDataDir } from '../common/data-dir';
import { createLogger } from '../common/logger';
import { temporalConnectionOptions } from '../common/temporal-connection';
import { runWorkers } from './worker';
import { requireGatewayApiKey } from '../clients/gateway/server';

interface Part {
  name: string;
  where: string;
  close(): Promise<void>;
}

/**
 * `mlops start`: the embedded parts that are not configured away, then the workers and the trigger gateway, all in
 * this process. SIGINT/SIGTERM drain the workers first, then close the gateway, the emulator and the server, so no
 * activity is cut off and no signal is accepted that nobody will process.
 */
export async function runStack(opts: { json: boolean; inMemory: boolean; headless?: boolean }): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.MLOPS_LOG_LEVEL);
  const parts: Part[] = [];
  const closeAll = async () => {
    for (const p of parts.reverse()) {
      await p.close().catch((err: unknown) => log.warn({ err, part: p.name }, 'error while closing'));
    }
  };
  // On the embedded emulator nobody else needs the key, so one is made up for this run when none is configured.
  const embeddedAws = config.MLOPS_AWS === 'emulator' && !config.AWS_ENDPOINT_URL;
  if (!embeddedAws) requireGatewayApiKey(config.MLOPS_GATEWAY_API_KEY);
  // What is embedded keeps its state on disk, so stopping or crashing this process loses no workflow and no resource.
  const dataDir = !opts.inMemory && (embeddedAws || !config.TEMPORAL_ADDRESS) ? claimDataDir(config.MLOPS_DATA_DIR) : undefined;
  if (dataDir) parts.push({ name: 'state', where: `${dataDir.path} (kept across restarts; --in-memory keeps none)`, close: async () => dataDir.release() });
  try {
    let temporalAddress: string;
    if (config.TEMPORAL_ADDRESS) {
      temporalAddress = config.TEMPORAL_ADDRESS;
    } else {
      const { startTemporalServer } = await import('../local/temporal');
      const server = await startTemporalServer({
        port: config.MLOPS_TEMPORAL_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        log: log.child({ part: 'temporal' }),
        // The workers below run in this process: after a crash no attempt they had started can still complete.
        ...(dataDir ? { dbFilename: dataDir.temporalFile, workersDiedWithServer: true } : {}),
        ...(opts.headless ? {} : { ui: { port: config.MLOPS_UI_PORT, codecEndpoint: config.MLOPS_UI_CODEC_ENDPOINT } }),
      });
      temporalAddress = server.address;
      parts.push({ name: 'temporal', where: `${server.address} (embedded; namespace ${config.TEMPORAL_NAMESPACE})`, close: () => server.close() });
      if (server.uiUrl) parts.push({ name: 'web-ui', where: server.uiUrl, close: async () => undefined });
    }
    const gatewayApiKey = config.MLOPS_GATEWAY_API_KEY ?? (embeddedAws ? randomBytes(24).toString('base64url') : undefined);
    let emulatorEndpoint: string | undefined;
    if (embeddedAws) {
      const { startEmulator } = await import('../local/aws');
      const gatewayUrl = `http://127.0.0.1:${config.MLOPS_GATEWAY_PORT}/events/eventbridge`;
      const emulator = await startEmulator({
        port: config.MLOPS_EMULATOR_PORT,
        log: log.child({ part: 'emulator' }),
        timeScale: config.MLOPS_EMULATOR_TIME_SCALE,
        ...(dataDir ? { stateDir: dataDir.emulatorDir } : {}),
        // The emulator delivers its CloudTrail-style events to our own gateway, as EventBridge would.
        ...(gatewayApiKey ? { eventsTo: gatewayUrl, eventsApiKey: gatewayApiKey, eventsPattern: pipelineRulePatterns() } : {}),
      });
      emulatorEndpoint = emulator.endpoint;
      parts.push({ name: 'aws-emulator', where: `${emulator.endpoint} (control API: ${emulator.endpoint}/_emulator/health)`, close: () => emulator.close() });
    }
    const connection = await Connection.connect(temporalConnectionOptions(config, temporalAddress));
    parts.push({ name: 'temporal-client', where: temporalAddress, close: () => connection.close() });
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const { startGateway, gatewaySnsOptions } = await import('../clients/gateway/server');
    const gateway = await startGateway({
      client,
      log: log.child({ part: 'gateway' }),
      port: config.MLOPS_GATEWAY_PORT,
      host: config.MLOPS_GATEWAY_HOST,
      apiKey: gatewayApiKey,
      // Signed SNS deliveries: the configured topics, and the embedded emulator's (its certificate trusted in this mode only).
      sns: gatewaySnsOptions(config.MLOPS_GATEWAY_SNS_TOPIC_ARNS, emulatorEndpoint),
    });
    parts.push({ name: 'gateway', where: gateway.url, close: () => gateway.close() });

    await runWorkers({
      config,
      log,
      temporalAddress,
      emulatorEndpoint,
      onRunning: () => printBanner(opts.json, parts.filter((p) => p.name !== 'temporal-client'), config.TEMPORAL_NAMESPACE),
    });
  } finally {
    await closeAll();
  }
}

/** The EventBridge rules users deploy (docs/recovery, docs/processing), applied to the emulator's events so both see the same stream. */
function pipelineRulePatterns(): EventPattern {
  const rule = (pipeline: string) => JSON.parse(readFileSync(join(projectRoot(), 'docs', pipeline, 'eventbridge-rule-pattern.json'), 'utf8')) as unknown;
  return parseEventPattern(JSON.stringify({ $or: [rule('recovery'), rule('processing')] }));
}

function printBanner(json: boolean, parts: Part[], namespace: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ status: 'running', namespace, parts: Object.fromEntries(parts.map((p) => [p.name, p.where])) })}\n`);
    return;
  }
  const lines = ['mlops is running (Ctrl-C drains the workers and stops)'];
  for (const p of parts) lines.push(`  ${p.name.padEnd(13)} ${p.where}`);
  lines.push('  worker        polling every task queue', '', 'try, in another terminal:', '  npx mlops ping', '  npx mlops recovery status');
  process.stdout.write(`${lines.join('\n')}\n`);
}
