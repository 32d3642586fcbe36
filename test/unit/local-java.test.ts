import { describe, expect, it } from 'vitest';
import { checkJava, parseJavaVersion } from '../../local/dynamodb/java.js';

describe('parseJavaVersion', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_381"\nJava(TM) SE Runtime Environment', 8],
    ['openjdk version "11.0.2" 2019-01-15', 11],
    ['openjdk version "25-ea" 2025-09-16', 25],
  ])('reads the major version from %j', (output, major) => {
    expect(parseJavaVersion(output)).toBe(major);
  });

  it('returns undefined for output without a version', () => {
    expect(parseJavaVersion('command not found')).toBeUndefined();
  });
});

describe('checkJava', () => {
  it('explains how to install Java when the command does not exist', () => {
    const result = checkJava('java-that-does-not-exist-here');

    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(/not found on PATH.*openjdk-17-jre-headless/s);
  });
});
