import { aws } from '../../src/providers/aws';
import { DEFAULT_LAUNCH_DEFAULTS, type RawValues } from '../../src/providers/types';
import { CREATED_AT, finishedCompose, HOSTILE_VALUES } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

const field = 'share_with_accounts';

describe('aws: accounts to share with', () => {
  it.each<[RawValues[string], string[]]>([
    ['123456789012', ['123456789012']],
    ['123456789012, 210987654321', ['123456789012', '210987654321']],
    ['123456789012\n210987654321 ,\n 123456789012', ['123456789012', '210987654321']],
    [
      ['123456789012', '210987654321 111122223333'],
      ['123456789012', '210987654321', '111122223333'],
    ],
    ['1234-5678-9012', ['123456789012']],
    ['1234-5678-9012 123456789012', ['123456789012']],
  ])('accepts %j', (given, accounts) => {
    expect(aws.validate({ [field]: given })).toEqual({ ok: true, value: { shareWithAccounts: accounts } });
  });

  it.each<[RawValues[string], string]>([
    [undefined, 'Enter at least one AWS account id (12 digits) to share the image with.'],
    [' ,\n ', 'Enter at least one AWS account id (12 digits) to share the image with.'],
    [[], 'Enter at least one AWS account id (12 digits) to share the image with.'],
    ['12345', '“12345” is not an AWS account id: it must be exactly 12 digits.'],
    ['1234567890123', '“1234567890123” is not an AWS account id: it must be exactly 12 digits.'],
    ['12345678901a', '“12345678901a” is not an AWS account id: it must be exactly 12 digits.'],
    ['１２３４５６７８９０１２', '“１２３４５６７８９０１２” is not an AWS account id: it must be exactly 12 digits.'],
    [
      '123456789012;210987654321',
      '“123456789012;210987654321” is not an AWS account id: it must be exactly 12 digits.',
    ],
    ['abc 123456789012 12345', '“abc” and “12345” are not AWS account ids: each must be exactly 12 digits.'],
    ['1 2 3 4 5', '“1”, “2” and “3” (and 2 more) are not AWS account ids: each must be exactly 12 digits.'],
  ])('refuses %j', (given, message) => {
    expect(aws.validate({ [field]: given })).toEqual({ ok: false, errors: { [field]: message } });
  });

  it('builds the upload request and a summary from the accounts', () => {
    const options = { shareWithAccounts: ['123456789012', '210987654321'] };
    expect(aws.uploadRequest(options)).toEqual({
      type: 'aws',
      options: { share_with_accounts: ['123456789012', '210987654321'] },
    });
    expect(aws.shareSummary(options)).toBe('shared with AWS accounts 123456789012, 210987654321');
    expect(aws.shareSummary({ shareWithAccounts: ['123456789012'] })).toBe('shared with AWS account 123456789012');
  });

  it('sums up sharing with 100 accounts in whole ids that fit one line, and how many more', () => {
    const accounts = Array.from({ length: 100 }, (_, i) => String(111111111100 + i));
    const summary = aws.shareSummary({ shareWithAccounts: accounts });
    expect(summary).toBe(`shared with AWS accounts ${accounts.slice(0, 68).join(', ')} and 32 more`);
    expect(summary.length).toBeLessThanOrEqual(1000);
  });
});

