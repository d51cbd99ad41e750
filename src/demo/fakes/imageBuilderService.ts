import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { composeRequestSchema } from '../../imageBuilder/requestSchema';
import { isObject, type JsonObject } from './blockKit';
import {
  createSignal,
  delay,
  mediaType,
  readBody,
  sendJson,
  sendText,
  startServer,
  waitUntil,
  type WaitOptions,
} from './http';
import type { FakeTrafficObserver } from './observer';

/*
 * A fake of Red Hat's hosted Image Builder (v1) and of the Red Hat SSO token endpoint, on one loopback server.
 *
 * It behaves like the service where the bot can tell the difference: bearer tokens issued by the token endpoint
 * (and only those, until they expire) open the API; POST /compose wants Content-Type application/json and a body the
 * strict request schema accepts, answers 403 for a distribution the account may not build or an exhausted quota, and
 * errors come back as {"errors":[{"title":"<status>","detail":"…"}]}. Each compose moves one step along its script
 * every time GET /composes/{id} asks for it, so a test controls progress by polling, not by sleeping.
 */

export const API_PATH = '/api/image-builder/v1';
export const TOKEN_PATH = '/auth/realms/redhat-external/protocol/openid-connect/token';
const OFFLINE_TOKEN_CLIENT_ID = 'rhsm-api';
const SERVICE_ACCOUNT_SCOPE = 'api.console';
const LIST_WINDOW_MS = 14 * 24 * 3600_000;

export interface DistributionItem {
  name: string;
  description: string;
}

export interface ArchitectureItem {
  arch: string;
  /** null, as the real service sends it, for a distribution with only image-mode (bootc) images (hummingbird). */
  image_types: string[] | null;
  repositories: unknown[];
}

export interface ImageStatusBody extends JsonObject {
  status: string;
}

/**
 * One answer of GET /composes/{id}. A status name is filled in as the service would: `building` gets progress
 * (its position among the script's building steps), `uploading`/`registering` a running upload, `success` the
 * upload result for the request's upload type, `failure` a nested build error. An object is sent as the
 * `image_status`, on top of what its `status` would get by default (so `{ status: 'failure', error }` replaces
 * only the error).
 */
export type ComposeStep =
  'pending' | 'building' | 'uploading' | 'registering' | 'success' | 'failure' | 'running' | ImageStatusBody;

export interface FakeCompose {
  id: string;
  /** The compose request as it was posted. */
  request: JsonObject;
  createdAt: Date;
  script: ComposeStep[];
  /** How many times GET /composes/{id} has answered since the script was (re)set. */
  polls: number;
  /** The last `image_status` answered, if any. */
  lastStatus?: ImageStatusBody;
}

export interface FakeImageBuilderRequest {
  kind: 'api' | 'token';
  method: string;
  /** Path without the query, e.g. `/api/image-builder/v1/composes/…`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON or form fields when the body was one of those, otherwise the text. */
  body: unknown;
  at: Date;
  status: number;
}

export interface FakeImageBuilderOptions {
  clientId?: string;
  clientSecret?: string;
  offlineToken?: string;
  /** Accept Basic credentials too (the original staging setup). */
  basic?: { username: string; password: string };
  tokenLifetimeSeconds?: number;
  /** What this account may build; a compose for anything else answers 403. */
  distributions?: DistributionItem[];
  /** The same list for every distribution, or one per distribution. */
  architectures?: ArchitectureItem[] | Record<string, ArchitectureItem[]>;
  /** 403 "Quota of N builds per D days exceeded" once N composes were created in the last D days (failed ones count). */
  quota?: { builds: number; days: number };
  /** The clock behind created_at, token expiry and the 14-day list window. */
  now?: () => Date;
  /** `rfc3339` (the current handler's `2026-11-26T10:00:00Z`) or `go` (Go's `2026-11-26 10:00:00.123 +0000 UTC`). */
  createdAtFormat?: 'rfc3339' | 'go';
  /** The script of every compose that is not given its own; see {@link defaultScript}. */
  script?: ComposeStep[];
  awsRegion?: string;
  /** Delay before every answer, to show a caller does not wait on the service where it must not. */
  responseDelayMs?: number;
  /** Sees every request as received (the tests' secret sentinel); none by default. */
  observer?: FakeTrafficObserver;
}

