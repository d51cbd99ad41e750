import type { ImageBuilderClient } from '../../src/imageBuilder';
import { createPackageChecker, unknownPackagesMessage } from '../../src/imageBuilder/packageCheck';
import { silentLogger } from '../../src/platform/logger';
import { clientOf, startFakeImageBuilder, type FakeImageBuilder } from '../fakes/imageBuilderService';

/*
 * The extra packages of an order looked up in GET /packages (the fake Image Builder's lists: rhel-9 and centos-9
 * have one, rhel-10 is a distribution without a package list).
 */

const clock = { now: () => new Date('2026-12-01T10:00:00Z') };
let service: FakeImageBuilder;
let client: ImageBuilderClient;

beforeEach(async () => {
  service = await startFakeImageBuilder();
  client = clientOf(service);
});
afterEach(() => service.close());

const rhel9 = { distribution: 'rhel-9', architecture: 'x86_64' } as const;
const checker = () => createPackageChecker({ imageBuilder: client, logger: silentLogger(), clock });
const packageSearches = () => service.apiRequests().filter((r) => r.path.endsWith('/packages'));

describe('looking up extra packages', () => {
  it('finds packages the distribution has', async () => {
    await expect(checker().check({ ...rhel9, names: ['tmux', 'vim-enhanced'] })).resolves.toEqual({ kind: 'known' });
  });

  it('names an unknown package with its close matches, a typo inside the name included', async () => {
    const result = await checker().check({ ...rhel9, names: ['tmux', 'htopp', 'podmn', 'zzzzzz'] });
    expect(result).toEqual({
      kind: 'unknown',
      unknown: [
        { name: 'htopp', closeMatches: ['htop'] },
        { name: 'podmn', closeMatches: ['podman'] },
        { name: 'zzzzzz', closeMatches: [] },
      ],
    });
  });

  it('passes groups through without asking: the search lists packages only', async () => {
    await expect(checker().check({ ...rhel9, names: ['@container-tools'] })).resolves.toEqual({ kind: 'known' });
    expect(packageSearches()).toEqual([]);
  });

  it('accepts anything for a distribution without a package list, and remembers that it has none', async () => {
    const check = checker();
    const rhel10 = { distribution: 'rhel-10', architecture: 'x86_64' } as const;
    await expect(check.check({ ...rhel10, names: ['tmux'] })).resolves.toEqual({ kind: 'no-package-list' });
    const first = packageSearches().length;
    await expect(check.check({ ...rhel10, names: ['htop'] })).resolves.toEqual({ kind: 'no-package-list' });
    // Remembered: nothing is asked again.
    expect(packageSearches().length).toBe(first);
  });

  it('accepts the names unchecked when the lookup does not finish within its deadline', async () => {
    const hanging = { searchPackages: () => new Promise<never>(() => undefined) };
    const check = createPackageChecker({ imageBuilder: hanging, logger: silentLogger(), clock, deadlineMs: 50 });
    const started = Date.now();
    await expect(check.check({ ...rhel9, names: ['htopp'] })).resolves.toEqual({
      kind: 'unchecked',
      reason: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('accepts the names unchecked when the service fails', async () => {
    service.fail(10, 503);
    await expect(checker().check({ ...rhel9, names: ['htopp'] })).resolves.toEqual({
      kind: 'unchecked',
      reason: 'unavailable',
    });
  });

  it('calls a name unknown only when every match was listed', async () => {
    const crowded = {
      searchPackages: async () => ({
        meta: { count: 250 },
        links: { first: '', last: '' },
        data: [{ name: 'python3-a', summary: '' }],
      }),
    };
    const check = createPackageChecker({ imageBuilder: crowded, logger: silentLogger(), clock });
    await expect(check.check({ ...rhel9, names: ['python3'] })).resolves.toEqual({ kind: 'known' });
  });
});

describe('the message for unknown packages', () => {
  it('names them with their close matches and counts the rest', () => {
    const unknown = ['a1', 'b2', 'c3', 'd4'].map((name) => ({ name, closeMatches: name === 'a1' ? ['a', 'ab'] : [] }));
    expect(unknownPackagesMessage(unknown, 'rhel-9')).toBe(
      '“a1” (did you mean a or ab?), “b2”, “c3” and 1 more are not packages of rhel-9.',
    );
    expect(unknownPackagesMessage([{ name: 'htopp', closeMatches: ['htop'] }], 'rhel-9')).toBe(
      '“htopp” (did you mean htop?) is not a package of rhel-9.',
    );
  });
});
