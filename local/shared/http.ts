/**
 * HTTP helpers shared by every local server (gateway, web server, token
 * issuer): one way to answer JSON and one way to read a bounded body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Writes a JSON response unless the client has already gone. */
export function sendJson(res: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(statusCode, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** `http://host:port` for a bound server, bracketing IPv6 hosts. */
export function originOf(scheme: 'http' | 'ws', host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' };

/** Beyond this much discarded data a client is not draining an honest request; drop it. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads a request body up to `maxBytes` without buffering more than that.
 * An oversize body (declared by Content-Length or found while streaming)
 * resolves `too-large` at once; the rest is drained and discarded so the
 * client can still read the error response on a keep-alive connection.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      drain(req);
      resolve({ ok: false, reason: 'too-large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.off('end', onEnd);
        chunks.length = 0;
        drain(req);
        resolve({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve({ ok: true, body: Buffer.concat(chunks, size) });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

function drain(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DRAIN_BYTES) req.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}
