/*
 * What the fake Image Builder's account may build: the distributions GET /distributions lists (any other is
 * refused 403, as the service refuses a distribution the account is not entitled to), the architectures and
 * image types GET /architectures/{distribution} lists for each, and the packages GET /packages searches: a small
 * list per distribution, none for one marked `no_package_list` (rhel-10 here, as rhel-10.x is in the service).
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

/** As the service answers for rhel-10: every download type on x86_64, only a few on aarch64 (no vSphere, WSL, OCI). */
export const DEFAULT_ARCHITECTURES: ArchitectureItem[] = [
  {
    arch: 'x86_64',
    image_types: [
      'aws',
      'azure',
      'gcp',
      'guest-image',
      'image-installer',
      'network-installer',
      'oci',
      'pxe-tar-xz',
      'vsphere',
      'vsphere-ova',
      'wsl',
    ],
    repositories: [],
  },
  { arch: 'aarch64', image_types: ['aws', 'guest-image', 'image-installer'], repositories: [] },
];

export interface PackageItem {
  name: string;
  summary: string;
}

const EVERYWHERE: PackageItem[] = [
  { name: 'bash', summary: 'The GNU Bourne Again shell' },
  { name: 'htop', summary: 'Interactive process viewer' },
  { name: 'tmux', summary: 'A terminal multiplexer' },
  { name: 'vim-enhanced', summary: 'A version of the VIM editor which includes recent enhancements' },
  { name: 'vim-minimal', summary: 'A minimal version of the VIM editor' },
  { name: 'nginx', summary: 'A high performance web server and reverse proxy server' },
  { name: 'podman', summary: 'Manage Pods, Containers and Container Images' },
];

/** The distributions with a package list and their packages; any other answers no package. */
export const DEFAULT_PACKAGES: Record<string, PackageItem[]> = {
  'rhel-9': [...EVERYWHERE, { name: 'insights-client', summary: 'Uploads Insights information to Red Hat' }],
  'centos-9': [...EVERYWHERE, { name: 'centos-release', summary: 'CentOS Stream release files' }],
};

export interface Catalog {
  readonly distributions: DistributionItem[];
  /** Whether the account may build the distribution. */
  readonly allows: (distribution: string) => boolean;
  readonly architecturesOf: (distribution: string) => ArchitectureItem[];
  /** What GET /packages searches: empty for a distribution without a package list. */
  readonly packagesOf: (distribution: string) => readonly PackageItem[];
}

export function createCatalog(options: {
  distributions?: DistributionItem[];
  /** The same list for every distribution, or one per distribution. */
  architectures?: ArchitectureItem[] | Record<string, ArchitectureItem[]>;
  packages?: Record<string, PackageItem[]>;
}): Catalog {
  const packages = options.packages ?? DEFAULT_PACKAGES;
  const distributions = options.distributions ?? DEFAULT_DISTRIBUTIONS;
  const configured = options.architectures;
  return {
    distributions,
    allows: (distribution) => distributions.some((d) => d.name === distribution),
    architecturesOf(distribution) {
      if (configured === undefined) return DEFAULT_ARCHITECTURES;
      return Array.isArray(configured) ? configured : (configured[distribution] ?? []);
    },
    packagesOf: (distribution) => packages[distribution] ?? [],
  };
}
