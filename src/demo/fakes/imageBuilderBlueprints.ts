import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { BLUEPRINT_ID } from '../../imageBuilder/blueprintSchemas';
import { imageRequestSchema } from '../../imageBuilder/requestSchema';
import type { JsonObject } from './blockKit';
import { answer, errorAnswer, listLinks, pageOf, ServiceAnswer } from './imageBuilderAnswers';

/*
 * The fake Image Builder's blueprints: the organisation's, each with every version it was saved in (versions count
 * from 1, every save adds one), and what GET/POST /blueprints and GET/PUT/DELETE /blueprints/{id} answer, after the
 * service's handlers (image-builder-crc, internal/v1/handler_blueprints.go):
 *
 * - a saved body is checked as the request validation and the handler check it: the spec's CreateBlueprintRequest
 *   (no unknown keys, at least one image request, each as strict as POST /compose wants it) is a 400; a name
 *   without a non-space character, a user without a name, or a name another blueprint has is a 422;
 * - a user saved again without a password or ssh_key keeps the one of the version before, `""` removes it;
 * - passwords are never answered: a user says `hasPassword` instead;
 * - GET /blueprints lists the latest version of each, last saved first; GET /blueprints/{id} carries no version.
 *
 * Where the fake differs on purpose: empty lint lists are `[]` (the handler sends `null`, which the spec refuses);
 * `distribution` is required (the fake builds no image-mode blueprints); PUT answers 201 as the handler does (the
 * spec says 200).
 */

const NAME = /\S+/;

const userSchema = z.looseObject({
  name: z.string(),
  groups: z.array(z.string()).optional(),
  ssh_key: z.string().optional(),
  password: z.string().optional(),
});

/** The body of POST and PUT /blueprints, as the fake saves it. */
export const blueprintBodySchema = z.strictObject({
  name: z.string().max(100),
  description: z.string().max(250).default(''),
  distribution: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  image_requests: z.array(imageRequestSchema).min(1),
  customizations: z.looseObject({ users: z.array(userSchema).optional() }),
  metadata: z.looseObject({}).optional(),
});
export type FakeBlueprintBody = z.infer<typeof blueprintBodySchema>;
export type FakeBlueprintBodyInput = z.input<typeof blueprintBodySchema>;

export interface BlueprintLintItem {
  name: string;
  description: string;
}

export interface FakeBlueprintLint {
  errors: BlueprintLintItem[];
  warnings: BlueprintLintItem[];
}

export interface FakeBlueprintVersion {
  version: number;
  body: FakeBlueprintBody;
  savedAt: Date;
  /** What GET /blueprints/{id} reports for this version; a new version starts without any. */
  lint: FakeBlueprintLint;
}

export interface FakeBlueprint {
  id: string;
  /** Oldest first: versions[0] is version 1. */
  versions: FakeBlueprintVersion[];
}

/** A blueprint the organisation already has. */
export interface FakeBlueprintSeed extends FakeBlueprintBodyInput {
  id?: string;
  /** When the latest version was saved; the fake's clock by default. */
  savedAt?: Date;
  /** Versions saved before this one, oldest first, each an hour before the next. */
  earlierVersions?: FakeBlueprintBodyInput[];
  lint?: Partial<FakeBlueprintLint>;
}

export const latestOf = (blueprint: FakeBlueprint): FakeBlueprintVersion => blueprint.versions.at(-1)!;

export interface Blueprints {
  readonly all: Map<string, FakeBlueprint>;
  /** Adds a seed; throws when its body is one the service would not save. */
  add(seed: FakeBlueprintSeed): FakeBlueprint;
  /** The blueprint a path names, or the service's 400 (not a UUID) or 404. */
  find(id: string): FakeBlueprint | ServiceAnswer;
  /** Saves a new version of an existing blueprint, or answers why the service would not. */
  save(blueprint: FakeBlueprint, body: unknown): FakeBlueprintVersion | ServiceAnswer;
  /** Creates a blueprint at version 1, or answers why the service would not. */
  create(body: unknown): FakeBlueprint | ServiceAnswer;
}

