/**
 * Runs the real broadcaster (lambdas/events/broadcaster.ts with the real
 * connection store and notifier) in this process against a running stack's
 * DynamoDB Local and `@connections` endpoint, and counts the AWS calls it
 * makes with SDK middleware. The connections are real sockets held open by
 * the load generator, so every post reaches a socket.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { TABLES } from '../lib/definitions.js';
import { createConnectionStore } from '../lambdas/connections/connection-store.js';
import { createManagementClient, createNotifier, type Notifier } from '../lambdas/connections/notifier.js';
import { createBroadcaster } from '../lambdas/events/broadcaster.js';
import { localClientConfig } from '../local/dynamodb/client-config.js';
import { streamEvent, streamRecord, task } from '../test/unit/fixtures/stream-events.js';
import { PRICES } from './pricing.js';
import { round } from './stats.js';

export interface CallCounts {
  /** Per SDK command name, e.g. QueryCommand, PostToConnectionCommand. */
  commands: Record<string, number>;
  /** Read capacity DynamoDB reported for the Queries (ReturnConsumedCapacity TOTAL, added by the counter). */
  queryCapacityUnits: number;
}

/** The part of an SDK v3 client the counter needs. */
interface WithMiddleware {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: object }) => Promise<{ output: object }>,
        context: { commandName?: string },
      ) => (args: { input: object }) => Promise<{ output: object }>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/**
 * Counts every command sent through `client` (one count per call, whatever
 * the SDK retries underneath) and asks DynamoDB for the capacity each Query
 * consumed, so the cost model uses DynamoDB's own rounding.
 */
function countCalls(client: WithMiddleware, counts: CallCounts): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.commands[name] = (counts.commands[name] ?? 0) + 1;
      const input = args.input as Record<string, unknown>;
      if (name === 'QueryCommand') input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      if (name === 'QueryCommand') {
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
        counts.queryCapacityUnits += consumed?.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
}

export interface BroadcastRun {
  records: number;
  users: number;
  queries: number;
  posts: number;
  /** Posts in 32 KB units (API Gateway's message metering). */
  messageUnits: number;
  readRequestUnits: number;
  batchItemFailures: number;
  durationMs: number;
}

export interface BroadcastTarget {
  dynamodbEndpoint: string;
  managementEndpoint: string;
}

/**
 * One stream batch of `recordsPerUser` INSERT records for each user,
 * interleaved in stream order (u0, u1, …, u0, u1, …) as concurrent writers
 * would produce them.
 */
export function batchFor(userIds: string[], recordsPerUser: number, firstSeq: number): DynamoDBRecord[] {
  const records: DynamoDBRecord[] = [];
  for (let i = 0; i < recordsPerUser; i++) {
    for (const userId of userIds) {
      records.push(streamRecord({ eventName: 'INSERT', userId, task: task(), seq: firstSeq + records.length }));
    }
  }
  return records;
}

let nextSeq = 1;

/**
 * Broadcasts one batch with fresh clients (so counts start at zero) and
 * returns what it cost. `frameMaxBytes: 1` turns coalescing off: the
 * broadcaster then sends every event in its own frame (one post per event
 * per connection), with everything else unchanged.
 */
export async function broadcastOnce(
  target: BroadcastTarget,
  userIds: string[],
  recordsPerUser: number,
  options: { frameMaxBytes?: number } = {},
): Promise<BroadcastRun> {
  const counts: CallCounts = { commands: {}, queryCapacityUnits: 0 };
  const dynamo = new DynamoDBClient({ ...localClientConfig(target.dynamodbEndpoint), maxAttempts: 3 });
  const management = createManagementClient(target.managementEndpoint, {
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  countCalls(dynamo as unknown as WithMiddleware, counts);
  countCalls(management as unknown as WithMiddleware, counts);

  let messageUnits = 0;
  const realNotifier = createNotifier(management);
  const notifier: Pick<Notifier, 'post'> = {
    post(connectionId, data) {
      messageUnits += Math.max(1, Math.ceil(Buffer.byteLength(data) / PRICES.wsMessageIncrementBytes));
      return realNotifier.post(connectionId, data);
    },
  };

  const errors: string[] = [];
  const broadcast = createBroadcaster({
    connections: createConnectionStore({
      client: DynamoDBDocumentClient.from(dynamo),
      tableName: TABLES.connections.localName,
    }),
    notifier,
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => errors.push(message),
      error: (message: string) => errors.push(message),
    } as never,
    ...(options.frameMaxBytes !== undefined ? { frameMaxBytes: options.frameMaxBytes } : {}),
  });

  const records = batchFor(userIds, recordsPerUser, nextSeq);
  nextSeq += records.length;
  const started = performance.now();
  const response = await broadcast(streamEvent(records));
  const durationMs = performance.now() - started;
  dynamo.destroy();
  management.destroy();
  if (errors.length > 0) throw new Error(`broadcaster logged errors: ${errors.slice(0, 3).join('; ')}`);

  return {
    records: records.length,
    users: userIds.length,
    queries: counts.commands.QueryCommand ?? 0,
    posts: counts.commands.PostToConnectionCommand ?? 0,
    messageUnits,
    readRequestUnits: counts.queryCapacityUnits,
    batchItemFailures: response.batchItemFailures.length,
    durationMs: round(durationMs),
  };
}
