import { describe, expect, it } from 'vitest';
import { authorizeUrl } from '../../web/src/auth/cognito.js';
import { base64url, codeChallengeS256, createCodeVerifier } from '../../web/src/auth/pkce.js';

describe('PKCE', () => {
  it('derives the S256 challenge of the RFC 7636 Appendix B example', async () => {
    expect(await codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('encodes base64url without padding (RFC 4648 §5)', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(base64url(new Uint8Array([3, 236, 255, 224, 193]))).toBe('A-z_4ME');
  });

  it('makes 43-character verifiers of unreserved characters, different each time', () => {
    const a = createCodeVerifier();
    const b = createCodeVerifier();
    expect(a).toMatch(/^[A-Za-z0-9\-._~]{43}$/);
    expect(a).not.toBe(b);
  });

  it('builds the managed login authorize URL with code + S256 challenge', () => {
    const url = new URL(
      authorizeUrl({
        domain: 'tasks.auth.eu-west-1.amazoncognito.com',
        clientId: 'client-1',
        redirectUri: 'https://d111.cloudfront.net/',
        state: 's1',
        codeChallenge: 'c1',
      }),
    );
    expect(url.origin + url.pathname).toBe('https://tasks.auth.eu-west-1.amazoncognito.com/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://d111.cloudfront.net/',
      scope: 'openid',
      state: 's1',
      code_challenge: 'c1',
      code_challenge_method: 'S256',
    });
  });
});
