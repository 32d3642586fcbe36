import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpApi, type HttpApi, type HttpApiOptions } from '../../local/gateway/http/http-api.js';
import { silentLogger } from '../../local/shared/logger.js';
import { type Invoke, type JwtVerifier } from '../../local/gateway/shared/types.js';
import type { FunctionName } from '../../lib/definitions.js';

class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** Accepts `good-token` only, with claims of every JSON type. */
const verifier: JwtVerifier = {
  async verify(token) {
    if (token !== 'good-token') throw new InvalidTokenError('the token has expired');
    return { sub: 'user-1', claims: { sub: 'user-1', exp: 1700000000, 'cognito:groups': ['a', 'b'] } };
  },
};

interface Call {
  fn: FunctionName;
  event: APIGatewayProxyEventV2WithJWTAuthorizer;
}

function recordingInvoke(result: unknown | ((event: APIGatewayProxyEventV2WithJWTAuthorizer) => unknown)) {
  const calls: Call[] = [];
  const invoke: Invoke = async (fn, event) => {
    calls.push({ fn, event: event as APIGatewayProxyEventV2WithJWTAuthorizer });
    return typeof result === 'function'
      ? (result as (e: APIGatewayProxyEventV2WithJWTAuthorizer) => unknown)(event as never)
      : result;
  };
  return { calls, invoke };
}

let api: HttpApi | undefined;

async function start(options: Partial<HttpApiOptions> & { invoke: Invoke }): Promise<HttpApi> {
  api = await startHttpApi({ port: 0, verifier, logger: silentLogger, ...options });
  return api;
}

const auth = { authorization: 'Bearer good-token' };

afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('HTTP API emulator', () => {
  it('invokes the route function with the payload 2.0 event and returns its response', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 201, headers: { etag: '"1"' }, body: '{"id":"t1"}' });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks/t1?x=1&x=2`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json', cookie: 'a=1; b=2' },
      body: '{"title":"Buy milk"}',
    });

    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(await res.text()).toBe('{"id":"t1"}');
    expect(calls).toHaveLength(1);
    const { fn, event } = calls[0]!;
    expect(fn).toBe('tasksApi');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'PUT /tasks/{id}',
      rawPath: '/tasks/t1',
      rawQueryString: 'x=1&x=2',
      queryStringParameters: { x: '1,2' },
      pathParameters: { id: 't1' },
      cookies: ['a=1', 'b=2'],
      body: '{"title":"Buy milk"}',
      isBase64Encoded: false,
      requestContext: {
        authorizer: { jwt: { claims: { sub: 'user-1', exp: '1700000000', 'cognito:groups': '[a b]' }, scopes: null } },
        http: { method: 'PUT', path: '/tasks/t1', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        stage: '$default',
        requestId: res.headers.get('apigw-requestid'),
      },
    });
    expect(event.headers.authorization).toBe('Bearer good-token');
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('accepts the token without the Bearer prefix, as API Gateway does', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 200, body: '[]' });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: { authorization: 'good-token' } });

    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('answers 401 with the contract error body when the token is missing, without invoking', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 200 });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`);

    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect(calls).toHaveLength(0);
  });

  it('answers 401 with a www-authenticate challenge when the verifier refuses the token', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 200 });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: { authorization: 'Bearer bad-token' } });

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer scope="" error="invalid_token" error_description="the token has expired"',
    );
    expect((await res.json()).error.code).toBe('UNAUTHORIZED');
    expect(calls).toHaveLength(0);
  });

  it('answers 401 even when the refusal reason quotes non-ASCII bytes of the token', async () => {
    const { invoke } = recordingInvoke({ statusCode: 200 });
    const quoting: JwtVerifier = {
      verify: async () => {
        throw new InvalidTokenError('Header is not JSON: Unexpected token \'\ufffd\', "\u00e9\r\n"');
      },
    };
    const { url } = await start({ invoke, verifier: quoting });

    const res = await fetch(`${url}/tasks`, { headers: { authorization: 'Bearer not.a.jwt' } });

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^[\x20-\x7e]+$/);
  });

  it('answers 500 when the verifier fails for a reason other than the token', async () => {
    const { invoke } = recordingInvoke({ statusCode: 200 });
    const jwksDown: JwtVerifier = {
      verify: async () => {
        throw Object.assign(new Error('JWKS unreachable'), { name: 'JwksUnavailableError' });
      },
    };
    const { url } = await start({ invoke, verifier: jwksDown });

    const res = await fetch(`${url}/tasks`, { headers: auth });

    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
  });

  it('answers 404 with the contract body for an unknown path or method, before auth', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 200 });
    const { url } = await start({ invoke });

    const unknownPath = await fetch(`${url}/nothing`);
    const wrongMethod = await fetch(`${url}/tasks/1`, { method: 'POST', headers: auth });

    expect(unknownPath.status).toBe(404);
    expect(await unknownPath.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'Not Found' } });
    expect(wrongMethod.status).toBe(404);
    expect(calls).toHaveLength(0);
  });

  it('answers 500 with AWS body and no details when the function throws', async () => {
    const invoke: Invoke = async () => {
      throw new Error('secret stack detail');
    };
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: auth });
    const text = await res.text();

    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ message: 'Internal Server Error' });
    expect(text).not.toContain('secret');
  });

  it('answers 500 when the function returns a response API Gateway cannot use', async () => {
    const { invoke } = recordingInvoke({ statusCode: 200, body: { not: 'a string' } });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: auth });

    expect(res.status).toBe(500);
  });

  it('infers a 200 JSON response from a result without statusCode', async () => {
    const { invoke } = recordingInvoke({ tasks: [], nextCursor: null });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: auth });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ tasks: [], nextCursor: null });
  });

  it('writes each returned cookie as its own set-cookie header and decodes a base64 body', async () => {
    const { invoke } = recordingInvoke({
      statusCode: 200,
      cookies: ['a=1; Path=/', 'b=2'],
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([9, 8, 7]).toString('base64'),
      isBase64Encoded: true,
    });
    const { url } = await start({ invoke });

    const res = await fetch(`${url}/tasks`, { headers: auth });

    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([9, 8, 7]));
  });

  it('passes a binary request body base64-encoded', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 204 });
    const { url } = await start({ invoke });

    await fetch(`${url}/tasks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 255]),
    });

    expect(calls[0]!.event.isBase64Encoded).toBe(true);
    expect(calls[0]!.event.body).toBe(Buffer.from([0, 255]).toString('base64'));
  });

  describe('payload limit', () => {
    it('answers 413 for a declared Content-Length over the limit without invoking', async () => {
      const { calls, invoke } = recordingInvoke({ statusCode: 201 });
      const { url } = await start({ invoke, maxPayloadBytes: 1024 });

      const res = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: 'x'.repeat(1025),
      });

      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
      expect(calls).toHaveLength(0);
    });

    it('answers 413 for a streamed body that grows over the limit', async () => {
      const { calls, invoke } = recordingInvoke({ statusCode: 201 });
      const { url } = await start({ invoke, maxPayloadBytes: 1024 });
      const chunk = new TextEncoder().encode('x'.repeat(600));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      });

      const res = await fetch(`${url}/tasks`, { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit);

      expect(res.status).toBe(413);
      expect(calls).toHaveLength(0);
    });

    it('passes a body at the limit through', async () => {
      const { calls, invoke } = recordingInvoke({ statusCode: 201 });
      const { url } = await start({ invoke, maxPayloadBytes: 1024 });

      const res = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/plain' },
        body: 'y'.repeat(1024),
      });

      expect(res.status).toBe(201);
      expect(calls[0]!.event.body).toHaveLength(1024);
    });
  });

  describe('CORS', () => {
    const origin = 'http://127.0.0.1:3000';

    it('answers a preflight from an allowed origin itself with 204', async () => {
      const { calls, invoke } = recordingInvoke({ statusCode: 200 });
      const { url } = await start({ invoke, cors: { allowOrigins: [origin] } });

      const res = await fetch(`${url}/tasks/1`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,if-match' },
      });

      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')).toBe('GET,POST,PUT,PATCH,DELETE,OPTIONS');
      expect(res.headers.get('access-control-allow-headers')).toBe('authorization,content-type,if-match');
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(calls).toHaveLength(0);
    });

    it('gives no CORS headers to a preflight from another origin', async () => {
      const { invoke } = recordingInvoke({ statusCode: 200 });
      const { url } = await start({ invoke, cors: { allowOrigins: [origin] } });

      const res = await fetch(`${url}/tasks`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.test', 'access-control-request-method': 'GET' },
      });

      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('adds allow-origin and expose-headers to responses and drops the function’s own CORS headers', async () => {
      const { invoke } = recordingInvoke({
        statusCode: 200,
        headers: { 'access-control-allow-origin': '*', etag: '"2"' },
        body: '{}',
      });
      const { url } = await start({ invoke, cors: { allowOrigins: [origin] } });

      const allowed = await fetch(`${url}/tasks`, { headers: { ...auth, origin } });
      const denied = await fetch(`${url}/tasks`, { headers: { ...auth, origin: 'http://evil.test' } });
      const unauthorized = await fetch(`${url}/tasks`, { headers: { origin } });

      expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
      expect(allowed.headers.get('access-control-expose-headers')).toBe('etag');
      expect(denied.headers.get('access-control-allow-origin')).toBeNull();
      expect(unauthorized.status).toBe(401);
      expect(unauthorized.headers.get('access-control-allow-origin')).toBe(origin);
    });
  });

  it('answers 429 once the throttle bucket is empty', async () => {
    const { calls, invoke } = recordingInvoke({ statusCode: 200, body: '[]' });
    const { url } = await start({ invoke, throttle: { rateLimit: 0.001, burstLimit: 2 } });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/tasks`, { headers: auth })).status);

    expect(statuses).toEqual([200, 200, 429]);
    expect(calls).toHaveLength(2);
  });
});
