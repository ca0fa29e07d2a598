/**
 * The embedded server's web port (8233 by default, as `temporal server start-dev` has it): the Temporal Web UI built
 * in `ui/` (a single-page app: unknown paths get its index.html) and, under `/api/v1`, Temporal's HTTP API plus the
 * UI server's own `GET /api/v1/settings`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import sirv from 'sirv';
import { projectRoot } from '../../../common/project-root';
import { HttpGateway } from './gateway';
import { uiSettings, type UiSettingsOptions } from './settings';

export interface WebUiOptions extends UiSettingsOptions {
  /** the embedded server's gRPC address (host:port) */
  grpcAddress: string;
  /** 0 = an ephemeral port */
  port: number;
  /** default 127.0.0.1 */
  ip?: string;
  /** the built UI (default: ui/build of this project) */
  uiDir?: string;
  log?: Logger;
}

export interface WebUi {
  /** http://127.0.0.1:8233 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const defaultUiDir = (): string => join(projectRoot(), 'ui', 'build');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Temporal Web UI not built</title>
<p>The Temporal Web UI of mlops-workflows is not built. Run <code>npm run build:ui</code> (the project's install runs it), then reload.</p>
<p>Temporal's HTTP API answers under <code>/api/v1</code> all the same.</p>`;

export async function startWebUi(opts: WebUiOptions): Promise<WebUi> {
  const ip = opts.ip ?? '127.0.0.1';
  const uiDir = opts.uiDir ?? defaultUiDir();
  const gateway = new HttpGateway(opts.grpcAddress);
  const settings = JSON.stringify(uiSettings(opts));
  const built = existsSync(join(uiDir, 'index.html'));
  if (!built) opts.log?.warn({ uiDir }, 'the Temporal Web UI is not built (npm run build:ui); serving the HTTP API only');
  const files = built ? sirv(uiDir, { single: true, etag: true, dev: false }) : undefined;
  const indexHtml = built ? readFileSync(join(uiDir, 'index.html')) : undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api/v1/settings' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(settings);
      return;
    }
    if (path.startsWith('/api/')) {
      gateway.handle(req, res).catch((err: unknown) => {
        opts.log?.error({ err }, 'HTTP API request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    if (!files || !indexHtml) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' }).end(NOT_BUILT);
      return;
    }
    files(req, res, () => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(indexHtml);
    });
  };

  const sockets = new Set<Socket>();
  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, ip, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    gateway.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`the Temporal Web UI's port ${ip}:${opts.port} is in use: choose another (MLOPS_UI_PORT, or --ui-port), or run without the UI (--headless)`);
    }
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const url = `http://${host}:${port}`;
  opts.log?.info({ url }, 'Temporal Web UI and HTTP API listening');
  let closed = false;
  return {
    url,
    port,
    close: async () => {
      if (closed) return;
      closed = true;
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Long polls (a history page waiting for events) end now instead of at their deadline.
      for (const s of sockets) s.destroy();
      await done;
      gateway.close();
    },
  };
}
