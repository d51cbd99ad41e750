import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/*
 * The service's own OpenAPI spec, read from ../shared beside the repository. Where it is absent (a clone without
 * the shared references) the suites that need it report as skipped rather than passing without checking anything.
 */

export const OPENAPI_SPEC_PATH = path.resolve(__dirname, '../../../shared/reference/image-builder-v1-openapi.yaml');
export const openApiSpecAvailable = existsSync(OPENAPI_SPEC_PATH);
/**
 * `describe` when the spec is there, else `describe.skip` with the reason and the path in its name. Jest still runs
 * a skipped body, so read the spec in tests or beforeAll.
 */
export function describeWithSpec(name: string, body: () => void): void {
  if (openApiSpecAvailable) describe(name, body);
  else describe.skip(`${name} (skipped: the service's OpenAPI spec is not at ${OPENAPI_SPEC_PATH})`, body);
}

const SPEC_ID = 'image-builder-v1';

interface OpenApiDocument {
  components: { schemas: Record<string, unknown> };
  paths: Record<string, Record<string, unknown>>;
}

let document: OpenApiDocument | undefined;
function specDocument(): OpenApiDocument {
  document ??= parse(readFileSync(OPENAPI_SPEC_PATH, 'utf8')) as OpenApiDocument;
  return document;
}

/** Schema keywords OpenAPI documents carry that JSON Schema does not define (example, x-go-type, …). */
function annotationKeywords(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => annotationKeywords(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('x-') || key === 'example') found.add(key);
      annotationKeywords(value, found);
    }
  }
  return found;
}

let ajv: Ajv | undefined;

function specAjv(): Ajv {
  if (ajv) return ajv;
  const document = specDocument();
  // Strict about everything but OpenAPI's habits: schemas without `type` next to `properties`, and annotations.
  const instance = new Ajv({ allErrors: true, strictTypes: false, strictTuples: false, strictRequired: false });
  addFormats(instance);
  instance.addFormat('uint64', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
  instance.addVocabulary([...annotationKeywords(document.components)]);
  // OpenAPI 3.0 references look like '#/components/schemas/X', so the components live under a root with an id;
  // `components` itself is just a container to ajv.
  instance.addKeyword('components');
  instance.addSchema({ $id: SPEC_ID, components: document.components });
  ajv = instance;
  return instance;
}

const validators = new Map<string, ValidateFunction>();

/** A validator for one schema of the spec's components, e.g. 'ComposeRequest'. */
export function specValidator(schemaName: string): ValidateFunction {
  let validate = validators.get(schemaName);
  if (!validate) {
    validate = specAjv().getSchema(`${SPEC_ID}#/components/schemas/${schemaName}`);
    if (!validate) throw new Error(`The spec has no schema ${schemaName}`);
    validators.set(schemaName, validate);
  }
  return validate;
}

export interface SpecCheck {
  valid: boolean;
  errors: string[];
}

function check(schemaName: string, body: unknown): SpecCheck {
  return checkWith(specValidator(schemaName), body);
}

function checkWith(validate: ValidateFunction, body: unknown): SpecCheck {
  const valid = validate(body) as boolean;
  return { valid, errors: (validate.errors ?? []).map(formatError) };
}

/** Checks a body against one of the spec's component schemas, e.g. 'BlueprintResponse'. */
export function checkSpecSchema(schemaName: string, body: unknown): SpecCheck {
  return check(schemaName, body);
}

/** Where an operation keeps its schema: the request body, or the JSON answer of one status. */
export type OperationPart = 'request' | `${number}`;

/** The schema an operation declares in place (POST /blueprints/{id}/compose has no component of its own). */
export function specOperationSchema(path: string, method: string, part: OperationPart): object {
  const operation = specDocument().paths[path]?.[method] as
    | {
        requestBody?: { content: Record<string, { schema: object }> };
        responses?: Record<string, { content?: Record<string, { schema: object }> }>;
      }
    | undefined;
  const content = part === 'request' ? operation?.requestBody?.content : operation?.responses?.[part]?.content;
  const schema = content?.['application/json']?.schema;
  if (!schema) throw new Error(`The spec has no ${part} schema for ${method.toUpperCase()} ${path}`);
  return schema;
}

const operationValidators = new Map<string, ValidateFunction>();

/** Checks a body against the schema an operation declares in place; see {@link specOperationSchema}. */
export function checkOperation(path: string, method: string, part: OperationPart, body: unknown): SpecCheck {
  const key = `${method} ${path} ${part}`;
  let validate = operationValidators.get(key);
  if (!validate) {
    // Its references point into the document, which ajv knows by the id it was added under.
    const schema = JSON.parse(
      JSON.stringify(specOperationSchema(path, method, part)).replaceAll('"#/components/', `"${SPEC_ID}#/components/`),
    ) as object;
    validate = specAjv().compile(schema);
    operationValidators.set(key, validate);
  }
  return checkWith(validate, body);
}

/** The values of one of the spec's enums, e.g. 'ImageTypes'. */
export function specEnum(schemaName: string): string[] {
  const schema = specAjv().getSchema(`${SPEC_ID}#/components/schemas/${schemaName}`)?.schema as
    { enum?: string[] } | undefined;
  return schema?.enum ?? [];
}

/**
 * The spec's components as plain JSON Schema for a generator: OpenAPI's `example` becomes `examples`, and a property
 * typed only by its Go type (`x-go-type: uint64`, e.g. a filesystem's min_size) gets that type, as the service's
 * decoder refuses anything else; left untyped, the generator writes strings and booleans there.
 */
export function specComponentsForGenerator(): { components: Record<string, unknown> } {
  const rename = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rename);
    if (!node || typeof node !== 'object') return node;
    const entries = Object.entries(node).map(([key, value]) =>
      key === 'example' ? ['examples', [value]] : [key, rename(value)],
    );
    const goUint64 = (node as Record<string, unknown>)['x-go-type'] === 'uint64' && !('type' in node);
    if (goUint64) entries.push(['type', 'integer'], ['minimum', 0]);
    return Object.fromEntries(entries) as unknown;
  };
  return { components: rename(specDocument().components) as Record<string, unknown> };
}

/** Checks a POST /compose body against the spec's ComposeRequest. */
export function checkComposeRequest(body: unknown): SpecCheck {
  return check('ComposeRequest', body);
}

/**
 * Checks upload_status options against one of the spec's shapes, e.g. 'GCPUploadStatus'. (The spec's own oneOf over
 * them is ambiguous: a GCP result also fits the Azure shape, an S3 one the OCI shape.)
 */
export function checkUploadStatusOptions(schemaName: string, options: unknown): SpecCheck {
  return check(schemaName, options);
}

/** The spec's list of distributions (the enum of `Distributions`). */
export function specDistributions(): string[] {
  return specEnum('Distributions');
}

function formatError(error: ErrorObject): string {
  return `${error.instancePath || '/'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`;
}