export function createBlueprints(now: () => Date): Blueprints {
  const all = new Map<string, FakeBlueprint>();
  const refusal = (body: unknown, except?: FakeBlueprint) => checkedBody(all, body, except);
  return {
    all,
    add(seed) {
      const { id = randomUUID(), savedAt = now(), earlierVersions = [], lint, ...latest } = seed;
      const blueprint: FakeBlueprint = { id: id.toLowerCase(), versions: [] };
      const bodies = [...earlierVersions, latest];
      for (const [index, body] of bodies.entries()) {
        const checked = refusal(body, blueprint);
        if (checked instanceof ServiceAnswer)
          throw new Error(`Blueprint seed refused: ${JSON.stringify(checked.body)}`);
        const at = new Date(savedAt.getTime() - (bodies.length - 1 - index) * 3600_000);
        addVersion(blueprint, checked, at);
      }
      latestOf(blueprint).lint = { errors: lint?.errors ?? [], warnings: lint?.warnings ?? [] };
      all.set(blueprint.id, blueprint);
      return blueprint;
    },
    find(id) {
      if (!BLUEPRINT_ID.test(id)) {
        return errorAnswer(400, `Invalid format for parameter id: error unmarshaling '${id}' text as *uuid.UUID`);
      }
      return all.get(id.toLowerCase()) ?? errorAnswer(404, 'blueprint not found');
    },
    save(blueprint, body) {
      const checked = refusal(body, blueprint);
      if (checked instanceof ServiceAnswer) return checked;
      return addVersion(blueprint, checked, now());
    },
    create(body) {
      const checked = refusal(body);
      if (checked instanceof ServiceAnswer) return checked;
      const blueprint: FakeBlueprint = { id: randomUUID(), versions: [] };
      addVersion(blueprint, checked, now());
      all.set(blueprint.id, blueprint);
      return blueprint;
    },
  };
}

function addVersion(blueprint: FakeBlueprint, body: FakeBlueprintBody, savedAt: Date): FakeBlueprintVersion {
  const previous = blueprint.versions.at(-1);
  const saved: FakeBlueprintVersion = {
    version: (previous?.version ?? 0) + 1,
    body: previous ? withKeptCredentials(body, previous.body) : withKeptCredentials(body),
    savedAt,
    lint: { errors: [], warnings: [] },
  };
  blueprint.versions.push(saved);
  return saved;
}

/** The body as the service would save it, or its 400 or 422. `except` is the blueprint being saved again. */
function checkedBody(
  all: Map<string, FakeBlueprint>,
  body: unknown,
  except?: FakeBlueprint,
): FakeBlueprintBody | ServiceAnswer {
  const parsed = blueprintBodySchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return errorAnswer(
      400,
      `request body has an error: doesn't match schema #/components/schemas/CreateBlueprintRequest: ${issues}`,
    );
  }
  const { name, customizations } = parsed.data;
  if (!NAME.test(name)) {
    return unprocessable('Invalid blueprint name', 'The blueprint name must contain at least two characters.');
  }
  if ((customizations.users ?? []).some((user) => !NAME.test(user.name))) {
    return unprocessable('Invalid user', 'missing user name');
  }
  const taken = [...all.values()].some((other) => other !== except && latestOf(other).body.name === name);
  if (taken) return unprocessable('Name not unique', 'A blueprint with the same name already exists.');
  return parsed.data;
}

/** The handler's 422s carry their own title rather than the status. */
const unprocessable = (title: string, detail: string) => answer(422, { errors: [{ title, detail }] });

/** Users saved without a password or ssh_key keep the previous version's; `""` removes one. */
function withKeptCredentials(body: FakeBlueprintBody, previous?: FakeBlueprintBody): FakeBlueprintBody {
  const { users } = body.customizations;
  if (!users) return body;
  const before = previous?.customizations.users ?? [];
  const kept = users.map((user) => {
    const old = before.find((b) => b.name === user.name);
    const merged = { ...user, password: user.password ?? old?.password, ssh_key: user.ssh_key ?? old?.ssh_key };
    if (!merged.password) delete merged.password;
    if (!merged.ssh_key) delete merged.ssh_key;
    return merged;
  });
  return { ...body, customizations: { ...body.customizations, users: kept } };
}