describe('aws: the finished image', () => {
  const built = finishedCompose({
    upload: { type: 'aws', options: { ami: 'ami-0c830793775595d4b', region: 'us-east-1' } },
    requestUploadOptions: { share_with_accounts: ['123456789012'] },
  });

  it('describes the AMI with launch and copy commands that need no editing', () => {
    expect(aws.describeResult(built, DEFAULT_LAUNCH_DEFAULTS)).toEqual({
      headline: 'AMI ami-0c830793775595d4b in us-east-1',
      summary: [
        { label: 'Distribution', value: 'rhel-9' },
        { label: 'Architecture', value: 'x86_64' },
        { label: 'AMI', value: 'ami-0c830793775595d4b' },
        { label: 'Region', value: 'us-east-1' },
        { label: 'Shared with', value: '123456789012', items: ['123456789012'] },
      ],
      consoleUrl:
        'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#ImageDetails:imageId=ami-0c830793775595d4b',
      launchCommands: [
        {
          label: 'Launch an instance',
          command:
            'aws ec2 run-instances --image-id ami-0c830793775595d4b --region us-east-1 --count 1 --instance-type t3.micro',
        },
      ],
      copyCommands: [
        {
          label: 'Copy it into your account to keep it',
          command:
            'aws ec2 copy-image --source-image-id ami-0c830793775595d4b --source-region us-east-1 --region us-east-1 --name rhel-9-x86_64-1a2b3c4d-copy',
        },
      ],
      expiresAt: new Date('2025-03-15T09:59:58.000Z'),
      lifetimeDays: 14,
    });
  });

  it('suggests an Arm instance type for aarch64 images and shows the build name', () => {
    const result = aws.describeResult(
      { ...built, architecture: 'aarch64', imageName: 'nightly' },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.launchCommands[0]?.command).toBe(
      'aws ec2 run-instances --image-id ami-0c830793775595d4b --region us-east-1 --count 1 --instance-type t4g.micro',
    );
    expect(result.summary[0]).toEqual({ label: 'Build name', value: 'nightly' });
  });

  it('uses the instance types configured instead of the defaults', () => {
    const launch = { ...DEFAULT_LAUNCH_DEFAULTS, aws: { instanceType: { x86_64: 'm7i.large', aarch64: 'm7g.large' } } };
    expect(aws.describeResult(built, launch).launchCommands[0]?.command).toMatch(/--instance-type m7i\.large$/);
  });

  it('counts the 14 days from submission when created_at is unknown', () => {
    const result = aws.describeResult({ ...built, createdAt: undefined }, DEFAULT_LAUNCH_DEFAULTS);
    expect(result.expiresAt).toEqual(new Date('2025-03-15T09:59:57.000Z'));
    expect(CREATED_AT).not.toEqual(result.expiresAt);
  });

  it('says what is missing instead of printing broken commands when the service omits the AMI', () => {
    const result = aws.describeResult(
      { ...built, upload: { type: 'aws', options: { region: 'us-east-1', ami: 42 } } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result).toMatchObject({
      headline: 'AWS image built, but Image Builder did not report its AMI id and region',
      launchCommands: [],
      copyCommands: [],
      lifetimeDays: 14,
    });
    expect(result.consoleUrl).toBeUndefined();
  });

  it('keeps a copy name AWS accepts whatever the distribution and compose id look like', () => {
    const odd = { ...built, distribution: "rhel 9 ' $(x) ✓", composeId: '../!!' };
    const copy = aws.describeResult(odd, DEFAULT_LAUNCH_DEFAULTS).copyCommands[0]?.command ?? '';
    expect(copy).toMatch(/ --name rhel-9-x-x86_64-copy$/);
    const long = { ...built, distribution: 'r'.repeat(300) };
    const longName = runWithPrintf(
      aws.describeResult(long, DEFAULT_LAUNCH_DEFAULTS).copyCommands[0]?.command ?? '',
    ).argv.at(-1);
    expect(longName).toMatch(/^[A-Za-z0-9()[\] ./'@_-]{3,128}$/);
  });

  describe.each(SHELLS)('with hostile values from the service, pasted into %s', (shell) => {
    it.each(HOSTILE_VALUES.filter((v) => v !== ''))('keeps %j inert in every command', (hostile) => {
      const result = aws.describeResult(
        { ...built, upload: { type: 'aws', options: { ami: hostile, region: hostile } } },
        DEFAULT_LAUNCH_DEFAULTS,
      );
      const asValue = (flag: string) => (hostile.startsWith('-') ? [`${flag}=${hostile}`] : [flag, hostile]);
      const launch = runWithPrintf(result.launchCommands[0]?.command ?? '', shell);
      expect(launch).toEqual({
        argv: [
          'aws',
          'ec2',
          'run-instances',
          ...asValue('--image-id'),
          ...asValue('--region'),
          '--count',
          '1',
          '--instance-type',
          't3.micro',
        ],
        created: [],
      });
      const copy = runWithPrintf(result.copyCommands[0]?.command ?? '', shell);
      expect(copy).toEqual({
        argv: [
          'aws',
          'ec2',
          'copy-image',
          ...asValue('--source-image-id'),
          ...asValue('--source-region'),
          ...asValue('--region'),
          '--name',
          'rhel-9-x86_64-1a2b3c4d-copy',
        ],
        created: [],
      });
      expect(result.consoleUrl).toBeUndefined();
    });
  });

  it('escapes the AMI id in the console link', () => {
    const result = aws.describeResult(
      { ...built, upload: { type: 'aws', options: { ami: 'ami-1|<x>#y', region: 'eu-west-1' } } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.consoleUrl).toBe(
      'https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#ImageDetails:imageId=ami-1%7C%3Cx%3E%23y',
    );
  });
});

describe('aws: launching and copying', () => {
  const built = finishedCompose({
    upload: { type: 'aws', options: { ami: 'ami-0c830793775595d4b', region: 'us-east-1' } },
    requestUploadOptions: { share_with_accounts: ['123456789012'] },
  });
  const base = { share_with_accounts: '123456789012' };

  it('takes a key pair and regions, keeps them as launch settings and gives them back to the form', () => {
    const order = aws.validate({
      ...base,
      key_pair_name: ' ops-key ',
      copy_to_regions: 'eu-west-1\nEU-WEST-1\nus-east-2',
    });
    expect(order).toEqual({
      ok: true,
      value: { shareWithAccounts: ['123456789012'], keyPairName: 'ops-key', copyToRegions: ['eu-west-1', 'us-east-2'] },
    });
    if (!order.ok) return;
    const settings = aws.launchSettings?.(order.value);
    expect(settings).toEqual({ key_name: 'ops-key', copy_to_regions: ['eu-west-1', 'us-east-2'] });
    expect(aws.uploadRequest(order.value)).toEqual({ type: 'aws', options: { share_with_accounts: ['123456789012'] } });
    expect(aws.formValues({ share_with_accounts: ['123456789012'] }, settings)).toEqual({
      share_with_accounts: '123456789012',
      key_pair_name: 'ops-key',
      copy_to_regions: 'eu-west-1\nus-east-2',
    });
    expect(aws.launchSettings?.({ shareWithAccounts: ['123456789012'] })).toEqual({});
  });

  it.each<[RawValues, Record<string, string>]>([
    [
      { copy_to_regions: 'eu-wset-1' },
      {
        copy_to_regions:
          '“eu-wset-1” is not an AWS region this bot knows, such as eu-west-1. Did you mean eu-west-1, eu-west-2 or eu-west-3?',
      },
    ],
    [
      { copy_to_regions: 'mars' },
      { copy_to_regions: '“mars” is not an AWS region this bot knows, such as eu-west-1.' },
    ],
    [
      {
        copy_to_regions: [
          'us-east-1',
          'us-east-2',
          'us-west-1',
          'us-west-2',
          'eu-west-1',
          'eu-west-2',
          'eu-west-3',
          'eu-north-1',
          'eu-south-1',
          'eu-south-2',
          'ap-east-1',
        ],
      },
      { copy_to_regions: 'Choose at most 10 regions to copy to; 11 were given.' },
    ],
    [
      { key_pair_name: 'key\u0000' },
      { key_pair_name: 'An EC2 key pair name is 1 to 255 plain ASCII characters, on one line.' },
    ],
    [
      { key_pair_name: 'k'.repeat(256) },
      { key_pair_name: 'An EC2 key pair name is 1 to 255 plain ASCII characters, on one line.' },
    ],
    [{ key_pair_name: ['a', 'b'] }, { key_pair_name: 'Give one value here, not 2.' }],
  ])('refuses %j on its field', (raw, errors) => {
    expect(aws.validate({ ...base, ...raw })).toEqual({ ok: false, errors });
  });

  it('launches with the key pair, says how to log in with it on RHEL, and copies to each region but the one it is in', () => {
    const result = aws.describeResult(
      {
        ...built,
        launchSettings: { key_name: 'ops-key', copy_to_regions: ['us-east-1', 'eu-west-1', 'ap-southeast-7'] },
      },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.launchCommands).toEqual([
      {
        label: 'Launch an instance with your key pair',
        command:
          'aws ec2 run-instances --image-id ami-0c830793775595d4b --region us-east-1 --count 1 --instance-type t3.micro --key-name ops-key',
      },
      {
        label: 'Then log in with the key pair’s private key (ADDRESS: the instance’s public address)',
        command: 'ssh -i ops-key.pem ec2-user@ADDRESS',
      },
    ]);
    const copy = (region: string) =>
      `aws ec2 copy-image --source-image-id ami-0c830793775595d4b --source-region us-east-1 --region ${region} --name rhel-9-x86_64-1a2b3c4d-copy`;
    expect(result.copyCommands).toEqual([
      { label: 'Copy it into your account to keep it', command: copy('us-east-1') },
      { label: 'Copy it to eu-west-1', command: copy('eu-west-1') },
      { label: 'Copy it to ap-southeast-7', command: copy('ap-southeast-7') },
    ]);
  });

  it('names no login user for distributions whose AMI user it does not know', () => {
    const result = aws.describeResult(
      { ...built, distribution: 'fedora-42', launchSettings: { key_name: 'ops-key' } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.launchCommands.map((c) => c.label)).toEqual(['Launch an instance with your key pair']);
  });

  it('ignores stored settings of the wrong shape and regions that are not regions', () => {
    const result = aws.describeResult(
      { ...built, launchSettings: { key_name: 42, copy_to_regions: ['$(id)', 7, 'eu-west-1'] } },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.launchCommands).toHaveLength(1);
    expect(result.copyCommands.map((c) => c.label)).toEqual([
      'Copy it into your account to keep it',
      'Copy it to eu-west-1',
    ]);
  });

  describe.each(SHELLS)('with a hostile key pair name, pasted into %s', (shell) => {
    it.each(HOSTILE_VALUES.filter((v) => v !== '' && /^[\x20-\x7e]+$/.test(v)))('keeps %j inert', (hostile) => {
      const result = aws.describeResult({ ...built, launchSettings: { key_name: hostile } }, DEFAULT_LAUNCH_DEFAULTS);
      const launch = runWithPrintf(result.launchCommands[0]?.command ?? '', shell);
      expect(launch.argv.slice(-1)).toEqual(hostile.startsWith('-') ? [`--key-name=${hostile}`] : [hostile]);
      expect(launch.created).toEqual([]);
      const login = runWithPrintf(result.launchCommands[1]?.command ?? '', shell);
      expect(login).toEqual({ argv: ['ssh', '-i', `${hostile}.pem`, 'ec2-user@ADDRESS'], created: [] });
    });
  });
});
