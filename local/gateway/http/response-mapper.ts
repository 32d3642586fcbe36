/** A response ready to write: status, headers (set-cookie may repeat), body bytes. */
export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export class MalformedLambdaResponseError extends Error {
  override name = 'MalformedLambdaResponseError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Maps a Lambda result to an HTTP response by the payload format 2.0 rules:
 * - an object with `statusCode` is a structured response
 *   (`statusCode`, `headers`, `cookies`, `body`, `isBase64Encoded`);
 * - anything else is inferred: 200, `content-type: application/json`, and the
 *   value as the body (a string as-is, other values as JSON).
 * A structured response API Gateway cannot use makes it answer 500, which the
 * caller does when this throws MalformedLambdaResponseError.
 */
export function mapLambdaResult(result: unknown): GatewayResponse {
  if (!isRecord(result) || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedLambdaResponseError(`statusCode ${String(statusCode)} is not an HTTP status`);
  }
  if (body !== undefined && body !== null && typeof body !== 'string') {
    throw new MalformedLambdaResponseError('body must be a string');
  }
  const out: Record<string, string | string[]> = {};
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) throw new MalformedLambdaResponseError('headers must be an object');
    for (const [name, value] of Object.entries(headers)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new MalformedLambdaResponseError(`header ${name} must be a string, number or boolean`);
      }
      out[name.toLowerCase()] = String(value);
    }
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string')) {
      throw new MalformedLambdaResponseError('cookies must be an array of strings');
    }
    if (cookies.length > 0) out['set-cookie'] = cookies as string[];
  }
  const text = typeof body === 'string' ? body : '';
  return {
    statusCode,
    headers: out,
    body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
  };
}
