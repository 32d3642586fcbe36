import { mkdir, readFile, rename, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';

const root = path.resolve(import.meta.dirname, '../..');
/** Where the hostile-input and auth-attack tests leave their figures (test/artifacts is not committed). */
export const SECURITY_FIGURES_FILE = path.join(root, 'test/artifacts/security-figures.json');

/**
 * Merges one section into SECURITY_FIGURES_FILE. Test files run in parallel
 * workers, so the read-merge-write happens under a directory lock (mkdir is
 * atomic) and the file is replaced by rename, never left half-written.
 */
export async function recordSecurityFigures(section: string, figures: Record<string, unknown>): Promise<void> {
  await mkdir(path.dirname(SECURITY_FIGURES_FILE), { recursive: true });
  const lock = `${SECURITY_FIGURES_FILE}.lock`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a killed run must not block every later run.
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    let current: Record<string, unknown> = {};
    try {
      current = JSON.parse(await readFile(SECURITY_FIGURES_FILE, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
    current[section] = { ...figures, recordedAt: new Date().toISOString() };
    const temporary = `${SECURITY_FIGURES_FILE}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(current, null, 2)}\n`);
    await rename(temporary, SECURITY_FIGURES_FILE);
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

/** One fast-check property and how many runs it took (shrinking included), for the figures. */
export interface PropertyFigure {
  name: string;
  runs: number;
}

/** Asserts an async property and records its run count in `properties`. */
export async function fuzz<T>(
  properties: PropertyFigure[],
  name: string,
  numRuns: number,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
): Promise<void> {
  const entry = { name, runs: 0 };
  properties.push(entry);
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      entry.runs++;
      await check(value);
    }),
    { numRuns },
  );
}
