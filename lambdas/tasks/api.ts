import type { Logger } from '@aws-lambda-powertools/logger';
import { monotonicFactory } from 'ulid';
import { CHANGE_FEED, METRICS } from '../../lib/definitions.js';
import { MetricUnit, noMetrics, type MetricsRecorder } from '../shared/metrics.js';
import { createLogger } from '../shared/logger.js';
import { NotFoundError, TasksApiError } from './errors.js';
import { errorResponse, internalErrorResponse, type HttpResponse } from './http.js';
import { readBody, requireUserId, type HttpEvent } from './request.js';
import { ROUTES } from './router.js';
import type { ChangeLog } from './change-log.js';
import type { TaskStore } from './task-store.js';

export type TasksApiLogger = Pick<Logger, 'error' | 'warn'>;

export interface TasksApiDeps {
  store: TaskStore;
  /** The change feed's entries (the store records into the same log). */
  changeLog: Pick<ChangeLog, 'read'>;
  /** Clock for createdAt/updatedAt and generated ids. Default: the system clock. */
  now?: () => Date;
  /** Id of a task created without one. Default: a monotonic ULID at `now`. */
  newId?: (now: Date) => string;
  /** Default: the Powertools logger of service `tasks-api`. */
  logger?: TasksApiLogger;
  /** Tombstone and change-entry retention; sync tokens older than this get 410. Default: CHANGE_FEED's 30 days. */
  retentionSeconds?: number;
  /** Default: records nothing. */
  metrics?: MetricsRecorder;
}

const WRITE_ROUTES = new Set(['POST /tasks', 'PUT /tasks/{id}', 'PATCH /tasks/{id}/complete', 'DELETE /tasks/{id}']);

/** The outcome counts of one answered request (docs/design.md lists the metrics). */
function countOutcome(metrics: MetricsRecorder, routeKey: string, status: number): void {
  if (WRITE_ROUTES.has(routeKey) && status >= 200 && status < 300) metrics.addMetric(METRICS.taskWrites, MetricUnit.Count, 1);
  else if (status === 412) metrics.addMetric(METRICS.preconditionFailed, MetricUnit.Count, 1);
  else if (status === 409) metrics.addMetric(METRICS.conflicts, MetricUnit.Count, 1);
  else if (status === 410) metrics.addMetric(METRICS.resyncRequired, MetricUnit.Count, 1);
}

export type TasksApiHandler = (event: HttpEvent) => Promise<HttpResponse>;

/**
 * The task HTTP API (payload format 2.0) over any TaskStore. Checks run in the
 * contract's order: auth (401), size (413), media type (415), then the route's
 * JSON and fields (400), existence (404) and precondition (412).
 */
export function createTasksApi(deps: TasksApiDeps): TasksApiHandler {
  const { store, changeLog } = deps;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? createLogger('tasks-api');
  let newId = deps.newId;
  if (!newId) {
    // Monotonic: ids created within one millisecond still sort in creation order.
    const ulid = monotonicFactory();
    newId = (time) => ulid(time.getTime());
  }
  const retentionSeconds = deps.retentionSeconds ?? CHANGE_FEED.defaultRetentionDays * 86_400;
  const metrics = deps.metrics ?? noMetrics;
  const routeDeps = { store, changeLog, now, newId, retentionSeconds, metrics };

  return async (event) => {
    const response = await answer(event);
    countOutcome(metrics, event.routeKey, response.statusCode);
    return response;
  };

  async function answer(event: HttpEvent): Promise<HttpResponse> {
    try {
      const userId = requireUserId(event);
      const body = readBody(event);
      const route = ROUTES.get(event.routeKey);
      if (!route) throw new NotFoundError('Route not found');
      return await route({ ...routeDeps, event, userId, body });
    } catch (error) {
      if (error instanceof TasksApiError) {
        if (error.status === 429 || error.status >= 500) {
          logger.warn('Task store refused the request', { routeKey: event.routeKey, error });
        }
        return errorResponse(error);
      }
      logger.error('Unhandled error in task API', { routeKey: event.routeKey, error });
      return internalErrorResponse();
    }
  }
}
