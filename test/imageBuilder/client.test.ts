import { silentLogger } from '../../src/platform/logger';
import { ImageBuilderError, type ComposeRequest, type ImageBuilderLogger } from '../../src/imageBuilder';
import { awsCompose, COMPOSE_ID, harness, rejectionOf } from './helpers';

// pino's Logger is what the app passes; it must fit the client's logger type.
const _pinoFits: ImageBuilderLogger = silentLogger();

function ready() {
  const h = harness();
  h.issueTokens();
  return h;
}

const storedRequest = {
  distribution: 'rhel-9',
  image_requests: [
    {
      architecture: 'x86_64',
      image_type: 'aws',
      upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
    },
  ],
};

describe('submitting a compose', () => {
  it('sends exactly the request given and returns the new id', async () => {
    const h = ready();
    h.serve('POST', '/compose', { status: 201, body: { id: COMPOSE_ID } });
    const request: ComposeRequest = {
      distribution: 'rhel-10',
      image_name: 'build-42',
      image_description: 'for the demo',
      client_id: 'api',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'azure',
          upload_request: {
            type: 'azure',
            options: {
              tenant_id: 'b5b9a4a0-1111-4c8e-9a4e-2b7a3f1c0d11',
              subscription_id: '6f2c0a1e-2222-4b1d-8e3c-7d9a0b1c2d33',
              resource_group: 'images',
              hyper_v_generation: 'V2',
            },
          },
        },
      ],
    };

    await expect(h.client.createCompose(request)).resolves.toEqual({ id: COMPOSE_ID });

    expect(h.apiRequests).toHaveLength(1);
    const [sent] = h.apiRequests;
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent!.body!)).toEqual(request);
  });

  it.each([
    [
      'an image type that does not go with the upload',
      { ...awsCompose(), image_requests: [{ ...awsCompose().image_requests[0], image_type: 'gcp' }] },
    ],
    ['a key the service would reject', { ...awsCompose(), customisations: { packages: ['tmux'] } }],
    ['a customization the service does not have', { ...awsCompose(), customizations: { packages: [], motd: 'hi' } }],
    [
      'an AWS image shared with nobody',
      {
        ...awsCompose(),
        image_requests: [{ architecture: 'x86_64', image_type: 'aws', upload_request: { type: 'aws', options: {} } }],
      },
    ],
    [
      'two image requests',
      { ...awsCompose(), image_requests: [awsCompose().image_requests[0], awsCompose().image_requests[0]] },
    ],
    ['no distribution', { image_requests: awsCompose().image_requests }],
  ])('refuses %s without sending anything', async (_what, request) => {
    const h = ready();
    h.serve('POST', '/compose', { status: 201, body: { id: COMPOSE_ID } });

    const error = await rejectionOf(h.client.createCompose(request as unknown as ComposeRequest));

    expect(error).toBeInstanceOf(ImageBuilderError);
    expect(error).toMatchObject({ kind: 'invalid-request', retryable: false });
    expect((error as ImageBuilderError).detail).toBeTruthy();
    expect(h.apiRequests).toHaveLength(0);
    expect(h.tokenRequests).toHaveLength(0);
  });

  it('shows the quota message from the service verbatim', async () => {
    const h = ready();
    h.serve('POST', '/compose', {
      status: 403,
      body: { errors: [{ title: '403', detail: 'Quota of 100 builds per 14 days exceeded' }] },
    });

    const error = await rejectionOf(h.client.createCompose(awsCompose()));

    expect(error).toMatchObject({
      kind: 'forbidden',
      status: 403,
      detail: 'Quota of 100 builds per 14 days exceeded',
      retryable: false,
    });
    expect((error as Error).message).toContain('Quota of 100 builds per 14 days exceeded');
  });

  it('shows why the service rejected a request', async () => {
    const h = ready();
    h.serve('POST', '/compose', {
      status: 400,
      body: {
        errors: [
          { title: '400', detail: 'Exactly one upload request should be included' },
          { title: 'Bad image', detail: 'image type not supported' },
        ],
      },
    });

    await expect(h.client.createCompose(awsCompose())).rejects.toMatchObject({
      kind: 'validation',
      status: 400,
      detail: 'Exactly one upload request should be included; Bad image: image type not supported',
    });
  });

  it('reports 415 as an unsupported media type', async () => {
    const h = ready();
    h.serve('POST', '/compose', {
      status: 415,
      body: { errors: [{ title: '415', detail: 'request must be json-encoded' }] },
    });

    await expect(h.client.createCompose(awsCompose())).rejects.toMatchObject({
      kind: 'unsupported-media-type',
      status: 415,
    });
  });

  it('reports a 407 from a forwarding proxy as proxy-auth-required', async () => {
    const h = ready();
    h.serve('POST', '/compose', { status: 407, body: '<html>Proxy Authentication Required</html>' });

    await expect(h.client.createCompose(awsCompose())).rejects.toMatchObject({
      kind: 'proxy-auth-required',
      status: 407,
    });
  });

  it('reports a created answer without an id as invalid', async () => {
    const h = ready();
    h.serve('POST', '/compose', { status: 201, body: {} });

    await expect(h.client.createCompose(awsCompose())).rejects.toMatchObject({ kind: 'invalid-response', status: 201 });
  });
});

