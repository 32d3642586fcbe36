import type { ClientMessage, ServerFrame } from '../../../lambdas/contract.js';
import { backoffDelay, HEARTBEAT_MS, PLANNED_RECONNECT_MS, PONG_TIMEOUT_MS } from './backoff.js';
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
  /** A valid token for the handshake's `?token=`; null when signed out. */
  getToken(): Promise<string | null>;
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
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.wasLive = true;
      this.setStatus('live');
      this.send({ action: 'hello' });
      this.scheduleHeartbeat();
      this.timers.planned = setTimeout(() => this.plannedReconnect(), PLANNED_RECONNECT_MS);
      this.options.onConnected();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      clearTimeout(this.timers.pong);
      this.timers.pong = undefined;
      const frame = parseFrame(ev.data);
      if (frame) this.options.onFrame(frame);
    };
    // A failed handshake (401/403 from the authorizer) shows up as error + close 1006.
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
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

  /** Before API Gateway's 2-hour cut: a fresh connection now, resynced like any other. */
  private plannedReconnect(): void {
    this.attempt = 0;
    this.reconnectNow('planned reconnect');
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
