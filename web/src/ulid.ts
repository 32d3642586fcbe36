/**
 * A ULID generator (https://github.com/ulid/spec): 48-bit millisecond time +
 * 80 random bits, Crockford base32. Our own ~30 lines instead of the `ulid`
 * package so the bundle carries no Node fallbacks; monotonic within a
 * millisecond so ops queued in the same tick keep their order when sorted.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type RandomBytes = (bytes: Uint8Array) => Uint8Array;

const cryptoRandom: RandomBytes = (bytes) => crypto.getRandomValues(bytes);

export function ulidFactory(random: RandomBytes = cryptoRandom, now: () => number = Date.now): () => string {
  let lastTime = -1;
  // 16 base32 digits of randomness, kept as digit values so "increment" is easy.
  let lastRandom: number[] = [];
  return () => {
    let time = now();
    if (time <= lastTime) {
      time = lastTime;
      lastRandom = increment(lastRandom);
    } else {
      lastTime = time;
      lastRandom = Array.from(random(new Uint8Array(16)), (b) => b & 31);
    }
    let head = '';
    for (let i = 0; i < 10; i++) {
      head = ALPHABET[time % 32] + head;
      time = Math.floor(time / 32);
    }
    return head + lastRandom.map((d) => ALPHABET[d]).join('');
  };
}

function increment(digits: number[]): number[] {
  const next = digits.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]!++;
      return next;
    }
    next[i] = 0;
  }
  throw new Error('ULID random component overflowed within one millisecond');
}

export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
