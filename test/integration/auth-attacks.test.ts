import { constants, createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ErrorBody, ListTasksResponse, Task } from '../../lambdas/contract.js';
import { apiClient, getToken, SocketClient, sleep, type ApiResponse } from '../support/clients.js';
import { localSigner, type LocalSigner } from '../support/local-signer.js';
import { recordSecurityFigures } from '../support/security-figures.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

/**
 * Token attacks on both channels: the HTTP API's JWT authorizer and the
 * WebSocket `$connect` REQUEST authorizer. Tokens that must fail on one claim
 * only (issuer, audience, nbf, exp, sub) are signed with the local issuer's
 * real key, read from the stack's state directory; a control token minted the
 * same way with genuine claims is accepted, so each refusal is that claim's.
 *
 * Sign-out: local tokens, like Cognito ID and access tokens, are stateless
 * JWTs. Signing out (Cognito GlobalSignOut) revokes refresh tokens, but the
 * API Gateway JWT authorizer does not consult revocation, so a copied token
 * stays usable until `exp`. What applies is tested: once expired, the same
 * token is refused on both channels; a WebSocket authorized before expiry
 * stays open (API Gateway authorizes only `$connect`) until its timeouts.
 */

const stack = inject('stack');
const newUser = () => `attack-${randomUUID()}`;
const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const encode = (header: object, claims: object) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;

const figures = {
  http: { variants: 0, refused: 0, names: [] as string[] },
  websocket: { variants: 0, refused: 0, names: [] as string[] },
  fuzzedTokens: { runs: 0, httpRefused: 0, websocketRefused: 0 },
  crossUser: { requests: 0, answered404: 0, victimTaskChanged: 0 },
  jkuFetchesByVerifier: 0,
};

