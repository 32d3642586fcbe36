import { CHANGE_FEED, ENV } from '../lib/definitions.js';

type EnvKey = keyof typeof ENV;

/**
 * Reads the named environment variables once and fails fast, naming every
 * missing one, so a misconfigured function dies at init with a clear message
 * instead of failing on its first request.
 */
export function readEnv<K extends EnvKey>(required: readonly K[], source: NodeJS.ProcessEnv = process.env): Record<K, string> {
  const missing = required.filter((key) => !source[ENV[key]]);
  if (missing.length > 0) {
    throw new Error(`Missing environment variable(s): ${missing.map((key) => ENV[key]).join(', ')}`);
  }
  return Object.fromEntries(required.map((key) => [key, source[ENV[key]] as string])) as Record<K, string>;
}

/** An optional variable, or undefined when unset or empty. */
export function optionalEnv(key: EnvKey, source: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = source[ENV[key]];
  return value ? value : undefined;
}

/**
 * CHANGE_RETENTION_SECONDS as a whole number of seconds, at least
 * CHANGE_FEED.minRetentionSeconds (a shorter one would expire tokens as they
 * are issued); fails fast otherwise.
 */
export function readRetentionSeconds(source: NodeJS.ProcessEnv = process.env): number {
  const { changeRetentionSeconds: raw } = readEnv(['changeRetentionSeconds'], source);
  const seconds = Number(raw);
  if (!Number.isSafeInteger(seconds) || seconds < CHANGE_FEED.minRetentionSeconds) {
    throw new Error(
      `${ENV.changeRetentionSeconds} must be a whole number of seconds ≥ ${CHANGE_FEED.minRetentionSeconds}, got "${raw}"`,
    );
  }
  return seconds;
}
