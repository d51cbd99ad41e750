import type { DistributionChoice } from './common';
import type { Architecture, Provider } from './types';

/*
 * The one order of distributions, wherever they are offered or listed: newest first, so the first choice is the
 * newest release. GET /distributions answers in no particular order (Go map order) and also lists the old names of
 * RHEL minor releases (rhel-84 … rhel-95 for 8.4 … 9.5), which a plain sort of the names would put first.
 */

interface Release {
  family: string;
  major?: number;
  /** Absent for a major stream such as rhel-9, which follows its newest minor release. */
  minor?: number;
  /** beta, nightly, …: never the default. */
  preRelease: boolean;
  /** An old name (rhel-95) of a release whose modern name (rhel-9.5) sorts before it. */
  oldName: boolean;
}

/** A Map, as the family is read from the service's names: an object would answer "constructor" with a function. */
const FAMILY_RANK: ReadonlyMap<string, number> = new Map([
  ['rhel', 0],
  ['centos', 1],
  ['fedora', 2],
]);
const RELEASE = /^([a-z]+)-(\d+)(?:\.(\d+))?(?:-([a-z]+))?$/;
// RHEL 8 and 9 minors had two-digit names; RHEL 10's are written rhel-10.0, so rhel-10 is a major stream.
const OLD_RHEL_MINOR = /^([89])(\d)$/;

function releaseOf(name: string): Release {
  const match = RELEASE.exec(name);
  if (!match) return { family: name, preRelease: false, oldName: false };
  const [, family = name, number = '', minor, suffix] = match;
  const old = family === 'rhel' && minor === undefined ? OLD_RHEL_MINOR.exec(number) : null;
  if (old)
    return { family, major: Number(old[1]), minor: Number(old[2]), preRelease: suffix !== undefined, oldName: true };
  return {
    family,
    major: Number(number),
    ...(minor === undefined ? {} : { minor: Number(minor) }),
    preRelease: suffix !== undefined,
    oldName: false,
  };
}

/** Negative when `a` comes first: a sort key compared field by field. */
function compareReleases(a: { name: string; release: Release }, b: { name: string; release: Release }): number {
  const x = a.release;
  const y = b.release;
  const keys: [number | string, number | string][] = [
    [FAMILY_RANK.get(x.family) ?? FAMILY_RANK.size, FAMILY_RANK.get(y.family) ?? FAMILY_RANK.size],
    [x.family, y.family],
    [-(x.major ?? -1), -(y.major ?? -1)],
    [Number(x.preRelease), Number(y.preRelease)],
    // The major stream first: it is the newest minor release under the name that keeps following it.
    [-(x.minor ?? Infinity), -(y.minor ?? Infinity)],
    [Number(x.oldName), Number(y.oldName)],
    [a.name, b.name],
  ];
  for (const [p, q] of keys) if (p !== q) return p < q ? -1 : 1;
  return 0;
}

/**
 * RHEL before CentOS before Fedora before the rest; within each, newer majors first; within a major, its stream
 * (rhel-10), then its minor releases newest first (an old name after a modern one), then betas and nightlies.
 */
export function newestFirst<T extends Pick<DistributionChoice, 'name'>>(distributions: readonly T[]): T[] {
  return distributions
    .map((distribution) => ({ distribution, name: distribution.name, release: releaseOf(distribution.name) }))
    .sort(compareReleases)
    .map(({ distribution }) => distribution);
}

/** The choice made for someone who makes none: the first generally available RHEL, else the first released one. */
export function preferredDistribution(distributions: readonly Pick<DistributionChoice, 'name'>[]): string | undefined {
  const released = newestFirst(distributions).filter((d) => !releaseOf(d.name).preRelease);
  return (released.find((d) => releaseOf(d.name).family === 'rhel') ?? released[0] ?? distributions[0])?.name;
}

// ---------------------------------------------------------------------------------------------------------------
// What a distribution can build

/** One item of GET /architectures/{distribution}, as far as choosing goes: `image_types` is empty for image mode only. */
export interface OfferedArchitecture {
  arch: string;
  image_types: readonly string[];
}

/** What GET /architectures/{distribution} said of a distribution; undefined while it is not known. */
export type ArchitecturesOf = (distribution: string) => readonly OfferedArchitecture[] | undefined;

type ImageOf = Pick<Provider, 'imageType' | 'imageTypeAliases' | 'architectures'>;

/** The provider's architectures on which the service builds its image type (or an alias), or undefined when not known. */
export function architecturesBuilding(
  provider: ImageOf,
  offered: readonly OfferedArchitecture[] | undefined,
): Architecture[] | undefined {
  if (!offered) return undefined;
  const imageTypes = [provider.imageType, ...(provider.imageTypeAliases ?? [])];
  return provider.architectures.filter((architecture) =>
    offered.some((o) => o.arch === architecture && o.image_types.some((t) => imageTypes.includes(t))),
  );
}

/**
 * Whether the service builds the provider's image of this distribution (hummingbird, image mode only, builds none).
 * Until it has said, yes: the list the service gave is offered whole rather than nothing.
 */
export function distributionBuilds(
  provider: ImageOf,
  distribution: string,
  architecturesOf: ArchitecturesOf | undefined,
): boolean {
  const building = architecturesBuilding(provider, architecturesOf?.(distribution));
  return building === undefined || building.length > 0;
}
