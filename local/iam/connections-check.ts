import { LOCAL } from '../../lib/definitions.js';
import type { ManagementRefusal, ManagementRequest } from '../gateway/websocket/management-api.js';
import { LOCAL_ACCOUNT_ID } from '../gateway/shared/aws-format.js';
import { accessKeyIdOf, type CredentialRegistry } from './credentials.js';
import type { IamRecorder } from './dynamodb-proxy.js';
import { authorize, type PermissionSource } from './policy.js';

export interface ConnectionsCheckOptions {
  /** The WebSocket API's id (in the execute-api ARN). */
  apiId: string;
  credentials: CredentialRegistry;
  permissionsOf: PermissionSource;
  recorder: IamRecorder;
}

/**
 * The IAM check of the `@connections` emulator: the signer must be allowed
 * execute-api:ManageConnections on
 * `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<id>`,
 * as API Gateway requires of every management call (403 otherwise).
 */
export function connectionsCheck(
  options: ConnectionsCheckOptions,
): (request: ManagementRequest) => ManagementRefusal | undefined {
  const { credentials, permissionsOf, recorder } = options;
  return (request) => {
    const keyId = accessKeyIdOf(request.authorization);
    if (!keyId) {
      recorder.unauthenticated();
      return { status: 403, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    }
    const principal = credentials.principalOf(keyId);
    if (!principal) {
      recorder.unauthenticated();
      return {
        status: 403,
        errorType: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      };
    }
    if (principal.kind === 'admin') return undefined;
    const arn = `arn:aws:execute-api:${LOCAL.region}:${LOCAL_ACCOUNT_ID}:${options.apiId}/${request.stage}/${request.method}/@connections/${request.connectionId}`;
    const denial = authorize(permissionsOf, principal, [
      { action: 'execute-api:ManageConnections', resource: { kind: 'connections', method: request.method, arn } },
    ]);
    if (denial) {
      recorder.denied(denial);
      return { status: 403, errorType: 'AccessDeniedException', message: denial.message };
    }
    recorder.allowed();
    return undefined;
  };
}
