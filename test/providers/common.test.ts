import {
  buildComposeRequest,
  commonFields,
  expiryOf,
  readList,
  validateCommon,
  validateOrder,
} from '../../src/providers/common';
import { quoted, truncate } from '../../src/shared/text';
import { aws } from '../../src/providers/aws';
import { azure } from '../../src/providers/azure';
import type { Provider, RawValues } from '../../src/providers/types';
import { CREATED_AT, OFFERED_DISTRIBUTIONS, SUBMITTED_AT } from './support/fixtures';

const context = { distributions: OFFERED_DISTRIBUTIONS };

function errorsOf(raw: RawValues, provider: Provider = aws, ctx: Parameters<typeof validateCommon>[2] = context) {
  const result = validateCommon(provider, raw, ctx);
  return result.ok ? {} : result.errors;
}

describe('validateCommon', () => {
  it('accepts an offered distribution and an architecture the provider builds', () => {
    expect(validateCommon(aws, { distribution: 'rhel-10', architecture: 'aarch64' }, context)).toEqual({
      ok: true,
      value: { distribution: 'rhel-10', architecture: 'aarch64' },
    });
  });

  it.each([
    [' rhel-9 ', 'rhel-9'],
    ['RHEL-9', 'rhel-9'],
    [['centos-9'], 'centos-9'],
  ])('reads the distribution %p as %p', (given, expected) => {
    const result = validateCommon(aws, { distribution: given }, context);
    expect(result.ok && result.value.distribution).toBe(expected);
  });

  it.each<[RawValues['distribution'], string]>([
    [undefined, 'Choose a distribution.'],
    ['   ', 'Choose a distribution.'],
    ['rhel-7', '“rhel-7” is not a distribution this account can build. Choose one of rhel-9, rhel-10, centos-9.'],
    [['rhel-9', 'rhel-10'], 'Give one value here, not 2.'],
    ['toString', '“toString” is not a distribution this account can build. Choose one of rhel-9, rhel-10, centos-9.'],
  ])('explains what is wrong with the distribution %p', (given, message) => {
    expect(errorsOf({ distribution: given })).toEqual({ distribution: message });
  });

  it('lists at most eight offered distributions in the message', () => {
    const many = Array.from({ length: 12 }, (_, i) => `rhel-9${i}`);
    expect(errorsOf({ distribution: 'x' }, aws, { distributions: many }).distribution).toBe(
      '“x” is not a distribution this account can build. Choose one of rhel-90, rhel-91, rhel-92, rhel-93, rhel-94, rhel-95, rhel-96, rhel-97, ….',
    );
  });

  it('says so when the service offers no distribution at all', () => {
    expect(errorsOf({ distribution: 'rhel-9' }, aws, { distributions: [] }).distribution).toBe(
      'Image Builder offers no distributions to this account right now.',
    );
  });

  it.each([
    ['x86_64', 'x86_64'],
    ['amd64', 'x86_64'],
    ['X86-64', 'x86_64'],
    ['arm64', 'aarch64'],
    ['aarch64', 'aarch64'],
    [undefined, 'x86_64'],
  ])('reads the architecture %p as %p', (given, expected) => {
    const result = validateCommon(aws, { distribution: 'rhel-9', architecture: given }, context);
    expect(result.ok && result.value.architecture).toBe(expected);
  });

  it('defaults to the only architecture the service offers', () => {
    const result = validateCommon(aws, { distribution: 'rhel-9' }, { ...context, architectures: ['aarch64'] });
    expect(result.ok && result.value.architecture).toBe('aarch64');
  });

  it.each<[RawValues['architecture'], Provider, string]>([
    [
      'ppc64le',
      aws,
      '“ppc64le” is not an architecture Amazon Web Services images can be built for; choose x86_64 or aarch64.',
    ],
    ['aarch64', azure, '“aarch64” is not an architecture Microsoft Azure images can be built for; choose x86_64.'],
    [
      'constructor',
      aws,
      '“constructor” is not an architecture Amazon Web Services images can be built for; choose x86_64 or aarch64.',
    ],
  ])('refuses the architecture %p', (given, provider, message) => {
    expect(errorsOf({ distribution: 'rhel-9', architecture: given }, provider)).toEqual({ architecture: message });
  });

  it('refuses an architecture the service does not offer for the distribution', () => {
    expect(
      errorsOf({ distribution: 'rhel-9', architecture: 'aarch64' }, aws, { ...context, architectures: ['x86_64'] }),
    ).toEqual({ architecture: 'aarch64 is not offered for this distribution; choose x86_64.' });
  });

  it('refuses when the provider builds none of the architectures offered', () => {
    expect(errorsOf({ distribution: 'rhel-9' }, azure, { ...context, architectures: ['aarch64'] })).toEqual({
      architecture: 'Image Builder cannot build Microsoft Azure images for any architecture offered here.',
    });
  });

  it.each([
    ['  My nightly build  ', 'My nightly build'],
    ['Ünïcödé 🐧 name', 'Ünïcödé 🐧 name'],
    ['x'.repeat(100), 'x'.repeat(100)],
  ])('accepts the build name %p', (given, expected) => {
    const result = validateCommon(aws, { distribution: 'rhel-9', image_name: given }, context);
    expect(result.ok && result.value.imageName).toBe(expected);
  });

  it('leaves a blank build name out', () => {
    const result = validateCommon(aws, { distribution: 'rhel-9', image_name: '  ' }, context);
    expect(result).toEqual({ ok: true, value: { distribution: 'rhel-9', architecture: 'x86_64' } });
  });

  it.each([
    ['x'.repeat(101), 'The build name can be at most 100 characters; this one has 101.'],
    ['two\nlines', 'The build name cannot contain line breaks, tabs or other control characters.'],
    ['tab\there', 'The build name cannot contain line breaks, tabs or other control characters.'],
    ['bidi \u202Etxt.exe', 'The build name cannot contain line breaks, tabs or other control characters.'],
  ])('refuses the build name %p', (given, message) => {
    expect(errorsOf({ distribution: 'rhel-9', image_name: given })).toEqual({ image_name: message });
  });

  it('refuses values that are not text instead of failing', () => {
    const raw = { distribution: 42, architecture: { x: 1 }, image_name: ['ok', null] } as unknown as RawValues;
    expect(errorsOf(raw)).toEqual({
      distribution: 'This value could not be read as text.',
      architecture: 'This value could not be read as text.',
      image_name: 'This value could not be read as text.',
    });
  });

  it('reports every shared field at once', () => {
    expect(Object.keys(errorsOf({ distribution: 'nope', architecture: 's390x', image_name: 'a\u0000b' }))).toEqual([
      'distribution',
      'architecture',
      'image_name',
    ]);
  });
});

