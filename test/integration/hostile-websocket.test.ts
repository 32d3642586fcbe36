import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Task } from '../../lambdas/contract.js';
import { LIMITS, TABLES } from '../../lib/definitions.js';
import { apiClient, directDb, getToken, sleep, SocketClient } from '../support/clients.js';
import { fuzz as fuzzProperty, recordSecurityFigures } from '../support/security-figures.js';
import { forge } from '../support/tokens.js';
import '../support/stack-info.js';

/**
 * Hostile WebSocket input against the real local stack: garbage text frames
 * (fast-check), binary frames, invalid UTF-8, oversized messages and ping
 * floods. No connection or server may crash, and other users' sockets keep
 * receiving their own events.
 */

const stack = inject('stack');
const newUser = () => `hostile-ws-${randomUUID()}`;

const db = directDb(stack.dynamodbEndpoint);

const figures = {
  properties: [] as Array<{ name: string; runs: number }>,
  textMessages: 0,
  answeredWithError: 0,
  answeredWithPong: 0,
  answeredWithAuthSuccess: 0,
  closes: {} as Record<string, number>,
  flood: {} as Record<string, number>,
  bystanderEvents: 0,
  foreignDeliveries: 0,
};

/**
 * A raw `ws` client that keeps every frame as text and remembers how the
 * socket closed. PRESENCE frames (sent when any of the user's connections
 * opens or closes, not in answer to a message) are kept apart in `presence`,
 * so `frames` holds the answers and task events these tests are about.
 */
class RawSocket {
  readonly frames: string[] = [];
  readonly presence: string[] = [];
  closed?: { code: number; reason: string };
  pongs = 0;
  private readonly closing: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      (text.startsWith('{"type":"PRESENCE"') ? this.presence : this.frames).push(text);
      this.wake();
    });
    ws.on('pong', () => {
      this.pongs++;
      this.wake();
    });
    // A protocol error on our side (e.g. the server's close arriving mid-send) must not fail the run.
    ws.on('error', () => undefined);
    this.closing = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        figures.closes[code] = (figures.closes[code] ?? 0) + 1;
        this.wake();
        resolve(this.closed);
      }),
    );
  }

  static async open(token: string, query = ''): Promise<RawSocket> {
    const ws = new WebSocket(`${stack.wsUrl}?token=${encodeURIComponent(token)}${query}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    });
    const socket = new RawSocket(ws);
    open.push(socket);
    return socket;
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  async until<T>(predicate: () => T | undefined | false, timeoutMs = 5_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = predicate();
      if (value) return value;
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`timed out waiting for ${what}; last frames: ${this.frames.slice(-3).join(' | ').slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next frame after this call, parsed. */
  async next(timeoutMs = 5_000): Promise<Record<string, unknown>> {
    const start = this.frames.length;
    const text = await this.until(() => this.frames[start], timeoutMs, 'a frame');
    return JSON.parse(text) as Record<string, unknown>;
  }

  whenClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.closing,
      sleep(timeoutMs).then(() => {
        throw new Error(`socket still open after ${timeoutMs} ms; frames: ${this.frames.slice(-3).join(' | ').slice(0, 300)}`);
      }),
    ]);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}

const open: RawSocket[] = [];

/** Sends ping and expects PONG: the connection is alive and its route still works. */
async function expectAlive(socket: RawSocket): Promise<void> {
  expect(socket.isOpen).toBe(true);
  socket.ws.send('{"action":"ping"}');
  expect(await socket.next()).toEqual({ type: 'PONG' });
}

async function connectionRows(userId: string): Promise<string[]> {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: TABLES.connections.localName,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => item.connectionId as string);
}

/** Waits until `$disconnect` has deleted the connection's row. */
async function expectRowGone(userId: string, connectionId: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await connectionRows(userId)).includes(connectionId)) {
    if (Date.now() > deadline) throw new Error(`connection row ${connectionId} still there after close`);
    await sleep(50);
  }
}

async function hello(socket: RawSocket): Promise<{ userId: string; connectionId: string }> {
  socket.ws.send('{"action":"hello"}');
  const frame = await socket.next();
  expect(frame.type).toBe('AUTH_SUCCESS');
  return frame as unknown as { userId: string; connectionId: string };
}

