import * as z from 'zod';
import { ImageBuilderError, invalidResponse } from './errors';
import type { HttpClient, ImageBuilderLogger } from './http';

/*
 * The Authorization header for Image Builder, three ways: a service account or an offline token, both exchanged at
 * Red Hat SSO for a short-lived bearer token, or Basic credentials (the original staging setup).
 *
 * The bearer token is cached and refreshed shortly before it expires; concurrent callers share one refresh. When the
 * service answers 401 the client reports the header it used, which drops that token so the next call fetches a new
 * one (once, however many callers saw the 401).
 */

export type ImageBuilderAuth =
  | { kind: 'serviceAccount'; clientId: string; clientSecret: string }
  | { kind: 'offlineToken'; offlineToken: string }
  | { kind: 'basic'; username: string; password: string };

export interface Authenticator {
  /** The value of the Authorization header for the next request. */
  authorization(): Promise<string>;
  /**
   * The service refused `authorization` with 401. Returns whether fetching a new credential may help (false for
   * Basic credentials, which cannot change).
   */
  rejected(authorization: string): boolean;
}

export interface AuthenticatorOptions {
  auth: ImageBuilderAuth;
  tokenUrl: string;
  http: HttpClient;
  now: () => number;
  logger: ImageBuilderLogger;
}

/** Red Hat's public client for offline (refresh) tokens. */
const OFFLINE_TOKEN_CLIENT_ID = 'rhsm-api';
const SERVICE_ACCOUNT_SCOPE = 'api.console';
/** Refresh this long before expiry, so a token never expires between being read and being checked. */
const REFRESH_MARGIN_MS = 60_000;
/** When SSO leaves `expires_in` out; its tokens live 15 minutes, this errs short. */
const ASSUMED_LIFETIME_S = 300;

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.number().positive().optional(),
});

const ssoErrorSchema = z.looseObject({ error: z.string().optional(), error_description: z.string().optional() });

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { auth } = options;
  if (auth.kind === 'basic') {
    const header = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    return { authorization: async () => header, rejected: () => false };
  }

  const tokenKind = auth.kind;
  const secret = auth.kind === 'serviceAccount' ? auth.clientSecret : auth.offlineToken;
  const form =
    auth.kind === 'serviceAccount'
      ? new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: auth.clientId,
          client_secret: auth.clientSecret,
          scope: SERVICE_ACCOUNT_SCOPE,
        })
      : new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: OFFLINE_TOKEN_CLIENT_ID,
          refresh_token: auth.offlineToken,
        });

  let cached: { header: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const requestedAt = options.now();
    const answer = await options.http.send({
      operation: 'POST token',
      target: `the Red Hat SSO token endpoint (${new URL(options.tokenUrl).host})`,
      method: 'POST',
      url: options.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      // Asking for a token twice is harmless.
      retry: 'idempotent',
    });
    if (answer.status >= 200 && answer.status < 300) {
      const parsed = tokenResponseSchema.safeParse(answer.json);
      if (!parsed.success) {
        throw invalidResponse('POST token', answer.status, 'no access token in the answer');
      }
      const lifetimeMs = (parsed.data.expires_in ?? ASSUMED_LIFETIME_S) * 1000;
      cached = {
        header: `Bearer ${parsed.data.access_token}`,
        refreshAt: requestedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
      };
      options.logger.debug({ expiresInSeconds: lifetimeMs / 1000 }, 'Fetched an Image Builder access token');
      return cached.header;
    }
    throw ssoError(answer.status, answer.json, secret, tokenKind, answer.retryAfterMs);
  }

  return {
    authorization() {
      if (cached && options.now() < cached.refreshAt) return Promise.resolve(cached.header);
      inFlight ??= fetchToken().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    rejected(authorization) {
      // Only the first caller to report a token drops it; the others then share the refresh it starts.
      if (cached?.header === authorization) cached = undefined;
      return true;
    },
  };
}

function ssoError(
  status: number,
  body: unknown,
  secret: string,
  kind: 'serviceAccount' | 'offlineToken',
  retryAfterMs: number | undefined,
): ImageBuilderError {
  if (status === 407) {
    return new ImageBuilderError({
      kind: 'proxy-auth-required',
      status,
      message: 'The HTTP proxy refused our proxy credentials (407) on the way to Red Hat SSO.',
    });
  }
  if (status === 429 || status >= 500) {
    return new ImageBuilderError({
      kind: status === 429 ? 'rate-limited' : 'unavailable',
      status,
      retryAfterMs,
      message: `Red Hat SSO could not issue an access token (${status}); try again later.`,
    });
  }
  const parsed = ssoErrorSchema.safeParse(body);
  const words = parsed.success ? [parsed.data.error, parsed.data.error_description].filter(Boolean).join(': ') : '';
  // SSO has no reason to echo a credential back, but this text reaches users and logs.
  const detail = words === '' ? undefined : secret === '' ? words : words.split(secret).join('[redacted]');
  const what = kind === 'serviceAccount' ? 'the service account credentials' : 'the offline token';
  return new ImageBuilderError({
    kind: 'unauthorized',
    status,
    detail,
    message: `Red Hat SSO refused ${what} (${status})${detail ? `: ${detail}` : ''}.`,
  });
}
