import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { silentLogger } from '../../local/shared/logger.js';
import { type Invoke } from '../../local/gateway/shared/types.js';
import type { WebSocketConnectEvent } from '../../local/gateway/websocket/event-builders.js';
import { startWebSocketApi, type WebSocketApi } from '../../local/gateway/websocket/websocket-api.js';

let api: WebSocketApi | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await api?.close();
  api = undefined;
});

/** One open connection on an emulator whose POSTs fail when `random()` is below `postErrorRate`. */
async function setup(postErrorRate: number, random: () => number, maxAttempts: number) {
  const connectionIds: string[] = [];
  const invoke: Invoke = async (fn, event) => {
    if (fn === 'wsConnect') connectionIds.push((event as WebSocketConnectEvent).requestContext.connectionId);
    return { statusCode: 200 };
  };
  api = await startWebSocketApi({ port: 0, logger: silentLogger, invoke, authorizer: null, faults: { postErrorRate, random } });
  const ws = new WebSocket(api.url);
  clients.push(ws);
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: api.managementEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts,
  });
  return { sdk, frames, connectionId: connectionIds[0]!, api };
}

const post = (sdk: ApiGatewayManagementApiClient, connectionId: string, data: string) =>
  sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })).then(
    () => 'delivered',
    (error: Error) => error.name,
  );

describe('@connections fault injection (fault tests only)', () => {
  it('fails the chosen posts with 429 LimitExceededException and 500 alternately, without delivering them', async () => {
    const { sdk, frames, connectionId, api } = await setup(0.5, () => 0.1, 1);

    const outcomes = [await post(sdk, connectionId, 'one'), await post(sdk, connectionId, 'two')];

    expect(outcomes).toEqual(['LimitExceededException', 'InternalServerErrorException']);
    await new Promise((r) => setTimeout(r, 50));
    expect(frames).toEqual([]);
    expect(api.stats()).toMatchObject({ injectedFaults: 2, posts: 0 });
  });

  it('lets the SDK retry an injected failure and deliver the frame once', async () => {
    // Fail the first attempt of each post, pass the retry.
    let call = 0;
    const { sdk, frames, connectionId, api } = await setup(0.5, () => (call++ % 2 === 0 ? 0 : 1), 3);

    expect(await post(sdk, connectionId, 'hello')).toBe('delivered');

    await new Promise((r) => setTimeout(r, 50));
    expect(frames).toEqual(['hello']);
    expect(api.stats()).toMatchObject({ injectedFaults: 1, posts: 1 });
  });

  it('never fails a post when no fault rate is given', async () => {
    const { sdk, connectionId, api } = await setup(0, () => 0, 1);

    expect(await post(sdk, connectionId, 'x')).toBe('delivered');
    expect(api.stats().injectedFaults).toBe(0);
  });
});
