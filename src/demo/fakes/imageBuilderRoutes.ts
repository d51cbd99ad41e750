import type { IncomingHttpHeaders } from 'node:http';
import { composeRequestSchema, type ComposeRequest } from '../../imageBuilder/requestSchema';
import type { JsonObject } from './blockKit';
import { answer, errorAnswer, type ServiceAnswer } from './imageBuilderAnswers';
import type { Catalog } from './imageBuilderCatalog';
import type { Composes } from './imageBuilderComposes';

/*
 * The fake Image Builder's API routes under /api/image-builder/v1, answered as the service answers them: every
 * route but /openapi.json wants credentials; POST /compose wants exactly application/json and a body the strict
 * request schema accepts, and refuses an exhausted quota, a distribution the account may not build, or an
 * architecture or image type it does not offer; GET /composes lists the last 14 days, newest first.
 */

const LIST_WINDOW_MS = 14 * 24 * 3600_000;
const IMAGE_TYPE_ALIASES: Record<string, string> = { ami: 'aws', vhd: 'azure' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the routes answer from. */
export interface ImageBuilderApi {
  composes: Composes;
  catalog: Catalog;
  authorizes: (authorization: string | undefined) => boolean;
  now: () => Date;
  /** 403 once this many composes were created in the last `days` days (failed ones count). */
  quota?: { builds: number; days: number } | undefined;
  createdAtFormat?: 'rfc3339' | 'go' | undefined;
}

export interface ApiRequest {
  method: string;
  /** The path below the API's base path, `/` at least. */
  route: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The body as received. */
  raw: string;
}

export function apiAnswer(api: ImageBuilderApi, { method, route, query, headers, raw }: ApiRequest): ServiceAnswer {
  if (method === 'GET' && route === '/openapi.json') {
    return answer(200, { openapi: '3.0.1', info: { version: '1.0', title: 'Image-builder service' }, paths: {} });
  }
  if (!api.authorizes(headers.authorization)) return errorAnswer(401, 'Unauthorized');
  if (method === 'POST' && route === '/compose') return postCompose(api, headers['content-type'], raw);
  if (method !== 'GET') return errorAnswer(405, 'Method Not Allowed');
  if (route === '/ready') return answer(200, { readiness: 'ready' });
  if (route === '/version')
    return answer(200, { version: '1.0', build_commit: 'fake', build_time: '2026-11-01T00:00:00Z' });
  if (route === '/distributions') return answer(200, api.catalog.distributions);
  if (route === '/composes') return listComposes(api, query);
  const architectures = /^\/architectures\/([^/]+)$/.exec(route)?.[1];
  if (architectures !== undefined) return architecturesOf(api, decodeURIComponent(architectures));
  const composeId = /^\/composes\/([^/]+)$/.exec(route)?.[1];
  if (composeId !== undefined) return composeStatus(api, composeId);
  return errorAnswer(404, 'Not Found');
}

function architecturesOf(api: ImageBuilderApi, distribution: string): ServiceAnswer {
  if (!api.catalog.allows(distribution)) return errorAnswer(403, `distribution ${distribution} not allowed`);
  return answer(200, api.catalog.architecturesOf(distribution));
}

function composeStatus(api: ImageBuilderApi, composeId: string): ServiceAnswer {
  if (!UUID.test(composeId)) {
    return errorAnswer(
      400,
      `Invalid format for parameter composeId: error unmarshaling '${composeId}' text as *uuid.UUID`,
    );
  }
  const compose = api.composes.all.get(composeId.toLowerCase());
  if (!compose) return errorAnswer(404, `Compose entry ${composeId} not found compose entry not found`);
  return answer(200, { image_status: api.composes.poll(compose), request: compose.request });
}

function postCompose(api: ImageBuilderApi, contentType: string | undefined, raw: string): ServiceAnswer {
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
  const refusal = quotaRefusal(api) ?? buildRefusal(api, parsed.data);
  if (refusal) return refusal;
  const compose = api.composes.create({ request: body as JsonObject });
  return answer(201, { id: compose.id });
}

function quotaRefusal(api: ImageBuilderApi): ServiceAnswer | undefined {
  const { quota } = api;
  if (!quota) return undefined;
  const since = api.now().getTime() - quota.days * 24 * 3600_000;
  const recent = [...api.composes.all.values()].filter((c) => c.createdAt.getTime() > since).length;
  if (recent < quota.builds) return undefined;
  return errorAnswer(403, `Quota of ${quota.builds} builds per ${quota.days} days exceeded`);
}

/** Why the account cannot build what the request asks for: its distribution, architecture or image type. */
function buildRefusal(api: ImageBuilderApi, request: ComposeRequest): ServiceAnswer | undefined {
  if (!api.catalog.allows(request.distribution))
    return errorAnswer(403, `distribution ${request.distribution} not allowed`);
  const [imageRequest] = request.image_requests;
  const arch = api.catalog.architecturesOf(request.distribution).find((a) => a.arch === imageRequest.architecture);
  if (!arch)
    return errorAnswer(400, `Architecture ${imageRequest.architecture} is not supported for ${request.distribution}`);
  const imageType = IMAGE_TYPE_ALIASES[imageRequest.image_type] ?? imageRequest.image_type;
  if (!(arch.image_types ?? []).includes(imageType)) {
    return errorAnswer(
      400,
      `Image type ${imageRequest.image_type} is not supported for ${request.distribution} on ${arch.arch}`,
    );
  }
  return undefined;
}

function listComposes(api: ImageBuilderApi, query: Record<string, string>): ServiceAnswer {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return errorAnswer(400, 'parameter "limit" in query has an error: number must be between 1 and 100');
  }
  if (!Number.isInteger(offset) || offset < 0)
    return errorAnswer(400, 'parameter "offset" in query has an error: number must be at least 0');
  const since = api.now().getTime() - LIST_WINDOW_MS;
  const recent = [...api.composes.all.values()]
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
      created_at: formatCreatedAt(c.createdAt, api.createdAtFormat),
      ...(typeof c.request.image_name === 'string' ? { image_name: c.request.image_name } : {}),
      client_id: typeof c.request.client_id === 'string' ? c.request.client_id : 'api',
    })),
  });
}

/** `rfc3339` (the current handler's `2026-11-26T10:00:00Z`) or `go` (Go's `2026-11-26 10:00:00.123 +0000 UTC`). */
function formatCreatedAt(date: Date, format: 'rfc3339' | 'go' = 'rfc3339'): string {
  const iso = date.toISOString();
  if (format === 'go') {
    const ms = date.getUTCMilliseconds();
    const fraction = ms === 0 ? '' : `.${String(ms).padStart(3, '0').replace(/0+$/, '')}`;
    return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} +0000 UTC`;
  }
  return `${iso.slice(0, 19)}Z`;
}
