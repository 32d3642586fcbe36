/** Claims the client reads from a token it was given. It never verifies them: the API does. */
export interface TokenClaims {
  sub?: string;
  exp?: number;
  username?: string;
  'cognito:username'?: string;
  email?: string;
  preferred_username?: string;
  name?: string;
}

export function decodeClaims(token: string): TokenClaims {
  const part = token.split('.')[1];
  if (!part) throw new Error('Not a JWT');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const json = new TextDecoder().decode(
    Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0)),
  );
  return JSON.parse(json) as TokenClaims;
}
