import * as z from 'zod';

/*
 * What Image Builder answers, parsed leniently where the service may grow: objects keep unknown fields, status
 * strings are kept as they come, and optional fields may be absent or null (the service is written in Go, where an
 * empty slice or pointer often serialises as null). Fields we rely on are still checked, so a proxy's HTML page or a
 * changed contract is reported as an invalid response instead of crashing later.
 */

/** Optional in the spec; Go may still send `null`. Either way the parsed value is `undefined`. */
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);
/** A list Go may send as `null` when empty. */
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((value) => value ?? []);

// ---------------------------------------------------------------------------------------------------------------
// Progress and errors

const progressStepSchema = z.looseObject({ done: z.number(), total: z.number() });
export const progressSchema = progressStepSchema.extend({ subprogress: optional(progressStepSchema) });
export type Progress = z.infer<typeof progressSchema>;

export const composeStatusErrorSchema = z.looseObject({
  id: z.number(),
  reason: z.string(),
  /** A string, an object, or a list of `{ id, reason, details }`, nested; see {@link composeErrorLines}. */
  details: z.unknown().optional(),
});
export type ComposeStatusError = z.infer<typeof composeStatusErrorSchema>;

const MAX_DETAIL_CHARS = 300;
const truncate = (text: string) => (text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS - 1)}…` : text);

/**
 * A build failure as readable lines: the reason, then the nested reasons indented two spaces per level. Objects
 * without a `reason` are shown as compact JSON; repeated lines (osbuild often repeats a cause) are shown once.
 */
export function composeErrorLines(error: { reason: string; details?: unknown }, maxLines = 20): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (depth: number, text: string) => {
    const trimmed = text.trim();
    if (trimmed === '' || seen.has(trimmed)) return;
    seen.add(trimmed);
    lines.push(`${'  '.repeat(depth)}${truncate(trimmed)}`);
  };
  const walk = (value: unknown, depth: number): void => {
    if (value === undefined || value === null) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      add(depth, String(value));
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, depth);
    } else if (typeof value === 'object') {
      const { reason, details } = value as { reason?: unknown; details?: unknown };
      if (typeof reason === 'string') {
        add(depth, reason);
        walk(details, depth + 1);
      } else if (Object.keys(value).length > 0) {
        add(depth, JSON.stringify(value));
      }
    }
  };
  add(0, error.reason);
  walk(error.details, 1);
  if (lines.length > maxLines) return [...lines.slice(0, maxLines - 1), `… ${lines.length - maxLines + 1} more`];
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// Upload status

/*
 * The spec's `oneOf` for the options is ambiguous (a GCP result `{ project_id, image_name }` also fits the Azure
 * shape `{ image_name }`), so the shape is chosen by `type`, never by matching.
 */
const uploadResultSchemas = {
  aws: z.looseObject({ ami: z.string(), region: z.string() }),
  azure: z.looseObject({ image_name: z.string() }),
  gcp: z.looseObject({ project_id: z.string(), image_name: z.string() }),
  'aws.s3': z.looseObject({ url: z.string() }),
  'oci.objectstorage': z.looseObject({ url: z.string() }),
} as const;

type UploadResultOptions = { [T in keyof typeof uploadResultSchemas]: z.infer<(typeof uploadResultSchemas)[T]> };
/** Where the image landed, by upload type. */
export type UploadResult = {
  [T in keyof UploadResultOptions]: { type: T } & UploadResultOptions[T];
}[keyof UploadResultOptions];

function isKnownUploadType(type: string): type is keyof typeof uploadResultSchemas {
  return Object.hasOwn(uploadResultSchemas, type);
}

export function parseUploadResult(type: string, options: unknown): UploadResult | undefined {
  if (!isKnownUploadType(type)) return undefined;
  const parsed = uploadResultSchemas[type].safeParse(options);
  return parsed.success ? ({ type, ...parsed.data } as UploadResult) : undefined;
}

export const uploadStatusSchema = z
  .looseObject({
    /** `success`, `failure`, `pending`, `running`, or something newer. */
    status: z.string(),
    type: z.string(),
    /** As the service sent it. */
    options: z.unknown(),
  })
  .transform((upload) => ({
    ...upload,
    /**
     * The options read by `type`; undefined for an unknown type or while the upload has no result yet (a pending
     * or failed upload may carry empty options).
     */
    result: parseUploadResult(upload.type, upload.options),
  }));
export type UploadStatus = z.infer<typeof uploadStatusSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Compose status and lists

/** The compose request as the service stored it: it may hold fields the bot never sends (customizations, bootc…). */
export const storedComposeRequestSchema = z.looseObject({
  distribution: optional(z.string()),
  image_name: optional(z.string()),
  image_description: optional(z.string()),
  /** Image mode: the compose builds from this container image and has no `distribution`. */
  bootc: optional(z.looseObject({ reference: optional(z.string()) })),
  image_requests: list(
    z.looseObject({
      architecture: optional(z.string()),
      image_type: optional(z.string()),
      upload_request: optional(z.looseObject({ type: z.string(), options: z.unknown() })),
    }),
  ),
});
export type StoredComposeRequest = z.infer<typeof storedComposeRequestSchema>;

export const imageStatusSchema = z
  .looseObject({
    // Kept as the service spells it, never narrowed to the statuses compose/status.ts knows: a newer one is shown
    // as it comes and read as in progress.
    status: z.string(),
    progress: optional(progressSchema),
    upload_status: optional(uploadStatusSchema),
    error: optional(composeStatusErrorSchema),
  })
  // An error ends the build, whatever the status says: the service's handler answers `"status": ""` next to the
  // error of a failed compose, which would otherwise read as a build still under way, for ever.
  .transform((image) => (image.error && image.status !== 'success' ? { ...image, status: 'failure' } : image));
export type ImageStatus = z.infer<typeof imageStatusSchema>;

export const composeStatusSchema = z.looseObject({
  image_status: imageStatusSchema,
  // Required by the spec, but older service versions left it out: then it reads as a request with nothing known.
  request: storedComposeRequestSchema.nullish().transform((request) => request ?? storedComposeRequestSchema.parse({})),
});
export type ComposeStatus = z.infer<typeof composeStatusSchema>;

export const composeCreatedSchema = z.looseObject({ id: z.string().min(1) });

export const composesItemSchema = z.looseObject({
  id: z.string().min(1),
  request: storedComposeRequestSchema,
  /** Not always ISO 8601 (Go's time format has appeared); read it with {@link parseServiceTimestamp}. */
  created_at: z.string(),
  image_name: optional(z.string()),
  client_id: optional(z.string()),
  blueprint_id: optional(z.string()),
  blueprint_version: optional(z.number()),
});
export type ComposesItem = z.infer<typeof composesItemSchema>;

export const composesResponseSchema = z.looseObject({
  meta: z.looseObject({ count: z.number().int().nonnegative() }),
  links: optional(z.looseObject({ first: z.string(), last: z.string() })),
  data: list(composesItemSchema),
});
export type ComposesResponse = z.infer<typeof composesResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Distributions, architectures, readiness

export interface Distribution {
  name: string;
  description: string;
}

/**
 * Classic distributions, `{ name, description }`. The same endpoint may list bootc items (`{ distro, name, type,
 * arch, reference }`, where `name` is a description); those and anything else unrecognised are skipped, not fatal.
 */
export const distributionsResponseSchema = z.array(z.unknown()).transform((items) =>
  items.flatMap((item): Distribution[] => {
    if (typeof item !== 'object' || item === null || 'reference' in item) return [];
    const { name, description } = item as { name?: unknown; description?: unknown };
    return typeof name === 'string' && name !== '' && typeof description === 'string' ? [{ name, description }] : [];
  }),
);

export const architectureItemSchema = z.looseObject({
  arch: z.string(),
  image_types: list(z.string()),
});
export type ArchitectureItem = z.infer<typeof architectureItemSchema>;
export const architecturesResponseSchema = list(architectureItemSchema);

export const readinessSchema = z.looseObject({ readiness: z.string() });

// ---------------------------------------------------------------------------------------------------------------
// Packages

/**
 * GET /packages, the spec's PackagesResponse with every field it requires (a distribution without a package list
 * answers an empty `data`). Unknown keys are dropped, not refused: the service may add some.
 */
export const packagesResponseSchema = z.object({
  meta: z.object({ count: z.number().int().nonnegative() }),
  links: z.object({ first: z.string(), last: z.string() }),
  data: z.array(z.object({ name: z.string(), summary: z.string() })),
});
export type PackagesResponse = z.infer<typeof packagesResponseSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Timestamps

const SERVICE_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?(?:\s+[A-Z]{2,5})?(?:\s+m=.*)?$/;

/**
 * Reads `created_at`: ISO 8601, or Go's `2024-05-01 10:20:30.123456 +0000 UTC`. Without a zone, UTC is assumed.
 * Returns undefined when it cannot tell.
 */
export function parseServiceTimestamp(text: string): Date | undefined {
  const match = SERVICE_TIMESTAMP.exec(text.trim());
  if (!match) return undefined;
  const [, date, time, fraction = '0', zone = 'Z'] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const offset = zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const parsed = new Date(`${date}T${time}.${millis}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
