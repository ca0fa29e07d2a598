/**
 * S3 "Object Created" events (S3 to EventBridge) for new raw sales data start a forecast retraining run. One run per
 * object version: the workflow id comes from bucket, key and ETag, so a redelivered event (or the same bytes uploaded
 * again) is refused by Temporal instead of starting a second run.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import { FORECAST_TASK_QUEUE, type ForecastPipelineConfig } from '../../workflows/forecast/model';
import type { forecastRetraining } from '../../workflows/forecast/retraining';
import type { GatewayClient } from './server';

const objectCreated = z.object({
  bucket: z.object({ name: z.string({ error: 'detail.bucket.name (a string) is required' }).min(1) }),
  object: z.object({ key: z.string({ error: 'detail.object.key (a string) is required' }).min(1), etag: z.string().optional(), sequencer: z.string().optional() }),
});

/** Whether the delivery is an S3 object-created event (the forecast trigger's, not profile recovery's). */
export function isS3ObjectCreated(body: unknown): boolean {
  const b = body as { source?: unknown; 'detail-type'?: unknown } | null;
  return typeof b === 'object' && b !== null && b.source === 'aws.s3' && b['detail-type'] === 'Object Created';
}

export function forecastRunIdFor(bucket: string, key: string, version: string): string {
  return `forecast/run/s3-${createHash('sha256').update(`${bucket}/${key}@${version}`).digest('hex').slice(0, 20)}`;
}

let fromEnvironment: ForecastPipelineConfig | null | undefined;
/** The configuration named by MLOPS_FORECAST_CONFIG, read once; null when unset. */
function environmentConfig(): ForecastPipelineConfig | null {
  if (fromEnvironment === undefined) {
    const path = process.env.MLOPS_FORECAST_CONFIG;
    fromEnvironment = path ? (require('../cli/commands/forecast/config') as typeof import('../cli/commands/forecast/config')).loadForecastConfig(path) : null;
  }
  return fromEnvironment;
}

export async function handleForecastTrigger(body: unknown, deps: { client: GatewayClient; log: Logger; config?: ForecastPipelineConfig }, reply: FastifyReply): Promise<FastifyReply> {
  const { client, log } = deps;
  const detail = objectCreated.safeParse((body as { detail?: unknown }).detail);
  if (!detail.success) {
    const i = detail.error.issues[0];
    return reply.code(400).send({ error: i?.message ?? 'invalid S3 event detail' });
  }
  const config = deps.config ?? environmentConfig();
  const { name: bucket } = detail.data.bucket;
  const { key, etag, sequencer } = detail.data.object;
  if (!config) return reply.code(202).send({ status: 'ignored', reason: 'no forecast configuration (MLOPS_FORECAST_CONFIG) to trigger' });
  if (bucket !== config.bucket || !key.startsWith(config.rawPrefix)) {
    return reply.code(202).send({ status: 'ignored', reason: `s3://${bucket}/${key} is not raw sales data (s3://${config.bucket}/${config.rawPrefix}...)` });
  }
  const workflowId = forecastRunIdFor(bucket, key, etag ?? sequencer ?? '');
  try {
    await client.workflow.start<typeof forecastRetraining>('forecastRetraining', {
      workflowId,
      taskQueue: FORECAST_TASK_QUEUE,
      args: [{ config, trigger: { kind: 's3', detail: `s3://${bucket}/${key}` } }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      log.info({ decision: 'duplicate', bucket, key, workflowId }, 'raw data event already received');
      return reply.code(202).send({ status: 'duplicate', workflowId });
    }
    log.error({ decision: 'unavailable', bucket, key, err: err instanceof Error ? err.message : String(err) }, 'cannot start the forecast run');
    return reply.code(503).send({ error: 'Temporal is unavailable; retry later' });
  }
  log.info({ decision: 'accepted', bucket, key, workflowId }, 'new raw data: forecast run started');
  return reply.code(202).send({ status: 'accepted', workflowId });
}
