import type { IncomingHttpHeaders } from 'node:http';
import * as z from 'zod';
import { IMAGE_TYPES } from '../../imageBuilder/blueprintSchemas';
import { composeRequestSchema, type ComposeRequest } from '../../imageBuilder/requestSchema';
import type { JsonObject } from './blockKit';
import { answer, errorAnswer, listLinks, pageOf, ServiceAnswer } from './imageBuilderAnswers';
import {
  deleteBlueprint,
  getBlueprint,
  latestOf,
  listBlueprints,
  redactedCustomizations,
  saveBlueprint,
  type Blueprints,
} from './imageBuilderBlueprints';
import type { Catalog } from './imageBuilderCatalog';
import { searchPackages } from './imageBuilderPackages';
import type { Composes, FakeCompose } from './imageBuilderComposes';

/*
 * The fake Image Builder's API routes under /api/image-builder/v1, answered as the service answers them: every
 * route but /openapi.json wants credentials; POST /compose wants exactly application/json and a body the strict
 * request schema accepts, and refuses an exhausted quota, a distribution the account may not build, or an
 * architecture or image type it does not offer; GET /composes lists the last 14 days, newest first. The blueprint
 * routes (listed in imageBuilderService.ts) answer from imageBuilderBlueprints.ts; building a blueprint and listing
 * its composes are here, beside the compose rules they share.
 */

