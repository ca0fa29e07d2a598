import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, isGrpcServiceError, type WorkflowClient } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../../common/logger';
import { UsageError } from '../cli/usage-error';
import { RECOVERY_TASK_QUEUE, intakeWorkflowId, transferIntakeWorkflowId } from '../../workflows/recovery/model';
import type { recoveryEventIntake, transferEventIntake } from '../../workflows/recovery/workflows';
import { interpretDataSyncEvent, type DataSyncInterpretation } from './datasync-events';
import { interpretDelivery } from './events';
import { interpretProcessingEvent, type ProcessingSignal } from './processing-events';
import { alarmSignal, jobStateSignal } from '../../workflows/processing/messages';

/** Hands a processing notice to its workflow: 'signalled', or 'no-workflow' when no such job runs (then ignored). */
export async function signalProcessing(client: GatewayClient, s: ProcessingSignal): Promise<'signalled' | 'no-workflow'> {
  if (!client.workflow.getHandle) throw new Error('this gateway client cannot signal workflows');
  const handle = client.workflow.getHandle(s.workflowId);
  try {
    if (s.kind === 'alarm') await handle.signal(alarmSignal, s.notice);
    else await handle.signal(jobStateSignal, s.notice);
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'no-workflow';
    throw err;
  }
}
import { handleForecastTrigger, isS3ObjectCreated } from './forecast-trigger';
import type { ForecastPipelineConfig } from '../../workflows/forecast/model';
import { createSnsVerifier, handleSnsDelivery, type SnsEndpointOptions } from './sns';

/** The header an EventBridge connection with API-key authorisation is configured to send (see docs/). */
export const API_KEY_HEADER = 'x-api-key';

/** What the gateway needs of a Temporal client: starting workflows. A test hands it a fake. */
export interface GatewayClient {
  workflow: Pick<WorkflowClient, 'start'> & Partial<Pick<WorkflowClient, 'getHandle'>>;
}

