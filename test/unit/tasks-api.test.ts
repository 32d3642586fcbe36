import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HTTP_ROUTES, LIMITS } from '../../lib/definitions.js';
import type { ChangesResponse, ErrorBody, ListTasksResponse, Task } from '../../lambdas/contract.js';
import { changeKey, WINDOW_MS } from '../../lambdas/tasks/change-feed.js';
import { decodeSyncToken, encodeSyncToken } from '../../lambdas/tasks/sync-token.js';
import { createTasksApi, type TasksApiDeps } from '../../lambdas/tasks/api.js';
import { encodeCursor } from '../../lambdas/tasks/cursor.js';
import type { HttpResponse } from '../../lambdas/tasks/http.js';
import { ROUTES } from '../../lambdas/tasks/router.js';
import { createDynamoTaskStore } from '../../lambdas/tasks/task-store.js';
import { DEFAULT_SUB, httpEvent, type HttpEventOptions } from './fixtures/http-events.js';

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
);

const NOW = new Date('2026-11-27T10:00:00.000Z');
const ID = '01JDZ3V8Q6T3N4W0F2H7K9M5PX';
const GENERATED_ID = '01JDZ40000AAAAAAAAAAAAAAAA';
const logger = { error: vi.fn(), warn: vi.fn() };

const RETENTION_SECONDS = 30 * 86_400;
// The change log is its own module with its own tests (change-log, integration);
// here it only has to be called before each write.
const changeLog = { record: vi.fn(async () => undefined), read: vi.fn(), hasAfter: vi.fn() };
const taskStore = () => createDynamoTaskStore(client, { tableName: 'tasks', changeLog, retentionSeconds: RETENTION_SECONDS });

function api(overrides: Partial<TasksApiDeps> = {}) {
  return createTasksApi({
    store: taskStore(),
    changeLog,
    now: () => NOW,
    newId: () => GENERATED_ID,
    logger,
    ...overrides,
  });
}

function call(options: HttpEventOptions, deps?: Partial<TasksApiDeps>): Promise<HttpResponse> {
  return api(deps)(httpEvent(options));
}

function stored(overrides: Partial<Task> = {}): Task {
  return {
    id: ID,
    title: 'Buy milk',
    description: '2 litres',
    completed: false,
    createdAt: '2026-11-26T09:00:00.000Z',
    updatedAt: '2026-11-26T09:30:00.000Z',
    version: 2,
    ...overrides,
  };
}

/** The table row of a task, as the document client reads and writes it. */
function row(task: Task, userId = DEFAULT_SUB) {
  const { id, ...rest } = task;
  return { userId, taskId: id, ...rest };
}

/** The same row as raw AttributeValues: what a ConditionalCheckFailedException carries. */
function rawRow(task: Task, userId = DEFAULT_SUB): Record<string, AttributeValue> {
  return {
    userId: { S: userId },
    taskId: { S: task.id },
    title: { S: task.title },
    description: { S: task.description },
    completed: { BOOL: task.completed },
    createdAt: { S: task.createdAt },
    updatedAt: { S: task.updatedAt },
    version: { N: String(task.version) },
  };
}

function conditionFailed(current?: Task): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(current ? { Item: rawRow(current) } : {}),
  });
}

/** A failed condition on a tombstone: DynamoDB returns the tombstone item. */
function tombstoneConditionFailed(version: number): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    Item: {
      userId: { S: DEFAULT_SUB },
      taskId: { S: ID },
      deleted: { BOOL: true },
      version: { N: String(version) },
      createdAt: { S: NOW.toISOString() },
      updatedAt: { S: NOW.toISOString() },
      expiresAt: { N: '1800000000' },
    },
  });
}

function json<T>(response: HttpResponse): T {
  return JSON.parse(response.body ?? '') as T;
}

function errorOf(response: HttpResponse): ErrorBody['error'] {
  return json<ErrorBody>(response).error;
}

function storeCalls(): number {
  return ddb.calls().length;
}

afterEach(() => {
  ddb.reset();
  vi.clearAllMocks();
});

