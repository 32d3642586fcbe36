import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/tasks/errors.js';
import { decodeSyncToken, encodeSyncToken, type FeedPosition } from '../../lambdas/tasks/sync-token.js';

const position = fc.oneof(
  fc.record({ since: fc.nat(2 ** 45), after: fc.constant(''), passEnd: fc.constant(0) }),
  fc.record({
    since: fc.nat(2 ** 45),
    after: fc.string({ minLength: 1, maxLength: 60 }),
    passEnd: fc.integer({ min: 1, max: 2 ** 45 }),
  }),
);

const payloadOf = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
const forge = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');

describe('sync token', () => {
  it('gives the position back to its own user', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), position, (userId, p: FeedPosition) => {
        expect(decodeSyncToken(userId, encodeSyncToken(userId, p))).toEqual(p);
      }),
    );
  });

  it('is refused for any other user', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), position, (owner, other, p) => {
        fc.pre(owner !== other);
        expect(() => decodeSyncToken(other, encodeSyncToken(owner, p))).toThrow(ValidationError);
      }),
    );
  });

  it('is refused with any character appended, removed or changed', () => {
    const token = encodeSyncToken('alice', { since: 1_796_000_000_000, after: '', passEnd: 0 });
    const altered = [
      `${token}A`,
      token.slice(0, -1),
      ...[0, 5, 20, token.length - 1].map((i) => token.slice(0, i) + (token[i] === 'x' ? 'y' : 'x') + token.slice(i + 1)),
    ];
    for (const bad of altered) expect(() => decodeSyncToken('alice', bad), bad).toThrow(ValidationError);
  });

  it('refuses an edited payload even with every field well-typed', () => {
    const genuine = payloadOf(encodeSyncToken('alice', { since: 1_796_000_000_000, after: '', passEnd: 0 }));
    const edits = [
      { ...genuine, t: 1_796_000_999_999 },
      { ...genuine, t: -1 },
      { ...genuine, t: '1796000000000' },
      { ...genuine, k: 'x' },
      { ...genuine, extra: 1 },
      { t: genuine.t, k: genuine.k, r: genuine.r },
      [genuine],
      null,
    ];
    for (const edit of edits) expect(() => decodeSyncToken('alice', forge(edit)), JSON.stringify(edit)).toThrow(ValidationError);
  });

  it('is refused when it is a list cursor instead (another purpose, same user)', async () => {
    const { encodeCursor } = await import('../../lambdas/tasks/cursor.js');
    const cursor = encodeCursor('alice', { afterTaskId: '01JDZ3V8Q6T3N4W0F2H7K9M5PX', listStartedAt: 1 });
    expect(() => decodeSyncToken('alice', cursor)).toThrow(ValidationError);
  });

  it('fails only with a ValidationError naming `since`, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          decodeSyncToken('alice', text);
          return false;
        } catch (error) {
          return error instanceof ValidationError && error.details[0]?.field === 'since';
        }
      }),
    );
  });
});
