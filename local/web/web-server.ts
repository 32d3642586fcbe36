import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { listen } from '../shared/listen.js';
import { sendJson as sendJsonReply } from '../shared/http.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** A handler for one exact path; returns false to fall through to static files. */
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface WebServerOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Folder of the built web client (index.html at its root). */
  webRoot: string;
  /** Exact-path routes served before static files, e.g. `/config.json`. */
  routes: Record<string, RouteHandler>;
  onError?: (err: unknown) => void;
}

export interface WebServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the dashboard the way S3 + CloudFront do once deployed: static files
 * from one folder, `index.html` for `/`, and a few dynamic routes the local
 * runtime adds (config.json, the token issuer). Paths never escape webRoot.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const root = path.resolve(options.webRoot);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.onError?.(err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal error');
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = options.routes[url.pathname];
    if (route) return route(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('Method Not Allowed');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request');
      return;
    }
    const file = path.resolve(root, '.' + (pathname.endsWith('/') ? pathname + 'index.html' : pathname));
    if (file !== root && !file.startsWith(root + path.sep)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // Local development: always revalidate so a rebuild shows up on reload.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  }

  const port = await listen(server, options.port, options.host ?? '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer of the web origin (config.json, the token issuer's, /_local/*): never cached. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonReply(res, status, body, { 'cache-control': 'no-store', ...headers });
}
