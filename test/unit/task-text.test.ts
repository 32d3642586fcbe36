import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../lib/definitions.js';
import { ValidationError } from '../../lambdas/tasks/errors.js';
import { createTaskSchema, parseInput } from '../../lambdas/tasks/schemas.js';
import { charCount, descriptionFits, titleFits, utf16MaxLength } from '../../lambdas/tasks/task-text.js';

/** What the API answers for a create with this title: accepted or a 400. */
function apiAccepts(body: Record<string, string>): boolean {
  try {
    parseInput(createTaskSchema, body);
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

// Text the way people type it: letters, emoji (2 UTF-16 units), combining marks, spaces.
const grapheme = fc.constantFrom('a', 'é', 'e\u0301', '😀', '👩‍💻', '中', ' ', '\t', 'Z');
const text = (max: number) => fc.array(grapheme, { maxLength: max }).map((parts) => parts.join(''));

describe('task text rules, one definition for the API and the dashboard', () => {
  it('the API accepts a title exactly when the dashboard\u2019s titleFits does', () => {
    fc.assert(
      fc.property(text(LIMITS.titleMaxChars + 20), (title) => {
        expect(apiAccepts({ title })).toBe(titleFits(title));
      }),
      { numRuns: 500 },
    );
  });

  it('the API accepts a description exactly when descriptionFits does', () => {
    fc.assert(
      fc.property(text(LIMITS.descriptionMaxChars + 20), (description) => {
        expect(apiAccepts({ title: 'x', description })).toBe(descriptionFits(description));
      }),
      { numRuns: 200 },
    );
  });

  it('counts a 200-emoji title as 200 characters: accepted on both sides, and the input\u2019s maxLength does not cut it', () => {
    const title = '😀'.repeat(LIMITS.titleMaxChars);
    expect(title.length).toBe(2 * LIMITS.titleMaxChars);
    expect(charCount(title)).toBe(LIMITS.titleMaxChars);
    expect(titleFits(title)).toBe(true);
    expect(apiAccepts({ title })).toBe(true);
    expect(title.length).toBeLessThanOrEqual(utf16MaxLength(LIMITS.titleMaxChars));
    expect(titleFits(title + '😀')).toBe(false);
    expect(apiAccepts({ title: title + '😀' })).toBe(false);
  });

  it('refuses a spaces-only title on both sides', () => {
    expect(titleFits('   \t ')).toBe(false);
    expect(apiAccepts({ title: '   \t ' })).toBe(false);
  });
});
