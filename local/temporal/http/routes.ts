/**
 * Temporal's HTTP API routes, read from the `google.api.http` annotations that @temporalio/proto keeps in each
 * WorkflowService and OperatorService method's options: the `/api/v1` bindings (the primary binding or one of its
 * `additional_bindings`), with their path variables (`{execution.workflow_id}`) and body rule (`*` or none).
 */
import * as protobuf from 'protobufjs/light';
import { lowerCamel } from './protojson';

// The generated JSON descriptors of every Temporal message and service, options included.
const root = require('@temporalio/proto/protos/json-module.js') as protobuf.Root;

export const SERVICES = ['temporal.api.workflowservice.v1.WorkflowService', 'temporal.api.operatorservice.v1.OperatorService'];

type Segment = { literal: string } | { field: string[] };

export interface Route {
  httpMethod: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  template: string;
  segments: Segment[];
  /** '*' = the whole request message is the body; '' = no body (query parameters instead) */
  body: string;
  /** gRPC path: /temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace */
  grpcPath: string;
  methodName: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
}

interface HttpRule {
  get?: string;
  post?: string;
  put?: string;
  delete?: string;
  patch?: string;
  body?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

const VERBS = ['get', 'post', 'put', 'delete', 'patch'] as const;

function parseTemplate(template: string): Segment[] {
  return template
    .split('/')
    .slice(1)
    .map((s) => {
      const v = /^\{([a-z0-9_.]+)\}$/i.exec(s);
      return v ? { field: v[1]!.split('.').map(lowerCamel) } : { literal: s };
    });
}

function bindings(rule: HttpRule): HttpRule[] {
  const more = rule.additional_bindings;
  return [rule, ...(Array.isArray(more) ? more : more ? [more] : [])];
}

let cached: Route[] | undefined;

export function temporalRoot(): protobuf.Root {
  return root;
}

/** Every `/api/v1` route, most specific first (a literal segment wins over a variable at the same place). */
export function httpRoutes(): Route[] {
  if (cached) return cached;
  const routes: Route[] = [];
  for (const serviceName of SERVICES) {
    const service = root.lookupService(serviceName);
    for (const method of service.methodsArray) {
      const rule = (method.parsedOptions as Record<string, HttpRule>[] | undefined)?.find((o) => o['(google.api.http)'])?.['(google.api.http)'];
      if (!rule) continue;
      method.resolve();
      for (const b of bindings(rule)) {
        const verb = VERBS.find((v) => typeof b[v] === 'string');
        const template = verb ? b[verb]! : undefined;
        if (!verb || !template?.startsWith('/api/v1/')) continue;
        routes.push({
          httpMethod: verb.toUpperCase() as Route['httpMethod'],
          template,
          segments: parseTemplate(template),
          body: b.body ?? '',
          grpcPath: `/${serviceName}/${method.name}`,
          methodName: method.name,
          requestType: method.resolvedRequestType!,
          responseType: method.resolvedResponseType!,
        });
      }
    }
  }
  const rank = (r: Route) => r.segments.map((s) => ('literal' in s ? '0' : '1')).join('');
  cached = routes.sort((a, b) => rank(a).localeCompare(rank(b)));
  return cached;
}

export interface RouteMatch {
  route: Route;
  /** field path -> percent-decoded segment */
  params: [string[], string][];
}

/** The route for a method and a raw (still percent-encoded) path; segments are decoded once. */
export function matchRoute(httpMethod: string, rawPath: string): RouteMatch | undefined {
  const parts = rawPath.split('/').slice(1);
  for (const route of httpRoutes()) {
    if (route.httpMethod !== httpMethod || route.segments.length !== parts.length) continue;
    const params: [string[], string][] = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = route.segments[i]!;
      let part: string;
      try {
        part = decodeURIComponent(parts[i]!);
      } catch {
        return undefined;
      }
      if ('literal' in seg) ok = seg.literal === part;
      else if (part === '') ok = false;
      else params.push([seg.field, part]);
    }
    if (ok) return { route, params };
  }
  return undefined;
}

/** Whether some route has this path for another HTTP method (405 rather than 404). */
export function pathExists(rawPath: string): boolean {
  return ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].some((m) => matchRoute(m, rawPath) !== undefined);
}