/** The contract's answer to a text message (docs/design.md, WebSocket messages). */
function expectedAnswer(message: string): 'PONG' | 'AUTH_SUCCESS' | 'ERROR' {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return 'ERROR';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'ERROR';
  const action = (value as { action?: unknown }).action;
  return action === 'ping' ? 'PONG' : action === 'hello' ? 'AUTH_SUCCESS' : 'ERROR';
}

const fuzz = <T>(name: string, numRuns: number, arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>) =>
  fuzzProperty(figures.properties, name, numRuns, arbitrary, check);

afterAll(async () => {
  for (const socket of open) socket.ws.terminate();
  console.log(
    `[hostile-websocket] ${figures.properties.length} properties, ${figures.properties.reduce((n, p) => n + p.runs, 0)} runs; ` +
      `${figures.textMessages} garbage text messages: ${figures.answeredWithError} ERROR, ${figures.answeredWithPong} PONG, ` +
      `${figures.answeredWithAuthSuccess} AUTH_SUCCESS; closes by code ${JSON.stringify(figures.closes)}; ` +
      `flood ${JSON.stringify(figures.flood)}; bystander events ${figures.bystanderEvents}, foreign deliveries ${figures.foreignDeliveries}`,
  );
  await recordSecurityFigures('hostileWebSocket', figures);
});

