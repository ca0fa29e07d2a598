/**
 * gRPC wiring: decodes each WorkflowService / TestService call, hands it to the engine, and maps failures to the
 * status codes the real server uses. A handler that throws unexpectedly answers INTERNAL; the server keeps running.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ServiceError } from './errors';
import { LongPoll } from './long-poll';
import { serviceDefinition as protoServiceDefinition } from './proto';

/** A handler takes the decoded request (typed by the handler itself) and the call's long-poll control. */
export type Handler = (request: never, poll: LongPoll) => unknown;

/** Long polls answer empty this long before the caller's deadline, so the answer arrives in time. */
const DEADLINE_MARGIN_MS = 1_000;
/** Without a deadline a long poll still ends eventually, as the real server's do. */
const MAX_LONG_POLL_MS = 60_000;

function waitBudgetMs(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' ? deadline : Infinity;
  if (!Number.isFinite(at)) return MAX_LONG_POLL_MS;
  return Math.max(0, Math.min(MAX_LONG_POLL_MS, at - Date.now() - DEADLINE_MARGIN_MS));
}

function toGrpcError(err: unknown, method: string, log?: Logger): Partial<grpc.StatusObject> {
  if (err instanceof ServiceError) {
    try {
      return { code: err.code, details: err.message, metadata: err.metadata() };
    } catch (detailErr) {
      log?.error({ err: detailErr, method }, 'could not encode error details');
      return { code: err.code, details: err.message };
    }
  }
  log?.error({ err, method }, 'unexpected error in handler');
  return { code: grpc.status.INTERNAL, details: `${method}: ${err instanceof Error ? err.message : String(err)}` };
}

/** Long polls in progress, so closing the server can answer them at once instead of waiting out their deadlines. */
export class OpenCalls {
  private readonly polls = new Set<LongPoll>();

  track(poll: LongPoll): void {
    this.polls.add(poll);
    poll.onEnd(() => this.polls.delete(poll));
  }

  endAll(): void {
    for (const poll of [...this.polls]) poll.end();
  }
}

/**
 * Runs before every answer, success or error: the state file saves what the call (and anything before it) changed,
 * so no caller is ever told of a change a crash could lose.
 */
export type BeforeAnswer = () => void;

function unary(method: string, handler: Handler, calls: OpenCalls, log?: Logger, beforeAnswer?: BeforeAnswer): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const poll = new LongPoll();
    calls.track(poll);
    const timer = setTimeout(() => poll.end(), waitBudgetMs(call));
    timer.unref();
    call.on('cancelled', () => poll.end());
    // A call cancelled before this handler ran gets no 'cancelled' event: its poll must not wait for a task it would lose.
    if (call.cancelled) poll.end();
    Promise.resolve()
      .then(() => (handler as (r: unknown, p: LongPoll) => unknown)(call.request, poll))
      .then(
        (response) => {
          beforeAnswer?.();
          return response;
        },
        (err: unknown) => {
          beforeAnswer?.();
          throw err;
        },
      )
      .then(
        (response) => {
          clearTimeout(timer);
          poll.end();
          callback(null, response ?? {});
        },
        (err: unknown) => {
          clearTimeout(timer);
          poll.end();
          callback(toGrpcError(err, method, log));
        },
      );
  };
}

export function serviceDefinition(name: string): grpc.ServiceDefinition {
  const def = protoServiceDefinition(name);
  if (!def) throw new Error(`service ${name} not found in protos`);
  return def;
}

/** Adds a service with the given handlers (keyed by PascalCase method name); other methods answer UNIMPLEMENTED. */
export function addService(server: grpc.Server, name: string, handlers: Record<string, Handler>, calls: OpenCalls, log?: Logger, beforeAnswer?: BeforeAnswer): void {
  const definition = serviceDefinition(name);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    const handler = handlers[method];
    if (handler) implementation[method] = unary(method, handler, calls, log, beforeAnswer);
  }
  server.addService(definition, implementation);
}
