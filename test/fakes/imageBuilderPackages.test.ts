import type { ImageBuilderClient } from '../../src/imageBuilder';
import { packagesResponseSchema } from '../../src/imageBuilder/responseSchemas';
import { checkOperation, describeWithSpec } from '../support/openapi';
import { specBodies } from '../support/specBodies';
import { clientOf, startFakeImageBuilder, type FakeImageBuilder } from './imageBuilderService';

/*
 * GET /packages on the fake Image Builder answers as the service does (valid against its spec, read by the bot's
 * client), and the client's schema reads every answer the spec allows.
 */

let service: FakeImageBuilder;
let client: ImageBuilderClient;

beforeEach(async () => {
  service = await startFakeImageBuilder();
  client = clientOf(service);
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

describeWithSpec('GET /packages', () => {
  it('lists the packages whose name contains the search, with their count, valid against the spec', async () => {
    const found = await client.searchPackages({ distribution: 'rhel-9', architecture: 'x86_64', search: 'vim' });
    expect(found.data.map((p) => p.name)).toEqual(['vim-enhanced', 'vim-minimal']);
    expect(found.meta.count).toBe(2);
    const answer = await fetch(`${service.baseUrl}/packages?distribution=centos-9&architecture=aarch64&search=m`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(answer.status).toBe(200);
    expect(checkOperation('/packages', 'get', '200', await answer.json())).toEqual({ valid: true, errors: [] });
  });

  it('refuses a search without its required parameters, as the service does', async () => {
    const answer = await fetch(`${service.baseUrl}/packages?distribution=rhel-9&search=vim`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(answer.status).toBe(400);
  });

  it('answers no package for any search of a distribution without a package list', async () => {
    const found = await client.searchPackages({ distribution: 'rhel-10', architecture: 'x86_64', search: 'bash' });
    expect(found).toMatchObject({ meta: { count: 0 }, data: [] });
  });

  it('refuses a distribution the account may not build', async () => {
    await expect(
      client.searchPackages({ distribution: 'rhel-8', architecture: 'x86_64', search: 'bash' }),
    ).rejects.toMatchObject({ kind: 'forbidden' });
  });

  it('reads every answer the spec allows, but for a negative count (the spec says only "integer")', () => {
    for (const body of specBodies('PackagesResponse', 25) as { meta: { count: number } }[]) {
      const counted = { ...body, meta: { ...body.meta, count: Math.abs(body.meta.count) } };
      expect(packagesResponseSchema.safeParse(counted).success).toBe(true);
    }
  });

  it('refuses an answer without what the spec requires', () => {
    expect(packagesResponseSchema.safeParse({ meta: { count: 1 }, data: [{ name: 'bash' }] }).success).toBe(false);
  });
});