describe('tasks API routing', () => {
  it('has a route for every tasks route the HTTP API defines', () => {
    const keys = HTTP_ROUTES.filter((route) => route.fn === 'tasksApi').map((r) => `${r.method} ${r.path}`);
    expect([...ROUTES.keys()].sort()).toEqual(keys.sort());
  });

  it('answers 404 for a route key it does not serve', async () => {
    const res = await call({ routeKey: 'GET /tasks/{id}/history', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('does not treat Object.prototype members as routes', async () => {
    const res = await call({ routeKey: 'constructor' });
    expect(res.statusCode).toBe(404);
  });
});

describe('tasks API authentication', () => {
  it('answers 401 without a sub claim and never touches the store', async () => {
    const res = await call({ routeKey: 'GET /tasks', sub: null });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res)).toEqual({ code: 'UNAUTHORIZED', message: expect.any(String) });
    expect(storeCalls()).toBe(0);
  });

  it('answers 401 when the route has no authorizer context at all', async () => {
    const event = structuredClone(httpEvent({ routeKey: 'GET /tasks' }));
    delete (event.requestContext as { authorizer?: unknown }).authorizer;
    const res = await api()(event);
    expect(res.statusCode).toBe(401);
  });

  it('checks auth before size and media type', async () => {
    const res = await call({
      routeKey: 'POST /tasks',
      sub: null,
      body: 'x'.repeat(LIMITS.httpBodyMaxBytes + 1),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.statusCode).toBe(401);
  });

  it('scopes every store call to the sub claim', async () => {
    ddb.on(GetCommand).resolves({ Item: row(stored(), 'user-b') });
    await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID }, sub: 'user-b' });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ userId: 'user-b', taskId: ID });
  });

  it('ignores a user id given anywhere but the token', async () => {
    ddb.on(PutCommand).resolves({});
    const res = await call({
      routeKey: 'POST /tasks',
      body: { title: 'Mine' },
      headers: { 'x-user-id': 'someone-else' },
      query: 'userId=someone-else',
    });
    expect(res.statusCode).toBe(201);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item?.userId).toBe(DEFAULT_SUB);
  });
});

describe('tasks API size and media type', () => {
  it('answers 413 for a body over the limit in bytes, not characters', async () => {
    // 8,193 two-byte characters: under the limit in characters, over it in bytes.
    const res = await call({ routeKey: 'POST /tasks', body: { title: 'x', description: 'é'.repeat(8_193) } });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('PAYLOAD_TOO_LARGE');
    expect(storeCalls()).toBe(0);
  });

  it('accepts a body of exactly the limit', async () => {
    const body = JSON.stringify({ title: 'x', description: '' });
    const padded = body.replace('{', '{' + ' '.repeat(LIMITS.httpBodyMaxBytes - body.length));
    expect(Buffer.byteLength(padded)).toBe(LIMITS.httpBodyMaxBytes);
    ddb.on(PutCommand).resolves({});
    const res = await call({ routeKey: 'POST /tasks', body: padded });
    expect(res.statusCode).toBe(201);
  });

  it('counts the decoded bytes of a base64-encoded body', async () => {
    ddb.on(PutCommand).resolves({});
    // 13,000-odd bytes decoded, about 17,400 as base64 text.
    const body = `{"title":"x"${' '.repeat(13_000)}}`;
    const encoded = await call({ routeKey: 'POST /tasks', base64: true, body });
    expect(Buffer.from(body).toString('base64').length).toBeGreaterThan(LIMITS.httpBodyMaxBytes);
    expect(encoded.statusCode).toBe(201);
    const tooBig = await call({
      routeKey: 'POST /tasks',
      base64: true,
      body: `{"title":"x"${' '.repeat(LIMITS.httpBodyMaxBytes)}}`,
    });
    expect(tooBig.statusCode).toBe(413);
  });

  it('decodes a base64-encoded body as UTF-8', async () => {
    ddb.on(PutCommand).resolves({});
    const res = await call({ routeKey: 'POST /tasks', base64: true, body: { title: 'Café ☕' } });
    expect(json<Task>(res).title).toBe('Café ☕');
  });

  it('answers 400 for a base64 body that is not UTF-8', async () => {
    const event = httpEvent({ routeKey: 'POST /tasks', body: 'x', base64: true });
    event.body = Buffer.from([0x7b, 0xff, 0x7d]).toString('base64');
    const res = await api()(event);
    expect(res.statusCode).toBe(400);
  });

  it('checks size before media type', async () => {
    const res = await call({
      routeKey: 'POST /tasks',
      body: 'y'.repeat(17_000),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.statusCode).toBe(413);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['a JSON look-alike', 'application/jsonp'],
    ['another charset', 'application/json; charset=iso-8859-1'],
  ])('answers 415 for a body sent as %s', async (_name, contentType) => {
    const res = await call({ routeKey: 'POST /tasks', body: { title: 'x' }, headers: { 'content-type': contentType } });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(storeCalls()).toBe(0);
  });

  it('answers 415 for a body without a content type', async () => {
    const res = await call({ routeKey: 'POST /tasks', body: { title: 'x' }, headers: { 'content-type': undefined } });
    expect(res.statusCode).toBe(415);
  });

  it('checks media type before parsing the body', async () => {
    const res = await call({ routeKey: 'POST /tasks', body: '{"title":', headers: { 'content-type': 'text/plain' } });
    expect(res.statusCode).toBe(415);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON; Charset="UTF-8"'])(
    'accepts the content type %s',
    async (contentType) => {
      ddb.on(PutCommand).resolves({});
      const res = await call({ routeKey: 'POST /tasks', body: { title: 'x' }, headers: { 'content-type': contentType } });
      expect(res.statusCode).toBe(201);
    },
  );

  it('accepts body-less GET, PATCH and DELETE without a content type', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored({ completed: true, version: 3 })) });
    const list = await call({ routeKey: 'GET /tasks' });
    const patch = await call({ routeKey: 'PATCH /tasks/{id}/complete', pathParameters: { id: ID } });
    const remove = await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID } });
    expect([list.statusCode, patch.statusCode, remove.statusCode]).toEqual([200, 200, 204]);
  });
});