/** Customizations as the service answers them: each user's password replaced by whether there is one. */
export function redactedCustomizations(customizations: FakeBlueprintBody['customizations']): JsonObject {
  if (!customizations.users) return customizations;
  const users = customizations.users.map(({ password, ...user }) => ({ ...user, hasPassword: password !== undefined }));
  return { ...customizations, users };
}

// ---------------------------------------------------------------------------------------------------------------
// What the routes answer

/** GET /blueprints: the latest version of each, last saved first; `name` exact, else `search` in name or description. */
export function listBlueprints(blueprints: Blueprints, query: Record<string, string>): ServiceAnswer {
  const page = pageOf(query);
  if (page instanceof ServiceAnswer) return page;
  const filter: Record<string, string> = query.name
    ? { name: query.name }
    : query.search
      ? { search: query.search }
      : {};
  const needle = filter.search?.toLowerCase();
  const matching = [...blueprints.all.values()]
    .map((blueprint) => ({ id: blueprint.id, latest: latestOf(blueprint) }))
    .filter(({ latest: { body } }) => {
      if (filter.name !== undefined) return body.name === filter.name;
      if (needle === undefined) return true;
      return body.name.toLowerCase().includes(needle) || body.description.toLowerCase().includes(needle);
    })
    .sort((a, b) => b.latest.savedAt.getTime() - a.latest.savedAt.getTime());
  return answer(200, {
    meta: { count: matching.length },
    links: listLinks('blueprints', matching.length, page.limit, filter),
    data: matching.slice(page.offset, page.offset + page.limit).map(({ id, latest }) => ({
      id,
      name: latest.body.name,
      description: latest.body.description,
      version: latest.version,
      last_modified_at: `${latest.savedAt.toISOString().slice(0, 19)}Z`,
    })),
  });
}

/** GET /blueprints/{id}[?version=N]: one version (the latest for none or -1) with its lint, no version number. */
export function getBlueprint(blueprints: Blueprints, id: string, query: Record<string, string>): ServiceAnswer {
  const blueprint = blueprints.find(id);
  if (blueprint instanceof ServiceAnswer) return blueprint;
  const version = query.version === undefined ? -1 : Number(query.version);
  if (!Number.isInteger(version)) {
    return errorAnswer(400, `parameter "version" in query has an error: value ${query.version}: an invalid integer`);
  }
  if (version <= 0 && version !== -1) return errorAnswer(400, 'Invalid version number');
  const saved = version === -1 ? latestOf(blueprint) : blueprint.versions.find((v) => v.version === version);
  if (!saved) return errorAnswer(404, 'blueprint not found');
  const { name, description, distribution, image_requests, customizations } = saved.body;
  return answer(200, {
    id: blueprint.id,
    name,
    description,
    distribution,
    image_requests,
    customizations: redactedCustomizations(customizations),
    lint: saved.lint,
  });
}

/** POST /blueprints (201 with the new id) and PUT /blueprints/{id} (a new version; 201 as the handler answers). */
export function saveBlueprint(blueprints: Blueprints, id: string | undefined, body: unknown): ServiceAnswer {
  if (id === undefined) {
    const created = blueprints.create(body);
    return created instanceof ServiceAnswer ? created : answer(201, { id: created.id });
  }
  const blueprint = blueprints.find(id);
  if (blueprint instanceof ServiceAnswer) return blueprint;
  const saved = blueprints.save(blueprint, body);
  return saved instanceof ServiceAnswer ? saved : answer(201, { id: blueprint.id });
}

/** DELETE /blueprints/{id}: every version goes; the composes built from it stay (and count against the quota). */
export function deleteBlueprint(blueprints: Blueprints, id: string): ServiceAnswer {
  const blueprint = blueprints.find(id);
  if (blueprint instanceof ServiceAnswer) return blueprint.status === 404 ? errorAnswer(404, 'Not Found') : blueprint;
  blueprints.all.delete(blueprint.id);
  return answer(204, undefined);
}
