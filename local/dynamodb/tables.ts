import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition } from '../../lib/definitions.js';

export class TableSetupError extends Error {
  override name = 'TableSetupError';
}

const errorName = (error: unknown) => (error as { name?: string } | null)?.name;

/**
 * Creates every table of `defs` (default: TABLES from lib/definitions.ts, the ones CDK
 * deploys) unless it exists: on-demand billing, the same key schema, a
 * NEW_AND_OLD_IMAGES stream where `stream` is set and TTL where `timeToLiveAttribute`
 * is set. Existing tables and their items are kept, so data in a data directory
 * survives restarts; a missing stream or TTL is switched on, a different key schema is
 * an error (it cannot be changed in place, on AWS either). Resolves when every table
 * is ACTIVE, with descriptions (LatestStreamArn included) keyed like `defs`.
 */
export async function ensureTables<K extends string = keyof typeof TABLES>(
  client: DynamoDBClient,
  defs: Record<K, TableDefinition> = TABLES as unknown as Record<K, TableDefinition>,
  options: { timeoutMs?: number } = {},
): Promise<Record<K, TableDescription>> {
  const result = {} as Record<K, TableDescription>;
  for (const key of Object.keys(defs) as K[]) {
    result[key] = await ensureTable(client, defs[key], options.timeoutMs ?? 30_000);
  }
  return result;
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function ensureTable(client: DynamoDBClient, def: TableDefinition, timeoutMs: number): Promise<TableDescription> {
  const tableName = def.localName;
  let table = await describe(client, tableName);
  if (!table) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: def.partitionKey.name, AttributeType: def.partitionKey.type },
            { AttributeName: def.sortKey.name, AttributeType: def.sortKey.type },
          ],
          KeySchema: [
            { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
          ],
          ...(def.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } } : {}),
        }),
      );
    } catch (error) {
      // Another process created it between our Describe and Create: fine, it is the same definition.
      if (errorName(error) !== 'ResourceInUseException') throw error;
    }
  } else {
    assertSameKeys(table, def);
    if (def.stream && !(table.StreamSpecification?.StreamEnabled && table.StreamSpecification.StreamViewType === def.stream)) {
      if (table.StreamSpecification?.StreamEnabled) {
        throw new TableSetupError(
          `Table ${tableName} has a ${table.StreamSpecification.StreamViewType} stream, the definition wants ${def.stream}; delete the table (or the .local data directory) to recreate it`,
        );
      }
      await waitActive(client, tableName, timeoutMs);
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream },
        }),
      );
    }
  }
  table = await waitActive(client, tableName, timeoutMs);
  if (def.timeToLiveAttribute) await ensureTimeToLive(client, tableName, def.timeToLiveAttribute);
  return table;
}

function assertSameKeys(table: TableDescription, def: TableDefinition): void {
  const hash = table.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = table.KeySchema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (hash !== def.partitionKey.name || range !== def.sortKey.name) {
    throw new TableSetupError(
      `Table ${def.localName} exists with keys (${hash}, ${range}) but the definition has (${def.partitionKey.name}, ${def.sortKey.name}); delete the table (or the .local data directory) to recreate it`,
    );
  }
}

async function waitActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<TableDescription> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await describe(client, tableName);
    if (table?.TableStatus === 'ACTIVE') return table;
    if (Date.now() > deadline) {
      throw new TableSetupError(
        `Table ${tableName} is not ACTIVE after ${timeoutMs} ms (status ${table?.TableStatus ?? 'missing'})`,
      );
    }
    await sleep(100);
  }
}

async function ensureTimeToLive(client: DynamoDBClient, tableName: string, attributeName: string): Promise<void> {
  const current = (await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))).TimeToLiveDescription;
  if (current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING') {
    if (current.AttributeName === attributeName) return;
    throw new TableSetupError(
      `Table ${tableName} has TTL on ${current.AttributeName}, the definition wants ${attributeName}; delete the table to recreate it`,
    );
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: attributeName },
    }),
  );
}
