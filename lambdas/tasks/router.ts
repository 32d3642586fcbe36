import { CHANGE_FEED, LIMITS, METRICS } from '../../lib/definitions.js';
import { MetricUnit, type MetricsRecorder } from '../shared/metrics.js';
import type { ChangesResponse, ListTasksResponse, Task } from '../contract.js';
import { buildChangesPage, entryRange, isExpired, listSyncPosition } from './change-feed.js';
import { decodeCursor, encodeCursor, type ListPosition } from './cursor.js';
import {
  ConflictError,
  NotFoundError,
  ResyncRequiredError,
  TaskDeletedError,
  ValidationError,
  type ValidationDetail,
} from './errors.js';
import { jsonResponse, noContentResponse, taskResponse, type HttpResponse } from './http.js';
import { header, parseIfMatch, parseJson, type HttpEvent } from './request.js';
import { completeTaskSchema, createTaskSchema, normalizeTaskId, parseInput, updateTaskSchema } from './schemas.js';
import { decodeSyncToken, encodeSyncToken, type FeedPosition } from './sync-token.js';
import type { ChangeLog } from './change-log.js';
import type { TaskStore } from './task-store.js';

/** What a route needs; auth, size and media type are already checked. */
export interface RouteContext {
  event: HttpEvent;
  userId: string;
  /** The decoded body, or undefined when the request has none. */
  body: string | undefined;
  store: TaskStore;
  changeLog: Pick<ChangeLog, 'read'>;
  now: () => Date;
  newId: (now: Date) => string;
  /** How long tombstones and change entries are kept; older sync tokens get 410. */
  retentionSeconds: number;
  metrics: MetricsRecorder;
}

export type Route = (context: RouteContext) => Promise<HttpResponse>;

/**
 * Each route checks, in the contract's order, JSON and fields (400), then
 * existence (404) and precondition (412), the last two in the store's single
 * conditional write.
 */
export const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['GET /tasks', listTasks],
  ['GET /tasks/changes', listChanges],
  ['POST /tasks', createTask],
  ['GET /tasks/{id}', getTask],
  ['PUT /tasks/{id}', updateTask],
  ['PATCH /tasks/{id}/complete', completeTask],
  ['DELETE /tasks/{id}', deleteTask],
]);

async function listTasks({ event, userId, store, now }: RouteContext): Promise<HttpResponse> {
  // Other query parameters are ignored (contract). Payload format 2.0 joins a
  // repeated parameter with commas, so `limit=1&limit=2` is not an integer.
  const { limit: rawLimit, cursor } = event.queryStringParameters ?? {};
  const details: ValidationDetail[] = [];
  const limit = parseLimit(rawLimit, LIMITS.listDefaultLimit, LIMITS.listMaxLimit, details);
  let position: ListPosition | undefined;
  if (cursor !== undefined) {
    try {
      position = decodeCursor(userId, cursor);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      details.push(...error.details);
    }
  }
  if (details.length > 0) throw new ValidationError('Invalid query parameters', details);

  // Taken before the first page is read: the syncToken must cover what commits during the listing.
  const listStartedAt = position?.listStartedAt ?? now().getTime();
  const page = await store.list(userId, { limit, afterTaskId: position?.afterTaskId });
  const body: ListTasksResponse =
    page.lastTaskId === undefined
      ? { tasks: page.tasks, nextCursor: null, syncToken: encodeSyncToken(userId, listSyncPosition(listStartedAt)) }
      : { tasks: page.tasks, nextCursor: encodeCursor(userId, { afterTaskId: page.lastTaskId, listStartedAt }) };
  return jsonResponse(200, body);
}