describe('reading a compose', () => {
  it('returns the status with progress, and the request as stored', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 200,
      body: {
        image_status: { status: 'building', progress: { done: 3, total: 7, subprogress: { done: 1, total: 4 } } },
        request: storedRequest,
      },
    });

    const status = await h.client.getCompose(COMPOSE_ID);

    expect(status.image_status).toMatchObject({
      status: 'building',
      progress: { done: 3, total: 7, subprogress: { done: 1, total: 4 } },
    });
    expect(status.request.distribution).toBe('rhel-9');
    expect(h.apiRequests[0]!.headers.accept).toBe('application/json');
    expect(h.apiRequests[0]!.headers['content-type']).toBeUndefined();
  });

  it('keeps a status it does not know instead of failing', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 200,
      body: { image_status: { status: 'running' }, request: storedRequest },
    });

    await expect(h.client.getCompose(COMPOSE_ID)).resolves.toMatchObject({ image_status: { status: 'running' } });
  });

  it('reads where a GCP image landed as GCP, not Azure', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 200,
      body: {
        image_status: {
          status: 'success',
          upload_status: {
            status: 'success',
            type: 'gcp',
            options: { project_id: 'red-hat-image-builder', image_name: 'composer-api-1234' },
          },
        },
        request: storedRequest,
      },
    });

    const { image_status } = await h.client.getCompose(COMPOSE_ID);

    expect(image_status.upload_status?.result).toEqual({
      type: 'gcp',
      project_id: 'red-hat-image-builder',
      image_name: 'composer-api-1234',
    });
  });

  it('reports an unknown compose as not found', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 404,
      body: { errors: [{ title: '404', detail: 'Compose not found' }] },
    });

    await expect(h.client.getCompose(COMPOSE_ID)).rejects.toMatchObject({
      kind: 'not-found',
      status: 404,
      detail: 'Compose not found',
    });
  });

  it('reports an HTML page (from a proxy, say) as an invalid response', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 200,
      body: '<!DOCTYPE html><html><body>Please log in</body></html>',
      headers: { 'content-type': 'text/html' },
    });

    const error = await rejectionOf(h.client.getCompose(COMPOSE_ID));

    expect(error).toMatchObject({ kind: 'invalid-response', status: 200, retryable: false });
    expect((error as Error).message).toMatch(/not JSON \(text\/html\)/);
    expect((error as Error).message).not.toMatch(/DOCTYPE|log in/);
  });

  it('reports an HTML error page on a 502 as unavailable, without the page in the detail', async () => {
    const h = harness({ retry: { maxAttempts: 1 } });
    h.issueTokens();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 502,
      body: '<html><h1>502 Bad Gateway</h1></html>',
      headers: { 'content-type': 'text/html' },
    });

    const error = await rejectionOf(h.client.getCompose(COMPOSE_ID));

    expect(error).toMatchObject({ kind: 'unavailable', status: 502 });
    expect((error as ImageBuilderError).detail).toBeUndefined();
  });

  it('reports JSON of the wrong shape as an invalid response naming the field', async () => {
    const h = ready();
    h.serve('GET', `/composes/${COMPOSE_ID}`, {
      status: 200,
      body: { image_status: { progress: { done: 1, total: 2 } } },
    });

    const error = await rejectionOf(h.client.getCompose(COMPOSE_ID));

    expect(error).toMatchObject({ kind: 'invalid-response' });
    expect((error as Error).message).toContain('image_status.status');
  });

  it('keeps the compose id inside its path segment', async () => {
    const h = ready();
    h.serve('GET', (p) => p.startsWith('/composes/'), { status: 404 });

    await rejectionOf(h.client.getCompose('../distributions'));

    expect(h.apiRequests[0]!.path).toBe('/api/image-builder/v1/composes/..%2Fdistributions');
  });
});

