import { randomBytes } from 'node:crypto';
import { answer, type ServiceAnswer } from './imageBuilderAnswers';
import { mediaType } from './http';

/*
 * The fake Red Hat SSO token endpoint and the check the fake Image Builder makes of every API call's credentials.
 * As Keycloak does, it issues bearer tokens for a service account's client credentials or for an offline token
 * (refresh_token grant with client rhsm-api); the API takes only a token it issued, with the api.console scope,
 * until it expires or is revoked, or the Basic credentials of the original staging setup when those are configured.
 */

const OFFLINE_TOKEN_CLIENT_ID = 'rhsm-api';
const SERVICE_ACCOUNT_SCOPE = 'api.console';

export interface TokenCredentials {
  clientId: string;
  clientSecret: string;
  offlineToken: string;
  basic?: { username: string; password: string };
}

export interface Tokens {
  /** The token endpoint's answer to a request with this method, Content-Type and form. */
  endpoint(method: string, contentType: string | undefined, form: Record<string, string>): ServiceAnswer;
  /** Whether an Authorization header opens the API. */
  authorizes(header: string | undefined): boolean;
  /** Every token issued so far stops working. */
  revokeAll(): void;
}

export function createTokens(options: {
  credentials: TokenCredentials;
  lifetimeSeconds: number;
  now: () => Date;
}): Tokens {
  const { credentials, lifetimeSeconds, now } = options;
  const issued = new Map<string, { expiresAt: number; scopes: string[]; revoked: boolean }>();

  function issue(scopes: string[]): ServiceAnswer {
    const accessToken = `fake-access-${randomBytes(16).toString('base64url')}`;
    issued.set(accessToken, { expiresAt: now().getTime() + lifetimeSeconds * 1000, scopes, revoked: false });
    return answer(200, {
      access_token: accessToken,
      expires_in: lifetimeSeconds,
      refresh_expires_in: 0,
      token_type: 'Bearer',
      'not-before-policy': 0,
      scope: scopes.join(' '),
    });
  }

  return {
    endpoint(method, contentType, form) {
      if (method !== 'POST') return oauthError(405, 'invalid_request', 'HTTP method not allowed');
      if (mediaType(contentType) !== 'application/x-www-form-urlencoded') {
        return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      }
      return grant(credentials, form, issue);
    },
    authorizes(header) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
      if (bearer) {
        const token = issued.get(bearer);
        return (
          !!token && !token.revoked && now().getTime() < token.expiresAt && token.scopes.includes(SERVICE_ACCOUNT_SCOPE)
        );
      }
      const basic = /^Basic\s+(\S+)$/i.exec(header ?? '')?.[1];
      if (basic && credentials.basic) {
        return (
          Buffer.from(basic, 'base64').toString('utf8') ===
          `${credentials.basic.username}:${credentials.basic.password}`
        );
      }
      return false;
    },
    revokeAll() {
      for (const token of issued.values()) token.revoked = true;
    },
  };
}

/** The answer to the form's grant: a token from `issue`, or Keycloak's error. */
function grant(
  credentials: TokenCredentials,
  form: Record<string, string>,
  issue: (scopes: string[]) => ServiceAnswer,
): ServiceAnswer {
  switch (form.grant_type) {
    case 'client_credentials': {
      if (form.client_id !== credentials.clientId || form.client_secret !== credentials.clientSecret) {
        return oauthError(401, 'invalid_client', 'Invalid client or Invalid client credentials');
      }
      const requested = (form.scope ?? '').split(/\s+/).filter(Boolean);
      // Keycloak issues a token without the scopes it was not asked for; the API then refuses it.
      return issue(['openid', ...requested.filter((s) => s === SERVICE_ACCOUNT_SCOPE)]);
    }
    case 'refresh_token':
      if (form.client_id !== OFFLINE_TOKEN_CLIENT_ID)
        return oauthError(401, 'invalid_client', 'Invalid client or Invalid client credentials');
      if (form.refresh_token !== credentials.offlineToken)
        return oauthError(400, 'invalid_grant', 'Invalid refresh token');
      return issue(['openid', SERVICE_ACCOUNT_SCOPE, 'offline_access']);
    case undefined:
      return oauthError(400, 'invalid_request', 'Missing form parameter: grant_type');
    default:
      return oauthError(400, 'unsupported_grant_type', 'Unsupported grant_type');
  }
}

const oauthError = (status: number, error: string, description: string) =>
  answer(status, { error, error_description: description });
