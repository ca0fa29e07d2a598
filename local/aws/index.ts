/**
 * The AWS API emulator: one HTTP server on loopback for every emulated service, reached by the real SDK v3
 * clients through `endpoint` / `AWS_ENDPOINT_URL`.
 *
 * Why node:http and not fastify: the emulator needs the raw request bytes of every request (gzip and
 * aws-chunked bodies, form bodies, S3 payloads checked against checksums), dispatches on headers and form fields
 * rather than paths, and must reset a connection after a handler committed (`after-commit` faults). Fastify's
 * router, body parsers and reply lifecycle would all be bypassed, leaving only overhead; node:http gives the
 * socket directly.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl } from './control';
import { Emulator, type EmulatorOptions } from './emulator';
import { allServices } from './services';

/** The emulator's own options (services default to all of `services/index.ts`), and where to listen. */
export interface StartEmulatorOptions extends Partial<EmulatorOptions> {
  /** 0 = ephemeral; default 4566. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningEmulator {
  endpoint: string;
  port: number;
  /** The in-process core, for harnesses that want to look inside without HTTP. */
  emulator: Emulator;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Why a control request is refused, or undefined. A web page open in the user's browser can send the control API
 * "simple" cross-origin requests (a form or `text/plain` POST needs no preflight) that inject faults or reset state:
 * such requests carry a foreign `Origin`, or a non-JSON content type, and are refused. Tools (curl, SDKs, tests)
 * send no `Origin`; a page served from the emulator's own origin may.
 */
export function controlRequestProblem(method: string, headers: IncomingMessage['headers'], bodyLength: number, port: number): { status: number; message: string } | undefined {
  const origin = headers.origin;
  if (origin !== undefined) {
    let own = false;
    try {
      const u = new URL(origin);
      own = u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname) && Number(u.port || 80) === port;
    } catch {
      own = false;
    }
    if (!own) return { status: 403, message: `requests from the web origin ${origin.slice(0, 100)} are refused: the control API is for tools on this machine` };
  }
  const type = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const json = type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
  // A bodiless POST without a content type is a tool's (curl -X POST); a browser's form POST always has one.
  if ((bodyLength > 0 || (method === 'POST' && type !== '')) && !json) {
    return { status: 415, message: `the control API takes JSON bodies only (content-type: application/json), not ${type === '' ? 'an untyped body' : type}` };
  }
  return undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startEmulator(opts: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { port = 4566, host = '127.0.0.1', services = allServices, ...emulatorOptions } = opts;
  const emulator = new Emulator({ ...emulatorOptions, services });
  const log = opts.log;
  /** Known once listening (port 0 picks one). */
  let listeningPort = port;

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (!res.headersSent && !res.destroyed) sendJson(res, 413, { error: 'RequestTooLarge', message: (err as Error).message });
      return;
    }
    if (rawUrl.startsWith('/_emulator/') || rawUrl === '/_emulator') {
      const refused = controlRequestProblem(method, req.headers, body.length, listeningPort);
      if (refused) {
        sendJson(res, refused.status, { error: refused.status === 403 ? 'ForeignOrigin' : 'UnsupportedMediaType', message: refused.message });
        return;
      }
      const answer = await handleControl(emulator, method, new URL(rawUrl, 'http://emulator'), body);
      await emulator.flush();
      sendJson(res, answer.status, answer.body);
      return;
    }
    const outcome = await emulator.handle({ method, url: rawUrl, headers: req.headers, body });
    // With a state directory, what the request changed (and whatever it read) is written before the client hears of
    // it; a write that fails answers 500 (the change stays in memory and is written with the next one, as a retry
    // would find it).
    await emulator.flush();
    if (outcome.kind === 'reset') {
      // The change is committed; the client sees ECONNRESET and (being an SDK) retries.
      req.socket.resetAndDestroy();
      return;
    }
    const { response } = outcome;
    const payload = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
    const headers: Record<string, string | number> = { ...response.headers };
    if (headers['content-length'] === undefined) headers['content-length'] = method === 'HEAD' ? 0 : payload.length;
    res.writeHead(response.status, headers);
    res.end(method === 'HEAD' ? undefined : payload);
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      log?.error({ err }, 'emulator request failed');
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { __type: 'InternalFailure', message: String(err) });
      else res.destroy();
    });
  });
  // Longer than the SDK's idle sockets live, so the server never closes a socket the client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // The port is taken: give the state directory back for the next attempt.
    await emulator.events.close();
    emulator.closeState();
    throw err;
  }
  const address = server.address() as AddressInfo;
  listeningPort = address.port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  emulator.endpoint = endpoint;

  // Jobs whose status changes while nobody asks still run their transitions (events, side effects).
  const ticker = setInterval(() => {
    emulator.advanceJobs();
    try {
      emulator.persist();
    } catch (err) {
      log?.error({ err }, 'the emulator could not write its state; it retries on the next tick');
    }
  }, 100);
  ticker.unref();

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port: address.port,
    emulator,
    close: () => {
      closed ??= (async () => {
        clearInterval(ticker);
        await emulator.events.close();
        // No request may be answered after the state is closed: the listener and its connections go first.
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        try {
          emulator.closeState();
        } catch (err) {
          log?.error({ err }, 'the emulator could not write its state while closing');
        }
      })();
      return closed;
    },
  };
}

export { defineService, operation, HttpResponse, EmulatorError, newId } from './service';
export { StateDirError } from './persistence/state-dir-error';
export type { ServiceDefinition, OperationContext, ServiceContext } from './service';
