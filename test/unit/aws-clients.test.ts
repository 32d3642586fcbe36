import { describe, expect, it } from 'vitest';
import { createManagementClient } from '../../lambdas/connections/notifier.js';
import { createDocumentClient } from '../../lambdas/shared/aws-clients.js';
import { FUNCTIONS } from '../../lib/definitions.js';

interface HandlerConfig {
  connectionTimeout?: number;
  requestTimeout?: number;
  throwOnRequestTimeout?: boolean;
}

/** The resolved settings of the client's node-http-handler and its attempt count. */
async function limitsOf(config: { requestHandler: unknown; maxAttempts: unknown }) {
  const handler = config.requestHandler as { configProvider: Promise<HandlerConfig> };
  const maxAttempts = config.maxAttempts as () => Promise<number>;
  return { ...(await handler.configProvider), maxAttempts: await maxAttempts() };
}

// The SDK's standard retry waits at most 100 ms · 2^(attempt-1) before each retry.
const worstRetryDelaysMs = (attempts: number) =>
  Array.from({ length: attempts - 1 }, (_, i) => 100 * 2 ** i).reduce((a, b) => a + b, 0);

describe('SDK clients', () => {
  it('gives up on a hung DynamoDB within the tasks function timeout, so the API answers 503 rather than timing out', async () => {
    const limits = await limitsOf(createDocumentClient('http://127.0.0.1:1').config);
    // Without this the handler only logs a warning when requestTimeout passes and keeps waiting.
    expect(limits.throwOnRequestTimeout).toBe(true);
    expect(limits.connectionTimeout).toBeGreaterThan(0);
    const worstMs = limits.maxAttempts * limits.requestTimeout! + worstRetryDelaysMs(limits.maxAttempts);
    // Leave the handler at least 2 s of its timeout to map the error and answer.
    expect(worstMs).toBeLessThanOrEqual(FUNCTIONS.tasksApi.timeoutSeconds * 1000 - 2_000);
  });

  it('gives up on a hung @connections post within the broadcaster timeout', async () => {
    const limits = await limitsOf(createManagementClient('http://127.0.0.1:1/local').config);
    expect(limits.throwOnRequestTimeout).toBe(true);
    const worstMs = limits.maxAttempts * limits.requestTimeout! + worstRetryDelaysMs(limits.maxAttempts);
    expect(worstMs).toBeLessThan(FUNCTIONS.broadcaster.timeoutSeconds * 1000);
  });
});
