import { STATUS_CODES, createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  LIMITS,
  LOCAL,
  WS_AUTHORIZER,
  WS_ROUTES,
  WS_ROUTE_SELECTION_EXPRESSION,
  type FunctionName,
} from '../../../lib/definitions.js';
import { invoke as runtimeInvoke } from '../../lambda/runtime.js';
import { LOCAL_ACCOUNT_ID, domainOf, newApiId, newGatewayId, sourceIpOf } from '../shared/aws-format.js';
import { originOf, sendJson } from '../../shared/http.js';
import type { LocalLogger } from '../../shared/logger.js';
import { gatewayLogger, type Invoke } from '../shared/types.js';
import { AuthorizerConfigurationError, authorizerContext, evaluateAuthorizerResult } from './authorizer-policy.js';
import { ConnectionRegistry, type Connection } from './connection-registry.js';
import {
  buildAuthorizerEvent,
  buildConnectEvent,
  buildDisconnectEvent,
  buildMessageEvent,
  connectionFactsOf,
  queryMaps,
  type ConnectionFacts,
  type HandshakeFacts,
  type WebSocketAuthorizerEvent,
} from './event-builders.js';
import {
  createManagementApi,
  type ManagementFaults,
  type ManagementRefusal,
  type ManagementRequest,
  type ManagementStats,
} from './management-api.js';
import { createRouteSelector } from './route-selection.js';
import { listen } from '../../shared/listen.js';

export interface WebSocketAuthorizerConfig {
  fn: FunctionName;
  /** Comma-separated `route.request.querystring.<name>` / `route.request.header.<name>` entries. */
  identitySource: string;
}

export interface WebSocketApiOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Default: LOCAL.stage. */
  stage?: string;
  /** Route key → function. Default: WS_ROUTES. */
  routes?: Readonly<Record<string, FunctionName>>;
  /** Default: WS_ROUTE_SELECTION_EXPRESSION. */
  routeSelectionExpression?: string;
  /** The `$connect` REQUEST authorizer. Default: WS_AUTHORIZER; null for none. */
  authorizer?: WebSocketAuthorizerConfig | null;
  /** Runs the authorizer. Default: invokes `authorizer.fn` through `invoke`. */
  authorize?: (event: WebSocketAuthorizerEvent) => Promise<unknown>;
  /** Default: `invoke` from local/lambda/runtime.ts. */
  invoke?: Invoke;
  /** Default: LIMITS.wsIdleTimeoutSeconds × 1000 (10 minutes). */
  idleTimeoutMs?: number;
  /** Default: LIMITS.wsMaxConnectionSeconds × 1000 (2 hours). */
  maxDurationMs?: number;
  /** Largest client message; larger closes the socket with 1009. Default: LIMITS.wsMessageMaxBytes. */
  maxMessageBytes?: number;
  /** Largest PostToConnection payload. Default: LIMITS.wsMessageMaxBytes. */
  maxPostBytes?: number;
  /** How often idle and maximum-duration expiry is checked. Default: a quarter of the shorter timeout, 10 ms–1 s. */
  sweepIntervalMs?: number;
  /** Default: LOCAL.region (used in the authorizer's methodArn). */
  region?: string;
  /** Default: a random 10-character id. */
  apiId?: string;
  /** Default: warnings and errors to stderr. */
  logger?: LocalLogger;
  /** Fault injection on @connections POSTs (fault tests only). Default: none. */
  faults?: ManagementFaults;
  /** IAM check of @connections calls (see createManagementApi). Default: none. */
  authorizeManagement?: (request: ManagementRequest) => ManagementRefusal | undefined;
}

export interface WebSocketApiStats extends ManagementStats {
  connected: number;
  disconnected: number;
  messagesIn: number;
  /** Route responses sent back to clients. */
  routeResponses: number;
}

export interface WebSocketApi {
  /** `ws://127.0.0.1:<port>`; the handshake is accepted on `/` and on `/<stage>`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>/<stage>`: WS_MANAGEMENT_ENDPOINT for the AWS SDK. */
  readonly managementEndpoint: string;
  readonly port: number;
  /** Open connections. */
  connections(): number;
  stats(): WebSocketApiStats;
  /** Closes every connection (1001, with `$disconnect`), then the server. */
  close(): Promise<void>;
}

/** API Gateway closes idle and expired connections with 1001 "Going away". */
const GOING_AWAY = 1001;
const CLOSE_GRACE_MS = 1000;

function rejectHandshake(socket: Socket, status: number, body?: string): void {
  if (socket.destroyed) return;
  const payload = body ?? JSON.stringify({ message: STATUS_CODES[status] ?? 'Error' });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
}

