export interface ThrottleOptions {
  /** Steady-state requests per second. */
  rateLimit: number;
  /** Bucket size: requests allowed in a burst. */
  burstLimit: number;
}

export interface TokenBucket {
  /** Takes one token; false means the request is throttled (429). */
  tryTake(): boolean;
}

/**
 * The token bucket API Gateway stage throttling uses: `burstLimit` tokens,
 * refilled at `rateLimit` per second.
 */
export function createTokenBucket(options: ThrottleOptions, now: () => number = Date.now): TokenBucket {
  let tokens = options.burstLimit;
  let refilledAt = now();
  return {
    tryTake() {
      const t = now();
      tokens = Math.min(options.burstLimit, tokens + ((t - refilledAt) / 1000) * options.rateLimit);
      refilledAt = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
