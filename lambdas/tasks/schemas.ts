import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { LIMITS } from '../../lib/definitions.js';
import { ValidationError, type ValidationDetail } from './errors.js';
import { descriptionFits, titleFits } from './task-text.js';

// zod/mini keeps the bundle small; it ships no messages, so lend it the English
// ones per parse rather than through z.config(), which is process-global.
const english = en().localeError;

/** Crockford base32, 26 characters, first one ≤ 7 so the 48-bit timestamp cannot overflow (ULID spec). */
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

// A lone surrogate is not Unicode text; DynamoDB would refuse it as UTF-8 later.
const wellFormed = z.refine<string>((value) => !/\p{Cs}/u.test(value), 'Must be valid Unicode text');

const title = z.string().check(
  z.trim(),
  z.refine((value: string) => titleFits(value), `Must be 1 to ${LIMITS.titleMaxChars} characters after trimming`),
  wellFormed,
);

const description = z.string().check(
  z.refine((value: string) => descriptionFits(value), `Must be at most ${LIMITS.descriptionMaxChars} characters`),
  wellFormed,
);

const taskId = z.string().check(
  z.regex(ULID, 'Must be a ULID (26 Crockford base32 characters)'),
  // ULIDs are case-insensitive; one spelling per id keeps the sort key unique.
  z.toUpperCase(),
);

export const createTaskSchema = z.strictObject({
  title,
  description: z.optional(description),
  id: z.optional(taskId),
});

export const updateTaskSchema = z
  .strictObject({
    title: z.optional(title),
    description: z.optional(description),
    completed: z.optional(z.boolean()),
  })
  .check(
    z.refine(
      (changes) => Object.values(changes).some((value) => value !== undefined),
      'Give at least one of title, description, completed',
    ),
  );

export const completeTaskSchema = z.strictObject({ completed: z.optional(z.boolean()) });

export type CreateTaskInput = z.infer<typeof createTaskSchema>;
export type UpdateTaskInput = z.infer<typeof updateTaskSchema>;

/** The value, typed by the schema, or a 400 naming every offending field. */
export function parseInput<T>(schema: z.ZodMiniType<T>, value: unknown): T {
  const result = schema.safeParse(value, { error: english });
  if (result.success) return result.data;
  const details: ValidationDetail[] = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'Unknown field' }))
      : [{ field: issue.path.join('.'), message: issue.message }],
  );
  throw new ValidationError('Request body is invalid', details);
}

/** A task id from the path, upper-cased, or undefined when it cannot name any task. */
export function normalizeTaskId(value: string | undefined): string | undefined {
  return value !== undefined && ULID.test(value) ? value.toUpperCase() : undefined;
}