describe('listing composes', () => {
  const item = (n: number) => ({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    request: storedRequest,
    created_at: '2025-05-01 10:20:30.123456 +0000 UTC',
    image_name: `image-${n}`,
  });

  it('asks for the page requested', async () => {
    const h = ready();
    h.serve('GET', (p) => p.startsWith('/composes?'), {
      status: 200,
      body: { meta: { count: 1 }, links: { first: '/x', last: '/y' }, data: [item(1)] },
    });

    const page = await h.client.listComposes({ limit: 10, offset: 20 });

    expect(h.apiRequests[0]!.path).toBe('/api/image-builder/v1/composes?limit=10&offset=20');
    expect(page.meta.count).toBe(1);
    expect(page.data[0]).toMatchObject({ id: item(1).id, image_name: 'image-1' });
  });

  it('treats a null list as empty', async () => {
    const h = ready();
    h.serve('GET', '/composes', {
      status: 200,
      body: { meta: { count: 0 }, links: { first: '', last: '' }, data: null },
    });

    await expect(h.client.listComposes()).resolves.toMatchObject({ data: [] });
  });

  it.each([0, 101, 1.5])('refuses a page size of %p without asking', async (limit) => {
    const h = ready();
    await expect(h.client.listComposes({ limit })).rejects.toMatchObject({ kind: 'invalid-request' });
    expect(h.apiRequests).toHaveLength(0);
  });

  it('pages through every compose with limit and offset', async () => {
    const h = ready();
    const all = Array.from({ length: 250 }, (_, i) => item(i));
    h.serve(
      'GET',
      (p) => p.startsWith('/composes?'),
      (req) => {
        const query = new URL(req.path, 'http://x').searchParams;
        const limit = Number(query.get('limit'));
        const offset = Number(query.get('offset'));
        return {
          status: 200,
          body: {
            meta: { count: all.length },
            links: { first: '', last: '' },
            data: all.slice(offset, offset + limit),
          },
        };
      },
    );

    const ids: string[] = [];
    for await (const compose of h.client.listAllComposes()) ids.push(compose.id);

    expect(ids).toEqual(all.map((c) => c.id));
    expect(h.apiRequests.map((r) => r.path.split('?')[1])).toEqual([
      'limit=100&offset=0',
      'limit=100&offset=100',
      'limit=100&offset=200',
    ]);
  });

  it('reports each compose once when a new one pushes the list down while paging', async () => {
    const h = ready();
    const pages = [
      { meta: { count: 3 }, data: [item(3), item(2)] },
      // A new compose arrived: item 2 moved to offset 2.
      { meta: { count: 4 }, data: [item(2), item(1)] },
      { meta: { count: 4 }, data: [] },
    ];
    h.serve(
      'GET',
      (p) => p.startsWith('/composes?'),
      (_req, i) => ({ status: 200, body: { ...pages[i], links: { first: '', last: '' } } }),
    );

    const ids: string[] = [];
    for await (const compose of h.client.listAllComposes({ pageSize: 2 })) ids.push(compose.image_name ?? '');

    expect(ids).toEqual(['image-3', 'image-2', 'image-1']);
  });

  it('stops at an empty page even if the count promised more', async () => {
    const h = ready();
    h.serve('GET', (p) => p.startsWith('/composes?'), {
      status: 200,
      body: { meta: { count: 5 }, links: { first: '', last: '' }, data: [] },
    });

    const ids: string[] = [];
    for await (const compose of h.client.listAllComposes()) ids.push(compose.id);

    expect(ids).toEqual([]);
    expect(h.apiRequests).toHaveLength(1);
  });
});

describe('what the account may build', () => {
  it('lists the classic distributions and skips bootc entries', async () => {
    const h = ready();
    h.serve('GET', '/distributions', {
      status: 200,
      body: [
        { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
        { name: 'centos-9', description: 'CentOS Stream 9' },
        {
          distro: 'rhel-10.0',
          name: 'Red Hat Enterprise Linux 10.0',
          type: 'aws',
          arch: 'x86_64',
          reference: 'quay.io/x:latest',
        },
        { something: 'else' },
      ],
    });

    await expect(h.client.getDistributions()).resolves.toEqual([
      { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
      { name: 'centos-9', description: 'CentOS Stream 9' },
    ]);
  });

  it('reports a distributions answer that is not a list as invalid', async () => {
    const h = ready();
    h.serve('GET', '/distributions', { status: 200, body: { distributions: [] } });

    await expect(h.client.getDistributions()).rejects.toMatchObject({ kind: 'invalid-response' });
  });

  it('lists architectures and image types for a distribution', async () => {
    const h = ready();
    h.serve('GET', '/architectures/rhel-9', {
      status: 200,
      body: [
        {
          arch: 'x86_64',
          image_types: ['aws', 'gcp', 'azure', 'guest-image'],
          repositories: [{ baseurl: 'https://cdn/x' }],
        },
        { arch: 'aarch64', image_types: ['aws', 'guest-image'], repositories: [] },
      ],
    });

    const archs = await h.client.getArchitectures('rhel-9');

    expect(archs.map((a) => [a.arch, a.image_types])).toEqual([
      ['x86_64', ['aws', 'gcp', 'azure', 'guest-image']],
      ['aarch64', ['aws', 'guest-image']],
    ]);
  });

  it('reports a distribution the account may not query as forbidden', async () => {
    const h = ready();
    h.serve('GET', '/architectures/rhel-8', {
      status: 403,
      body: { errors: [{ title: '403', detail: 'Distribution rhel-8 not allowed' }] },
    });

    await expect(h.client.getArchitectures('rhel-8')).rejects.toMatchObject({
      kind: 'forbidden',
      detail: 'Distribution rhel-8 not allowed',
    });
  });
});

describe('readiness', () => {
  it('is ready when the service says so', async () => {
    const h = ready();
    h.serve('GET', '/ready', { status: 200, body: { readiness: 'ready' } });
    await expect(h.client.ready()).resolves.toEqual({ ready: true, readiness: 'ready' });
  });

  it('is not ready when the service says anything else', async () => {
    const h = ready();
    h.serve('GET', '/ready', { status: 200, body: { readiness: 'degraded' } });
    await expect(h.client.ready()).resolves.toEqual({ ready: false, readiness: 'degraded' });
  });
});
