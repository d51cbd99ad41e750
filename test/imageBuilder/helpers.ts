import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockAgent } from 'undici';
import type { MockInterceptor } from 'undici/types/mock-interceptor';
import { createImageBuilderClient, type ImageBuilderClientOptions } from '../../src/imageBuilder';
import type { ImageBuilderAuth } from '../../src/imageBuilder/auth';
import type { ImageBuilderLogger } from '../../src/imageBuilder/http';
import type { ComposeRequest } from '../../src/imageBuilder/requestSchema';
import { KNOWN_BASIC_CREDENTIALS, KNOWN_SECRETS } from '../support/knownSecrets';

export const API_ORIGIN = 'https://console.test';
export const API_PREFIX = '/api/image-builder/v1';
export const SSO_ORIGIN = 'https://sso.test';
export const TOKEN_PATH = '/auth/realms/redhat-external/protocol/openid-connect/token';

export const CLIENT_SECRET = KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET;
export const OFFLINE_TOKEN = KNOWN_SECRETS.IMAGE_BUILDER_OFFLINE_TOKEN;
export const PASSWORD = KNOWN_BASIC_CREDENTIALS.password;
export const USERNAME = KNOWN_BASIC_CREDENTIALS.username;

export const AUTH = {
  serviceAccount: { kind: 'serviceAccount', clientId: 'bot-client', clientSecret: CLIENT_SECRET },
  offlineToken: { kind: 'offlineToken', offlineToken: OFFLINE_TOKEN },
  basic: { kind: 'basic', username: USERNAME, password: PASSWORD },
} as const satisfies Record<string, ImageBuilderAuth>;

export const COMPOSE_ID = '0b6d3f6e-2c4a-4d55-9a51-3f3c2c1e9a10';

export const awsCompose = (): ComposeRequest => ({
  distribution: 'rhel-9',
  image_name: 'web-server',
  image_requests: [
    {
      architecture: 'x86_64',
      image_type: 'aws',
      upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
    },
  ],
});

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

export function recordingLogger(): { logger: ImageBuilderLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** What a request carried, as the mock saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function seen(opts: MockInterceptor.MockResponseCallbackOptions): SeenRequest {
  const entries = opts.headers instanceof Headers ? [...opts.headers.entries()] : Object.entries(opts.headers ?? {});
  const headers = Object.fromEntries(entries.map(([k, v]) => [k.toLowerCase(), String(v)]));
  return { method: opts.method, path: opts.path, headers, body: typeof opts.body === 'string' ? opts.body : undefined };
}

export interface MockReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Responder = (request: SeenRequest, index: number) => MockReply;

/**
 * A client wired to a MockAgent (no network), a recording logger, a settable clock and a sleep that records its
 * durations and returns at once.
 */
export function harness(overrides: Partial<ImageBuilderClientOptions> = {}) {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const { logger, lines } = recordingLogger();
  const sleeps: number[] = [];
  const clock = { now: 1_700_000_000_000 };
  const tokenRequests: SeenRequest[] = [];
  const apiRequests: SeenRequest[] = [];

  const client = createImageBuilderClient({
    baseUrl: `${API_ORIGIN}${API_PREFIX}`,
    tokenUrl: `${SSO_ORIGIN}${TOKEN_PATH}`,
    auth: AUTH.serviceAccount,
    dispatcher: agent,
    logger,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    now: () => clock.now,
    ...overrides,
  });

  const reply = (r: MockReply) => ({
    statusCode: r.status,
    data: typeof r.body === 'string' ? r.body : r.body === undefined ? '' : JSON.stringify(r.body),
    responseOptions: {
      headers: { ...(typeof r.body === 'string' ? {} : { 'content-type': 'application/json' }), ...r.headers },
    },
  });

  return {
    agent,
    client,
    lines,
    sleeps,
    clock,
    tokenRequests,
    apiRequests,

    /** SSO answers every token request with `access-1`, `access-2`, … valid for `expiresIn` seconds. */
    issueTokens({ expiresIn = 900, delayMs = 0 }: { expiresIn?: number; delayMs?: number } = {}) {
      const scope = agent
        .get(SSO_ORIGIN)
        .intercept({ path: TOKEN_PATH, method: 'POST' })
        .reply((opts) => {
          tokenRequests.push(seen(opts));
          return reply({
            status: 200,
            body: { access_token: `access-${tokenRequests.length}`, expires_in: expiresIn, token_type: 'Bearer' },
          });
        });
      if (delayMs > 0) scope.delay(delayMs);
      scope.persist();
    },

    /** SSO answers token requests with the replies given, in order, then with the last one. */
    ssoAnswers(...replies: MockReply[]) {
      agent
        .get(SSO_ORIGIN)
        .intercept({ path: TOKEN_PATH, method: 'POST' })
        .reply((opts) => {
          tokenRequests.push(seen(opts));
          return reply(replies[Math.min(tokenRequests.length, replies.length) - 1]!);
        })
        .persist();
    },

    /** The service answers `method path` (path below the API prefix, query included) through `respond`. */
    serve(method: 'GET' | 'POST', path: string | ((path: string) => boolean), respond: Responder | MockReply) {
      let index = 0;
      const matches =
        typeof path === 'string'
          ? `${API_PREFIX}${path}`
          : (p: string) => p.startsWith(API_PREFIX) && path(p.slice(API_PREFIX.length));
      agent
        .get(API_ORIGIN)
        .intercept({ path: matches, method })
        .reply((opts) => {
          const request = seen(opts);
          apiRequests.push(request);
          return reply(typeof respond === 'function' ? respond(request, index++) : respond);
        })
        .persist();
    },

    /** Every log line and the given errors as text, to look for credentials in. */
    everythingVisible(errors: unknown[] = []): string {
      const logText = lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj)}`);
      const errorText = errors.map((e) =>
        e instanceof Error
          ? `${String(e)} ${JSON.stringify(e)} ${e.stack ?? ''} ${String((e as { cause?: unknown }).cause ?? '')}`
          : String(e),
      );
      return [...logText, ...errorText].join('\n');
    },
  };
}

/** Resolves with what the promise rejected with; fails the test if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

// ------------------------------------------------------------------------------------------------------------------
// Loopback servers, for failures a mock cannot fake faithfully (a refused connection, a timeout, a reset).

export async function listen(
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it: connecting gets a genuine ECONNREFUSED. */
export async function closedPort(): Promise<number> {
  const { port, close } = await listen();
  await close();
  return port;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}
