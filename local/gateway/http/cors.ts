import { HTTP_CORS } from '../../../lib/definitions.js';

/** The HTTP API `CorsConfiguration`; every field but allowOrigins defaults to HTTP_CORS. */
export interface CorsOptions {
  /** Exact origins (`http://127.0.0.1:3000`), `*`, or a wildcard subdomain (`https://*.example.com`). */
  allowOrigins: readonly string[];
  /** Default: HTTP_CORS.allowMethods. */
  allowMethods?: readonly string[];
  /** Default: HTTP_CORS.allowHeaders. */
  allowHeaders?: readonly string[];
  /** Default: HTTP_CORS.exposeHeaders. */
  exposeHeaders?: readonly string[];
  /** Default: HTTP_CORS.maxAgeSeconds. */
  maxAgeSeconds?: number;
  /** Default: false. */
  allowCredentials?: boolean;
}

export interface Cors {
  /** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
  isPreflight(method: string, headers: { origin?: string; 'access-control-request-method'?: string }): boolean;
  /** Headers of the gateway's 204 answer to a preflight; empty for an origin that is not allowed. */
  preflightHeaders(origin: string | undefined): Record<string, string>;
  /** Headers added to every other response; empty for an origin that is not allowed. */
  responseHeaders(origin: string | undefined): Record<string, string>;
}

function originMatcher(pattern: string): (origin: string) => boolean {
  if (pattern === '*') return () => true;
  const star = pattern.indexOf('*');
  if (star < 0) return (origin) => origin.toLowerCase() === pattern.toLowerCase();
  const prefix = pattern.slice(0, star).toLowerCase();
  const suffix = pattern.slice(star + 1).toLowerCase();
  return (origin) => {
    const o = origin.toLowerCase();
    return o.length > prefix.length + suffix.length && o.startsWith(prefix) && o.endsWith(suffix);
  };
}

/**
 * HTTP API CORS as API Gateway applies it when a CorsConfiguration is set:
 * the gateway answers preflights itself (no OPTIONS route needed), adds
 * `access-control-allow-origin`/`-expose-headers` to responses for allowed
 * origins, and ignores CORS headers returned by the integration.
 */
export function createCors(options: CorsOptions): Cors {
  const matchers = options.allowOrigins.map(originMatcher);
  const wildcard = options.allowOrigins.includes('*');
  const allowMethods = (options.allowMethods ?? HTTP_CORS.allowMethods).join(',');
  const allowHeaders = (options.allowHeaders ?? HTTP_CORS.allowHeaders).join(',');
  const exposeHeaders = (options.exposeHeaders ?? HTTP_CORS.exposeHeaders).join(',');
  const maxAge = options.maxAgeSeconds ?? HTTP_CORS.maxAgeSeconds;
  const credentials = options.allowCredentials ?? false;

  const allowedOrigin = (origin: string | undefined): string | undefined => {
    if (!origin || !matchers.some((m) => m(origin))) return undefined;
    return wildcard && !credentials ? '*' : origin;
  };

  return {
    isPreflight: (method, headers) =>
      method === 'OPTIONS' && Boolean(headers.origin) && Boolean(headers['access-control-request-method']),
    preflightHeaders(origin) {
      const allowed = allowedOrigin(origin);
      if (!allowed) return {};
      const headers: Record<string, string> = {
        'access-control-allow-origin': allowed,
        'access-control-allow-methods': allowMethods,
      };
      if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
      if (maxAge > 0) headers['access-control-max-age'] = String(maxAge);
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      return headers;
    },
    responseHeaders(origin) {
      const allowed = allowedOrigin(origin);
      if (!allowed) return {};
      const headers: Record<string, string> = { 'access-control-allow-origin': allowed };
      if (exposeHeaders) headers['access-control-expose-headers'] = exposeHeaders;
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      return headers;
    },
  };
}
