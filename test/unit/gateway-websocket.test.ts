import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../../local/shared/logger.js';
import { type Invoke } from '../../local/gateway/shared/types.js';
import type {
  WebSocketAuthorizerEvent,
  WebSocketConnectEvent,
  WebSocketDisconnectEvent,
  WebSocketMessageEvent,
} from '../../local/gateway/websocket/event-builders.js';
import { startWebSocketApi, type WebSocketApi, type WebSocketApiOptions } from '../../local/gateway/websocket/websocket-api.js';
import type { FunctionName } from '../../lib/definitions.js';

type Handler = (event: never) => unknown;

/** Fake Lambdas: records every invocation; the authorizer allows `good`, throws for `bad`, denies `deny`. */
function fakeLambdas(overrides: Partial<Record<FunctionName, Handler>> = {}) {
  const calls: { fn: FunctionName; event: unknown }[] = [];
  const handlers: Partial<Record<FunctionName, Handler>> = {
    wsAuthorizer: (event: WebSocketAuthorizerEvent) => {
      const token = event.queryStringParameters.token;
      if (token === 'bad') throw new Error('Unauthorized');
      return {
        principalId: 'user-1',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: token === 'deny' ? 'Deny' : 'Allow', Resource: event.methodArn }],
        },
        context: { userId: 'user-1' },
      };
    },
    wsConnect: () => ({ statusCode: 200 }),
    wsDisconnect: () => ({ statusCode: 200 }),
    wsDefault: (event: WebSocketMessageEvent) => ({ statusCode: 200, body: JSON.stringify({ echo: event.body }) }),
    ...overrides,
  };
  const invoke: Invoke = async (fn, event) => {
    calls.push({ fn, event });
    const handler = handlers[fn];
    return handler ? handler(event as never) : undefined;
  };
  const eventsOf = <T>(fn: FunctionName): T[] => calls.filter((c) => c.fn === fn).map((c) => c.event as T);
  return { calls, invoke, eventsOf };
}

let api: WebSocketApi | undefined;
const clients: WebSocket[] = [];

async function start(options: Partial<WebSocketApiOptions> & { invoke: Invoke }): Promise<WebSocketApi> {
  api = await startWebSocketApi({ port: 0, logger: silentLogger, ...options });
  return api;
}

/** Opens a client; rejects with the HTTP status when the handshake is refused. */
function open(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode }));
      req.destroy();
    });
    ws.once('error', reject);
  });
}

async function statusOf(url: string): Promise<number> {
  return open(url).then(
    () => 101,
    (error: { status?: number }) => error.status ?? -1,
  );
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())));
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await api?.close();
  api = undefined;
});