describe('POST /tasks', () => {
  it('creates a task with a trimmed title, version 1 and equal timestamps', async () => {
    ddb.on(PutCommand).resolves({});
    const res = await call({ routeKey: 'POST /tasks', body: { title: '  Buy milk  ' } });

    expect(res.statusCode).toBe(201);
    const expected: Task = {
      id: GENERATED_ID,
      title: 'Buy milk',
      description: '',
      completed: false,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      version: 1,
    };
    expect(json<Task>(res)).toEqual(expected);
    expect(res.headers).toMatchObject({ etag: '"1"', 'content-type': 'application/json', 'cache-control': 'no-store' });
    const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.Item).toEqual(row(expected));
    expect(put?.ConditionExpression).toBe('attribute_not_exists(#sk)');
    expect(put?.ExpressionAttributeNames).toEqual({ '#sk': 'taskId' });
    expect(put?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('keeps a client ULID, upper-cased', async () => {
    ddb.on(PutCommand).resolves({});
    const res = await call({ routeKey: 'POST /tasks', body: { id: ID.toLowerCase(), title: 'x', description: 'd' } });
    expect(json<Task>(res)).toMatchObject({ id: ID, description: 'd' });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.Item?.taskId).toBe(ID);
  });

  it('generates sortable ULIDs by default, in creation order within one millisecond', async () => {
    ddb.on(PutCommand).resolves({});
    const handler = createTasksApi({ store: taskStore(), changeLog, now: () => NOW, logger });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(json<Task>(await handler(httpEvent({ routeKey: 'POST /tasks', body: { title: `t${i}` } }))).id);
    }
    for (const id of ids) expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
  });

  it('answers 200 with the stored task when the same id comes again with the same content', async () => {
    const existing = stored({ title: 'Once', description: '', completed: true, version: 3 });
    ddb.on(PutCommand).rejects(conditionFailed(existing));
    const res = await call({ routeKey: 'POST /tasks', body: { id: ID, title: ' Once ' } });
    expect(res.statusCode).toBe(200);
    expect(json<Task>(res)).toEqual(existing);
    expect(res.headers.etag).toBe('"3"');
  });

  it.each([
    ['another title', { title: 'Other' }],
    ['another description', { title: 'Once', description: 'more' }],
  ])('answers 409 when the same id comes again with %s', async (_name, body) => {
    ddb.on(PutCommand).rejects(conditionFailed(stored({ title: 'Once', description: '' })));
    const res = await call({ routeKey: 'POST /tasks', body: { id: ID, ...body } });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('CONFLICT');
  });

  it.each([
    ['bad JSON', '{"title":'],
    ['a duplicate key', '{"title":"a","title":"b"}'],
    ['an escaped duplicate key', '{"title":"a","\\u0074itle":"b"}'],
    ['an array', '[{"title":"a"}]'],
    ['null', 'null'],
    ['a blank title', { title: '   ' }],
    ['a missing title', { description: 'x' }],
    ['a title over 200 characters', { title: 'x'.repeat(201) }],
    ['a title that is not a string', { title: 42 }],
    ['a description over 2000 characters', { title: 'x', description: 'x'.repeat(2_001) }],
    ['a null description', { title: 'x', description: null }],
    ['an unknown field', { title: 'x', owner: 'me' }],
    ['a version', { title: 'x', version: 7 }],
    ['an id that is not a ULID', { title: 'x', id: 'not-a-ulid' }],
    ['an id with an excluded letter', { title: 'x', id: '01JDZ3V8Q6T3N4W0F2H7K9M5PU' }],
    ['an id past the ULID range', { title: 'x', id: '81JDZ3V8Q6T3N4W0F2H7K9M5PX' }],
    ['a lone surrogate', '{"title":"\\ud800"}'],
  ])('answers 400 VALIDATION_FAILED for %s', async (_name, body) => {
    const res = await call({ routeKey: 'POST /tasks', body });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
    expect(storeCalls()).toBe(0);
  });

  it('answers 400 for a missing body', async () => {
    const res = await call({ routeKey: 'POST /tasks' });
    expect(res.statusCode).toBe(400);
  });

  it('names each offending field in the details', async () => {
    const res = await call({ routeKey: 'POST /tasks', body: { title: '', owner: 'me', id: 'x' } });
    expect(errorOf(res).details).toEqual(
      expect.arrayContaining([
        { field: 'title', message: expect.any(String) },
        { field: 'id', message: expect.any(String) },
        { field: 'owner', message: 'Unknown field' },
      ]),
    );
  });

  it('names the duplicate key', async () => {
    const res = await call({ routeKey: 'POST /tasks', body: '{"title":"a","description":"","title":"b"}' });
    expect(errorOf(res).details).toEqual([{ field: 'title', message: 'Duplicate field' }]);
  });

  it('counts title characters as code points, so 200 emoji fit', async () => {
    ddb.on(PutCommand).resolves({});
    const ok = await call({ routeKey: 'POST /tasks', body: { title: '😀'.repeat(200) } });
    expect(ok.statusCode).toBe(201);
    const over = await call({ routeKey: 'POST /tasks', body: { title: '😀'.repeat(201) } });
    expect(over.statusCode).toBe(400);
  });
});

