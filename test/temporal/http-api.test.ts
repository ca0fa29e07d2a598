/**
 * Temporal's HTTP API on the embedded server's web port, as the Web UI calls it: each call's answer is compared with
 * the gRPC answer to the same call (protobufjs's toObject on the gRPC side, with Timestamps and Durations compared
 * as times); request shapes (snake_case, numeric enums, dotted query parameters, percent-encoded ids), long polls,
 * write actions and errors as the UI sees them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { startTemporalServer, type TemporalServer } from '../../local/temporal';
import { bundle, quietRuntime, startWorker, uniqueId, type WorkerHandle } from './helpers';

const ws = temporal.api.workflowservice.v1;
const os = temporal.api.operatorservice.v1;
const TO_OBJECT = { longs: String, enums: String, bytes: String, defaults: false } as const;

let server: TemporalServer;
let api: string;
let connection: Connection;
let nativeConnection: NativeConnection;
let client: Client;
let w: WorkerHandle;

beforeAll(async () => {
  quietRuntime();
  const [s, workflowBundle] = await Promise.all([startTemporalServer({ port: 0, ui: { port: 0, codecEndpoint: 'http://127.0.0.1:9999/codec' } }), bundle()]);
  server = s;
  api = `${server.uiUrl}/api/v1`;
  connection = await Connection.connect({ address: server.address });
  nativeConnection = await NativeConnection.connect({ address: server.address });
  client = new Client({ connection });
  w = await startWorker(nativeConnection, workflowBundle);
}, 60_000);

afterAll(async () => {
  await w?.stop();
  await connection?.close();
  await nativeConnection?.close();
  await server?.close();
});

interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function http(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<HttpAnswer> {
  const res = await fetch(`${api}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  expect(res.headers.get('content-type')).toContain('application/json');
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
}

const get = async (path: string) => {
  const r = await http('GET', path);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

const post = async (path: string, body?: unknown) => {
  const r = await http('POST', path, body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};

const isDefault = (v: unknown): boolean =>
  v === 0 || v === '0' || v === '' || v === false || (typeof v === 'string' && v.endsWith('_UNSPECIFIED')) || (Array.isArray(v) && v.length === 0) ||
  (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isDefault));

/** The gRPC answer (toObject) and the HTTP answer hold the same data; returns the first difference, or undefined. */
function difference(grpc: unknown, json: unknown, at = ''): string | undefined {
  if (json === undefined) return isDefault(grpc) || grpc === undefined ? undefined : `${at}: missing over HTTP (gRPC ${JSON.stringify(grpc)})`;
  if (grpc !== null && typeof grpc === 'object' && !Array.isArray(grpc) && typeof json === 'string') {
    // A Timestamp (RFC 3339) or Duration ("1.5s") against {seconds, nanos}.
    const { seconds = '0', nanos = 0 } = grpc as { seconds?: string; nanos?: number };
    const ms = Number(seconds) * 1000 + nanos / 1e6;
    const got = json.endsWith('s') && !json.includes('T') ? Number(json.slice(0, -1)) * 1000 : Date.parse(json);
    return Math.abs(got - ms) < 0.001 ? undefined : `${at}: ${json} is not ${ms} ms`;
  }
  if (Array.isArray(grpc)) {
    if (!Array.isArray(json) || json.length !== grpc.length) return `${at}: list of ${grpc.length} over gRPC, ${JSON.stringify(json)} over HTTP`;
    for (let i = 0; i < grpc.length; i++) {
      const d = difference(grpc[i], json[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (grpc !== null && typeof grpc === 'object') {
    if (json === null || typeof json !== 'object') return `${at}: ${JSON.stringify(json)} over HTTP`;
    for (const k of Object.keys(json)) if (!(k in grpc)) return `${at}.${k}: only over HTTP`;
    for (const [k, v] of Object.entries(grpc)) {
      const d = difference(v, (json as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return grpc === json ? undefined : `${at}: ${JSON.stringify(grpc)} over gRPC, ${JSON.stringify(json)} over HTTP`;
}

type ToObject = { toObject(m: never, o: typeof TO_OBJECT): unknown };
const expectSame = (type: ToObject, grpcAnswer: unknown, httpAnswer: unknown) => expect(difference(type.toObject(grpcAnswer as never, TO_OBJECT), httpAnswer)).toBeUndefined();

const enc = encodeURIComponent;

describe('the UI server settings', () => {
  it('answers GET /api/v1/settings as the UI server does, with the codec endpoint', async () => {
    const s = await get('/settings');
    expect(s.DefaultNamespace).toBe('default');
    const [major, minor] = String(s.Version).split('.').map(Number);
    expect(major! * 100 + minor!).toBeGreaterThanOrEqual(223);
    expect((s.Codec as { Endpoint: string }).Endpoint).toBe('http://127.0.0.1:9999/codec');
    expect((s.Auth as { Enabled: boolean }).Enabled).toBe(false);
  });
});

describe('start-page and namespace views: same answers as gRPC', () => {
  it('cluster info, system info, namespaces, search attributes', async () => {
    const svc = connection.workflowService;
    expectSame(ws.GetClusterInfoResponse, await svc.getClusterInfo({}), await get('/cluster-info'));
    const sys = await get('/system-info');
    expectSame(ws.GetSystemInfoResponse, await svc.getSystemInfo({}), sys);
    expect((sys.capabilities as Record<string, boolean>).countGroupByExecutionStatus).toBe(true);
    const list = await get('/namespaces');
    expectSame(ws.ListNamespacesResponse, await svc.listNamespaces({}), list);
    const ns = await get('/namespaces/default');
    expectSame(ws.DescribeNamespaceResponse, await svc.describeNamespace({ namespace: 'default' }), ns);
    // Enums by full name, Durations as "86400s".
    expect((ns.namespaceInfo as { state: string }).state).toBe('NAMESPACE_STATE_REGISTERED');
    expect((ns.config as { workflowExecutionRetentionTtl: string }).workflowExecutionRetentionTtl).toBe('86400s');
    const sa = await get('/namespaces/default/search-attributes');
    expectSame(os.ListSearchAttributesResponse, await connection.operatorService.listSearchAttributes({ namespace: 'default' }), sa);
    expect((sa.systemAttributes as Record<string, string>).ExecutionStatus).toBe('INDEXED_VALUE_TYPE_KEYWORD');
  });
});

describe('workflow views and write actions', () => {
  let done: WorkflowHandle;
  let running: WorkflowHandle;
  let runningRunId: string;

  beforeAll(async () => {
    done = await client.workflow.start('greeting', { taskQueue: w.taskQueue, workflowId: uniqueId('http/greeting'), args: ['ui'] });
    await done.result();
    // An id with slashes and a space, as profile recovery's ids have: the UI sends it percent-encoded once.
    const started = await client.workflow.start('counter', { taskQueue: w.taskQueue, workflowId: uniqueId('recovery/http api/counter') });
    running = started;
    runningRunId = started.firstExecutionRunId;
    // Its first workflow task done, it waits for signals: both APIs then see the same history.
    while ((await running.describe()).historyLength < 4) await new Promise((r) => setTimeout(r, 50));
  });

  it('lists with the visibility query and counts by status', async () => {
    const query = `WorkflowId = "${done.workflowId}" OR WorkflowId = "${running.workflowId}"`;
    const svc = connection.workflowService;
    const list = await get(`/namespaces/default/workflows?pageSize=20&query=${enc(query)}`);
    expectSame(ws.ListWorkflowExecutionsResponse, await svc.listWorkflowExecutions({ namespace: 'default', pageSize: 20, query }), list);
    const statuses = (list.executions as { status: string }[]).map((e) => e.status).sort();
    expect(statuses).toEqual(['WORKFLOW_EXECUTION_STATUS_COMPLETED', 'WORKFLOW_EXECUTION_STATUS_RUNNING']);
    const countQuery = `(${query}) GROUP BY ExecutionStatus`;
    const count = await get(`/namespaces/default/workflow-count?query=${enc(countQuery)}`);
    expectSame(ws.CountWorkflowExecutionsResponse, await svc.countWorkflowExecutions({ namespace: 'default', query: countQuery }), count);
    expect(count.count).toBe('2');
    // Group values are payloads: metadata and data in base64.
    const group = (count.groups as { groupValues: { metadata: { encoding: string }; data: string }[] }[])[0]!.groupValues[0]!;
    expect(Buffer.from(group.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(group.data, 'base64').toString())).toMatch(/^(Running|Completed)$/);
  });

  it('describes and reads the history of a run, with run id as a dotted query parameter', async () => {
    const svc = connection.workflowService;
    const execution = { workflowId: done.workflowId };
    const runId = (await done.describe()).runId;
    const d = await get(`/namespaces/default/workflows/${enc(done.workflowId)}?execution.runId=${runId}`);
    expectSame(ws.DescribeWorkflowExecutionResponse, await svc.describeWorkflowExecution({ namespace: 'default', execution: { ...execution, runId } }), d);
    const h = await get(`/namespaces/default/workflows/${enc(done.workflowId)}/history?execution.run_id=${runId}`);
    expectSame(ws.GetWorkflowExecutionHistoryResponse, await svc.getWorkflowExecutionHistory({ namespace: 'default', execution: { ...execution, runId } }), h);
    const events = (h.history as { events: { eventType: string; eventId: string; eventTime: string; activityTaskScheduledEventAttributes?: { activityType: { name: string }; startToCloseTimeout?: string } }[] }).events;
    expect(events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(events[0]!.eventId).toBe('1');
    expect(events[0]!.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3,9})?Z$/);
    const scheduled = events.find((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')!;
    expect(scheduled.activityTaskScheduledEventAttributes!.activityType.name).toBe('greet');
    expect(scheduled.activityTaskScheduledEventAttributes!.startToCloseTimeout).toMatch(/^\d+(\.\d+)?s$/);
    expect(events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('long-polls a running workflow\'s history: the page waits for the next event (waitNewEvent)', async () => {
    const path = `/namespaces/default/workflows/${enc(running.workflowId)}/history?execution.runId=${runningRunId}&waitNewEvent=true`;
    const first = await get(path);
    const token = first.nextPageToken as string;
    expect(token).toBeTruthy();
    const seen = (first.history as { events: unknown[] }).events.length;
    const waiting = get(`${path}&next_page_token=${enc(token)}`);
    const early = await Promise.race([waiting.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(early).toBe('waiting');
    // The UI's signal body: workflowExecution and input payloads; the name comes from the path.
    const payload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('5').toString('base64') };
    await post(`/namespaces/default/workflows/${enc(running.workflowId)}/signal/add`, { signalName: 'add', workflow_execution: { workflowId: running.workflowId, run_id: runningRunId }, input: { payloads: [payload] }, identity: 'web-ui' });
    const next = await waiting;
    const events = (next.history as { events: { eventType: string; eventId: string }[] }).events;
    expect(events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    expect(Number(events[0]!.eventId)).toBe(seen + 1);
  });

  it('queries the workflow and its stack trace; sends an update', async () => {
    const q = await post(`/namespaces/default/workflows/${enc(running.workflowId)}/query/total`, { execution: { workflowId: running.workflowId, runId: runningRunId }, query: { queryType: 'total' } });
    const result = (q.queryResult as { payloads: { data: string }[] }).payloads[0]!;
    expect(JSON.parse(Buffer.from(result.data, 'base64').toString())).toBe(5);
    const stack = await post(`/namespaces/default/workflows/${enc(running.workflowId)}/query/__stack_trace`, { execution: { workflowId: running.workflowId }, query: {} });
    expect(Buffer.from((stack.queryResult as { payloads: { data: string }[] }).payloads[0]!.data, 'base64').toString()).toContain('counter');
    const arg = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('7').toString('base64') };
    const u = await post(`/namespaces/default/workflows/${enc(running.workflowId)}/update/set`, {
      workflowExecution: { workflowId: running.workflowId },
      request: { meta: { updateId: uniqueId('u') }, input: { args: { payloads: [arg] } } },
      waitPolicy: { lifecycleStage: 'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED' },
    });
    const outcome = (u.outcome as { success: { payloads: { data: string }[] } }).success.payloads[0]!;
    expect(JSON.parse(Buffer.from(outcome.data, 'base64').toString())).toBe(5);
    expect(await running.query('total')).toBe(7);
  });

  it('shows the task queue\'s pollers (taskQueueType by number) as gRPC does', async () => {
    for (const type of [1, 2]) {
      const d = await get(`/namespaces/default/task-queues/${enc(w.taskQueue)}?taskQueueType=${type}`);
      const g = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: w.taskQueue }, taskQueueType: type });
      const identities = (x: { pollers?: { identity?: string | null }[] | null }) => (x.pollers ?? []).map((p) => p.identity).sort();
      expect(identities(d as never)).toEqual(identities(g));
      expect(identities(d as never).length).toBeGreaterThan(0);
    }
  });

  it('cancels with an empty body and terminates with a reason', async () => {
    const waiting = await client.workflow.start('waitForCancellation', { taskQueue: w.taskQueue, workflowId: uniqueId('http/cancel') });
    await post(`/namespaces/default/workflows/${enc(waiting.workflowId)}/cancel`);
    await expect(waiting.result()).rejects.toThrow(/cancelled/);
    await post(`/namespaces/default/workflows/${enc(running.workflowId)}/terminate`, { workflowExecution: { runId: runningRunId }, reason: 'from the UI', identity: 'web-ui' });
    const d = await running.describe();
    expect(d.status.name).toBe('TERMINATED');
  });

  it('answers errors as {code, message, details} with the HTTP status of the gRPC code', async () => {
    const missing = await http('GET', `/namespaces/default/workflows/${enc('no/such workflow')}`);
    expect(missing.status).toBe(404);
    const grpcErr = await connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: 'no/such workflow' } }).catch((e: Error & { code: number; details: string }) => e);
    expect(missing.body.code).toBe(5);
    expect(missing.body.message).toBe((grpcErr as { details: string }).details);
    expect((missing.body.details as { '@type': string }[])[0]!['@type']).toBe('type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure');
    const badEnum = await http('GET', `/namespaces/default/task-queues/q?taskQueueType=TASK_QUEUE_TYPE_NONSENSE`);
    expect(badEnum.status).toBe(400);
    expect(badEnum.body.code).toBe(3);
    expect(String(badEnum.body.message)).toContain('taskQueueType');
    const terminateMissing = await http('POST', `/namespaces/default/workflows/${enc('no/such workflow')}/terminate`, {});
    expect([terminateMissing.status, terminateMissing.body.code]).toEqual([404, 5]);
    const notJson = await fetch(`${api}/namespaces/default/workflows/x/signal/s`, { method: 'POST', body: '{not json' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/not JSON/);
    const noRoute = await http('GET', '/no-such-thing');
    expect([noRoute.status, noRoute.body.code]).toEqual([404, 5]);
    const wrongMethod = await http('DELETE', '/namespaces/default/workflows');
    expect(wrongMethod.status).toBe(405);
    // Batch operations are not in the embedded server: the UI shows this message.
    const batch = await http('POST', '/namespaces/default/batch-operations/job-1', { reason: 'x', visibilityQuery: 'WorkflowType="greet"' });
    expect(batch.status).toBe(501);
    // The UI's error toast shows the status line.
    const batchLine = await fetch(`${api}/namespaces/default/batch-operations/job-1`, { method: 'POST', body: '{}' });
    expect(`${batchLine.status} ${batchLine.statusText}`).toBe('501 Not supported by the embedded Temporal server');
    expect(batch.body.message).toMatch(/StartBatchOperation is not supported by the embedded Temporal server/);
  });
});

describe('the JSON mapping of requests and answers', () => {
  it('reads repeated query keys, numeric and named enums, path parameters over the body, and writes the well-known types', async () => {
    const { matchRoute } = await import('../../local/temporal/http/routes');
    const { requestFromHttp } = await import('../../local/temporal/http/gateway');
    const { messageJson } = await import('../../local/temporal/http/protojson');
    const tq = matchRoute('GET', `/api/v1/namespaces/default/task-queues/${enc('a/b c')}`)!;
    const req = requestFromHttp(tq.route, tq.params, new URLSearchParams('taskQueueTypes=1&taskQueueTypes=TASK_QUEUE_TYPE_ACTIVITY&reportPollers=true'), '');
    expect(req).toMatchObject({ namespace: 'default', taskQueue: { name: 'a/b c' }, taskQueueTypes: [1, 2], reportPollers: true });
    const signal = matchRoute('POST', '/api/v1/namespaces/default/workflows/wf/signal/fromPath')!;
    expect(requestFromHttp(signal.route, signal.params, new URLSearchParams('identity=ignored'), '{"signal_name":"fromBody","workflow_execution":{"run_id":"r1"}}')).toEqual({
      namespace: 'default',
      signalName: 'fromPath',
      workflowExecution: { runId: 'r1', workflowId: 'wf' },
    });
    const { temporalRoot } = await import('../../local/temporal/http/routes');
    const roundTrip = (typeName: string, value: object) => {
      const type = temporalRoot().lookupType(typeName);
      return messageJson(type, type.decode(type.encode(type.fromObject(value)).finish()));
    };
    expect(roundTrip('temporal.api.history.v1.TimerStartedEventAttributes', { timerId: '1', startToFireTimeout: { seconds: 1, nanos: 500_000_000 }, workflowTaskCompletedEventId: 4 })).toEqual({
      timerId: '1',
      startToFireTimeout: '1.500s',
      workflowTaskCompletedEventId: '4',
    });
    expect(roundTrip('temporal.api.history.v1.HistoryEvent', { eventId: 1, eventTime: { seconds: 1700000000, nanos: 1000 } })).toEqual({ eventId: '1', eventTime: '2023-11-14T22:13:20.000001Z' });
  });
});
