import type { ClientMessage, ServerFrame } from '../../../lambdas/contract.js';
import { decodeClaims } from '../auth/jwt.js';
import {
  backoffDelay,
  HEARTBEAT_MS,
  MIN_TOKEN_RECONNECT_GAP_MS,
  PLANNED_RECONNECT_MS,
  PONG_TIMEOUT_MS,
  TOKEN_RECONNECT_MARGIN_MS,
} from './backoff.js';
import { browserNetwork, type NetworkStatus } from './network.js';

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** The part of the browser WebSocket the client uses. */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface LiveSocketOptions {
  wsUrl: string;
  /**
   * A valid token for the handshake's `?token=`; null when signed out.
   * `forceRefresh`: a new one even if the stored one looks valid (the server said it expired).
   */
  getToken(forceRefresh?: boolean): Promise<string | null>;
  onStatus(status: ConnectionStatus): void;
  onFrame(frame: ServerFrame): void;
  /** After every open, first or re-: the place to resync with `GET /tasks`. */
  onConnected(): void;
  /** No token to connect with: the user must sign in again. */
  onSignedOut?(): void;
  createSocket?: (url: string) => SocketLike;
  network?: NetworkStatus;
  random?: () => number;
  /** Ping period (config.json `heartbeatMs`); default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** The sync token a ping carries as `since`, so PONG says whether changes were missed. */
  pingSince?(): string | null;
  /** Epoch milliseconds; default Date.now. */
  now?(): number;
}