describe('GET /tasks/{id}', () => {
  it('answers the task with its ETag', async () => {
    ddb.on(GetCommand).resolves({ Item: row(stored()) });
    const res = await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(200);
    expect(json<Task>(res)).toEqual(stored());
    expect(res.headers.etag).toBe('"2"');
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ TableName: 'tasks', ConsistentRead: true });
  });

  it("answers 404 for a task that is not there (or is another user's)", async () => {
    ddb.on(GetCommand).resolves({});
    const res = await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('answers 404 for an id that cannot be a ULID, without a store call', async () => {
    const res = await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: 'nope' } });
    expect(res.statusCode).toBe(404);
    expect(storeCalls()).toBe(0);
  });

  it('looks up a lower-case id by its canonical upper-case spelling', async () => {
    ddb.on(GetCommand).resolves({ Item: row(stored()) });
    await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID.toLowerCase() } });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({ userId: DEFAULT_SUB, taskId: ID });
  });
});

describe('GET /tasks', () => {
  const tasks = (count: number) =>
    Array.from({ length: count }, (_, i) => stored({ id: `01JDZ3V8Q6T3N4W0F2H7K9M5${String(i).padStart(2, '0')}` }));

  it("queries the caller's partition oldest first with the default limit", async () => {
    ddb.on(QueryCommand).resolves({ Items: tasks(3).map((t) => row(t)) });
    const res = await call({ routeKey: 'GET /tasks' });
    expect(res.statusCode).toBe(200);
    expect(json<ListTasksResponse>(res)).toEqual({ tasks: tasks(3), nextCursor: null, syncToken: expect.any(String) });
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: 'tasks',
      KeyConditionExpression: '#pk = :userId',
      FilterExpression: 'attribute_not_exists(#deleted)',
      ExpressionAttributeNames: { '#pk': 'userId', '#deleted': 'deleted' },
      ExpressionAttributeValues: { ':userId': DEFAULT_SUB },
      ScanIndexForward: true,
      Limit: LIMITS.listDefaultLimit + 1,
    });
    expect(input?.ExclusiveStartKey).toBeUndefined();
  });

  it('hands out a cursor only when another page exists, and resumes after it', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: tasks(3).map((t) => row(t)), LastEvaluatedKey: { userId: DEFAULT_SUB, taskId: 'x' } })
      .resolvesOnce({
        Items: tasks(3)
          .slice(2)
          .map((t) => row(t)),
      });
    const first = json<ListTasksResponse>(await call({ routeKey: 'GET /tasks', query: 'limit=2' }));
    expect(first.tasks).toEqual(tasks(2));
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.syncToken).toBeUndefined();

    const query = `limit=2&cursor=${encodeURIComponent(first.nextCursor ?? '')}`;
    const second = json<ListTasksResponse>(await call({ routeKey: 'GET /tasks', query }));
    expect(second).toEqual({ tasks: tasks(3).slice(2), nextCursor: null, syncToken: expect.any(String) });
    expect(ddb.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual({
      userId: DEFAULT_SUB,
      taskId: tasks(2)[1]?.id,
    });
  });

  it('reads on when DynamoDB stopped early (1 MB limit, or tombstones filtered out) until the page is full', async () => {
    const all = tasks(5);
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: all.slice(0, 2).map((t) => row(t)), LastEvaluatedKey: { userId: DEFAULT_SUB, taskId: all[1]!.id } })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { userId: DEFAULT_SUB, taskId: 'tombstones-only' } })
      .resolvesOnce({ Items: all.slice(2).map((t) => row(t)) });
    const page = json<ListTasksResponse>(await call({ routeKey: 'GET /tasks', query: 'limit=3' }));
    expect(page.tasks).toEqual(all.slice(0, 3));
    expect(page.nextCursor).toBe(encodeCursor(DEFAULT_SUB, { afterTaskId: all[2]!.id, listStartedAt: NOW.getTime() }));
    const inputs = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs.map((input) => input.Limit)).toEqual([4, 2, 2]);
    expect(inputs[2]?.ExclusiveStartKey).toEqual({ userId: DEFAULT_SUB, taskId: 'tombstones-only' });
  });

  it('ignores query parameters other than limit and cursor', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const res = await call({ routeKey: 'GET /tasks', query: 'limit=7&sort=desc&userId=other' });
    expect(res.statusCode).toBe(200);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({ Limit: 8, ScanIndexForward: true });
  });

  it.each(['limit=', 'limit=abc', 'limit=0', 'limit=101', 'limit=1.5', 'limit=-1', 'limit=1e2', 'limit=%205', 'limit=1&limit=2'])(
    'answers 400 for %s',
    async (query) => {
      const res = await call({ routeKey: 'GET /tasks', query });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).details).toEqual([{ field: 'limit', message: expect.any(String) }]);
      expect(storeCalls()).toBe(0);
    },
  );

  it.each(['1', '100'])('accepts limit=%s', async (limit) => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const res = await call({ routeKey: 'GET /tasks', query: `limit=${limit}` });
    expect(res.statusCode).toBe(200);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.Limit).toBe(Number(limit) + 1);
  });

  it('answers 400 for a cursor issued to another user', async () => {
    const theirs = encodeCursor('someone-else', { afterTaskId: ID, listStartedAt: NOW.getTime() });
    const res = await call({ routeKey: 'GET /tasks', query: `cursor=${theirs}` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    expect(storeCalls()).toBe(0);
  });

  it.each(['cursor=', 'cursor=garbage', `cursor=${Buffer.from('{"k":"x"}').toString('base64url')}`])(
    'answers 400 for %s',
    async (query) => {
      const res = await call({ routeKey: 'GET /tasks', query });
      expect(res.statusCode).toBe(400);
      expect(storeCalls()).toBe(0);
    },
  );

  it('reports a bad limit and a bad cursor together', async () => {
    const res = await call({ routeKey: 'GET /tasks', query: 'limit=0&cursor=junk' });
    expect(errorOf(res).details?.map((d) => (d as { field: string }).field)).toEqual(['limit', 'cursor']);
  });
});

