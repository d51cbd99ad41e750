import { startDistributionCatalog, type DistributionCatalog } from '../src/imageBuilder/distributionCatalog';
import { createImageBuilderClient } from '../src/imageBuilder';
import { silentLogger } from '../src/platform/logger';
import {
  startFakeImageBuilder,
  type FakeImageBuilder,
  type FakeImageBuilderOptions,
} from './fakes/imageBuilderService';
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
    auth: {
      kind: 'serviceAccount',
      clientId: service.credentials.clientId,
      clientSecret: service.credentials.clientSecret,
    },
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

describeWithRealDistributions('the distribution catalog, given the real GET /architectures/{distribution}', () => {
  it('learns what each listed distribution builds: hummingbird builds no image of the classic kind', async () => {
    const { distributions, architectures } = realDistributionAnswers();
    const known = await catalogOver({ distributions, architectures });

    expect(known.architecturesOf('hummingbird')).toEqual([{ arch: 'x86_64', image_types: [] }]);
    expect(known.architecturesOf('rhel-10')?.map((a) => a.arch)).toEqual(['x86_64', 'aarch64']);
    expect(known.architecturesOf('rhel-10')?.[1]?.image_types).toEqual(['aws', 'guest-image', 'image-installer']);
    // Only the listed ones: the restricted distributions GET /architectures also knows are never asked for.
    expect(known.architecturesOf('rhel-10-nightly')).toBeUndefined();
    const asked = service!.apiRequests().filter((r) => r.path.includes('/architectures/'));
    const askedFor = new Set(asked.map((r) => decodeURIComponent(r.path.split('/').at(-1)!)));
    expect([...askedFor].sort()).toEqual(distributions.map((d) => d.name).sort());
  });
});

describe('the distribution catalog’s architectures', () => {
  /** An Image Builder whose GET /architectures answers only when the test says so. */
  function heldImageBuilder(distributions: string[]) {
    const pending = new Map<
      string,
      { resolve: (items: { arch: string; image_types: string[] }[]) => void; reject: (error: Error) => void }
    >();
    return {
      pending,
      getDistributions: jest.fn(async () => distributions.map((name) => ({ name, description: name }))),
      getArchitectures: jest.fn(
        (distribution: string) =>
          new Promise<{ arch: string; image_types: string[] }[]>((resolve, reject) =>
            pending.set(distribution, { resolve, reject }),
          ),
      ),
    };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const started: DistributionCatalog[] = [];
  afterEach(() => started.splice(0).forEach((c) => c.stop()));

  it('asks three at a time, and says nothing of a distribution until it has answered', async () => {
    const imageBuilder = heldImageBuilder(['rhel-10', 'rhel-9', 'rhel-8', 'centos-10', 'centos-9']);
    const known = startDistributionCatalog({ imageBuilder, logger: silentLogger(), refreshMs: HOUR_MS });
    started.push(known);
    await settle();

    expect(imageBuilder.getArchitectures.mock.calls.map(([d]) => d)).toEqual(['rhel-10', 'rhel-9', 'rhel-8']);
    expect(known.architecturesOf('rhel-10')).toBeUndefined();

    for (const name of ['rhel-10', 'rhel-9', 'rhel-8'])
      imageBuilder.pending.get(name)!.resolve([{ arch: 'x86_64', image_types: ['aws'] }]);
    await settle();
    expect(imageBuilder.getArchitectures).toHaveBeenCalledTimes(5);
    for (const name of ['centos-10', 'centos-9'])
      imageBuilder.pending.get(name)!.resolve([{ arch: 'x86_64', image_types: ['gcp'] }]);
    await settle();

    expect(known.architecturesOf('rhel-10')).toEqual([{ arch: 'x86_64', image_types: ['aws'] }]);
    expect(known.architecturesOf('centos-9')).toEqual([{ arch: 'x86_64', image_types: ['gcp'] }]);
  });

  it('keeps what it knew of a distribution the service does not answer for at the next refresh', async () => {
    const imageBuilder = heldImageBuilder(['rhel-10']);
    const known = startDistributionCatalog({ imageBuilder, logger: silentLogger(), refreshMs: HOUR_MS });
    started.push(known);
    await settle();
    imageBuilder.pending.get('rhel-10')!.resolve([{ arch: 'x86_64', image_types: ['aws'] }]);
    await settle();

    const again = known.refresh();
    await settle();
    imageBuilder.pending.get('rhel-10')!.reject(new Error('Image Builder is unavailable'));
    await again;

    expect(known.architecturesOf('rhel-10')).toEqual([{ arch: 'x86_64', image_types: ['aws'] }]);
  });
});
