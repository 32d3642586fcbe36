import { consoleLogger } from '../../shared/logger.js';
import type { FunctionName } from '../../../lib/definitions.js';

/**
 * How the gateway runs a Lambda. Defaults to `invoke` from local/lambda/runtime.ts;
 * tests pass fakes. Rejections are treated as the function failing (Lambda
 * "Unhandled" error or timeout), never shown to the client.
 */
export type Invoke = (fn: FunctionName, event: unknown) => Promise<unknown>;

/**
 * The JWT check of the HTTP API's native JWT authorizer. Structurally the
 * JwtVerifier of lambdas/auth/jwt-verifier.ts, injected so the gateway does
 * not depend on that module being present.
 */
export interface JwtVerifier {
  verify(token: string): Promise<{ sub: string; claims: Record<string, unknown> }>;
}

/** The gateway's default logger: problems to stderr as `[gateway]`. */
export const gatewayLogger = consoleLogger('gateway');
