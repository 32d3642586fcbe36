import type { WebSocketAuthorizerEvent as HandlerAuthorizerEvent } from '../../../lambdas/auth/connect-authorizer.js';
import type { WebSocketEvent, WebSocketRequestContext } from '../../../lambdas/connections/websocket-event.js';
import { formatRequestTime } from '../shared/aws-format.js';

/**
 * One builder per event API Gateway WebSocket APIs send to Lambda, each
 * returning exactly the AWS shape (the v1-style proxy format WebSocket APIs
 * use: header names keep their case, `multiValue*` fields, no `version`).
 *
 * The shapes are the handlers' own types (lambdas/connections/websocket-event.ts,
 * lambdas/auth/connect-authorizer.ts), narrowed to what the emulator always
 * sets: one definition, so an event the emulator builds is by construction
 * one the handlers accept.
 */

export type WebSocketIdentity = Required<WebSocketRequestContext['identity']>;

/** `requestContext.authorizer` after a Lambda REQUEST authorizer allowed the connection. */
export type AuthorizerContext = { principalId: string; integrationLatency: number } & Record<string, string | number | boolean>;

/** What API Gateway knows about a connection from its handshake on. */
export interface ConnectionFacts {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly identity: WebSocketIdentity;
  /** Host the client addressed. */
  readonly domainName: string;
  readonly stage: string;
  readonly apiId: string;
  readonly authorizer?: AuthorizerContext;
}

/** The facts a connection keeps after its handshake (nothing request-sized). */
export function connectionFactsOf(facts: ConnectionFacts): ConnectionFacts {
  const { connectionId, connectedAt, identity, domainName, stage, apiId, authorizer } = facts;
  return { connectionId, connectedAt, identity, domainName, stage, apiId, ...(authorizer ? { authorizer } : {}) };
}

export interface HandshakeFacts extends ConnectionFacts {
  /** Node's `req.rawHeaders`. */
  readonly rawHeaders: readonly string[];
  /** Everything after `?` in the handshake URL. */
  readonly rawQueryString: string;
  readonly requestId: string;
  readonly requestTimeEpoch: number;
  readonly region: string;
  readonly accountId: string;
}

/** What every WebSocket event's requestContext holds, before route-specific fields. */
type RequestContextBase = Omit<
  WebSocketRequestContext,
  'messageId' | 'authorizer' | 'disconnectStatusCode' | 'disconnectReason'
> & {
  identity: WebSocketIdentity;
};

export type WebSocketAuthorizerEvent = HandlerAuthorizerEvent & {
  type: 'REQUEST';
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: RequestContextBase & { routeKey: '$connect'; eventType: 'CONNECT' };
};

export type WebSocketConnectEvent = WebSocketEvent & {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  requestContext: RequestContextBase & { routeKey: '$connect'; eventType: 'CONNECT'; authorizer?: AuthorizerContext };
  isBase64Encoded: false;
};

export type WebSocketMessageEvent = WebSocketEvent & {
  requestContext: RequestContextBase & { eventType: 'MESSAGE'; messageId: string; authorizer?: AuthorizerContext };
  body: string;
  isBase64Encoded: boolean;
};

export type WebSocketDisconnectEvent = WebSocketEvent & {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  requestContext: RequestContextBase & {
    routeKey: '$disconnect';
    eventType: 'DISCONNECT';
    disconnectStatusCode: number;
    disconnectReason: string;
    authorizer?: AuthorizerContext;
  };
  isBase64Encoded: false;
};

/**
 * The v1 pair of maps from values collected in a Map, so that a name such as
 * `constructor` or `__proto__` never meets Object.prototype. fromEntries
 * defines own properties, as JSON.parse of AWS's event does, even for `__proto__`.
 */
function singleAndMultiValue(values: Map<string, string[]>): { single: Record<string, string>; multi: Record<string, string[]> } {
  return {
    single: Object.fromEntries([...values].map(([name, all]) => [name, all.at(-1)!])),
    multi: Object.fromEntries(values),
  };
}

