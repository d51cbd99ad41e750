import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { isObject, type JsonObject } from './blockKit';
import { answer, errorAnswer, serviceErrors, ServiceAnswer } from './imageBuilderAnswers';
import {
  createBlueprints,
  latestOf,
  type Blueprints,
  type FakeBlueprint,
  type FakeBlueprintBodyInput,
  type FakeBlueprintLint,
  type FakeBlueprintSeed,
} from './imageBuilderBlueprints';
import { createCatalog, type ArchitectureItem, type DistributionItem, type PackageItem } from './imageBuilderCatalog';
import {
  createComposes,
  type ComposeStep,
  type Composes,
  type FakeCompose,
  type ImageStatusBody,
} from './imageBuilderComposes';
import { apiAnswer, type ImageBuilderApi } from './imageBuilderRoutes';
import { createTokens, type Tokens } from './imageBuilderTokens';
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
 *
 * The organisation's blueprints (`blueprints` in the options; every version kept) answer as the service's handlers:
 *   GET    /blueprints                   latest version of each, last saved first; `name` (exact) or `search` (name or
 *                                        description, any case), `limit` 1–100 (else 400), `offset`; meta.count, links
 *   POST   /blueprints                   CreateBlueprintRequest: 201 {id}; 400 off the spec, 422 blank/taken name
 *   GET    /blueprints/{id}[?version=N]  BlueprintResponse with lint, no version, `hasPassword` for passwords; -1 latest;
 *                                        404 unknown id or version, 400 not a UUID or a version 0 or below but -1
 *   PUT    /blueprints/{id}              a new version (201 {id}, as the handler answers); 404 unknown
 *   DELETE /blueprints/{id}              204, every version; the composes built from it stay
 *   POST   /blueprints/{id}/compose      {image_types?}: one compose of the latest version per saved image request of
 *                                        those types (verbatim), in order; 201 [{id}…], [] when none; quota and
 *                                        catalog as POST /compose, the first refusal ends it; lint does not stop it
 *   GET    /blueprints/{id}/composes     its composes of the last 14 days, newest first, `blueprint_version` (-1 latest)
 * Blueprint composes follow their scripts on GET /composes/{id} like any other.
 *
 * This module is the fake's face and its front door: the options, the recorded requests, injected failures and
 * the routing between the token endpoint (imageBuilderTokens.ts) and the API (imageBuilderRoutes.ts), which answers
 * from the account's catalog (imageBuilderCatalog.ts), its composes (imageBuilderComposes.ts) and its blueprints
 * (imageBuilderBlueprints.ts).
 */

export const API_PATH = '/api/image-builder/v1';
export const TOKEN_PATH = '/auth/realms/redhat-external/protocol/openid-connect/token';

export { serviceErrors } from './imageBuilderAnswers';
export {
  DEFAULT_ARCHITECTURES,
  DEFAULT_DISTRIBUTIONS,
  type ArchitectureItem,
  type DistributionItem,
} from './imageBuilderCatalog';
export type {
  BlueprintLintItem,
  FakeBlueprint,
  FakeBlueprintBodyInput,
  FakeBlueprintLint,
  FakeBlueprintSeed,
  FakeBlueprintVersion,
} from './imageBuilderBlueprints';
export {
  DEFAULT_BUILD_ERROR,
  defaultScript,
  type ComposeStep,
  type FakeCompose,
  type ImageStatusBody,
} from './imageBuilderComposes';

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
  /** The package list GET /packages searches, per distribution; one left out has none (DEFAULT_PACKAGES by default). */
  packages?: Record<string, PackageItem[]>;
  /** 403 "Quota of N builds per D days exceeded" once N composes were created in the last D days (failed ones count). */
  quota?: { builds: number; days: number };
  /** The clock behind created_at, token expiry and the 14-day list window. */
  now?: () => Date;
  /** `rfc3339` (the current handler's `2026-11-26T10:00:00Z`) or `go` (Go's `2026-11-26 10:00:00.123 +0000 UTC`). */
  createdAtFormat?: 'rfc3339' | 'go';
  /** The organisation's blueprints; see {@link FakeBlueprintSeed}. */
  blueprints?: FakeBlueprintSeed[];
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
  /**
   * The bodies of every request for a build, POST /compose and POST /blueprints/{id}/compose, in arrival order,
   * whatever the fake answered.
   */
  composeRequests(): Record<string, unknown>[];
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
  /** The organisation's blueprints by id, every version of each. */
  blueprints: Map<string, FakeBlueprint>;
  /** A blueprint the organisation already has; its id. Throws for a body the service would not save. */
  addBlueprint(seed: FakeBlueprintSeed): string;
  /** Saves the latest version with `changes` as a new version, as someone in the console would; its number. */
  saveBlueprintVersion(id: string, changes?: Partial<FakeBlueprintBodyInput>): number;
  /** Deletes every version, as DELETE /blueprints/{id} does; the composes built from it stay. */
  deleteBlueprint(id: string): void;
  /** What GET /blueprints/{id} reports as the latest version's lint (until the next save). */
  setBlueprintLint(id: string, lint: Partial<FakeBlueprintLint>): void;
  /** The POST /blueprints/{id}/compose requests received (of one blueprint when given), in arrival order. */
  blueprintComposeRequests(id?: string): FakeImageBuilderRequest[];
  /** Every token issued so far stops working, as when SSO revokes a session; the client must fetch a new one. */
  revokeTokens(): void;
  setResponseDelay(ms: number): void;
  waitFor<T>(
    check: (fake: FakeImageBuilder) => T | undefined | null | false,
    options?: WaitOptions & { description?: string },
  ): Promise<T>;
  close(): Promise<void>;
}