/** The same checks `ws` makes, done before any Lambda runs so a bad handshake costs no `$connect`. */
function isValidUpgrade(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    (version === '13' || version === '8')
  );
}

/** Identity sources must all be present and non-empty, or API Gateway answers 401 without calling the authorizer. */
function identityPresent(identitySource: string, req: IncomingMessage, rawQueryString: string): boolean {
  const query = queryMaps(rawQueryString)?.queryStringParameters ?? {};
  return identitySource.split(',').every((source) => {
    const [, kind, name] = /^route\.request\.(querystring|header)\.(.+)$/.exec(source.trim()) ?? [];
    if (!kind || !name) return false;
    const value = kind === 'querystring' ? query[name] : req.headers[name.toLowerCase()];
    return typeof value === 'string' ? value.length > 0 : Array.isArray(value) && value.length > 0;
  });
}

function statusCodeOf(result: unknown): number {
  if (typeof result === 'object' && result !== null && 'statusCode' in result && typeof result.statusCode === 'number') {
    return result.statusCode;
  }
  return 200;
}

function headerOf(result: unknown, name: string): string | undefined {
  if (typeof result !== 'object' || result === null || !('headers' in result)) return undefined;
  const headers = result.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return entry && typeof entry[1] === 'string' ? entry[1] : undefined;
}

function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Emulates an API Gateway WebSocket API: the `$connect` REQUEST authorizer and
 * route, route selection on the message body with route responses,
 * `$disconnect`, idle/maximum-duration timeouts, the frame size limit, and the
 * `@connections` management API on the same port.
 */
