import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import type { ServerFrame, Task, TaskEvent } from '../../lambdas/contract.js';
import { apiClient, getToken, taskEvents } from '../support/clients.js';
import type { StackInfo } from '../support/stack-info.js';
import { forge } from '../support/tokens.js';
import { listAllTasks, mapLimit, until } from './helpers.js';

/** A deterministic PRNG (mulberry32) so a failing mix can be replayed with the same seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A WebSocket client that timestamps every task event it receives. */
export interface Listener {
  userId: string;
  connectionId: string;
  socket: WebSocket;
  received: Array<{ event: TaskEvent; at: number }>;
  frames: number;
}

export interface LoadUser {
  name: string;
  userId: string;
  token: string;
  call: ReturnType<typeof apiClient>;
  listeners: Listener[];
}

async function listen(wsUrl: string, token: string, userId: string): Promise<Listener> {
  const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
  const listener: Listener = { userId, connectionId: '', socket, received: [], frames: 0 };
  let onHello: (() => void) | undefined;
  socket.on('message', (data) => {
    const at = Date.now();
    const frame = JSON.parse(data.toString()) as ServerFrame;
    listener.frames++;
    if (frame.type === 'AUTH_SUCCESS') {
      listener.connectionId = frame.connectionId;
      onHello?.();
      return;
    }
    for (const event of taskEvents([frame])) listener.received.push({ event, at });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
  // hello → AUTH_SUCCESS: the connection row surely exists before any write.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no AUTH_SUCCESS')), 15_000);
    onHello = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.send(JSON.stringify({ action: 'hello' }));
  });
  return listener;
}

export async function openUsers(
  stack: StackInfo,
  prefix: string,
  users: number,
  connectionsPerUser: number,
): Promise<LoadUser[]> {
  const names = Array.from({ length: users }, (_, i) => `${prefix}-${i}-${Date.now().toString(36)}`);
  const created = await mapLimit(names, 10, async (name) => {
    const token = await getToken(stack.tokenUrl, name);
    const userId = forge.claims(token).sub as string;
    return { name, userId, token, call: apiClient(stack.apiUrl, token), listeners: [] as Listener[] };
  });
  const slots = created.flatMap((user) => Array.from({ length: connectionsPerUser }, () => user));
  await mapLimit(slots, 10, async (user) => {
    user.listeners.push(await listen(stack.wsUrl, user.token, user.userId));
  });
  return created;
}

export function closeUsers(users: LoadUser[]): void {
  for (const user of users) for (const listener of user.listeners) listener.socket.terminate();
}

/** What the API acknowledged: the change every connection of the user must receive. */
export interface AckedChange {
  userId: string;
  taskId: string;
  /** The acknowledged version; null for a delete. */
  version: number | null;
  ackedAt: number;
}

export interface WriteResult {
  changes: AckedChange[];
  /** Answers other than the expected 2xx, as `METHOD status body`. */
  unexpected: string[];
  counts: Record<'create' | 'update' | 'complete' | 'delete', number>;
  /**
   * Creates answered 200 with the stored task: the contract's idempotent replay. It happens when the
   * tasks function's DynamoDB call timed out after the item was written and the SDK's retry found it.
   */
  replayedCreates: number;
  durationMs: number;
}

/**
 * `total` writes, at most `concurrency` in flight, spread over the users: creates,
 * updates, completions (toggling) and deletes of the user's existing tasks. No two
 * writes to one task overlap, so every acknowledged version is a distinct change.
 */
export async function runWrites(
  users: LoadUser[],
  total: number,
  concurrency: number,
  random: () => number,
): Promise<WriteResult> {
  const owned = new Map<string, Array<{ id: string; completed: boolean }>>(users.map((u) => [u.userId, []]));
  const busy = new Set<string>();
  const changes: AckedChange[] = [];
  const unexpected: string[] = [];
  const counts = { create: 0, update: 0, complete: 0, delete: 0 };
  let replayedCreates = 0;
  const startedAt = Date.now();

  await mapLimit(
    Array.from({ length: total }, (_, i) => i),
    concurrency,
    async (i) => {
      const user = users[Math.floor(random() * users.length)]!;
      const tasks = owned.get(user.userId)!;
      const idle = tasks.filter((t) => !busy.has(t.id));
      const roll = random();
      const target = idle.length > 0 ? idle[Math.floor(random() * idle.length)]! : undefined;
      const kind = !target || roll < 0.35 ? 'create' : roll < 0.65 ? 'update' : roll < 0.8 ? 'complete' : 'delete';
      counts[kind]++;
      if (kind === 'create') {
        const res = await user.call<Task>('POST', '/tasks', { body: { title: `task ${i}`, description: `written by op ${i}` } });
        const replay = res.status === 200 && res.body.title === `task ${i}` && res.body.version === 1;
        if (replay) replayedCreates++;
        else if (res.status !== 201) return void unexpected.push(`POST ${res.status} ${res.text}`);
        tasks.push({ id: res.body.id, completed: false });
        changes.push({ userId: user.userId, taskId: res.body.id, version: res.body.version, ackedAt: Date.now() });
        return;
      }
      busy.add(target!.id);
      try {
        if (kind === 'delete') {
          const res = await user.call('DELETE', `/tasks/${target!.id}`);
          if (res.status !== 204) return void unexpected.push(`DELETE ${res.status} ${res.text}`);
          tasks.splice(tasks.indexOf(target!), 1);
          changes.push({ userId: user.userId, taskId: target!.id, version: null, ackedAt: Date.now() });
          return;
        }
        const res =
          kind === 'update'
            ? await user.call<Task>('PUT', `/tasks/${target!.id}`, { body: { title: `task renamed by op ${i}` } })
            : await user.call<Task>('PATCH', `/tasks/${target!.id}/complete`, { body: { completed: !target!.completed } });
        if (res.status !== 200) return void unexpected.push(`${kind} ${res.status} ${res.text}`);
        target!.completed = res.body.completed;
        changes.push({ userId: user.userId, taskId: target!.id, version: res.body.version, ackedAt: Date.now() });
      } finally {
        busy.delete(target!.id);
      }
    },
  );
  return { changes, unexpected, counts, replayedCreates, durationMs: Date.now() - startedAt };
}

