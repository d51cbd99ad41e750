import { gcp } from '../../src/providers/gcp';
import { DEFAULT_LAUNCH_DEFAULTS, type RawValues } from '../../src/providers/types';
import { finishedCompose, HOSTILE_VALUES } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

const field = 'share_with';

describe('gcp: principals to share with', () => {
  it.each<[RawValues[string], string[]]>([
    ['user:alice@example.com', ['user:alice@example.com']],
    [
      'user:alice@example.com, serviceAccount:builder@my-project.iam.gserviceaccount.com\ngroup:admins@example.com domain:example.com',
      [
        'user:alice@example.com',
        'serviceAccount:builder@my-project.iam.gserviceaccount.com',
        'group:admins@example.com',
        'domain:example.com',
      ],
    ],
    [
      ['user:alice@example.com', 'user:alice@example.com group:ops@example.co.uk'],
      ['user:alice@example.com', 'group:ops@example.co.uk'],
    ],
    ['User:alice@example.com ServiceAccount:x@y.example', ['user:alice@example.com', 'serviceAccount:x@y.example']],
    ["user:o'brien+images@example.com", ["user:o'brien+images@example.com"]],
  ])('accepts %j', (given, principals) => {
    expect(gcp.validate({ [field]: given })).toEqual({ ok: true, value: { shareWith: principals } });
  });

  it.each<[RawValues[string], string]>([
    [
      undefined,
      'Enter at least one Google account to share the image with, e.g. user:alice@example.com; otherwise nobody can use it.',
    ],
    [
      '\n,\n',
      'Enter at least one Google account to share the image with, e.g. user:alice@example.com; otherwise nobody can use it.',
    ],
    [
      'alice@example.com',
      '“alice@example.com” needs its kind in front: user:alice@example.com, group:alice@example.com or serviceAccount:alice@example.com.',
    ],
    ['example.com', '“example.com” needs its kind in front: domain:example.com.'],
    [
      'user:alice',
      '“user:alice” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      'domain:alice@example.com',
      '“domain:alice@example.com” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      'constructor:alice@example.com',
      '“constructor:alice@example.com” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      '__proto__:example.com',
      '“__proto__:example.com” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      'allUsers',
      '“allUsers” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      'owner:alice@example.com',
      '“owner:alice@example.com” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN.',
    ],
    [
      'user:alice@example.com x y',
      '“x” is not a Google principal: use user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN. (1 more entry is not valid either)',
    ],
  ])('refuses %j', (given, message) => {
    expect(gcp.validate({ [field]: given })).toEqual({ ok: false, errors: { [field]: message } });
  });

  it('builds the upload request and a summary', () => {
    const options = { shareWith: ['user:alice@example.com', 'domain:example.com'] };
    expect(gcp.uploadRequest(options)).toEqual({
      type: 'gcp',
      options: { share_with_accounts: ['user:alice@example.com', 'domain:example.com'] },
    });
    expect(gcp.shareSummary(options)).toBe('shared with user:alice@example.com, domain:example.com');
  });
});

