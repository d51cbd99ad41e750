import type { ImageBuilderClient } from '../../src/imageBuilder';
import { checkOperation, checkSpecSchema, describeWithSpec } from '../support/openapi';
import { clientOf, startFakeImageBuilder, type FakeBlueprintSeed, type FakeImageBuilder } from './imageBuilderService';

/*
 * The fake Image Builder's blueprint routes answer as the service does: every answer valid against the service's
 * OpenAPI spec, and read without error by the bot's own client.
 */

const GOLDEN_ID = '677b010b-e95e-4694-9813-d11d847f1bfc';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
/** A user's password as saved: the fake must never answer it. */
const PASSWORD = 'golden-admin-password-never-returned';
const HOUR_MS = 3_600_000;

const awsRequest = (architecture: 'x86_64' | 'aarch64') => ({
  architecture,
  image_type: 'aws',
  upload_request: { type: 'aws' as const, options: { share_with_accounts: ['123456789012'] } },
});
const guestImageRequest = {
  architecture: 'x86_64' as const,
  image_type: 'guest-image',
  upload_request: { type: 'aws.s3' as const, options: {} },
};

/** Version 2 of rhel9-golden (version 1 had no tmux), an hour old; two AWS image requests and a guest image. */
const golden = (savedAt: Date): FakeBlueprintSeed => ({
  id: GOLDEN_ID,
  name: 'rhel9-golden',
  description: 'The platform team’s RHEL 9 base',
  distribution: 'rhel-9',
  image_requests: [awsRequest('x86_64'), guestImageRequest, awsRequest('aarch64')],
  customizations: {
    packages: ['aide', 'tmux'],
    users: [{ name: 'admin', groups: ['wheel'], password: PASSWORD }],
    fips: { enabled: true },
  },
  earlierVersions: [
    {
      name: 'rhel9-golden',
      distribution: 'rhel-9',
      image_requests: [awsRequest('x86_64')],
      customizations: { packages: ['aide'], users: [{ name: 'admin', password: PASSWORD }] },
    },
  ],
  savedAt: new Date(savedAt.getTime() - HOUR_MS),
});

let clock: Date;
let service: FakeImageBuilder;
let client: ImageBuilderClient;

async function start(options: Parameters<typeof startFakeImageBuilder>[0] = {}) {
  service = await startFakeImageBuilder({ now: () => clock, blueprints: [golden(clock)], ...options });
  client = clientOf(service);
}

beforeEach(async () => {
  clock = new Date('2026-11-30T10:00:00Z');
  await start();
});
afterEach(() => service.close());

async function token(): Promise<string> {
  const { clientId, clientSecret } = service.credentials;
  const answer = await fetch(service.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: 'api.console',
    }),
  });
  return ((await answer.json()) as { access_token: string }).access_token;
}

/** The fields these tests read off an answer; the spec check holds the rest of its shape. */
interface Answered {
  id?: string;
  meta: { count: number };
  links: { first: string; last: string };
  data: Record<string, unknown>[];
  errors: { title: string; detail: string }[];
  image_requests: unknown[];
  customizations: { packages?: string[]; users?: unknown[] };
  lint: unknown;
}

