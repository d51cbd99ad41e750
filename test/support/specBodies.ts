import { generateSync, type GenerateSyncOptions } from 'json-schema-faker';
import { checkOperation, checkSpecSchema, specComponentsForGenerator, type OperationPart } from './openapi';

/*
 * Bodies generated from the service's own schemas (json-schema-faker, seeded so every run sees the same ones), kept
 * only where the spec itself accepts them: the generator does not always honour oneOf or minItems, and a body the
 * spec refuses proves nothing about ours.
 */

const ATTEMPTS_PER_BODY = 20;
/*
 * The generator's own defaults stop following references two levels down (an upload request's `type` comes out
 * null) and ignore minItems; deeper references and a few items per list give bodies the spec accepts.
 */
const DEFAULTS: GenerateSyncOptions = { refDepthMin: 2, refDepthMax: 8, maxItems: 3 };

function generated(
  schema: object,
  count: number,
  valid: (body: unknown) => boolean,
  options: GenerateSyncOptions,
): unknown[] {
  const root = specComponentsForGenerator();
  const bodies: unknown[] = [];
  for (let seed = 1; bodies.length < count && seed <= count * ATTEMPTS_PER_BODY; seed++) {
    const body = generateSync({ ...root, ...schema }, { ...DEFAULTS, seed, ...options });
    if (valid(body)) bodies.push(body);
  }
  if (bodies.length < count) throw new Error(`only ${bodies.length} of ${count} generated bodies fit the spec`);
  return bodies;
}

/** `count` bodies of one component schema, e.g. 'BlueprintResponse', each valid against the spec. */
export function specBodies(schemaName: string, count: number, options: GenerateSyncOptions = {}): unknown[] {
  return generated(
    { $ref: `#/components/schemas/${schemaName}` },
    count,
    (body) => checkSpecSchema(schemaName, body).valid,
    options,
  );
}

/** `count` bodies of the schema an operation declares in place, each valid against it. */
export function specOperationBodies(
  path: string,
  method: string,
  part: OperationPart,
  schema: object,
  count: number,
  options: GenerateSyncOptions = {},
): unknown[] {
  return generated(schema, count, (body) => checkOperation(path, method, part, body).valid, options);
}
