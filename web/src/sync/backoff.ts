import { LIMITS } from '../../../lib/definitions.js';

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0-based): "full jitter" from the
 * AWS Architecture Blog's "Exponential Backoff And Jitter", a uniform random
 * value in [0, min(cap, base * 2^attempt)), so a fleet of tabs that lost the
 * same server does not come back in lockstep.
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = BACKOFF_BASE_MS,
  capMs = BACKOFF_CAP_MS,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.min(ceiling - 1, Math.floor(random() * ceiling));
}

/** API Gateway closes a WebSocket idle for 10 minutes; ping at well under half of that. */
export const HEARTBEAT_MS = Math.floor((LIMITS.wsIdleTimeoutSeconds * 1000) / 2) - 30_000;

/** No frame this long after a ping means the connection is dead (a half-open TCP link). */
export const PONG_TIMEOUT_MS = 20_000;

/**
 * API Gateway ends every WebSocket connection after 2 hours; reconnect on our
 * terms 10 minutes before that instead of losing events in the cut.
 */
export const PLANNED_RECONNECT_MS = (LIMITS.wsMaxConnectionSeconds - 600) * 1000;

/**
 * Reconnect this long before the connection's token expires (its `exp`): the
 * server stops posting events to a connection whose token expired and closes
 * it at its next message (docs/design.md, "WebSocket"). The auth layers renew
 * a token this close to its expiry (local: 60 s, Cognito: 5 min).
 */
export const TOKEN_RECONNECT_MARGIN_MS = 60_000;

/**
 * Reconnects caused by the token (its expiry coming, or the server's
 * TOKEN_EXPIRED) come at most this often: with a token shorter-lived than the
 * margin, or a server whose clock runs ahead, they must not become a loop.
 */
export const MIN_TOKEN_RECONNECT_GAP_MS = 5_000;
