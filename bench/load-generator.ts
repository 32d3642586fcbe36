/**
 * The load generator: HTTP writers and WebSocket receivers in one process, so
 * a write's response time and an event's arrival are read from the same
 * monotonic clock (performance.now()). It runs apart from the stack process
 * (bench/run.ts forks it) and takes commands over the IPC channel.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ulid } from 'ulid';
import { mapWithConcurrency } from '../lambdas/connections/concurrency.js';
import { apiClient, getToken, SocketClient, taskEvents } from '../test/support/clients.js';
import type {
  Command,
  Endpoints,
  FanoutParams,
  FanoutResult,
  FanoutTrial,
  LatencyParams,
  LatencyResult,
  OpenParams,
  OpenResult,
  RampParams,
  RampResult,
  RampStep,
  ReceivedResult,
  Reply,
  Request,
} from './protocol.js';
import { cpuMs } from './process-memory.js';
import { median, round, summarize } from './stats.js';

/** A receiving socket: the first arrival time of every task event, by taskId. */
interface Receiver {
  username: string;
  client: SocketClient;
  arrivals: Map<string, number>;
  events: number;
  duplicates: number;
}

interface User {
  username: string;
  token: string;
  userId: string;
  call: ReturnType<typeof apiClient>;
  receivers: Receiver[];
}

const open = new Set<Receiver>();

const now = () => performance.now();

function subOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string };
  if (!payload.sub) throw new Error('token without sub');
  return payload.sub;
}

async function newUser(endpoints: Endpoints, username: string): Promise<User> {
  const token = await getToken(endpoints.tokenUrl, username);
  return { username, token, userId: subOf(token), call: apiClient(endpoints.apiUrl, token), receivers: [] };
}

async function openReceiver(endpoints: Endpoints, user: User): Promise<Receiver> {
  const client = await SocketClient.open(endpoints.wsUrl, user.token);
  const receiver: Receiver = { username: user.username, client, arrivals: new Map(), events: 0, duplicates: 0 };
  // Registered after SocketClient's own listener, which has just parsed this frame into `frames`.
  client.socket.on('message', () => {
    const at = now();
    const frame = client.frames.at(-1);
    if (!frame) return;
    for (const event of taskEvents([frame])) {
      receiver.events++;
      if (receiver.arrivals.has(event.taskId)) receiver.duplicates++;
      else receiver.arrivals.set(event.taskId, at);
    }
  });
  open.add(receiver);
  user.receivers.push(receiver);
  return receiver;
}

async function openAll(
  endpoints: Endpoints,
  users: User[],
  perUser: (user: User) => number,
  concurrency: number,
): Promise<{ ms: number; failures: number; firstFailure?: string }> {
  const jobs = users.flatMap((user) => Array.from({ length: perUser(user) }, () => user));
  const started = now();
  let failures = 0;
  let firstFailure: string | undefined;
  await mapWithConcurrency(jobs, concurrency, async (user) => {
    try {
      await openReceiver(endpoints, user);
    } catch (err) {
      failures++;
      firstFailure ??= String(err);
    }
  });
  return { ms: round(now() - started), failures, ...(firstFailure ? { firstFailure } : {}) };
}

interface Write {
  user: User;
  taskId: string;
  sentAt: number;
  respondedAt?: number;
  ok?: boolean;
}

async function write(user: User): Promise<Write> {
  const w: Write = { user, taskId: ulid(), sentAt: now() };
  try {
    const res = await user.call('POST', '/tasks', { body: { id: w.taskId, title: `bench ${w.taskId}` } });
    w.ok = res.status === 201;
  } catch {
    w.ok = false;
  }
  w.respondedAt = now();
  return w;
}

/** Waits until every receiver of each write's user has the write's event, or the deadline passes. */
async function waitForDeliveries(writes: Write[], timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  const pending = () => writes.some((w) => w.ok && w.user.receivers.some((r) => !r.arrivals.has(w.taskId)));
  while (pending() && now() < deadline) await sleep(20);
}

/**
 * Writes at a fixed rate, open loop: write i is due at start + i/rate,
 * whatever happened to the earlier ones, so a slow stack cannot slow the
 * offered load down (except past `maxInFlight`, which shows as a lower
 * achieved rate).
 */