describe('hostile WebSocket input', { timeout: 60_000 }, () => {
  it('answers every text message with exactly one contract frame and keeps the connection open', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const sub = forge.claims(token).sub;
    const socket = await RawSocket.open(token);
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const message = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            action: fc.oneof(
              fc.jsonValue({ maxDepth: 1 }),
              fc.constantFrom(
                'hello',
                'ping',
                'PING',
                'Ping',
                ' ping',
                'ping ',
                'hello\u0000',
                '$connect',
                '$disconnect',
                '$default',
                '__proto__',
                'constructor',
                'toString',
                'sendMessage',
              ),
            ),
            data: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc
        .tuple(
          fc.constantFrom('ping', 'hello'),
          fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
        )
        .map(([action, extra]) => JSON.stringify({ ...extra, action })),
      fc.constantFrom(
        '',
        ' ',
        'null',
        '{"__proto__":{"action":"ping"}}',
        '{"constructor":{"prototype":{"action":"hello"}}}',
        '{"action":"ping","action":"hello"}',
        '{"action":"\\ud800"}',
        '{"action":["ping"]}',
        '{"action":{"toString":"ping"}}',
        '{"action":"ping"',
        '\u0000',
        '\ufeff{"action":"ping"}',
      ),
      fc.integer({ min: 100, max: 60_000 }).map(deep),
      fc.integer({ min: 1_000, max: 120_000 }).map((n) => JSON.stringify({ action: 'ping', pad: 'x'.repeat(n) })),
    );
    await fuzz('text messages', 150, message, async (text) => {
      // What the server receives: `ws` sends a string as UTF-8, a lone surrogate becoming U+FFFD.
      const received = Buffer.from(text, 'utf8').toString('utf8');
      figures.textMessages++;
      socket.ws.send(text);
      const frame = await socket.next();
      const expected = expectedAnswer(received);
      expect(frame.type, `${JSON.stringify(text.slice(0, 200))} → ${JSON.stringify(frame).slice(0, 300)}`).toBe(expected);
      if (expected === 'ERROR') {
        figures.answeredWithError++;
        expect(frame).toEqual({ type: 'ERROR', code: 'BAD_REQUEST', message: expect.any(String) });
        expect(frame.message as string).not.toMatch(/at .*\.(ts|js):\d+|\bError:|node:internal/);
      } else if (expected === 'PONG') {
        figures.answeredWithPong++;
        expect(frame).toEqual({ type: 'PONG' });
      } else {
        figures.answeredWithAuthSuccess++;
        expect(frame).toEqual({ type: 'AUTH_SUCCESS', userId: sub, connectionId: expect.any(String), devices: 1 });
      }
      expect(socket.isOpen).toBe(true);
    });
    await expectAlive(socket);
  });

  it('closes the connection with 1003 on a binary frame, as API Gateway does, and cleans up its row', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const bytes = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 2_000 }),
      fc.constantFrom('{"action":"ping"}', '{"action":"hello"}').map((text) => new Uint8Array(Buffer.from(text))),
    );
    await fuzz('binary frames', 25, bytes, async (data) => {
      const socket = await RawSocket.open(token);
      const { connectionId } = await hello(socket);
      socket.ws.send(data, { binary: true });
      const { code } = await socket.whenClosed();
      expect(code).toBe(1003);
      expect(socket.frames.slice(1)).toEqual([]);
      await expectRowGone(userId, connectionId);
    });
  });

  it('fails the connection with 1007 on a text frame that is not UTF-8 (RFC 6455) and cleans up its row', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const invalidUtf8 = fc
      .tuple(
        fc.uint8Array({ maxLength: 50 }),
        fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]),
        fc.uint8Array({ maxLength: 50 }),
      )
      .map(([a, bad, b]) => Buffer.concat([Buffer.from(a), Buffer.from(bad), Buffer.from(b)]))
      .filter((buffer) => !isUtf8(buffer));
    await fuzz('invalid UTF-8 text frames', 20, invalidUtf8, async (data) => {
      const socket = await RawSocket.open(token);
      const { connectionId } = await hello(socket);
      socket.ws.send(data, { binary: false });
      const { code } = await socket.whenClosed();
      expect(code).toBe(1007);
      await expectRowGone(userId, connectionId);
    });
  });

  it('accepts a message of exactly 128 KB and closes with 1009 on anything larger, fragmented or not', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const userId = forge.claims(token).sub as string;
    const padded = (size: number) => {
      const base = JSON.stringify({ action: 'ping', pad: '' });
      return `${base.slice(0, -2)}${'x'.repeat(size - base.length)}"}`;
    };
    const max = LIMITS.wsMessageMaxBytes;
    expect(Buffer.byteLength(padded(max))).toBe(max);

    const atLimit = await RawSocket.open(token);
    atLimit.ws.send(padded(max));
    expect(await atLimit.next()).toEqual({ type: 'PONG' });

    const oversized: Array<[string, (s: RawSocket) => void]> = [
      ['128 KB + 1 byte', (s) => s.ws.send(padded(max + 1))],
      ['5 MB', (s) => s.ws.send('x'.repeat(5 * 1024 * 1024))],
      [
        'five 32 KB fragments',
        (s) => {
          for (let i = 0; i < 5; i++) s.ws.send('y'.repeat(32 * 1024), { fin: i === 4 });
        },
      ],
      ['129 KB of multi-byte text', (s) => s.ws.send('😀'.repeat(Math.ceil((max + 1) / 4)))],
    ];
    for (const [label, sendIt] of oversized) {
      const socket = await RawSocket.open(token);
      const { connectionId } = await hello(socket);
      sendIt(socket);
      const { code } = await socket.whenClosed(10_000);
      expect(code, label).toBe(1009);
      await expectRowGone(userId, connectionId);
    }
    // The sender's other connection is unaffected.
    await expectAlive(atLimit);
  });

  it("survives floods of 2,000 pings while another user's sockets keep receiving only their own task events", async () => {
    const floodToken = await getToken(stack.tokenUrl, newUser());
    const bystanderToken = await getToken(stack.tokenUrl, newUser());
    const flooder = await RawSocket.open(floodToken);
    const bystanders = await Promise.all([
      SocketClient.open(stack.wsUrl, bystanderToken),
      SocketClient.open(stack.wsUrl, bystanderToken),
    ]);
    for (const b of bystanders) {
      b.send({ action: 'hello' });
      await b.next((f) => f.type === 'AUTH_SUCCESS');
    }
    await hello(flooder);
    const bystanderApi = apiClient(stack.apiUrl, bystanderToken);
    const floodApi = apiClient(stack.apiUrl, floodToken);

    const count = 2_000;
    const started = Date.now();
    for (let i = 0; i < count; i++) flooder.ws.send('{"action":"ping"}');
    // Writes by both users while the flood is being answered.
    const created: Task[] = [];
    for (let i = 0; i < 5; i++)
      created.push((await bystanderApi<Task>('POST', '/tasks', { body: { title: `during flood ${i}` } })).body);
    const floodersOwn = (await floodApi<Task>('POST', '/tasks', { body: { title: 'flooder writes too' } })).body;

    await flooder.until(() => flooder.frames.filter((f) => f === '{"type":"PONG"}').length >= count, 30_000, `${count} PONGs`);
    const pongMs = Date.now() - started;
    const pongsReceived = flooder.frames.filter((f) => f === '{"type":"PONG"}').length;
    // Protocol-level pings as fast as the server answers them, 50 in flight at a time.
    for (let sent = 0; sent < count; sent += 50) {
      for (let i = 0; i < 50; i++) flooder.ws.ping();
      await flooder.until(() => flooder.pongs >= sent + 50, 10_000, `${sent + 50} protocol pongs`);
    }
    const totalMs = Date.now() - started;
    // A burst of 2,000 pings without waiting: `ws` (the emulator's server) cuts a client
    // with more than 60 pongs pending as a ping flood; the process and everyone else carry on.
    const burster = await RawSocket.open(floodToken);
    for (let i = 0; i < count; i++) burster.ws.ping();
    await burster.until(() => burster.pongs >= count || burster.closed, 10_000, 'the burst to be answered or cut');
    const burstOutcome = burster.closed
      ? `closed ${burster.closed.code} after ${burster.pongs} pongs`
      : `answered ${burster.pongs} pongs`;

    for (let i = 0; i < 3; i++)
      created.push((await bystanderApi<Task>('POST', '/tasks', { body: { title: `after flood ${i}` } })).body);
    const ids = new Set(created.map((t) => t.id));
    for (const b of bystanders) {
      await b.waitFor((c) => new Set(c.events().map((e) => e.taskId)).size >= created.length, 10_000);
      // Delivery is at-least-once: a redelivered event (same eventId) is allowed, a missing or foreign one is not.
      const events = [...new Map(b.events().map((e) => [e.eventId, e])).values()];
      const foreign = events.filter((e) => !ids.has(e.taskId));
      figures.bystanderEvents += events.length - foreign.length;
      figures.foreignDeliveries += foreign.length;
      expect(foreign).toEqual([]);
      expect(events.map((e) => e.taskId)).toEqual(created.map((t) => t.id));
    }
    // The flooder's own change still reaches it, after 2,000 PONGs.
    await flooder.until(() => flooder.frames.some((f) => f.includes(floodersOwn.id)), 10_000, "the flooder's own event");
    expect(
      flooder.frames.filter((f) => !f.includes('PONG') && !f.includes('AUTH_SUCCESS') && !f.includes(floodersOwn.id)),
    ).toEqual([]);
    await expectAlive(flooder);

    // A fresh connection is served as usual.
    const fresh = await RawSocket.open(await getToken(stack.tokenUrl, newUser()));
    await hello(fresh);

    figures.flood = {
      messagePings: count,
      pongsReceived,
      protocolPings: count,
      protocolPongs: flooder.pongs,
      msToAnswerMessagePings: pongMs,
      msTotal: totalMs,
    };
    console.log(`[hostile-websocket] burst of ${count} protocol pings on one socket: ${burstOutcome}`);
  });

  it('serves every handshake whatever its extra query parameters and headers: a token gets 101, none gets 401', async () => {
    const token = await getToken(stack.tokenUrl, newUser());
    const name = fc
      .oneof(
        fc.constantFrom(
          'constructor',
          '__proto__',
          'toString',
          'hasOwnProperty',
          'valueOf',
          'prototype',
          'Token',
          'TOKEN',
          'token[]',
          '',
        ),
        fc.string({ maxLength: 12 }),
      )
      .filter((n) => n !== 'token');
    const params = fc.array(fc.tuple(name, fc.string({ maxLength: 12 })), { maxLength: 4 });
    const headerName = fc
      .oneof(
        fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'x-forwarded-for', 'cookie', 'origin'),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
      )
      .filter(
        (n) =>
          ![
            'host',
            'connection',
            'upgrade',
            'sec-websocket-key',
            'sec-websocket-version',
            'sec-websocket-extensions',
            'sec-websocket-protocol',
            'content-length',
            'transfer-encoding',
          ].includes(n),
      );
    const headers = fc.array(
      fc.tuple(
        headerName,
        fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim()),
      ),
      { maxLength: 4 },
    );
    const handshake = (url: string, extra: Array<[string, string]>) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, { headers: Object.fromEntries(extra) });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('error', (error) => {
          if (ws.readyState !== WebSocket.CLOSED) reject(error);
        });
      });
    await fuzz(
      'handshake query parameters and headers',
      60,
      fc.tuple(params, headers, fc.boolean()),
      async ([query, extra, withToken]) => {
        const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
        if (withToken) qs.push(`token=${encodeURIComponent(token)}`);
        const status = await handshake(`${stack.wsUrl}?${qs.join('&')}`, extra);
        expect(status, `?${qs.join('&').slice(0, 200)} headers ${JSON.stringify(extra)}`).toBe(withToken ? 101 : 401);
      },
    );
  });
});
