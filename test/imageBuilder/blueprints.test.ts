import { Agent, type Dispatcher } from 'undici';
import { createImageBuilderClient, type ImageBuilderClientOptions } from '../../src/imageBuilder';
import { checkOperation, checkSpecSchema, describeWithSpec } from '../support/openapi';
import { BLUEPRINT, blueprintDetail, blueprintItem, blueprintsPage } from './blueprintBodies';
import {
  API_PREFIX,
  AUTH,
  closedPort,
  COMPOSE_ID,
  harness,
  listen,
  readBody,
  recordingLogger,
  rejectionOf,
  type SeenRequest,
} from './helpers';

const OTHER_COMPOSE_ID = '9a3e55c1-7f0d-4b7e-8c55-0d2f4f8a1b22';
/** The service's 404 for a blueprint it does not have (echo's HTTPError around db.ErrBlueprintNotFound). */
const BLUEPRINT_NOT_FOUND = { errors: [{ title: '404', detail: 'blueprint not found' }] };

const queryOf = (request: SeenRequest) => Object.fromEntries(new URL(request.path, 'http://x').searchParams);
const uuidFor = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** `count` blueprints named bp-0 … and a service that pages through them as the real one does. */
function serveBlueprints(
  h: ReturnType<typeof harness>,
  count: number,
  itemsFor = (offset: number, limit: number) =>
    Array.from({ length: Math.max(0, Math.min(limit, count - offset)) }, (_, i) =>
      blueprintItem({ id: uuidFor(offset + i), name: `bp-${offset + i}` }),
    ),
) {
  h.serve(
    'GET',
    (p) => p.startsWith('/blueprints?'),
    (request) => {
      const { limit = '100', offset = '0' } = queryOf(request);
      return { status: 200, body: blueprintsPage(itemsFor(Number(offset), Number(limit)), count, Number(limit)) };
    },
  );
}

describe('listing blueprints', () => {
  it('reads every page, 100 at a time, in the order the service lists them', async () => {
    const h = harness();
    h.issueTokens();
    serveBlueprints(h, 250);

    const blueprints = await h.client.listBlueprints();

    expect(blueprints).toHaveLength(250);
    expect(blueprints.slice(0, 2).map((b) => b.name)).toEqual(['bp-0', 'bp-1']);
    expect(blueprints.at(-1)).toMatchObject({ name: 'bp-249', version: 3, last_modified_at: '2026-11-30T09:12:44Z' });
    expect(h.apiRequests.map(queryOf)).toEqual([
      { limit: '100', offset: '0' },
      { limit: '100', offset: '100' },
      { limit: '100', offset: '200' },
    ]);
  });

  it('lists a blueprint once when a save moved the list while it was paged', async () => {
    const h = harness();
    h.issueTokens();
    // Between the two pages bp-0 was saved again, pushing every other blueprint one place down.
    serveBlueprints(h, 150, (offset, limit) =>
      Array.from({ length: Math.min(limit, 150 - offset) }, (_, i) => {
        const n = offset === 0 ? i : offset + i - 1;
        return blueprintItem({ id: uuidFor(n), name: `bp-${n}` });
      }),
    );

    const names = (await h.client.listBlueprints()).map((b) => b.name);

    expect(names).toHaveLength(149);
    expect(new Set(names).size).toBe(names.length);
  });

  it('answers an organisation without blueprints with an empty list, in one request', async () => {
    const h = harness();
    h.issueTokens();
    serveBlueprints(h, 0);

    await expect(h.client.listBlueprints()).resolves.toEqual([]);
    expect(h.apiRequests).toHaveLength(1);
  });

  it('asks the service for the blueprint of one name', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', (p) => p.startsWith('/blueprints?'), { status: 200, body: blueprintsPage([blueprintItem()], 1) });

    await expect(h.client.listBlueprints({ name: 'rhel9 golden & co' })).resolves.toEqual([blueprintItem()]);
    expect(queryOf(h.apiRequests[0]!)).toEqual({ name: 'rhel9 golden & co', limit: '100', offset: '0' });
  });

  it('refuses a blank name rather than list every blueprint', async () => {
    const h = harness();
    await expect(h.client.listBlueprints({ name: '  ' })).rejects.toMatchObject({ kind: 'invalid-request' });
    expect(h.apiRequests).toEqual([]);
  });

  it('refuses a page that is not a blueprint list, saying which field is wrong', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', (p) => p.startsWith('/blueprints?'), {
      status: 200,
      body: blueprintsPage([{ ...blueprintItem(), version: 'latest' }], 1),
    });

    const error = await rejectionOf(h.client.listBlueprints());

    expect(error).toMatchObject({ kind: 'invalid-response', status: 200 });
    expect((error as Error).message).toMatch(/GET \/blueprints answered 200\): data\.0\.version/);
  });

  it('retries a list the gateway answered 503', async () => {
    const h = harness();
    h.issueTokens();
    h.serve(
      'GET',
      (p) => p.startsWith('/blueprints?'),
      (_request, index) =>
        index === 0 ? { status: 503 } : { status: 200, body: blueprintsPage([blueprintItem()], 1) },
    );

    await expect(h.client.listBlueprints()).resolves.toHaveLength(1);
    expect(h.apiRequests).toHaveLength(2);
  });
});

