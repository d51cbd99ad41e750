import type * as z from 'zod';
import { composeRequestSchema, customizationsSchema } from '../../src/imageBuilder/requestSchema';
import { checkComposeRequest, checkSpecSchema, describeWithSpec, specValidator } from '../support/openapi';
import { specBodies } from '../support/specBodies';

/*
 * The customizations the bot may send, held against the service's spec in both directions: what the spec generates
 * the strict schema accepts (once the service's own rules, which the spec only states in prose, are applied), what
 * the strict schema accepts the spec accepts, and what is wrong is refused by both.
 */

const GENERATED = 30;

const issuesOf = (result: z.ZodSafeParseResult<unknown>) =>
  result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7kP3hLr admin@example.com';

/** One realistic value of every top-level property, each as a console or an administrator would write it. */
const ONE_OF_EACH: Record<keyof z.infer<typeof customizationsSchema>, unknown> = {
  containers: [{ source: 'registry.example.com/platform/agent:1.4', name: 'agent', tls_verify: true }],
  directories: [{ path: '/etc/platform', mode: '0755', user: 'root', group: 0, ensure_parents: true }],
  files: [
    { path: '/etc/platform/motd', data: 'Managed by the platform team\n', mode: '0644', user: 0, group: 'root' },
    { path: '/etc/platform/banner', data: 'V2VsY29tZQo=', data_encoding: 'base64' },
  ],
  subscription: {
    organization: 2040324,
    'activation-key': 'golden-images',
    'server-url': 'subscription.rhsm.redhat.com',
    'base-url': 'https://cdn.redhat.com/',
    insights: true,
    rhc: true,
    insights_client_proxy: 'http://proxy.example.com:3128',
  },
  packages: ['aide', 'tmux', '@container-tools'],
  enabled_modules: [{ name: 'nodejs', stream: '22' }],
  payload_repositories: [
    {
      baseurl: 'https://repo.example.com/el9/x86_64/',
      rhsm: false,
      check_gpg: true,
      gpgkey: 'https://repo.example.com/key',
    },
  ],
  custom_repositories: [
    {
      id: 'platform',
      name: 'Platform tools',
      baseurl: ['https://repo.example.com/el9/x86_64/'],
      enabled: true,
      priority: 10,
    },
  ],
  openscap: { profile_id: 'xccdf_org.ssgproject.content_profile_cis', profile_name: 'CIS Level 2 - Server' },
  filesystem: [{ mountpoint: '/var', min_size: 10_737_418_240 }],
  disk: {
    type: 'gpt',
    partitions: [
      { type: 'plain', mountpoint: '/boot', fs_type: 'xfs', minsize: '1 GiB' },
      {
        type: 'lvm',
        name: 'rootvg',
        logical_volumes: [{ name: 'root', mountpoint: '/', fs_type: 'xfs', minsize: '20 GiB' }],
      },
      { type: 'btrfs', subvolumes: [{ name: 'data', mountpoint: '/data' }] },
    ],
  },
  users: [{ name: 'admin', groups: ['wheel'], ssh_key: SSH_KEY }],
  services: { enabled: ['chronyd'], disabled: ['telnet'], masked: ['rpcbind'] },
  hostname: 'golden',
  kernel: { name: 'kernel-debug', append: 'nosmt=force' },
  groups: [{ name: 'platform', gid: 1500 }],
  timezone: { timezone: 'Europe/Paris', ntpservers: ['0.pool.ntp.org'] },
  locale: { languages: ['en_US.UTF-8'], keyboard: 'us' },
  firewall: { ports: ['22:tcp', '443:tcp'], services: { enabled: ['https'], disabled: ['telnet'] } },
  installation_device: '/dev/sda',
  fdo: { manufacturing_server_url: 'https://fdo.example.com', diun_pub_key_hash: 'sha256:abc' },
  ignition: { firstboot: { url: 'https://ignition.example.com/config.ign' } },
  partitioning_mode: 'auto-lvm',
  fips: { enabled: true },
  installer: { unattended: true, 'sudo-nopasswd': ['admin', '%wheel'] },
  cacerts: { pem_certs: ['-----BEGIN CERTIFICATE-----\nMIIC0DCCAbigAwIBAgIUI\n-----END CERTIFICATE-----'] },
  aap_registration: {
    ansible_callback_url: 'https://aap.example.com/api/controller/v2/job_templates/9/callback/',
    host_config_key: '44d7507f2ead49af5fca80aa18fd24bc',
  },
};

/**
 * Applies the rules the spec states only in prose to a generated body: a user has a key or a password and carries
 * no `hasPassword` (read-only), base64 data is base64. Everything else is left as generated.
 */
function followingServiceRules(body: unknown): unknown {
  const copy = structuredClone(body) as { users?: Record<string, unknown>[]; files?: Record<string, unknown>[] };
  for (const user of copy.users ?? []) {
    delete user.hasPassword;
    if (!user.ssh_key && !user.password) user.ssh_key = SSH_KEY;
  }
  for (const file of copy.files ?? []) {
    if (file.data_encoding === 'base64' && typeof file.data === 'string') {
      file.data = Buffer.from(file.data).toString('base64');
    }
  }
  return copy;
}

