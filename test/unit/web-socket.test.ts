import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerFrame } from '../../lambdas/contract.js';
import { LIMITS } from '../../lib/definitions.js';
import {
  BACKOFF_CAP_MS,
  backoffDelay,
  HEARTBEAT_MS,
  MIN_TOKEN_RECONNECT_GAP_MS,
  PLANNED_RECONNECT_MS,
  PONG_TIMEOUT_MS,
  TOKEN_RECONNECT_MARGIN_MS,
} from '../../web/src/sync/backoff.js';
import type { NetworkStatus } from '../../web/src/sync/network.js';
import { LiveSocket, socketUrl, type ConnectionStatus, type SocketLike } from '../../web/src/sync/socket.js';

class FakeSocket implements SocketLike {
  sent: unknown[] = [];
  /** The WebSocket API answers {"action":"ping"} with PONG; a dead link does not. */
  answerPings = true;
  /** How long the answer takes (0: at once). */
  pongDelayMs = 0;
  closed: { code?: number; reason?: string } | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    const message = JSON.parse(data) as { action: string };
    this.sent.push(message);
    if (message.action === 'ping' && this.answerPings) {
      if (this.pongDelayMs > 0) setTimeout(() => this.receive({ type: 'PONG' }), this.pongDelayMs);
      else queueMicrotask(() => this.receive({ type: 'PONG' }));
    }
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
  }
  // What the server / browser does:
  open() {
    this.onopen?.({});
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.onerror?.({});
    this.onclose?.({ code, reason: '' });
  }
}

function fakeNetwork(online = true): NetworkStatus & { set(online: boolean): void } {
  const listeners = new Set<(online: boolean) => void>();
  return {
    online: () => online,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    set(value) {
      online = value;
      listeners.forEach((l) => l(value));
    },
  };
}

function setup(opts: { online?: boolean; random?: () => number; heartbeatMs?: number; since?: () => string | null } = {}) {
  const sockets: FakeSocket[] = [];
  const statuses: ConnectionStatus[] = [];
  const frames: ServerFrame[] = [];
  const network = fakeNetwork(opts.online ?? true);
  let tokenCount = 0;
  const onConnected = vi.fn();
  const live = new LiveSocket({
    wsUrl: 'ws://127.0.0.1:3002/local',
    getToken: async () => `token-${++tokenCount}`,
    onStatus: (s) => statuses.push(s),
    onFrame: (f) => frames.push(f),
    onConnected,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    network,
    random: opts.random ?? (() => 0.5),
    heartbeatMs: opts.heartbeatMs,
    pingSince: opts.since,
  });
  const last = () => sockets.at(-1)!;
  return { live, sockets, statuses, frames, network, onConnected, last };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('backoffDelay', () => {
  it('stays within [0, min(cap, base * 2^attempt)) for any random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const delay = backoffDelay(attempt, () => r);
          const ceiling = Math.min(BACKOFF_CAP_MS, 500 * 2 ** attempt);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('grows exponentially until the cap', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelay(a, top))).toEqual([
      499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999,
    ]);
  });

  it('uses the full range (full jitter), not a fixed delay', () => {
    expect(backoffDelay(6, () => 0)).toBe(0);
    expect(backoffDelay(6, () => 0.5)).toBe(15_000);
  });
});

describe('timer values', () => {
  it('pings well inside API Gateway’s 10-minute idle timeout', () => {
    expect(HEARTBEAT_MS).toBe(270_000);
    expect(HEARTBEAT_MS + PONG_TIMEOUT_MS).toBeLessThan((LIMITS.wsIdleTimeoutSeconds * 1000) / 2);
  });

  it('plans the reconnect at 1 h 50 min, before the 2-hour maximum connection duration', () => {
    expect(PLANNED_RECONNECT_MS).toBe(110 * 60_000);
    expect(PLANNED_RECONNECT_MS).toBeLessThan(LIMITS.wsMaxConnectionSeconds * 1000);
  });
});

