import { startDistributionCatalog, type DistributionCatalog } from '../src/distributionCatalog';
import { createImageBuilderClient } from '../src/imageBuilder';
import { silentLogger } from '../src/logger';
import { startFakeImageBuilder, type FakeImageBuilder, type FakeImageBuilderOptions } from './fakes/imageBuilderService';
import { describeWithRealDistributions, realDistributionAnswers } from './support/realDistributions';

/*
 * The distribution catalog with the real Image Builder client, against the fake service giving the real service's
 * answers: what the forms offer comes from here.
 */

const HOUR_MS = 3_600_000;
let service: FakeImageBuilder | undefined;
let catalog: DistributionCatalog | undefined;

afterEach(async () => {
  catalog?.stop();
  await service?.close();
  catalog = undefined;
  service = undefined;
});

async function catalogOver(options: FakeImageBuilderOptions): Promise<DistributionCatalog> {
  service = await startFakeImageBuilder(options);
  const imageBuilder = createImageBuilderClient({
    baseUrl: service.baseUrl,
    tokenUrl: service.tokenUrl,
    auth: { kind: 'serviceAccount', clientId: service.credentials.clientId, clientSecret: service.credentials.clientSecret },
    logger: silentLogger(),
  });
  catalog = startDistributionCatalog({ imageBuilder, logger: silentLogger(), refreshMs: HOUR_MS });
  await catalog.refresh();
  return catalog;
}

describeWithRealDistributions('the distribution catalog, given the real GET /distributions', () => {
  it('offers the newest RHEL first, and the old names of RHEL minors after the modern ones', async () => {
    const { distributions } = realDistributionAnswers();
    const offered = (await catalogOver({ distributions })).current().map((d) => d.name);

    expect(offered[0]).toBe('rhel-10');
    expect(offered.slice(0, 5)).toEqual(['rhel-10', 'rhel-10.2', 'rhel-10.1', 'rhel-10.0', 'rhel-10-beta']);
    expect(offered.indexOf('rhel-95')).toBeGreaterThan(offered.indexOf('rhel-9.6'));
    expect(offered.indexOf('rhel-84')).toBeGreaterThan(offered.indexOf('rhel-8.10'));
    expect([...offered].sort()).toEqual(distributions.map((d) => d.name).sort());
  });
});