/** The change feed: each changed task's latest state since a sync token (change-feed.ts). */
async function listChanges({
  event,
  userId,
  store,
  changeLog,
  now,
  retentionSeconds,
  metrics,
}: RouteContext): Promise<HttpResponse> {
  const { limit: rawLimit, since } = event.queryStringParameters ?? {};
  const details: ValidationDetail[] = [];
  const limit = parseLimit(rawLimit, CHANGE_FEED.changesDefaultLimit, CHANGE_FEED.changesMaxLimit, details);
  let position: FeedPosition | undefined;
  if (since === undefined) {
    details.push({ field: 'since', message: 'Required: the syncToken of the last list or changes answer' });
  } else {
    try {
      position = decodeSyncToken(userId, since);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      details.push(...error.details);
    }
  }
  if (details.length > 0 || !position) throw new ValidationError('Invalid query parameters', details);

  // Taken before anything is read: the safety window counts back from here.
  const requestStartedAt = now().getTime();
  if (isExpired(position, requestStartedAt, retentionSeconds)) {
    throw new ResyncRequiredError('The sync token is older than the change history kept; list all tasks again');
  }
  const { entries, more } = await changeLog.read(userId, entryRange(position), limit);
  const items = await store.getMany(userId, [...new Set(entries.map((entry) => entry.taskId))]);
  const page = buildChangesPage({ position, requestStartedAt, entries, moreEntries: more, items });
  metrics.addMetric(METRICS.changeFeedPages, MetricUnit.Count, 1);
  metrics.addMetric(METRICS.changeFeedEntries, MetricUnit.Count, page.changes.length);
  const body: ChangesResponse = {
    changes: page.changes,
    syncToken: encodeSyncToken(userId, page.next),
    hasMore: page.hasMore,
  };
  return jsonResponse(200, body);
}

/** An integer query parameter from 1 to `max`; an empty or non-integer one is a 400. */
function parseLimit(raw: string | undefined, fallback: number, max: number, details: ValidationDetail[]): number {
  if (raw === undefined) return fallback;
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= max)) details.push({ field: 'limit', message: `Must be an integer from 1 to ${max}` });
  return limit;
}

async function createTask({ userId, body, store, now, newId }: RouteContext): Promise<HttpResponse> {
  const input = parseInput(createTaskSchema, requiredJson(body));
  const time = now();
  const at = time.toISOString();
  const task: Task = {
    id: input.id ?? newId(time),
    title: input.title,
    description: input.description ?? '',
    completed: false,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
  const outcome = await store.create(userId, task);
  if (outcome.created) return taskResponse(201, outcome.task);
  if ('deleted' in outcome) throw new TaskDeletedError(`The task ${task.id} was deleted; it is never recreated`);
  // A retry of the same create (same client id, same content) is answered with
  // what was stored, whatever happened to it since; anything else is a clash.
  const { existing } = outcome;
  if (existing.title === task.title && existing.description === task.description) {
    return taskResponse(200, existing);
  }
  throw new ConflictError(`A task with id ${task.id} already exists with other content`);
}

async function getTask({ event, userId, store }: RouteContext): Promise<HttpResponse> {
  const task = await store.get(userId, pathTaskId(event));
  if (!task) throw notFound();
  return taskResponse(200, task);
}

async function updateTask({ event, userId, body, store, now }: RouteContext): Promise<HttpResponse> {
  const changes = parseInput(updateTaskSchema, requiredJson(body));
  const expected = parseIfMatch(header(event, 'if-match'));
  const task = await store.update(userId, pathTaskId(event), changes, now().toISOString(), expected);
  return taskResponse(200, task);
}

async function completeTask({ event, userId, body, store, now }: RouteContext): Promise<HttpResponse> {
  // The body is optional here: no body means "mark it done".
  const input = body === undefined ? {} : parseInput(completeTaskSchema, parseJson(body));
  const expected = parseIfMatch(header(event, 'if-match'));
  const changes = { completed: input.completed ?? true };
  const task = await store.update(userId, pathTaskId(event), changes, now().toISOString(), expected);
  return taskResponse(200, task);
}

async function deleteTask({ event, userId, store, now }: RouteContext): Promise<HttpResponse> {
  const expected = parseIfMatch(header(event, 'if-match'));
  await store.remove(userId, pathTaskId(event), now().toISOString(), expected);
  return noContentResponse();
}

function requiredJson(body: string | undefined): unknown {
  if (body === undefined) {
    throw new ValidationError('Request body is required', [{ field: '', message: 'Expected a JSON object' }]);
  }
  return parseJson(body);
}

/** A path id that is not a ULID cannot name a task: 404, like any missing one. */
function pathTaskId(event: HttpEvent): string {
  const id = normalizeTaskId(event.pathParameters?.id);
  if (id === undefined) throw notFound();
  return id;
}

function notFound(): NotFoundError {
  return new NotFoundError('Task not found');
}