describe('WebSocket API emulator', () => {
  describe('handshake', () => {
    it('runs the authorizer, then $connect with its context, and opens the connection', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });

      await open(`${url}/local?token=good`);

      const [auth] = lambdas.eventsOf<WebSocketAuthorizerEvent>('wsAuthorizer');
      const [connect] = lambdas.eventsOf<WebSocketConnectEvent>('wsConnect');
      expect(auth).toMatchObject({
        type: 'REQUEST',
        methodArn: expect.stringMatching(/^arn:aws:execute-api:us-east-1:000000000000:[a-z0-9]{10}\/local\/\$connect$/),
        queryStringParameters: { token: 'good' },
        multiValueQueryStringParameters: { token: ['good'] },
        stageVariables: {},
        requestContext: { routeKey: '$connect', eventType: 'CONNECT', messageDirection: 'IN', stage: 'local' },
      });
      expect(auth!.headers.Upgrade ?? auth!.headers.upgrade).toBe('websocket');
      expect(connect!.requestContext).toMatchObject({
        connectionId: auth!.requestContext.connectionId,
        requestId: auth!.requestContext.requestId,
        authorizer: { principalId: 'user-1', userId: 'user-1', integrationLatency: expect.any(Number) },
        identity: { sourceIp: '127.0.0.1' },
      });
      expect(api!.connections()).toBe(1);
    });

    it('refuses a missing token with 401 without calling the authorizer', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });

      expect(await statusOf(url)).toBe(401);
      expect(await statusOf(`${url}?token=`)).toBe(401);
      expect(lambdas.calls).toEqual([]);
    });

    it('answers 401 when the authorizer fails with Unauthorized, 403 on Deny, 500 on other errors', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });
      const broken = fakeLambdas({ wsAuthorizer: () => ({ principalId: 'x' }) });
      const brokenApi = await startWebSocketApi({ port: 0, logger: silentLogger, invoke: broken.invoke });

      try {
        expect(await statusOf(`${url}?token=bad`)).toBe(401);
        expect(await statusOf(`${url}?token=deny`)).toBe(403);
        expect(await statusOf(`${brokenApi.url}?token=good`)).toBe(500);
        expect(lambdas.eventsOf('wsConnect')).toEqual([]);
        expect(broken.eventsOf('wsConnect')).toEqual([]);
      } finally {
        await brokenApi.close();
      }
    });

    it('refuses the handshake with the status $connect returns, and 500 when it throws', async () => {
      const refusing = fakeLambdas({ wsConnect: () => ({ statusCode: 429, body: 'slow down' }) });
      const { url } = await start({ invoke: refusing.invoke });
      const throwing = fakeLambdas({
        wsConnect: () => {
          throw new Error('boom');
        },
      });
      const throwingApi = await startWebSocketApi({ port: 0, logger: silentLogger, invoke: throwing.invoke });

      try {
        expect(await statusOf(`${url}?token=good`)).toBe(429);
        expect(await statusOf(`${throwingApi.url}?token=good`)).toBe(500);
        expect(refusing.eventsOf('wsDisconnect')).toEqual([]);
        expect(api!.connections()).toBe(0);
      } finally {
        await throwingApi.close();
      }
    });

    it('accepts the subprotocol $connect returns in Sec-WebSocket-Protocol', async () => {
      const lambdas = fakeLambdas({ wsConnect: () => ({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'v2' } }) });
      const { url } = await start({ invoke: lambdas.invoke });

      const ws = await open(`${url}?token=good`, ['v1', 'v2']);

      expect(ws.protocol).toBe('v2');
    });

    it('connects without an authorizer when none is configured', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke, authorizer: null });

      await open(url);

      expect(lambdas.eventsOf('wsAuthorizer')).toEqual([]);
      expect(lambdas.eventsOf<WebSocketConnectEvent>('wsConnect')[0]!.requestContext).not.toHaveProperty('authorizer');
    });

    it('refuses another path than / or /<stage>', async () => {
      const { url } = await start({ invoke: fakeLambdas().invoke });

      expect(await statusOf(`${url}/prod?token=good`)).toBe(403);
    });
  });

  describe('messages', () => {
    it('routes a message to $default with the MESSAGE event and sends the route response back', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);

      ws.send('{"action":"hello"}');
      const reply = await nextMessage(ws);

      expect(JSON.parse(reply)).toEqual({ echo: '{"action":"hello"}' });
      const [message] = lambdas.eventsOf<WebSocketMessageEvent>('wsDefault');
      const [connect] = lambdas.eventsOf<WebSocketConnectEvent>('wsConnect');
      expect(message).toMatchObject({
        body: '{"action":"hello"}',
        isBase64Encoded: false,
        requestContext: {
          routeKey: '$default',
          eventType: 'MESSAGE',
          messageId: expect.stringMatching(/^[A-Za-z0-9]{15}=$/),
          connectionId: connect!.requestContext.connectionId,
          connectedAt: connect!.requestContext.connectedAt,
          authorizer: { principalId: 'user-1', userId: 'user-1' },
        },
      });
      expect(message!.requestContext.requestId).not.toBe(connect!.requestContext.requestId);
    });

    it('selects a custom route by action and sends other messages to $default', async () => {
      const lambdas = fakeLambdas({ broadcaster: () => ({ statusCode: 200, body: 'custom' }) });
      const { url } = await start({
        invoke: lambdas.invoke,
        routes: { $connect: 'wsConnect', $disconnect: 'wsDisconnect', $default: 'wsDefault', hello: 'broadcaster' },
      });
      const ws = await open(`${url}?token=good`);

      ws.send('{"action":"hello"}');
      const custom = await nextMessage(ws);
      ws.send('not json');
      const fallback = await nextMessage(ws);

      expect(custom).toBe('custom');
      expect(JSON.parse(fallback)).toEqual({ echo: 'not json' });
      expect(lambdas.eventsOf<WebSocketMessageEvent>('broadcaster')[0]!.requestContext.routeKey).toBe('hello');
    });

    it('closes with 1003 on a binary frame without running a route, as API Gateway does', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);
      const closing = closed(ws);

      ws.send(Buffer.from('{"action":"ping"}'), { binary: true });

      expect((await closing).code).toBe(1003);
      await waitFor(() => lambdas.eventsOf('wsDisconnect').length === 1);
      expect(lambdas.eventsOf<WebSocketDisconnectEvent>('wsDisconnect')[0]!.requestContext.disconnectStatusCode).toBe(1003);
      expect(lambdas.eventsOf('wsDefault')).toEqual([]);
    });

    it('answers a failing route with AWS’s error frame and keeps the connection open', async () => {
      const lambdas = fakeLambdas({
        wsDefault: () => {
          throw new Error('secret detail');
        },
      });
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);

      ws.send('{"action":"ping"}');
      const frame = JSON.parse(await nextMessage(ws));

      expect(frame).toEqual({
        message: 'Internal server error',
        connectionId: expect.any(String),
        requestId: expect.any(String),
      });
      expect(ws.readyState).toBe(WebSocket.OPEN);
    });

    it('sends nothing back when the route returns no body', async () => {
      const lambdas = fakeLambdas({ wsDefault: () => ({ statusCode: 200 }) });
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);
      const received: string[] = [];
      ws.on('message', (data) => received.push(data.toString()));

      ws.send('{"action":"ping"}');
      await waitFor(() => lambdas.eventsOf('wsDefault').length === 1);
      await new Promise((r) => setTimeout(r, 30));

      expect(received).toEqual([]);
    });

    it('closes with 1009 on a message over the limit and reports it to $disconnect', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke, maxMessageBytes: 1024 });
      const ws = await open(`${url}?token=good`);
      const closing = closed(ws);

      ws.send('x'.repeat(1025));

      expect((await closing).code).toBe(1009);
      await waitFor(() => lambdas.eventsOf('wsDisconnect').length === 1);
      expect(lambdas.eventsOf<WebSocketDisconnectEvent>('wsDisconnect')[0]!.requestContext.disconnectStatusCode).toBe(1009);
      expect(lambdas.eventsOf('wsDefault')).toEqual([]);
    });
  });

  describe('timeouts and $disconnect', () => {
    it('closes an idle connection with 1001 Going away and invokes $disconnect once', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke, idleTimeoutMs: 150, sweepIntervalMs: 20 });
      const ws = await open(`${url}?token=good`);

      const { code, reason } = await closed(ws);

      expect(code).toBe(1001);
      expect(reason).toBe('Going away');
      await waitFor(() => lambdas.eventsOf('wsDisconnect').length === 1);
      await new Promise((r) => setTimeout(r, 60));
      const disconnects = lambdas.eventsOf<WebSocketDisconnectEvent>('wsDisconnect');
      expect(disconnects).toHaveLength(1);
      expect(disconnects[0]!.requestContext).toMatchObject({
        eventType: 'DISCONNECT',
        disconnectStatusCode: 1001,
        disconnectReason: 'Going away',
        authorizer: { principalId: 'user-1' },
      });
      expect(api!.connections()).toBe(0);
    });

    it('keeps a connection that sends messages inside the idle timeout', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke, idleTimeoutMs: 400, sweepIntervalMs: 20 });
      const ws = await open(`${url}?token=good`);
      const started = Date.now();

      // Outlive the idle timeout by a margin, with a message every 50 ms.
      while (Date.now() - started < 600) {
        ws.send('{"action":"ping"}');
        await new Promise((r) => setTimeout(r, 50));
      }

      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(lambdas.eventsOf('wsDisconnect')).toEqual([]);
    });

    it('closes a connection at the maximum duration even when it is active', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke, maxDurationMs: 200, sweepIntervalMs: 20 });
      const ws = await open(`${url}?token=good`);
      const keepAlive = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"action":"ping"}'), 30);

      try {
        expect((await closed(ws)).code).toBe(1001);
      } finally {
        clearInterval(keepAlive);
      }
    });

    it('invokes $disconnect once with the client’s close code and reason', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);

      ws.close(1000, 'bye');
      await waitFor(() => lambdas.eventsOf('wsDisconnect').length === 1);
      await new Promise((r) => setTimeout(r, 30));

      const disconnects = lambdas.eventsOf<WebSocketDisconnectEvent>('wsDisconnect');
      expect(disconnects).toHaveLength(1);
      expect(disconnects[0]!.requestContext).toMatchObject({ disconnectStatusCode: 1000, disconnectReason: 'bye' });
      expect(api!.connections()).toBe(0);
    });

    it('reports an abrupt client drop as 1006', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });
      const ws = await open(`${url}?token=good`);

      ws.terminate();
      await waitFor(() => lambdas.eventsOf('wsDisconnect').length === 1);

      expect(lambdas.eventsOf<WebSocketDisconnectEvent>('wsDisconnect')[0]!.requestContext.disconnectStatusCode).toBe(1006);
    });

    it('closes every connection with 1001 and runs their $disconnect when the API closes', async () => {
      const lambdas = fakeLambdas();
      const started = await start({ invoke: lambdas.invoke });
      const sockets = await Promise.all([open(`${started.url}?token=good`), open(`${started.url}?token=good`)]);
      const closes = sockets.map(closed);

      await started.close();
      api = undefined;

      expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1001, 1001]);
      expect(lambdas.eventsOf('wsDisconnect')).toHaveLength(2);
    });

    it('does not report the authorizer or $connect as a disconnect when the handshake is refused', async () => {
      const lambdas = fakeLambdas();
      const { url } = await start({ invoke: lambdas.invoke });

      await statusOf(`${url}?token=deny`);

      expect(lambdas.eventsOf('wsDisconnect')).toEqual([]);
      expect(api!.stats()).toMatchObject({ connected: 0, disconnected: 0 });
    });
  });
});
