import fc from 'fast-check';
import { composeRequestSchema } from '../../src/imageBuilder/requestSchema';
import { buildComposeRequest, validateOrder } from '../../src/providers/common';
import { getProvider, providers } from '../../src/providers';
import type { Provider, RawValues } from '../../src/providers/types';
import { ecdsaKey, ed25519Key, rsaKey } from './support/sshKeys';
import { checkComposeRequest, checkUploadStatusOptions, describeWithSpec, specDistributions } from '../support/openapi';

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';

/** What the service receives: the body after JSON encoding. */
function sent(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body));
}

function expectAcceptedEverywhere(body: unknown) {
  const wire = sent(body);
  expect(wire).toEqual(body);
  const spec = checkComposeRequest(wire);
  expect(spec.errors).toEqual([]);
  expect(spec.valid).toBe(true);
  const client = composeRequestSchema.safeParse(wire);
  expect(client.error?.issues ?? []).toEqual([]);
}

function acceptedEverywhere(body: unknown): boolean {
  const wire = sent(body);
  return checkComposeRequest(wire).valid && composeRequestSchema.safeParse(wire).success;
}

describeWithSpec('compose requests, checked against the service spec and the client schema', () => {
  // Read in beforeAll: a skipped describe still runs its body, and without the spec there is nothing to read.
  let distributions: string[] = [];
  beforeAll(() => {
    distributions = specDistributions();
  });

  it('reads the distributions from the spec', () => {
    expect(distributions).toEqual(expect.arrayContaining(['rhel-9', 'rhel-10', 'centos-9']));
  });

  it('has checks that refuse what the service refuses', () => {
    const good = buildComposeRequest({
      provider: getProvider('guest-image') as Provider,
      distribution: 'rhel-9',
      architecture: 'x86_64',
      options: {},
    });
    expectAcceptedEverywhere(good);
    expect(acceptedEverywhere({ ...good, surprise: true })).toBe(false);
    expect(acceptedEverywhere({ ...good, image_requests: [...good.image_requests, ...good.image_requests] })).toBe(
      false,
    );
    expect(acceptedEverywhere({ ...good, image_name: 'x'.repeat(101) })).toBe(false);
    expect(acceptedEverywhere({ ...good, distribution: 'rhel-7' })).toBe(false);
  });

  const examples: [string, RawValues][] = [
    ['aws', { share_with_accounts: '123456789012, 210987654321' }],
    ['azure', { tenant_id: TENANT, subscription_id: SUBSCRIPTION, resource_group: 'my-images' }],
    [
      'azure',
      {
        tenant_id: TENANT,
        subscription_id: SUBSCRIPTION,
        resource_group: 'rg.(1)',
        azure_image_name: 'rhel-9_',
        hyper_v_generation: 'V1',
      },
    ],
    [
      'gcp',
      {
        share_with:
          'user:alice@example.com serviceAccount:b@p.iam.gserviceaccount.com group:g@example.com domain:example.com',
      },
    ],
    ['guest-image', {}],
    ['vsphere', {}],
    ['vsphere', { vsphere_format: 'vmdk' }],
    ['iso', {}],
    ['wsl', {}],
    ['oci', {}],
  ];

  it.each(examples)('sends a %s request both accept, for every architecture it builds', (id, raw) => {
    const provider = getProvider(id) as Provider;
    for (const architecture of provider.architectures) {
      const order = validateOrder(
        provider,
        { ...raw, distribution: 'rhel-10', architecture, image_name: 'x'.repeat(100) },
        { distributions },
      );
      if (!order.ok) throw new Error(JSON.stringify(order.errors));
      expectAcceptedEverywhere(buildComposeRequest({ provider, ...order.value, imageDescription: '🐧'.repeat(300) }));
    }
  });

  it.each([
    ['ssh-ed25519', ed25519Key()],
    ['ecdsa-sha2-nistp384', ecdsaKey('nistp384')],
    ['ssh-rsa', rsaKey(2048)],
  ])('sends a login user with a %s key and wheel that both accept, for every target', (_, key) => {
    for (const provider of providers) {
      const raw = examples.find(([id]) => id === provider.id)?.[1] ?? {};
      const given = { ...raw, distribution: 'rhel-9', ssh_public_key: key, login_user: 'ops' };
      const order = validateOrder(provider, given, { distributions });
      if (!order.ok) throw new Error(JSON.stringify(order.errors));
      const body = buildComposeRequest({ provider, ...order.value });
      expect(body.customizations).toEqual({ users: [{ name: 'ops', ssh_key: key, groups: ['wheel'] }] });
      expectAcceptedEverywhere(body);
    }
  });

  it.each([
    ['AWSUploadStatus', { ami: 'ami-0c830793775595d4b', region: 'us-east-1' }],
    ['AzureUploadStatus', { image_name: 'composer-api-1a2b3c4d' }],
    ['GCPUploadStatus', { project_id: 'ascendant-braid-303513', image_name: 'composer-api-1a2b3c4d' }],
    ['AWSS3UploadStatus', { url: 'https://example.com/disk.qcow2' }],
    ['OCIUploadStatus', { url: 'https://objectstorage.us-ashburn-1.oraclecloud.com/p/abc/n/ns/b/bucket/o/image' }],
  ])('the results the tests describe have the shape of the spec’s %s', (schema, options) => {
    expect(checkUploadStatusOptions(schema, options)).toEqual({ valid: true, errors: [] });
  });

  describe('for any input at all', () => {
    const separator = fc.constantFrom(',', ' ', '\n', ', ', '\u00A0', '\t', ' ,\r\n');
    const joined = (items: fc.Arbitrary<string>) =>
      fc.tuple(fc.array(items, { minLength: 1, maxLength: 6 }), separator).map(([parts, sep]) => parts.join(sep));
    const anyText = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme', maxLength: 120 }),
      fc.string({
        unit: fc.constantFrom(
          ',',
          ' ',
          '\n',
          '1',
          '-',
          ':',
          '@',
          '.',
          'a',
          'Z',
          '_',
          '(',
          '{',
          '}',
          '\u0000',
          '\u202E',
        ),
      }),
      fc.constantFrom(
        'x'.repeat(100_000),
        '1'.repeat(12).repeat(5_000),
        '\ud800',
        'user:',
        'domain:',
        '{}',
        'constructor',
        '__proto__:a@b.co',
        'toString:x',
      ),
    );
    const anyValue = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 4 }), fc.anything());

    // fc.emailAddress() mostly makes RFC-legal addresses with characters Google accounts never have; mix in plain ones.
    const email = fc.oneof(
      { arbitrary: fc.emailAddress(), weight: 1 },
      {
        arbitrary: fc
          .tuple(fc.stringMatching(/^[a-z0-9._%+'-]{1,20}$/), fc.domain())
          .map(([local, domain]) => `${local}@${domain}`),
        weight: 4,
      },
    );
    /** Values shaped like good input, so the accepted branch is exercised as often as the refusals. */
    const plausible: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
      aws: {
        share_with_accounts: joined(fc.oneof(fc.stringMatching(/^\d{12}$/), fc.stringMatching(/^\d{4}-\d{4}-\d{4}$/))),
        // Launch settings never reach the body; plausible ones keep the order accepted.
        copy_to_regions: fc.constantFrom(undefined, 'eu-west-1', 'us-east-2\nap-southeast-7'),
        key_pair_name: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,40}$/), { nil: undefined }),
      },
      azure: {
        tenant_id: fc.oneof(
          fc.uuid(),
          fc.uuid().map((u) => u.toUpperCase()),
          fc.uuid().map((u) => `{${u}}`),
        ),
        subscription_id: fc.uuid(),
        resource_group: fc.stringMatching(/^[A-Za-z0-9_.()-]{1,95}$/),
        azure_image_name: fc.oneof(
          fc.constant(undefined),
          fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,60}[a-zA-Z0-9_])?$/),
        ),
        hyper_v_generation: fc.constantFrom(undefined, 'V1', 'V2', 'v1', '2'),
      },
      gcp: {
        share_with: joined(
          fc.oneof(
            fc
              .tuple(fc.constantFrom('user:', 'group:', 'serviceAccount:', 'SERVICEACCOUNT:'), email)
              .map(([k, e]) => k + e),
            fc.domain().map((d) => `domain:${d}`),
          ),
        ),
      },
      'guest-image': {},
      vsphere: { vsphere_format: fc.constantFrom(undefined, 'ova', 'vmdk', 'OVA', 'vsphere-ova', 'vsphere') },
    };

    const mostly = <T>(likely: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: likely, weight: 5 }, { arbitrary: anyValue, weight: 1 });

    function rawValues(provider: Provider, shapes: 'plausible' | 'anything'): fc.Arbitrary<RawValues> {
      if (shapes === 'anything') {
        const ids = ['distribution', 'architecture', 'image_name', ...provider.fields.map((f) => f.id)];
        return fc.record(Object.fromEntries(ids.map((id) => [id, anyValue])), {
          requiredKeys: [],
        }) as fc.Arbitrary<RawValues>;
      }
      const own = Object.fromEntries(
        provider.fields.map((f) => [f.id, mostly(plausible[provider.id]?.[f.id] ?? anyValue)]),
      );
      return fc.record({
        distribution: mostly(fc.constantFrom(...distributions)),
        architecture: mostly(fc.constantFrom(undefined, ...provider.architectures)),
        image_name: mostly(fc.option(fc.string({ unit: 'grapheme', maxLength: 60 }), { nil: undefined })),
        ...own,
      }) as fc.Arbitrary<RawValues>;
    }

    /*
     * Enough runs that the floor below is not met by chance alone: Azure's form, with the most fields, gets about 28%
     * of its plausible orders through (1664 of 6000 drawn), so 300 runs fell under a fifth about once in 700; at 600
     * the floor is over four standard deviations below what it gets.
     */
    const ACCEPTING_RUNS = 600;

    describe.each(providers.map((p) => [p.id, p] as const))('%s', (_id, provider) => {
      it('never throws, and explains every refusal in one line', () => {
        fc.assert(
          fc.property(rawValues(provider, 'anything'), (raw) => {
            const order = validateOrder(provider, raw, { distributions });
            if (!order.ok) for (const message of Object.values(order.errors)) expect(message).toMatch(/^\S[^\n]*\S$/);
          }),
          { numRuns: 300 },
        );
      });

      it('turns every accepted order into a body both accept', () => {
        let accepted = 0;
        fc.assert(
          fc.property(
            rawValues(provider, 'plausible'),
            fc.option(fc.string({ unit: 'binary', maxLength: 400 })),
            (raw, description) => {
              const order = validateOrder(provider, raw, { distributions });
              if (!order.ok) return;
              accepted += 1;
              expectAcceptedEverywhere(
                buildComposeRequest({
                  provider,
                  ...order.value,
                  ...(description !== null ? { imageDescription: description } : {}),
                }),
              );
            },
          ),
          { numRuns: ACCEPTING_RUNS },
        );
        // A fifth of the plausible orders at least must get through, or this property proves little.
        expect(accepted).toBeGreaterThan(ACCEPTING_RUNS / 5);
      });
    });
  });
});