describe('PUT /tasks/{id}', () => {
  it('sets only the given fields, bumps the version and stamps updatedAt', async () => {
    const updated = stored({ title: 'Oat milk', version: 3, updatedAt: NOW.toISOString() });
    ddb.on(UpdateCommand).resolves({ Attributes: row(updated) });
    const res = await call({ routeKey: 'PUT /tasks/{id}', pathParameters: { id: ID }, body: { title: ' Oat milk ' } });

    expect(res.statusCode).toBe(200);
    expect(json<Task>(res)).toEqual(updated);
    expect(res.headers.etag).toBe('"3"');
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Key: { userId: DEFAULT_SUB, taskId: ID },
      UpdateExpression: 'SET #updatedAt = :updatedAt, #version = #version + :one, #title = :title',
      ConditionExpression: 'attribute_exists(#sk) AND attribute_not_exists(#deleted)',
      ExpressionAttributeValues: { ':updatedAt': NOW.toISOString(), ':one': 1, ':title': 'Oat milk' },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('updates all three fields at once', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored()) });
    await call({
      routeKey: 'PUT /tasks/{id}',
      pathParameters: { id: ID },
      body: { title: 't', description: '', completed: true },
    });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues).toMatchObject({
      ':title': 't',
      ':description': '',
      ':completed': true,
    });
  });

  it.each([
    ['an empty object', {}],
    ['a wrong type', { completed: 'yes' }],
    ['an unknown field', { title: 'x', id: ID }],
    ['a blank title', { title: ' ' }],
  ])('answers 400 for %s', async (_name, body) => {
    const res = await call({ routeKey: 'PUT /tasks/{id}', pathParameters: { id: ID }, body });
    expect(res.statusCode).toBe(400);
    expect(storeCalls()).toBe(0);
  });

  it('answers 400 for a missing body', async () => {
    const res = await call({ routeKey: 'PUT /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(400);
  });

  it('checks the body (400) before existence (404)', async () => {
    const res = await call({ routeKey: 'PUT /tasks/{id}', pathParameters: { id: 'not-a-ulid' }, body: { bogus: 1 } });
    expect(res.statusCode).toBe(400);
  });

  it('answers 404 when the task is not there', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const res = await call({
      routeKey: 'PUT /tasks/{id}',
      pathParameters: { id: ID },
      body: { title: 'x' },
      headers: { 'if-match': '"2"' },
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('makes the write conditional on the If-Match version', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored({ version: 3 })) });
    await call({ routeKey: 'PUT /tasks/{id}', pathParameters: { id: ID }, body: { title: 'x' }, headers: { 'if-match': '"2"' } });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_exists(#sk) AND attribute_not_exists(#deleted) AND #version = :v0');
    expect(input?.ExpressionAttributeValues?.[':v0']).toBe(2);
  });

  it('answers 412 with the current task when If-Match no longer matches', async () => {
    const current = stored({ title: 'First writer', version: 5 });
    ddb.on(UpdateCommand).rejects(conditionFailed(current));
    const res = await call({
      routeKey: 'PUT /tasks/{id}',
      pathParameters: { id: ID },
      body: { title: 'x' },
      headers: { 'if-match': '"4"' },
    });
    expect(res.statusCode).toBe(412);
    expect(errorOf(res)).toEqual({ code: 'PRECONDITION_FAILED', message: expect.any(String), current });
  });

  it.each([
    ['*', 'attribute_exists(#sk) AND attribute_not_exists(#deleted)'],
    ['W/"2"', 'attribute_exists(#sk) AND attribute_not_exists(#deleted) AND #version = :v0'],
    ['2', 'attribute_exists(#sk) AND attribute_not_exists(#deleted) AND #version = :v0'],
    ['"1", "2"', 'attribute_exists(#sk) AND attribute_not_exists(#deleted) AND #version IN (:v0, :v1)'],
  ])('accepts If-Match %s', async (ifMatch, condition) => {
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored()) });
    const res = await call({
      routeKey: 'PUT /tasks/{id}',
      pathParameters: { id: ID },
      body: { title: 'x' },
      headers: { 'if-match': ifMatch },
    });
    expect(res.statusCode).toBe(200);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(condition);
  });

  it.each(['', '"abc"', '"2', 'v2', '"-1"', '*, "2"', '"1",'])('answers 400 for the malformed If-Match %j', async (ifMatch) => {
    const res = await call({
      routeKey: 'PUT /tasks/{id}',
      pathParameters: { id: ID },
      body: { title: 'x' },
      headers: { 'if-match': ifMatch },
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).details).toEqual([{ field: 'if-match', message: expect.any(String) }]);
    expect(storeCalls()).toBe(0);
  });
});

