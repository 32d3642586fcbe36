import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalEnv } from '../env.js';

/**
 * The one DynamoDB document client of a function, created at module scope so
 * it is reused across invocations. On AWS no endpoint is set; the local
 * runtime points DYNAMODB_ENDPOINT at DynamoDB Local. Tests pass their own.
 */
export function createDocumentClient(endpoint = optionalEnv('dynamodbEndpoint')): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // Fail fast when the store is down or hung so the API answers 503 instead of timing out:
    // 3 attempts × 2 s stay well inside the 10 s function timeout. Without throwOnRequestTimeout
    // the SDK's node-http-handler only logs a warning when requestTimeout passes and keeps waiting.
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}
