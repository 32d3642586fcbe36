import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  AuthorizerConfigurationError,
  authorizerContext,
  evaluateAuthorizerResult,
} from '../../local/gateway/websocket/authorizer-policy.js';
import { ConnectionRegistry, type Connection } from '../../local/gateway/websocket/connection-registry.js';
import {
  buildAuthorizerEvent,
  buildConnectEvent,
  buildDisconnectEvent,
  buildMessageEvent,
  type HandshakeFacts,
} from '../../local/gateway/websocket/event-builders.js';
import { createRouteSelector } from '../../local/gateway/websocket/route-selection.js';
import { WS_ROUTE_SELECTION_EXPRESSION, WS_ROUTES } from '../../lib/definitions.js';

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const ARN = 'arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local/$connect';

function handshake(overrides: Partial<HandshakeFacts> = {}): HandshakeFacts {
  return {
    connectionId: 'CONN0000000000A=',
    connectedAt: T0,
    identity: { sourceIp: '127.0.0.1', userAgent: 'ua' },
    domainName: '127.0.0.1:3002',
    stage: 'local',
    apiId: 'abcdef1234',
    rawHeaders: ['Host', '127.0.0.1:3002', 'Sec-WebSocket-Version', '13', 'X-Multi', 'a', 'X-Multi', 'b'],
    rawQueryString: 'token=abc.def&x=1&x=2',
    requestId: 'REQ000000000000=',
    requestTimeEpoch: T0,
    region: 'us-east-1',
    accountId: '000000000000',
    ...overrides,
  };
}

function policy(effect: string, resource: string | string[] = ARN, action: string | string[] = 'execute-api:Invoke') {
  return {
    principalId: 'user-1',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: action, Effect: effect, Resource: resource }] },
  };
}