describe('PATCH /tasks/{id}/complete', () => {
  it.each([
    ['no body', undefined, true],
    ['an empty object', {}, true],
    ['completed: false', { completed: false }, false],
    ['completed: true', { completed: true }, true],
  ])('with %s sets completed to %s', async (_name, body, completed) => {
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored({ completed, version: 3 })) });
    const res = await call({ routeKey: 'PATCH /tasks/{id}/complete', pathParameters: { id: ID }, body });
    expect(res.statusCode).toBe(200);
    expect(json<Task>(res).completed).toBe(completed);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ExpressionAttributeValues?.[':completed']).toBe(completed);
  });

  it('treats an empty body with a JSON content type as no body', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: row(stored({ completed: true })) });
    const res = await call({
      routeKey: 'PATCH /tasks/{id}/complete',
      pathParameters: { id: ID },
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['a wrong type', { completed: 'no' }],
    ['an unknown field', { completed: true, title: 'x' }],
    ['bad JSON', '{'],
  ])('answers 400 for %s', async (_name, body) => {
    const res = await call({ routeKey: 'PATCH /tasks/{id}/complete', pathParameters: { id: ID }, body });
    expect(res.statusCode).toBe(400);
    expect(storeCalls()).toBe(0);
  });

  it('answers 412 with the current task on a stale If-Match', async () => {
    const current = stored({ version: 9 });
    ddb.on(UpdateCommand).rejects(conditionFailed(current));
    const res = await call({
      routeKey: 'PATCH /tasks/{id}/complete',
      pathParameters: { id: ID },
      headers: { 'if-match': '"8"' },
    });
    expect(res.statusCode).toBe(412);
    expect(errorOf(res).current).toEqual(current);
  });

  it("answers 404 for another user's task", async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const res = await call({ routeKey: 'PATCH /tasks/{id}/complete', pathParameters: { id: ID }, sub: 'intruder' });
    expect(res.statusCode).toBe(404);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.Key).toEqual({ userId: 'intruder', taskId: ID });
  });
});

