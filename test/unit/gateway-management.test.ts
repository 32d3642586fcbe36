import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../../local/shared/logger.js';
import { type Invoke } from '../../local/gateway/shared/types.js';
import type { WebSocketConnectEvent, WebSocketDisconnectEvent } from '../../local/gateway/websocket/event-builders.js';
import { startWebSocketApi, type WebSocketApi } from '../../local/gateway/websocket/websocket-api.js';
import type { FunctionName } from '../../lib/definitions.js';

/** No authorizer here; records $connect/$disconnect so tests learn connection ids. */
function recorder() {
  const calls: { fn: FunctionName; event: unknown }[] = [];
  const invoke: Invoke = async (fn, event) => {
    calls.push({ fn, event });
    return { statusCode: 200 };
  };
  const connectionIds = () =>
    calls.filter((c) => c.fn === 'wsConnect').map((c) => (c.event as WebSocketConnectEvent).requestContext.connectionId);
  const disconnects = () => calls.filter((c) => c.fn === 'wsDisconnect').map((c) => c.event as WebSocketDisconnectEvent);
  return { invoke, connectionIds, disconnects };
}

let api: WebSocketApi | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await api?.close();
  api = undefined;
});

async function setup(maxPostBytes?: number) {
  const lambdas = recorder();
  api = await startWebSocketApi({
    port: 0,
    logger: silentLogger,
    invoke: lambdas.invoke,
    authorizer: null,
    ...(maxPostBytes ? { maxPostBytes } : {}),
  });
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: api.managementEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const ws = new WebSocket(api.url);
  clients.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const connectionId = lambdas.connectionIds()[0]!;
  return { lambdas, sdk, ws, connectionId, api };
}

async function nameOfRejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: Error) => error.name,
  );
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('@connections management API', () => {
  it('names the management endpoint after the stage', async () => {
    const { api } = await setup();

    expect(api.managementEndpoint).toBe(`http://127.0.0.1:${api.port}/local`);
  });

  it('delivers PostToConnection data to the socket as a text frame', async () => {
    const { sdk, ws, connectionId, api } = await setup();
    const received = new Promise<{ data: string; isBinary: boolean }>((resolve) =>
      ws.once('message', (data, isBinary) => resolve({ data: data.toString(), isBinary })),
    );

    const output = await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"PONG"}' }));

    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(await received).toEqual({ data: '{"type":"PONG"}', isBinary: false });
    expect(api.stats()).toMatchObject({ posts: 1, postedBytes: 15, gone: 0 });
  });

  it('raises GoneException for an unknown connection id', async () => {
    const { sdk, api } = await setup();

    const name = await nameOfRejection(sdk.send(new PostToConnectionCommand({ ConnectionId: 'NoSuchConnAAAA=', Data: 'x' })));

    expect(name).toBe('GoneException');
    expect(api.stats().gone).toBe(1);
  });

  it('answers GetConnection with connectedAt, identity and lastActiveAt', async () => {
    const { sdk, connectionId } = await setup();
    const before = Date.now();

    const output = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    expect(output.ConnectedAt).toBeInstanceOf(Date);
    expect(output.ConnectedAt!.getTime()).toBeLessThanOrEqual(before);
    expect(output.LastActiveAt).toBeInstanceOf(Date);
    expect(output.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });
  });

  it('closes the socket on DeleteConnection, runs $disconnect once, and is gone afterwards', async () => {
    const { sdk, ws, connectionId, lambdas } = await setup();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const code = await closed;
    await waitFor(() => lambdas.disconnects().length === 1);
    const postAfter = await nameOfRejection(sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })));
    const deleteAgain = await nameOfRejection(sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId })));

    expect(code).toBe(1000);
    expect(lambdas.disconnects()).toHaveLength(1);
    expect(lambdas.disconnects()[0]!.requestContext.connectionId).toBe(connectionId);
    expect(postAfter).toBe('GoneException');
    expect(deleteAgain).toBe('GoneException');
  });

  it('treats a connection that is closing as gone', async () => {
    const { sdk, ws, connectionId } = await setup();
    const closed = new Promise((resolve) => ws.once('close', resolve));

    ws.close();
    await closed;

    expect(await nameOfRejection(sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })))).toBe(
      'GoneException',
    );
  });

  it('raises PayloadTooLargeException for data over 128 KB', async () => {
    const { sdk, connectionId, api } = await setup();

    const name = await nameOfRejection(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array(128 * 1024 + 1).fill(97) })),
    );
    const atLimit = await sdk.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array(128 * 1024).fill(97) }),
    );

    expect(name).toBe('PayloadTooLargeException');
    expect(atLimit.$metadata.httpStatusCode).toBe(200);
    expect(api.stats()).toMatchObject({ tooLarge: 1, posts: 1 });
  });

  it('delivers data that is not UTF-8 as a binary frame', async () => {
    const { sdk, ws, connectionId } = await setup();
    const received = new Promise<boolean>((resolve) => ws.once('message', (_data, isBinary) => resolve(isBinary)));

    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([0xff, 0xfe]) }));

    expect(await received).toBe(true);
  });

  it('answers other HTTP requests on the WebSocket port with 426', async () => {
    const { api } = await setup();

    const res = await fetch(`http://127.0.0.1:${api.port}/local`);

    expect(res.status).toBe(426);
  });
});