export function socketUrl(wsUrl: string, token: string): string {
  return `${wsUrl}${wsUrl.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/**
 * One WebSocket per tab to the WebSocket API, kept alive across the things
 * API Gateway and networks do to it: the 10-minute idle timeout (heartbeat,
 * which also asks whether changes were missed: `since`, PONG `behind`),
 * the 2-hour maximum duration (planned reconnect), drops (backoff with full
 * jitter) and going offline (wait for the `online` event).
 *
 * A connection never outlives its token: it is replaced TOKEN_RECONNECT_MARGIN_MS
 * before the token's `exp` (or at the planned reconnect, whichever comes
 * first), and at once, with a fresh token, when the server answers a message
 * with ERROR TOKEN_EXPIRED (a clock behind the server's, a laptop that slept
 * through the planned time). Reconnects the token causes are at least
 * MIN_TOKEN_RECONNECT_GAP_MS apart (doubling while they keep coming that
 * fast), so a very short-lived token or a skewed clock cannot make a loop.
 */
export class LiveSocket {
  private ws: SocketLike | null = null;
  private status: ConnectionStatus = 'connecting';
  private attempt = 0;
  private wasLive = false;
  private stopped = true;
  /** Bumped on every open/stop so late callbacks of an abandoned attempt do nothing. */
  private generation = 0;
  private timers: Partial<Record<'reconnect' | 'heartbeat' | 'pong' | 'planned', ReturnType<typeof setTimeout>>> = {};
  private unsubscribe: (() => void) | null = null;
  private readonly network: NetworkStatus;
  /** The open connection's token, and when it opened (epoch ms). */
  private connected: { token: string; at: number } | null = null;
  /** A token the server called expired: the next open asks for a new one even if it looks valid here. */
  private expiredToken: string | null = null;
  /** The token of the latest connection that opened. */
  private lastToken: string | null = null;
  /** Handshakes in a row that failed with this token (the authorizer's 401 looks like any drop). */
  private failedHandshakes: { token: string; count: number } | null = null;
  /** Token reconnects in a row that the gap held back (the token alone would have been sooner): widens the gap. */
  private heldTokenReconnects = 0;

  constructor(private readonly options: LiveSocketOptions) {
    this.network = options.network ?? browserNetwork();
  }

  get currentStatus(): ConnectionStatus {
    return this.status;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.network.subscribe((online) => (online ? this.onOnline() : this.onOffline()));
    if (this.network.online()) void this.open();
    else this.setStatus('offline');
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.drop(1000, 'client stopped');
  }

  /** Sends a client message if the socket is open; false otherwise. */
  send(message: ClientMessage): boolean {
    if (!this.ws || this.status !== 'live') return false;
    try {
      this.ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  private async open(): Promise<void> {
    this.clearTimers();
    const gen = ++this.generation;
    this.setStatus(this.wasLive || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let token: string | null;
    try {
      token = await this.options.getToken();
      // The token the server just refused, the one we are replacing because it is about to expire
      // (an auth layer that renews later than we reconnect), or one whose handshake failed twice
      // (expired by the server's clock, though not by ours): ask for a new one.
      const stale =
        token !== null &&
        (token === this.expiredToken ||
          (token === this.lastToken && this.expiresWithin(token, TOKEN_RECONNECT_MARGIN_MS)) ||
          (token === this.failedHandshakes?.token && this.failedHandshakes.count >= 2));
      if (stale) {
        if (gen !== this.generation || this.stopped) return;
        token = await this.options.getToken(true);
      }
    } catch {
      if (gen === this.generation) this.scheduleReconnect();
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    if (token === null) {
      this.setStatus('offline');
      this.options.onSignedOut?.();
      return;
    }
    let ws: SocketLike;
    try {
      ws = (this.options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike))(
        socketUrl(this.options.wsUrl, token),
      );
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    const connectToken = token;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.wasLive = true;
      this.connected = { token: connectToken, at: this.now() };
      this.lastToken = connectToken;
      this.failedHandshakes = null;
      if (connectToken !== this.expiredToken) this.expiredToken = null;
      this.setStatus('live');
      this.send({ action: 'hello' });
      this.scheduleHeartbeat();
      this.schedulePlanned(connectToken);
      this.options.onConnected();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      clearTimeout(this.timers.pong);
      this.timers.pong = undefined;
      const frame = parseFrame(ev.data);
      if (!frame) return;
      this.options.onFrame(frame);
      // The server closes the connection after this frame: do not wait for the close, nor back off.
      if (ws === this.ws && frame.type === 'ERROR' && frame.code === 'TOKEN_EXPIRED') this.tokenExpired();
    };
    // A failed handshake (401/403 from the authorizer) shows up as error + close 1006.
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (this.connected === null) {
        const count = this.failedHandshakes?.token === connectToken ? this.failedHandshakes.count + 1 : 1;
        this.failedHandshakes = { token: connectToken, count };
      }
      this.connected = null;
      this.clearTimers();
      if (this.stopped) return;
      if (!this.network.online()) this.setStatus('offline');
      else this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setStatus('reconnecting');
    const delay = backoffDelay(this.attempt++, this.options.random);
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => void this.open(), delay);
  }

  private scheduleHeartbeat(): void {
    this.timers.heartbeat = setTimeout(() => {
      const since = this.options.pingSince?.() ?? null;
      if (!this.send(since === null ? { action: 'ping' } : { action: 'ping', since })) return;
      // Counted from the first ping nothing answered since: with a heartbeat shorter than
      // the pong timeout, later pings must not push the deadline out (nor leak timers).
      this.timers.pong ??= setTimeout(() => this.reconnectNow('no pong'), PONG_TIMEOUT_MS);
      this.scheduleHeartbeat();
    }, this.options.heartbeatMs ?? HEARTBEAT_MS);
  }

  /**
   * The planned reconnect: before API Gateway's 2-hour cut, or before the
   * token expires if that is sooner, but not sooner than the token-reconnect gap.
   */
  private schedulePlanned(token: string): void {
    const exp = tokenExpiry(token);
    const beforeExpiry = exp === null ? Number.POSITIVE_INFINITY : exp - TOKEN_RECONNECT_MARGIN_MS - this.now();
    if (beforeExpiry >= PLANNED_RECONNECT_MS) {
      this.timers.planned = setTimeout(() => this.plannedReconnect('planned reconnect'), PLANNED_RECONNECT_MS);
    } else {
      const gap = this.tokenGap();
      const held = beforeExpiry < gap;
      this.timers.planned = setTimeout(
        () => {
          this.heldTokenReconnects = held ? this.heldTokenReconnects + 1 : 0;
          this.plannedReconnect('token expiring');
        },
        Math.max(gap, beforeExpiry),
      );
    }
  }

  /** A fresh connection now, resynced like any other. */
  private plannedReconnect(reason: string): void {
    this.attempt = 0;
    this.reconnectNow(reason);
  }

  /**
   * ERROR TOKEN_EXPIRED: a new connection with a new token at once (the
   * onConnected catch-up brings what the server stopped sending), or once
   * the token-reconnect gap since this connection opened has passed.
   */
  private tokenExpired(): void {
    const openedAt = this.connected?.at ?? this.now();
    this.expiredToken = this.connected?.token ?? null;
    const wait = openedAt + this.tokenGap() - this.now();
    this.heldTokenReconnects = wait > 0 ? this.heldTokenReconnects + 1 : 0;
    this.attempt = 0;
    if (wait <= 0) {
      this.reconnectNow('token expired');
      return;
    }
    this.drop(1000, 'token expired');
    if (!this.network.online()) {
      this.setStatus('offline');
      return;
    }
    this.setStatus('reconnecting');
    this.timers.reconnect = setTimeout(() => void this.open(), wait);
  }

  /** The least time from an open to a token reconnect: the floor, doubled for each held-back one in a row (at most 32×). */
  private tokenGap(): number {
    return MIN_TOKEN_RECONNECT_GAP_MS * 2 ** Math.min(this.heldTokenReconnects, 5);
  }

  private expiresWithin(token: string, ms: number): boolean {
    const exp = tokenExpiry(token);
    return exp !== null && exp - this.now() <= ms;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private reconnectNow(reason: string): void {
    this.drop(1000, reason);
    if (this.stopped) return;
    if (this.network.online()) void this.open();
    else this.setStatus('offline');
  }

  private onOnline(): void {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    void this.open();
  }

  private onOffline(): void {
    if (this.stopped) return;
    // The browser may take minutes to notice a dead link; stop waiting for it.
    this.generation++;
    this.drop(1000, 'offline');
    this.setStatus('offline');
  }

  private drop(code: number, reason: string): void {
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.connected = null;
    if (ws) {
      try {
        ws.close(code, reason);
      } catch {
        // Closing a socket that never opened can throw in some browsers.
      }
    }
  }

  private clearTimers(): void {
    for (const t of Object.values(this.timers)) clearTimeout(t);
    this.timers = {};
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.onStatus(status);
  }
}

/** The token's `exp` in epoch ms; null when it is not a JWT with one (the server decides then). */
function tokenExpiry(token: string): number | null {
  try {
    const { exp } = decodeClaims(token);
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function parseFrame(data: unknown): ServerFrame | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const frame: unknown = JSON.parse(data);
    if (frame && typeof frame === 'object' && typeof (frame as { type?: unknown }).type === 'string') {
      return frame as ServerFrame;
    }
  } catch {
    // Not ours to interpret; ignore.
  }
  return undefined;
}
