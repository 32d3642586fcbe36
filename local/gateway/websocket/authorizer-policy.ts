import type { AuthorizerContext } from './event-builders.js';

export type AuthorizerDecision =
  | { effect: 'Allow'; principalId: string; context: Record<string, string | number | boolean> }
  | { effect: 'Deny' };

/**
 * The authorizer's answer is unusable (no principalId or policy, or a context
 * value that is not a string, number or boolean): API Gateway answers 500.
 */
export class AuthorizerConfigurationError extends Error {
  override name = 'AuthorizerConfigurationError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new AuthorizerConfigurationError('policy Action and Resource must be strings or lists of strings');
}

/**
 * Evaluates a Lambda authorizer result against the `$connect` method ARN the
 * way API Gateway does: an explicit Deny on a matching statement wins, then a
 * matching Allow; no matching statement is an implicit deny (403).
 */
export function evaluateAuthorizerResult(result: unknown, methodArn: string): AuthorizerDecision {
  if (!isRecord(result) || typeof result.principalId !== 'string' || !isRecord(result.policyDocument)) {
    throw new AuthorizerConfigurationError('authorizer result needs principalId and policyDocument');
  }
  const statements = result.policyDocument.Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  let allowed = false;
  for (const statement of list) {
    if (!isRecord(statement)) throw new AuthorizerConfigurationError('policy Statement must be an object');
    const actionMatches = asList(statement.Action).some((a) => wildcardMatch(a, 'execute-api:Invoke', true));
    const resourceMatches = asList(statement.Resource).some((r) => wildcardMatch(r, methodArn));
    if (!actionMatches || !resourceMatches) continue;
    if (statement.Effect === 'Deny') return { effect: 'Deny' };
    if (statement.Effect === 'Allow') allowed = true;
  }
  if (!allowed) return { effect: 'Deny' };

  const context: Record<string, string | number | boolean> = {};
  if (result.context !== undefined && result.context !== null) {
    if (!isRecord(result.context)) throw new AuthorizerConfigurationError('context must be an object');
    for (const [key, value] of Object.entries(result.context)) {
      // API Gateway rejects context values that are objects or arrays.
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new AuthorizerConfigurationError(`context.${key} must be a string, number or boolean`);
      }
      context[key] = value as string | number | boolean;
    }
  }
  return { effect: 'Allow', principalId: result.principalId, context };
}

/** `requestContext.authorizer` as API Gateway passes it to every route of the connection. */
export function authorizerContext(
  decision: Extract<AuthorizerDecision, { effect: 'Allow' }>,
  integrationLatency: number,
): AuthorizerContext {
  return { ...decision.context, principalId: decision.principalId, integrationLatency } as AuthorizerContext;
}
