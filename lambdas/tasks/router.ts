import { LIMITS } from '../../lib/definitions.js';
import type { Task } from '../contract.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { ConflictError, NotFoundError, ValidationError, type ValidationDetail } from './errors.js';
import { jsonResponse, noContentResponse, taskResponse, type HttpResponse } from './http.js';
import { header, parseIfMatch, parseJson, type HttpEvent } from './request.js';
import { completeTaskSchema, createTaskSchema, normalizeTaskId, parseInput, updateTaskSchema } from './schemas.js';
import type { TaskStore } from './task-store.js';

/** What a route needs; auth, size and media type are already checked. */
export interface RouteContext {
  event: HttpEvent;
  userId: string;
  /** The decoded body, or undefined when the request has none. */
  body: string | undefined;
  store: TaskStore;
  now: () => Date;
  newId: (now: Date) => string;
}

export type Route = (context: RouteContext) => Promise<HttpResponse>;

/**
 * Each route checks, in the contract's order, JSON and fields (400), then
 * existence (404) and precondition (412), the last two in the store's single
 * conditional write.
 */
export const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['GET /tasks', listTasks],
  ['POST /tasks', createTask],
  ['GET /tasks/{id}', getTask],
  ['PUT /tasks/{id}', updateTask],
  ['PATCH /tasks/{id}/complete', completeTask],
  ['DELETE /tasks/{id}', deleteTask],
]);

async function listTasks({ event, userId, store }: RouteContext): Promise<HttpResponse> {
  // Other query parameters are ignored (contract). Payload format 2.0 joins a
  // repeated parameter with commas, so `limit=1&limit=2` is not an integer.
  const { limit: rawLimit, cursor } = event.queryStringParameters ?? {};
  const details: ValidationDetail[] = [];
  let limit: number = LIMITS.listDefaultLimit;
  if (rawLimit !== undefined) {
    limit = /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= LIMITS.listMaxLimit)) {
      details.push({ field: 'limit', message: `Must be an integer from 1 to ${LIMITS.listMaxLimit}` });
    }
  }
  let afterTaskId: string | undefined;
  if (cursor !== undefined) {
    try {
      afterTaskId = decodeCursor(userId, cursor);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      details.push(...error.details);
    }
  }
  if (details.length > 0) throw new ValidationError('Invalid query parameters', details);

  const page = await store.list(userId, { limit, afterTaskId });
  return jsonResponse(200, {
    tasks: page.tasks,
    nextCursor: page.lastTaskId === undefined ? null : encodeCursor(userId, page.lastTaskId),
  });
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

async function deleteTask({ event, userId, store }: RouteContext): Promise<HttpResponse> {
  const expected = parseIfMatch(header(event, 'if-match'));
  await store.remove(userId, pathTaskId(event), expected);
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
