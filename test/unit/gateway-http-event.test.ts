import { describe, expect, it } from 'vitest';
import { createCors } from '../../local/gateway/http/cors.js';
import {
  buildHttpApiEvent,
  isTextBody,
  parseQueryString,
  stringifyClaims,
  type HttpRequestFacts,
} from '../../local/gateway/http/event-builder.js';
import { MalformedLambdaResponseError, mapLambdaResult } from '../../local/gateway/http/response-mapper.js';
import { RouteTable } from '../../local/gateway/http/route-table.js';
import { createTokenBucket } from '../../local/gateway/http/throttle.js';
import { formatRequestTime, newGatewayId } from '../../local/gateway/shared/aws-format.js';
import { HTTP_ROUTES } from '../../lib/definitions.js';

function facts(overrides: Partial<HttpRequestFacts> = {}): HttpRequestFacts {
  return {
    method: 'PUT',
    rawPath: '/tasks/01J%20X',
    rawQueryString: 'a=1&a=2&b=x%2Fy',
    rawHeaders: [
      'Content-Type',
      'application/json',
      'X-Dup',
      'one',
      'x-dup',
      'two',
      'Cookie',
      'c1=v1; c2=v2',
      'User-Agent',
      'test-agent',
    ],
    protocol: 'HTTP/1.1',
    sourceIp: '127.0.0.1',
    body: Buffer.from('{"title":"x"}'),
    routeKey: 'PUT /tasks/{id}',
    pathParameters: { id: '01J X' },
    claims: { sub: 'user-1' },
    apiId: 'abcdef1234',
    accountId: '000000000000',
    domainName: '127.0.0.1:4000',
    domainPrefix: '127',
    requestId: 'REQ',
    timeEpoch: Date.UTC(2026, 10, 27, 10, 5, 9),
    port: 4000,
    ...overrides,
  };
}

describe('buildHttpApiEvent', () => {
  it('builds the payload format 2.0 event with the JWT authorizer context', () => {
    const event = buildHttpApiEvent(facts());

    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'PUT /tasks/{id}',
      rawPath: '/tasks/01J%20X',
      rawQueryString: 'a=1&a=2&b=x%2Fy',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,2', b: 'x/y' },
      pathParameters: { id: '01J X' },
      body: '{"title":"x"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'abcdef1234',
        authorizer: { jwt: { claims: { sub: 'user-1' }, scopes: null } },
        domainName: '127.0.0.1:4000',
        domainPrefix: '127',
        http: { method: 'PUT', path: '/tasks/01J%20X', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test-agent' },
        requestId: 'REQ',
        routeKey: 'PUT /tasks/{id}',
        stage: '$default',
        time: '27/Nov/2026:10:05:09 +0000',
        timeEpoch: Date.UTC(2026, 10, 27, 10, 5, 9),
      },
    });
  });

  it('lower-cases header names, joins duplicates with commas and moves cookies out', () => {
    const { headers } = buildHttpApiEvent(facts());

    expect(headers['x-dup']).toBe('one,two');
    expect(headers['content-type']).toBe('application/json');
    expect(headers.cookie).toBeUndefined();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(Object.keys(headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('omits body, cookies, query and path parameters when the request has none', () => {
    const event = buildHttpApiEvent(
      facts({
        rawQueryString: '',
        rawHeaders: [],
        body: Buffer.alloc(0),
        pathParameters: undefined,
        method: 'GET',
        routeKey: 'GET /tasks',
      }),
    );

    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('cookies');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.http.userAgent).toBe('');
  });

  it('base64-encodes a body whose content type is not text', () => {
    const bytes = Buffer.from([0, 1, 2, 250]);
    const event = buildHttpApiEvent(facts({ rawHeaders: ['Content-Type', 'application/octet-stream'], body: bytes }));

    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64')).toEqual(bytes);
  });
});

describe('isTextBody', () => {
  it('treats JSON, text and +json types as text and the rest as binary', () => {
    expect(isTextBody('application/json; charset=utf-8', undefined)).toBe(true);
    expect(isTextBody('text/plain', undefined)).toBe(true);
    expect(isTextBody('application/problem+json', undefined)).toBe(true);
    expect(isTextBody('application/x-www-form-urlencoded', undefined)).toBe(false);
    expect(isTextBody('image/png', undefined)).toBe(false);
    expect(isTextBody(undefined, undefined)).toBe(false);
    expect(isTextBody('application/json', 'gzip')).toBe(false);
  });
});

describe('parseQueryString', () => {
  it('decodes values and keeps parameters without a value as empty strings', () => {
    expect(parseQueryString('limit=10&cursor=a%3Db&flag')).toEqual({ limit: '10', cursor: 'a=b', flag: '' });
    expect(parseQueryString('')).toBeUndefined();
  });
});

describe('stringifyClaims', () => {
  it('stringifies claims the way the JWT authorizer passes them', () => {
    expect(
      stringifyClaims({
        sub: 'u',
        exp: 1700000000,
        email_verified: true,
        'cognito:groups': ['admin', 'ops'],
        addr: { b: 2, a: 'x' },
      }),
    ).toEqual({ sub: 'u', exp: '1700000000', email_verified: 'true', 'cognito:groups': '[admin ops]', addr: 'map[a:x b:2]' });
  });
});

describe('RouteTable', () => {
  const table = new RouteTable(HTTP_ROUTES);

  it('matches method and path template and decodes path parameters', () => {
    expect(table.match('GET', '/tasks/abc%20d')).toMatchObject({ routeKey: 'GET /tasks/{id}', pathParameters: { id: 'abc d' } });
    expect(table.match('PATCH', '/tasks/1/complete')).toMatchObject({
      routeKey: 'PATCH /tasks/{id}/complete',
      pathParameters: { id: '1' },
    });
    expect(table.match('GET', '/tasks')).toEqual({ route: HTTP_ROUTES[0], routeKey: 'GET /tasks' });
  });

  it('finds no route for another method, an extra or empty segment, or a trailing slash', () => {
    expect(table.match('POST', '/tasks/1')).toBeUndefined();
    expect(table.match('GET', '/tasks/')).toBeUndefined();
    expect(table.match('GET', '/tasks/1/complete')).toBeUndefined();
    expect(table.match('GET', '/nothing')).toBeUndefined();
  });

  it('prefers static segments over parameters, and parameters over greedy paths', () => {
    const routes = new RouteTable([
      { method: 'ANY', path: '/files/{proxy+}', fn: 'tasksApi' },
      { method: 'GET', path: '/files/{id}', fn: 'tasksApi' },
      { method: 'GET', path: '/files/latest', fn: 'wsDefault' },
      { method: 'ANY', path: '$default', fn: 'broadcaster' },
    ]);

    expect(routes.match('GET', '/files/latest')?.route.fn).toBe('wsDefault');
    expect(routes.match('GET', '/files/7')?.routeKey).toBe('GET /files/{id}');
    expect(routes.match('GET', '/files/a/b')).toMatchObject({
      routeKey: 'ANY /files/{proxy+}',
      pathParameters: { proxy: 'a/b' },
    });
    expect(routes.match('DELETE', '/other')?.routeKey).toBe('$default');
  });
});

describe('mapLambdaResult', () => {
  it('maps a structured response with cookies and a base64 body', () => {
    const response = mapLambdaResult({
      statusCode: 201,
      headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
      cookies: ['a=1', 'b=2'],
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });

    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'content-type': 'image/png', 'x-count': '3', 'set-cookie': ['a=1', 'b=2'] });
    expect(response.body).toEqual(Buffer.from([1, 2, 3]));
  });

  it('infers 200 with a JSON body from a result without statusCode', () => {
    const object = mapLambdaResult({ tasks: [] });
    const text = mapLambdaResult('hello');

    expect(object).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"tasks":[]}'),
    });
    expect(text.body.toString()).toBe('hello');
  });

  it('refuses a structured response API Gateway cannot use', () => {
    expect(() => mapLambdaResult({ statusCode: 'ok' })).toThrow(MalformedLambdaResponseError);
    expect(() => mapLambdaResult({ statusCode: 200, body: { a: 1 } })).toThrow(MalformedLambdaResponseError);
    expect(() => mapLambdaResult({ statusCode: 200, headers: { a: { b: 1 } } })).toThrow(MalformedLambdaResponseError);
  });
});

