import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../lambdas/tasks/cursor.js';
import { ValidationError } from '../../lambdas/tasks/errors.js';

const ID = '01JDZ3V8Q6T3N4W0F2H7K9M5PX';
const ulid = fc
  .tuple(
    fc.constantFrom(...'01234567'),
    fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHJKMNPQRSTVWXYZ'), minLength: 25, maxLength: 25 }),
  )
  .map(([first, rest]) => first + rest);

function payloadOf(cursor: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function forge(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

describe('list cursor', () => {
  it('gives back the task id to its own user', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), ulid, (userId, taskId) => {
        expect(
          decodeCursor(userId, encodeCursor(userId, { afterTaskId: taskId, listStartedAt: 1_796_000_000_000 })).afterTaskId,
        ).toBe(taskId);
      }),
    );
  });

  it('is refused for any other user', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), ulid, (owner, other, taskId) => {
        fc.pre(owner !== other);
        expect(() => decodeCursor(other, encodeCursor(owner, { afterTaskId: taskId, listStartedAt: 1_796_000_000_000 }))).toThrow(
          ValidationError,
        );
      }),
    );
  });

  it('is URL-safe and does not carry the user id in clear', () => {
    const cursor = encodeCursor('alice@example.com', { afterTaskId: ID, listStartedAt: 1_796_000_000_000 });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(JSON.stringify(payloadOf(cursor))).not.toContain('alice');
  });

  it('refuses edits to the payload', () => {
    const genuine = payloadOf(encodeCursor('alice', { afterTaskId: ID, listStartedAt: 1_796_000_000_000 }));
    const edits = [
      { ...genuine, k: 'not-a-ulid' },
      { ...genuine, k: ID.toLowerCase() },
      { ...genuine, k: 42 },
      { ...genuine, v: 2 },
      { ...genuine, extra: true },
      { u: genuine.u, k: genuine.k },
      [genuine],
      null,
    ];
    for (const edit of edits) expect(() => decodeCursor('alice', forge(edit)), JSON.stringify(edit)).toThrow(ValidationError);
  });

  it.each(['', 'garbage', 'eyJ2IjoxfQ==', 'a'.repeat(300), 'not base64!'])('refuses %j', (cursor) => {
    expect(() => decodeCursor('alice', cursor)).toThrow(ValidationError);
  });

  it('fails only with a ValidationError, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (cursor) => {
        try {
          decodeCursor('alice', cursor);
          return false;
        } catch (error) {
          return error instanceof ValidationError;
        }
      }),
    );
  });
});
