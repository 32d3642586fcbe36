import type { ChangesResponse, ErrorBody, ErrorCode, ListTasksResponse, Task } from '../../lambdas/contract.js';
import type { TaskChanges } from './state/ops.js';

/** The server answered with an error status and (usually) the contract's error body. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'UNKNOWN',
    message: string,
    readonly body?: ErrorBody,
  ) {
    super(message);
  }
  /** 429 and 5xx: worth retrying later, nothing is wrong with the request. */
  get transient(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}

/** 412: the If-Match version is no longer current; `current` is the stored task. */
export class PreconditionFailedError extends ApiError {
  override name = 'PreconditionFailedError';
  constructor(
    readonly current: Task,
    message: string,
    body: ErrorBody,
  ) {
    super(412, 'PRECONDITION_FAILED', message, body);
  }
}

/** 401 even after a fresh token: the user has to sign in again. */
export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
}

/** No answer at all (offline, DNS, CORS, timeout). The request may or may not have run. */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface TokenSource {
  /** A valid bearer token; `forceRefresh` after a 401. Null when signed out. */
  getToken(forceRefresh?: boolean): Promise<string | null>;
}

export interface ApiOptions {
  apiUrl: string;
  auth: TokenSource;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface Api {
  listTasks(cursor?: string | null, limit?: number): Promise<ListTasksResponse>;
  /** Every page, following `nextCursor`, and the last page's `syncToken` (null from a server without the change feed). */
  listAllTasks(): Promise<{ tasks: Task[]; syncToken: string | null }>;
  /** `GET /tasks/changes`: what changed since `since`; 410 RESYNC_REQUIRED when the token is too old. */
  listChanges(since: string, limit?: number): Promise<ChangesResponse>;
  createTask(input: { id: string; title: string; description: string }): Promise<Task>;
  updateTask(id: string, changes: TaskChanges, ifMatch?: number | null): Promise<Task>;
  completeTask(id: string, completed: boolean, ifMatch?: number | null): Promise<Task>;
  deleteTask(id: string, ifMatch?: number | null): Promise<void>;
}

export function createApi({
  apiUrl,
  auth,
  fetch: fetchFn = globalThis.fetch.bind(globalThis),
  timeoutMs = 15_000,
}: ApiOptions): Api {
  const base = apiUrl.replace(/\/+$/, '');

  async function request<T>(method: string, path: string, body?: unknown, ifMatch?: number | null): Promise<T> {
    let response = await send(false);
    if (response.status === 401) response = await send(true);
    if (response.ok) {
      return (response.status === 204 ? undefined : await response.json()) as T;
    }
    throw await toError(response);

    async function send(forceRefresh: boolean): Promise<Response> {
      const token = await auth.getToken(forceRefresh);
      if (!token) throw new UnauthorizedError(401, 'UNAUTHORIZED', 'Not signed in');
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (ifMatch != null) headers['if-match'] = `"${ifMatch}"`;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        return await fetchFn(base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (cause) {
        throw new NetworkError(`${method} ${path} got no response`, { cause });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  const api: Api = {
    listTasks: (cursor, limit) => {
      const q = new URLSearchParams();
      if (limit !== undefined) q.set('limit', String(limit));
      if (cursor) q.set('cursor', cursor);
      const qs = q.toString();
      return request('GET', `/tasks${qs ? `?${qs}` : ''}`);
    },
    async listAllTasks() {
      const tasks: Task[] = [];
      let page: ListTasksResponse;
      let cursor: string | null = null;
      do {
        page = await api.listTasks(cursor);
        tasks.push(...page.tasks);
        cursor = page.nextCursor;
      } while (cursor);
      return { tasks, syncToken: typeof page.syncToken === 'string' ? page.syncToken : null };
    },
    listChanges: (since, limit) => {
      const q = new URLSearchParams({ since });
      if (limit !== undefined) q.set('limit', String(limit));
      return request('GET', `/tasks/changes?${q}`);
    },
    createTask: (input) => request('POST', '/tasks', input),
    updateTask: (id, changes, ifMatch) => request('PUT', `/tasks/${encodeURIComponent(id)}`, changes, ifMatch),
    completeTask: (id, completed, ifMatch) =>
      request('PATCH', `/tasks/${encodeURIComponent(id)}/complete`, { completed }, ifMatch),
    deleteTask: (id, ifMatch) => request('DELETE', `/tasks/${encodeURIComponent(id)}`, undefined, ifMatch),
  };
  return api;
}

/**
 * The contract's error body, or what API Gateway itself answers where the
 * function never ran: the deployed HTTP API's JWT authorizer says
 * `{"message":"Unauthorized"}` (401) and its throttle `{"message":"Too Many
 * Requests"}` (429), neither customisable. Decisions go by status either way.
 */
async function toError(response: Response): Promise<ApiError> {
  let body: ErrorBody | undefined;
  let gatewayMessage: string | undefined;
  try {
    const parsed: unknown = await response.json();
    if (parsed && typeof parsed === 'object' && 'error' in parsed) body = parsed as ErrorBody;
    else if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') {
      gatewayMessage = (parsed as { message: string }).message;
    }
  } catch {
    // A gateway error page or an empty body: keep the status alone.
  }
  const message = body?.error.message ?? gatewayMessage ?? `HTTP ${response.status}`;
  const code =
    body?.error.code ?? (response.status === 401 ? 'UNAUTHORIZED' : response.status === 429 ? 'TOO_MANY_REQUESTS' : 'UNKNOWN');
  if (response.status === 412 && body?.error.current) return new PreconditionFailedError(body.error.current, message, body);
  if (response.status === 401) return new UnauthorizedError(401, code, message, body);
  return new ApiError(response.status, code, message, body);
}