describe('LiveSocket', () => {
  it('puts the token in the query string, URL-encoded', () => {
    expect(socketUrl('wss://x.execute-api.eu-west-1.amazonaws.com/prod', 'a.b+c')).toBe(
      'wss://x.execute-api.eu-west-1.amazonaws.com/prod?token=a.b%2Bc',
    );
    expect(socketUrl('ws://h/local?v=1', 't')).toBe('ws://h/local?v=1&token=t');
  });

  it('goes live on open, says hello and asks for a resync', async () => {
    const { live, last, statuses, onConnected } = setup();
    live.start();
    await settle();
    expect(last().url).toBe('ws://127.0.0.1:3002/local?token=token-1');
    expect(live.currentStatus).toBe('connecting');

    last().open();

    expect(statuses).toEqual(['live']);
    expect(last().sent).toEqual([{ action: 'hello' }]);
    expect(onConnected).toHaveBeenCalledTimes(1);
  });

  it('hands every JSON frame to the app, BATCH included, and ignores garbage', async () => {
    const { live, last, frames } = setup();
    live.start();
    await settle();
    last().open();
    const batch = { type: 'BATCH', events: [{ type: 'TASK_DELETED', eventId: 'e', at: 'x', taskId: 't' }] };
    last().receive(batch);
    last().onmessage?.({ data: 'not json' });
    expect(frames).toEqual([batch]);
  });

  it('sends a ping every heartbeat interval', async () => {
    const { live, last } = setup();
    live.start();
    await settle();
    last().open();

    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);

    expect(last().sent).toEqual([{ action: 'hello' }, { action: 'ping' }, { action: 'ping' }]);
  });

  it('sends the current sync token as `since` with every ping, and a plain ping without one', async () => {
    let token: string | null = null;
    const { live, last } = setup({ since: () => token });
    live.start();
    await settle();
    last().open();

    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    token = 'tok-1';
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);
    token = 'tok-2';
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS);

    expect(last().sent).toEqual([
      { action: 'hello' },
      { action: 'ping' },
      { action: 'ping', since: 'tok-1' },
      { action: 'ping', since: 'tok-2' },
    ]);
  });

  it('pings at the configured heartbeat period', async () => {
    const { live, last } = setup({ heartbeatMs: 1000 });
    live.start();
    await settle();
    last().open();

    await vi.advanceTimersByTimeAsync(999);
    expect(last().sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(4001);
    expect(last().sent).toHaveLength(6);
  });

  it('keeps a connection whose pongs come later than the next ping, with a heartbeat shorter than the pong timeout', async () => {
    const { live, sockets } = setup({ heartbeatMs: 1000 });
    live.start();
    await settle();
    sockets[0]!.pongDelayMs = 1500;
    sockets[0]!.open();

    await vi.advanceTimersByTimeAsync(PONG_TIMEOUT_MS * 3);

    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.closed).toBeNull();
    expect(sockets[0]!.sent.length).toBeGreaterThan(PONG_TIMEOUT_MS / 1000);
  });

  it('replaces a connection that stops answering a short heartbeat, PONG_TIMEOUT_MS after the first unanswered ping', async () => {
    const { live, sockets } = setup({ heartbeatMs: 1000 });
    live.start();
    await settle();
    sockets[0]!.open();
    await vi.advanceTimersByTimeAsync(5_000);
    sockets[0]!.answerPings = false;

    // The ping at 6 s is the first unanswered one; the later pings do not push the deadline out.
    await vi.advanceTimersByTimeAsync(1_000 + PONG_TIMEOUT_MS - 1);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'no pong' });
    expect(sockets).toHaveLength(2);
  });

  it('replaces a connection that stops answering pings', async () => {
    const { live, sockets } = setup();
    live.start();
    await settle();
    sockets[0]!.answerPings = false;
    sockets[0]!.open();

    await vi.advanceTimersByTimeAsync(HEARTBEAT_MS + PONG_TIMEOUT_MS - 1);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'no pong' });
    expect(sockets).toHaveLength(2);
  });

  it('reconnects after a drop with backoff, a fresh token and a new resync', async () => {
    const { live, sockets, statuses, onConnected } = setup({ random: () => 0.5 });
    live.start();
    await settle();
    sockets[0]!.open();

    sockets[0]!.drop();
    expect(live.currentStatus).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(249); // attempt 0: 0.5 * 500 ms
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets[1]!.url).toMatch(/token=token-2$/);

    sockets[1]!.drop(); // the handshake fails (e.g. 401): next wait doubles
    await vi.advanceTimersByTimeAsync(499);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    sockets[2]!.open();

    expect(statuses).toEqual(['live', 'reconnecting', 'live']);
    expect(onConnected).toHaveBeenCalledTimes(2);
  });

  it('reconnects on its own before the 2-hour limit', async () => {
    const { live, sockets, onConnected } = setup();
    live.start();
    await settle();
    sockets[0]!.open();

    await vi.advanceTimersByTimeAsync(PLANNED_RECONNECT_MS - 1);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'planned reconnect' });
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(onConnected).toHaveBeenCalledTimes(2);
    expect(sockets[0]!.sent.filter((m) => (m as { action: string }).action === 'ping')).toHaveLength(
      Math.floor(PLANNED_RECONNECT_MS / HEARTBEAT_MS),
    );
  });

  it('goes offline with the browser, stops retrying, and connects when back online', async () => {
    const { live, sockets, network, statuses } = setup();
    live.start();
    await settle();
    sockets[0]!.open();

    network.set(false);
    expect(statuses.at(-1)).toBe('offline');
    expect(sockets[0]!.closed).not.toBeNull();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(sockets).toHaveLength(1);

    network.set(true);
    await settle();
    sockets[1]!.open();
    expect(statuses).toEqual(['live', 'offline', 'reconnecting', 'live']);
  });

  it('starts offline when the browser is offline', async () => {
    const { live, sockets } = setup({ online: false });
    live.start();
    await settle();
    expect(live.currentStatus).toBe('offline');
    expect(sockets).toHaveLength(0);
  });

  it('closes and stays closed after stop', async () => {
    const { live, sockets } = setup();
    live.start();
    await settle();
    sockets[0]!.open();
    live.stop();
    sockets[0]!.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.closed?.code).toBe(1000);
  });
});