export async function startWebSocketApi(options: WebSocketApiOptions): Promise<WebSocketApi> {
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? LOCAL.stage;
  const routes: Readonly<Record<string, FunctionName>> = options.routes ?? WS_ROUTES;
  const invoke = options.invoke ?? runtimeInvoke;
  const authorizer = options.authorizer === undefined ? WS_AUTHORIZER : options.authorizer;
  const authorize =
    options.authorize ?? (authorizer ? (event: WebSocketAuthorizerEvent) => invoke(authorizer.fn, event) : undefined);
  const idleTimeoutMs = options.idleTimeoutMs ?? LIMITS.wsIdleTimeoutSeconds * 1000;
  const maxDurationMs = options.maxDurationMs ?? LIMITS.wsMaxConnectionSeconds * 1000;
  const sweepIntervalMs =
    options.sweepIntervalMs ?? Math.min(1000, Math.max(10, Math.floor(Math.min(idleTimeoutMs, maxDurationMs) / 4)));
  const region = options.region ?? LOCAL.region;
  const apiId = options.apiId ?? newApiId();
  const logger = options.logger ?? gatewayLogger;
  const selectRoute = createRouteSelector(options.routeSelectionExpression ?? WS_ROUTE_SELECTION_EXPRESSION, Object.keys(routes));

  const registry = new ConnectionRegistry();
  const inFlight = new Set<Promise<unknown>>();
  const finished = new WeakSet<ConnectionFacts>();
  const protocols = new WeakMap<IncomingMessage, string>();
  const counters = { connected: 0, disconnected: 0, messagesIn: 0, routeResponses: 0 };
  let closing = false;
  let port = options.port;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes ?? LIMITS.wsMessageMaxBytes,
    // API Gateway does not negotiate permessage-deflate; it would also cost memory per socket.
    perMessageDeflate: false,
    clientTracking: false,
    // A subprotocol is accepted only when `$connect` returned it in Sec-WebSocket-Protocol, as on AWS.
    handleProtocols: (_offered, req) => protocols.get(req) ?? false,
  });

  /** Starts the close handshake; `$disconnect` runs when the socket has closed. */
  function closeConnection(connection: Connection, code: number, reason: string): void {
    if (connection.closeCode !== undefined) return;
    connection.closeCode = code;
    connection.closeReason = reason;
    connection.socket.close(code, reason);
  }

  /** Exactly one best-effort `$disconnect` per connection, however it ended. */
  function finish(connection: ConnectionFacts, statusCode: number, reason: string): void {
    if (finished.has(connection)) return;
    finished.add(connection);
    registry.remove(connection.connectionId);
    counters.disconnected++;
    const fn = routes.$disconnect;
    if (!fn) return;
    const event = buildDisconnectEvent(connection, {
      statusCode,
      reason,
      requestId: newGatewayId(),
      requestTimeEpoch: Date.now(),
    });
    track(invoke(fn, event)).catch((error: unknown) =>
      logger.warn('$disconnect failed', { connectionId: connection.connectionId, error: String(error) }),
    );
  }

  async function onMessage(connection: Connection, data: RawData, isBinary: boolean): Promise<void> {
    const requestTimeEpoch = Date.now();
    connection.lastActiveAt = requestTimeEpoch;
    counters.messagesIn++;
    // API Gateway WebSocket APIs do not accept binary frames from clients: they
    // disconnect the client with 1003, and no route runs. See "Binary media types
    // for WebSocket APIs in API Gateway".
    if (isBinary) {
      closeConnection(connection, 1003, 'Binary frames are not supported');
      return;
    }
    const body = rawDataToBuffer(data).toString('utf8');
    const routeKey = selectRoute(body);
    const requestId = newGatewayId();
    const send = (frame: string): void => {
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(frame);
    };
    const fn = routes[routeKey];
    if (!fn) {
      // No matching route and no $default: API Gateway answers the sender with "Forbidden".
      send(JSON.stringify({ message: 'Forbidden', connectionId: connection.connectionId, requestId }));
      return;
    }
    const event = buildMessageEvent(connection, {
      routeKey,
      body,
      isBase64Encoded: false,
      messageId: newGatewayId(),
      requestId,
      requestTimeEpoch,
    });
    let result: unknown;
    try {
      result = await invoke(fn, event);
    } catch (error) {
      logger.error('WebSocket route failed', { routeKey, connectionId: connection.connectionId, error: String(error) });
      send(JSON.stringify({ message: 'Internal server error', connectionId: connection.connectionId, requestId }));
      return;
    }
    // Two-way route: the integration's `body` goes back to the sender as the route response.
    const reply = typeof result === 'object' && result !== null && 'body' in result ? result.body : undefined;
    if (typeof reply === 'string' && reply.length > 0) {
      counters.routeResponses++;
      send(reply);
    }
  }

  function attach(connection: Connection): void {
    const { socket } = connection;
    registry.add(connection);
    counters.connected++;
    socket.on('message', (data, isBinary) => {
      track(onMessage(connection, data, isBinary)).catch((error: unknown) =>
        logger.error('WebSocket message handling failed', { error: String(error) }),
      );
    });
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already sent close 1009 for an oversize frame, as API Gateway does.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && connection.closeCode === undefined) {
        connection.closeCode = 1009;
        connection.closeReason = 'Message too big';
      }
      logger.debug('WebSocket error', { connectionId: connection.connectionId, error: error.message });
    });
    socket.on('close', (code, reason) => {
      finish(connection, connection.closeCode ?? code, connection.closeReason ?? reason.toString('utf8'));
    });
  }

  async function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const rawQueryString = queryAt < 0 ? '' : url.slice(queryAt + 1);
    if (closing) return rejectHandshake(socket, 503);
    if (!['/', `/${stage}`, `/${stage}/`].includes(rawPath)) return rejectHandshake(socket, 403);
    if (!isValidUpgrade(req)) return rejectHandshake(socket, 400);

    const now = Date.now();
    const { domainName } = domainOf(req.headers, `${host}:${port}`);
    const facts: HandshakeFacts = {
      connectionId: newGatewayId(),
      connectedAt: now,
      identity: { sourceIp: sourceIpOf(socket), userAgent: req.headers['user-agent'] ?? '' },
      domainName,
      stage,
      apiId,
      rawHeaders: req.rawHeaders,
      rawQueryString,
      requestId: newGatewayId(),
      requestTimeEpoch: now,
      region,
      accountId: LOCAL_ACCOUNT_ID,
    };

    let handshake: HandshakeFacts = facts;
    if (authorizer && authorize) {
      if (!identityPresent(authorizer.identitySource, req, rawQueryString)) {
        return rejectHandshake(socket, 401, JSON.stringify({ message: 'Unauthorized' }));
      }
      const event = buildAuthorizerEvent(facts);
      const started = Date.now();
      let decision: ReturnType<typeof evaluateAuthorizerResult>;
      try {
        decision = evaluateAuthorizerResult(await authorize(event), event.methodArn);
      } catch (error) {
        // A Lambda authorizer signals 401 by failing with exactly "Unauthorized".
        if (!(error instanceof AuthorizerConfigurationError) && (error as Error)?.message === 'Unauthorized') {
          return rejectHandshake(socket, 401, JSON.stringify({ message: 'Unauthorized' }));
        }
        logger.error('WebSocket authorizer failed', { connectionId: facts.connectionId, error: String(error) });
        return rejectHandshake(socket, 500, JSON.stringify({ message: 'Internal server error' }));
      }
      if (decision.effect === 'Deny') return rejectHandshake(socket, 403, JSON.stringify({ message: 'Forbidden' }));
      handshake = { ...facts, authorizer: authorizerContext(decision, Date.now() - started) };
    }
    // The client gave up while the authorizer ran: nothing was connected yet.
    if (socket.destroyed) return;

    const connectFn = routes.$connect;
    let connectResult: unknown;
    if (connectFn) {
      try {
        connectResult = await invoke(connectFn, buildConnectEvent(handshake));
      } catch (error) {
        logger.error('$connect failed', { connectionId: facts.connectionId, error: String(error) });
        return rejectHandshake(socket, 500, JSON.stringify({ message: 'Internal server error' }));
      }
      const status = statusCodeOf(connectResult);
      if (status < 200 || status > 299) {
        const body =
          typeof connectResult === 'object' && connectResult !== null && 'body' in connectResult ? connectResult.body : undefined;
        return rejectHandshake(socket, status, typeof body === 'string' ? body : undefined);
      }
    }

    const connectionFacts = connectionFactsOf(handshake);
    // `$connect` succeeded but the client left before the upgrade: AWS still sends `$disconnect`.
    const finishAbandoned = (): void => finish(connectionFacts, 1006, '');
    if (socket.destroyed || closing) return finishAbandoned();

    const protocol = headerOf(connectResult, 'sec-websocket-protocol');
    if (protocol) protocols.set(req, protocol);
    let upgraded = false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      attach({ ...connectionFacts, socket: ws, lastActiveAt: Date.now() });
    });
    if (!upgraded) finishAbandoned();
  }

  const server = createServer();
  const management = createManagementApi({
    stage,
    registry,
    disconnect: (connection) => closeConnection(connection, 1000, ''),
    ...(options.maxPostBytes !== undefined ? { maxPayloadBytes: options.maxPostBytes } : {}),
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.authorizeManagement ? { authorize: options.authorizeManagement } : {}),
    logger,
  });

  server.on('request', (req, res) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const connectionId = management.match(queryAt < 0 ? url : url.slice(0, queryAt));
    if (connectionId === undefined) {
      req.resume();
      sendJson(res, 426, { message: 'Upgrade Required' }, { upgrade: 'websocket' });
      return;
    }
    management.handle(req, res, connectionId).catch((error: unknown) => {
      logger.error('@connections request failed', { error: String(error) });
      sendJson(res, 500, { message: 'Internal server error' }, { 'x-amzn-ErrorType': 'InternalServerErrorException' });
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Until ws takes over, a reset from the client must not crash the process.
    const ignore = (): void => undefined;
    socket.on('error', ignore);
    track(handleUpgrade(req, socket, head))
      .catch((error: unknown) => {
        logger.error('WebSocket handshake failed', { error: String(error) });
        rejectHandshake(socket, 500);
      })
      .finally(() => socket.off('error', ignore));
  });

  port = await listen(server, options.port, host);

  const sweeper = setInterval(() => {
    for (const [connection] of registry.expired(Date.now(), idleTimeoutMs, maxDurationMs)) {
      closeConnection(connection, GOING_AWAY, 'Going away');
    }
  }, sweepIntervalMs);
  sweeper.unref();

  const httpOrigin = originOf('http', host, port);
  return {
    url: originOf('ws', host, port),
    managementEndpoint: `${httpOrigin}/${stage}`,
    port,
    connections: () => registry.size,
    stats: () => ({ ...counters, ...management.stats(), open: registry.size, socketsPerUser: socketsPerUser(registry) }),
    async close() {
      closing = true;
      clearInterval(sweeper);
      const open = [...registry];
      for (const connection of open) closeConnection(connection, GOING_AWAY, 'Going away');
      const allClosed = async (): Promise<void> => {
        const deadline = Date.now() + CLOSE_GRACE_MS;
        while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      };
      await allClosed();
      // Clients that do not answer the close frame in time are cut off; their 'close' still runs $disconnect.
      for (const connection of [...registry]) connection.socket.terminate();
      await allClosed();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await new Promise<void>((resolve) => {
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * How many users hold 1, 2, 3, 4 and 5 or more open sockets (the operations
 * page's histogram): counts only, never a user id.
 */
export function socketsPerUser(
  connections: Iterable<{ authorizer?: { principalId?: unknown } }>,
): Record<'1' | '2' | '3' | '4' | '5+', number> {
  const perUser = new Map<unknown, number>();
  for (const connection of connections) {
    const user = connection.authorizer?.principalId;
    perUser.set(user, (perUser.get(user) ?? 0) + 1);
  }
  const histogram = { '1': 0, '2': 0, '3': 0, '4': 0, '5+': 0 };
  for (const count of perUser.values()) histogram[count >= 5 ? '5+' : (String(count) as '1' | '2' | '3' | '4')]++;
  return histogram;
}
