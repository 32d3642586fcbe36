import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../lambdas/tasks/cursor.js';
import { ValidationError } from '../../lambdas/tasks/errors.js';

// Found by the hostile-http fuzzer: `<cursor>A` was honoured as `<cursor>`, because
// base64url decoding drops a trailing partial character. The contract refuses any
// cursor but the one issued.
describe('list cursor encoding', () => {
  const taskId = '01JDZ3V8Q6T3N4W0F2H7K9M5PX';

  it('refuses an issued cursor with any base64url character appended', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
        (userId, extra) => {
          const cursor = encodeCursor(userId, { afterTaskId: taskId, listStartedAt: 1_796_000_000_000 });
          expect(() => decodeCursor(userId, cursor + extra)).toThrow(ValidationError);
        },
      ),
    );
  });

  it('still gives back the task id for the cursor exactly as issued', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (userId) => {
        expect(
          decodeCursor(userId, encodeCursor(userId, { afterTaskId: taskId, listStartedAt: 1_796_000_000_000 })).afterTaskId,
        ).toBe(taskId);
      }),
    );
  });
});