function expectUnauthorized(res: ApiResponse, label: string): void {
  const where = `${label} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, where).toBe(401);
  expect(res.body, where).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
  expect(res.text, where).not.toMatch(/at .*\.(ts|js):\d+|\bError:|node:internal/);
}

const handshake = (token: string | undefined, extra = '') =>
  SocketClient.handshakeStatus(`${stack.wsUrl}?${token === undefined ? '' : `token=${encodeURIComponent(token)}`}${extra}`);

describe('auth attacks on the HTTP API and the WebSocket handshake', { timeout: 60_000 }, () => {
  let signer: LocalSigner;
  let genuine: string;
  let claims: Record<string, unknown>;
  let victim: ReturnType<typeof apiClient>;
  let victimTasks: Task[];
  let jwksPublicKey: KeyObject;
  let attacker: { privateKey: KeyObject; publicKey: KeyObject };
  let jkuServer: Server;
  let jkuUrl: string;
  let jkuFetches = 0;
  const variants: Array<[string, string | undefined]> = [];

  const now = () => Math.floor(Date.now() / 1000);
  const mint = (changes: Record<string, unknown>, header?: Record<string, unknown>) => {
    const payload: Record<string, unknown> = { ...claims, iat: now(), exp: now() + 600, ...changes };
    for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
    return signer.sign(payload, header);
  };
  const signedBy = (key: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown> = claims) => {
    const head = encode(header, payload);
    return `${head}.${b64url(sign('sha256', Buffer.from(head), key))}`;
  };
  const hmac = (algorithm: 'sha256' | 'sha512', alg: string, secret: string | Buffer) => {
    const head = encode({ alg, typ: 'JWT', kid: signer.kid }, claims);
    return `${head}.${b64url(createHmac(algorithm, secret).update(head).digest())}`;
  };

  beforeAll(async () => {
    signer = await localSigner(stack);
    const victimToken = await getToken(stack.tokenUrl, newUser());
    genuine = victimToken;
    claims = forge.claims(genuine);
    victim = apiClient(stack.apiUrl, victimToken);
    for (const title of ['Private one', 'Private two'])
      expect((await victim('POST', '/tasks', { body: { title } })).status).toBe(201);
    victimTasks = (await victim<ListTasksResponse>('GET', '/tasks')).body.tasks;

    const jwks = (await (await fetch(`${claims.iss as string}/.well-known/jwks.json`)).json()) as {
      keys: Array<Record<string, string>>;
    };
    const published = jwks.keys.find((key) => key.kid === signer.kid)!;
    jwksPublicKey = createPublicKey({ key: published, format: 'jwk' });
    attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256', use: 'sig' };
    jkuServer = createServer((req, res) => {
      jkuFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attackerJwk] }));
    });
    await new Promise<void>((resolve) => jkuServer.listen(0, '127.0.0.1', resolve));
    jkuUrl = `http://127.0.0.1:${(jkuServer.address() as AddressInfo).port}/.well-known/jwks.json`;

    const spkiPem = jwksPublicKey.export({ type: 'spki', format: 'pem' }) as string;
    const pkcs1Pem = jwksPublicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const otherUsersToken = await getToken(stack.tokenUrl, newUser());
    const [head, payload] = genuine.split('.') as [string, string, string];

    variants.push(
      ['missing', undefined],
      ['empty', ''],
      ['garbage', 'not.a.jwt'],
      ['expired an hour ago', mint({ iat: now() - 7200, exp: now() - 3600 })],
      ['expired a second ago', mint({ exp: now() - 1 })],
      ['not yet valid (nbf in 5 minutes)', mint({ nbf: now() + 300 })],
      ['not yet valid (nbf in 30 seconds)', mint({ nbf: now() + 30 })],
      ['wrong issuer', mint({ iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_attacker' })],
      ['issuer with a trailing slash', mint({ iss: `${claims.iss as string}/` })],
      ['issuer of another origin', mint({ iss: (claims.iss as string).replace('127.0.0.1', 'localhost') })],
      ['no issuer', mint({ iss: undefined })],
      ['wrong audience', mint({ aud: 'another-client' })],
      ['audience list without ours', mint({ aud: ['another-client', 'third-client'] })],
      ['no aud, wrong client_id', mint({ aud: undefined, client_id: 'another-client' })],
      ['no aud, no client_id', mint({ aud: undefined })],
      ['no exp', mint({ exp: undefined })],
      ['no sub', mint({ sub: undefined })],
      ['empty sub', mint({ sub: '' })],
      ['numeric sub', mint({ sub: 12345 })],
      ['alg none (no signature)', forge.algNone(genuine)],
      [
        'alg None with the signature kept',
        `${b64url(JSON.stringify({ alg: 'None', typ: 'JWT', kid: signer.kid }))}.${payload}.${genuine.split('.')[2]}`,
      ],
      ['alg NONE, empty signature', `${b64url(JSON.stringify({ alg: 'NONE', typ: 'JWT' }))}.${payload}.`],
      ['HS256 keyed with the JWKS public key (SPKI PEM)', hmac('sha256', 'HS256', spkiPem)],
      ['HS256 keyed with the SPKI PEM without newline', hmac('sha256', 'HS256', spkiPem.trim())],
      ['HS256 keyed with the PKCS#1 PEM', hmac('sha256', 'HS256', pkcs1Pem)],
      ['HS256 keyed with the JWK JSON', hmac('sha256', 'HS256', JSON.stringify(published))],
      ['HS256 keyed with the modulus', hmac('sha256', 'HS256', Buffer.from(published.n!, 'base64url'))],
      ['HS512 keyed with the SPKI PEM', hmac('sha512', 'HS512', spkiPem)],
      [
        'RS384 by the real key',
        (() => {
          const h = encode({ alg: 'RS384', typ: 'JWT', kid: signer.kid }, claims);
          return `${h}.${b64url(sign('sha384', Buffer.from(h), signer.privateKey))}`;
        })(),
      ],
      [
        'PS256 by the real key',
        (() => {
          const h = encode({ alg: 'PS256', typ: 'JWT', kid: signer.kid }, claims);
          return `${h}.${b64url(sign('sha256', Buffer.from(h), { key: signer.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }))}`;
        })(),
      ],
      ['tampered sub (another user)', forge.tamperedSub(genuine, forge.claims(otherUsersToken).sub as string)],
      [
        'tampered exp on an expired token',
        (() => {
          const expired = mint({ exp: now() - 60 });
          const [h, , s] = expired.split('.');
          return `${h}.${b64url(JSON.stringify({ ...forge.claims(expired), exp: now() + 3600 }))}.${s}`;
        })(),
      ],
      [
        'tampered header (kid swapped)',
        `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'other' }))}.${payload}.${genuine.split('.')[2]}`,
      ],
      ["another user's signature on this payload", `${head}.${payload}.${otherUsersToken.split('.')[2]}`],
      ['signature stripped', `${head}.${payload}.`],
      ['signature truncated', genuine.slice(0, -10)],
      ['foreign key with the right kid', forge.foreignKey(genuine)],
      ['foreign key with an unknown kid', signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'attacker' })],
      [
        'foreign key, public key embedded as jwk header',
        signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: signer.kid, jwk: attackerJwk }),
      ],
      [
        'foreign key, jku header pointing at its JWKS',
        signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'attacker', jku: jkuUrl }),
      ],
      ['foreign key, x5u header', signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: 'attacker', x5u: jkuUrl })],
      ['kid path traversal', signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: '../../../../../dev/null' })],
      ['kid injection', signedBy(attacker.privateKey, { alg: 'RS256', typ: 'JWT', kid: "' OR '1'='1" })],
      ['five segments (JWE shape)', `${genuine}.AAAA.BBBB`],
      ['two segments', `${head}.${payload}`],
      ['trailing garbage', `${genuine}x`],
      ['8 KB of base64url', 'A'.repeat(8_000)],
      ['unsigned JSON claims', JSON.stringify(claims)],
    );
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => jkuServer.close(() => resolve()));
    figures.jkuFetchesByVerifier = jkuFetches;
    console.log(
      `[auth-attacks] HTTP API: ${figures.http.refused}/${figures.http.variants} attack variants refused with 401; ` +
        `WebSocket handshake: ${figures.websocket.refused}/${figures.websocket.variants} refused with 401; ` +
        `fuzzed tokens: ${figures.fuzzedTokens.runs} runs, ${figures.fuzzedTokens.httpRefused} HTTP + ${figures.fuzzedTokens.websocketRefused} WebSocket refusals; ` +
        `cross-user: ${figures.crossUser.answered404}/${figures.crossUser.requests} requests answered 404, victim task changed ${figures.crossUser.victimTaskChanged} times; ` +
        `jku/x5u URLs fetched by the verifier: ${jkuFetches}`,
    );
    await recordSecurityFigures('authAttacks', figures);
  });

  it('accepts a token minted with the local key and genuine claims (the control for every forgery below)', async () => {
    const control = mint({});
    expect((await apiClient(stack.apiUrl, control)('GET', '/tasks')).status).toBe(200);
    expect(await handshake(control)).toBe(101);
  });

  it('refuses every expired, not-yet-valid, misissued, misaddressed or forged token on the HTTP API with 401, on every route', async () => {
    const [task] = victimTasks as [Task];
    const routes: Array<(client: ReturnType<typeof apiClient>, name: string) => Promise<ApiResponse>> = [
      (client, name) => client('POST', '/tasks', { body: { title: `forged: ${name}` } }),
      (client) => client('GET', `/tasks/${task.id}`),
      (client) => client('PUT', `/tasks/${task.id}`, { body: { title: 'pwned' } }),
      (client) => client('PATCH', `/tasks/${task.id}/complete`),
      (client) => client('DELETE', `/tasks/${task.id}`),
    ];
    // The authorizer decides before any route runs: every variant is tried on the list
    // route and on one other route in turn, so every route meets every kind of forgery.
    for (const [i, [name, token]] of variants.entries()) {
      const client = apiClient(stack.apiUrl, token);
      const attempts = [await client('GET', '/tasks'), await routes[i % routes.length]!(client, name)];
      figures.http.variants++;
      figures.http.names.push(name);
      for (const res of attempts) expectUnauthorized(res, name);
      figures.http.refused++;
    }
    // Also refused: a valid token anywhere but the Authorization header.
    const elsewhere = [
      await apiClient(stack.apiUrl)('GET', `/tasks?token=${encodeURIComponent(genuine)}`),
      await apiClient(stack.apiUrl)('GET', '/tasks', { headers: { cookie: `token=${genuine}` } }),
      await apiClient(stack.apiUrl)('GET', '/tasks', { headers: { 'x-amz-security-token': genuine } }),
      await apiClient(stack.apiUrl)('GET', '/tasks', {
        headers: { authorization: `Basic ${Buffer.from(`user:${genuine}`).toString('base64')}` },
      }),
    ];
    for (const [i, res] of elsewhere.entries()) expectUnauthorized(res, `token elsewhere #${i}`);
    figures.http.variants += elsewhere.length;
    figures.http.refused += elsewhere.length;
    figures.http.names.push(
      'token in the query string',
      'token in a cookie',
      'token in X-Amz-Security-Token',
      'token as Basic credentials',
    );

    expect((await victim<ListTasksResponse>('GET', '/tasks')).body.tasks).toEqual(victimTasks);
    expect(jkuFetches).toBe(0);
  });

  it('refuses the same tokens at the WebSocket handshake with 401', async () => {
    for (const [name, token] of variants) {
      figures.websocket.variants++;
      figures.websocket.names.push(name);
      expect(await handshake(token), name).toBe(401);
      figures.websocket.refused++;
    }
    // The identity source is the `token` query parameter and nothing else.
    const elsewhere: Array<[string, Promise<number>]> = [
      ['token as Token', handshake(undefined, `Token=${encodeURIComponent(genuine)}`)],
      ['empty token parameter', handshake('')],
      [
        'token in the Authorization header',
        new Promise<number>((resolve) => {
          const ws = new WebSocket(stack.wsUrl, { headers: { authorization: `Bearer ${genuine}` } });
          ws.once('open', () => {
            ws.close();
            resolve(101);
          });
          ws.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.once('error', () => undefined);
        }),
      ],
      ['forged token, genuine token under another name', handshake(forge.algNone(genuine), `&t=${encodeURIComponent(genuine)}`)],
    ];
    for (const [name, pending] of elsewhere) {
      figures.websocket.variants++;
      figures.websocket.names.push(name);
      expect(await pending, name).toBe(401);
      figures.websocket.refused++;
    }
    expect(jkuFetches).toBe(0);
  });

  it('refuses token-shaped garbage on both channels (fast-check)', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }).map(b64url),
      fc.jsonValue({ maxDepth: 2 }).map((v) => b64url(JSON.stringify(v))),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/),
    );
    const headerSegment = fc.oneof(
      segment,
      fc
        .record(
          {
            alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'RS256 ', 'rs256', ''),
            kid: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 })),
            typ: fc.constantFrom('JWT', 'at+jwt'),
          },
          { requiredKeys: ['alg'] },
        )
        .map((h) => b64url(JSON.stringify(h))),
    );
    const tokenLike = fc.oneof(
      fc.tuple(headerSegment, segment, segment).map((parts) => parts.join('.')),
      fc.tuple(headerSegment, fc.constant(genuine.split('.')[1]!), segment).map((parts) => parts.join('.')),
      fc.string({ minLength: 1, maxLength: 200 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(tokenLike, async (token) => {
        figures.fuzzedTokens.runs++;
        expectUnauthorized(await apiClient(stack.apiUrl, token)('GET', '/tasks'), token);
        figures.fuzzedTokens.httpRefused++;
        expect(await handshake(token), token).toBe(401);
        figures.fuzzedTokens.websocketRefused++;
      }),
      { numRuns: 60 },
    );
  });

  it('refuses an expired token on both channels, and closes a socket authorized before expiry at its next message', async () => {
    const shortLived = await getToken(stack.tokenUrl, newUser(), 4);
    const api = apiClient(stack.apiUrl, shortLived);
    expect((await api('GET', '/tasks')).status).toBe(200);
    const socket = await SocketClient.open(stack.wsUrl, shortLived);
    // Tokens are valid up to and including the second of `exp` (no clock skew grace).
    await sleep((forge.claims(shortLived).exp as number) * 1000 + 1_100 - Date.now());

    // "Signing out" locally forgets the token; anyone who kept a copy is refused only once it expires.
    expectUnauthorized(await api('GET', '/tasks'), 'reused after expiry');
    expectUnauthorized(await api('POST', '/tasks', { body: { title: 'late write' } }), 'write after expiry');
    expect(await handshake(shortLived)).toBe(401);
    figures.http.variants++;
    figures.http.refused++;
    figures.http.names.push('issued token reused after expiry');
    figures.websocket.variants++;
    figures.websocket.refused++;
    figures.websocket.names.push('issued token reused after expiry');

    // API Gateway authorizes a WebSocket only on $connect; the connection keeps the token's exp
    // and its next message after it gets TOKEN_EXPIRED and the close (presence-and-expiry.test.ts).
    const closed = new Promise<number>((resolve) => socket.socket.once('close', (code) => resolve(code)));
    socket.send({ action: 'ping' });
    expect(await socket.next((f) => f.type === 'ERROR')).toMatchObject({ type: 'ERROR', code: 'TOKEN_EXPIRED' });
    expect(await closed).toBe(1000);
  });

  it("answers user B with 404 on every route for user A's task ids, whatever If-Match, and leaves A's tasks unchanged", async () => {
    const intruder = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
    const attempts: Array<[string, string, Parameters<typeof intruder>[2]]> = [];
    for (const task of victimTasks) {
      for (const id of [task.id, task.id.toLowerCase()]) {
        attempts.push(
          ['GET', `/tasks/${id}`, {}],
          ['PUT', `/tasks/${id}`, { body: { title: 'pwned' } }],
          ['PUT', `/tasks/${id}`, { body: { completed: true }, headers: { 'if-match': '*' } }],
          // A stale version must still be 404: a 412 would confirm the task exists and hand over error.current.
          ['PUT', `/tasks/${id}`, { body: { title: 'pwned' }, headers: { 'if-match': `"${task.version + 7}"` } }],
          ['PUT', `/tasks/${id}`, { body: { title: 'pwned' }, headers: { 'if-match': `"${task.version}"` } }],
          ['PATCH', `/tasks/${id}/complete`, {}],
          ['PATCH', `/tasks/${id}/complete`, { body: { completed: false }, headers: { 'if-match': `"${task.version + 7}"` } }],
          ['DELETE', `/tasks/${id}`, {}],
          ['DELETE', `/tasks/${id}`, { headers: { 'if-match': '*' } }],
          ['DELETE', `/tasks/${id}`, { headers: { 'if-match': `"${task.version + 7}"` } }],
        );
      }
    }
    for (const [method, path, options] of attempts) {
      const res = await intruder<ErrorBody>(method, path, options);
      figures.crossUser.requests++;
      expect(res.status, `${method} ${path} ${JSON.stringify(options)} → ${res.text.slice(0, 200)}`).toBe(404);
      expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
      expect(res.text).not.toContain(victimTasks[0]!.title);
      figures.crossUser.answered404++;
    }
    // The victim's cursor is refused, not honoured for someone else.
    const victimCursor = (await victim<ListTasksResponse>('GET', '/tasks?limit=1')).body.nextCursor!;
    const stolen = await intruder<ErrorBody>('GET', `/tasks?cursor=${encodeURIComponent(victimCursor)}`);
    expect(stolen.status).toBe(400);
    expect(stolen.text).not.toContain(victimTasks[1]!.id);
    expect((await intruder<ListTasksResponse>('GET', '/tasks')).body.tasks).toEqual([]);

    const after = (await victim<ListTasksResponse>('GET', '/tasks')).body.tasks;
    figures.crossUser.victimTaskChanged = victimTasks.filter(
      (t) => !after.some((a) => JSON.stringify(a) === JSON.stringify(t)),
    ).length;
    expect(after).toEqual(victimTasks);
  });

  it("lets user B create its own task under user A's id without touching A's task or reaching A's sockets", async () => {
    const [task] = victimTasks as [Task];
    const victimSocket = await SocketClient.open(stack.wsUrl, genuine);
    victimSocket.send({ action: 'hello' });
    await victimSocket.next((f) => f.type === 'AUTH_SUCCESS');
    const intruderToken = await getToken(stack.tokenUrl, newUser());
    const intruder = apiClient(stack.apiUrl, intruderToken);
    const intruderSocket = await SocketClient.open(stack.wsUrl, intruderToken);
    intruderSocket.send({ action: 'hello' });
    await intruderSocket.next((f) => f.type === 'AUTH_SUCCESS');

    // Same id, other content: for B it is simply a new task (ids are scoped per user).
    const copy = await intruder<Task>('POST', '/tasks', { body: { id: task.id, title: 'Same id, other owner' } });
    expect(copy.status).toBe(201);
    expect((await intruder<Task>('PUT', `/tasks/${task.id}`, { body: { description: 'changed by B' } })).status).toBe(200);
    expect((await intruder('DELETE', `/tasks/${task.id}`)).status).toBe(204);

    await intruderSocket.waitFor((c) => c.events().filter((e) => e.taskId === task.id).length >= 3);
    // The victim's own write comes after B's on the stream: once it arrives, B's events would have too.
    const marker = (await victim<Task>('POST', '/tasks', { body: { title: 'marker' } })).body;
    await victimSocket.waitFor((c) => c.events().some((e) => e.taskId === marker.id));
    expect(victimSocket.events().map((e) => e.taskId)).toEqual([marker.id]);
    expect((await victim<Task>('GET', `/tasks/${task.id}`)).body).toEqual(task);
    await Promise.all([victimSocket.close(), intruderSocket.close()]);
  });
});
