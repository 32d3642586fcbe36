import { describe, expect, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { ApiError, createApi, NetworkError, PreconditionFailedError, UnauthorizedError } from '../../web/src/api.js';

const stored: Task = {
  id: '01JDTASK00000000000000000A',
  title: 'Buy milk',
  description: '',
  completed: false,
  createdAt: '2026-11-27T10:00:00.000Z',
  updatedAt: '2026-11-27T10:00:00.000Z',
  version: 4,
};

type Seen = { url: string; method: string; headers: Record<string, string>; body?: string };

function fakeFetch(...responses: (Response | Error)[]) {
  const seen: Seen[] = [];
  const fn = (async (url: string, init: RequestInit) => {
    seen.push({
      url,
      method: init.method ?? 'GET',
      headers: init.headers as Record<string, string>,
      body: init.body as string | undefined,
    });
    const next = responses.shift();
    if (!next) throw new Error('no response queued');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { fn, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function tokens(...values: string[]) {
  const forced: boolean[] = [];
  return {
    forced,
    getToken: async (force = false) => {
      forced.push(force);
      return values.shift() ?? null;
    },
  };
}

describe('api', () => {
  it('sends the bearer token, JSON body and a quoted If-Match', async () => {
    const { fn, seen } = fakeFetch(json(200, { ...stored, version: 5 }));
    const api = createApi({ apiUrl: 'https://api.example.com/', auth: tokens('jwt-1'), fetch: fn });

    const task = await api.updateTask(stored.id, { title: 'Buy oat milk' }, 4);

    expect(task.version).toBe(5);
    expect(seen[0]).toEqual({
      url: `https://api.example.com/tasks/${stored.id}`,
      method: 'PUT',
      headers: { authorization: 'Bearer jwt-1', 'content-type': 'application/json', 'if-match': '"4"' },
      body: JSON.stringify({ title: 'Buy oat milk' }),
    });
  });

  it('omits If-Match when there is no base version', async () => {
    const { fn, seen } = fakeFetch(new Response(null, { status: 204 }));
    await createApi({ apiUrl: 'https://api.example.com', auth: tokens('t'), fetch: fn }).deleteTask('X', null);
    expect(seen[0]?.headers).toEqual({ authorization: 'Bearer t' });
    expect(seen[0]?.method).toBe('DELETE');
  });

  it('turns 412 into PreconditionFailedError carrying error.current', async () => {
    const { fn } = fakeFetch(json(412, { error: { code: 'PRECONDITION_FAILED', message: 'Version mismatch', current: stored } }));
    const api = createApi({ apiUrl: 'https://api.example.com', auth: tokens('t'), fetch: fn });

    const error = await api.completeTask(stored.id, true, 3).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect((error as PreconditionFailedError).current).toEqual(stored);
    expect((error as PreconditionFailedError).status).toBe(412);
  });

  it('parses the error body into code and message', async () => {
    const { fn } = fakeFetch(json(400, { error: { code: 'VALIDATION_FAILED', message: 'title: too long', details: [] } }));
    const error = await createApi({ apiUrl: 'https://a', auth: tokens('t'), fetch: fn })
      .createTask({ id: 'X', title: 'x', description: '' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: 'title: too long', transient: false });
  });

  it('keeps the status of an error without a JSON body and marks 5xx transient', async () => {
    const { fn } = fakeFetch(new Response('<html>Bad gateway</html>', { status: 502 }));
    const error = await createApi({ apiUrl: 'https://a', auth: tokens('t'), fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ApiError', status: 502, code: 'UNKNOWN', transient: true });
  });

  it('retries a 401 once with a refreshed token', async () => {
    const { fn, seen } = fakeFetch(
      json(401, { error: { code: 'UNAUTHORIZED', message: 'expired' } }),
      json(200, { tasks: [], nextCursor: null }),
    );
    const auth = tokens('old', 'fresh');

    await createApi({ apiUrl: 'https://a', auth, fetch: fn }).listTasks();

    expect(auth.forced).toEqual([false, true]);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer old', 'Bearer fresh']);
  });

  it('raises UnauthorizedError when a refreshed token is refused too', async () => {
    const body = { error: { code: 'UNAUTHORIZED', message: 'bad token' } };
    const { fn } = fakeFetch(json(401, body), json(401, body));
    const error = await createApi({ apiUrl: 'https://a', auth: tokens('a', 'b'), fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
  });

  it('treats the deployed HTTP API\u2019s own 401 body ({"message":"Unauthorized"}) like the contract\u2019s: refresh once, then sign in again', async () => {
    const aws = () => json(401, { message: 'Unauthorized' });
    const { fn, seen } = fakeFetch(aws(), aws());
    const auth = tokens('old', 'fresh');

    const error = await createApi({ apiUrl: 'https://a', auth, fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);

    expect(auth.forced).toEqual([false, true]);
    expect(seen).toHaveLength(2);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: 'Unauthorized' });
  });

  it('keeps API Gateway\u2019s throttle answer ({"message":"Too Many Requests"}) a transient 429', async () => {
    const { fn } = fakeFetch(json(429, { message: 'Too Many Requests' }));
    const error = await createApi({ apiUrl: 'https://a', auth: tokens('t'), fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ApiError', status: 429, code: 'TOO_MANY_REQUESTS', message: 'Too Many Requests' });
  });

  it('raises UnauthorizedError without calling the API when signed out', async () => {
    const { fn, seen } = fakeFetch();
    const error = await createApi({ apiUrl: 'https://a', auth: tokens(), fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(seen).toEqual([]);
  });

  it('raises NetworkError when the request gets no answer', async () => {
    const { fn } = fakeFetch(new TypeError('Failed to fetch'));
    const error = await createApi({ apiUrl: 'https://a', auth: tokens('t'), fetch: fn })
      .listTasks()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).cause).toBeInstanceOf(TypeError);
  });

  it('lists every page by following nextCursor, and keeps the last page’s syncToken', async () => {
    const second = { ...stored, id: '01JDTASK00000000000000000B' };
    const { fn, seen } = fakeFetch(
      json(200, { tasks: [stored], nextCursor: 'c/1+' }),
      json(200, { tasks: [second], nextCursor: null, syncToken: 'sync/1+' }),
    );

    const all = await createApi({ apiUrl: 'https://a/prod/', auth: tokens('t', 't'), fetch: fn }).listAllTasks();

    expect(all).toEqual({ tasks: [stored, second], syncToken: 'sync/1+' });
    expect(seen.map((s) => s.url)).toEqual(['https://a/prod/tasks', 'https://a/prod/tasks?cursor=c%2F1%2B']);
  });

  it('gives a null syncToken when the last page has none (a server without the change feed)', async () => {
    const { fn } = fakeFetch(json(200, { tasks: [], nextCursor: null }));
    expect(await createApi({ apiUrl: 'https://a', auth: tokens('t'), fetch: fn }).listAllTasks()).toEqual({
      tasks: [],
      syncToken: null,
    });
  });

  it('asks for the changes since a token, URL-encoded, and returns the body as is', async () => {
    const body = { changes: [{ type: 'delete', taskId: stored.id, version: 5 }], syncToken: 'next', hasMore: false };
    const { fn, seen } = fakeFetch(json(200, body), json(200, body));
    const api = createApi({ apiUrl: 'https://a/prod', auth: tokens('t', 't'), fetch: fn });

    expect(await api.listChanges('a/b+c=')).toEqual(body);
    await api.listChanges('tok', 10);

    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ['GET', 'https://a/prod/tasks/changes?since=a%2Fb%2Bc%3D'],
      ['GET', 'https://a/prod/tasks/changes?since=tok&limit=10'],
    ]);
  });

  it('turns 410 RESYNC_REQUIRED and a 409 TASK_DELETED into ApiErrors with their codes (not transient)', async () => {
    const { fn } = fakeFetch(
      json(410, { error: { code: 'RESYNC_REQUIRED', message: 'Sync token expired' } }),
      json(409, { error: { code: 'TASK_DELETED', message: 'Task was deleted' } }),
    );
    const api = createApi({ apiUrl: 'https://a', auth: tokens('t', 't'), fetch: fn });
    const gone = await api.listChanges('old').catch((e: unknown) => e);
    const deleted = await api.createTask({ id: stored.id, title: 'x', description: '' }).catch((e: unknown) => e);
    expect(gone).toMatchObject({ status: 410, code: 'RESYNC_REQUIRED', transient: false });
    expect(deleted).toMatchObject({ status: 409, code: 'TASK_DELETED', transient: false });
    expect(gone).toBeInstanceOf(ApiError);
  });
});
