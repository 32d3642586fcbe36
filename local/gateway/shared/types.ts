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

/** The subset of a Powertools Logger the gateway uses. */
export interface GatewayLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

const ignore = (): void => undefined;

/** Default logger: problems go to stderr, routine traffic stays quiet. */
export const consoleLogger: GatewayLogger = {
  debug: ignore,
  info: ignore,
  warn: (message, extra) => console.warn(`[gateway] ${message}`, extra ?? ''),
  error: (message, extra) => console.error(`[gateway] ${message}`, extra ?? ''),
};

export const silentLogger: GatewayLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
