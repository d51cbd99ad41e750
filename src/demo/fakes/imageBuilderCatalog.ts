/*
 * What the fake Image Builder's account may build: the distributions GET /distributions lists (any other is
 * refused 403, as the service refuses a distribution the account is not entitled to) and the architectures and
 * image types GET /architectures/{distribution} lists for each.
 */

export interface DistributionItem {
  name: string;
  description: string;
}

export interface ArchitectureItem {
  arch: string;
  /** null, as the real service sends it, for a distribution with only image-mode (bootc) images (hummingbird). */
  image_types: string[] | null;
  repositories: unknown[];
}

export const DEFAULT_DISTRIBUTIONS: DistributionItem[] = [
  { name: 'rhel-10', description: 'Red Hat Enterprise Linux (RHEL) 10' },
  { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
  { name: 'centos-9', description: 'CentOS Stream 9' },
];

export const DEFAULT_ARCHITECTURES: ArchitectureItem[] = [
  { arch: 'x86_64', image_types: ['aws', 'azure', 'gcp', 'guest-image'], repositories: [] },
  { arch: 'aarch64', image_types: ['aws', 'guest-image'], repositories: [] },
];

export interface Catalog {
  readonly distributions: DistributionItem[];
  /** Whether the account may build the distribution. */
  readonly allows: (distribution: string) => boolean;
  readonly architecturesOf: (distribution: string) => ArchitectureItem[];
}

export function createCatalog(options: {
  distributions?: DistributionItem[];
  /** The same list for every distribution, or one per distribution. */
  architectures?: ArchitectureItem[] | Record<string, ArchitectureItem[]>;
}): Catalog {
  const distributions = options.distributions ?? DEFAULT_DISTRIBUTIONS;
  const configured = options.architectures;
  return {
    distributions,
    allows: (distribution) => distributions.some((d) => d.name === distribution),
    architecturesOf(distribution) {
      if (configured === undefined) return DEFAULT_ARCHITECTURES;
      return Array.isArray(configured) ? configured : (configured[distribution] ?? []);
    },
  };
}
