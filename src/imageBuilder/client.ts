import type { Dispatcher } from 'undici';
import type * as z from 'zod';
import { createAuthenticator, type ImageBuilderAuth } from './auth';
import { createRequestBudget, type RequestBudget } from './budget';
import {
  errorFromStatus,
  ImageBuilderError,
  invalidRequest,
  invalidResponse,
  type ImageBuilderErrorKind,
} from './errors';
import {
  createHttpClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY,
  type HttpAnswer,
  type ImageBuilderLogger,
  type RetryOptions,
  type RetryPolicy,
} from './http';
import {
  BLUEPRINT_ID,
  blueprintComposeRequestSchema,
  blueprintComposesCreatedSchema,
  blueprintResponseSchema,
  blueprintsResponseSchema,
  type BlueprintDetail,
  type BlueprintItem,
} from './blueprintSchemas';
import { composeRequestSchema } from './requestSchema';
import {
  architecturesResponseSchema,
  composeCreatedSchema,
  composesResponseSchema,
  composeStatusSchema,
  distributionsResponseSchema,
  packagesResponseSchema,
  readinessSchema,
  type PackagesResponse,
  type ArchitectureItem,
  type ComposesItem,
  type ComposesResponse,
  type ComposeStatus,
  type Distribution,
} from './responseSchemas';

/*
 * The Image Builder v1 API as the bot uses it. Every request body is checked by our own strict schema before it
 * leaves (the service would answer 400, and a rejected compose may still count against the quota), every answer
 * is parsed by a lenient schema, and every failure is an ImageBuilderError with a kind.
 */

export interface ImageBuilderClientOptions {
  /** e.g. https://console.redhat.com/api/image-builder/v1 */
  baseUrl: string;
  /** Red Hat SSO's OpenID Connect token endpoint; unused with Basic credentials. */
  tokenUrl: string;
  auth: ImageBuilderAuth;
  /** Used for every request, the token endpoint included: a proxy agent, or a MockAgent in tests. */
  dispatcher?: Dispatcher;
  logger: ImageBuilderLogger;
  timeouts?: { requestMs?: number };
  retry?: Partial<RetryOptions>;
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for backoff jitter. */
  random?: () => number;
  /** Milliseconds since the epoch, for token expiry and Retry-After dates. */
  now?: () => number;
  /** A global budget of requests per second (every attempt counts); none when absent. */
  maxRequestsPerSecond?: number;
  /** The budget itself, when the caller changes its rate at run time (a replica's share); wins over maxRequestsPerSecond. */
  budget?: RequestBudget;
  /** Told of every call's outcome and duration (metrics). */
  onCall?: (call: { operation: string; outcome: 'success' | ImageBuilderErrorKind; durationMs: number }) => void;
}

/**
 * What the last authenticated call said about our credentials, for readiness: a cached fact, so a health probe
 * never costs a call to Red Hat.
 */
export interface PackageSearch {
  distribution: string;
  architecture: 'x86_64' | 'aarch64';
  search: string;
  /** 1 to 100; the service's default is 100. */
  limit?: number;
}

export interface CredentialsHealth {
  state: 'unknown' | 'working' | 'refused';
  /** When the state was last confirmed. */
  at?: Date;
  /** Why they were refused (the error kind and the service's words, never a secret). */
  detail?: string;
}

export interface ComposesPage {
  /** 1 to 100; the service's default is 100. */
  limit?: number;
  offset?: number;
}

export interface Readiness {
  ready: boolean;
  /** The service's own word, `ready` when all is well. */
  readiness: string;
}