describe('reading one blueprint', () => {
  it('reads the latest version with its lint', async () => {
    const h = harness();
    h.issueTokens();
    const lint = { errors: [{ name: 'Compliance', description: 'package aide required by policy is not present' }] };
    h.serve('GET', `/blueprints/${BLUEPRINT.id}`, {
      status: 200,
      body: blueprintDetail({ lint: { ...lint, warnings: null } }),
    });

    const blueprint = await h.client.getBlueprint(BLUEPRINT.id);

    expect(blueprint).toMatchObject({ name: 'rhel9-golden', distribution: 'rhel-9', lint: { ...lint, warnings: [] } });
    expect(blueprint.image_requests.map((r) => r.image_type)).toEqual(['aws', 'guest-image']);
  });

  it('asks for one version', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', `/blueprints/${BLUEPRINT.id}?version=2`, { status: 200, body: blueprintDetail() });

    await expect(h.client.getBlueprint(BLUEPRINT.id, 2)).resolves.toMatchObject({ id: BLUEPRINT.id });
    expect(h.apiRequests).toHaveLength(1);
  });

  it.each([
    ['a deleted blueprint', undefined, `blueprint ${BLUEPRINT.id} `],
    ['a version it does not have', 7, `blueprint ${BLUEPRINT.id} version 7 `],
  ])('says the service has no such blueprint for %s, naming it', async (_, version, named) => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', (p) => p.startsWith(`/blueprints/${BLUEPRINT.id}`), { status: 404, body: BLUEPRINT_NOT_FOUND });

    const error = await rejectionOf(h.client.getBlueprint(BLUEPRINT.id, version));

    expect(error).toMatchObject({ kind: 'not-found', status: 404, retryable: false, detail: 'blueprint not found' });
    expect((error as Error).message).toBe(
      `Image Builder has no ${named}(it may have been deleted) (GET /blueprints/{id} answered 404): blueprint not found`,
    );
    expect(h.apiRequests).toHaveLength(1);
  });

  it.each([
    ['an id that is not a UUID', 'rhel9-golden', undefined],
    ['version 0', BLUEPRINT.id, 0],
    ['version -1 (the service reads it as the latest: leave the version out)', BLUEPRINT.id, -1],
    ['a version that is not whole', BLUEPRINT.id, 1.5],
  ])('refuses %s without asking', async (_, id, version) => {
    const h = harness();
    await expect(h.client.getBlueprint(id, version)).rejects.toMatchObject({ kind: 'invalid-request' });
    expect(h.apiRequests).toEqual([]);
  });

  it('refuses a blueprint without its lint: whether it may be built cannot be told', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', `/blueprints/${BLUEPRINT.id}`, { status: 200, body: { ...blueprintDetail(), lint: undefined } });

    const error = await rejectionOf(h.client.getBlueprint(BLUEPRINT.id));
    expect(error).toMatchObject({ kind: 'invalid-response' });
    expect((error as Error).message).toMatch(/lint/);
  });
});

