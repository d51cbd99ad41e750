import * as z from 'zod';
import { GUID } from '../shared/ids';
import { composeCreatedSchema } from './responseSchemas';

/*
 * The blueprint endpoints: what they answer and what we send to POST /blueprints/{id}/compose.
 *
 * Answers are read as responseSchemas.ts reads composes: every field the spec requires and the bot relies on is
 * checked (a proxy's HTML page or a changed contract is an invalid response, not a crash later), fields the
 * service adds later are kept, and Go's `null` for an empty list or absent pointer reads as empty or absent.
 * What we send is strict, as requestSchema.ts is.
 *
 * What the spec does not say, from the service's handlers: GET /blueprints/{id} carries no version number (only
 * GET /blueprints does, so ask for `?version=N` to know which one you read); lint lists are `null` when empty;
 * users' passwords are never returned, `hasPassword` says whether one is set; POST /blueprints/{id}/compose
 * compares `image_types` verbatim with the saved image types (an alias such as `ami` does not match `aws`) and
 * answers 201 with an empty list when none matches.
 */

/** Optional in the spec; Go may still send `null`. Either way the parsed value is `undefined`. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
/** A list Go may send as `null` when empty. */
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((value) => value ?? []);

/** The spec's `format: uuid`, as the service's ids are written (any version, either case). */
export const BLUEPRINT_ID = GUID;
const uuid = z.string().regex(BLUEPRINT_ID, 'expected a UUID');

// ---------------------------------------------------------------------------------------------------------------
// GET /blueprints

export const blueprintItemSchema = z.looseObject({
  id: uuid,
  /** The latest version; versions count from 1 and every save adds one. */
  version: z.number().int(),
  name: z.string(),
  description: z.string(),
  /** RFC 3339 from the service; read it with parseServiceTimestamp. */
  last_modified_at: z.string(),
});
export type BlueprintItem = z.infer<typeof blueprintItemSchema>;

export const blueprintsResponseSchema = z.looseObject({
  meta: z.looseObject({ count: z.number().int().nonnegative() }),
  links: optional(z.looseObject({ first: z.string(), last: z.string() })),
  data: list(blueprintItemSchema),
});
export type BlueprintsResponse = z.infer<typeof blueprintsResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// GET /blueprints/{id}

export const blueprintLintItemSchema = z.looseObject({ name: z.string(), description: z.string() });
export type BlueprintLintItem = z.infer<typeof blueprintLintItemSchema>;

/** Errors must be resolved before the blueprint builds again; warnings tell of policy changes. */
export const blueprintLintSchema = z.looseObject({
  errors: list(blueprintLintItemSchema),
  warnings: list(blueprintLintItemSchema),
});
export type BlueprintLint = z.infer<typeof blueprintLintSchema>;

/**
 * A user of the image. The service redacts passwords and says `hasPassword` instead; should a password (or its
 * hash) ever come back, it is dropped here so that nothing downstream can show, log or resend it.
 */
export const blueprintUserSchema = z
  .looseObject({
    name: z.string(),
    groups: list(z.string()),
    ssh_key: optional(z.string()),
    password: optional(z.string()),
    hasPassword: optional(z.boolean()),
  })
  .transform(({ password, ...user }) => ({
    ...user,
    hasPassword: user.hasPassword === true || (password !== undefined && password !== ''),
  }));
export type BlueprintUser = z.infer<typeof blueprintUserSchema>;

/** Registration; `activation-key` is a secret of the organisation's and is never shown or logged. */
export const blueprintSubscriptionSchema = z.looseObject({
  organization: z.number().int(),
  'activation-key': optional(z.string()),
  'server-url': optional(z.string()),
  'base-url': optional(z.string()),
  insights: optional(z.boolean()),
  rhc: optional(z.boolean()),
});

/** A profile applied by OpenSCAP itself, or a policy of the Insights compliance service. */
export const blueprintOpenScapSchema = z.union([
  z.looseObject({
    profile_id: z.string(),
    profile_name: optional(z.string()),
    profile_description: optional(z.string()),
  }),
  z.looseObject({ policy_id: z.string() }),
]);

/**
 * The customizations, with the fields a summary reads checked; every other one (files, repositories, filesystems,
 * …) is kept as the service sent it.
 */
export const blueprintCustomizationsSchema = z.looseObject({
  packages: list(z.string()),
  users: list(blueprintUserSchema),
  subscription: optional(blueprintSubscriptionSchema),
  openscap: optional(blueprintOpenScapSchema),
  fips: optional(z.looseObject({ enabled: optional(z.boolean()) })),
  hostname: optional(z.string()),
});
export type BlueprintCustomizations = z.infer<typeof blueprintCustomizationsSchema>;

/** One saved image request: what it builds and where the service shares it. */
export const blueprintImageRequestSchema = z.looseObject({
  architecture: z.string(),
  image_type: z.string(),
  upload_request: z.looseObject({ type: z.string(), options: z.unknown() }),
});
export type BlueprintImageRequest = z.infer<typeof blueprintImageRequestSchema>;

export const blueprintResponseSchema = z.looseObject({
  id: uuid,
  name: z.string(),
  description: z.string(),
  lint: blueprintLintSchema,
  distribution: optional(z.string()),
  /** Image mode: the blueprint builds from this container image and may have no `distribution`. */
  bootc: optional(z.looseObject({ reference: optional(z.string()) })),
  image_requests: z.array(blueprintImageRequestSchema).min(1),
  customizations: blueprintCustomizationsSchema,
});
export type BlueprintDetail = z.infer<typeof blueprintResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// POST /blueprints/{id}/compose

/** The spec's ImageTypes, aliases included (`ami` = aws, `vhd` = azure, `rhel-edge-*` = edge-*). */
export const IMAGE_TYPES = [
  'aws',
  'azure',
  'bootable-container-iso',
  'edge-commit',
  'edge-installer',
  'gcp',
  'guest-image',
  'image-installer',
  'network-installer',
  'oci',
  'pxe-tar-xz',
  'vsphere',
  'vsphere-ova',
  'wsl',
  'ami',
  'rhel-edge-commit',
  'rhel-edge-installer',
  'vhd',
] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/**
 * The body of POST /blueprints/{id}/compose. The spec lets `image_types` be left out (build every saved image
 * request) or be empty (build nothing); the bot always names what it builds, so at least one, each once.
 */
export const blueprintComposeRequestSchema = z.strictObject({
  image_types: z
    .array(z.enum(IMAGE_TYPES))
    .min(1, 'name at least one image type')
    .refine((types) => new Set(types).size === types.length, 'an image type is named twice'),
});
export type BlueprintComposeRequest = z.infer<typeof blueprintComposeRequestSchema>;

/** One compose per saved image request that matched, in the blueprint's order. */
export const blueprintComposesCreatedSchema = z.array(composeCreatedSchema);