export interface ImageBuilderClient {
  /**
   * Submits one compose; never resent after it may have reached the service (see
   * ImageBuilderError.mayHaveBeenSubmitted). The body is checked against our strict request schema before anything
   * is sent, so it is typed loosely here: callers build it from plain data (the providers) or read it from the store.
   */
  createCompose(request: object): Promise<{ id: string }>;
  getCompose(id: string): Promise<ComposeStatus>;
  /** One page of the composes of the last 14 days, newest first. */
  listComposes(page?: ComposesPage): Promise<ComposesResponse>;
  /** Every compose of the last 14 days, newest first, fetched page by page as the caller iterates. */
  listAllComposes(options?: { pageSize?: number }): AsyncIterable<ComposesItem>;
  /** The classic distributions this account may build. */
  getDistributions(): Promise<Distribution[]>;
  getArchitectures(distribution: string): Promise<ArchitectureItem[]>;
  /**
   * One page (up to 100) of the packages of a distribution and architecture whose name contains `search`, and how
   * many there are in all (meta.count). A distribution without a package list answers none for any search.
   */
  searchPackages(query: PackageSearch): Promise<PackagesResponse>;
  /**
   * The organisation's blueprints, the latest version of each, every page. `name` keeps only the blueprint of
   * exactly that name (the service compares case-sensitively).
   */
  listBlueprints(filter?: { name?: string }): Promise<BlueprintItem[]>;
  /**
   * One blueprint with its lint, the latest version or `version`. The answer carries no version number: ask for the
   * version GET /blueprints listed to know which one was read. A 404 (deleted, or no such version) names the
   * blueprint.
   */
  getBlueprint(id: string, version?: number): Promise<BlueprintDetail>;
  /**
   * Builds the blueprint's latest version: one compose per saved image request whose image type is among
   * `imageTypes` (compared verbatim: `ami` does not match a saved `aws`), with the share targets saved in it. An
   * empty answer means nothing matched and nothing was built. Never resent after it may have reached the service;
   * the service submits the composes one by one, so a refusal after the first (a quota 403 on the second) leaves
   * the earlier ones built: such errors carry `mayHaveBeenSubmitted`, and listBlueprintComposes tells what exists.
   */
  composeBlueprint(id: string, imageTypes: readonly string[]): Promise<{ id: string }[]>;
  /** The blueprint's composes of the last 14 days, newest first, every page; of one version when given. */
  listBlueprintComposes(id: string, version?: number): Promise<ComposesItem[]>;
  ready(): Promise<Readiness>;
  credentialsHealth(): CredentialsHealth;
}

const MAX_PAGE_SIZE = 100;
const ANSWERS_AFTER_AUTHENTICATION: ReadonlySet<ImageBuilderErrorKind> = new Set([
  'validation',
  'forbidden',
  'not-found',
]);

interface Call<T> {
  operation: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  retry: RetryPolicy;
  schema: z.ZodType<T>;
  logFields?: Record<string, unknown>;
  /** What the path names, for a 404's message ("blueprint 3f…"). */
  subject?: string;
  /** Which refusals may come after the service acted; by default a 5xx to a call that is not idempotent. */
  mayHaveSubmitted?: (status: number) => boolean;
}

/**
 * One call to the service, authenticated (a refused token is replaced once) and parsed against its schema; each
 * answer tells what it proves about the credentials, for /readyz, and goes to `onCall`, for /metrics.
 */
