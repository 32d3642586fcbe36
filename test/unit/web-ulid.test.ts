import { describe, expect, it } from 'vitest';
import { ULID_PATTERN, ulidFactory } from '../../web/src/ulid.js';

describe('ulidFactory', () => {
  it('encodes the millisecond time in the first 10 characters (ULID spec test vector)', () => {
    const id = ulidFactory(
      (b) => b.fill(0),
      () => 1469918176385,
    )();
    expect(id).toBe('01ARYZ6S410000000000000000');
    expect(id).toMatch(ULID_PATTERN);
  });

  it('sorts by creation time', () => {
    let now = 1_700_000_000_000;
    const next = ulidFactory(undefined, () => now);
    const a = next();
    now += 1;
    const b = next();
    expect(a < b).toBe(true);
  });

  it('stays strictly increasing within one millisecond', () => {
    const next = ulidFactory(undefined, () => 1_700_000_000_000);
    const ids = Array.from({ length: 1000 }, next);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(ULID_PATTERN);
  });

  it('carries into the next digit when incrementing the random part', () => {
    const next = ulidFactory(
      (b) => b.fill(31),
      () => 0,
    );
    const first = next();
    expect(first).toBe('0000000000ZZZZZZZZZZZZZZZZ');
    expect(() => next()).toThrow(/overflowed/);
  });
});
