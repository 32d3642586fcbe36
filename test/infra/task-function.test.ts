import { describe, expect, it } from 'vitest';
import { environmentFor } from '../../lib/constructs/task-function.js';

describe('environmentFor', () => {
  it('gives a function exactly the variables its FUNCTIONS entry names', () => {
    const env = environmentFor('broadcaster', {
      connectionsTable: 'conns',
      wsManagementEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      tasksTable: 'tasks',
      jwtIssuer: 'https://issuer',
    });
    expect(env).toEqual({
      CONNECTIONS_TABLE: 'conns',
      WS_MANAGEMENT_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    });
  });

  it('refuses to build a function whose variable has no value, naming the variable', () => {
    expect(() => environmentFor('wsAuthorizer', { jwtIssuer: 'https://issuer', jwksUri: '' })).toThrow(
      /wsAuthorizer needs JWT_AUDIENCE, JWKS_URI/,
    );
  });
});