describe('validateOrder', () => {
  it('joins the shared fields and the provider options', () => {
    expect(validateOrder(aws, { distribution: 'rhel-9', share_with_accounts: '123456789012' }, context)).toEqual({
      ok: true,
      value: {
        distribution: 'rhel-9',
        architecture: 'x86_64',
        options: { shareWithAccounts: ['123456789012'] },
        packages: [],
      },
    });
  });

  it('reports the shared and the provider fields together', () => {
    const result = validateOrder(aws, { distribution: 'rhel-7', share_with_accounts: '1' }, context);
    expect(result.ok ? [] : Object.keys(result.errors)).toEqual(['distribution', 'share_with_accounts']);
  });
});

describe('buildComposeRequest', () => {
  const base = {
    provider: aws,
    distribution: 'rhel-9',
    architecture: 'x86_64',
    options: { shareWithAccounts: ['123456789012'] },
  } as const;

  it('sends exactly the keys the service accepts', () => {
    expect(
      buildComposeRequest({ ...base, imageName: 'nightly', imageDescription: 'Ordered from Slack by Alice' }),
    ).toStrictEqual({
      distribution: 'rhel-9',
      image_name: 'nightly',
      image_description: 'Ordered from Slack by Alice',
      client_id: 'api',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'aws',
          upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
        },
      ],
    });
  });

  it('leaves out an absent or blank name and description instead of sending empty keys', () => {
    const body = buildComposeRequest({ ...base, imageName: ' ', imageDescription: '' });
    expect(Object.keys(body)).toEqual(['distribution', 'client_id', 'image_requests']);
  });

  it('shortens a long description to 250 characters without splitting a character', () => {
    const description = `${'a'.repeat(248)}🐧🐧🐧`;
    const sent = buildComposeRequest({ ...base, imageDescription: description }).image_description ?? '';
    expect(sent).toBe(`${'a'.repeat(248)}…`);
    expect(sent.length).toBeLessThanOrEqual(250);
  });

  it('keeps the description on one line and repairs broken characters', () => {
    const sent = buildComposeRequest({ ...base, imageDescription: 'by\nAlice\u0000 \ud800!' }).image_description;
    expect(sent).toBe('by Alice  \uFFFD!');
  });
});

describe('helpers', () => {
  it('splits lists on any mix of commas, spaces and line breaks, and drops duplicates', () => {
    expect(readList({ f: ['a, b\n\nc', ' a\u00A0d,,'] }, 'f')).toEqual({ ok: true, value: ['a', 'b', 'c', 'd'] });
  });

  it('quotes values in messages short and without invisible controls', () => {
    expect(quoted('abc')).toBe('“abc”');
    expect(quoted('a\nb\u202Ec')).toBe('“a\uFFFDb\uFFFDc”');
    expect(quoted('x'.repeat(100))).toBe(`“${'x'.repeat(39)}…”`);
  });

  it('truncates between code points', () => {
    expect(truncate('🐧🐧🐧', 4)).toBe('🐧…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('counts the lifetime from created_at when known, else from submission', () => {
    expect(expiryOf({ createdAt: CREATED_AT, submittedAt: SUBMITTED_AT }, 14)).toEqual({
      expiresAt: new Date('2025-03-15T09:59:58.000Z'),
      lifetimeDays: 14,
    });
    expect(expiryOf({ submittedAt: SUBMITTED_AT }, 7)).toEqual({
      expiresAt: new Date('2025-03-08T09:59:57.000Z'),
      lifetimeDays: 7,
    });
    expect(expiryOf({ createdAt: CREATED_AT, submittedAt: SUBMITTED_AT }, undefined)).toEqual({});
  });
});

describe('commonFields', () => {
  it('offers the distributions and architectures this account has, x86_64 first by default', () => {
    const [distribution, architecture, imageName] = commonFields(aws, {
      distributions: [{ name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' }, { name: 'centos-9' }],
    });
    expect(distribution?.options).toEqual([
      { value: 'rhel-9', label: 'Red Hat Enterprise Linux (RHEL) 9 (rhel-9)' },
      { value: 'centos-9', label: 'centos-9' },
    ]);
    expect(architecture).toMatchObject({ default: 'x86_64', options: [{ value: 'x86_64' }, { value: 'aarch64' }] });
    expect(imageName).toMatchObject({ id: 'image_name', required: false });
  });

  it('offers only what both the provider and the service allow', () => {
    const architecture = commonFields(azure, { distributions: [], architectures: ['x86_64', 'aarch64'] })[1];
    expect(architecture?.options?.map((o) => o.value)).toEqual(['x86_64']);
  });
});