/** v1-style headers: names as sent, `headers` keeps the last value, `multiValueHeaders` all of them. */
export function headerMaps(rawHeaders: readonly string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const multiValueHeaders = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const values = multiValueHeaders.get(name);
    if (values) values.push(rawHeaders[i + 1]!);
    else multiValueHeaders.set(name, [rawHeaders[i + 1]!]);
  }
  const { single, multi } = singleAndMultiValue(multiValueHeaders);
  return { headers: single, multiValueHeaders: multi };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** v1-style query parameters; undefined when the URL has none. */
export function queryMaps(
  rawQueryString: string,
): { queryStringParameters: Record<string, string>; multiValueQueryStringParameters: Record<string, string[]> } | undefined {
  const multiValue = new Map<string, string[]>();
  for (const pair of rawQueryString.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const values = multiValue.get(name);
    if (values) values.push(value);
    else multiValue.set(name, [value]);
  }
  if (multiValue.size === 0) return undefined;
  const { single, multi } = singleAndMultiValue(multiValue);
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

function requestContext<R extends string, T extends RequestContextBase['eventType']>(
  connection: ConnectionFacts,
  routeKey: R,
  eventType: T,
  requestId: string,
  requestTimeEpoch: number,
) {
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: formatRequestTime(requestTimeEpoch),
    messageDirection: 'IN' as const,
    stage: connection.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch,
    identity: connection.identity,
    requestId,
    domainName: connection.domainName,
    connectionId: connection.connectionId,
    apiId: connection.apiId,
  };
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`, the Resource the policy must allow. */
export function connectMethodArn(facts: HandshakeFacts): string {
  return `arn:aws:execute-api:${facts.region}:${facts.accountId}:${facts.apiId}/${facts.stage}/$connect`;
}

/** The REQUEST authorizer event of a `$connect` (before the connection exists). */
export function buildAuthorizerEvent(facts: HandshakeFacts): WebSocketAuthorizerEvent {
  const query = queryMaps(facts.rawQueryString);
  return {
    type: 'REQUEST',
    methodArn: connectMethodArn(facts),
    ...headerMaps(facts.rawHeaders),
    queryStringParameters: query?.queryStringParameters ?? {},
    multiValueQueryStringParameters: query?.multiValueQueryStringParameters ?? {},
    stageVariables: {},
    requestContext: requestContext(facts, '$connect', 'CONNECT', facts.requestId, facts.requestTimeEpoch),
  };
}

/** The `$connect` integration event; shares the handshake's requestId with the authorizer event. */
export function buildConnectEvent(facts: HandshakeFacts): WebSocketConnectEvent {
  return {
    ...headerMaps(facts.rawHeaders),
    ...(queryMaps(facts.rawQueryString) ?? {}),
    requestContext: {
      ...requestContext(facts, '$connect', 'CONNECT', facts.requestId, facts.requestTimeEpoch),
      ...(facts.authorizer ? { authorizer: facts.authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}

export function buildMessageEvent(
  connection: ConnectionFacts,
  message: {
    routeKey: string;
    body: string;
    isBase64Encoded: boolean;
    messageId: string;
    requestId: string;
    requestTimeEpoch: number;
  },
): WebSocketMessageEvent {
  const { routeKey, ...rest } = requestContext(
    connection,
    message.routeKey,
    'MESSAGE',
    message.requestId,
    message.requestTimeEpoch,
  );
  return {
    requestContext: {
      routeKey,
      messageId: message.messageId,
      ...rest,
      ...(connection.authorizer ? { authorizer: connection.authorizer } : {}),
    },
    body: message.body,
    isBase64Encoded: message.isBase64Encoded,
  };
}

/**
 * `$disconnect` carries only a few headers (API Gateway sends Host, x-api-key,
 * X-Forwarded-For and x-restapi), plus the close code and reason.
 */
export function buildDisconnectEvent(
  connection: ConnectionFacts,
  close: { statusCode: number; reason: string; requestId: string; requestTimeEpoch: number },
): WebSocketDisconnectEvent {
  const headers = { Host: connection.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: {
      ...requestContext(connection, '$disconnect', 'DISCONNECT', close.requestId, close.requestTimeEpoch),
      disconnectStatusCode: close.statusCode,
      disconnectReason: close.reason,
      ...(connection.authorizer ? { authorizer: connection.authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}
