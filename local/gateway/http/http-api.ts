import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { HTTP_ROUTES } from '../../../lib/definitions.js';
import type { ErrorBody, ErrorCode } from '../../../lambdas/contract.js';
import { invoke as runtimeInvoke } from '../../lambda/runtime.js';
import { LOCAL_ACCOUNT_ID, domainOf, newApiId, newGatewayId, sourceIpOf } from '../shared/aws-format.js';
import { originOf, readBody, sendJson } from '../../shared/http.js';
import type { LocalLogger } from '../../shared/logger.js';
import { gatewayLogger, type Invoke, type JwtVerifier } from '../shared/types.js';
import { createCors, type CorsOptions } from './cors.js';
import { buildHttpApiEvent, stringifyClaims } from './event-builder.js';
import { mapLambdaResult } from './response-mapper.js';
import { RouteTable, type RouteDefinition } from './route-table.js';
import { createTokenBucket, type ThrottleOptions } from './throttle.js';
import { listen } from '../../shared/listen.js';

/** API Gateway HTTP API payload limit (10 MB); the contract's 16 KB limit is the handler's job. */
export const HTTP_API_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface HttpApiOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Default: HTTP_ROUTES, all behind the JWT authorizer. */
  routes?: readonly RouteDefinition[];
  /** CorsConfiguration; default: none (no CORS headers, no preflight answers). */
  cors?: CorsOptions;
  /** The JWT authorizer's check (lambdas/auth/jwt-verifier.ts in the local runtime). */
  verifier: JwtVerifier;
  /** Default: `invoke` from local/lambda/runtime.ts. */
  invoke?: Invoke;
  /** Default: warnings and errors to stderr. */
  logger?: LocalLogger;
  /** Stage throttling; default: off. */
  throttle?: ThrottleOptions;
  /** Default: HTTP_API_MAX_PAYLOAD_BYTES (10 MB). */
  maxPayloadBytes?: number;
  /** Default: a random 10-character id, as `requestContext.apiId`. */
  apiId?: string;
}

export interface HttpApi {
  /** `http://127.0.0.1:<port>`: the API's base URL (stage `$default` has no path prefix). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function contractError(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** The JWT authorizer reads `Authorization`; API Gateway accepts the token with or without `Bearer `. */
function tokenFrom(authorization: string | undefined): string | undefined {
  const token = authorization?.replace(/^Bearer\s+/i, '').trim();
  return token ? token : undefined;
}

/**
 * Emulates an API Gateway HTTP API (stage `$default`) in front of Lambda
 * proxy integrations with payload format 2.0 and the native JWT authorizer.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const host = options.host ?? '127.0.0.1';
  const routes = new RouteTable(options.routes ?? HTTP_ROUTES);
  const cors = options.cors ? createCors(options.cors) : undefined;
  const invoke = options.invoke ?? runtimeInvoke;
  const logger = options.logger ?? gatewayLogger;
  const bucket = options.throttle ? createTokenBucket(options.throttle) : undefined;
  const maxPayloadBytes = options.maxPayloadBytes ?? HTTP_API_MAX_PAYLOAD_BYTES;
  const apiId = options.apiId ?? newApiId();
  let port = options.port;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newGatewayId();
    const timeEpoch = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const rawQueryString = queryAt < 0 ? '' : url.slice(queryAt + 1);
    const origin = req.headers.origin;
    const gatewayHeaders = { 'apigw-requestid': requestId, ...(cors?.responseHeaders(origin) ?? {}) };
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}): void =>
      sendJson(res, status, body, { ...gatewayHeaders, ...extra });

    if (cors?.isPreflight(method, req.headers)) {
      req.resume();
      res.writeHead(204, { 'apigw-requestid': requestId, ...cors.preflightHeaders(origin) });
      res.end();
      return;
    }

    const read = await readBody(req, maxPayloadBytes);
    if (!read.ok) return reply(413, { message: 'Request Entity Too Large' });

    const match = routes.match(method, rawPath);
    // AWS answers an unmatched route with 404 {"message":"Not Found"}; the
    // contract's error body is used instead so clients parse one error shape.
    if (!match) return reply(404, contractError('NOT_FOUND', 'Not Found'));

    if (bucket && !bucket.tryTake()) return reply(429, { message: 'Too Many Requests' });

    // AWS's JWT authorizer answers 401 {"message":"Unauthorized"} and HTTP APIs
    // cannot customise gateway responses; the emulator sends the contract's
    // error body instead, a known difference from the deployed API.
    const token = tokenFrom(req.headers.authorization);
    if (!token) return reply(401, contractError('UNAUTHORIZED', 'Missing bearer token'));
    let claims: Record<string, unknown>;
    try {
      ({ claims } = await options.verifier.verify(token));
    } catch (error) {
      const err = error as Error;
      if (err?.name !== 'InvalidTokenError') {
        // Not the token's fault (e.g. JwksUnavailableError): a gateway failure, not a 401.
        logger.error('JWT authorizer could not verify the token', { requestId, error: String(err) });
        return reply(500, { message: 'Internal Server Error' });
      }
      // Header values must be printable ASCII: a parse error can quote the token's raw bytes.
      const description = String(err.message || 'invalid token')
        .replace(/[^\x20-\x7e]|["\\]/g, ' ')
        .slice(0, 200);
      return reply(401, contractError('UNAUTHORIZED', 'Invalid or expired token'), {
        'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${description}"`,
      });
    }

    const { domainName, domainPrefix } = domainOf(req.headers, `${host}:${port}`);
    const event = buildHttpApiEvent({
      method,
      rawPath,
      rawQueryString,
      rawHeaders: req.rawHeaders,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp: sourceIpOf(req.socket),
      body: read.body,
      routeKey: match.routeKey,
      ...(match.pathParameters ? { pathParameters: match.pathParameters } : {}),
      claims: stringifyClaims(claims),
      apiId,
      accountId: LOCAL_ACCOUNT_ID,
      domainName,
      domainPrefix,
      requestId,
      timeEpoch,
      port,
    });

    let response: ReturnType<typeof mapLambdaResult>;
    try {
      response = mapLambdaResult(await invoke(match.route.fn, event));
    } catch (error) {
      // Function errors, timeouts and unusable responses all surface as AWS's bare 500.
      logger.error('Integration failed', { requestId, routeKey: match.routeKey, error: String(error) });
      return reply(500, { message: 'Internal Server Error' });
    }
    if (res.destroyed) return;
    const headers = response.headers;
    if (cors) {
      // With a CorsConfiguration, API Gateway ignores CORS headers from the integration.
      for (const name of Object.keys(headers)) if (name.startsWith('access-control-')) delete headers[name];
    }
    res.writeHead(response.statusCode, { ...headers, ...gatewayHeaders, 'content-length': response.body.length });
    res.end(response.body);
    logger.debug('HTTP request', {
      requestId,
      routeKey: match.routeKey,
      status: response.statusCode,
      ms: Date.now() - timeEpoch,
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('Gateway failure', { error: String(error) });
      sendJson(res, 500, { message: 'Internal Server Error' });
    });
  });

  port = await listen(server, options.port, host);

  return {
    url: originOf('http', host, port),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
