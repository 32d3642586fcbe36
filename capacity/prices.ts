/**
 * Prices the capacity model needs beyond bench/pricing.ts (which it reuses
 * for everything that file already holds): volume tiers, storage, Cognito,
 * CloudWatch Logs and CloudFront. us-east-1 list prices as published on the
 * pages below, recorded 2026-12-03; not fetched at run time. Free tiers are
 * left out except where a line's cost is mostly free tier (Cognito's 10,000
 * MAU, CloudFront's always-free allowance).
 */
export { PRICES, PRICE_SOURCES } from '../bench/pricing.js';

export const EXTRA_PRICES_RECORDED = '2026-12-03';

/** A volume tier: `upTo` units in the month (cumulative) at `price` each; the last tier has upTo Infinity. */
export interface Tier {
  readonly upTo: number;
  readonly price: number;
}

export const EXTRA_PRICES = {
  /** https://aws.amazon.com/api-gateway/pricing/ : HTTP APIs, $1.00 per million for the first 300 million requests a month, $0.90 per million after. */
  httpApiTiers: [
    { upTo: 300e6, price: 1.0 / 1e6 },
    { upTo: Infinity, price: 0.9 / 1e6 },
  ] as readonly Tier[],
  /** https://aws.amazon.com/api-gateway/pricing/ : WebSocket APIs, $1.00 per million messages for the first billion a month, $0.80 per million after (32 KB units). */
  wsMessageTiers: [
    { upTo: 1e9, price: 1.0 / 1e6 },
    { upTo: Infinity, price: 0.8 / 1e6 },
  ] as readonly Tier[],
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ : Standard table class storage, $0.25 per GB-month (first 25 GB free, ignored here). */
  dynamoStorageGbMonth: 0.25,
  /** https://aws.amazon.com/cognito/pricing/ : Essentials feature plan (lib/constructs/auth.ts), $0.015 per MAU above the 10,000 MAU free each month. */
  cognitoEssentialsPerMau: 0.015,
  cognitoFreeMau: 10_000,
  /** https://aws.amazon.com/cloudwatch/pricing/ : Logs, standard log class ingestion, $0.50 per GB. */
  cloudwatchLogsIngestGb: 0.5,
  /** https://aws.amazon.com/cloudfront/pricing/ : $0.0100 per 10,000 HTTPS requests (North America). */
  cloudfrontHttpsRequest: 0.01 / 10_000,
  /** https://aws.amazon.com/cloudfront/pricing/ : $0.085 per GB out to the internet (first 10 TB, North America). */
  cloudfrontGbOut: 0.085,
  /** https://aws.amazon.com/cloudfront/pricing/ : always free, 10 million HTTP(S) requests and 1 TB out each month. */
  cloudfrontFreeRequests: 10e6,
  cloudfrontFreeGb: 1024,
} as const;

export const EXTRA_PRICE_SOURCES = [
  'https://aws.amazon.com/api-gateway/pricing/',
  'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  'https://aws.amazon.com/cognito/pricing/',
  'https://aws.amazon.com/cloudwatch/pricing/',
  'https://aws.amazon.com/cloudfront/pricing/',
];

/** Dollars for `units` in one month under volume tiers. */
export function tieredCost(units: number, tiers: readonly Tier[]): number {
  let usd = 0;
  let from = 0;
  for (const tier of tiers) {
    if (units <= from) break;
    usd += (Math.min(units, tier.upTo) - from) * tier.price;
    from = tier.upTo;
  }
  return usd;
}