describeWithSpec('building a blueprint', () => {
  const CREATED = { status: 201, body: [{ id: COMPOSE_ID }, { id: OTHER_COMPOSE_ID }] };
  const composePath = `/blueprints/${BLUEPRINT.id}/compose`;

  it('sends the image types as the spec describes and returns one compose per saved image request', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, CREATED);

    const composes = await h.client.composeBlueprint(BLUEPRINT.id, ['aws', 'guest-image']);

    expect(composes).toEqual([{ id: COMPOSE_ID }, { id: OTHER_COMPOSE_ID }]);
    const [request] = h.apiRequests;
    expect(request!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request!.body!) as unknown;
    expect(body).toEqual({ image_types: ['aws', 'guest-image'] });
    expect(checkOperation('/blueprints/{id}/compose', 'post', 'request', body)).toEqual({ valid: true, errors: [] });
    expect(checkOperation('/blueprints/{id}/compose', 'post', '201', CREATED.body).valid).toBe(true);
    expect(h.lines.find((l) => l.msg.startsWith('Submitted the composes of a blueprint'))?.obj).toMatchObject({
      blueprintId: BLUEPRINT.id,
      composeIds: [COMPOSE_ID, OTHER_COMPOSE_ID],
    });
  });

  it('returns no compose, and logs that nothing was built, when no saved image request is of those types', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, { status: 201, body: [] });

    await expect(h.client.composeBlueprint(BLUEPRINT.id, ['gcp'])).resolves.toEqual([]);
    expect(h.lines.some((l) => l.msg.includes('built nothing of the blueprint'))).toBe(true);
  });

  it.each([
    ['no image type', []],
    ['an image type twice', ['aws', 'aws']],
    ['an image type the service does not know', ['qcow2']],
  ])('refuses %s without sending anything', async (_, imageTypes) => {
    const h = harness();
    await expect(h.client.composeBlueprint(BLUEPRINT.id, imageTypes)).rejects.toMatchObject({
      kind: 'invalid-request',
    });
    expect(h.apiRequests).toEqual([]);
  });

  it('says the blueprint is gone when the service answers 404: nothing was built', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, { status: 404, body: BLUEPRINT_NOT_FOUND });

    const error = await rejectionOf(h.client.composeBlueprint(BLUEPRINT.id, ['aws']));

    expect(error).toMatchObject({ kind: 'not-found', status: 404 });
    expect((error as { mayHaveBeenSubmitted?: boolean }).mayHaveBeenSubmitted).toBeUndefined();
    expect((error as Error).message).toMatch(new RegExp(`^Image Builder has no blueprint ${BLUEPRINT.id} `));
  });

  it.each([500, 502, 503, 504])(
    'never resends a build answered %i, and warns it may have been submitted',
    async (status) => {
      const h = harness();
      h.issueTokens();
      h.serve('POST', composePath, { status });

      const error = await rejectionOf(h.client.composeBlueprint(BLUEPRINT.id, ['aws']));

      expect(error).toMatchObject({ status, mayHaveBeenSubmitted: true, retryable: false });
      expect(h.apiRequests).toHaveLength(1);
      expect(h.sleeps).toEqual([]);
    },
  );

  it('warns that a quota refusal may have come after the first of several composes was accepted', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, {
      status: 403,
      body: { errors: [{ title: '403', detail: 'Quota of 100 builds per 14 days exceeded' }] },
    });

    const error = await rejectionOf(h.client.composeBlueprint(BLUEPRINT.id, ['aws', 'guest-image']));

    expect(error).toMatchObject({ kind: 'forbidden', mayHaveBeenSubmitted: true, retryable: false });
    expect((error as Error).message).toMatch(/Quota of 100 builds per 14 days exceeded; it may have been submitted/);
    expect(h.apiRequests).toHaveLength(1);
  });

  it('reports a rate-limited build as safe to try again: the gateway refused it before the service', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, { status: 429, headers: { 'retry-after': '20' } });

    const error = await rejectionOf(h.client.composeBlueprint(BLUEPRINT.id, ['aws']));

    expect(error).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 20_000 });
    expect(h.apiRequests).toHaveLength(1);
  });

  it('resends after a 401 with a new token: the request was refused at the door', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('POST', composePath, (req) =>
      req.headers.authorization === 'Bearer access-1' ? { status: 401 } : CREATED,
    );

    await expect(h.client.composeBlueprint(BLUEPRINT.id, ['aws'])).resolves.toHaveLength(2);
    expect(h.apiRequests).toHaveLength(2);
  });
});