describe('gcp: the finished image', () => {
  const built = finishedCompose({
    upload: { type: 'gcp', options: { project_id: 'ascendant-braid-303513', image_name: 'composer-api-1a2b3c4d' } },
    requestUploadOptions: { share_with_accounts: ['user:alice@example.com'] },
  });

  it('describes the image with create and copy commands that need no editing', () => {
    expect(gcp.describeResult(built, DEFAULT_LAUNCH_DEFAULTS)).toEqual({
      headline: 'Google Cloud image composer-api-1a2b3c4d in project ascendant-braid-303513',
      summary: [
        { label: 'Distribution', value: 'rhel-9' },
        { label: 'Architecture', value: 'x86_64' },
        { label: 'Image', value: 'composer-api-1a2b3c4d' },
        { label: 'Project', value: 'ascendant-braid-303513' },
        { label: 'Shared with', value: 'user:alice@example.com', items: ['user:alice@example.com'] },
      ],
      consoleUrl:
        'https://console.cloud.google.com/compute/imagesDetail/projects/ascendant-braid-303513/global/images/composer-api-1a2b3c4d',
      launchCommands: [
        {
          label: 'Create an instance',
          command:
            'gcloud compute instances create rhel-9-x86-64-1a2b3c4d --image-project ascendant-braid-303513 --image composer-api-1a2b3c4d --zone us-east4-a --machine-type e2-medium',
        },
      ],
      copyCommands: [
        {
          label: 'Copy it into your project to keep it',
          command:
            'gcloud compute images create rhel-9-x86-64-1a2b3c4d --source-image-project ascendant-braid-303513 --source-image composer-api-1a2b3c4d',
        },
      ],
      expiresAt: new Date('2025-03-15T09:59:58.000Z'),
      lifetimeDays: 14,
    });
  });

  it('launches aarch64 images on an Arm machine type in a zone that has one', () => {
    const command = gcp.describeResult({ ...built, architecture: 'aarch64' }, DEFAULT_LAUNCH_DEFAULTS).launchCommands[0]
      ?.command;
    expect(command).toMatch(/ --zone us-central1-a --machine-type t2a-standard-1$/);
  });

  it('counts the 14 days from submission when created_at is unknown', () => {
    expect(gcp.describeResult({ ...built, createdAt: undefined }, DEFAULT_LAUNCH_DEFAULTS).expiresAt).toEqual(
      new Date('2025-03-15T09:59:57.000Z'),
    );
  });

  it('says what is missing instead of printing broken commands', () => {
    const result = gcp.describeResult(
      { ...built, upload: { type: 'gcp', options: { image_name: 'x' } } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result).toMatchObject({
      headline: 'Google Cloud image built, but Image Builder did not report its project and name',
      launchCommands: [],
      copyCommands: [],
    });
    expect(result.consoleUrl).toBeUndefined();
  });

  it.each([
    ['rhel-9', '1a2b3c4d-…', 'rhel-9-x86-64-1a2b3c4d'],
    ['9-Rhel_Beta', 'ABCDEF12-3456', 'image-9-rhel-beta-x86-64-abcdef12'],
    ['-', '', 'x86-64'],
    ['9', '', 'image-9-x86-64'],
    ['r'.repeat(80), '1a2b3c4d', 'r'.repeat(63)],
    [`${'r'.repeat(62)}-x`, '1a2b3c4d', 'r'.repeat(62)],
  ])('names the instance validly for distribution %j and compose id %j', (distribution, composeId, name) => {
    const command =
      gcp.describeResult({ ...built, distribution, composeId }, DEFAULT_LAUNCH_DEFAULTS).launchCommands[0]?.command ??
      '';
    const argv = runWithPrintf(command).argv;
    expect(argv[4]).toBe(name);
    expect(name).toMatch(/^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
  });

  describe.each(SHELLS)('with hostile values from the service, pasted into %s', (shell) => {
    it.each(HOSTILE_VALUES.filter((v) => v !== ''))('keeps %j inert', (hostile) => {
      const result = gcp.describeResult(
        { ...built, upload: { type: 'gcp', options: { project_id: hostile, image_name: hostile } } },
        DEFAULT_LAUNCH_DEFAULTS,
      );
      const asValue = (flag: string) => (hostile.startsWith('-') ? [`${flag}=${hostile}`] : [flag, hostile]);
      expect(runWithPrintf(result.launchCommands[0]?.command ?? '', shell)).toEqual({
        argv: [
          'gcloud',
          'compute',
          'instances',
          'create',
          'rhel-9-x86-64-1a2b3c4d',
          ...asValue('--image-project'),
          ...asValue('--image'),
          '--zone',
          'us-east4-a',
          '--machine-type',
          'e2-medium',
        ],
        created: [],
      });
      expect(runWithPrintf(result.copyCommands[0]?.command ?? '', shell)).toEqual({
        argv: [
          'gcloud',
          'compute',
          'images',
          'create',
          'rhel-9-x86-64-1a2b3c4d',
          ...asValue('--source-image-project'),
          ...asValue('--source-image'),
        ],
        created: [],
      });
      expect(result.consoleUrl).toMatch(
        /^https:\/\/console\.cloud\.google\.com\/compute\/imagesDetail\/projects\/[^/?#|<>\s]+\/global\/images\/[^/?#|<>\s]+$/,
      );
    });
  });
});