/** A JWT as the client reads it (never verified there): `exp` in epoch seconds. */
function jwt(n: number, expiresAtMs: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part({ sub: 'u', n, exp: Math.floor(expiresAtMs / 1000) })}.sig`;
}

const tokenNumber = (socket: FakeSocket) => {
  const token = decodeURIComponent(new URL(socket.url).searchParams.get('token')!);
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { n: number }).n;
};

/**
 * An auth layer as web/src/auth/*.ts behaves: the stored token until it is
 * within `renewMarginMs` of its expiry (or a forced refresh), then a new one
 * living `lifetimeMs`. `calls` records each call's forceRefresh.
 */
function tokenAuth(lifetimeMs: number, renewMarginMs = 60_000) {
  let n = 0;
  let current = { token: jwt(++n, Date.now() + lifetimeMs), exp: Date.now() + lifetimeMs };
  const calls: boolean[] = [];
  return {
    calls,
    /** Tokens issued so far. */
    issued: () => n,
    /** The stored token, as another tab might have left it. */
    set(lifetime: number) {
      current = { token: jwt(++n, Date.now() + lifetime), exp: Date.now() + lifetime };
    },
    async getToken(forceRefresh = false): Promise<string> {
      calls.push(forceRefresh);
      if (forceRefresh || current.exp - Date.now() <= renewMarginMs) {
        current = { token: jwt(++n, Date.now() + lifetimeMs), exp: Date.now() + lifetimeMs };
      }
      return current.token;
    },
  };
}

function setupWithAuth(auth: ReturnType<typeof tokenAuth>, opts: { heartbeatMs?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const createdAt: number[] = [];
  const statuses: ConnectionStatus[] = [];
  const frames: ServerFrame[] = [];
  const onConnected = vi.fn();
  const live = new LiveSocket({
    wsUrl: 'ws://127.0.0.1:3002/local',
    getToken: (force) => auth.getToken(force),
    onStatus: (s) => statuses.push(s),
    onFrame: (f) => frames.push(f),
    onConnected,
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      createdAt.push(Date.now());
      // The gateway accepts the handshake a moment later.
      queueMicrotask(() => s.open());
      return s;
    },
    network: fakeNetwork(true),
    random: () => 0.5,
    heartbeatMs: opts.heartbeatMs,
  });
  return { live, sockets, createdAt, statuses, frames, onConnected };
}

const TOKEN_EXPIRED = { type: 'ERROR', code: 'TOKEN_EXPIRED', message: 'The token expired; connect again with a new one' };

describe('LiveSocket and the token’s expiry', () => {
  // Whole seconds, as a JWT's `exp` is.
  beforeEach(() => {
    vi.setSystemTime(Date.parse('2026-11-27T10:00:00.000Z'));
  });

  it('reconnects at once with a fresh token on ERROR TOKEN_EXPIRED, without the backoff delay, and resyncs', async () => {
    // The server's clock is ahead of ours: here the token still looks valid for an hour.
    const auth = tokenAuth(3600_000);
    const { live, sockets, statuses, frames, onConnected } = setupWithAuth(auth);
    live.start();
    await settle();
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10 * 60_000);

    sockets[0]!.receive(TOKEN_EXPIRED);
    await settle();

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'token expired' });
    expect(sockets).toHaveLength(2);
    // getToken handed back the refused token (it looks valid here), so a forced refresh followed.
    expect(auth.calls).toEqual([false, false, true]);
    expect(tokenNumber(sockets[1]!)).toBe(2);
    expect(statuses).toEqual(['live', 'reconnecting', 'live']);
    expect(onConnected).toHaveBeenCalledTimes(2);
    // The app sees the frame too (the engine must not take it for a refused sync token).
    expect(frames.filter((f) => f.type === 'ERROR')).toEqual([TOKEN_EXPIRED]);
    // The server's close that follows the frame changes nothing.
    sockets[0]!.drop(1000);
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS);
    expect(sockets).toHaveLength(2);
  });

  it('does not force a refresh when the auth layer already renewed the token', async () => {
    const auth = tokenAuth(3600_000);
    const { live, sockets } = setupWithAuth(auth);
    live.start();
    await settle();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    auth.set(3600_000); // another tab renewed it meanwhile

    sockets[0]!.receive(TOKEN_EXPIRED);
    await settle();

    expect(auth.calls).toEqual([false, false]);
    expect(tokenNumber(sockets[1]!)).toBe(2);
  });

  it('reconnects TOKEN_RECONNECT_MARGIN_MS before the token expires, with a new token, when that is before the planned reconnect', async () => {
    const auth = tokenAuth(30 * 60_000);
    const { live, sockets, onConnected } = setupWithAuth(auth);
    live.start();
    await settle();

    await vi.advanceTimersByTimeAsync(30 * 60_000 - TOKEN_RECONNECT_MARGIN_MS - 1);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'token expiring' });
    expect(sockets).toHaveLength(2);
    expect(tokenNumber(sockets[1]!)).toBe(2);
    expect(onConnected).toHaveBeenCalledTimes(2);
    // And again before the second token expires.
    await vi.advanceTimersByTimeAsync(30 * 60_000 - TOKEN_RECONNECT_MARGIN_MS);
    await settle();
    expect(sockets).toHaveLength(3);
    expect(tokenNumber(sockets[2]!)).toBe(3);
  });

  it('forces a refresh when the auth layer would hand back a token about to expire', async () => {
    // An auth layer that renews only 10 s before expiry: at our reconnect its token has 60 s left.
    const auth = tokenAuth(30 * 60_000, 10_000);
    const { live, sockets } = setupWithAuth(auth);
    live.start();
    await settle();

    await vi.advanceTimersByTimeAsync(30 * 60_000 - TOKEN_RECONNECT_MARGIN_MS);
    await settle();

    expect(auth.calls).toEqual([false, false, true]);
    expect(tokenNumber(sockets[1]!)).toBe(2);
  });

  it('keeps the planned reconnect at 1 h 50 min for a token that outlives it', async () => {
    const auth = tokenAuth(24 * 3600_000);
    const { live, sockets } = setupWithAuth(auth);
    live.start();
    await settle();

    await vi.advanceTimersByTimeAsync(PLANNED_RECONNECT_MS - 1);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await settle();

    expect(sockets[0]!.closed).toEqual({ code: 1000, reason: 'planned reconnect' });
    expect(tokenNumber(sockets[1]!)).toBe(1);
  });

  it('never reconnects in a loop with a very short-lived token: at least MIN_TOKEN_RECONNECT_GAP_MS apart, the gap growing', async () => {
    // Every token lives 2 s, shorter than the margin: each one "expires soon" as soon as it is issued.
    const auth = tokenAuth(2_000);
    const { live, sockets, createdAt: openedAt } = setupWithAuth(auth);
    live.start();
    for (let i = 0; i < 3600 && openedAt.length < 8; i++) await vi.advanceTimersByTimeAsync(1_000);
    const gaps = openedAt.slice(1).map((t, i) => t - openedAt[i]!);

    expect(gaps.length).toBeGreaterThan(3);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_TOKEN_RECONNECT_GAP_MS);
    expect(gaps).toEqual([5, 10, 20, 40, 80, 160, 160].map((s) => s * 1000));
    // One token per connection (the auth layer renews them), no forced refresh on top.
    expect(auth.issued()).toBe(sockets.length + 1);
  });

  it('waits out the gap when the server says TOKEN_EXPIRED right after a connect, instead of looping', async () => {
    const auth = tokenAuth(3600_000);
    const { live, sockets, statuses } = setupWithAuth(auth);
    live.start();
    await settle();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    sockets[0]!.receive(TOKEN_EXPIRED);
    await settle();
    expect(sockets).toHaveLength(2);
    // From now on the server refuses every token as soon as the client speaks (its clock runs hours ahead).
    sockets[1]!.receive(TOKEN_EXPIRED);
    await settle();
    expect(sockets).toHaveLength(2);
    expect(statuses.at(-1)).toBe('reconnecting');

    await vi.advanceTimersByTimeAsync(MIN_TOKEN_RECONNECT_GAP_MS - 1);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(sockets).toHaveLength(3);
    expect(statuses.at(-1)).toBe('live');

    sockets[2]!.receive(TOKEN_EXPIRED);
    await vi.advanceTimersByTimeAsync(2 * MIN_TOKEN_RECONNECT_GAP_MS - 1);
    expect(sockets).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(sockets).toHaveLength(4);
  });

  it('asks for a new token after two failed handshakes with the same one (expired by the server’s clock, not ours)', async () => {
    const auth = tokenAuth(3600_000);
    const sockets: FakeSocket[] = [];
    const live = new LiveSocket({
      wsUrl: 'ws://127.0.0.1:3002/local',
      getToken: (force) => auth.getToken(force),
      onStatus: () => undefined,
      onFrame: () => undefined,
      onConnected: () => undefined,
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      network: fakeNetwork(true),
      random: () => 0.5,
    });
    live.start();
    await settle();
    sockets[0]!.open();
    sockets[0]!.drop(); // a network blip

    // The authorizer refuses the token (the handshake fails with 401: error, then close 1006).
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS);
    sockets[1]!.drop();
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS);
    expect(tokenNumber(sockets[2]!)).toBe(1);
    sockets[2]!.drop();
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS);

    expect(auth.calls.at(-1)).toBe(true);
    expect(tokenNumber(sockets[3]!)).toBe(2);
    sockets[3]!.open();
    expect(live.currentStatus).toBe('live');
    live.stop();
  });

  it('stops for good on stop(), even with a token reconnect pending', async () => {
    const auth = tokenAuth(3600_000);
    const { live, sockets } = setupWithAuth(auth);
    live.start();
    await settle();
    sockets[0]!.receive(TOKEN_EXPIRED);
    live.stop();
    await vi.advanceTimersByTimeAsync(3 * 3600_000);
    expect(sockets.length).toBeLessThanOrEqual(2);
    expect(sockets.every((s) => s.closed?.code === 1000)).toBe(true);
  });
});
