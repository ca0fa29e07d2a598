/** S3 object-created events for new raw data through the gateway: one run per object version, redeliveries refused. */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildGateway, type GatewayClient } from '../../clients/gateway/server';
import { forecastRunIdFor } from '../../clients/gateway/forecast-trigger';
import { FORECAST_TASK_QUEUE } from '../../workflows/forecast/model';
import { testConfig } from './harness';

const KEY = 'k3y';

function fakeClient() {
  const started: { workflowType: string; workflowId: string; taskQueue: string; args: unknown[] }[] = [];
  const client: GatewayClient = {
    workflow: {
      start: (async (workflowType: string, options: { workflowId: string; taskQueue: string; args?: unknown[] }) => {
        if (started.some((s) => s.workflowId === options.workflowId)) throw new WorkflowExecutionAlreadyStartedError('already started', options.workflowId, workflowType);
        started.push({ workflowType, workflowId: options.workflowId, taskQueue: options.taskQueue, args: options.args ?? [] });
        return {};
      }) as unknown as GatewayClient['workflow']['start'],
    },
  };
  return { client, started };
}

function objectCreated(key: string, etag = 'abc', bucket = 'mlops-forecast') {
  return { id: `ev-${key}-${etag}`, 'detail-type': 'Object Created', source: 'aws.s3', detail: { version: '0', bucket: { name: bucket }, object: { key, size: 10, etag, sequencer: '01' }, reason: 'PutObject' } };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = (body: unknown) => app!.inject({ method: 'POST', url: '/events/eventbridge', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, payload: JSON.stringify(body) });

describe('forecast trigger', () => {
  it('starts one run for new raw data; a redelivery or the same object again is a duplicate; other objects are ignored', async () => {
    const { client, started } = fakeClient();
    app = buildGateway({ client, log: pino({ level: 'silent' }), apiKey: KEY, forecast: testConfig() });
    const first = await post(objectCreated('raw/sales/2026-05-01.csv'));
    expect(first.statusCode).toBe(202);
    const workflowId = forecastRunIdFor('mlops-forecast', 'raw/sales/2026-05-01.csv', 'abc');
    expect(first.json()).toEqual({ status: 'accepted', workflowId });
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ workflowType: 'forecastRetraining', workflowId, taskQueue: FORECAST_TASK_QUEUE });
    expect(started[0]?.args[0]).toMatchObject({ config: testConfig(), trigger: { kind: 's3', detail: 's3://mlops-forecast/raw/sales/2026-05-01.csv' } });
    expect((await post(objectCreated('raw/sales/2026-05-01.csv'))).json()).toEqual({ status: 'duplicate', workflowId });
    // A new version of the object (new ETag) is new data.
    expect((await post(objectCreated('raw/sales/2026-05-01.csv', 'def'))).json()).toMatchObject({ status: 'accepted' });
    expect((await post(objectCreated('datasets/x.csv'))).json()).toMatchObject({ status: 'ignored' });
    expect((await post(objectCreated('raw/sales/a.csv', 'abc', 'other-bucket'))).json()).toMatchObject({ status: 'ignored' });
    expect(started).toHaveLength(2);
    const bad = await post({ ...objectCreated('raw/sales/b.csv'), detail: { bucket: {} } });
    expect(bad.statusCode).toBe(400);
    expect(started).toHaveLength(2);
  });
});
