import { createPrivateKey, createPublicKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StackInfo } from './stack-info.js';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * Signs arbitrary headers and claims with the local token issuer's own key,
 * so a test can present a token that is genuinely signed yet wrong in exactly
 * one claim (issuer, audience, nbf, exp, ...). The issuer keeps its key in
 * `<stateDir>/signing-key.json` (local/runtime.ts); the stack runs with
 * `--in-memory`, whose state dir is the folder of the READY info's failureFile.
 */
export interface LocalSigner {
  kid: string;
  /** The issuer's private key, for signatures with other algorithms. */
  privateKey: KeyObject;
  /** The issuer's public key, as the JWKS publishes it. */
  publicKey: KeyObject;
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
}

export async function localSigner(stack: StackInfo): Promise<LocalSigner> {
  const keyFile = path.join(path.dirname(stack.failureFile), 'signing-key.json');
  const content = JSON.parse(await readFile(keyFile, 'utf8')) as { kid: string; privateJwk: JsonWebKey };
  const privateKey = createPrivateKey({ key: content.privateJwk, format: 'jwk' });
  return {
    kid: content.kid,
    privateKey,
    publicKey: createPublicKey(privateKey),
    sign(claims, header = {}) {
      const head = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: content.kid, ...header }))}.${b64url(JSON.stringify(claims))}`;
      return `${head}.${b64url(sign('sha256', Buffer.from(head), privateKey))}`;
    },
  };
}