const LIST_WINDOW_MS = 14 * 24 * 3600_000;
const IMAGE_TYPE_ALIASES: Record<string, string> = { ami: 'aws', vhd: 'azure' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the routes answer from. */
export interface ImageBuilderApi {
  composes: Composes;
  blueprints: Blueprints;
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
  if (route === '/blueprints' || route.startsWith('/blueprints/')) {
    return blueprintAnswer(api, { method, route, query, headers, raw });
  }
  if (method !== 'GET') return errorAnswer(405, 'Method Not Allowed');
  if (route === '/ready') return answer(200, { readiness: 'ready' });
  if (route === '/version')
    return answer(200, { version: '1.0', build_commit: 'fake', build_time: '2026-11-01T00:00:00Z' });
  if (route === '/distributions') return answer(200, api.catalog.distributions);
  if (route === '/composes') return listComposes(api, query);
  if (route === '/packages') return searchPackages(api.catalog, query);
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
  const body = jsonBody(contentType, raw);
  if (body instanceof ServiceAnswer) return body;
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

/** A JSON body, or the service's 415 (it reads bodies only as exactly application/json) or 400. */
function jsonBody(contentType: string | undefined, raw: string): unknown {
  if ((contentType ?? '').trim().toLowerCase() !== 'application/json')
    return errorAnswer(415, 'Unsupported Media Type');
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    return errorAnswer(400, `request body has an error: failed to decode request body: ${(error as Error).message}`);
  }
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
function buildRefusal(
  api: ImageBuilderApi,
  request: Pick<ComposeRequest, 'distribution' | 'image_requests'>,
): ServiceAnswer | undefined {
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
  const page = pageOf(query);
  if (page instanceof ServiceAnswer) return page;
  const recent = recentComposes(api);
  const count = recent.length;
  const { limit, offset } = page;
  return answer(200, {
    meta: { count },
    links: {
      first: `/api/image-builder/v1.0/composes?offset=0&limit=${limit}`,
      last: `/api/image-builder/v1.0/composes?offset=${Math.max(count - 1, 0)}&limit=${limit}`,
    },
    data: recent.slice(offset, offset + limit).map((c) => composeItem(c, api.createdAtFormat)),
  });
}

/** The composes of the last 14 days, newest first, as GET /composes lists them. */
function recentComposes(api: ImageBuilderApi): FakeCompose[] {
  const since = api.now().getTime() - LIST_WINDOW_MS;
  return [...api.composes.all.values()]
    .filter((c) => c.createdAt.getTime() >= since)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/** One ComposesResponseItem; a compose built from a blueprint names it and its version. */
function composeItem(c: FakeCompose, createdAtFormat: ImageBuilderApi['createdAtFormat']): JsonObject {
  return {
    id: c.id,
    request: c.request,
    created_at: formatCreatedAt(c.createdAt, createdAtFormat),
    ...(typeof c.request.image_name === 'string' ? { image_name: c.request.image_name } : {}),
    client_id: typeof c.request.client_id === 'string' ? c.request.client_id : 'api',
    ...(c.blueprint ? { blueprint_id: c.blueprint.id, blueprint_version: c.blueprint.version } : {}),
  };
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

// ---------------------------------------------------------------------------------------------------------------
// Blueprints (the blueprints themselves are imageBuilderBlueprints.ts; building them and their composes are here)

const BLUEPRINT_ROUTE = /^\/blueprints\/([^/]+)(\/compose|\/composes)?$/;

function blueprintAnswer(api: ImageBuilderApi, { method, route, query, headers, raw }: ApiRequest): ServiceAnswer {
  if (route === '/blueprints') {
    if (method === 'GET') return listBlueprints(api.blueprints, query);
    if (method !== 'POST') return errorAnswer(405, 'Method Not Allowed');
    const body = jsonBody(headers['content-type'], raw);
    return body instanceof ServiceAnswer ? body : saveBlueprint(api.blueprints, undefined, body);
  }
  const [, rawId, below] = BLUEPRINT_ROUTE.exec(route) ?? [];
  if (rawId === undefined) return errorAnswer(404, 'Not Found');
  const id = decodeURIComponent(rawId);
  const call = `${method} ${below ?? ''}`;
  if (call === 'GET ') return getBlueprint(api.blueprints, id, query);
  if (call === 'DELETE ') return deleteBlueprint(api.blueprints, id);
  if (call === 'PUT ') {
    const body = jsonBody(headers['content-type'], raw);
    return body instanceof ServiceAnswer ? body : saveBlueprint(api.blueprints, id, body);
  }
  if (call === 'POST /compose') return composeBlueprint(api, id, headers, raw);
  if (call === 'GET /composes') return blueprintComposes(api, id, query);
  return errorAnswer(405, 'Method Not Allowed');
}

const blueprintComposeBodySchema = z.looseObject({ image_types: z.array(z.enum(IMAGE_TYPES)).optional() });

/** The image types a POST /blueprints/{id}/compose asks for; undefined (every one) when the body is absent. */
function requestedImageTypes(headers: IncomingHttpHeaders, raw: string): string[] | undefined | ServiceAnswer {
  if (raw.trim() === '') return undefined;
  const body = jsonBody(headers['content-type'], raw);
  if (body instanceof ServiceAnswer) return body;
  const parsed = blueprintComposeBodySchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return errorAnswer(400, `request body has an error: ${issues}`);
  }
  return parsed.data.image_types;
}

/**
 * POST /blueprints/{id}/compose: one compose of the latest version per saved image request whose image type is
 * among `image_types` verbatim (an alias does not match), in the blueprint's order. Each goes through POST
 * /compose's quota and catalog rules, and the first refusal ends the call with the earlier composes built, as the
 * handler submits them one by one. The handler does not look at lint: a blueprint with lint errors builds (the
 * console and the bot are the ones to refuse it).
 */
function composeBlueprint(api: ImageBuilderApi, id: string, headers: IncomingHttpHeaders, raw: string): ServiceAnswer {
  const blueprint = api.blueprints.find(id);
  if (blueprint instanceof ServiceAnswer) return blueprint;
  const imageTypes = requestedImageTypes(headers, raw);
  if (imageTypes instanceof ServiceAnswer) return imageTypes;
  const { version, body } = latestOf(blueprint);
  const created: { id: string }[] = [];
  for (const imageRequest of body.image_requests) {
    if (imageTypes && !imageTypes.includes(imageRequest.image_type)) continue;
    // The blueprint's customizations as GET /blueprints/{id} shows them: the fake hands out no password anywhere.
    const request: JsonObject = {
      distribution: body.distribution,
      image_name: body.name,
      image_description: body.description,
      client_id: clientIdOf(headers),
      image_requests: [imageRequest],
      customizations: redactedCustomizations(body.customizations),
    };
    const refusal =
      quotaRefusal(api) ?? buildRefusal(api, { distribution: body.distribution, image_requests: [imageRequest] });
    if (refusal) return refusal;
    created.push({ id: api.composes.create({ request, blueprint: { id: blueprint.id, version } }).id });
  }
  return answer(201, created);
}

/** Who the handler records as having asked: the console sends X-ImageBuilder-ui. */
function clientIdOf(headers: IncomingHttpHeaders): 'api' | 'ui' | 'mcp' {
  const ui = headers['x-imagebuilder-ui'];
  if (ui === 'mcp') return 'mcp';
  return ui ? 'ui' : 'api';
}

/** GET /blueprints/{id}/composes: that blueprint's composes of the last 14 days, newest first; of one version if asked. */
function blueprintComposes(api: ImageBuilderApi, id: string, query: Record<string, string>): ServiceAnswer {
  const blueprint = api.blueprints.find(id);
  if (blueprint instanceof ServiceAnswer) return blueprint;
  const page = pageOf(query);
  if (page instanceof ServiceAnswer) return page;
  const asked = query.blueprint_version === undefined ? undefined : Number(query.blueprint_version);
  if (asked !== undefined && !Number.isInteger(asked)) {
    return errorAnswer(
      400,
      `parameter "blueprint_version" in query has an error: value ${query.blueprint_version}: an invalid integer`,
    );
  }
  // Any negative number means the latest, as the handler reads it.
  const version = asked !== undefined && asked < 0 ? latestOf(blueprint).version : asked;
  const matching = recentComposes(api).filter(
    (c) => c.blueprint?.id === blueprint.id && (version === undefined || c.blueprint.version === version),
  );
  const params: Record<string, string> = {
    blueprint_id: blueprint.id,
    ...(version === undefined ? {} : { blueprint_version: String(version) }),
  };
  return answer(200, {
    meta: { count: matching.length },
    links: listLinks('composes', matching.length, page.limit, params),
    data: matching.slice(page.offset, page.offset + page.limit).map((c) => composeItem(c, api.createdAtFormat)),
  });
}