describe('building a blueprint over real sockets', () => {
  const dispatchers: Dispatcher[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(closers.splice(0).map((close) => close()));
  });

  function loopbackClient(port: number, overrides: Partial<ImageBuilderClientOptions> = {}) {
    const dispatcher = new Agent();
    dispatchers.push(dispatcher);
    return createImageBuilderClient({
      baseUrl: `http://127.0.0.1:${port}${API_PREFIX}`,
      tokenUrl: `http://127.0.0.1:${port}/token`,
      auth: AUTH.basic,
      dispatcher,
      logger: recordingLogger().logger,
      timeouts: { requestMs: 300 },
      retry: { maxAttempts: 3 },
      sleep: async () => undefined,
      random: () => 0.5,
      ...overrides,
    });
  }

  it('does not resend a build when the connection drops after the request went out', async () => {
    const bodies: string[] = [];
    const server = await listen((req) => {
      void readBody(req).then((body) => {
        bodies.push(body);
        req.socket.destroy();
      });
    });
    closers.push(server.close);

    const error = await rejectionOf(loopbackClient(server.port).composeBlueprint(BLUEPRINT.id, ['aws']));

    expect(error).toMatchObject({ kind: 'unavailable', mayHaveBeenSubmitted: true, retryable: false });
    expect((error as Error).message).toMatch(/POST \/blueprints\/\{id\}\/compose.*may have been submitted/);
    expect(bodies).toEqual(['{"image_types":["aws"]}']);
  });

  it('resends a build that never reached the service because the connection was refused', async () => {
    const port = await closedPort();
    const bodies: string[] = [];
    const client = loopbackClient(port, {
      // The first attempt finds the port closed; the service comes up while the client waits to retry.
      sleep: async () => {
        const server = await listen(async (req, res) => {
          bodies.push(await readBody(req));
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: COMPOSE_ID }]));
        }, port);
        closers.push(server.close);
      },
    });

    await expect(client.composeBlueprint(BLUEPRINT.id, ['aws'])).resolves.toEqual([{ id: COMPOSE_ID }]);
    expect(bodies).toEqual(['{"image_types":["aws"]}']);
  });
});

describeWithSpec("a blueprint's composes", () => {
  const composesPath = `/blueprints/${BLUEPRINT.id}/composes`;
  const composeItem = (n: number, version = 3) => ({
    id: uuidFor(n),
    request: {
      distribution: 'rhel-9',
      image_name: 'rhel9-golden',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'aws',
          upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
        },
      ],
    },
    created_at: '2026-12-01T08:00:00Z',
    image_name: 'rhel9-golden',
    client_id: 'api',
    blueprint_id: BLUEPRINT.id,
    blueprint_version: version,
  });

  it('reads every page of one version, as the spec describes them', async () => {
    const h = harness();
    h.issueTokens();
    h.serve(
      'GET',
      (p) => p.startsWith(`${composesPath}?`),
      (request) => {
        const offset = Number(queryOf(request).offset);
        const data = Array.from({ length: Math.min(100, 130 - offset) }, (_, i) => composeItem(offset + i));
        return { status: 200, body: { meta: { count: 130 }, links: { first: 'first', last: 'last' }, data } };
      },
    );

    const composes = await h.client.listBlueprintComposes(BLUEPRINT.id, 3);

    expect(composes).toHaveLength(130);
    expect(composes[0]).toMatchObject({ blueprint_id: BLUEPRINT.id, blueprint_version: 3 });
    expect(h.apiRequests.map(queryOf)).toEqual([
      { blueprint_version: '3', limit: '100', offset: '0' },
      { blueprint_version: '3', limit: '100', offset: '100' },
    ]);
    const page = { meta: { count: 130 }, links: { first: 'first', last: 'last' }, data: [composeItem(0)] };
    expect(checkSpecSchema('ComposesResponse', page)).toEqual({ valid: true, errors: [] });
  });

  it('says the blueprint is gone when the service answers 404', async () => {
    const h = harness();
    h.issueTokens();
    h.serve('GET', (p) => p.startsWith(`${composesPath}?`), { status: 404, body: BLUEPRINT_NOT_FOUND });

    const error = await rejectionOf(h.client.listBlueprintComposes(BLUEPRINT.id));

    expect(error).toMatchObject({ kind: 'not-found' });
    expect((error as Error).message).toMatch(new RegExp(`no blueprint ${BLUEPRINT.id} \\(it may have been deleted\\)`));
  });
});
