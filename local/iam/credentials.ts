import { randomBytes } from 'node:crypto';
import type { FunctionName } from '../../lib/definitions.js';
import { localClientConfig } from '../dynamodb/client-config.js';
import { assumedRoleArn, type Principal } from './policy.js';

/** Temporary credentials as Lambda hands them to a function (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** The key the developer's own tools use against DynamoDB Local (tests, bench, table setup): never refused. */
export const ADMIN_ACCESS_KEY_ID = localClientConfig('').credentials.accessKeyId;

/** Session name of the event source mapping's calls (it runs with its function's role). */
export const EVENT_SOURCE_MAPPING_SESSION = 'event-source-mapping';

/**
 * One set of credentials per function and one for the stream event source
 * mapping. The access key id names its owner (`ASIALOCALTASKSAPI`: temporary
 * keys start with ASIA; DynamoDB Local accepts only letters and digits), so
 * the checking proxy and the `@connections` emulator know who signed a
 * request from the SigV4 `Credential=` field alone. Signatures are not
 * verified: this guards against mistakes in the definitions, not attackers.
 */
export class CredentialRegistry {
  private readonly byKeyId = new Map<string, Principal>();
  private readonly issued = new Map<string, Credentials>();

  /** The credentials of function `fn` (the same on every call). */
  forFunction(fn: FunctionName): Credentials {
    return this.issue(`ASIALOCAL${fn.toUpperCase()}`, { kind: 'function', fn, arn: assumedRoleArn(fn) });
  }

  /** The credentials the stream poller signs with when it acts as the event source mapping of `fn`. */
  forEventSourceMapping(fn: FunctionName): Credentials {
    return this.issue(`ASIALOCALESM${fn.toUpperCase()}`, {
      kind: 'eventSourceMapping',
      fn,
      arn: assumedRoleArn(fn, EVENT_SOURCE_MAPPING_SESSION),
    });
  }

  /** Who owns `accessKeyId`: a function, the mapping, the developer (`local`), or nobody (undefined). */
  principalOf(accessKeyId: string): Principal | undefined {
    if (accessKeyId === ADMIN_ACCESS_KEY_ID)
      return { kind: 'admin', arn: `arn:aws:iam::000000000000:user/${ADMIN_ACCESS_KEY_ID}` };
    return this.byKeyId.get(accessKeyId);
  }

  private issue(accessKeyId: string, principal: Principal): Credentials {
    let credentials = this.issued.get(accessKeyId);
    if (!credentials) {
      credentials = {
        accessKeyId,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(48).toString('base64'),
      };
      this.issued.set(accessKeyId, credentials);
      this.byKeyId.set(accessKeyId, principal);
    }
    return credentials;
  }
}

/** The access key id of a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 Credential=<id>/<date>/...`), if any. */
export function accessKeyIdOf(authorization: string | string[] | undefined): string | undefined {
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  if (!header) return undefined;
  const match = /Credential=([^/,\s]+)\//.exec(header);
  return match?.[1];
}
