import { PRICES } from '../bench/pricing.js';

/**
 * Per-operation units: what one change, one catch-up, one ping or one
 * stream batch costs in requests, read/write units, posts and milliseconds.
 * Measured ones come from the benchmark's bench/results/latest.json when the
 * file has them; every figure carries where it came from, and a documented
 * fallback when the key is missing.
 */
export interface Figure {
  readonly value: number;
  /** `bench: <json path>`, `fallback: <why>` or `assumed: <why>`. */
  readonly source: string;
}

export interface Units {
  /** WRU per task write: the change entry plus the task item (each under 1 KB). */
  writeUnitsPerChange: Figure;
  /** RRU of one user's connections Query (eventually consistent): the broadcaster's and presence's per user of a batch, and hello's. */
  connectionsQueryReadUnits: Figure;
  /** @connections posts per change per open connection of the user (no coalescing at steady traffic). */
  postsPerChangePerConnection: Figure;
  /** 32 KB message units per post. */
  messageUnitsPerPost: Figure;
  /** Broadcaster duration per batch = fixed + perPost × posts (ms). */
  broadcasterFixedMs: Figure;
  broadcasterMsPerPost: Figure;
  /** Billed duration of one tasks API request (write or changes read). */
  tasksApiMs: Figure;
  /** HTTP requests of one catch-up (GET /tasks/changes) with a few changes. */
  catchUpRequests: Figure;
  /** RRU of one catch-up: the Changes Query plus the BatchGet of the changed tasks. */
  catchUpReadUnits: Figure;
  /** RRU of one ping with `since` (strongly consistent Query, Limit 1, on the Changes table). */
  pingReadUnits: Figure;
  /** WRU of a connect (Put) and of a disconnect (Delete) on the Connections table. */
  connectionWriteUnits: Figure;
  wsAuthorizerMs: Figure;
  wsConnectMs: Figure;
  wsDisconnectMs: Figure;
  wsDefaultMs: Figure;
  /** Stored bytes per task item, per change entry and per connection row (with DynamoDB's 100-byte item overhead). */
  taskItemBytes: Figure;
  changeItemBytes: Figure;
  connectionItemBytes: Figure;
  /** Bytes of the dashboard's page load that are not cached (index.html and config.json; the hashed bundle stays cached). */
  pageLoadBytes: Figure;
  pageLoadRequests: Figure;
}

export const FALLBACK_UNITS: Units = {
  writeUnitsPerChange: { value: 2, source: 'fallback: 1 change entry + 1 task write (docs/design.md, Change feed → Cost)' },
  connectionsQueryReadUnits: { value: 0.5, source: 'fallback: one eventually consistent read of up to 4 KB' },
  postsPerChangePerConnection: { value: 1, source: 'fallback: one post per event per connection (no coalescing)' },
  messageUnitsPerPost: { value: 1, source: 'fallback: a task event is far under 32 KB' },
  broadcasterFixedMs: { value: 40, source: 'fallback: one Query and the Lambda overhead' },
  broadcasterMsPerPost: { value: 1.1, source: 'fallback: 32 posts in flight, ~35 ms each' },
  tasksApiMs: { value: 25, source: 'fallback: the bench\u2019s own default (two sequential DynamoDB calls)' },
  catchUpRequests: { value: 1, source: 'fallback: one GET /tasks/changes for a few changes (docs/design.md)' },
  catchUpReadUnits: {
    value: 2,
    source: 'fallback: 1 RRU Changes Query + 1 RRU per changed task (docs/design.md, Change feed → Cost)',
  },
  pingReadUnits: { value: 1, source: 'assumed: Changes Query, ConsistentRead, Limit 1 (lambdas/tasks/change-log.ts hasAfter)' },
  connectionWriteUnits: { value: 1, source: 'assumed: one Put on connect, one Delete on disconnect, each item under 1 KB' },
  wsAuthorizerMs: { value: 5, source: 'assumed: RS256 verify with the JWKS cached' },
  wsConnectMs: { value: 10, source: 'assumed: one PutItem' },
  wsDisconnectMs: { value: 10, source: 'assumed: one DeleteItem' },
  wsDefaultMs: { value: 10, source: 'assumed: hello is one Query (the connections, for devices); ping with since is one Query' },
  taskItemBytes: { value: 350, source: 'assumed: ~250 bytes of task + 100 bytes item overhead' },
  changeItemBytes: { value: 150, source: 'assumed: keys and expiresAt + 100 bytes item overhead' },
  connectionItemBytes: { value: 200, source: 'assumed: keys and expiresAt + 100 bytes item overhead' },
  pageLoadBytes: { value: 4096, source: 'assumed: index.html and config.json' },
  pageLoadRequests: { value: 2, source: 'assumed: index.html and config.json' },
};

type Json = unknown;