/** The stand-in credentials the demo configures the bot with: good only for this fake. */
export const DEMO_CLIENT_SECRET = 'demo-client-secret-for-the-fake-image-builder';
export const DEMO_OFFLINE_TOKEN = 'demo-offline-token-for-the-fake-image-builder';

interface InjectedFailure {
  remaining: number;
  status: number;
  body: unknown;
  match: InjectedFailureMatch;
}

/** What the fake's front door shares: the token endpoint, the API, the recorded requests and injected failures. */
interface FakeImageBuilderServer {
  tokens: Tokens;
  api: ImageBuilderApi;
  composes: Composes;
  blueprints: Blueprints;
  requests: FakeImageBuilderRequest[];
  failures: InjectedFailure[];
  signal: ReturnType<typeof createSignal>;
  responseDelayMs: number;
  now: () => Date;
  observer: FakeTrafficObserver | undefined;
}

export async function startFakeImageBuilder(options: FakeImageBuilderOptions = {}): Promise<FakeImageBuilder> {
  const credentials = {
    clientId: options.clientId ?? 'image-builder-bot',
    // test/fakes gives the suite's known secrets instead, so every app configured from them carries them.
    clientSecret: options.clientSecret ?? DEMO_CLIENT_SECRET,
    offlineToken: options.offlineToken ?? DEMO_OFFLINE_TOKEN,
    ...(options.basic ? { basic: options.basic } : {}),
  };
  const now = options.now ?? (() => new Date());
  const tokens = createTokens({ credentials, lifetimeSeconds: options.tokenLifetimeSeconds ?? 900, now });
  const composes = createComposes({
    now,
    awsRegion: options.awsRegion ?? 'us-east-1',
    ...(options.script ? { script: options.script } : {}),
  });
  const blueprints = createBlueprints(now);
  for (const seed of options.blueprints ?? []) blueprints.add(seed);
  const fake: FakeImageBuilderServer = {
    tokens,
    api: {
      composes,
      blueprints,
      catalog: createCatalog(options),
      authorizes: (authorization) => tokens.authorizes(authorization),
      now,
      quota: options.quota,
      createdAtFormat: options.createdAtFormat,
    },
    composes,
    blueprints,
    requests: [],
    failures: [],
    signal: createSignal(),
    responseDelayMs: options.responseDelayMs ?? 0,
    now,
    observer: options.observer,
  };
  const server = await startServer((req, res) => handle(fake, req, res));
  options.observer?.fakeOrigin(server.origin);
  return imageBuilderFacade(fake, { origin: server.origin, credentials, close: () => server.close() });
}

