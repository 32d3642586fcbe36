import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LIMITS } from '../../lib/definitions.js';

/** A row of the Connections table (PK userId, SK connectionId, TTL expiresAt). */
export interface ConnectionRow {
  userId: string;
  connectionId: string;
  /** ISO time of the handshake. */
  connectedAt: string;
  /** Epoch seconds; DynamoDB TTL removes the row after this. */
  expiresAt: number;
  /**
   * Epoch seconds when the token that opened the connection expires. From
   * then on the connection is not live: no task event or PRESENCE is posted
   * to it and it is not counted, and its next message closes it.
   */
  tokenExpiresAt?: number;
}

export class ConnectionStoreError extends Error {
  override name = 'ConnectionStoreError';
}

export interface ConnectionStore {
  put(row: ConnectionRow): Promise<void>;
  /**
   * Idempotent: deleting a row that is gone succeeds. With `connectedBefore`
   * (ISO time) only a row that connected before it is deleted; the answer
   * says whether a younger row was kept.
   */
  delete(userId: string, connectionId: string, options?: { connectedBefore?: string }): Promise<'deleted' | 'kept'>;
  /**
   * Every live connection of a user (row not expired, token not expired): one
   * logical Query, following LastEvaluatedKey.
   */
  listConnectionIds(userId: string): Promise<string[]>;
}

export interface ConnectionStoreDeps {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Default: Date.now. */
  now?: () => number;
}

/**
 * The row for a connection opened at `connectedAtMs`. It outlives the
 * longest possible connection (API Gateway closes it after 2 hours) by a
 * margin, so TTL only ever removes rows of connections that are gone.
 */
export function newConnectionRow(
  userId: string,
  connectionId: string,
  connectedAtMs: number,
  tokenExpiresAt?: number,
): ConnectionRow {
  return {
    userId,
    connectionId,
    connectedAt: new Date(connectedAtMs).toISOString(),
    expiresAt: Math.floor(connectedAtMs / 1000) + LIMITS.connectionTtlSeconds,
    ...(tokenExpiresAt !== undefined ? { tokenExpiresAt } : {}),
  };
}

export function createConnectionStore({ client, tableName, now = () => Date.now() }: ConnectionStoreDeps): ConnectionStore {
  return {
    async put(row) {
      try {
        await client.send(new PutCommand({ TableName: tableName, Item: row }));
      } catch (err) {
        throw new ConnectionStoreError('Could not store the connection', { cause: err });
      }
    },

    async delete(userId, connectionId, { connectedBefore } = {}) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { userId, connectionId },
            ...(connectedBefore
              ? {
                  ConditionExpression: 'attribute_not_exists(#connectedAt) OR #connectedAt < :before',
                  ExpressionAttributeNames: { '#connectedAt': 'connectedAt' },
                  ExpressionAttributeValues: { ':before': connectedBefore },
                }
              : {}),
          }),
        );
        return 'deleted';
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return 'kept';
        throw new ConnectionStoreError('Could not delete the connection', { cause: err });
      }
    },

    async listConnectionIds(userId) {
      const ids: string[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined;
      try {
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: '#userId = :userId',
              // TTL deletion lags expiry (typically within a few days, per the
              // DynamoDB TTL docs), so expired rows are filtered out here; so are
              // connections whose token expired (closed at their next message).
              FilterExpression:
                '(attribute_not_exists(#expiresAt) OR #expiresAt > :now) AND (attribute_not_exists(#tokenExpiresAt) OR #tokenExpiresAt > :now)',
              ProjectionExpression: '#connectionId',
              ExpressionAttributeNames: {
                '#userId': 'userId',
                '#expiresAt': 'expiresAt',
                '#tokenExpiresAt': 'tokenExpiresAt',
                '#connectionId': 'connectionId',
              },
              ExpressionAttributeValues: { ':userId': userId, ':now': Math.floor(now() / 1000) },
              ExclusiveStartKey: exclusiveStartKey,
            }),
          );
          for (const item of page.Items ?? []) {
            if (typeof item.connectionId === 'string') ids.push(item.connectionId);
          }
          exclusiveStartKey = page.LastEvaluatedKey;
        } while (exclusiveStartKey);
      } catch (err) {
        throw new ConnectionStoreError('Could not query the connections', { cause: err });
      }
      return ids;
    },
  };
}