export interface InjectedFailureMatch {
  method?: string;
  /** A substring of, or pattern for, the request path. Without it, any API request (not the token endpoint) matches. */
  path?: string | RegExp;
  headers?: Record<string, string>;
}

export interface FakeImageBuilder {
  /** `http://127.0.0.1:PORT/api/image-builder/v1` — IMAGE_BUILDER_URL. */
  baseUrl: string;
  /** IMAGE_BUILDER_TOKEN_URL. */
  tokenUrl: string;
  credentials: {
    clientId: string;
    clientSecret: string;
    offlineToken: string;
    basic?: { username: string; password: string };
  };
  /** Every request in arrival order, token requests included. */
  requests: FakeImageBuilderRequest[];
  apiRequests(): FakeImageBuilderRequest[];
  tokenRequests(): FakeImageBuilderRequest[];
  composes: Map<string, FakeCompose>;
  /** Sets the steps of one compose (from its next poll on), or with 'next' of the next compose created (queued). */
  script(target: string, steps: ComposeStep[]): void;
  /** The next poll of the compose answers this final state. */
  setFinal(id: string, final: 'success' | 'failure' | ImageStatusBody): void;
  /** The next `count` matching requests answer `status` with `body` (a service error list by default; a string is sent as HTML). */
  fail(count: number, status: number, body?: unknown, match?: InjectedFailureMatch): void;
  /** A compose the account already has (for GET /composes), created at `createdAt`. */
  addCompose(compose: { request: JsonObject; createdAt?: Date; script?: ComposeStep[]; id?: string }): string;
  /** Every token issued so far stops working, as when SSO revokes a session; the client must fetch a new one. */
  revokeTokens(): void;
  setResponseDelay(ms: number): void;
  waitFor<T>(
    check: (fake: FakeImageBuilder) => T | undefined | null | false,
    options?: WaitOptions & { description?: string },
  ): Promise<T>;
  close(): Promise<void>;
}

export const DEFAULT_DISTRIBUTIONS: DistributionItem[] = [
  { name: 'rhel-10', description: 'Red Hat Enterprise Linux (RHEL) 10' },
  { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
  { name: 'centos-9', description: 'CentOS Stream 9' },
];

export const DEFAULT_ARCHITECTURES: ArchitectureItem[] = [
  { arch: 'x86_64', image_types: ['aws', 'azure', 'gcp', 'guest-image'], repositories: [] },
  { arch: 'aarch64', image_types: ['aws', 'guest-image'], repositories: [] },
];

const BUILD_STEPS = 7;

/** pending → building 1..7 of 7 → uploading → registering → success: eleven polls. */
export function defaultScript(): ComposeStep[] {
  return [
    'pending',
    ...Array.from({ length: BUILD_STEPS }, (_, i): ComposeStep => ({
      status: 'building',
      progress: { done: i + 1, total: BUILD_STEPS, subprogress: { done: (i * 3) % 5, total: 5 } },
    })),
    'uploading',
    'registering',
    'success',
  ];
}

export const DEFAULT_BUILD_ERROR = {
  id: 10,
  reason: 'osbuild build failed',
  details: [
    {
      id: 9,
      reason: 'Manifest dependency failure',
      details: 'error: stage org.osbuild.rpm failed: package kernel-99 not found',
    },
  ],
};

/** The service's error body: `{"errors":[{"title":"403","detail":"…"}]}`. */
export const serviceErrors = (status: number, detail: string) => ({ errors: [{ title: String(status), detail }] });

const IMAGE_TYPE_ALIASES: Record<string, string> = { ami: 'aws', vhd: 'azure' };
const DOWNLOAD_EXTENSIONS: Record<string, string> = {
  'guest-image': 'qcow2',
  'image-installer': 'iso',
  'network-installer': 'iso',
  'vsphere-ova': 'ova',
  vsphere: 'vmdk',
  wsl: 'tar.gz',
  oci: 'qcow2',
  'pxe-tar-xz': 'tar.xz',
};

class ServiceAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}
const answer = (status: number, body: unknown, headers?: Record<string, string>) =>
  new ServiceAnswer(status, body, headers);
const errorAnswer = (status: number, detail: string) => answer(status, serviceErrors(status, detail));

