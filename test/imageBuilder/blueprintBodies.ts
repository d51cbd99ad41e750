/*
 * Blueprint answers shaped as the service's handlers write them (image-builder-crc, internal/v1/handler_blueprints.go)
 * and valid against the spec: GET /blueprints/{id} has no version, passwords are replaced by `hasPassword`. (The
 * handler writes empty lint lists as null, which the spec refuses; the schema tests read that case on its own.)
 */

export const BLUEPRINT = {
  id: '677b010b-e95e-4694-9813-d11d847f1bfc',
  name: 'rhel9-golden',
  description: 'The platform team’s RHEL 9 base',
} as const;

export function blueprintItem(overrides: Record<string, unknown> = {}) {
  return { ...BLUEPRINT, version: 3, last_modified_at: '2026-11-30T09:12:44Z', ...overrides };
}

export function blueprintDetail(overrides: Record<string, unknown> = {}) {
  return {
    ...BLUEPRINT,
    lint: { errors: [], warnings: [] },
    distribution: 'rhel-9',
    image_requests: [
      {
        architecture: 'x86_64',
        image_type: 'aws',
        upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
      },
      { architecture: 'x86_64', image_type: 'guest-image', upload_request: { type: 'aws.s3', options: {} } },
    ],
    customizations: {
      packages: ['aide', 'tmux', 'vim-enhanced'],
      users: [
        { name: 'admin', groups: ['wheel'], ssh_key: 'ssh-ed25519 AAAAC3Nza admin@example.com', hasPassword: false },
      ],
      subscription: {
        organization: 2040324,
        'activation-key': 'golden-images',
        'server-url': 'subscription.rhsm.redhat.com',
        'base-url': 'https://cdn.redhat.com/',
        insights: true,
        rhc: true,
      },
      openscap: {
        profile_id: 'xccdf_org.ssgproject.content_profile_cis',
        profile_name: 'CIS Red Hat Enterprise Linux 9 Benchmark for Level 2 - Server',
      },
      fips: { enabled: true },
    },
    ...overrides,
  };
}

/** One page of GET /blueprints as the service writes it, `links` included. */
export function blueprintsPage(data: unknown[], count: number, limit = 100) {
  const last = Math.max(0, Math.ceil(count / limit) - 1) * limit;
  return {
    meta: { count },
    links: {
      first: `/api/image-builder/v1/blueprints?limit=${limit}&offset=0`,
      last: `/api/image-builder/v1/blueprints?limit=${limit}&offset=${last}`,
    },
    data,
  };
}
