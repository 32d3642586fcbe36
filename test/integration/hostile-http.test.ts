import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ErrorBody, ListTasksResponse, Task } from '../../lambdas/contract.js';
import { LIMITS } from '../../lib/definitions.js';
import { apiClient, getToken, type ApiResponse } from '../support/clients.js';
import { fuzz as fuzzProperty, recordSecurityFigures } from '../support/security-figures.js';
import '../support/stack-info.js';

/**
 * Hostile HTTP input against the real local stack: property-based fuzzing
 * (fast-check) of bodies, headers, query strings and path parameters of every
 * route, plus explicit edge cases. Every refusal must be a contract 4xx with
 * the contract error body, no stack trace, and no change to stored tasks.
 * fast-check prints the seed and the shrunk counterexample of a failure.
 */

const stack = inject('stack');
const newUser = () => `hostile-${randomUUID()}`;

/** The contract's status → error code. */
const CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};
const STACK_FRAME = /at .*\.(ts|js):\d+/;
/** What must never appear in a message written for the client. */
const LEAKS = [
  STACK_FRAME,
  /\b\w*Error:/,
  /\w+Exception\b/,
  /node:internal/,
  /node_modules/,
  /\.(ts|js):\d+/,
  /\/(work|home|tmp|usr|var)\//,
];

const JSON_TYPE = { 'content-type': 'application/json' };
const MAX = LIMITS.httpBodyMaxBytes;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

type Client = ReturnType<typeof apiClient>;
type Options = Parameters<Client>[2];

const figures = {
  properties: [] as Array<{ name: string; runs: number }>,
  requests: 0,
  refused: 0,
  accepted: 0,
  serverErrors: 0,
  byStatus: {} as Record<string, number>,
  explicitCases: 0,
};

/** Sends one request and counts its outcome for the figures. */
async function send(client: Client, method: string, path: string, options?: Options): Promise<ApiResponse> {
  const res = await client(method, path, options);
  figures.requests++;
  figures.byStatus[res.status] = (figures.byStatus[res.status] ?? 0) + 1;
  if (res.status >= 500) figures.serverErrors++;
  else if (res.status >= 400) figures.refused++;
  else figures.accepted++;
  return res;
}

/** A contract refusal: an allowed status, its code, the error body shape, nothing leaked. */
function expectContractError(res: ApiResponse, allowed: readonly number[], label: string): void {
  const where = `${label} → ${res.status} ${res.text.slice(0, 400)}`;
  expect(allowed, where).toContain(res.status);
  expect(res.headers.get('content-type'), where).toMatch(/^application\/json/);
  const body = res.body as ErrorBody;
  expect(body, where).toEqual({ error: expect.objectContaining({ code: CODES[res.status], message: expect.any(String) }) });
  expect(
    Object.keys(body.error).filter((key) => !['code', 'message', 'details', 'current'].includes(key)),
    where,
  ).toEqual([]);
  const messages = [body.error.message];
  if (body.error.details !== undefined) {
    expect(Array.isArray(body.error.details), where).toBe(true);
    for (const detail of body.error.details as Array<{ field: unknown; message: unknown }>) {
      expect(detail, where).toEqual({ field: expect.any(String), message: expect.any(String) });
      messages.push(detail.message as string);
    }
  }
  for (const message of messages) for (const leak of LEAKS) expect(message, where).not.toMatch(leak);
  expect(res.text, where).not.toMatch(STACK_FRAME);
  expect(res.text, where).not.toMatch(/node:internal/);
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as on any wire). */
const percentEncodeAll = (value: string) =>
  [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** Concatenates raw JSON members, so keys such as `__proto__` reach the wire as written. */
const rawObject = (members: Array<[string, string]>) =>
  `{${members.map(([key, raw]) => `${JSON.stringify(key)}:${raw}`).join(',')}}`;

// ---------------------------------------------------------------- arbitraries

const printable = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 });
const validTitle = printable.filter((s) => s.trim().length > 0);
const anyJson = fc.jsonValue({ maxDepth: 2 });
const nonObjectJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.array(anyJson, { maxLength: 4 }),
);
/** A JSON value of any type but string, as raw text, including numbers JSON.parse turns into Infinity or loses. */
const notAString = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '1.5e-400',
    '[]',
    '{}',
    '[""]',
    '{"":""}',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }).map((a) => JSON.stringify(a)),
  fc
    .dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { minKeys: 1, maxKeys: 3 })
    .map((o) => JSON.stringify(o)),
);
const notABoolean = fc.oneof(
  notAString.filter((raw) => raw !== 'true' && raw !== 'false'),
  fc.constantFrom('"true"', '"false"', '1', '0', '"yes"', '""'),
);
/** Characters that are one code point each but up to four UTF-8 bytes. */
const wideChar = fc.constantFrom('a', 'é', '中', '😀', 'ǅ', '\u0301');
const tooLongTitle = fc
  .string({ unit: wideChar, minLength: LIMITS.titleMaxChars + 1, maxLength: LIMITS.titleMaxChars + 150 })
  .filter((s) => [...s.trim()].length > LIMITS.titleMaxChars);
const blankTitle = fc.string({
  unit: fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028'),
  maxLength: 20,
});
const tooLongDescription = fc.string({
  unit: wideChar,
  minLength: LIMITS.descriptionMaxChars + 1,
  maxLength: LIMITS.descriptionMaxChars + 400,
});
const withLoneSurrogate = fc
  .tuple(fc.string({ maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 10 }))
  .map(([a, unit, b]) => `${a}x${String.fromCharCode(unit)}${b}`);
const notAUlid = fc.oneof(
  fc.string({ maxLength: 40 }).filter((s) => !ULID.test(s)),
  fc.stringMatching(/^[89A-Z][0-9A-HJKMNP-TV-Z]{25}$/), // first character overflows the 48-bit time
  fc.ulid().map((u) => u.slice(0, 25)),
  fc.ulid().map((u) => `${u}0`),
  fc
    .tuple(fc.ulid(), fc.constantFrom('I', 'L', 'O', 'U', '-', ' ', 'é'), fc.nat(25))
    .map(([u, c, i]) => u.slice(0, i) + c + u.slice(i + 1)),
);
const FIELDS = new Set(['title', 'description', 'completed', 'id']);
const unknownKey = fc
  .oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'userId',
      'taskId',
      'version',
      'createdAt',
      'Title',
      'title ',
    ),
    fc.string({ minLength: 1, maxLength: 12 }),
  )
  .filter((key) => !FIELDS.has(key));

