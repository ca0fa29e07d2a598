/**
 * Temporal's HTTP API in front of the embedded server's gRPC port, as Temporal's own gateway does it: the route gives
 * the method; path parameters, the JSON body (`body: "*"`) or the query string give the request message; the gRPC
 * answer goes back as protobuf JSON, and a gRPC error as `{code, message, details}` with the matching HTTP status.
 * Going through gRPC keeps one implementation of every call: the HTTP API answers exactly what gRPC answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs/light';
import { JsonMappingError, messageFromJson, messageJson, setFieldFromText, type Json } from './protojson';
import { matchRoute, pathExists, temporalRoot, type Route } from './routes';

/** grpc-gateway's HTTP status for each gRPC code. */
const HTTP_STATUS: Record<number, number> = {
  [grpc.status.OK]: 200,
  [grpc.status.CANCELLED]: 499,
  [grpc.status.UNKNOWN]: 500,
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.ABORTED]: 409,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.INTERNAL]: 500,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DATA_LOSS]: 500,
};

/** The real frontend answers a history long poll empty (with a page token) after 20 s; the UI asks again. */
const HISTORY_LONG_POLL_MS = 20_000;
const CALL_DEADLINE_MS = 65_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ApiError {
  code: number;
  message: string;
  details: Json[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, grpc.status.RESOURCE_EXHAUSTED, 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request message (as a plain object for fromObject) from the body or the query string, then the path. */
export function requestFromHttp(route: Route, params: [string[], string][], query: URLSearchParams, body: string): Record<string, unknown> {
  let plain: Record<string, unknown> = {};
  if (route.body === '*') {
    // An empty body is an empty message (the UI sends none to cancel); the query string is not read.
    if (body.trim() !== '') {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch (err) {
        throw new JsonMappingError(`the request body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
      plain = messageFromJson(route.requestType, json) as Record<string, unknown>;
    }
  } else {
    const seen = new Set<string>();
    for (const [key, value] of query) {
      setFieldFromText(route.requestType, plain, key.split('.'), value, seen.has(key));
      seen.add(key);
    }
  }
  // Path parameters win over the same fields in the body.
  for (const [names, value] of params) setFieldFromText(route.requestType, plain, names, value);
  return plain;
}

function deadlineFor(route: Route, request: Record<string, unknown>): Date {
  const longPoll = route.methodName === 'GetWorkflowExecutionHistory' && request.waitNewEvent === true;
  // The server answers a long poll a second before the deadline: 21 s gives the frontend's 20 s.
  return new Date(Date.now() + (longPoll ? HISTORY_LONG_POLL_MS + 1_000 : CALL_DEADLINE_MS));
}

function apiErrorFrom(err: grpc.ServiceError, route: Route): ApiError {
  const root = temporalRoot();
  let details: Json[] = [];
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (raw instanceof Buffer) {
    try {
      const statusType = root.lookupType('google.rpc.Status');
      const anyType = root.lookupType('google.protobuf.Any');
      const st = statusType.decode(raw) as unknown as { details?: protobuf.Message[] };
      details = (st.details ?? []).map((d) => messageJson(anyType, d));
    } catch {
      details = [];
    }
  }
  let message = err.details ?? err.message;
  if (err.code === grpc.status.UNIMPLEMENTED && /does not implement the method/i.test(message)) {
    message = `${route.methodName} is not supported by the embedded Temporal server of mlops-workflows; use a full Temporal server (docker compose) for it`;
  }
  return { code: err.code, message, details };
}

/** The part of the UI's error toast that says what failed: for a feature the embedded server lacks, the reason phrase. */
const NOT_SUPPORTED = 'Not supported by the embedded Temporal server';

function send(res: ServerResponse, status: number, body: Json | ApiError): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' };
  if (status === 501) res.writeHead(status, NOT_SUPPORTED, headers);
  else res.writeHead(status, headers);
  res.end(text);
}

export class HttpGateway {
  private readonly client: grpc.Client;

  constructor(grpcAddress: string) {
    this.client = new grpc.Client(grpcAddress, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 128 * 1024 * 1024,
      'grpc.max_send_message_length': 128 * 1024 * 1024,
    });
  }

  close(): void {
    this.client.close();
  }

  /** Answers one `/api/v1/...` request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const query = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
    try {
      const match = matchRoute(req.method ?? 'GET', rawPath);
      if (!match) {
        if (pathExists(rawPath)) throw new HttpError(405, grpc.status.UNIMPLEMENTED, 'Method Not Allowed');
        throw new HttpError(404, grpc.status.NOT_FOUND, 'Not Found');
      }
      const body = await readBody(req);
      const { route } = match;
      const request = requestFromHttp(route, match.params, query, body);
      const bytes = Buffer.from(route.requestType.encode(route.requestType.fromObject(request)).finish());
      const answer = await this.call(route, bytes, deadlineFor(route, request), res);
      send(res, 200, messageJson(route.responseType, route.responseType.decode(answer)));
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { code: err.code, message: err.message, details: [] });
      else if (err instanceof JsonMappingError) send(res, 400, { code: err.code, message: err.message, details: [] });
      else if (isServiceError(err)) send(res, HTTP_STATUS[err.code] ?? 500, apiErrorFrom(err, matchRoute(req.method ?? 'GET', rawPath)!.route));
      else send(res, 500, { code: grpc.status.INTERNAL, message: err instanceof Error ? err.message : String(err), details: [] });
    }
  }

  private call(route: Route, bytes: Buffer, deadline: Date, res: ServerResponse): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest<Buffer, Buffer>(
        route.grpcPath,
        (b) => b,
        (b) => b,
        bytes,
        new grpc.Metadata(),
        { deadline },
        (err, value) => (err ? reject(err) : resolve(value ?? Buffer.alloc(0))),
      );
      // A browser that leaves the page ends its long poll on the server too.
      res.on('close', () => {
        if (!res.writableFinished) call.cancel();
      });
    });
  }
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as grpc.ServiceError).code === 'number' && 'metadata' in err;
}
