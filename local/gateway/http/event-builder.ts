import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { formatRequestTime, newTraceId } from '../shared/aws-format.js';

/** What the HTTP API knows about a request when it calls the integration. */
export interface HttpRequestFacts {
  method: string;
  /** Path as received, still percent-encoded, without the query string. */
  rawPath: string;
  /** Everything after `?`, as received; empty when there is none. */
  rawQueryString: string;
  /** Node's `req.rawHeaders`: name, value, name, value... in arrival order. */
  rawHeaders: readonly string[];
  /** `HTTP/1.1`. */
  protocol: string;
  sourceIp: string;
  body: Buffer | undefined;
  routeKey: string;
  pathParameters?: Record<string, string>;
  /** Verified JWT claims, already stringified as the JWT authorizer passes them. */
  claims: Record<string, string>;
  apiId: string;
  accountId: string;
  domainName: string;
  domainPrefix: string;
  requestId: string;
  timeEpoch: number;
  /** Port the client connected to, reported as `x-forwarded-port`. */
  port: number;
}

/**
 * Payload format 2.0 lower-cases header names and joins repeated headers with
 * commas. Cookies are taken out of the headers into `cookies` (one entry per
 * cookie). API Gateway adds the forwarding and trace headers itself.
 */
export function normalizeHeaders(rawHeaders: readonly string[]): { headers: Record<string, string>; cookies: string[] } {
  // A Map, not an object: a header named `constructor` or `__proto__` must not meet Object.prototype.
  const headers = new Map<string, string>();
  const cookies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'cookie') {
      for (const cookie of value.split(';')) {
        const trimmed = cookie.trim();
        if (trimmed) cookies.push(trimmed);
      }
      continue;
    }
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  // fromEntries defines own properties, as JSON.parse of AWS's event does, even for `__proto__`.
  return { headers: Object.fromEntries(headers), cookies };
}

function decodeQueryComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Payload format 2.0 joins repeated query parameters with commas; values are decoded. */
export function parseQueryString(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const params = new Map<string, string>();
  for (const pair of rawQueryString.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = decodeQueryComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeQueryComponent(pair.slice(eq + 1));
    const previous = params.get(name);
    params.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return params.size > 0 ? Object.fromEntries(params) : undefined;
}

const TEXT_TYPES = [
  /^text\//,
  /^application\/(json|javascript|ecmascript|xml|graphql|x-ndjson)\b/,
  /^application\/[^;]+\+(json|xml)\b/,
];

/**
 * HTTP APIs pass text bodies as-is and base64-encode everything else, with
 * `isBase64Encoded: true`. That includes form posts and compressed bodies;
 * a body with no Content-Type is treated as binary too.
 */
export function isTextBody(contentType: string | undefined, contentEncoding: string | undefined): boolean {
  if (!contentType) return false;
  if (contentEncoding && contentEncoding.toLowerCase() !== 'identity') return false;
  const type = contentType.trim().toLowerCase();
  return TEXT_TYPES.some((pattern) => pattern.test(type));
}

/** Renders a value the way Go's `%v` does, which is how the JWT authorizer stringifies claims. */
function goString(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goString).join(' ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goString(v)}`).join(' ')}]`;
  }
  if (value === null || value === undefined) return '<nil>';
  return String(value);
}

/**
 * The HTTP API JWT authorizer passes every claim as a string: numbers and
 * booleans in their text form, arrays as `[a b]` (e.g. `cognito:groups`).
 */
export function stringifyClaims(claims: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(claims).map(([name, value]) => [name, goString(value)]));
}

/** The payload format 2.0 event, field for field as API Gateway builds it for a JWT-authorized route. */
export function buildHttpApiEvent(facts: HttpRequestFacts): APIGatewayProxyEventV2WithJWTAuthorizer {
  const { headers, cookies } = normalizeHeaders(facts.rawHeaders);
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${facts.sourceIp}` : facts.sourceIp;
  headers['x-forwarded-port'] = String(facts.port);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = newTraceId(facts.timeEpoch);
  const hasBody = facts.body !== undefined && facts.body.length > 0;
  const text = isTextBody(headers['content-type'], headers['content-encoding']);
  const queryStringParameters = parseQueryString(facts.rawQueryString);

  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey: facts.routeKey,
    rawPath: facts.rawPath,
    rawQueryString: facts.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: facts.accountId,
      apiId: facts.apiId,
      authorizer: { jwt: { claims: facts.claims, scopes: null } },
      domainName: facts.domainName,
      domainPrefix: facts.domainPrefix,
      http: {
        method: facts.method,
        path: facts.rawPath,
        protocol: facts.protocol,
        sourceIp: facts.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: facts.requestId,
      routeKey: facts.routeKey,
      stage: '$default',
      time: formatRequestTime(facts.timeEpoch),
      timeEpoch: facts.timeEpoch,
    },
    ...(facts.pathParameters ? { pathParameters: facts.pathParameters } : {}),
    ...(hasBody ? { body: text ? facts.body!.toString('utf8') : facts.body!.toString('base64') } : {}),
    isBase64Encoded: hasBody && !text,
  };
  return event;
}