describeWithSpec('customizations, held against the service spec', () => {
  it('knows every property the spec lists for Customizations, and no other', () => {
    const spec = specValidator('Customizations').schema as { properties: Record<string, unknown> };
    expect(Object.keys(customizationsSchema.unwrap().shape).sort()).toEqual(Object.keys(spec.properties).sort());
  });

  it('accepts bodies generated from the spec, every optional field filled, once the service rules apply', () => {
    const bodies = specBodies('Customizations', GENERATED, { alwaysFakeOptionals: true }).map(followingServiceRules);
    const refused = bodies.map((body) => issuesOf(customizationsSchema.safeParse(body))).filter((i) => i.length > 0);
    expect(refused).toEqual([]);
    // The adjustment must not have taken the bodies outside the spec.
    expect(bodies.filter((body) => !checkSpecSchema('Customizations', body).valid)).toEqual([]);
  });

  it('accepts bodies generated from the spec with only some fields, once the service rules apply', () => {
    const bodies = specBodies('Customizations', GENERATED).map(followingServiceRules);
    expect(bodies.filter((body) => Object.keys(body as object).length > 0).length).toBeGreaterThan(GENERATED / 2);
    const refused = bodies.map((body) => issuesOf(customizationsSchema.safeParse(body))).filter((i) => i.length > 0);
    expect(refused).toEqual([]);
  });

  it.each(Object.entries(ONE_OF_EACH))('sends %s in a body the spec accepts', (property, value) => {
    const body = { [property]: value };
    expect(issuesOf(customizationsSchema.safeParse(body))).toEqual([]);
    expect(checkSpecSchema('Customizations', body)).toEqual({ valid: true, errors: [] });
  });

  it('sends a compose with every customization at once that the spec accepts', () => {
    const compose = {
      distribution: 'rhel-9',
      client_id: 'api',
      image_requests: [
        { architecture: 'x86_64', image_type: 'guest-image', upload_request: { type: 'aws.s3', options: {} } },
      ],
      customizations: ONE_OF_EACH,
    };
    expect(issuesOf(composeRequestSchema.safeParse(compose))).toEqual([]);
    expect(checkComposeRequest(compose)).toEqual({ valid: true, errors: [] });
  });

  const { subscription } = ONE_OF_EACH as { subscription: Record<string, unknown> };
  const { 'activation-key': _key, ...subscriptionWithoutKey } = subscription;

  it.each([
    ['more than 10,000 packages', { packages: Array.from({ length: 10_001 }, (_, i) => `pkg${i}`) }],
    ['an empty list of services to enable', { services: { enabled: [] } }],
    ['a partitioning mode the service does not have', { partitioning_mode: 'btrfs' }],
    ['registration without the activation key', { subscription: subscriptionWithoutKey }],
    ['an organisation that is not a number', { subscription: { ...subscription, organization: '2040324' } }],
    [
      'an OpenSCAP profile and a compliance policy at once',
      { openscap: { profile_id: 'cis', policy_id: 'fef25b3c-b970-46da-a4e1-cc4d855b98dc' } },
    ],
    ['a compliance policy that is not a UUID', { openscap: { policy_id: 'cis-level-2' } }],
    ['a filesystem without its size', { filesystem: [{ mountpoint: '/var' }] }],
    [
      'more than 128 filesystems',
      { filesystem: Array.from({ length: 129 }, (_, i) => ({ mountpoint: `/d${i}`, min_size: 1 })) },
    ],
    ['a file system type the service does not have', { disk: { partitions: [{ fs_type: 'ntfs' }] } }],
    ['a key the firewall does not have', { firewall: { zones: ['public'] } }],
    ['CA certificates without the certificates', { cacerts: {} }],
    ['a user without a name', { users: [{ ssh_key: SSH_KEY }] }],
    ['a custom repository without an id', { custom_repositories: [{ baseurl: ['https://repo.example.com/'] }] }],
    ['a repository URL that is not a URI', { payload_repositories: [{ rhsm: false, baseurl: 'repo example com' }] }],
    ['a module without its stream', { enabled_modules: [{ name: 'nodejs' }] }],
    ['AAP registration without its host config key', { aap_registration: { ansible_callback_url: 'https://aap/' } }],
  ])('refuses %s, as the spec does', (_name, body) => {
    expect(customizationsSchema.safeParse(body).success).toBe(false);
    expect(checkSpecSchema('Customizations', body).valid).toBe(false);
  });

  it.each([
    [
      'a user with neither an SSH key nor a password',
      { users: [{ name: 'admin', groups: ['wheel'] }] },
      'users.0.ssh_key',
    ],
    [
      'the read-only hasPassword',
      { users: [{ name: 'admin', ssh_key: SSH_KEY, hasPassword: false }] },
      'users.0.hasPassword',
    ],
    [
      'base64 data that is not base64',
      { files: [{ path: '/etc/x', data: 'not base64!', data_encoding: 'base64' }] },
      'files.0.data',
    ],
    [
      'a filesystem size that is not a whole number of bytes',
      { filesystem: [{ mountpoint: '/var', min_size: '10 GiB' }] },
      'filesystem.0.min_size',
    ],
  ])('refuses %s, which the spec lets through and the service does not', (_name, body, path) => {
    expect(checkSpecSchema('Customizations', body).valid).toBe(true);
    const result = customizationsSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([path]);
  });
});