describe('DELETE /tasks/{id}', () => {
  it('answers 204 and leaves a tombstone: the next version, no content, expiring after the retention', async () => {
    ddb.on(UpdateCommand).resolves({});
    const res = await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBeUndefined();
    expect(res.headers['content-type']).toBeUndefined();
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Key: { userId: DEFAULT_SUB, taskId: ID },
      ConditionExpression: 'attribute_exists(#sk) AND attribute_not_exists(#deleted)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(input?.UpdateExpression).toBe(
      'SET #deleted = :true, #version = #version + :one, #updatedAt = :at, #expiresAt = :expiresAt REMOVE #title, #description, #completed',
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':at': NOW.toISOString(),
      ':expiresAt': NOW.getTime() / 1000 + RETENTION_SECONDS,
    });
  });

  it('records the change before it writes the task', async () => {
    const order: string[] = [];
    changeLog.record.mockImplementationOnce(async () => {
      order.push('change');
    });
    ddb.on(UpdateCommand).callsFake(() => {
      order.push('task');
      return {};
    });
    await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID } });
    expect(order).toEqual(['change', 'task']);
    expect(changeLog.record).toHaveBeenCalledWith(DEFAULT_SUB, ID, NOW.toISOString());
  });

  it('answers 404 when the task is not there', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    const res = await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(404);
  });

  it('answers 404 when the task is already a tombstone, whatever If-Match says', async () => {
    ddb.on(UpdateCommand).rejects(tombstoneConditionFailed(3));
    const res = await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID }, headers: { 'if-match': '"3"' } });
    expect(res.statusCode).toBe(404);
  });

  it('answers 412 with the current task on a stale If-Match', async () => {
    const current = stored({ version: 2 });
    ddb.on(UpdateCommand).rejects(conditionFailed(current));
    const res = await call({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: ID }, headers: { 'if-match': '"1"' } });
    expect(res.statusCode).toBe(412);
    expect(errorOf(res).current).toEqual(current);
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('attribute_exists(#sk) AND attribute_not_exists(#deleted) AND #version = :v0');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':v0': 1 });
  });
});