const keyOf = (taskId: string, version: number | null) => `${taskId}@${version ?? 'deleted'}`;
const eventKey = (event: TaskEvent) => keyOf(event.taskId, 'task' in event ? event.task.version : null);

/** Waits until every connection has received an event for every acknowledged change of its user. */
export async function awaitDelivery(users: LoadUser[], changes: AckedChange[], timeoutMs: number): Promise<number> {
  const expected = expectedByUser(changes);
  const startedAt = Date.now();
  await until(
    'every connection to receive every change of its user',
    async () =>
      users.every((user) =>
        user.listeners.every((listener) => {
          const got = new Set(listener.received.map((r) => eventKey(r.event)));
          return [...(expected.get(user.userId)?.keys() ?? [])].every((key) => got.has(key));
        }),
      ),
    timeoutMs,
    250,
  ).catch(() => undefined);
  return Date.now() - startedAt;
}

function expectedByUser(changes: AckedChange[]): Map<string, Map<string, AckedChange>> {
  const byUser = new Map<string, Map<string, AckedChange>>();
  for (const change of changes) {
    if (!byUser.has(change.userId)) byUser.set(change.userId, new Map());
    byUser.get(change.userId)!.set(keyOf(change.taskId, change.version), change);
  }
  return byUser;
}

/**
 * The client's rule from the contract: keep a task's newest version, drop an event that is
 * not newer; a delete is final (ids are never reused here), so a redelivered create after it
 * cannot bring the task back.
 */
export function applyEvents(received: Array<{ event: TaskEvent }>): Map<string, Task> {
  const held = new Map<string, Task>();
  const deleted = new Set<string>();
  for (const { event } of received) {
    if (deleted.has(event.taskId)) continue;
    if (event.type === 'TASK_DELETED') {
      held.delete(event.taskId);
      deleted.add(event.taskId);
      continue;
    }
    const current = held.get(event.taskId);
    if (!current || event.task.version > current.version) held.set(event.taskId, event.task);
  }
  return held;
}

export interface Verdict {
  connections: number;
  /** Connections whose applied events differ from GET /tasks of their user. */
  mismatched: string[];
  /** Events received by a connection of a user who does not own the task. */
  crossUser: number;
  /** Acknowledged changes some connection of the user never received. */
  lost: number;
  deliveries: number;
  frames: number;
  /** Receptions of an eventId a connection had already received. */
  duplicates: number;
  maxDuplicatesPerConnection: number;
  lagMs: { p50: number; p95: number; max: number };
}

/** Compares what every connection ended up with against the store, and counts. */
export async function verify(stack: StackInfo, users: LoadUser[], changes: AckedChange[]): Promise<Verdict> {
  const owner = new Map(changes.map((c) => [c.taskId, c.userId]));
  const expected = expectedByUser(changes);
  const verdict: Verdict = {
    connections: 0,
    mismatched: [],
    crossUser: 0,
    lost: 0,
    deliveries: 0,
    frames: 0,
    duplicates: 0,
    maxDuplicatesPerConnection: 0,
    lagMs: { p50: 0, p95: 0, max: 0 },
  };
  const lags: number[] = [];
  await mapLimit(users, 5, async (user) => {
    const stored = new Map((await listAllTasks(stack.apiUrl, user.token)).map((t) => [t.id, t]));
    const mine = expected.get(user.userId) ?? new Map<string, AckedChange>();
    for (const listener of user.listeners) {
      verdict.connections++;
      verdict.deliveries += listener.received.length;
      verdict.frames += listener.frames;
      const seenIds = new Set<string>();
      const firstAt = new Map<string, number>();
      let duplicates = 0;
      for (const { event, at } of listener.received) {
        if (owner.get(event.taskId) !== user.userId) verdict.crossUser++;
        if (seenIds.has(event.eventId)) duplicates++;
        seenIds.add(event.eventId);
        if (!firstAt.has(eventKey(event))) firstAt.set(eventKey(event), at);
      }
      verdict.duplicates += duplicates;
      verdict.maxDuplicatesPerConnection = Math.max(verdict.maxDuplicatesPerConnection, duplicates);
      for (const [key, change] of mine) {
        const at = firstAt.get(key);
        if (at === undefined) verdict.lost++;
        // The event may beat the HTTP response to the client: that is zero lag, not negative.
        else lags.push(Math.max(0, at - change.ackedAt));
      }
      const held = applyEvents(listener.received);
      const same = held.size === stored.size && [...stored].every(([id, task]) => isDeepStrictEqual(held.get(id), task));
      if (!same) verdict.mismatched.push(`${user.name}/${listener.connectionId}: holds ${held.size}, store has ${stored.size}`);
    }
  });
  lags.sort((a, b) => a - b);
  const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0;
  verdict.lagMs = { p50: at(0.5), p95: at(0.95), max: lags.at(-1) ?? 0 };
  return verdict;
}
