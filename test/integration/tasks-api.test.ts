import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ErrorBody, ListTasksResponse, Task } from '../../lambdas/contract.js';
import { apiClient, getToken, sleep } from '../support/clients.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

const stack = inject('stack');
const user = () => `api-${randomUUID()}`;

// A valid ULID that nobody created.
const MISSING_ID = '01J0000000000000000000000Z';

describe('task API on the local stack', () => {
  let token: string;
  let api: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    token = await getToken(stack.tokenUrl, user());
    api = apiClient(stack.apiUrl, token);
  });

  it('creates, reads, updates, completes and deletes a task with versions and ETags', async () => {
    const created = await api<Task>('POST', '/tasks', { body: { title: '  Buy milk  ', description: '2 litres' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Buy milk', description: '2 litres', completed: false, version: 1 });
    expect(created.body.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created.headers.get('etag')).toBe('"1"');

    const read = await api<Task>('GET', `/tasks/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const updated = await api<Task>('PUT', `/tasks/${created.body.id}`, { body: { title: 'Buy oat milk' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ title: 'Buy oat milk', description: '2 litres', version: 2 });
    expect(updated.headers.get('etag')).toBe('"2"');

    const completed = await api<Task>('PATCH', `/tasks/${created.body.id}/complete`);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ completed: true, version: 3 });

    const reopened = await api<Task>('PATCH', `/tasks/${created.body.id}/complete`, { body: { completed: false } });
    expect(reopened.body).toMatchObject({ completed: false, version: 4 });

    const deleted = await api('DELETE', `/tasks/${created.body.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await api('GET', `/tasks/${created.body.id}`)).status).toBe(404);
  });

  it('makes a create with a client ULID idempotent and refuses the same id with other content', async () => {
    const id = '01JDZ3V8Q6T3N4W0F2H7K9M5PX';
    const first = await api<Task>('POST', '/tasks', { body: { id, title: 'Once' } });
    expect(first.status).toBe(201);
    const retry = await api<Task>('POST', '/tasks', { body: { id, title: 'Once' } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const clash = await api<ErrorBody>('POST', '/tasks', { body: { id, title: 'Other' } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe('CONFLICT');

    // ids are scoped per user: another user may create the same id.
    const other = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, user()));
    expect((await other('POST', '/tasks', { body: { id, title: 'Mine too' } })).status).toBe(201);
  });

  it('answers 412 with the current task when If-Match is stale, and leaves it unchanged', async () => {
    const created = await api<Task>('POST', '/tasks', { body: { title: 'Contended' } });
    const first = await api<Task>('PUT', `/tasks/${created.body.id}`, {
      body: { title: 'First writer' },
      headers: { 'if-match': '"1"' },
    });
    expect(first.status).toBe(200);
    const stale = await api<ErrorBody>('PUT', `/tasks/${created.body.id}`, {
      body: { title: 'Second writer' },
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('PRECONDITION_FAILED');
    expect(stale.body.error.current).toMatchObject({ title: 'First writer', version: 2 });
    const staleDelete = await api('DELETE', `/tasks/${created.body.id}`, { headers: { 'if-match': '"1"' } });
    expect(staleDelete.status).toBe(412);
    expect((await api<Task>('GET', `/tasks/${created.body.id}`)).body).toMatchObject({ title: 'First writer', version: 2 });
  });

  it('lists oldest first in pages with an opaque cursor bound to the user', async () => {
    const own = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, user()));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await own<Task>('POST', '/tasks', { body: { title: `t${i}` } })).body.id);

    const page1 = await own<ListTasksResponse>('GET', '/tasks?limit=2&ignored=yes');
    expect(page1.status).toBe(200);
    expect(page1.body.tasks.map((t) => t.id)).toEqual(ids.slice(0, 2));
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await own<ListTasksResponse>('GET', `/tasks?limit=2&cursor=${encodeURIComponent(page1.body.nextCursor!)}`);
    expect(page2.body.tasks.map((t) => t.id)).toEqual(ids.slice(2, 4));
    const all = await own<ListTasksResponse>('GET', '/tasks');
    expect(all.body.tasks.map((t) => t.id)).toEqual(ids);
    expect(all.body.nextCursor).toBeNull();

    // Someone else's cursor is refused, not honoured.
    const stranger = await api<ErrorBody>('GET', `/tasks?cursor=${encodeURIComponent(page1.body.nextCursor!)}`);
    expect(stranger.status).toBe(400);
    for (const query of ['limit=', 'limit=abc', 'limit=0', 'limit=101', 'limit=1.5', 'cursor=garbage']) {
      const bad = await own<ErrorBody>('GET', `/tasks?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code, query).toBe('VALIDATION_FAILED');
    }
  });

  it("answers 404 for another user's task on every route and leaves it untouched", async () => {
    const victim = await api<Task>('POST', '/tasks', { body: { title: 'Private' } });
    const intruder = apiClient(stack.apiUrl, await getToken(stack.tokenUrl, user()));
    const id = victim.body.id;
    const attempts = [
      await intruder('GET', `/tasks/${id}`),
      await intruder('PUT', `/tasks/${id}`, { body: { title: 'pwned' } }),
      await intruder('PATCH', `/tasks/${id}/complete`),
      await intruder('DELETE', `/tasks/${id}`),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(404);
      expect((res.body as ErrorBody).error.code).toBe('NOT_FOUND');
    }
    expect((await intruder<ListTasksResponse>('GET', '/tasks')).body.tasks).toEqual([]);
    expect((await api<Task>('GET', `/tasks/${id}`)).body).toEqual(victim.body);
  });

  it('rejects bad input with the contract status and error body, in the contract order', async () => {
    const task = await api<Task>('POST', '/tasks', { body: { title: 'Keep me' } });
    const cases: Array<[string, Promise<{ status: number; body: unknown; text: string }>, number]> = [
      ['bad JSON', api('POST', '/tasks', { rawBody: '{"title":', headers: { 'content-type': 'application/json' } }), 400],
      ['empty title', api('POST', '/tasks', { body: { title: '   ' } }), 400],
      ['long title', api('POST', '/tasks', { body: { title: 'x'.repeat(201) } }), 400],
      ['long description', api('POST', '/tasks', { body: { title: 'ok', description: 'x'.repeat(2001) } }), 400],
      ['unknown field', api('POST', '/tasks', { body: { title: 'ok', owner: 'me' } }), 400],
      ['bad id', api('POST', '/tasks', { body: { title: 'ok', id: 'not-a-ulid' } }), 400],
      ['empty update', api('PUT', `/tasks/${task.body.id}`, { body: {} }), 400],
      ['wrong type', api('PUT', `/tasks/${task.body.id}`, { body: { completed: 'yes' } }), 400],
      ['text body', api('POST', '/tasks', { rawBody: 'title=x', headers: { 'content-type': 'text/plain' } }), 415],
      ['too large', api('POST', '/tasks', { body: { title: 'x', description: 'y'.repeat(17_000) } }), 413],
      [
        'too large beats media type',
        api('POST', '/tasks', { rawBody: 'y'.repeat(17_000), headers: { 'content-type': 'text/plain' } }),
        413,
      ],
      ['missing task', api('GET', `/tasks/${MISSING_ID}`), 404],
      ['missing task, bad body first', api('PUT', `/tasks/${MISSING_ID}`, { body: { bogus: 1 } }), 400],
    ];
    for (const [name, pending, status] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(status);
      const error = (res.body as ErrorBody | undefined)?.error;
      expect(error?.code, `${name}: ${res.text}`).toEqual(expect.any(String));
      expect(error?.message, name).toEqual(expect.any(String));
      expect(res.text, name).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    expect((await api<Task>('GET', `/tasks/${task.body.id}`)).body).toEqual(task.body);
  });

  it('refuses missing, malformed, forged and expired tokens with 401', async () => {
    const genuine = await getToken(stack.tokenUrl, user());
    const shortLived = await getToken(stack.tokenUrl, user(), 1);
    const tokens: Record<string, string | undefined> = {
      missing: undefined,
      garbage: 'not.a.jwt',
      algNone: forge.algNone(genuine),
      tampered: forge.tamperedSub(genuine, 'someone-else'),
      foreignKey: forge.foreignKey(genuine),
    };
    await sleep(2_100);
    tokens.expired = shortLived;
    for (const [name, bad] of Object.entries(tokens)) {
      const res = await apiClient(stack.apiUrl, bad)<ErrorBody>('GET', '/tasks');
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe('UNAUTHORIZED');
    }
  });

  it('answers CORS preflight for the dashboard origin', async () => {
    const origin = new URL(stack.webUrl).origin;
    const res = await fetch(`${stack.apiUrl.replace(/\/$/, '')}/tasks`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,content-type,if-match',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/PUT/);
  });
});