describe('tasks API store failures', () => {
  const sdkError = (name: string) =>
    new DynamoDBServiceException({ name, $fault: 'server', message: `${name} happened`, $metadata: {} });

  it.each([
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
    ],
    ['ThrottlingException', new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['RequestLimitExceeded', new RequestLimitExceeded({ message: 'slow down', $metadata: {} })],
  ])('answers 429 with retry-after for %s', async (_name, error) => {
    ddb.on(GetCommand).rejects(error);
    const res = await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(429);
    expect(errorOf(res).code).toBe('TOO_MANY_REQUESTS');
    expect(res.headers['retry-after']).toBe('1');
    expect(logger.warn).toHaveBeenCalled();
  });

  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' })],
    [
      'a refused dual-stack connection',
      new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:8000'), { code: 'ECONNREFUSED' })], ''),
    ],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['an SDK timeout', Object.assign(new Error('Socket timed out without establishing a connection'), { name: 'TimeoutError' })],
    ['InternalServerError', new InternalServerError({ message: 'oops', $metadata: {} })],
    ['ServiceUnavailable', sdkError('ServiceUnavailable')],
  ])('answers 503 with retry-after for %s', async (_name, error) => {
    ddb.on(QueryCommand).rejects(error);
    const res = await call({ routeKey: 'GET /tasks' });
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('answers 500 "Internal error" for anything else, logging it but returning no detail', async () => {
    const error = sdkError('ValidationException');
    error.message = 'One or more parameter values were invalid: secret table detail';
    ddb.on(PutCommand).rejects(error);
    const res = await call({ routeKey: 'POST /tasks', body: { title: 'x' } });

    expect(res.statusCode).toBe(500);
    expect(json<ErrorBody>(res)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'Internal error' } });
    expect(res.body).not.toMatch(/secret|ValidationException|at .*:\d+/);
    expect(logger.error).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ error }));
  });

  it('answers 500 for a malformed stored item rather than inventing a task', async () => {
    ddb.on(GetCommand).resolves({ Item: { userId: DEFAULT_SUB, taskId: ID, title: 7 } });
    const res = await call({ routeKey: 'GET /tasks/{id}', pathParameters: { id: ID } });
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).message).toBe('Internal error');
  });

  it('answers 500 when a condition failure on create carries no item', async () => {
    ddb.on(PutCommand).rejects(conditionFailed());
    const res = await call({ routeKey: 'POST /tasks', body: { id: ID, title: 'x' } });
    expect(res.statusCode).toBe(500);
  });
});

describe('change feed routes', () => {
  const since = (at: number) => encodeSyncToken(DEFAULT_SUB, { since: at, after: '', passEnd: 0 });

  it('answers a replayed create of a deleted id with 409 TASK_DELETED and does not recreate it', async () => {
    ddb.on(PutCommand).rejects(tombstoneConditionFailed(2));
    const res = await call({ routeKey: 'POST /tasks', body: { id: ID, title: 'Buy milk' } });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('TASK_DELETED');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });

  it('answers GET /tasks/changes from the entries after the token and the tasks\u2019 current items', async () => {
    changeLog.read.mockResolvedValueOnce({ entries: [{ key: changeKey(NOW.getTime() - 5, ID), taskId: ID }], more: false });
    ddb.on(BatchGetCommand).resolves({ Responses: { tasks: [row(stored({ version: 4 }))] } });
    const res = await call({ routeKey: 'GET /tasks/changes', query: `since=${since(NOW.getTime() - 60_000)}&limit=10` });
    expect(res.statusCode).toBe(200);
    const body = json<ChangesResponse>(res);
    expect(body.changes).toEqual([{ type: 'upsert', task: stored({ version: 4 }) }]);
    expect(body.hasMore).toBe(false);
    expect(decodeSyncToken(DEFAULT_SUB, body.syncToken).since).toBe(NOW.getTime() - WINDOW_MS);
    expect(changeLog.read).toHaveBeenCalledWith(DEFAULT_SUB, expect.any(Object), 10);
    expect(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.tasks).toMatchObject({
      Keys: [{ userId: DEFAULT_SUB, taskId: ID }],
      ConsistentRead: true,
    });
  });

  it('answers 410 RESYNC_REQUIRED for a token older than the retention, before reading anything', async () => {
    const res = await call({
      routeKey: 'GET /tasks/changes',
      query: `since=${since(NOW.getTime() - RETENTION_SECONDS * 1000 - 1)}`,
    });
    expect(res.statusCode).toBe(410);
    expect(errorOf(res).code).toBe('RESYNC_REQUIRED');
    expect(changeLog.read).not.toHaveBeenCalled();
  });

  it.each([
    ['no since', ''],
    ['a garbage since', 'since=abc'],
    ['another user\u2019s token', `since=${encodeSyncToken('someone-else', { since: 1, after: '', passEnd: 0 })}`],
    ['limit 0', `since=SINCE&limit=0`],
    ['limit 1001', `since=SINCE&limit=1001`],
    ['an empty limit', `since=SINCE&limit=`],
  ])('answers 400 VALIDATION_FAILED for %s', async (_label, query) => {
    const res = await call({ routeKey: 'GET /tasks/changes', query: query.replace('SINCE', since(NOW.getTime())) });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
    expect(changeLog.read).not.toHaveBeenCalled();
  });
});
