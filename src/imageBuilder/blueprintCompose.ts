import type * as z from 'zod';
import type { BlueprintDetail, BlueprintUser } from './blueprintSchemas';
import { composeRequestSchema, type ComposeRequest, type ComposeUser, type ImageRequest } from './requestSchema';

/*
 * A blueprint built with the requester's share targets: a POST /compose of the blueprint's distribution and
 * customizations plus the requester's image request. (With the blueprint's own targets the bot calls
 * POST /blueprints/{id}/compose instead, and the build stays in the blueprint's history.)
 *
 * GET /blueprints/{id} never answers users' passwords, only `hasPassword`, so a user is sent with the SSH key and
 * groups the blueprint gives and without a password: one who logs in by password only could not log in to the image
 * at all, so such a blueprint is refused here and `passwordOnlyUsers` lets the form say so before submission. The
 * subscription's `activation-key` is carried as the blueprint gives it (registration needs it); the logger redacts
 * it wherever it appears.
 */

export type BlueprintComposeErrorKind =
  /** An image-mode (bootc) blueprint: it has no distribution to build from with POST /compose. */
  | 'image-mode'
  /** Users who log in by password only; `users` names them. */
  | 'password-only-users'
  /** The strict request schema refused what the blueprint gives; `field` names the first field refused. */
  | 'invalid-request';

export class BlueprintComposeError extends Error {
  override readonly name = 'BlueprintComposeError';
  readonly kind: BlueprintComposeErrorKind;
  /** The path of the first field refused, e.g. `customizations.subscription.activation-key`. */
  readonly field?: string;
  readonly users?: readonly string[];

  constructor(init: { kind: BlueprintComposeErrorKind; message: string; field?: string; users?: readonly string[] }) {
    super(init.message);
    this.kind = init.kind;
    if (init.field !== undefined) this.field = init.field;
    if (init.users !== undefined) this.users = init.users;
  }

  /** What a log line shows: the facts, never a value of the blueprint's. */
  toJSON() {
    return { name: this.name, kind: this.kind, message: this.message, field: this.field, users: this.users };
  }
}

export const isBlueprintComposeError = (value: unknown): value is BlueprintComposeError =>
  value instanceof BlueprintComposeError;

const hasSshKey = (user: BlueprintUser) => (user.ssh_key ?? '').trim() !== '';

/** The names of the blueprint's users who have a password and no SSH key, who could not log in to such an image. */
export function passwordOnlyUsers(detail: Pick<BlueprintDetail, 'customizations'>): string[] {
  return detail.customizations.users.filter((user) => user.hasPassword && !hasSshKey(user)).map((user) => user.name);
}

/** Name, key and groups only: the password is not ours to send and `hasPassword` is the service's answer. */
function userToSend(user: BlueprintUser): ComposeUser {
  return {
    name: user.name,
    ...(user.groups.length > 0 ? { groups: user.groups } : {}),
    ...(hasSshKey(user) ? { ssh_key: user.ssh_key } : {}),
  };
}

/** Go writes an absent field as `null` where the spec allows none; null means "not set", so it is left out. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([, item]) => item !== null && item !== undefined);
  return Object.fromEntries(entries.map(([key, item]) => [key, withoutNulls(item)]));
}

function customizationsToSend(detail: BlueprintDetail): Record<string, unknown> | undefined {
  const { users, packages, ...rest } = detail.customizations;
  const customizations = {
    ...(withoutNulls(rest) as Record<string, unknown>),
    ...(packages.length > 0 ? { packages } : {}),
    ...(users.length > 0 ? { users: users.map(userToSend) } : {}),
  };
  return Object.keys(customizations).length > 0 ? customizations : undefined;
}

/** `customizations.users[0].ssh_key`, as a person reading the blueprint in the console would look for it. */
function fieldOf(issue: z.core.$ZodIssue): string {
  return issue.path.reduce<string>(
    (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)),
    '',
  );
}

function refuseUnbuildable(detail: BlueprintDetail): void {
  if (detail.bootc !== undefined || detail.distribution === undefined) {
    throw new BlueprintComposeError({
      kind: 'image-mode',
      message: `Blueprint "${detail.name}" is an image-mode (bootc) blueprint, which builds only with its own share targets`,
    });
  }
  const users = passwordOnlyUsers(detail);
  if (users.length > 0) {
    throw new BlueprintComposeError({
      kind: 'password-only-users',
      users,
      message:
        `Blueprint "${detail.name}" has users who log in by password only (${users.join(', ')}); Image Builder never ` +
        'gives their passwords back, so it builds only with its own share targets',
    });
  }
}

/** What a blueprint pins of its content, the same in each of its image requests as the console saves them. */
const CONTENT_PINS = ['snapshot_date', 'content_template', 'content_template_name'] as const;

/**
 * What the blueprint's own image requests pin, for the requester's: its content (repository snapshot or content
 * template) from the one of the same image type and architecture, else of the type, else its first; and the disk
 * size only from one of the same image type, a size being the type's.
 */
function pinnedBy(detail: BlueprintDetail, wanted: ImageRequest): Record<string, unknown> {
  const requests = detail.image_requests;
  const sameType = requests.filter((r) => r.image_type === wanted.image_type);
  const closest = sameType.find((r) => r.architecture === wanted.architecture) ?? sameType[0] ?? requests[0];
  const pins: Record<string, unknown> = {};
  for (const key of CONTENT_PINS) if (closest?.[key] !== undefined) pins[key] = closest[key];
  if (sameType.length > 0 && closest?.size !== undefined) pins.size = closest.size;
  return pins;
}

/**
 * The POST /compose of a blueprint with the requester's image request, parsed by the strict request schema.
 * Throws a BlueprintComposeError when the blueprint cannot be built this way or the schema refuses what it gives.
 */
export function composeRequestFromBlueprint(
  detail: BlueprintDetail,
  imageRequest: ImageRequest,
  extras: { imageName?: string; imageDescription?: string } = {},
): ComposeRequest {
  refuseUnbuildable(detail);
  const customizations = customizationsToSend(detail);
  const parsed = composeRequestSchema.safeParse({
    distribution: detail.distribution,
    ...(extras.imageName ? { image_name: extras.imageName } : {}),
    ...(extras.imageDescription ? { image_description: extras.imageDescription } : {}),
    client_id: 'api',
    image_requests: [{ ...imageRequest, ...pinnedBy(detail, imageRequest) }],
    ...(customizations ? { customizations } : {}),
  });
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  const field = issue ? fieldOf(issue) : '';
  throw new BlueprintComposeError({
    kind: 'invalid-request',
    field,
    message: `Blueprint "${detail.name}" cannot be sent as a compose: ${field ? `${field}: ` : ''}${issue?.message ?? 'refused'}`,
  });
}