describe('WebSocket event builders', () => {
  it('builds the $connect REQUEST authorizer event', () => {
    expect(buildAuthorizerEvent(handshake())).toEqual({
      type: 'REQUEST',
      methodArn: ARN,
      headers: { Host: '127.0.0.1:3002', 'Sec-WebSocket-Version': '13', 'X-Multi': 'b' },
      multiValueHeaders: { Host: ['127.0.0.1:3002'], 'Sec-WebSocket-Version': ['13'], 'X-Multi': ['a', 'b'] },
      queryStringParameters: { token: 'abc.def', x: '2' },
      multiValueQueryStringParameters: { token: ['abc.def'], x: ['1', '2'] },
      stageVariables: {},
      requestContext: {
        routeKey: '$connect',
        eventType: 'CONNECT',
        extendedRequestId: 'REQ000000000000=',
        requestTime: '27/Nov/2026:10:00:00 +0000',
        messageDirection: 'IN',
        stage: 'local',
        connectedAt: T0,
        requestTimeEpoch: T0,
        identity: { sourceIp: '127.0.0.1', userAgent: 'ua' },
        requestId: 'REQ000000000000=',
        domainName: '127.0.0.1:3002',
        connectionId: 'CONN0000000000A=',
        apiId: 'abcdef1234',
      },
    });
  });

  it('builds the CONNECT event with the authorizer context', () => {
    const authorizer = { principalId: 'user-1', integrationLatency: 12, userId: 'user-1' };
    const event = buildConnectEvent(handshake({ authorizer }));

    expect(event.requestContext).toMatchObject({ routeKey: '$connect', eventType: 'CONNECT', authorizer });
    expect(event.queryStringParameters).toEqual({ token: 'abc.def', x: '2' });
    expect(event.isBase64Encoded).toBe(false);
  });

  it('omits the query fields of a CONNECT event without a query string', () => {
    const event = buildConnectEvent(handshake({ rawQueryString: '' }));

    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('multiValueQueryStringParameters');
    expect(event.requestContext).not.toHaveProperty('authorizer');
  });

  it('builds the MESSAGE event with messageId and the connection’s authorizer', () => {
    const connection = { ...handshake(), authorizer: { principalId: 'p', integrationLatency: 1, userId: 'u' } };
    const event = buildMessageEvent(connection, {
      routeKey: '$default',
      body: '{"action":"ping"}',
      isBase64Encoded: false,
      messageId: 'MSG',
      requestId: 'REQ2',
      requestTimeEpoch: T0 + 1000,
    });

    expect(event).toEqual({
      requestContext: {
        routeKey: '$default',
        messageId: 'MSG',
        eventType: 'MESSAGE',
        extendedRequestId: 'REQ2',
        requestTime: '27/Nov/2026:10:00:01 +0000',
        messageDirection: 'IN',
        stage: 'local',
        connectedAt: T0,
        requestTimeEpoch: T0 + 1000,
        identity: { sourceIp: '127.0.0.1', userAgent: 'ua' },
        requestId: 'REQ2',
        domainName: '127.0.0.1:3002',
        connectionId: 'CONN0000000000A=',
        apiId: 'abcdef1234',
        authorizer: { principalId: 'p', integrationLatency: 1, userId: 'u' },
      },
      body: '{"action":"ping"}',
      isBase64Encoded: false,
    });
  });

  it('builds the DISCONNECT event with the close code and reason', () => {
    const event = buildDisconnectEvent(handshake(), {
      statusCode: 1001,
      reason: 'Going away',
      requestId: 'R3',
      requestTimeEpoch: T0,
    });

    expect(event.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
      connectionId: 'CONN0000000000A=',
    });
    expect(event.headers).toEqual({ Host: '127.0.0.1:3002', 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' });
    expect(event.multiValueHeaders.Host).toEqual(['127.0.0.1:3002']);
  });
});

describe('evaluateAuthorizerResult', () => {
  it('allows a matching Allow statement and keeps the context', () => {
    const decision = evaluateAuthorizerResult({ ...policy('Allow'), context: { userId: 'user-1', n: 1, ok: true } }, ARN);

    expect(decision).toEqual({ effect: 'Allow', principalId: 'user-1', context: { userId: 'user-1', n: 1, ok: true } });
    expect(authorizerContext(decision as Extract<typeof decision, { effect: 'Allow' }>, 7)).toEqual({
      userId: 'user-1',
      n: 1,
      ok: true,
      principalId: 'user-1',
      integrationLatency: 7,
    });
  });

  it('matches wildcard resources and actions', () => {
    expect(evaluateAuthorizerResult(policy('Allow', 'arn:aws:execute-api:*:*:abcdef1234/*'), ARN).effect).toBe('Allow');
    expect(evaluateAuthorizerResult(policy('Allow', ARN, 'execute-api:*'), ARN).effect).toBe('Allow');
  });

  it('denies on an explicit Deny, even next to an Allow', () => {
    const both = policy('Allow');
    both.policyDocument.Statement.push({ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: ARN });

    expect(evaluateAuthorizerResult(policy('Deny'), ARN)).toEqual({ effect: 'Deny' });
    expect(evaluateAuthorizerResult(both, ARN)).toEqual({ effect: 'Deny' });
  });

  it('denies implicitly when no statement covers the method ARN', () => {
    expect(evaluateAuthorizerResult(policy('Allow', 'arn:aws:execute-api:us-east-1:000000000000:other/*'), ARN)).toEqual({
      effect: 'Deny',
    });
  });

  it('refuses a result without a policy or with an object in the context', () => {
    expect(() => evaluateAuthorizerResult({ principalId: 'x' }, ARN)).toThrow(AuthorizerConfigurationError);
    expect(() => evaluateAuthorizerResult({ ...policy('Allow'), context: { nested: { a: 1 } } }, ARN)).toThrow(
      AuthorizerConfigurationError,
    );
  });
});

describe('createRouteSelector', () => {
  it('sends everything to $default when only predefined routes exist', () => {
    const select = createRouteSelector(WS_ROUTE_SELECTION_EXPRESSION, Object.keys(WS_ROUTES));

    expect(select('{"action":"hello"}')).toBe('$default');
    expect(select('{"action":"$connect"}')).toBe('$default');
  });

  it('selects a custom route by $request.body.action and falls back to $default', () => {
    const select = createRouteSelector('$request.body.action', ['$default', 'hello']);

    expect(select('{"action":"hello"}')).toBe('hello');
    expect(select('{"action":"other"}')).toBe('$default');
    expect(select('not json')).toBe('$default');
    expect(select('["hello"]')).toBe('$default');
    expect(select(undefined)).toBe('$default');
  });
});

describe('ConnectionRegistry', () => {
  function connection(id: string, connectedAt: number, lastActiveAt: number): Connection {
    return { ...handshake(), connectionId: id, connectedAt, lastActiveAt, socket: {} as WebSocket };
  }

  it('reports idle and over-age connections in one sweep', () => {
    const registry = new ConnectionRegistry();
    registry.add(connection('fresh', 0, 900));
    registry.add(connection('idle', 0, 100));
    registry.add(connection('old', -5000, 950));

    const expired = [...registry.expired(1000, 500, 4000)].map(([c, reason]) => [c.connectionId, reason]);

    expect(expired).toEqual([
      ['idle', 'idle'],
      ['old', 'max-duration'],
    ]);
  });

  it('skips connections the gateway is already closing', () => {
    const registry = new ConnectionRegistry();
    const closing = connection('closing', 0, 0);
    closing.closeCode = 1001;
    registry.add(closing);

    expect([...registry.expired(10_000, 1, 1)]).toEqual([]);
  });
});
