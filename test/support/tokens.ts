import { generateKeyPairSync, createSign } from 'node:crypto';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;
}

/** Hostile variants of a genuine token, for the auth-refusal tests. */
export const forge = {
  /** Same claims, `alg: none`, no signature. */
  algNone(token: string): string {
    const header = { ...decodePart(token, 0), alg: 'none' };
    return `${b64url(JSON.stringify(header))}.${token.split('.')[1]}.`;
  },
  /** The payload's `sub` changed, original signature kept. */
  tamperedSub(token: string, sub: string): string {
    const [header, , signature] = token.split('.');
    return `${header}.${b64url(JSON.stringify({ ...decodePart(token, 1), sub }))}.${signature}`;
  },
  /** The same claims and kid, signed RS256 by a key the issuer never had. */
  foreignKey(token: string): string {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const head = `${token.split('.')[0]}.${token.split('.')[1]}`;
    const signature = createSign('RSA-SHA256').update(head).sign(privateKey);
    return `${head}.${b64url(signature)}`;
  },
  claims: (token: string) => decodePart(token, 1),
};
