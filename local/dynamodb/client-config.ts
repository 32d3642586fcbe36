import { LOCAL } from '../../lib/definitions.js';

/** Endpoint, region and dummy credentials an AWS SDK v3 client needs to talk to DynamoDB Local. */
export interface LocalClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export function localClientConfig(endpoint: string): LocalClientConfig {
  // DynamoDB Local (-sharedDb) ignores region and credentials, but the SDK insists on both;
  // DynamoDB Local 2.x rejects access keys that are not alphanumeric.
  return { endpoint, region: LOCAL.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
