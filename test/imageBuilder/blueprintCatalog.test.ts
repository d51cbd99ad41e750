import { BLUEPRINTS_REFRESH_MS, startBlueprintCatalog } from '../../src/imageBuilder/blueprintCatalog';
import type { BlueprintItem } from '../../src/imageBuilder/blueprintSchemas';
import { ImageBuilderError } from '../../src/imageBuilder/errors';
import { blueprintItem } from './blueprintBodies';
import { recordingLogger } from './helpers';

const MINUTE = 60_000;
const uuidFor = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const named = (...names: string[]): BlueprintItem[] =>
  names.map((name, i) => blueprintItem({ id: uuidFor(i), name }) as BlueprintItem);

const DOWN = new ImageBuilderError({
  kind: 'unavailable',
  message: 'Could not reach Image Builder for GET /blueprints: no answer within 30 s.',
});

const started: { stop(): void }[] = [];
afterEach(() => started.splice(0).forEach((catalog) => catalog.stop()));

/** A catalog over a service whose answers the test gives, on a clock the test moves. */
function catalogWith(answers: (() => Promise<BlueprintItem[]>)[]) {
  let at = Date.parse('2026-12-02T10:00:00Z');
  const clock = { now: () => new Date(at) };
  const listBlueprints = jest.fn(() => (answers.shift() ?? (() => Promise.reject(DOWN)))());
  const { logger, lines } = recordingLogger();
  const catalog = startBlueprintCatalog({
    imageBuilder: { listBlueprints },
    logger,
    clock,
    refreshMs: BLUEPRINTS_REFRESH_MS,
  });
  started.push(catalog);
  return { catalog, listBlueprints, lines, advance: (ms: number) => void (at += ms) };
}

describe('the blueprint list over time', () => {
  it('has no list, and says nothing is wrong yet, before the service first answers', () => {
    const { catalog } = catalogWith([() => new Promise(() => undefined)]);
    expect(catalog.list()).toEqual({ blueprints: [], stale: false });
    expect(catalog.find('rhel9-golden')).toBeUndefined();
  });

  it('keeps what the service listed, and how old it is', async () => {
    const { catalog, advance } = catalogWith([async () => named('rhel9-golden', 'rhel10-base')]);
    await catalog.refresh();
    advance(90_000);

    expect(catalog.list()).toMatchObject({
      blueprints: named('rhel9-golden', 'rhel10-base'),
      refreshedAt: new Date('2026-12-02T10:00:00Z'),
      ageMs: 90_000,
      stale: false,
    });
  });

  it('offers the last good list, with its age and why it is old, while the service is down', async () => {
    const { catalog, advance, lines } = catalogWith([
      async () => named('rhel9-golden'),
      () => Promise.reject(DOWN),
      () => Promise.reject(DOWN),
    ]);
    await catalog.refresh();
    advance(5 * MINUTE);
    await catalog.refresh();
    advance(5 * MINUTE);
    await catalog.refresh();

    expect(catalog.list()).toEqual({
      blueprints: named('rhel9-golden'),
      refreshedAt: new Date('2026-12-02T10:00:00Z'),
      ageMs: 10 * MINUTE,
      stale: true,
      problem: DOWN.message,
    });
    // One warning for the outage, not one per attempt.
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(1);
  });

  it('is fresh again once the service answers, and says it recovered', async () => {
    const { catalog, lines } = catalogWith([
      async () => named('rhel9-golden'),
      () => Promise.reject(DOWN),
      async () => named('rhel9-golden', 'rhel10-base'),
    ]);
    await catalog.refresh();
    await catalog.refresh();
    await catalog.refresh();

    expect(catalog.list()).toMatchObject({ blueprints: named('rhel9-golden', 'rhel10-base'), stale: false });
    expect(catalog.list().problem).toBeUndefined();
    expect(lines.at(-1)?.msg).toBe('blueprint list refreshed again');
  });

  it('says why there is no list at all when the service has never answered', async () => {
    const { catalog } = catalogWith([() => Promise.reject(DOWN)]);
    await catalog.refresh();
    expect(catalog.list()).toEqual({ blueprints: [], stale: true, problem: DOWN.message });
  });

  it('answers at once while a slow refresh is under way, does not start a second, and marks an old list stale', async () => {
    let answer: (items: BlueprintItem[]) => void = () => undefined;
    const { catalog, listBlueprints, advance } = catalogWith([
      async () => named('rhel9-golden'),
      () => new Promise((resolve) => (answer = resolve)),
    ]);
    await catalog.refresh();
    advance(BLUEPRINTS_REFRESH_MS);

    const slow = catalog.refresh();
    const again = catalog.refresh();
    expect(listBlueprints).toHaveBeenCalledTimes(2);
    expect(catalog.list()).toMatchObject({ blueprints: named('rhel9-golden'), stale: false });

    advance(2 * BLUEPRINTS_REFRESH_MS);
    expect(catalog.list()).toMatchObject({ blueprints: named('rhel9-golden'), stale: true });

    answer(named('rhel9-golden', 'rhel10-base'));
    await Promise.all([slow, again]);
    expect(catalog.list()).toMatchObject({ blueprints: named('rhel9-golden', 'rhel10-base'), ageMs: 0, stale: false });
  });

  it('ignores an answer that arrives after it was stopped', async () => {
    let answer: (items: BlueprintItem[]) => void = () => undefined;
    const { catalog } = catalogWith([() => new Promise((resolve) => (answer = resolve))]);
    const refreshing = catalog.refresh();
    catalog.stop();
    answer(named('rhel9-golden'));
    await refreshing;
    expect(catalog.list().blueprints).toEqual([]);
  });
});