/** JSON text that JSON.parse refuses: a valid body cut short or with a stray character. */
const malformedJson = fc
  .tuple(
    validTitle,
    fc.nat(),
    fc.constantFrom('', '{', '}', '[', ']', ',', ':', '"', '\\', "'", 'undefined', 'NaN', '/*', '\u0000'),
  )
  .map(([title, at, stray]) => {
    const text = JSON.stringify({ title });
    const cut = at % text.length;
    return stray === '' ? text.slice(0, cut) : text.slice(0, cut) + stray + text.slice(cut);
  })
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });

const duplicateKeys = fc
  .tuple(fc.constantFrom('title', 'description', 'completed', 'id'), fc.boolean(), validTitle)
  .map(([key, escaped, value]) => {
    const second = escaped ? `"\\u${key.charCodeAt(0).toString(16).padStart(4, '0')}${key.slice(1)}"` : JSON.stringify(key);
    return `{"title":${JSON.stringify(value)},${JSON.stringify(key)}:"a",${second}:"b"}`;
  });

const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 5_000 }), fc.constantFrom('array', 'object', 'inside'))
  .map(([depth, kind]) =>
    kind === 'array'
      ? '['.repeat(depth) + ']'.repeat(depth)
      : kind === 'object'
        ? '{"a":'.repeat(Math.min(depth, 2_500)) + '1' + '}'.repeat(Math.min(depth, 2_500))
        : `{"title":"deep","description":${'['.repeat(depth)}${']'.repeat(depth)}}`,
  );

/** Bodies no route accepts, whatever its fields. */
const hostileAnyRoute = fc.oneof(
  nonObjectJson.map((v) => JSON.stringify(v)),
  malformedJson,
  duplicateKeys,
  deepNesting,
  fc.tuple(unknownKey, anyJson).map(([key, value]) => rawObject([[key, JSON.stringify(value)]])),
);

const invalidCreateBody = fc.oneof(
  hostileAnyRoute,
  fc.tuple(validTitle, unknownKey, anyJson).map(([title, key, value]) =>
    rawObject([
      ['title', JSON.stringify(title)],
      [key, JSON.stringify(value)],
    ]),
  ),
  notAString.map((raw) => rawObject([['title', raw]])),
  fc.oneof(tooLongTitle, blankTitle, withLoneSurrogate).map((title) => JSON.stringify({ title })),
  fc
    .tuple(
      validTitle,
      fc.oneof(
        notAString,
        tooLongDescription.map((d) => JSON.stringify(d)),
        withLoneSurrogate.map((d) => JSON.stringify(d)),
      ),
    )
    .map(([title, raw]) =>
      rawObject([
        ['title', JSON.stringify(title)],
        ['description', raw],
      ]),
    ),
  fc
    .tuple(
      validTitle,
      fc.oneof(
        notAUlid.map((id) => JSON.stringify(id)),
        notAString,
      ),
    )
    .map(([title, raw]) =>
      rawObject([
        ['title', JSON.stringify(title)],
        ['id', raw],
      ]),
    ),
  fc.constantFrom('{}', '{"description":"no title"}', '{"id":"01J0000000000000000000000Z"}'),
);

const invalidUpdateBody = fc.oneof(
  hostileAnyRoute,
  fc.constant('{}'),
  fc.tuple(fc.constantFrom('title', 'description', 'completed'), unknownKey, anyJson).map(([field, key, value]) =>
    rawObject([
      [field, field === 'completed' ? 'true' : '"ok"'],
      [key, JSON.stringify(value)],
    ]),
  ),
  fc.constantFrom('id', 'version', 'userId', 'createdAt', 'updatedAt').map((key) =>
    rawObject([
      ['title', '"ok"'],
      [key, '"01J0000000000000000000000Z"'],
    ]),
  ),
  notAString.map((raw) => rawObject([['title', raw]])),
  fc.oneof(tooLongTitle, blankTitle, withLoneSurrogate).map((title) => JSON.stringify({ title })),
  fc
    .oneof(
      notAString,
      tooLongDescription.map((d) => JSON.stringify(d)),
    )
    .map((raw) => rawObject([['description', raw]])),
  notABoolean.map((raw) => rawObject([['completed', raw]])),
);

const invalidCompleteBody = fc.oneof(
  hostileAnyRoute.filter((text) => text !== '{}'),
  notABoolean.map((raw) => rawObject([['completed', raw]])),
  fc.tuple(unknownKey, anyJson).map(([key, value]) =>
    rawObject([
      ['completed', 'true'],
      [key, JSON.stringify(value)],
    ]),
  ),
);

/** Header values fetch can send: printable ASCII (and tab), no CR/LF/NUL. */
const headerValue = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 })
  .map((s) => s.trim());
