import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** API Gateway's `requestTime` / `time` format: `20/Jan/2024:11:55:08 +0000` (always UTC). */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`
  );
}

function randomChars(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/**
 * The 16-character ids API Gateway uses for requestId, extendedRequestId,
 * messageId and connectionId (e.g. `R1kmxc2VNjMCFIA=`). Drawn from letters and
 * digits only, so an id is safe in a URL path without encoding, though the
 * `=` is still percent-encoded by the AWS SDK.
 */
export function newGatewayId(): string {
  return `${randomChars(15, ALPHANUMERIC)}=`;
}

/** A 10-character API id such as `dl7ptocha9`. */
export function newApiId(): string {
  return randomChars(10, 'abcdefghijklmnopqrstuvwxyz0123456789');
}

/** X-Ray trace header value API Gateway adds to integration requests. */
export function newTraceId(epochMs: number): string {
  return `Root=1-${Math.floor(epochMs / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** The client IP as API Gateway reports it (`sourceIp`), without the IPv4-mapped prefix. */
export function sourceIpOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** `domainName` is the host the client addressed; `domainPrefix` its first label. */
export function domainOf(headers: IncomingHttpHeaders, fallback: string): { domainName: string; domainPrefix: string } {
  const domainName = headers.host ?? fallback;
  const hostname = domainName.startsWith('[') ? domainName.slice(0, domainName.indexOf(']') + 1) : domainName.split(':')[0]!;
  return { domainName, domainPrefix: hostname.split('.')[0] ?? hostname };
}

/** The account id the local runtime uses in ARNs (same as local/lambda/runtime.ts). */
export const LOCAL_ACCOUNT_ID = '000000000000';