export interface GatewayOptions {
  client: GatewayClient;
  log: Logger;
  /** Deliveries must carry it; when unset every delivery is refused (401). */
  apiKey: string | undefined;
  /** Forecast retraining's configuration, for S3 raw-data events (default: the file MLOPS_FORECAST_CONFIG names). */
  forecast?: ForecastPipelineConfig;
  /** `POST /events/sns`: which topics it accepts and whom it trusts (without it every SNS delivery is refused). */
  sns?: SnsEndpointOptions;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison: equal-length digests, so neither the content nor the length of the key leaks. */
export function apiKeyMatches(expected: string | undefined, given: string | string[] | undefined): boolean {
  if (!expected || typeof given !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(given));
}

/** EventBridge's largest event (PutEvents entry) is 256 KB. */
export const EVENTBRIDGE_MAX_EVENT_BYTES = 256 * 1024;
/** The envelope EventBridge adds on delivery (id, version, account, region, time) is not counted in that size. */
export const GATEWAY_BODY_LIMIT_BYTES = EVENTBRIDGE_MAX_EVENT_BYTES + 4 * 1024;

/**
 * Outside the embedded mode (where `mlops start` makes a key up for its own emulator), a gateway without a key would
 * answer 401 to every delivery while reporting healthy, and EventBridge would drop the events: it must not start.
 */
export function requireGatewayApiKey(apiKey: string | undefined): string {
  if (apiKey) return apiKey;
  throw new UsageError(
    `MLOPS_GATEWAY_API_KEY is not set: set it to the API key your EventBridge connection sends in the ${API_KEY_HEADER} header (without it every event delivery would be refused and lost)`,
  );
}

/** `POST /events/sns` as configured: the listed topics; in embedded mode also the emulator's own topics and certificate. */
export function gatewaySnsOptions(topicArns: readonly string[], emulatorEndpoint?: string, emulatorAccount = '123456789012'): SnsEndpointOptions {
  return {
    topicAllowed: (arn) => topicArns.includes(arn) || (emulatorEndpoint !== undefined && arn.split(':')[4] === emulatorAccount),
    ...(emulatorEndpoint !== undefined ? { emulatorOrigin: () => emulatorEndpoint } : {}),
  };
}

/** The server's reason when it refused the start as malformed (INVALID_ARGUMENT): the same event is refused every time. */
function invalidArgumentReason(err: unknown): string | undefined {
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && cause.code === GrpcStatus.INVALID_ARGUMENT ? cause.details || cause.message : undefined;
}

/**
 * Starts the intake workflow of one event under an id the event determines: a redelivery is refused by Temporal
 * (202 duplicate); an event Temporal refuses as malformed gets 400 (EventBridge does not send it again); an
 * unreachable Temporal 503 (EventBridge retries the delivery).
 */
async function startIntake(
  client: GatewayClient,
  log: Logger,
  reply: FastifyReply,
  start: { workflowType: string; workflowId: string; args: unknown[]; what: Record<string, unknown> },
): Promise<FastifyReply | undefined> {
  const { workflowId, what } = start;
  try {
    await client.workflow.start(start.workflowType, {
      workflowId,
      taskQueue: RECOVERY_TASK_QUEUE,
      args: start.args,
      // A redelivery is refused by Temporal, durably, unless the first intake failed (then the redelivery is a retry).
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    return undefined;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      log.info({ decision: 'duplicate', ...what, workflowId }, 'event already received');
      return reply.code(202).send({ status: 'duplicate', workflowId });
    }
    const invalid = invalidArgumentReason(err);
    if (invalid !== undefined) {
      log.warn({ decision: 'malformed', ...what, err: invalid }, 'Temporal refused the event as invalid');
      return reply.code(400).send({ error: `Temporal refused the event as invalid: ${invalid}` });
    }
    log.error({ decision: 'unavailable', ...what, err: err instanceof Error ? err.message : String(err) }, 'cannot hand the event to Temporal');
    return reply.code(503).send({ error: 'Temporal is unavailable; retry later' });
  }
}

/** A DataSync execution's state change: an ended one starts the intake that tells its restore (one per execution). */
async function handleTransferEvent(meaning: Exclude<DataSyncInterpretation, { kind: 'not-datasync' }>, client: GatewayClient, log: Logger, reply: FastifyReply): Promise<FastifyReply> {
  if (meaning.kind === 'malformed') {
    log.warn({ decision: 'malformed', message: meaning.message }, 'DataSync event malformed');
    return reply.code(400).send({ error: meaning.message });
  }
  if (meaning.kind === 'ignored') return reply.code(202).send({ status: 'ignored', reason: meaning.reason });
  const { taskExecutionArn, state } = meaning;
  const workflowId = transferIntakeWorkflowId(taskExecutionArn);
  const args: Parameters<typeof transferEventIntake> = [taskExecutionArn];
  const refused = await startIntake(client, log, reply, { workflowType: 'transferEventIntake', workflowId, args, what: { taskExecutionArn } });
  if (refused) return refused;
  log.info({ decision: 'accepted', taskExecutionArn, state, workflowId }, 'DataSync execution ended');
  return reply.code(202).send({ status: 'accepted', workflowId });
}

/** The HTTP application, without listening: `inject` it in tests, `listen` it in `startGateway`. */
export function buildGateway(opts: GatewayOptions): FastifyInstance {
  const { client, log, apiKey } = opts;
  const app = Fastify({ logger: false, bodyLimit: GATEWAY_BODY_LIMIT_BYTES });
  if (!apiKey) log.warn('MLOPS_GATEWAY_API_KEY is not set: every event delivery will be refused with 401');

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    log.warn({ decision: status === 500 ? 'error' : 'malformed', path: req.url, status, err: err.message }, 'gateway request rejected');
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  // No API key here (SNS cannot send one): the message signature is the authentication (sns.ts).
  const verifySns = createSnsVerifier(opts.sns ?? { topicAllowed: () => false });
  app.post('/events/sns', async (req, reply) =>
    handleSnsDelivery(req.body, { verify: verifySns, emulatorOrigin: opts.sns?.emulatorOrigin, log, signal: (s) => signalProcessing(client, s) }, reply),
  );

  app.post(
    '/events/eventbridge',
    {
      // Before the body is read: an unauthenticated caller learns nothing, not even whether its JSON parses.
      onRequest: async (req, reply) => {
        if (!apiKeyMatches(apiKey, req.headers[API_KEY_HEADER])) {
          log.warn({ decision: 'unauthorized', ip: req.ip, keyPresent: req.headers[API_KEY_HEADER] !== undefined }, 'event delivery refused');
          return reply.code(401).send({ error: `missing or wrong ${API_KEY_HEADER} header` });
        }
      },
    },
    async (req, reply) => {
      if (isS3ObjectCreated(req.body)) return handleForecastTrigger(req.body, { client, log, ...(opts.forecast ? { config: opts.forecast } : {}) }, reply);
      const processing = interpretProcessingEvent(req.body);
      if (processing.kind === 'ignored') return reply.code(202).send({ status: 'ignored', reason: processing.reason });
      if (processing.kind !== 'not-processing') {
        try {
          const outcome = await signalProcessing(client, processing);
          log.info({ decision: outcome, workflowId: processing.workflowId, signal: processing.kind }, 'processing event');
          return reply.code(202).send({ status: outcome === 'signalled' ? 'accepted' : 'ignored', workflowId: processing.workflowId });
        } catch (err) {
          log.error({ decision: 'unavailable', workflowId: processing.workflowId, err: err instanceof Error ? err.message : String(err) }, 'cannot hand the event to Temporal');
          return reply.code(503).send({ error: 'Temporal is unavailable; retry later' });
        }
      }
      const transfer = interpretDataSyncEvent(req.body);
      if (transfer.kind !== 'not-datasync') return handleTransferEvent(transfer, client, log, reply);
      const meaning = interpretDelivery(req.body);
      if (meaning.kind === 'malformed') {
        log.warn({ decision: 'malformed', message: meaning.message }, 'event delivery malformed');
        return reply.code(400).send({ error: meaning.message });
      }
      if (meaning.kind === 'ignored') {
        log.info({ decision: 'ignored', reason: meaning.reason }, 'event of no interest');
        return reply.code(202).send({ status: 'ignored', reason: meaning.reason });
      }
      const { event } = meaning;
      const workflowId = intakeWorkflowId(event.eventId);
      // The CloudTrail eventID is the workflow id (the profile workflow also ignores an event id it has seen).
      const args: Parameters<typeof recoveryEventIntake> = [event];
      const refused = await startIntake(client, log, reply, { workflowType: 'recoveryEventIntake', workflowId, args, what: { eventId: event.eventId } });
      if (refused) return refused;
      log.info({ decision: 'accepted', eventId: event.eventId, kind: event.kind, domainId: event.domainId, name: event.name, workflowId }, 'creation event accepted');
      return reply.code(202).send({ status: 'accepted', workflowId });
    },
  );
  return app;
}

export interface StartGatewayOptions extends GatewayOptions {
  port: number;
  host?: string;
}

export interface RunningGateway {
  url: string;
  close(): Promise<void>;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  requireGatewayApiKey(opts.apiKey);
  const app = buildGateway(opts);
  await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  opts.log.info({ url }, 'trigger gateway listening');
  return { url, close: () => app.close() };
}