describe('finding a blueprint by name', () => {
  async function catalogOf(...names: string[]) {
    const { catalog } = catalogWith([async () => named(...names)]);
    await catalog.refresh();
    return catalog;
  }

  it('matches names case-insensitively, ignoring the spaces around them', async () => {
    const catalog = await catalogOf('rhel9-golden', 'RHEL10 Base');
    expect(catalog.find('RHEL9-Golden')?.name).toBe('rhel9-golden');
    expect(catalog.find('  rhel10 base ')?.name).toBe('RHEL10 Base');
    expect(catalog.find('rhel9')).toBeUndefined();
  });

  it('prefers the exact name, and will not guess between names that differ only in case', async () => {
    const catalog = await catalogOf('Golden', 'golden', 'GOLDEN', 'Silver', 'SILVER');
    expect(catalog.find('golden')?.name).toBe('golden');
    expect(catalog.find('silver')).toBeUndefined();
    expect(catalog.closestNames('silver')).toEqual(['Silver', 'SILVER']);
  });

  it('offers the closest names for an unknown one, nearest first, then the last saved first', async () => {
    const catalog = await catalogOf('rhel9-golden', 'rhel9-golden-fips', 'rhel10-golden', 'centos-dev', 'windows');
    expect(catalog.closestNames('rhel9-goldn')).toEqual(['rhel9-golden', 'rhel10-golden']);
    expect(catalog.closestNames('RHEL10 golden')).toEqual(['rhel10-golden', 'rhel9-golden']);
    expect(catalog.closestNames('fips')).toEqual(['rhel9-golden-fips']);
    expect(catalog.closestNames('rhel9-goldn', 1)).toEqual(['rhel9-golden']);
  });

  it('offers no name when none is near, rather than an unrelated one', async () => {
    const catalog = await catalogOf('rhel9-golden', 'centos-dev');
    expect(catalog.closestNames('ubuntu-lts')).toEqual([]);
    expect(catalog.closestNames('')).toEqual([]);
  });

  it('searches names for what is typed, names starting with it first, within what one select can show', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
    const catalog = await catalogOf('golden-rhel9', 'rhel9-golden', 'Rhel9-fips', ...names);

    expect(catalog.search('RHEL9').map((b) => b.name)).toEqual(['rhel9-golden', 'Rhel9-fips', 'golden-rhel9']);
    expect(catalog.search('team')).toHaveLength(100);
    expect(catalog.search('')).toHaveLength(100);
    expect(catalog.search('team-14', 5).map((b) => b.name)).toEqual([
      'team-140',
      'team-141',
      'team-142',
      'team-143',
      'team-144',
    ]);
    expect(catalog.search('nothing like it')).toEqual([]);
  });
});
