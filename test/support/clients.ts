import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import type { ListTasksResponse, ServerFrame, Task, TaskEvent } from '../../lambdas/contract.js';

/**
 * A document client straight to a stack's DynamoDB Local, behind the API's back, with the
 * developer's own key (`local`, which the local IAM check never refuses).
 */
export function directDb(dynamodbEndpoint: string, overrides: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...overrides,
    }),
  );
}

/** A token from the local issuer, as the dashboard gets one. */
export async function getToken(tokenUrl: string, username: string, expiresInSeconds?: number): Promise<string> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, ...(expiresInSeconds ? { expiresInSeconds } : {}) }),
  });
  if (res.status !== 200) throw new Error(`token issuer answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin HTTP client of the task API that never throws on a status. */
export function apiClient(apiUrl: string, token?: string) {
  const base = apiUrl.replace(/\/$/, '');
  return async function call<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}) };
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, options.headers);
    const res = await fetch(base + path, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
}

/** The first page of `username`'s tasks as the server holds them, through the test's own HTTP client (not the UI). */
export async function serverTasks(stack: { apiUrl: string; tokenUrl: string }, username: string): Promise<Task[]> {
  const res = await apiClient(stack.apiUrl, await getToken(stack.tokenUrl, username))<ListTasksResponse>('GET', '/tasks');
  if (res.status !== 200) throw new Error(`GET /tasks answered ${res.status}: ${res.text}`);
  return res.body.tasks;
}

/** Flattens BATCH frames into their task events, in order. */
export function taskEvents(frames: ServerFrame[]): TaskEvent[] {
  return frames.flatMap((frame) =>
    frame.type === 'BATCH'
      ? frame.events
      : frame.type === 'TASK_CREATED' || frame.type === 'TASK_UPDATED' || frame.type === 'TASK_DELETED'
        ? [frame]
        : [],
  );
}

/** A real `ws` client that records every frame it receives. */
export class SocketClient {
  readonly frames: ServerFrame[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(wsUrl: string, token: string): Promise<SocketClient> {
    const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    });
    return new SocketClient(socket);
  }

  /** The HTTP status of a refused handshake (or 101 when it was accepted). */
  static handshakeStatus(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('error', (err) => {
        if (socket.readyState !== WebSocket.CLOSED) reject(err);
      });
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  events(): TaskEvent[] {
    return taskEvents(this.frames);
  }

  /** Waits until the predicate holds over the frames received so far. */
  async waitFor<T>(predicate: (client: SocketClient) => T | undefined | false, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate(this);
      if (value) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves with the next frame matching the predicate that arrives after this call. */
  async next(predicate: (frame: ServerFrame) => boolean = () => true, timeoutMs = 5_000): Promise<ServerFrame> {
    const start = this.frames.length;
    return this.waitFor((c) => c.frames.slice(start).find(predicate), timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

export function taskOf(event: TaskEvent): Task | undefined {
  return 'task' in event ? event.task : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
