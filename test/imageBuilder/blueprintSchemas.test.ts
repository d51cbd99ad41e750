import {
  blueprintComposeRequestSchema,
  blueprintComposesCreatedSchema,
  blueprintResponseSchema,
  blueprintsResponseSchema,
  IMAGE_TYPES,
} from '../../src/imageBuilder/blueprintSchemas';
import { composesResponseSchema } from '../../src/imageBuilder/responseSchemas';
import { checkOperation, checkSpecSchema, describeWithSpec, specEnum, specOperationSchema } from '../support/openapi';
import { specBodies, specOperationBodies } from '../support/specBodies';
import { describeWithRealBodies, REAL_WORLD_DIR } from '../support/realWorld';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { blueprintDetail, blueprintItem } from './blueprintBodies';

const GENERATED = 40;
const countOf = (body: unknown) => (body as { meta?: { count?: number } }).meta?.count;

/** Zod's first few issues, so a failure says which field and why. */
function issuesOf(result: { error?: { issues: { path: PropertyKey[]; message: string }[] } }): string[] {
  return (result.error?.issues ?? []).slice(0, 5).map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describeWithSpec('blueprint answers the spec allows', () => {
  it('builds its own sample bodies valid against the spec', () => {
    expect(
      checkSpecSchema('BlueprintsResponse', { meta: { count: 1 }, links: LINKS, data: [blueprintItem()] }),
    ).toEqual({ valid: true, errors: [] });
    expect(checkSpecSchema('BlueprintResponse', blueprintDetail())).toEqual({ valid: true, errors: [] });
  });

  it.each([
    ['BlueprintsResponse', blueprintsResponseSchema],
    ['BlueprintResponse', blueprintResponseSchema],
    ['ComposesResponse', composesResponseSchema],
  ] as const)('reads the spec examples of %s, every optional field filled', (name, schema) => {
    const [body] = specBodies(name, 1, { useExamplesValue: true, alwaysFakeOptionals: true });
    expect(issuesOf(schema.safeParse(body))).toEqual([]);
  });

  it.each([
    ['BlueprintsResponse', blueprintsResponseSchema],
    ['BlueprintResponse', blueprintResponseSchema],
    ['ComposesResponse', composesResponseSchema],
  ] as const)(`reads ${GENERATED} bodies generated from the spec's %s`, (name, schema) => {
    // The spec allows any integer as a list's count; the service counts rows, and paging relies on it.
    const bodies = specBodies(name, GENERATED).filter((body) => countOf(body) === undefined || countOf(body)! >= 0);
    expect(bodies.length).toBeGreaterThan(GENERATED / 4);
    const refused = bodies.map((body) => issuesOf(schema.safeParse(body))).filter((issues) => issues.length > 0);
    expect(refused).toEqual([]);
  });

  it("reads bodies generated from POST /blueprints/{id}/compose's answer", () => {
    const schema = specOperationSchema('/blueprints/{id}/compose', 'post', '201');
    const bodies = specOperationBodies('/blueprints/{id}/compose', 'post', '201', schema, GENERATED);
    expect(bodies.some((body) => Array.isArray(body) && body.length > 1)).toBe(true);
    expect(bodies.filter((body) => !blueprintComposesCreatedSchema.safeParse(body).success)).toEqual([]);
  });
});

describeWithSpec('the body of POST /blueprints/{id}/compose', () => {
  const check = (body: unknown) => checkOperation('/blueprints/{id}/compose', 'post', 'request', body);

  it("names exactly the spec's image types", () => {
    expect([...IMAGE_TYPES].sort()).toEqual(specEnum('ImageTypes').sort());
  });

  it('sends only bodies the spec accepts', () => {
    for (const imageTypes of [['aws'], ['azure', 'aws'], [...IMAGE_TYPES]]) {
      const body = blueprintComposeRequestSchema.parse({ image_types: imageTypes });
      expect(check(JSON.parse(JSON.stringify(body)))).toEqual({ valid: true, errors: [] });
    }
  });

  it('accepts every spec-valid body that names its image types once or more', () => {
    const schema = specOperationSchema('/blueprints/{id}/compose', 'post', 'request');
    const bodies = specOperationBodies('/blueprints/{id}/compose', 'post', 'request', schema, GENERATED, {
      alwaysFakeOptionals: true,
    });
    const naming = bodies.filter((body) => {
      const types = (body as { image_types?: string[] }).image_types ?? [];
      return types.length > 0 && new Set(types).size === types.length;
    });
    expect(naming.length).toBeGreaterThan(5);
    expect(naming.filter((body) => !blueprintComposeRequestSchema.safeParse(body).success)).toEqual([]);
  });

  it.each([
    ['no image type', { image_types: [] }, /at least one image type/],
    ['an image type twice', { image_types: ['aws', 'aws'] }, /named twice/],
    ['an image type the service does not know', { image_types: ['qcow2'] }, /image_types/],
    ['a field the service does not read', { image_types: ['aws'], distribution: 'rhel-9' }, /distribution/],
  ])('refuses a body with %s', (_, body, message) => {
    const result = blueprintComposeRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});

const LINKS = {
  first: '/api/image-builder/v1/blueprints?limit=100&offset=0',
  last: '/api/image-builder/v1/blueprints',
};

describe('reading a blueprint', () => {
  it('reads empty lint lists that the handler sends as null (a blueprint without a compliance policy)', () => {
    const parsed = blueprintResponseSchema.parse(blueprintDetail({ lint: { errors: null, warnings: null } }));
    expect(parsed.lint).toEqual({ errors: [], warnings: [] });
  });

  it('keeps the lint as the service worded it', () => {
    const lint = {
      errors: [{ name: 'Compliance', description: 'package aide required by policy is not present' }],
      warnings: [{ name: 'Compliance', description: 'the policy changed since this blueprint was saved' }],
    };
    expect(blueprintResponseSchema.parse(blueprintDetail({ lint })).lint).toEqual(lint);
  });

  it('says which users have a password and never keeps one, even if the service sent it', () => {
    const users = [
      { name: 'admin', groups: ['wheel'], hasPassword: true },
      { name: 'deploy', ssh_key: 'ssh-ed25519 AAAAC3Nza deploy@example.com', hasPassword: false },
      { name: 'legacy', password: '$6$G91SvTj7uVp3xhqj$zVa8nqnJTlewniDII5dmvsBJ' },
    ];
    const parsed = blueprintResponseSchema.parse(blueprintDetail({ customizations: { users } }));

    expect(parsed.customizations.users.map((u) => [u.name, u.hasPassword])).toEqual([
      ['admin', true],
      ['deploy', false],
      ['legacy', true],
    ]);
    expect(JSON.stringify(parsed)).not.toMatch(/\$6\$|"password"/);
  });

  it('keeps the customizations it does not read, to be sent on as they are', () => {
    const customizations = {
      packages: ['aide', 'tmux'],
      files: [{ path: '/etc/motd', data: 'golden' }],
      custom_repositories: [{ id: 'a5c2d5b1-8f3d-4cfa-9f0a-2b0a3d6f2c11', name: 'internal' }],
      timezone: { timezone: 'UTC' },
    };
    const parsed = blueprintResponseSchema.parse(blueprintDetail({ customizations }));
    expect(parsed.customizations).toMatchObject(customizations);
  });

  it.each([
    ['without lint', { lint: undefined }, /lint/],
    ['without image requests', { image_requests: [] }, /image_requests/],
    ['with an id that is not a UUID', { id: 'rhel9-golden' }, /id: expected a UUID/],
    [
      'with a user without a name',
      { customizations: { users: [{ groups: ['wheel'] }] } },
      /customizations\.users\.0\.name/,
    ],
    [
      'with an organisation that is not a number',
      { customizations: { subscription: { organization: 'acme' } } },
      /organization/,
    ],
  ])('refuses a blueprint %s, naming the field', (_, change, message) => {
    const result = blueprintResponseSchema.safeParse({ ...blueprintDetail(), ...change });
    expect(result.success).toBe(false);
    expect(issuesOf(result).join('; ')).toMatch(message);
  });

  it.each([
    ['a blueprint without a version', { ...blueprintItem(), version: undefined }, /data\.0\.version/],
    ['a version that is not a whole number', { ...blueprintItem(), version: '3' }, /data\.0\.version/],
  ])('refuses a list with %s', (_, item, message) => {
    const result = blueprintsResponseSchema.safeParse({ meta: { count: 1 }, links: LINKS, data: [item] });
    expect(issuesOf(result).join('; ')).toMatch(message);
  });

  it('refuses a list without its count, which paging needs', () => {
    expect(issuesOf(blueprintsResponseSchema.safeParse({ links: LINKS, data: [] })).join()).toMatch(/meta/);
  });
});

describeWithRealBodies("the console's fixture of a blueprint's composes", () => {
  it('reads it as a list of composes of that blueprint', () => {
    const fixture = JSON.parse(
      readFileSync(path.join(REAL_WORLD_DIR, 'frontend-imagestable-composes.json'), 'utf8'),
    ) as { blueprintComposes: unknown };
    const parsed = composesResponseSchema.parse(fixture.blueprintComposes);
    expect(parsed.data.map((c) => [c.blueprint_id, c.blueprint_version])).toEqual([
      ['677b010b-e95e-4694-9813-d11d847f1bfc', 1],
      ['677b010b-e95e-4694-9813-d11d847f1bfc', 1],
    ]);
  });
});
