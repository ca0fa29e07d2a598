/** The control API under /_emulator/ (JSON in, JSON out); documented in CONTROL-API.md. */
import { z } from 'zod';
import type { Emulator } from './emulator';
import { faultSpec } from './faults';
import { matchPath } from './protocols/wire';
import { EmulatorError } from './service';

export interface ControlAnswer {
  status: number;
  body: unknown;
}

const clockAdvance = z
  .object({ advanceMs: z.number().nonnegative().optional(), advanceSeconds: z.number().nonnegative().optional() })
  .strict()
  .refine((v) => v.advanceMs !== undefined || v.advanceSeconds !== undefined, { message: 'give advanceMs or advanceSeconds' });

const scenarioRule = z
  .object({
    service: z.string().min(1),
    kind: z.string().min(1),
    resource: z.string().min(1).default('*'),
    durationsMs: z.record(z.string(), z.number().nonnegative()).optional(),
    failureReason: z.string().min(1).optional(),
    failAtStatus: z.string().min(1).optional(),
  })
  .strict();

function badRequest(message: string): ControlAnswer {
  return { status: 400, body: { error: 'BadRequest', message } };
}

function parseWith<T>(schema: z.ZodType<T>, body: unknown): { ok: true; value: T } | { ok: false; answer: ControlAnswer } {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, answer: badRequest(`${where}${issue?.message ?? 'invalid body'}`) };
}

export async function handleControl(emulator: Emulator, method: string, url: URL, rawBody: Buffer): Promise<ControlAnswer> {
  const path = url.pathname.replace(/^\/_emulator/, '') || '/';
  const query = Object.fromEntries(url.searchParams);
  let body: unknown;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return badRequest('the body is not valid JSON');
    }
  }
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /health':
      return { status: 200, body: { ok: true, time: new Date(emulator.clock.now()).toISOString(), services: emulator.describeServices() } };
    case 'GET /faults':
      return { status: 200, body: { faults: emulator.faults.list() } };
    case 'POST /faults': {
      const parsed = parseWith(faultSpec, body);
      if (!parsed.ok) return parsed.answer;
      if (parsed.value.service !== '*' && !emulator.runtime(parsed.value.service)) {
        return badRequest(`unknown service ${parsed.value.service}; known: ${emulator.serviceNames().join(', ')}`);
      }
      return { status: 201, body: emulator.faults.add(parsed.value) };
    }
    case 'DELETE /faults':
      emulator.faults.clear();
      return { status: 200, body: { ok: true } };
    case 'GET /journal': {
      const since = query.since !== undefined ? Number(query.since) : undefined;
      if (since !== undefined && !Number.isInteger(since)) return badRequest('since must be a sequence number');
      return {
        status: 200,
        body: { entries: emulator.journal.list({ service: query.service, operation: query.operation, ...(since !== undefined ? { sinceSeq: since } : {}) }) },
      };
    }
    case 'DELETE /journal':
      emulator.journal.clear();
      return { status: 200, body: { ok: true } };
    case 'GET /clock':
      return { status: 200, body: clockBody(emulator) };
    case 'POST /clock': {
      const parsed = parseWith(clockAdvance, body);
      if (!parsed.ok) return parsed.answer;
      emulator.clock.advance((parsed.value.advanceMs ?? 0) + (parsed.value.advanceSeconds ?? 0) * 1000);
      emulator.markChanged('clock');
      emulator.advanceJobs();
      return { status: 200, body: clockBody(emulator) };
    }
    case 'POST /reset':
      emulator.reset();
      return { status: 200, body: { ok: true } };
    case 'GET /events':
      return { status: 200, body: { events: emulator.events.list({ source: query.source, detailType: query.detailType }) } };
    case 'GET /scenarios':
      return { status: 200, body: { scenarios: emulator.jobs.listScenarios() } };
    case 'POST /scenarios': {
      const parsed = parseWith(scenarioRule, body);
      if (!parsed.ok) return parsed.answer;
      const { service, kind, resource, ...scenario } = parsed.value;
      if (!emulator.runtime(service)) return badRequest(`unknown service ${service}; known: ${emulator.serviceNames().join(', ')}`);
      emulator.jobs.setScenario({ service, kind, resource, scenario });
      return { status: 201, body: { service, kind, resource, scenario } };
    }
    case 'DELETE /scenarios':
      emulator.jobs.clearScenarios();
      return { status: 200, body: { ok: true } };
    case 'GET /jobs':
      return { status: 200, body: { jobs: emulator.jobs.list(query.service, query.kind).map(({ data: _data, ...view }) => view) } };
  }
  const faultMatch = /^\/faults\/([^/]+)$/.exec(path);
  if (faultMatch && method === 'DELETE') {
    return emulator.faults.remove(faultMatch[1] as string)
      ? { status: 200, body: { ok: true } }
      : { status: 404, body: { error: 'NotFound', message: `no fault ${faultMatch[1]}` } };
  }
  const serviceMatch = /^\/services\/([^/]+)(\/.*)?$/.exec(path);
  if (serviceMatch) return serviceControl(emulator, method, serviceMatch[1] as string, serviceMatch[2] ?? '/', query, body);
  return { status: 404, body: { error: 'NotFound', message: `no control endpoint ${method} /_emulator${path}; see GET /_emulator/health` } };
}

function clockBody(emulator: Emulator): unknown {
  const now = emulator.clock.now();
  return { now: new Date(now).toISOString(), epochMs: now, timeScale: emulator.clock.timeScale, advancedMs: emulator.clock.advancedMs };
}

async function serviceControl(
  emulator: Emulator,
  method: string,
  serviceName: string,
  path: string,
  query: Record<string, string>,
  body: unknown,
): Promise<ControlAnswer> {
  const runtime = emulator.runtime(serviceName);
  if (!runtime) return { status: 404, body: { error: 'NotFound', message: `unknown service ${serviceName}` } };
  for (const { service, control, compiled } of emulator.controlRoutes) {
    if (service !== runtime || control.method !== method) continue;
    const params = matchPath(compiled, path);
    if (!params) continue;
    emulator.advanceJobs();
    // Control endpoints that are not GET change the service (files written, quotas set): a durable emulator stores it.
    if (method !== 'GET') emulator.markServiceChanged(serviceName);
    try {
      const result = await control.handler({ params, query, body }, emulator.serviceContext(runtime));
      return { status: 200, body: result ?? { ok: true } };
    } catch (err) {
      if (err instanceof EmulatorError) return { status: err.httpStatus, body: { error: err.code, message: err.message } };
      throw err;
    }
  }
  const known = (runtime.def.control ?? []).map((c) => `${c.method} ${c.path}`).join(', ') || 'none';
  return { status: 404, body: { error: 'NotFound', message: `service ${serviceName} has no control endpoint ${method} ${path}; it has: ${known}` } };
}