/** One raw call: the status, the body's text (to look for passwords) and its JSON. */
async function call(path: string, init: { method?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const answer = await fetch(`${service.baseUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await answer.text();
  return { status: answer.status, text, json: (text === '' ? undefined : JSON.parse(text)) as Answered };
}

const valid = { valid: true, errors: [] };

describeWithSpec('the fake Image Builder’s blueprints', () => {
  describe('GET /blueprints', () => {
    it('lists the latest version of each, last saved first, valid against the spec', async () => {
      service.addBlueprint({ ...golden(clock), id: undefined, name: 'newer', earlierVersions: [], savedAt: clock });

      const page = await call('/blueprints');

      expect(page.status).toBe(200);
      expect(checkSpecSchema('BlueprintsResponse', page.json)).toEqual(valid);
      expect(page.json.meta).toEqual({ count: 2 });
      expect(page.json.data.map((b) => b.name)).toEqual(['newer', 'rhel9-golden']);
      expect(page.json.data[1]).toEqual({
        id: GOLDEN_ID,
        name: 'rhel9-golden',
        description: 'The platform team’s RHEL 9 base',
        version: 2,
        last_modified_at: '2026-11-30T09:00:00Z',
      });
      expect(page.json.links).toEqual({
        first: '/api/image-builder/v1.0/blueprints?limit=100&offset=0',
        last: '/api/image-builder/v1.0/blueprints?limit=100&offset=1',
      });
    });

    it('pages 150 blueprints for the real client, which reads every page once', async () => {
      for (let n = 0; n < 149; n += 1) {
        service.addBlueprint({ ...golden(clock), id: undefined, name: `bp-${n}`, earlierVersions: [] });
        clock = new Date(clock.getTime() + 1000);
      }
      const second = await call('/blueprints?limit=100&offset=100');
      expect(checkSpecSchema('BlueprintsResponse', second.json)).toEqual(valid);
      expect(second.json.meta.count).toBe(150);
      expect(second.json.data).toHaveLength(50);

      const listed = await client.listBlueprints();

      expect(listed).toHaveLength(150);
      expect(new Set(listed.map((b) => b.id)).size).toBe(150);
      expect(listed[0]!.name).toBe('bp-148');
      const pages = service
        .apiRequests()
        .filter((r) => r.path.endsWith('/blueprints'))
        .slice(1);
      expect(pages.map((r) => r.query)).toEqual([
        { limit: '100', offset: '0' },
        { limit: '100', offset: '100' },
      ]);
    });

    it('keeps the blueprint of exactly a name, and searches names and descriptions whatever the case', async () => {
      service.addBlueprint({
        ...golden(clock),
        id: undefined,
        name: 'web',
        description: 'Golden web tier',
        earlierVersions: [],
      });
      service.addBlueprint({
        ...golden(clock),
        id: undefined,
        name: 'db',
        description: 'Postgres',
        earlierVersions: [],
      });

      await expect(client.listBlueprints({ name: 'rhel9-golden' })).resolves.toMatchObject([{ id: GOLDEN_ID }]);
      await expect(client.listBlueprints({ name: 'RHEL9-golden' })).resolves.toEqual([]);
      const searched = await call('/blueprints?search=GOLDEN&limit=1');
      expect(checkSpecSchema('BlueprintsResponse', searched.json)).toEqual(valid);
      expect(searched.json.meta.count).toBe(2);
      expect(searched.json.data).toHaveLength(1);
      expect(searched.json.links.last).toBe('/api/image-builder/v1.0/blueprints?limit=1&offset=1&search=GOLDEN');
    });

    it.each(['0', '101', 'ten'])('refuses limit=%s with 400, as it refuses it on GET /composes', async (limit) => {
      const answer = await call(`/blueprints?limit=${limit}`);
      expect(answer.status).toBe(400);
      expect(checkSpecSchema('HTTPErrorList', answer.json)).toEqual(valid);
      expect((await call(`/composes?limit=${limit}`)).status).toBe(400);
    });
  });

  describe('GET /blueprints/{id}', () => {
    it('answers the latest version with its lint, no version number and no password, valid against the spec', async () => {
      const detail = await call(`/blueprints/${GOLDEN_ID}`);

      expect(detail.status).toBe(200);
      expect(checkSpecSchema('BlueprintResponse', detail.json)).toEqual(valid);
      expect(detail.json).not.toHaveProperty('version');
      expect(detail.json.image_requests).toHaveLength(3);
      expect(detail.json.customizations.users).toEqual([{ name: 'admin', groups: ['wheel'], hasPassword: true }]);
      expect(detail.json.lint).toEqual({ errors: [], warnings: [] });
      expect(detail.text).not.toContain(PASSWORD);
      await expect(client.getBlueprint(GOLDEN_ID)).resolves.toMatchObject({
        name: 'rhel9-golden',
        customizations: { packages: ['aide', 'tmux'], users: [{ name: 'admin', hasPassword: true }] },
      });
    });

    it('answers an earlier version when asked, the latest for -1, and 404 for a version never saved', async () => {
      const first = await call(`/blueprints/${GOLDEN_ID}?version=1`);
      expect(checkSpecSchema('BlueprintResponse', first.json)).toEqual(valid);
      expect(first.json.customizations.packages).toEqual(['aide']);
      expect(first.text).not.toContain(PASSWORD);
      expect((await call(`/blueprints/${GOLDEN_ID}?version=-1`)).json.customizations.packages).toEqual([
        'aide',
        'tmux',
      ]);
      expect((await client.getBlueprint(GOLDEN_ID, 1)).image_requests).toHaveLength(1);
      await expect(client.getBlueprint(GOLDEN_ID, 3)).rejects.toMatchObject({ kind: 'not-found' });
      expect((await call(`/blueprints/${GOLDEN_ID}?version=0`)).status).toBe(400);
    });

    it('answers 404 for an unknown blueprint and 400 for an id that is not a UUID', async () => {
      const unknown = await call(`/blueprints/${UNKNOWN_ID}`);
      expect(unknown).toMatchObject({
        status: 404,
        json: { errors: [{ title: '404', detail: 'blueprint not found' }] },
      });
      expect(checkSpecSchema('HTTPErrorList', unknown.json)).toEqual(valid);
      await expect(client.getBlueprint(UNKNOWN_ID)).rejects.toMatchObject({ kind: 'not-found' });
      expect((await call('/blueprints/rhel9-golden')).status).toBe(400);
    });

    it('reports the lint a test sets, which the client reads', async () => {
      const error = { name: 'Compliance', description: 'package aide required by policy is not present' };
      service.setBlueprintLint(GOLDEN_ID, { errors: [error] });

      const detail = await call(`/blueprints/${GOLDEN_ID}`);

      expect(checkSpecSchema('BlueprintResponse', detail.json)).toEqual(valid);
      expect((await client.getBlueprint(GOLDEN_ID)).lint).toEqual({ errors: [error], warnings: [] });
      expect((await client.getBlueprint(GOLDEN_ID, 1)).lint.errors).toEqual([]);
    });
  });

  describe('POST, PUT and DELETE /blueprints', () => {
    const body = {
      name: 'web',
      description: 'The web tier',
      distribution: 'rhel-10',
      image_requests: [guestImageRequest],
      customizations: { users: [{ name: 'ops', password: PASSWORD }] },
    };

    it('creates a blueprint at version 1 and saves a new version on PUT, keeping a password left out', async () => {
      expect(checkSpecSchema('CreateBlueprintRequest', body)).toEqual(valid);
      const created = await call('/blueprints', { body });
      expect(created.status).toBe(201);
      expect(checkSpecSchema('CreateBlueprintResponse', created.json)).toEqual(valid);
      const id = created.json.id!;
      expect((await client.listBlueprints({ name: 'web' }))[0]).toMatchObject({ id, version: 1 });

      const changed = {
        ...body,
        customizations: { packages: ['nginx'], users: [{ name: 'ops', ssh_key: 'ssh-ed25519 AAAA ops' }] },
      };
      const updated = await call(`/blueprints/${id}`, { method: 'PUT', body: changed });

      expect(updated.status).toBe(201);
      expect(checkSpecSchema('CreateBlueprintResponse', updated.json)).toEqual(valid);
      expect((await client.listBlueprints({ name: 'web' }))[0]).toMatchObject({ id, version: 2 });
      const detail = await call(`/blueprints/${id}`);
      expect(detail.json.customizations.users).toEqual([
        { name: 'ops', ssh_key: 'ssh-ed25519 AAAA ops', hasPassword: true },
      ]);
      expect(detail.text).not.toContain(PASSWORD);
    });

    it('refuses a body off the spec with 400, a blank or taken name with 422, and PUT of an unknown blueprint with 404', async () => {
      const answers = [
        await call('/blueprints', { body: { ...body, colour: 'red' } }),
        await call('/blueprints', { body: { ...body, image_requests: [] } }),
        await call('/blueprints', { body: { ...body, name: '   ' } }),
        await call('/blueprints', { body: { ...body, name: 'rhel9-golden' } }),
        await call(`/blueprints/${UNKNOWN_ID}`, { method: 'PUT', body }),
      ];

      expect(answers.map((a) => a.status)).toEqual([400, 400, 422, 422, 404]);
      for (const answer of answers) expect(checkSpecSchema('HTTPErrorList', answer.json)).toEqual(valid);
      expect(answers[3]!.json.errors[0]!.title).toBe('Name not unique');
      expect(service.blueprints.size).toBe(1);
    });

    it('deletes every version with 204; the composes built from it stay', async () => {
      const [built] = await client.composeBlueprint(GOLDEN_ID, ['guest-image']);

      const deleted = await call(`/blueprints/${GOLDEN_ID}`, { method: 'DELETE' });

      expect(deleted).toMatchObject({ status: 204, text: '' });
      await expect(client.getBlueprint(GOLDEN_ID, 1)).rejects.toMatchObject({ kind: 'not-found' });
      await expect(client.listBlueprints()).resolves.toEqual([]);
      expect((await client.listComposes()).data.map((c) => c.id)).toEqual([built!.id]);
      expect((await call(`/blueprints/${GOLDEN_ID}`, { method: 'DELETE' })).status).toBe(404);
    });

    it('lets a test save a new version and delete a blueprint, as someone in the console would', async () => {
      clock = new Date(clock.getTime() + HOUR_MS);
      expect(service.saveBlueprintVersion(GOLDEN_ID, { description: 'Now with vim' })).toBe(3);

      expect((await client.listBlueprints())[0]).toMatchObject({
        version: 3,
        description: 'Now with vim',
        last_modified_at: '2026-11-30T11:00:00Z',
      });
      expect((await client.getBlueprint(GOLDEN_ID, 2)).description).toBe('The platform team’s RHEL 9 base');
      service.deleteBlueprint(GOLDEN_ID);
      await expect(client.getBlueprint(GOLDEN_ID)).rejects.toMatchObject({ kind: 'not-found' });
    });
  });

  describe('POST /blueprints/{id}/compose', () => {
    it('builds one compose per saved image request of the asked types, in the blueprint’s order', async () => {
      const created = await client.composeBlueprint(GOLDEN_ID, ['aws']);

      expect(created).toHaveLength(2);
      const [first, second] = created.map(({ id }) => service.composes.get(id)!);
      expect(first!.request).toEqual({
        distribution: 'rhel-9',
        image_name: 'rhel9-golden',
        image_description: 'The platform team’s RHEL 9 base',
        client_id: 'api',
        image_requests: [awsRequest('x86_64')],
        customizations: {
          packages: ['aide', 'tmux'],
          users: [{ name: 'admin', groups: ['wheel'], hasPassword: true }],
          fips: { enabled: true },
        },
      });
      expect(second!.request.image_requests).toEqual([awsRequest('aarch64')]);
      for (const compose of [first!, second!]) {
        expect(checkSpecSchema('ComposeRequest', compose.request)).toEqual(valid);
        expect(compose.blueprint).toEqual({ id: GOLDEN_ID, version: 2 });
      }
      const [received] = service.blueprintComposeRequests(GOLDEN_ID);
      expect(received).toMatchObject({ status: 201, body: { image_types: ['aws'] } });
    });

    it('answers an empty list, building nothing, when no saved image request is of the asked types', async () => {
      await expect(client.composeBlueprint(GOLDEN_ID, ['gcp'])).resolves.toEqual([]);
      // Compared verbatim, as the handler compares: the alias ami is not the saved aws.
      await expect(client.composeBlueprint(GOLDEN_ID, ['ami'])).resolves.toEqual([]);
      expect(service.composes.size).toBe(0);
      expect(service.blueprintComposeRequests()).toHaveLength(2);
    });

    it('builds every saved image request when the body is left out; the answer is valid against the spec', async () => {
      const answer = await call(`/blueprints/${GOLDEN_ID}/compose`, { method: 'POST' });

      expect(answer.status).toBe(201);
      expect(checkOperation('/blueprints/{id}/compose', 'post', '201', answer.json)).toEqual(valid);
      const types = (answer.json as unknown as { id: string }[]).map(({ id }) => {
        const [imageRequest] = service.composes.get(id)!.request.image_requests as { image_type: string }[];
        return imageRequest!.image_type;
      });
      expect(types).toEqual(['aws', 'guest-image', 'aws']);
    });

    it('stops at the quota, the composes before the refusal built, and 404s an unknown blueprint', async () => {
      await service.close();
      await start({ quota: { builds: 1, days: 14 } });

      const refusal = await client.composeBlueprint(GOLDEN_ID, ['aws']).catch((error: unknown) => error);

      expect(refusal).toMatchObject({ kind: 'forbidden', mayHaveBeenSubmitted: true });
      expect(service.composes.size).toBe(1);
      await expect(client.composeBlueprint(UNKNOWN_ID, ['aws'])).rejects.toMatchObject({ kind: 'not-found' });
    });

    it('builds a blueprint with lint errors, as the service’s handler does: refusing it is the bot’s job', async () => {
      service.setBlueprintLint(GOLDEN_ID, { errors: [{ name: 'Compliance', description: 'aide is missing' }] });

      await expect(client.composeBlueprint(GOLDEN_ID, ['guest-image'])).resolves.toHaveLength(1);
    });

    it('lets GET /composes/{id} follow a blueprint compose through its script', async () => {
      const [built] = await client.composeBlueprint(GOLDEN_ID, ['guest-image']);
      service.script(built!.id, ['building', 'success']);

      const building = await call(`/composes/${built!.id}`);
      expect(checkSpecSchema('ComposeStatus', building.json)).toEqual(valid);
      await expect(client.getCompose(built!.id)).resolves.toMatchObject({
        image_status: { status: 'success', upload_status: { type: 'aws.s3' } },
        request: { image_name: 'rhel9-golden' },
      });
    });
  });

  describe('GET /blueprints/{id}/composes', () => {
    it('lists the blueprint’s composes of the last 14 days, newest first, of one version when asked', async () => {
      service.addCompose({ request: { distribution: 'rhel-9', image_requests: [guestImageRequest] } });
      clock = new Date(clock.getTime() - 15 * 24 * HOUR_MS);
      await client.composeBlueprint(GOLDEN_ID, ['guest-image']);
      clock = new Date(clock.getTime() + 15 * 24 * HOUR_MS);
      const [older] = await client.composeBlueprint(GOLDEN_ID, ['guest-image']);
      service.saveBlueprintVersion(GOLDEN_ID, { description: 'v3' });
      clock = new Date(clock.getTime() + 1000);
      const [newer] = await client.composeBlueprint(GOLDEN_ID, ['guest-image']);

      const page = await call(`/blueprints/${GOLDEN_ID}/composes`);

      expect(checkSpecSchema('ComposesResponse', page.json)).toEqual(valid);
      expect(page.json.meta.count).toBe(2);
      expect(page.json.data.map((c) => [c.id, c.blueprint_version])).toEqual([
        [newer!.id, 3],
        [older!.id, 2],
      ]);
      expect(page.json.data[0]).toMatchObject({ blueprint_id: GOLDEN_ID, image_name: 'rhel9-golden' });
      expect(page.text).not.toContain(PASSWORD);
      await expect(client.listBlueprintComposes(GOLDEN_ID, 2)).resolves.toMatchObject([{ id: older!.id }]);
      const latest = await call(`/blueprints/${GOLDEN_ID}/composes?blueprint_version=-1&limit=1`);
      expect(checkSpecSchema('ComposesResponse', latest.json)).toEqual(valid);
      expect(latest.json.data.map((c) => c.id)).toEqual([newer!.id]);
      expect(latest.json.links.first).toBe(
        `/api/image-builder/v1.0/composes?blueprint_id=${GOLDEN_ID}&blueprint_version=3&limit=1&offset=0`,
      );
    });

    it('names the blueprint and its version in GET /composes too, and 404s an unknown blueprint', async () => {
      await client.composeBlueprint(GOLDEN_ID, ['guest-image']);

      const all = await call('/composes');

      expect(checkSpecSchema('ComposesResponse', all.json)).toEqual(valid);
      expect(all.json.data[0]).toMatchObject({ blueprint_id: GOLDEN_ID, blueprint_version: 2 });
      await expect(client.listBlueprintComposes(UNKNOWN_ID)).rejects.toMatchObject({ kind: 'not-found' });
      expect((await call(`/blueprints/${GOLDEN_ID}/composes?limit=101`)).status).toBe(400);
    });
  });
});