async function writeAtRate(
  pick: (i: number) => User,
  count: number,
  perSecond: number,
  maxInFlight = Number.POSITIVE_INFINITY,
): Promise<{ writes: Write[]; achievedPerSecond: number }> {
  const started = now();
  const inFlight = new Set<Promise<Write>>();
  const all: Array<Promise<Write>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const p = write(pick(i));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    all.push(p);
  }
  const writes = await Promise.all(all);
  const lastResponse = Math.max(...writes.map((w) => w.respondedAt ?? 0));
  // Rate over the span the writes took: count-1 intervals between the first send and the last response.
  const spanS = (lastResponse - started) / 1000;
  return { writes, achievedPerSecond: round(spanS > 0 ? count / spanS : count) };
}

interface DeliveryStats {
  latencies: number[];
  expected: number;
  lost: number;
  arrivedBeforeResponse: number;
}

function deliveryStats(writes: Write[]): DeliveryStats {
  const stats: DeliveryStats = { latencies: [], expected: 0, lost: 0, arrivedBeforeResponse: 0 };
  for (const w of writes) {
    if (!w.ok || w.respondedAt === undefined) continue;
    for (const receiver of w.user.receivers) {
      stats.expected++;
      const at = receiver.arrivals.get(w.taskId);
      if (at === undefined) {
        stats.lost++;
        continue;
      }
      const latency = at - w.respondedAt;
      if (latency < 0) stats.arrivedBeforeResponse++;
      stats.latencies.push(Math.max(0, latency));
    }
  }
  return stats;
}

async function closeReceivers(receivers: Iterable<Receiver>): Promise<void> {
  const list = [...receivers];
  await mapWithConcurrency(list, 200, async (r) => {
    open.delete(r);
    await Promise.race([r.client.close(), sleep(3_000)]);
    r.client.socket.terminate();
  });
}

async function latency(p: LatencyParams): Promise<LatencyResult> {
  const users = await Promise.all(Array.from({ length: p.users }, (_, i) => newUser(p.endpoints, `${p.label}-${i}`)));
  const opened = await openAll(p.endpoints, users, () => p.connectionsPerUser, 25);
  if (opened.failures > 0) throw new Error(`${opened.failures} sockets failed to open: ${opened.firstFailure}`);

  // Warm-up, not measured: the first broadcast loads the handler and opens its HTTP connections.
  const warm = await Promise.all(users.map((u) => write(u)));
  await waitForDeliveries(warm, 10_000);
  await sleep(300);

  const { writes, achievedPerSecond } = await writeAtRate((i) => users[i % users.length]!, p.writes, p.writesPerSecond);
  await waitForDeliveries(writes, p.drainMs);
  const stats = deliveryStats(writes);
  const receivers = users.flatMap((u) => u.receivers);
  const result: LatencyResult = {
    delivery: summarize(stats.latencies),
    writeRoundTrip: summarize(writes.filter((w) => w.ok).map((w) => w.respondedAt! - w.sentAt)),
    expectedDeliveries: stats.expected,
    deliveries: stats.latencies.length,
    lost: stats.lost,
    duplicates: receivers.reduce((n, r) => n + r.duplicates, 0),
    arrivedBeforeResponse: stats.arrivedBeforeResponse,
    writes: writes.length,
    writeErrors: writes.filter((w) => !w.ok).length,
    achievedWritesPerSecond: achievedPerSecond,
    openMs: opened.ms,
  };
  await closeReceivers(receivers);
  return result;
}

