import type { Clock } from '../platform/clock';
import { closeMatches } from '../shared/closeMatches';
import { listInWords, quoted } from '../shared/text';
import type { ImageBuilderClient, PackageSearch } from './client';
import type { ImageBuilderLogger } from './http';

/*
 * Whether the packages someone asked for exist, asked of GET /packages while a Slack submission waits: every name
 * at once, the whole check within `deadlineMs`. A distribution marked `no_package_list` answers nothing to any
 * search; a probe for a package every distribution has (bash) tells it apart from a typo, and is remembered.
 *
 * When the check cannot finish (slow or failing service) the names are accepted unchecked: refusing a good name
 * because the service was slow is worse than a build that fails on a bad one, with the service's reason in its
 * thread. A name is called unknown only on proof: the service listed every match, and it was not among them.
 */

export const PACKAGE_CHECK_DEADLINE_MS = 1500;
const PROBE = 'bash';
const PROBE_TTL_MS = 60 * 60 * 1000;
const MAX_CLOSE_MATCHES = 3;
const SUGGESTION_PREFIX_LENGTH = 3;

export interface UnknownPackage {
  name: string;
  closeMatches: string[];
}

export type PackageCheck =
  | { kind: 'known' }
  | { kind: 'no-package-list' }
  | { kind: 'unknown'; unknown: UnknownPackage[] }
  | { kind: 'unchecked'; reason: 'timeout' | 'unavailable' };

export interface PackageChecker {
  /** `@group` names are passed through: the search lists packages only. */
  check(query: Omit<PackageSearch, 'search' | 'limit'> & { names: readonly string[] }): Promise<PackageCheck>;
}

type Target = Omit<PackageSearch, 'search' | 'limit'>;

export function createPackageChecker(options: {
  imageBuilder: Searcher;
  logger: ImageBuilderLogger;
  clock: Clock;
  deadlineMs?: number;
}): PackageChecker {
  const { imageBuilder, logger, clock } = options;
  const deadlineMs = options.deadlineMs ?? PACKAGE_CHECK_DEADLINE_MS;
  const probes = new Map<string, { hasList: boolean; at: number }>();

  const keyOf = (target: Target) => `${target.distribution}/${target.architecture}`;

  /** What the probe said within the last hour, if it was asked. */
  function probed(target: Target): boolean | undefined {
    const known = probes.get(keyOf(target));
    return known && clock.now().getTime() - known.at < PROBE_TTL_MS ? known.hasList : undefined;
  }

  async function hasPackageList(target: Target): Promise<boolean> {
    const known = probed(target);
    if (known !== undefined) return known;
    const key = keyOf(target);
    const answer = await imageBuilder.searchPackages({ ...target, search: PROBE, limit: 1 });
    const hasList = answer.meta.count > 0 || answer.data.length > 0;
    probes.set(key, { hasList, at: clock.now().getTime() });
    return hasList;
  }

  async function lookUp({ names, ...target }: Target & { names: readonly string[] }): Promise<PackageCheck> {
    // Known to have no list: nothing to ask.
    if (probed(target) === false) return { kind: 'no-package-list' };
    const [hasList, results] = await Promise.all([
      hasPackageList(target),
      Promise.all(names.map((name) => unknownOrNot(imageBuilder, target, name))),
    ]);
    if (!hasList) return { kind: 'no-package-list' };
    const unknown = results.filter((r): r is UnknownPackage => r !== undefined);
    return unknown.length > 0 ? { kind: 'unknown', unknown } : { kind: 'known' };
  }

  return {
    async check({ names: given, ...target }) {
      const names = given.filter((name) => !name.startsWith('@'));
      if (names.length === 0) return { kind: 'known' };
      const query = { ...target, names };
      const checked = lookUp(query).catch((error: unknown): PackageCheck => {
        logger.warn({ err: error, distribution: query.distribution }, 'could not look up packages; accepted unchecked');
        return { kind: 'unchecked', reason: 'unavailable' };
      });
      const result = await withinDeadline(checked, deadlineMs);
      if (result.kind === 'unchecked' && result.reason === 'timeout') {
        logger.warn({ distribution: query.distribution, deadlineMs }, 'package lookup too slow; accepted unchecked');
      }
      return result;
    },
  };
}

type Searcher = Pick<ImageBuilderClient, 'searchPackages'>;

/** Undefined when the name exists, or may (more matches than one page shows). */
async function unknownOrNot(search: Searcher, target: Target, name: string): Promise<UnknownPackage | undefined> {
  const answer = await search.searchPackages({ ...target, search: name });
  const names = answer.data.map((p) => p.name);
  if (names.includes(name) || answer.meta.count > answer.data.length) return undefined;
  const near = closeMatches(name, names, MAX_CLOSE_MATCHES);
  if (near.length > 0 || name.length <= SUGGESTION_PREFIX_LENGTH) return { name, closeMatches: near };
  // A typo inside the name finds nothing by itself; its first letters find its neighbours.
  const around = await search.searchPackages({ ...target, search: name.slice(0, SUGGESTION_PREFIX_LENGTH) });
  const neighbours = around.data.map((p) => p.name);
  return { name, closeMatches: closeMatches(name, neighbours, MAX_CLOSE_MATCHES) };
}

/** The check's answer, or "unchecked" once `deadlineMs` passed; the requests still running are left to finish. */
async function withinDeadline(checked: Promise<PackageCheck>, deadlineMs: number): Promise<PackageCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<PackageCheck>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'unchecked', reason: 'timeout' }), deadlineMs);
  });
  return Promise.race([checked, timedOut]).finally(() => clearTimeout(timer));
}

const UNKNOWN_SHOWN = 3;

/** One sentence naming the unknown packages (the first few) and their close matches. */
export function unknownPackagesMessage(unknown: readonly UnknownPackage[], distribution: string): string {
  const shown = unknown
    .slice(0, UNKNOWN_SHOWN)
    .map(({ name, closeMatches: near }) =>
      near.length > 0 ? `${quoted(name)} (did you mean ${listInWords(near, 'or')}?)` : quoted(name),
    );
  const more = unknown.length - shown.length;
  const named = more > 0 ? `${shown.join(', ')} and ${more} more` : listInWords(shown);
  const subject = unknown.length === 1 ? 'is not a package' : 'are not packages';
  return `${named} ${subject} of ${distribution}.`;
}