async function handle(fake: FakeImageBuilderServer, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://fake');
  const method = req.method ?? 'GET';
  const raw = await readBody(req);
  const query = Object.fromEntries(url.searchParams);
  const kind = url.pathname === TOKEN_PATH ? 'token' : 'api';
  fake.observer?.imageBuilderRequest(kind, { method, url: req.url ?? '/', headers: req.headers, body: raw });
  const body = parseBody(raw, req.headers['content-type']);
  if (fake.responseDelayMs > 0) await delay(fake.responseDelayMs);

  let result = injectedFailure(fake.failures, kind, method, url.pathname);
  if (!result) {
    if (kind === 'token') {
      const form = isObject(body) ? (body as Record<string, string>) : {};
      result = fake.tokens.endpoint(method, req.headers['content-type'], form);
    } else if (url.pathname === API_PATH || url.pathname.startsWith(`${API_PATH}/`)) {
      const route = url.pathname.slice(API_PATH.length) || '/';
      result = apiAnswer(fake.api, { method, route, query, headers: req.headers, raw });
    } else {
      result = errorAnswer(404, 'Not Found');
    }
  }
  fake.requests.push({
    kind,
    method,
    path: url.pathname,
    query,
    headers: req.headers,
    body,
    at: fake.now(),
    status: result.status,
  });
  fake.signal.notify();
  if (result.status === 204) {
    res.writeHead(204, result.headers).end();
  } else if (typeof result.body === 'string') {
    sendText(res, result.status, result.body, { 'content-type': 'text/html; charset=utf-8', ...result.headers });
  } else {
    sendJson(res, result.status, result.body, result.headers);
  }
}

/** The answer of the first injected failure that matches the request, counted as one of its uses. */
function injectedFailure(
  failures: InjectedFailure[],
  kind: 'api' | 'token',
  method: string,
  path: string,
): ServiceAnswer | undefined {
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

/** Form fields or JSON when the body is one of those, otherwise its text (undefined when empty). */
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

/** What a test holds: the recorded requests and composes, and the levers on the service's behaviour. */
function imageBuilderFacade(
  fake: FakeImageBuilderServer,
  server: { origin: string; credentials: FakeImageBuilder['credentials']; close: () => Promise<void> },
): FakeImageBuilder {
  const { requests, composes } = fake;
  const facade: FakeImageBuilder = {
    baseUrl: `${server.origin}${API_PATH}`,
    tokenUrl: `${server.origin}${TOKEN_PATH}`,
    credentials: server.credentials,
    requests,
    apiRequests: () => requests.filter((r) => r.kind === 'api'),
    composeRequests: () =>
      requests
        .filter((r) => r.kind === 'api' && r.method === 'POST' && r.path.endsWith('/compose'))
        .map((r) => r.body as Record<string, unknown>),
    tokenRequests: () => requests.filter((r) => r.kind === 'token'),
    composes: composes.all,
    script: (target, steps) => composes.setScript(target, steps),
    setFinal(id, final) {
      facade.script(id, [final]);
    },
    fail(count, status, body = serviceErrors(status, STATUS_CODES[status] ?? 'Error'), match = {}) {
      fake.failures.push({ remaining: count, status, body, match });
    },
    addCompose: (init) => composes.create(init).id,
    ...blueprintLevers(fake),
    revokeTokens: () => fake.tokens.revokeAll(),
    setResponseDelay(ms) {
      fake.responseDelayMs = ms;
    },
    waitFor(check, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      return waitUntil(() => check(facade), {
        ...waitOptions,
        subscribe: fake.signal.subscribe,
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
    close: server.close,
  };
  return facade;
}

/** The test's levers on the organisation's blueprints. */
function blueprintLevers(
  fake: FakeImageBuilderServer,
): Pick<
  FakeImageBuilder,
  | 'blueprints'
  | 'addBlueprint'
  | 'saveBlueprintVersion'
  | 'deleteBlueprint'
  | 'setBlueprintLint'
  | 'blueprintComposeRequests'
> {
  const { blueprints } = fake;
  const known = (id: string): FakeBlueprint => {
    const found = blueprints.find(id);
    if (found instanceof ServiceAnswer)
      throw new Error(`No blueprint ${id}; known: ${[...blueprints.all.keys()].join(', ') || 'none'}`);
    return found;
  };
  return {
    blueprints: blueprints.all,
    addBlueprint: (seed) => blueprints.add(seed).id,
    saveBlueprintVersion(id, changes = {}) {
      const blueprint = known(id);
      const saved = blueprints.save(blueprint, { ...latestOf(blueprint).body, ...changes });
      if (saved instanceof ServiceAnswer)
        throw new Error(`The service would not save it: ${JSON.stringify(saved.body)}`);
      fake.signal.notify();
      return saved.version;
    },
    deleteBlueprint(id) {
      blueprints.all.delete(known(id).id);
    },
    setBlueprintLint(id, lint) {
      latestOf(known(id)).lint = { errors: lint.errors ?? [], warnings: lint.warnings ?? [] };
    },
    blueprintComposeRequests: (id) =>
      fake.requests.filter((r) => {
        const named = /\/blueprints\/([^/]+)\/compose$/.exec(r.path)?.[1];
        return (
          r.method === 'POST' && named !== undefined && (id === undefined || named.toLowerCase() === id.toLowerCase())
        );
      }),
  };
}