describe('createCors', () => {
  const cors = createCors({ allowOrigins: ['http://127.0.0.1:3000', 'https://*.example.com'] });

  it('answers a preflight from an allowed origin with the configured methods, headers and max age', () => {
    expect(cors.preflightHeaders('http://127.0.0.1:3000')).toEqual({
      'access-control-allow-origin': 'http://127.0.0.1:3000',
      'access-control-allow-methods': 'GET,POST,PUT,PATCH,DELETE,OPTIONS',
      'access-control-allow-headers': 'authorization,content-type,if-match',
      'access-control-max-age': '600',
    });
    expect(cors.responseHeaders('https://app.example.com')).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-expose-headers': 'etag',
    });
  });

  it('adds no CORS headers for an origin that is not allowed', () => {
    expect(cors.preflightHeaders('http://evil.test')).toEqual({});
    expect(cors.responseHeaders('https://example.com')).toEqual({});
    expect(cors.responseHeaders(undefined)).toEqual({});
  });

  it('recognises a preflight only with Origin and Access-Control-Request-Method', () => {
    expect(cors.isPreflight('OPTIONS', { origin: 'http://a', 'access-control-request-method': 'PUT' })).toBe(true);
    expect(cors.isPreflight('OPTIONS', { origin: 'http://a' })).toBe(false);
    expect(cors.isPreflight('GET', { origin: 'http://a', 'access-control-request-method': 'PUT' })).toBe(false);
  });

  it('answers * for a wildcard configuration', () => {
    expect(createCors({ allowOrigins: ['*'] }).responseHeaders('http://any.test')['access-control-allow-origin']).toBe('*');
  });
});

describe('createTokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const bucket = createTokenBucket({ rateLimit: 2, burstLimit: 3 }, () => now);

    const burst = [bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()];
    now += 500;
    const afterHalfSecond = [bucket.tryTake(), bucket.tryTake()];

    expect(burst).toEqual([true, true, true, false]);
    expect(afterHalfSecond).toEqual([true, false]);
  });
});

describe('aws-format', () => {
  it('formats request time as dd/MMM/yyyy:HH:mm:ss +0000 in UTC', () => {
    expect(formatRequestTime(Date.UTC(2024, 0, 5, 3, 4, 5))).toBe('05/Jan/2024:03:04:05 +0000');
  });

  it('makes 16-character gateway ids that differ', () => {
    const a = newGatewayId();
    expect(a).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(newGatewayId()).not.toBe(a);
  });
});