async function fanout(p: FanoutParams): Promise<FanoutResult> {
  const user = await newUser(p.endpoints, `${p.label}-${p.connections}`);
  const opened = await openAll(p.endpoints, [user], () => p.connections, p.openConcurrency);
  const warm = await write(user);
  await waitForDeliveries([warm], 15_000);
  const trials: FanoutTrial[] = [];
  for (let t = 0; t < p.trials; t++) {
    await sleep(200);
    const cpuBefore = cpuMs(p.stackPid);
    const w = await write(user);
    if (!w.ok) throw new Error('fan-out write failed');
    await waitForDeliveries([w], 15_000);
    const stackCpuMs = cpuMs(p.stackPid) - cpuBefore;
    const times = user.receivers.map((r) => r.arrivals.get(w.taskId)).filter((x): x is number => x !== undefined);
    trials.push({
      firstMs: round(Math.max(0, Math.min(...times) - w.respondedAt!)),
      lastMs: round(Math.max(0, Math.max(...times) - w.respondedAt!)),
      delivered: times.length,
      stackCpuMs,
    });
  }
  await closeReceivers(user.receivers);
  return {
    connections: user.receivers.length,
    openMs: opened.ms,
    openFailures: opened.failures,
    trials,
    lastMs: round(median(trials.map((t) => t.lastMs))),
    firstMs: round(median(trials.map((t) => t.firstMs))),
    stackCpuMs: median(trials.map((t) => t.stackCpuMs)),
  };
}

const openedUsers = new Map<string, User>();

async function openUsers(p: OpenParams): Promise<OpenResult> {
  const users = await mapWithConcurrency(p.users, 10, async ({ username }) => {
    const user = openedUsers.get(username) ?? (await newUser(p.endpoints, username));
    openedUsers.set(username, user);
    return user;
  });
  const wanted = new Map(p.users.map((u) => [u.username, u.connections]));
  const opened = await openAll(p.endpoints, users, (u) => wanted.get(u.username) ?? 0, p.openConcurrency);
  return {
    opened: users.reduce((n, u) => n + u.receivers.length, 0),
    failures: opened.failures,
    ...(opened.firstFailure ? { firstFailure: opened.firstFailure } : {}),
    ms: opened.ms,
    userIds: Object.fromEntries(users.map((u) => [u.username, u.userId])),
  };
}

function received(): ReceivedResult {
  const result: ReceivedResult = {};
  for (const [username, user] of openedUsers) {
    result[username] = user.receivers.map((r) => ({ events: r.events, frames: r.client.frames.length }));
  }
  return result;
}

async function closeAll(): Promise<{ closed: number }> {
  const count = open.size;
  await closeReceivers(open);
  openedUsers.clear();
  return { closed: count };
}

async function ramp(p: RampParams): Promise<RampResult> {
  const user = await newUser(p.endpoints, `${p.label}-ramp`);
  const opened = await openAll(p.endpoints, [user], () => p.receivers, p.receivers);
  if (opened.failures > 0) throw new Error(`receivers failed to open: ${opened.firstFailure}`);
  const warm = await write(user);
  await waitForDeliveries([warm], 10_000);

  const steps: RampStep[] = [];
  for (const rate of p.rates) {
    const count = Math.round(rate * p.stepSeconds);
    const { writes, achievedPerSecond } = await writeAtRate(() => user, count, rate, p.maxInFlight);
    await waitForDeliveries(writes, p.drainMs);
    const stats = deliveryStats(writes);
    const writeErrors = writes.filter((w) => !w.ok).length;
    const noLoss = stats.lost === 0 && writeErrors === 0;
    const saturated = achievedPerSecond < 0.9 * rate;
    steps.push({
      targetPerSecond: rate,
      achievedPerSecond,
      writes: count,
      writeErrors,
      expectedDeliveries: stats.expected,
      lost: stats.lost,
      delivery: summarize(stats.latencies),
      noLoss,
      saturated,
    });
    if (!noLoss || saturated) break;
    await sleep(500);
  }
  await closeReceivers(user.receivers);
  const clean = steps.filter((s) => s.noLoss).map((s) => s.achievedPerSecond);
  return { steps, writesPerSecondNoLoss: clean.length > 0 ? Math.max(...clean) : 0 };
}

async function execute(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'latency':
      return latency(command.params);
    case 'fanout':
      return fanout(command.params);
    case 'open':
      return openUsers(command.params);
    case 'received':
      return received();
    case 'closeAll':
      return closeAll();
    case 'ramp':
      return ramp(command.params);
  }
}

if (!process.send) {
  console.error('bench/load-generator.ts is started by bench/run.ts (it needs an IPC channel)');
  process.exit(2);
}

process.on('message', (request: Request) => {
  execute(request.command).then(
    (result) => process.send!({ id: request.id, ok: true, result } satisfies Reply),
    (err: unknown) =>
      process.send!({
        id: request.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));