/** If-Match values that cannot be a list of entity tags: they hold a character no tag or `*` has. */
const garbageIfMatch = fc.oneof(
  headerValue.filter((s) => !/^[\s"W/0-9*,]*$/.test(s)),
  fc.constantFrom(
    '',
    ',',
    '""',
    '"',
    '"1',
    '1"',
    'W/',
    'W/""',
    '"-1"',
    '"1.0"',
    '"0x1"',
    '"1e3"',
    '"9999999999999999"',
    '**',
    '*,"1"',
    '"1" "2"',
  ),
);
/** Media types the handler must refuse with 415 even around a valid JSON body. */
const token = fc.stringMatching(/^[a-z0-9!#$&^_.+-]{1,12}$/);
const wrongMediaType = fc.oneof(
  fc
    .tuple(token, token)
    .map(([t, s]) => `${t}/${s}`)
    .filter((type) => type !== 'application/json'),
  fc.constantFrom(
    'text/plain',
    'text/plain; charset=utf-8',
    'text/json',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/jsonp',
    'application/javascript',
    'application/xml',
    'application/octet-stream',
    '*/*',
    'application/*',
    'json',
    'application/',
    'application/json, text/plain',
    'application/json/x',
  ),
  fc
    .constantFrom('latin1', 'iso-8859-1', 'utf-16', 'utf-16le', 'utf-32', 'us-ascii', 'windows-1252', 'utf-7', '""')
    .map((cs) => `application/json; charset=${cs}`),
  headerValue.filter((s) => !/^\s*application\/json\s*(;|$)/i.test(s)),
);
/** Request headers a client may add; none of them may change an answer. */
const RESERVED_HEADERS = new Set([
  'authorization',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'if-match',
  'host',
  'connection',
  'expect',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
]);
const extraHeaders = fc.dictionary(
  fc
    .oneof(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      fc.constantFrom(
        'constructor',
        '__proto__',
        'tostring',
        'x-http-method-override',
        'x-user-id',
        'cookie',
        'origin',
        'x-forwarded-for',
        'range',
        'accept',
      ),
    )
    .filter((name) => !RESERVED_HEADERS.has(name)),
  headerValue,
  { maxKeys: 8 },
);

/** Path ids that name no task: not ULIDs, encoded oddly, or valid ULIDs nobody created. */
const missingPathId = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(percentEncodeAll),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  notAUlid.filter((s) => s.length > 0).map(encodeURIComponent),
  fc.integer({ min: 300, max: 8_000 }).map((n) => 'A'.repeat(n)),
  fc.ulid(),
  fc.ulid().map((u) => u.toLowerCase()),
  fc.ulid().map(percentEncodeAll),
  fc.constantFrom(
    '%',
    '%%',
    '%zz',
    '%00',
    '%2F',
    'a%2Fb',
    '%2e',
    '%c0%ae',
    '%ff%fe',
    '..;',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '*',
    '%u0041',
    '~',
    "'",
    '"',
  ),
);

// ---------------------------------------------------------------- the tests

describe('hostile HTTP input on every route', { timeout: 60_000 }, () => {
  let token: string;
  let api: Client;
  let seeded: Task[];
  /** The user's tasks as last seen; every refused request must leave them exactly so. */
  let known: Task[];

  async function snapshot(): Promise<Task[]> {
    const res = await api<ListTasksResponse>('GET', `/tasks?limit=${LIMITS.listMaxLimit}`);
    expect(res.status, res.text).toBe(200);
    return res.body.tasks;
  }

  /** Compares the stored tasks with those seen before this request, then remembers them. */
  async function expectUnchanged(label: string): Promise<void> {
    const now = await snapshot();
    const before = known;
    known = now;
    expect(now, `${label}: a refused request changed stored tasks`).toEqual(before);
  }

  const fuzz = <T>(name: string, numRuns: number, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>) =>
    fuzzProperty(figures.properties, name, numRuns, arbitrary, check);

  const anySeed = () => fc.nat().map((i) => seeded[i % seeded.length]!);

  beforeAll(async () => {
    token = await getToken(stack.tokenUrl, newUser());
    api = apiClient(stack.apiUrl, token);
    for (const [i, body] of [
      { title: 'Buy milk', description: '2 litres' },
      { title: 'Call mum' },
      { title: 'Ship it', description: 'Friday' },
      { title: 'Water plants' },
      { title: 'Book flights' },
    ].entries()) {
      const res = await api<Task>('POST', '/tasks', { body });
      expect(res.status).toBe(201);
      if (i === 1) expect((await api('PATCH', `/tasks/${res.body.id}/complete`)).status).toBe(200);
    }
    known = await snapshot();
    seeded = known;
    expect(seeded).toHaveLength(5);
  });

  afterAll(async () => {
    console.log(
      `[hostile-http] ${figures.properties.length} properties, ${figures.properties.reduce((n, p) => n + p.runs, 0)} runs, ` +
        `${figures.explicitCases} explicit cases; ${figures.requests} hostile requests: ${figures.refused} refused with a contract 4xx, ` +
        `${figures.accepted} accepted (valid input), ${figures.serverErrors} 5xx; by status ${JSON.stringify(figures.byStatus)}`,
    );
    await recordSecurityFigures('hostileHttp', figures);
  });

  describe('properties', () => {
    it('POST /tasks refuses every invalid body with 400 (413 when over the limit) and creates nothing', async () => {
      await fuzz('POST /tasks invalid bodies', 80, invalidCreateBody, async (text) => {
        const res = await send(api, 'POST', '/tasks', { rawBody: text, headers: JSON_TYPE });
        expectContractError(res, Buffer.byteLength(text) > MAX ? [413] : [400], `POST ${text.slice(0, 120)}`);
        await expectUnchanged(`POST ${text.slice(0, 120)}`);
      });
    });

    it('PUT /tasks/{id} refuses every invalid body with 400 and leaves the task as it was', async () => {
      await fuzz('PUT /tasks/{id} invalid bodies', 80, fc.tuple(anySeed(), invalidUpdateBody), async ([task, text]) => {
        const res = await send(api, 'PUT', `/tasks/${task.id}`, { rawBody: text, headers: JSON_TYPE });
        expectContractError(res, Buffer.byteLength(text) > MAX ? [413] : [400], `PUT ${text.slice(0, 120)}`);
        await expectUnchanged(`PUT ${text.slice(0, 120)}`);
      });
    });

    it('PATCH /tasks/{id}/complete refuses every invalid body with 400 and leaves the task as it was', async () => {
      await fuzz('PATCH complete invalid bodies', 60, fc.tuple(anySeed(), invalidCompleteBody), async ([task, text]) => {
        const res = await send(api, 'PATCH', `/tasks/${task.id}/complete`, { rawBody: text, headers: JSON_TYPE });
        expectContractError(res, Buffer.byteLength(text) > MAX ? [413] : [400], `PATCH ${text.slice(0, 120)}`);
        await expectUnchanged(`PATCH ${text.slice(0, 120)}`);
      });
    });

    it('answers 404 for every path id that names no task, on every route with an id', async () => {
      const routes = fc.constantFrom(
        { method: 'GET', suffix: '', body: undefined },
        { method: 'PUT', suffix: '', body: { title: 'not stored' } },
        { method: 'PATCH', suffix: '/complete', body: undefined },
        { method: 'DELETE', suffix: '', body: undefined },
      );
      await fuzz('path ids naming no task', 80, fc.tuple(routes, missingPathId), async ([route, id]) => {
        const path = `/tasks/${id}${route.suffix}`;
        const res = await send(api, route.method, path, route.body ? { body: route.body } : {});
        expectContractError(res, [404], `${route.method} ${path.slice(0, 120)}`);
        if (route.method !== 'GET') await expectUnchanged(`${route.method} ${path.slice(0, 120)}`);
      });
    });

    it('answers GET /tasks query strings as the contract says: bad limit or cursor 400, anything else ignored', async () => {
      const firstPage = await api<ListTasksResponse>('GET', '/tasks?limit=2');
      const goodCursor = firstPage.body.nextCursor!;
      const stranger = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
      await stranger('POST', '/tasks', { body: { title: 'a' } });
      await stranger('POST', '/tasks', { body: { title: 'b' } });
      const strangersCursor = (await stranger<ListTasksResponse>('GET', '/tasks?limit=1')).body.nextCursor!;
      const decodesTo = (raw: string) => {
        try {
          return decodeURIComponent(raw);
        } catch {
          return raw;
        }
      };
      type Part = { kind: 'noise' | 'badLimit' | 'goodLimit' | 'badCursor' | 'goodCursor'; raw: string; limit?: number };
      const noise = fc
        .tuple(
          fc.oneof(
            fc.string({ maxLength: 10 }),
            fc.constantFrom('__proto__', 'constructor', 'toString', 'LIMIT', 'Cursor', 'limit[]', 'limit ', ''),
          ),
          fc.string({ maxLength: 15 }),
          fc.boolean(),
        )
        .filter(([name]) => !['limit', 'cursor'].includes(name))
        .map(
          ([name, value, bare]): Part => ({
            kind: 'noise',
            raw: bare ? encodeURIComponent(name) : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
          }),
        )
        .filter((part) => !['limit', 'cursor'].includes(decodesTo(part.raw.split('=')[0]!)));
      const badLimit = fc
        .oneof(
          fc.constantFrom(
            '',
            '0',
            '101',
            '1000',
            '-1',
            '+5',
            // Spaces percent-encoded: a raw trailing space at the end of the URL is stripped by the
            // client's URL parser (WHATWG), so the server would see a valid `limit=5`.
            '%205',
            '5%20',
            '1.5',
            '1e1',
            '0x10',
            'NaN',
            'Infinity',
            '٣',
            '５',
            '%zz',
            '%00',
            '10%00',
            'null',
            '[]',
          ),
          fc.integer({ min: 101, max: 1_000_000 }).map(String),
          fc
            .string({ maxLength: 8 })
            .filter((s) => !/^\d{1,3}$/.test(s))
            .map(encodeURIComponent),
        )
        .map((value): Part => ({ kind: 'badLimit', raw: `limit=${value}` }));
      const goodLimit = fc.integer({ min: 1, max: 100 }).map((n): Part => ({ kind: 'goodLimit', raw: `limit=${n}`, limit: n }));
      const badCursor = fc
        .oneof(
          fc.string({ maxLength: 40 }).map(encodeURIComponent),
          fc.stringMatching(/^[A-Za-z0-9_-]{1,300}$/),
          anyJson.map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
          fc
            .record({ v: fc.constantFrom(1, 2, '1'), u: fc.string({ maxLength: 22 }), k: fc.ulid() })
            .map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')),
          fc.constantFrom(
            strangersCursor,
            `${goodCursor}A`,
            `${goodCursor}_`,
            goodCursor.slice(1),
            goodCursor.toLowerCase(),
            Buffer.from(goodCursor, 'base64url').toString('base64'),
            `${goodCursor}=`,
          ),
        )
        .filter((raw) => decodesTo(raw) !== goodCursor)
        .map((value): Part => ({ kind: 'badCursor', raw: `cursor=${value}` }));
      const goodCursorPart = fc.constant<Part>({ kind: 'goodCursor', raw: `cursor=${encodeURIComponent(goodCursor)}` });
      const query = fc.array(fc.oneof({ weight: 4, arbitrary: noise }, badLimit, goodLimit, badCursor, goodCursorPart), {
        maxLength: 5,
      });

      await fuzz('GET /tasks query strings', 100, query, async (parts) => {
        const qs = parts.map((p) => p.raw).join('&');
        const res = await send(api, 'GET', `/tasks${qs ? `?${qs}` : ''}`);
        const limits = parts.filter((p) => p.kind === 'badLimit' || p.kind === 'goodLimit');
        const cursors = parts.filter((p) => p.kind === 'badCursor' || p.kind === 'goodCursor');
        // Payload format 2.0 joins a repeated parameter with commas, so a repeat is never valid.
        const invalid =
          limits.length > 1 ||
          cursors.length > 1 ||
          limits.some((p) => p.kind === 'badLimit') ||
          cursors.some((p) => p.kind === 'badCursor');
        if (invalid) {
          expectContractError(res, [400], `GET /tasks?${qs}`);
          return;
        }
        expect(res.status, `GET /tasks?${qs} → ${res.text.slice(0, 300)}`).toBe(200);
        const start = cursors.length > 0 ? 2 : 0;
        const limit = limits[0]?.limit ?? LIMITS.listDefaultLimit;
        const body = res.body as ListTasksResponse;
        expect(body.tasks).toEqual(seeded.slice(start, start + limit));
        expect(body.nextCursor === null, qs).toBe(start + limit >= seeded.length);
      });
    });

    it('refuses a valid JSON body sent with any other media type with 415 on every route with a body', async () => {
      const routes = fc.constantFrom(
        { method: 'POST', path: () => '/tasks', body: { title: 'smuggled' } },
        { method: 'PUT', path: (t: Task) => `/tasks/${t.id}`, body: { title: 'smuggled' } },
        { method: 'PATCH', path: (t: Task) => `/tasks/${t.id}/complete`, body: { completed: true } },
        { method: 'DELETE', path: (t: Task) => `/tasks/${t.id}`, body: {} },
      );
      await fuzz('wrong media types', 80, fc.tuple(routes, anySeed(), wrongMediaType), async ([route, task, type]) => {
        const path = route.path(task);
        const res = await send(api, route.method, path, {
          rawBody: JSON.stringify(route.body),
          headers: { 'content-type': type },
        });
        expectContractError(res, [415], `${route.method} ${path} content-type: ${type}`);
        await expectUnchanged(`${route.method} ${path} content-type: ${type}`);
      });
    });

    it('refuses a malformed If-Match with 400 on PUT, PATCH and DELETE and leaves the task as it was', async () => {
      const routes = fc.constantFrom(
        { method: 'PUT', suffix: '', body: { title: 'If-Match bypass' } as object | undefined },
        { method: 'PATCH', suffix: '/complete', body: { completed: false } },
        { method: 'DELETE', suffix: '', body: undefined },
      );
      await fuzz('malformed If-Match', 80, fc.tuple(routes, anySeed(), garbageIfMatch), async ([route, task, ifMatch]) => {
        const path = `/tasks/${task.id}${route.suffix}`;
        const res = await send(api, route.method, path, {
          ...(route.body ? { body: route.body } : {}),
          headers: { 'if-match': ifMatch },
        });
        expectContractError(res, [400], `${route.method} ${path} If-Match: ${ifMatch}`);
        await expectUnchanged(`${route.method} ${path} If-Match: ${ifMatch}`);
      });
    });

    it('answers 412 with the current task for every well-formed but stale If-Match, and changes nothing', async () => {
      const routes = fc.constantFrom(
        { method: 'PUT', suffix: '', body: { title: 'stale writer' } as object | undefined },
        { method: 'PATCH', suffix: '/complete', body: undefined },
        { method: 'DELETE', suffix: '', body: undefined },
      );
      const versions = fc.array(fc.integer({ min: 0, max: 999_999_999_999_999 }), { minLength: 1, maxLength: 20 });
      const style = fc.constantFrom(
        (v: number) => `"${v}"`,
        (v: number) => `W/"${v}"`,
        (v: number) => String(v),
        (v: number) => ` "${v}" `,
      );
      await fuzz('stale If-Match', 60, fc.tuple(routes, anySeed(), versions, style), async ([route, task, list, tag]) => {
        fc.pre(!list.includes(task.version));
        const path = `/tasks/${task.id}${route.suffix}`;
        const ifMatch = list.map(tag).join(',');
        const res = await send(api, route.method, path, {
          ...(route.body ? { body: route.body } : {}),
          headers: { 'if-match': ifMatch },
        });
        expectContractError(res, [412], `${route.method} ${path} If-Match: ${ifMatch}`);
        expect((res.body as ErrorBody).error.current).toEqual(task);
        await expectUnchanged(`${route.method} ${path} If-Match: ${ifMatch}`);
      });
    });

    it('ignores any other request header: reads answer the same, writes with a bad If-Match are still refused', async () => {
      await fuzz('extra headers', 60, fc.tuple(anySeed(), extraHeaders, garbageIfMatch), async ([task, headers, ifMatch]) => {
        const read = await send(api, 'GET', `/tasks/${task.id}`, { headers });
        expect(read.status, `${JSON.stringify(headers)} → ${read.text.slice(0, 300)}`).toBe(200);
        expect(read.body).toEqual(task);
        const write = await send(api, 'PUT', `/tasks/${task.id}`, {
          body: { title: 'header smuggling' },
          headers: { ...headers, 'if-match': ifMatch },
        });
        expectContractError(write, [400], `PUT with ${JSON.stringify(headers)} If-Match: ${ifMatch}`);
        await expectUnchanged(`PUT with ${JSON.stringify(headers)}`);
      });
    });

    it('checks in the contract order: auth, size, media type, JSON and fields, existence, precondition', async () => {
      type Defects = { unauth: boolean; oversize: boolean; media: boolean; json: boolean; missing: boolean; stale: boolean };
      const defects = fc
        .record({
          unauth: fc.boolean(),
          oversize: fc.boolean(),
          media: fc.boolean(),
          json: fc.boolean(),
          missing: fc.boolean(),
          stale: fc.boolean(),
        })
        .filter((d) => Object.values(d).some(Boolean));
      const routes = fc.constantFrom('POST /tasks', 'PUT /tasks/{id}', 'PATCH /tasks/{id}/complete', 'DELETE /tasks/{id}');
      const expected = (route: string, d: Defects) => {
        const hasId = route !== 'POST /tasks';
        if (d.unauth) return 401;
        if (d.oversize) return 413;
        if (d.media) return 415;
        // DELETE ignores a JSON body, so malformed JSON is not a defect there.
        if (d.json && route !== 'DELETE /tasks/{id}') return 400;
        if (d.missing && hasId) return 404;
        if (d.stale && hasId) return 412;
        return undefined;
      };
      const anonymous = apiClient(stack.apiUrl);
      await fuzz(
        'contract check order',
        80,
        fc.tuple(routes, defects, anySeed(), fc.ulid()),
        async ([route, d, task, missingId]) => {
          const status = expected(route, d);
          fc.pre(status !== undefined);
          const [method, template] = route.split(' ') as [string, string];
          const path = template.replace('{id}', d.missing ? missingId : task.id);
          const fields =
            route === 'PATCH /tasks/{id}/complete'
              ? { completed: !task.completed }
              : route === 'DELETE /tasks/{id}'
                ? {}
                : { title: 'ordered' };
          let text = d.json ? JSON.stringify(fields).slice(0, -1) : JSON.stringify(fields);
          if (d.oversize)
            text = d.json
              ? text + ' '.repeat(MAX + 1)
              : `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"pad":"${'x'.repeat(MAX)}"}`;
          const headers: Record<string, string> = { 'content-type': d.media ? 'text/plain' : 'application/json' };
          if (d.stale) headers['if-match'] = `"${task.version + 1}"`;
          const needsBody = route !== 'DELETE /tasks/{id}' || d.oversize || d.media || d.json;
          const client = d.unauth ? anonymous : api;
          const res = await send(client, method, path, { ...(needsBody ? { rawBody: text } : {}), headers });
          expectContractError(res, [status!], `${route} ${JSON.stringify(d)}`);
          await expectUnchanged(`${route} ${JSON.stringify(d)}`);
        },
      );
    });

    it('stores any well-formed Unicode title and description exactly (trimmed title) and refuses lone surrogates', async () => {
      const own = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
      const text = (maxLength: number) =>
        fc.oneof(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength, size: 'large' }),
          fc.string({ unit: 'binary', minLength: 1, maxLength, size: 'large' }),
          fc.string({
            unit: fc.constantFrom(
              '😀',
              '👩‍👩‍👧‍👦',
              'e\u0301',
              '\u202e',
              '\u200f',
              '\u0000',
              '\ufeff',
              '\u2028',
              'ﷺ',
              '𝕏',
              'ß',
              'İ',
            ),
            minLength: 1,
            maxLength: 40,
          }),
          withLoneSurrogate,
        );
      await fuzz(
        'Unicode round trip',
        60,
        fc.tuple(text(200), fc.option(text(400), { nil: undefined })),
        async ([title, description]) => {
          const body = description === undefined ? { title } : { title, description };
          const res = await send(own, 'POST', '/tasks', { body });
          const trimmed = title.trim();
          const wellFormed = !/\p{Cs}/u.test(title) && !/\p{Cs}/u.test(description ?? '');
          const valid = wellFormed && [...trimmed].length >= 1 && [...trimmed].length <= LIMITS.titleMaxChars;
          const label = `POST ${JSON.stringify(body).slice(0, 200)}`;
          if (!valid) {
            expectContractError(res, [400], label);
            return;
          }
          expect(res.status, `${label} → ${res.text.slice(0, 300)}`).toBe(201);
          const stored = await own<Task>('GET', `/tasks/${(res.body as Task).id}`);
          expect(stored.body.title).toBe(trimmed);
          expect(stored.body.description).toBe(description ?? '');
        },
      );
    });

    it('refuses every request without a valid token with 401 first, whatever else is wrong with it', async () => {
      const routes = fc.constantFrom(
        'GET /tasks',
        'POST /tasks',
        'GET /tasks/{id}',
        'PUT /tasks/{id}',
        'PATCH /tasks/{id}/complete',
        'DELETE /tasks/{id}',
      );
      const authorization = fc.oneof(
        fc.constant(undefined),
        fc.constantFrom(
          '',
          'Bearer',
          'Bearer ',
          'Basic YTpi',
          'Bearer null',
          'Bearer undefined',
          'Bearer a.b.c',
          'Bearer ....',
          'bearer eyJhbGciOiJub25lIn0.e30.',
        ),
        headerValue.map((s) => `Bearer ${s}`),
      );
      const body = fc.oneof(
        invalidCreateBody,
        fc.constant(JSON.stringify({ title: 'anonymous' })),
        fc.constant('x'.repeat(MAX + 100)),
      );
      await fuzz(
        'unauthenticated requests',
        60,
        fc.tuple(routes, authorization, body, anySeed(), wrongMediaType),
        async ([route, auth, text, task, type]) => {
          const [method, template] = route.split(' ') as [string, string];
          const path = template.replace('{id}', task.id);
          const headers: Record<string, string> = { 'content-type': type };
          if (auth !== undefined) headers.authorization = auth;
          const res = await send(apiClient(stack.apiUrl), method, path, {
            ...(method === 'GET' ? {} : { rawBody: text }),
            headers,
          });
          expectContractError(res, [401], `${route} authorization: ${auth}`);
          if (method !== 'GET') await expectUnchanged(`${route} authorization: ${auth}`);
        },
      );
    });
  });

  describe('explicit cases', () => {
    /** Runs one named hostile request and checks it is refused with one of `allowed`, changing nothing. */
    async function refused(label: string, allowed: number[], method: string, path: string, options?: Options) {
      figures.explicitCases++;
      const res = await send(api, method, path, options);
      expectContractError(res, allowed, label);
      await expectUnchanged(label);
      return res;
    }

    it('refuses a body just over 16,384 bytes with 413 and accepts one of exactly 16,384', async () => {
      const own = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
      const base = JSON.stringify({ title: 'edge of the limit' });
      // Insignificant whitespace pads a valid body to the exact size.
      const exact = base.slice(0, -1) + ' '.repeat(MAX - base.length) + '}';
      expect(Buffer.byteLength(exact)).toBe(MAX);
      figures.explicitCases++;
      expect((await send(own, 'POST', '/tasks', { rawBody: exact, headers: JSON_TYPE })).status).toBe(201);
      await refused('16,385 bytes', [413], 'POST', '/tasks', {
        rawBody: base.slice(0, -1) + ' '.repeat(MAX - base.length + 1) + '}',
        headers: JSON_TYPE,
      });
      await refused('16,385 bytes of multi-byte text', [413], 'POST', '/tasks', {
        body: { title: 'x', description: '😀'.repeat(Math.ceil(MAX / 4)) },
      });
      await refused('16,385 bytes on PUT', [413], 'PUT', `/tasks/${seeded[0]!.id}`, {
        rawBody: `{"title":"${'y'.repeat(MAX)}"}`,
        headers: JSON_TYPE,
      });
    });

    it('refuses multi-megabyte bodies with 413 and stays up', async () => {
      await refused('3 MB JSON', [413], 'POST', '/tasks', { body: { title: 'x', description: 'y'.repeat(3_000_000) } });
      await refused('3 MB binary', [413], 'PUT', `/tasks/${seeded[2]!.id}`, {
        rawBody: Buffer.alloc(3_000_000, 0xff),
        headers: { 'content-type': 'application/octet-stream' },
      });
      // Over API Gateway's own 10 MB payload quota the gateway answers before any Lambda,
      // with its own body (an HTTP API cannot customise gateway responses).
      figures.explicitCases++;
      const huge = await send(api, 'POST', '/tasks', { body: { title: 'x', description: 'y'.repeat(11 * 1024 * 1024) } });
      expect(huge.status).toBe(413);
      expect(huge.body).toEqual({ message: 'Request Entity Too Large' });
      await expectUnchanged('11 MB');
    });

    it('refuses deeply nested JSON with 400 or 413, never a stack overflow', async () => {
      const arrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
      await refused('10,000 nested arrays', [400, 413], 'POST', '/tasks', { rawBody: arrays(10_000), headers: JSON_TYPE });
      await refused('8,000 nested arrays (within 16 KB)', [400], 'POST', '/tasks', {
        rawBody: arrays(8_000),
        headers: JSON_TYPE,
      });
      await refused('2,700 nested objects', [400], 'PUT', `/tasks/${seeded[0]!.id}`, {
        rawBody: '{"a":'.repeat(2_700) + '1' + '}'.repeat(2_700),
        headers: JSON_TYPE,
      });
      await refused('nested arrays as the description', [400], 'POST', '/tasks', {
        rawBody: `{"title":"t","description":${arrays(7_000)}}`,
        headers: JSON_TYPE,
      });
      await refused('nested arrays as completed', [400], 'PATCH', `/tasks/${seeded[0]!.id}/complete`, {
        rawBody: `{"completed":${arrays(7_000)}}`,
        headers: JSON_TYPE,
      });
      await refused('100,000 nested arrays, 200 KB', [413], 'POST', '/tasks', { rawBody: arrays(100_000), headers: JSON_TYPE });
    });

    it('handles Unicode edge cases: 200 emoji are a valid title, 201 are not, lone surrogates and invalid UTF-8 are never stored', async () => {
      const own = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
      const accepted = async (label: string, body: Record<string, string>, title = body.title!.trim()) => {
        figures.explicitCases++;
        const res = await send(own, 'POST', '/tasks', { body });
        expect(res.status, `${label}: ${res.text.slice(0, 200)}`).toBe(201);
        expect((await own<Task>('GET', `/tasks/${(res.body as Task).id}`)).body.title, label).toBe(title);
      };
      await accepted('200 emoji', { title: '😀'.repeat(200) });
      await accepted('NUL inside', { title: 'a\u0000b', description: '\u0000' });
      await accepted('RTL override and marks', { title: '\u202eevil.exe\u202c \u200f\u05e9\u05dc\u05d5\u05dd\u200e' });
      await accepted('combining characters', { title: 'e\u0301'.repeat(100) });
      await accepted('astral and wide', { title: '𝕏 中文 ﷺ 🏳️‍🌈' });
      await refused('201 emoji', [400], 'POST', '/tasks', { body: { title: '😀'.repeat(201) } });
      await refused('29 family emoji (7 code points each)', [400], 'POST', '/tasks', { body: { title: '👩‍👩‍👧‍👦'.repeat(29) } });
      await refused('escaped lone high surrogate', [400], 'POST', '/tasks', {
        rawBody: '{"title":"a\\ud800b"}',
        headers: JSON_TYPE,
      });
      await refused('escaped lone low surrogate in description', [400], 'PUT', `/tasks/${seeded[3]!.id}`, {
        rawBody: '{"description":"\\udc00"}',
        headers: JSON_TYPE,
      });
      await refused('byte order mark before the JSON', [400], 'POST', '/tasks', {
        rawBody: '\ufeff{"title":"bom"}',
        headers: JSON_TYPE,
      });
      await refused('only whitespace and zero-width no-break space', [400], 'POST', '/tasks', {
        body: { title: ' \ufeff\u00a0\u3000 ' },
      });

      // Raw bytes that are not UTF-8 (a CESU-8 surrogate, a stray continuation byte,
      // an overlong NUL). A text body reaches the handler already decoded, so it either
      // refuses them or sees U+FFFD; what it stores is well-formed either way.
      for (const bytes of [[0xed, 0xa0, 0x80], [0x80], [0xc0, 0x80], [0xff, 0xfe]]) {
        figures.explicitCases++;
        const raw = Buffer.concat([Buffer.from('{"title":"x'), Buffer.from(bytes), Buffer.from('"}')]);
        const res = await send(own, 'POST', '/tasks', { rawBody: raw, headers: JSON_TYPE });
        if (res.status === 201) expect((res.body as Task).title).toMatch(/^x\ufffd+$/u);
        else expectContractError(res, [400], `invalid UTF-8 ${bytes}`);
      }
      // A body with a content coding is passed base64-encoded (HTTP APIs treat it as
      // binary), so the handler sees the raw bytes and refuses them as not UTF-8.
      figures.explicitCases++;
      const binary = await send(own, 'POST', '/tasks', {
        rawBody: Buffer.from([0x7b, 0x22, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity, x' },
      });
      expectContractError(binary, [400], 'invalid UTF-8 in a base64-encoded body');
    });

    it('refuses bodies that are not application/json with 415, and accepts application/json; charset=UTF-8', async () => {
      const body = JSON.stringify({ title: 'smuggled' });
      await refused('text/plain', [415], 'POST', '/tasks', { rawBody: body, headers: { 'content-type': 'text/plain' } });
      await refused('form', [415], 'POST', '/tasks', {
        rawBody: 'title=smuggled',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      const form = new FormData();
      form.set('title', 'smuggled');
      figures.explicitCases++;
      const multipart = await fetch(`${stack.apiUrl}/tasks`, {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${token}` },
      });
      figures.requests++;
      const multipartText = await multipart.text();
      expectContractError(
        { status: multipart.status, headers: multipart.headers, body: JSON.parse(multipartText), text: multipartText },
        [415],
        'multipart',
      );
      await expectUnchanged('multipart');
      // A Buffer body makes fetch send no Content-Type at all.
      await refused('no content type', [415], 'POST', '/tasks', { rawBody: Buffer.from(body) });
      await refused('no content type on PUT', [415], 'PUT', `/tasks/${seeded[0]!.id}`, { rawBody: Buffer.from(body) });
      await refused('charset=latin1', [415], 'POST', '/tasks', {
        rawBody: body,
        headers: { 'content-type': 'application/json; charset=latin1' },
      });
      await refused('gzip-encoded JSON', [400], 'POST', '/tasks', {
        rawBody: Buffer.from((await import('node:zlib')).gzipSync(body)),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      figures.explicitCases++;
      const own = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, newUser()));
      const ok = await send(own, 'POST', '/tasks', {
        rawBody: body,
        headers: { 'content-type': 'Application/JSON; charset="UTF-8"' },
      });
      expect(ok.status, ok.text).toBe(201);
    });

    it('refuses duplicate keys, prototype keys, wrong types, huge numbers, arrays and null with 400', async () => {
      const [a, b] = seeded as [Task, Task];
      const cases: Array<[string, string, string, string]> = [
        ['duplicate title', 'POST', '/tasks', '{"title":"a","title":"b"}'],
        ['duplicate via escape', 'PUT', `/tasks/${a.id}`, '{"title":"a","\\u0074itle":"b"}'],
        ['duplicate completed', 'PATCH', `/tasks/${a.id}/complete`, '{"completed":true,"completed":false}'],
        ['__proto__ at the top', 'POST', '/tasks', '{"title":"x","__proto__":{"completed":true,"version":99}}'],
        ['__proto__ only', 'PUT', `/tasks/${a.id}`, '{"__proto__":{"title":"pwned"}}'],
        ['constructor.prototype', 'PUT', `/tasks/${b.id}`, '{"title":"x","constructor":{"prototype":{"title":"pwned"}}}'],
        ['__proto__ on complete', 'PATCH', `/tasks/${a.id}/complete`, '{"__proto__":{"completed":false}}'],
        ['title as a number', 'POST', '/tasks', '{"title":12345}'],
        ['description as a number', 'PUT', `/tasks/${a.id}`, '{"description":1.5}'],
        ['id as a number', 'POST', '/tasks', '{"title":"x","id":12345678901234567890123456}'],
        ['completed as a string', 'PATCH', `/tasks/${a.id}/complete`, '{"completed":"false"}'],
        ['completed as 1e400', 'PUT', `/tasks/${a.id}`, '{"completed":1e400}'],
        ['5,000-digit number', 'PUT', `/tasks/${a.id}`, `{"completed":1${'0'.repeat(5_000)}}`],
        ['-0 title', 'POST', '/tasks', '{"title":-0}'],
        ['array of tasks', 'POST', '/tasks', '[{"title":"a"},{"title":"b"}]'],
        ['array on PUT', 'PUT', `/tasks/${a.id}`, '[{"title":"a"}]'],
        ['null body on POST', 'POST', '/tasks', 'null'],
        ['null body on PUT', 'PUT', `/tasks/${a.id}`, 'null'],
        ['null body on PATCH', 'PATCH', `/tasks/${a.id}/complete`, 'null'],
        ['whitespace body on PATCH', 'PATCH', `/tasks/${a.id}/complete`, '   '],
        ['a JSON string', 'POST', '/tasks', '"title"'],
        ['server-owned fields', 'PUT', `/tasks/${a.id}`, `{"title":"x","version":1,"id":"${b.id}","userId":"someone"}`],
        ['NaN', 'PUT', `/tasks/${a.id}`, '{"completed":NaN}'],
        ['single quotes', 'POST', '/tasks', "{'title':'x'}"],
        ['trailing comma', 'POST', '/tasks', '{"title":"x",}'],
        ['comment', 'POST', '/tasks', '{"title":"x"/*c*/}'],
      ];
      for (const [label, method, path, text] of cases)
        await refused(label, [400], method, path, { rawBody: text, headers: JSON_TYPE });
      await refused('empty body on POST', [400], 'POST', '/tasks', { headers: JSON_TYPE });
      await refused('empty body on PUT', [400], 'PUT', `/tasks/${a.id}`, { headers: JSON_TYPE });
    });

    it('answers 404 for odd path ids, and a 4xx without a crash for a path beyond the request-line limit', async () => {
      const id = seeded[0]!.id;
      for (const path of [
        `/tasks/${'A'.repeat(8_000)}`,
        '/tasks/%',
        '/tasks/%E0%A4%A',
        `/tasks/${id}%00`,
        `/tasks/${id}%2F..%2F`,
        `/tasks/${id};x=1`,
        `/tasks/${id}/`,
        `/tasks/${id}/complete/x`,
        '/tasks//complete',
      ]) {
        await refused(path.slice(0, 60), [404], 'GET', path);
      }
      await refused('PATCH on an odd id', [404], 'PATCH', `/tasks/${encodeURIComponent('../../tasks')}/complete`);
      // Node refuses a request line + headers over 16 KB (431) before any route;
      // AWS's quota is 10,240 bytes. A refusal, not a crash: the API still answers.
      figures.explicitCases++;
      const huge = await send(api, 'GET', `/tasks/${'A'.repeat(20_000)}`);
      expect(huge.status).toBeGreaterThanOrEqual(400);
      expect(huge.status).toBeLessThan(500);
      expect((await api('GET', `/tasks/${id}`)).status).toBe(200);
    });

    it('refuses repeated, empty and odd limit and cursor parameters with 400', async () => {
      const issued = (await api<ListTasksResponse>('GET', '/tasks?limit=1')).body.nextCursor!;
      for (const altered of [
        `${issued}A`,
        `${issued}-`,
        `${issued}==`,
        `${issued}AAAA`,
        issued.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      ]) {
        await refused(`cursor ${altered}`, [400], 'GET', `/tasks?cursor=${encodeURIComponent(altered)}`);
      }
      for (const query of [
        'limit=1&limit=2',
        'limit=5&limit=5',
        'limit=',
        'limit',
        'limit=%zz',
        'limit=10%00',
        'cursor=',
        'cursor',
        'cursor=a&cursor=b',
        `cursor=${'A'.repeat(5_000)}`,
        'cursor=%',
        'cursor=e30',
        'cursor=bnVsbA',
        'cursor=W10',
      ]) {
        await refused(query, [400], 'GET', `/tasks?${query}`);
      }
    });
  });
});
