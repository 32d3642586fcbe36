import { LIMITS } from '../../lib/definitions.js';

/**
 * The task text rules, stated once and imported by the API's schemas
 * (lambdas/tasks/schemas.ts) and the dashboard (web/src/sync/engine.ts), so a
 * title one side accepts the other never refuses. Free of Node-only imports:
 * the dashboard bundles it.
 */

/** Characters as a person counts them (code points), not UTF-16 units: an emoji is one. */
export function charCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** A title as stored: trimmed. */
export function normalizeTitle(title: string): string {
  return title.trim();
}

/** Whether a title, once trimmed, has 1 to LIMITS.titleMaxChars characters. */
export function titleFits(title: string): boolean {
  const count = charCount(normalizeTitle(title));
  return count >= 1 && count <= LIMITS.titleMaxChars;
}

/** Whether a description has at most LIMITS.descriptionMaxChars characters. */
export function descriptionFits(description: string): boolean {
  return charCount(description) <= LIMITS.descriptionMaxChars;
}

/**
 * The most UTF-16 units a field of `maxChars` characters can take: what an
 * input's `maxLength` (which counts UTF-16 units) must allow so that it never
 * cuts a text the rules above accept.
 */
export function utf16MaxLength(maxChars: number): number {
  return maxChars * 2;
}