function at(json: Json, path: string): unknown {
  let node: unknown = json;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function num(json: Json, path: string): number | undefined {
  const v = at(json, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

interface BatchShape {
  records: number;
  users: number;
  posts: number;
  messageUnits: number;
  readRequestUnits: number;
  durationMs: number;
}

function batch(json: Json, c: string, mode: 'coalescing_on' | 'coalescing_off'): BatchShape | undefined {
  const base = `cost.batches.${c}.${mode}`;
  const keys = ['records', 'users', 'posts', 'messageUnits', 'readRequestUnits', 'durationMs'] as const;
  const values = keys.map((k) => num(json, `${base}.${k}`));
  if (values.some((v) => v === undefined || v < 0)) return undefined;
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as BatchShape;
}

/** Connections per user measured by the bench's cost scenario. */
const MEASURED_CONNECTIONS = [1, 10, 100] as const;

/**
 * Units from the benchmark's results (the parsed latest.json), falling back
 * key by key. `devicesPerUser` picks which measured batch shape the
 * connections Query's read units come from (the smallest with at least
 * that many connections per user).
 */
export function unitsFromBench(json: Json, devicesPerUser: number): Units {
  const units: { -readonly [K in keyof Units]: Figure } = { ...FALLBACK_UNITS };
  if (json === undefined || json === null) return units;

  // Write units: the committed cost line divided by the WRU price, but only from a run that
  // counted the change feed (it also reports the cost without it); older runs counted 1.
  const dynamoWrite = num(json, 'cost.lines_usd_per_million.c1.coalescing_on.dynamoWrite');
  if (dynamoWrite !== undefined && at(json, 'cost.usd_per_million_updates_without_feed') !== undefined) {
    units.writeUnitsPerChange = {
      value: Math.round(dynamoWrite / (PRICES.dynamoWriteRequestUnit * 1e6)),
      source: 'bench: cost.lines_usd_per_million.c1.coalescing_on.dynamoWrite / WRU price',
    };
  } else if (dynamoWrite !== undefined) {
    units.writeUnitsPerChange = {
      value: FALLBACK_UNITS.writeUnitsPerChange.value,
      source: 'fallback: latest.json predates the change feed (it counted 1 WRU, the task write); the feed adds its entry',
    };
  }

  const c = MEASURED_CONNECTIONS.find((n) => n >= devicesPerUser) ?? 100;
  const shape = batch(json, `c${c}`, 'coalescing_on');
  if (shape && shape.users > 0) {
    units.connectionsQueryReadUnits = {
      value: shape.readRequestUnits / shape.users,
      source: `bench: cost.batches.c${c}.coalescing_on.readRequestUnits / users`,
    };
  }
  const c1Off = batch(json, 'c1', 'coalescing_off');
  if (c1Off && c1Off.records > 0) {
    units.postsPerChangePerConnection = {
      value: c1Off.posts / c1Off.records,
      source: 'bench: cost.batches.c1.coalescing_off.posts / records (steady traffic: one change per user per batch)',
    };
  }
  const c1On = batch(json, 'c1', 'coalescing_on');
  if (c1On && c1On.posts > 0) {
    units.messageUnitsPerPost = {
      value: c1On.messageUnits / c1On.posts,
      source: 'bench: cost.batches.c1.coalescing_on.messageUnits / posts',
    };
  }
  // Broadcaster duration: a line through the smallest and largest measured fan-out (posts dominate).
  const c100On = batch(json, 'c100', 'coalescing_on');
  if (c1On && c100On && c100On.posts > c1On.posts) {
    const perPost = (c100On.durationMs - c1On.durationMs) / (c100On.posts - c1On.posts);
    const fixed = c1On.durationMs - c1On.posts * perPost;
    if (perPost > 0 && fixed > 0) {
      const src = 'bench: line through cost.batches.c1 and c100 (coalescing_on) durationMs against posts, local stack';
      units.broadcasterMsPerPost = { value: perPost, source: src };
      units.broadcasterFixedMs = { value: fixed, source: src };
    }
  }
  const writeMs = num(json, 'latency.poll10.write_round_trip.p50_ms');
  if (writeMs !== undefined && writeMs > 0) {
    units.tasksApiMs = {
      value: writeMs,
      source: 'bench: latency.poll10.write_round_trip.p50_ms (an upper bound for the handler)',
    };
  }
  const requests = num(json, 'sync.catchup_10k.requests');
  if (requests !== undefined && requests > 0) {
    units.catchUpRequests = { value: requests, source: 'bench: sync.catchup_10k.requests' };
  }
  const readUnits = num(json, 'sync.catchup_10k.read_units');
  if (readUnits !== undefined && readUnits > 0) {
    units.catchUpReadUnits = { value: readUnits, source: 'bench: sync.catchup_10k.read_units' };
  }
  return units;
}