/** The stand-in credentials the demo configures the bot with: good only for this fake. */
export const DEMO_CLIENT_SECRET = 'demo-client-secret-for-the-fake-image-builder';
export const DEMO_OFFLINE_TOKEN = 'demo-offline-token-for-the-fake-image-builder';

// One closure over the service's state, route by route; splitting it into modules is yet to be done.
// eslint-disable-next-line max-lines-per-function
export async function startFakeImageBuilder(options: FakeImageBuilderOptions = {}): Promise<FakeImageBuilder> {
  const credentials = {
    clientId: options.clientId ?? 'image-builder-bot',
    // test/fakes gives the suite's known secrets instead, so every app configured from them carries them.
    clientSecret: options.clientSecret ?? DEMO_CLIENT_SECRET,
    offlineToken: options.offlineToken ?? DEMO_OFFLINE_TOKEN,
    ...(options.basic ? { basic: options.basic } : {}),
  };
  const now = options.now ?? (() => new Date());
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 900;
  const distributions = options.distributions ?? DEFAULT_DISTRIBUTIONS;
  const awsRegion = options.awsRegion ?? 'us-east-1';
  let responseDelayMs = options.responseDelayMs ?? 0;
  const { observer } = options;

  const requests: FakeImageBuilderRequest[] = [];
  const composes = new Map<string, FakeCompose>();
  const nextScripts: ComposeStep[][] = [];
  const failures: { remaining: number; status: number; body: unknown; match: InjectedFailureMatch }[] = [];
  const tokens = new Map<string, { expiresAt: number; scopes: string[]; revoked: boolean }>();
  const signal = createSignal();

  const architecturesOf = (distribution: string): ArchitectureItem[] => {
    const configured = options.architectures;
    if (configured === undefined) return DEFAULT_ARCHITECTURES;
    return Array.isArray(configured) ? configured : (configured[distribution] ?? []);
  };
  const allowed = (distribution: string) => distributions.some((d) => d.name === distribution);

  function formatCreatedAt(date: Date): string {
    const iso = date.toISOString();
    if (options.createdAtFormat === 'go') {
      const ms = date.getUTCMilliseconds();
      const fraction = ms === 0 ? '' : `.${String(ms).padStart(3, '0').replace(/0+$/, '')}`;
      return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} +0000 UTC`;
    }
    return `${iso.slice(0, 19)}Z`;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Compose progress

  const uploadTypeOf = (request: JsonObject): string => {
    const first = Array.isArray(request.image_requests) ? (request.image_requests[0] as unknown) : undefined;
    const upload = isObject(first) && isObject(first.upload_request) ? first.upload_request : undefined;
    return typeof upload?.type === 'string' ? upload.type : 'aws.s3';
  };

  function uploadResult(compose: FakeCompose): JsonObject {
    const first = (compose.request.image_requests as JsonObject[] | undefined)?.[0] ?? {};
    const upload = isObject(first.upload_request) ? first.upload_request : {};
    const uploadOptions = isObject(upload.options) ? upload.options : {};
    const name = `composer-api-${compose.id}`;
    switch (uploadTypeOf(compose.request)) {
      case 'aws':
        return { ami: `ami-${compose.id.replace(/-/g, '').slice(0, 17)}`, region: awsRegion };
      case 'gcp':
        return { project_id: 'red-hat-image-builder', image_name: name };
      case 'azure':
        return { image_name: typeof uploadOptions.image_name === 'string' ? uploadOptions.image_name : name };
      default: {
        const extension = DOWNLOAD_EXTENSIONS[String(first.image_type)] ?? 'qcow2';
        return {
          url:
            `https://image-builder-service-production.s3.amazonaws.com/${name}-disk.${extension}` +
            `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261126T100000Z&X-Amz-Expires=604800&X-Amz-Signature=${compose.id.replace(/-/g, '')}`,
        };
      }
    }
  }

  function imageStatusFor(compose: FakeCompose, index: number): ImageStatusBody {
    const step = compose.script[index] ?? 'pending';
    const given: ImageStatusBody = typeof step === 'string' ? { status: step } : step;
    const type = uploadTypeOf(compose.request);
    const defaults: JsonObject = {};
    switch (given.status) {
      case 'building': {
        const buildingSteps = compose.script
          .map((s, i) => ({ s, i }))
          .filter(({ s }) => (typeof s === 'string' ? s : s.status) === 'building');
        const position = buildingSteps.findIndex(({ i }) => i === index);
        defaults.progress = { done: position + 1, total: buildingSteps.length };
        break;
      }
      case 'uploading':
      case 'registering':
        defaults.upload_status = { status: 'running', type, options: {} };
        break;
      case 'success':
        defaults.upload_status = { status: 'success', type, options: uploadResult(compose) };
        break;
      case 'failure':
        defaults.error = DEFAULT_BUILD_ERROR;
        break;
    }
    return { ...defaults, ...given };
  }

  function poll(compose: FakeCompose): ImageStatusBody {
    const status = imageStatusFor(compose, Math.min(compose.polls, compose.script.length - 1));
    compose.polls += 1;
    compose.lastStatus = status;
    return status;
  }

  function createCompose(init: {
    request: JsonObject;
    createdAt?: Date;
    script?: ComposeStep[];
    id?: string;
  }): FakeCompose {
    const compose: FakeCompose = {
      id: init.id ?? randomUUID(),
      request: init.request,
      createdAt: init.createdAt ?? now(),
      script: init.script ?? nextScripts.shift() ?? options.script ?? defaultScript(),
      polls: 0,
    };
    if (compose.script.length === 0) throw new Error('A compose script needs at least one step');
    composes.set(compose.id, compose);
    return compose;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Token endpoint

  function issueToken(scopes: string[]) {
    const accessToken = `fake-access-${randomBytes(16).toString('base64url')}`;
    tokens.set(accessToken, { expiresAt: now().getTime() + tokenLifetimeSeconds * 1000, scopes, revoked: false });
    return answer(200, {
      access_token: accessToken,
      expires_in: tokenLifetimeSeconds,
      refresh_expires_in: 0,
      token_type: 'Bearer',
      'not-before-policy': 0,
      scope: scopes.join(' '),
    });
  }

  function tokenEndpoint(method: string, contentType: string | undefined, form: Record<string, string>): ServiceAnswer {
    const oauthError = (status: number, error: string, description: string) =>
      answer(status, { error, error_description: description });
    if (method !== 'POST') return oauthError(405, 'invalid_request', 'HTTP method not allowed');
    if (mediaType(contentType) !== 'application/x-www-form-urlencoded') {
      return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    switch (form.grant_type) {
      case 'client_credentials': {
        if (form.client_id !== credentials.clientId || form.client_secret !== credentials.clientSecret) {
          return oauthError(401, 'invalid_client', 'Invalid client or Invalid client credentials');
        }
        const requested = (form.scope ?? '').split(/\s+/).filter(Boolean);
        // Keycloak issues a token without the scopes it was not asked for; the API then refuses it.
        return issueToken(['openid', ...requested.filter((s) => s === SERVICE_ACCOUNT_SCOPE)]);
      }
      case 'refresh_token':
        if (form.client_id !== OFFLINE_TOKEN_CLIENT_ID)
          return oauthError(401, 'invalid_client', 'Invalid client or Invalid client credentials');
        if (form.refresh_token !== credentials.offlineToken)
          return oauthError(400, 'invalid_grant', 'Invalid refresh token');
        return issueToken(['openid', SERVICE_ACCOUNT_SCOPE, 'offline_access']);
      case undefined:
        return oauthError(400, 'invalid_request', 'Missing form parameter: grant_type');
      default:
        return oauthError(400, 'unsupported_grant_type', 'Unsupported grant_type');
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // API

  function authorized(header: string | undefined): boolean {
    const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (bearer) {
      const token = tokens.get(bearer);
      return (
        !!token && !token.revoked && now().getTime() < token.expiresAt && token.scopes.includes(SERVICE_ACCOUNT_SCOPE)
      );
    }
    const basic = /^Basic\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (basic && credentials.basic) {
      return (
        Buffer.from(basic, 'base64').toString('utf8') === `${credentials.basic.username}:${credentials.basic.password}`
      );
    }
    return false;
  }

  function postCompose(contentType: string | undefined, raw: string): ServiceAnswer {
    // The service reads the body only as exactly application/json.
    if ((contentType ?? '').trim().toLowerCase() !== 'application/json')
      return errorAnswer(415, 'Unsupported Media Type');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (error) {
      return errorAnswer(400, `request body has an error: failed to decode request body: ${(error as Error).message}`);
    }
    const parsed = composeRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
      return errorAnswer(
        400,
        `request body has an error: doesn't match schema #/components/schemas/ComposeRequest: ${issues}`,
      );
    }
    const request = parsed.data;
    if (options.quota) {
      const since = now().getTime() - options.quota.days * 24 * 3600_000;
      const recent = [...composes.values()].filter((c) => c.createdAt.getTime() > since).length;
      if (recent >= options.quota.builds) {
        return errorAnswer(403, `Quota of ${options.quota.builds} builds per ${options.quota.days} days exceeded`);
      }
    }
    if (!allowed(request.distribution)) return errorAnswer(403, `distribution ${request.distribution} not allowed`);
    const [imageRequest] = request.image_requests;
    const arch = architecturesOf(request.distribution).find((a) => a.arch === imageRequest.architecture);
    if (!arch)
      return errorAnswer(400, `Architecture ${imageRequest.architecture} is not supported for ${request.distribution}`);
    const imageType = IMAGE_TYPE_ALIASES[imageRequest.image_type] ?? imageRequest.image_type;
    if (!(arch.image_types ?? []).includes(imageType)) {
      return errorAnswer(
        400,
        `Image type ${imageRequest.image_type} is not supported for ${request.distribution} on ${arch.arch}`,
      );
    }
    const compose = createCompose({ request: body as JsonObject });
    return answer(201, { id: compose.id });
  }

  function listComposes(query: Record<string, string>): ServiceAnswer {
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    const offset = query.offset === undefined ? 0 : Number(query.offset);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return errorAnswer(400, 'parameter "limit" in query has an error: number must be between 1 and 100');
    }
    if (!Number.isInteger(offset) || offset < 0)
      return errorAnswer(400, 'parameter "offset" in query has an error: number must be at least 0');
    const since = now().getTime() - LIST_WINDOW_MS;
    const recent = [...composes.values()]
      .filter((c) => c.createdAt.getTime() >= since)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const count = recent.length;
    return answer(200, {
      meta: { count },
      links: {
        first: `/api/image-builder/v1.0/composes?offset=0&limit=${limit}`,
        last: `/api/image-builder/v1.0/composes?offset=${Math.max(count - 1, 0)}&limit=${limit}`,
      },
      data: recent.slice(offset, offset + limit).map((c) => ({
        id: c.id,
        request: c.request,
        created_at: formatCreatedAt(c.createdAt),
        ...(typeof c.request.image_name === 'string' ? { image_name: c.request.image_name } : {}),
        client_id: typeof c.request.client_id === 'string' ? c.request.client_id : 'api',
      })),
    });
  }

  function api(
    method: string,
    route: string,
    query: Record<string, string>,
    headers: IncomingHttpHeaders,
    raw: string,
  ): ServiceAnswer {
    if (method === 'GET' && route === '/openapi.json') {
      return answer(200, { openapi: '3.0.1', info: { version: '1.0', title: 'Image-builder service' }, paths: {} });
    }
    if (!authorized(headers.authorization)) return errorAnswer(401, 'Unauthorized');
    if (method === 'POST' && route === '/compose') return postCompose(headers['content-type'], raw);
    if (method !== 'GET') return errorAnswer(405, 'Method Not Allowed');
    if (route === '/ready') return answer(200, { readiness: 'ready' });
    if (route === '/version')
      return answer(200, { version: '1.0', build_commit: 'fake', build_time: '2026-11-01T00:00:00Z' });
    if (route === '/distributions') return answer(200, distributions);
    if (route === '/composes') return listComposes(query);
    const architectures = /^\/architectures\/([^/]+)$/.exec(route)?.[1];
    if (architectures !== undefined) {
      const distribution = decodeURIComponent(architectures);
      if (!allowed(distribution)) return errorAnswer(403, `distribution ${distribution} not allowed`);
      return answer(200, architecturesOf(distribution));
    }
    const composeId = /^\/composes\/([^/]+)$/.exec(route)?.[1];
    if (composeId !== undefined) {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(composeId)) {
        return errorAnswer(
          400,
          `Invalid format for parameter composeId: error unmarshaling '${composeId}' text as *uuid.UUID`,
        );
      }
      const compose = composes.get(composeId.toLowerCase());
      if (!compose) return errorAnswer(404, `Compose entry ${composeId} not found compose entry not found`);
      return answer(200, { image_status: poll(compose), request: compose.request });
    }
    return errorAnswer(404, 'Not Found');
  }

  // -------------------------------------------------------------------------------------------------------------
  // Server

  function injectedFailure(kind: 'api' | 'token', method: string, path: string): ServiceAnswer | undefined {
    const failure = failures.find(({ remaining, match }) => {
      if (remaining <= 0) return false;
      if (match.method && match.method.toUpperCase() !== method) return false;
      if (match.path === undefined) return kind === 'api';
      return typeof match.path === 'string' ? path.includes(match.path) : match.path.test(path);
    });
    if (!failure) return undefined;
    failure.remaining -= 1;
    return answer(failure.status, failure.body, failure.match.headers);
  }

  function parseBody(raw: string, contentType: string | undefined): unknown {
    const type = mediaType(contentType);
    if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
    if (type === 'application/json') {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    }
    return raw === '' ? undefined : raw;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const query = Object.fromEntries(url.searchParams);
    const kind = url.pathname === TOKEN_PATH ? 'token' : 'api';
    observer?.imageBuilderRequest(kind, { method, url: req.url ?? '/', headers: req.headers, body: raw });
    const body = parseBody(raw, req.headers['content-type']);
    if (responseDelayMs > 0) await delay(responseDelayMs);

    let result = injectedFailure(kind, method, url.pathname);
    if (!result) {
      if (kind === 'token') {
        result = tokenEndpoint(
          method,
          req.headers['content-type'],
          isObject(body) ? (body as Record<string, string>) : {},
        );
      } else if (url.pathname === API_PATH || url.pathname.startsWith(`${API_PATH}/`)) {
        result = api(method, url.pathname.slice(API_PATH.length) || '/', query, req.headers, raw);
      } else {
        result = errorAnswer(404, 'Not Found');
      }
    }
    requests.push({
      kind,
      method,
      path: url.pathname,
      query,
      headers: req.headers,
      body,
      at: now(),
      status: result.status,
    });
    signal.notify();
    if (typeof result.body === 'string') {
      sendText(res, result.status, result.body, { 'content-type': 'text/html; charset=utf-8', ...result.headers });
    } else {
      sendJson(res, result.status, result.body, result.headers);
    }
  }

  const server = await startServer(handle);
  observer?.fakeOrigin(server.origin);

  const fake: FakeImageBuilder = {
    baseUrl: `${server.origin}${API_PATH}`,
    tokenUrl: `${server.origin}${TOKEN_PATH}`,
    credentials,
    requests,
    apiRequests: () => requests.filter((r) => r.kind === 'api'),
    tokenRequests: () => requests.filter((r) => r.kind === 'token'),
    composes,
    script(target, steps) {
      if (steps.length === 0) throw new Error('A compose script needs at least one step');
      if (target === 'next') {
        nextScripts.push(steps);
        return;
      }
      const compose = composes.get(target);
      if (!compose) throw new Error(`No compose ${target}; known: ${[...composes.keys()].join(', ') || 'none'}`);
      compose.script = steps;
      compose.polls = 0;
    },
    setFinal(id, final) {
      fake.script(id, [final]);
    },
    fail(count, status, body = serviceErrors(status, STATUS_CODES[status] ?? 'Error'), match = {}) {
      failures.push({ remaining: count, status, body, match });
    },
    addCompose: (init) => createCompose(init).id,
    revokeTokens() {
      for (const token of tokens.values()) token.revoked = true;
    },
    setResponseDelay(ms) {
      responseDelayMs = ms;
    },
    waitFor(check, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      return waitUntil(() => check(fake), {
        ...waitOptions,
        subscribe: signal.subscribe,
        describeFailure: (lastError) =>
          [
            `Timed out after ${timeoutMs} ms waiting for ${waitOptions.description ?? 'a condition on the fake Image Builder'}.`,
            ...(lastError ? [`The last check threw: ${lastError}`] : []),
            requests.length === 0
              ? 'No requests were recorded.'
              : `Recorded requests (${requests.length}):\n${requests.map((r, i) => `  ${i + 1}. ${r.method} ${r.path} → ${r.status}`).join('\n')}`,
          ].join('\n'),
      });
    },
    close: () => server.close(),
  };
  return fake;
}