function createCaller(options: ImageBuilderClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  // Named with its host, so "could not reach" says where: a proxy, a firewall or a typo in IMAGE_BUILDER_URL.
  const target = `Image Builder (${new URL(baseUrl).host})`;
  const now = options.now ?? Date.now;
  const { logger } = options;
  const http = createHttpClient({
    dispatcher: options.dispatcher,
    requestTimeoutMs: options.timeouts?.requestMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    logger,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
    now,
    ...(options.budget
      ? { budget: options.budget }
      : options.maxRequestsPerSecond
        ? {
            budget: createRequestBudget({
              perSecond: options.maxRequestsPerSecond,
              now,
              ...(options.sleep ? { sleep: options.sleep } : {}),
            }),
          }
        : {}),
  });
  const authenticator = createAuthenticator({ auth: options.auth, tokenUrl: options.tokenUrl, http, now, logger });

  let credentials: CredentialsHealth = { state: 'unknown' };

  async function call<T>(spec: Call<T>): Promise<T> {
    const started = now();
    try {
      const result = await authenticatedCall(spec);
      credentials = { state: 'working', at: new Date(now()) };
      options.onCall?.({ operation: spec.operation, outcome: 'success', durationMs: now() - started });
      return result;
    } catch (error) {
      const kind = error instanceof ImageBuilderError ? error.kind : 'unavailable';
      if (kind === 'unauthorized' || kind === 'proxy-auth-required') {
        credentials = { state: 'refused', at: new Date(now()), detail: (error as ImageBuilderError).message };
      } else if (ANSWERS_AFTER_AUTHENTICATION.has(kind)) {
        // The service looked at the request itself, so it accepted who we are.
        credentials = { state: 'working', at: new Date(now()) };
      }
      options.onCall?.({ operation: spec.operation, outcome: kind, durationMs: now() - started });
      throw error;
    }
  }

  async function authenticatedCall<T>(spec: Call<T>): Promise<T> {
    const send = (authorization: string) =>
      http.send({
        operation: spec.operation,
        target,
        method: spec.method,
        url: `${baseUrl}${spec.path}`,
        headers: {
          accept: 'application/json',
          authorization,
          // Exactly this: the service answers 415 to anything else, a charset parameter included.
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: spec.body,
        retry: spec.retry,
        logFields: spec.logFields,
      });

    let authorization = await authenticator.authorization();
    let answer = await send(authorization);
    // A 401 means the request was refused at the door, so even a compose is safe to send again with a new token.
    if (answer.status === 401 && authenticator.rejected(authorization)) {
      logger.info(
        { ...spec.logFields, operation: spec.operation },
        'Image Builder refused the access token; fetching a new one',
      );
      authorization = await authenticator.authorization();
      answer = await send(authorization);
    }
    return parseAnswer(spec, answer);
  }

  return { call, credentialsHealth: () => credentials };
}

/** The query string of one page of a list; a page the service would refuse is refused here. */
function pageSearch(operation: string, { limit, offset }: ComposesPage, filters: Record<string, string> = {}): string {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw invalidRequest(operation, `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  if (offset !== undefined && !(Number.isInteger(offset) && offset >= 0)) {
    throw invalidRequest(operation, 'offset must be a whole number, 0 or more');
  }
  const query = new URLSearchParams(filters);
  if (limit !== undefined) query.set('limit', String(limit));
  if (offset !== undefined) query.set('offset', String(offset));
  return query.size > 0 ? `?${query.toString()}` : '';
}

/**
 * Every item of a limit/offset list, page by page as the caller iterates. Items shift while we page (a new compose
 * or a saved blueprint moves to the front), so one may show up twice: it is reported once.
 */
async function* everyItem<T extends { id: string }>(
  fetchPage: (page: ComposesPage) => Promise<{ meta: { count: number }; data: T[] }>,
  pageSize: number,
): AsyncGenerator<T> {
  const seen = new Set<string>();
  let offset = 0;
  for (;;) {
    const page = await fetchPage({ limit: pageSize, offset });
    for (const item of page.data) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      yield item;
    }
    offset += page.data.length;
    if (page.data.length === 0 || offset >= page.meta.count) return;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The blueprint a path names, checked as the service's request validation would (a UUID), so a typo is ours to say. */
function blueprintPath(operation: string, id: string, version?: number): { path: string; subject: string } {
  if (!BLUEPRINT_ID.test(id)) throw invalidRequest(operation, 'a blueprint id is a UUID');
  // The service answers 400 to 0 and to negative numbers but -1, which means the latest: leave it out for that.
  if (version !== undefined && !(Number.isInteger(version) && version >= 1)) {
    throw invalidRequest(operation, 'a blueprint version is a whole number, 1 or more');
  }
  return {
    path: `/blueprints/${encodeURIComponent(id)}`,
    subject: `blueprint ${id}${version === undefined ? '' : ` version ${version}`}`,
  };
}

/*
 * POST /blueprints/{id}/compose submits its composes one by one and stops at the first refusal, so a 400, 403 or
 * 422 may follow composes already accepted, as may a 5xx. A 401, 404, 407, 415 or 429 comes before any of them.
 */
const BLUEPRINT_REFUSALS_AFTER_SUBMITTING: ReadonlySet<number> = new Set([400, 403, 422]);
const blueprintMayHaveSubmitted = (status: number) => status >= 500 || BLUEPRINT_REFUSALS_AFTER_SUBMITTING.has(status);

export function createImageBuilderClient(options: ImageBuilderClientOptions): ImageBuilderClient {
  const { logger } = options;
  const { call, credentialsHealth } = createCaller(options);

  async function listComposes(page: ComposesPage = {}): Promise<ComposesResponse> {
    const search = pageSearch('GET /composes', page);
    return call({
      operation: 'GET /composes',
      method: 'GET',
      path: `/composes${search}`,
      retry: 'idempotent',
      schema: composesResponseSchema,
    });
  }

  return {
    async createCompose(request) {
      const parsed = composeRequestSchema.safeParse(request);
      if (!parsed.success) throw invalidRequest('POST /compose', describeIssues(parsed.error));
      const created = await call({
        operation: 'POST /compose',
        method: 'POST',
        path: '/compose',
        body: JSON.stringify(parsed.data),
        retry: 'unsent-only',
        schema: composeCreatedSchema,
      });
      logger.info(
        { composeId: created.id, distribution: parsed.data.distribution },
        'Submitted a compose to Image Builder',
      );
      return { id: created.id };
    },

    getCompose(id) {
      return call({
        operation: 'GET /composes/{id}',
        method: 'GET',
        path: `/composes/${encodeURIComponent(id)}`,
        retry: 'idempotent',
        schema: composeStatusSchema,
        logFields: { composeId: id },
      });
    },

    listComposes,

    listAllComposes: ({ pageSize = MAX_PAGE_SIZE } = {}) => everyItem(listComposes, pageSize),

    getDistributions() {
      return call({
        operation: 'GET /distributions',
        method: 'GET',
        path: '/distributions',
        retry: 'idempotent',
        schema: distributionsResponseSchema,
      });
    },

    getArchitectures(distribution) {
      return call({
        operation: 'GET /architectures/{distribution}',
        method: 'GET',
        path: `/architectures/${encodeURIComponent(distribution)}`,
        retry: 'idempotent',
        schema: architecturesResponseSchema,
        logFields: { distribution },
      });
    },

    searchPackages({ distribution, architecture, search, limit }) {
      const operation = 'GET /packages';
      if (search.trim() === '') throw invalidRequest(operation, 'a package search is not blank');
      return call({
        operation,
        method: 'GET',
        path: `/packages${pageSearch(operation, { limit }, { distribution, architecture, search })}`,
        retry: 'idempotent',
        schema: packagesResponseSchema,
        logFields: { distribution, architecture },
      });
    },

    ...createBlueprintMethods(call, logger),

    async ready() {
      const { readiness } = await call({
        operation: 'GET /ready',
        method: 'GET',
        path: '/ready',
        retry: 'idempotent',
        schema: readinessSchema,
      });
      return { ready: readiness === 'ready', readiness };
    },
    credentialsHealth,
  };
}

type Caller = ReturnType<typeof createCaller>['call'];

function createBlueprintMethods(
  call: Caller,
  logger: ImageBuilderLogger,
): Pick<ImageBuilderClient, 'listBlueprints' | 'getBlueprint' | 'composeBlueprint' | 'listBlueprintComposes'> {
  return {
    async listBlueprints({ name } = {}) {
      const operation = 'GET /blueprints';
      // The service ignores an empty name and lists everything, which is not what a filter means.
      if (name !== undefined && name.trim() === '') throw invalidRequest(operation, 'a blueprint name is not blank');
      const filters: Record<string, string> = name === undefined ? {} : { name };
      const fetchPage = (page: ComposesPage) =>
        call({
          operation,
          method: 'GET',
          path: `/blueprints${pageSearch(operation, page, filters)}`,
          retry: 'idempotent',
          schema: blueprintsResponseSchema,
        });
      return collect(everyItem(fetchPage, MAX_PAGE_SIZE));
    },

    async getBlueprint(id, version) {
      const operation = 'GET /blueprints/{id}';
      const { path, subject } = blueprintPath(operation, id, version);
      return call({
        operation,
        method: 'GET',
        path: version === undefined ? path : `${path}?version=${version}`,
        retry: 'idempotent',
        schema: blueprintResponseSchema,
        subject,
        logFields: { blueprintId: id, blueprintVersion: version },
      });
    },

    async composeBlueprint(id, imageTypes) {
      const operation = 'POST /blueprints/{id}/compose';
      const { path, subject } = blueprintPath(operation, id);
      const parsed = blueprintComposeRequestSchema.safeParse({ image_types: imageTypes });
      if (!parsed.success) throw invalidRequest(operation, describeIssues(parsed.error));
      const created = await call({
        operation,
        method: 'POST',
        path: `${path}/compose`,
        body: JSON.stringify(parsed.data),
        retry: 'unsent-only',
        schema: blueprintComposesCreatedSchema,
        subject,
        mayHaveSubmitted: blueprintMayHaveSubmitted,
        logFields: { blueprintId: id },
      });
      const composeIds = created.map((compose) => compose.id);
      logger.info(
        { blueprintId: id, imageTypes: parsed.data.image_types, composeIds },
        composeIds.length > 0
          ? 'Submitted the composes of a blueprint to Image Builder'
          : 'Image Builder built nothing of the blueprint: none of its image requests is of these image types',
      );
      return composeIds.map((composeId) => ({ id: composeId }));
    },

    async listBlueprintComposes(id, version) {
      const operation = 'GET /blueprints/{id}/composes';
      const { path, subject } = blueprintPath(operation, id, version);
      const filters: Record<string, string> = version === undefined ? {} : { blueprint_version: String(version) };
      const fetchPage = (page: ComposesPage) =>
        call({
          operation,
          method: 'GET',
          path: `${path}/composes${pageSearch(operation, page, filters)}`,
          retry: 'idempotent',
          schema: composesResponseSchema,
          subject,
          logFields: { blueprintId: id, blueprintVersion: version },
        });
      return collect(everyItem(fetchPage, MAX_PAGE_SIZE));
    },
  };
}

function parseAnswer<T>(spec: Call<T>, answer: HttpAnswer): T {
  if (answer.status < 200 || answer.status >= 300) {
    // A 5xx to a compose may come from a gateway that timed out while the service went on to accept it.
    const mayHaveSubmitted = spec.mayHaveSubmitted ?? ((status) => spec.retry === 'unsent-only' && status >= 500);
    throw errorFromStatus(spec.operation, answer.status, answer.json, {
      retryAfterMs: answer.retryAfterMs,
      mayHaveBeenSubmitted: mayHaveSubmitted(answer.status) ? true : undefined,
      subject: spec.subject,
    });
  }
  if (answer.json === undefined) {
    const type = answer.headers['content-type'];
    throw invalidResponse(spec.operation, answer.status, `the body is not JSON${type ? ` (${String(type)})` : ''}`);
  }
  const parsed = spec.schema.safeParse(answer.json);
  if (!parsed.success) throw invalidResponse(spec.operation, answer.status, describeIssues(parsed.error));
  return parsed.data;
}

/** Zod issues as "path: message", a few at most. Zod's messages name what was expected, never the value sent. */
function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = error.issues.length > shown.length ? ` (and ${error.issues.length - shown.length} more)` : '';
  return `${shown.join('; ')}${more}`;
}
