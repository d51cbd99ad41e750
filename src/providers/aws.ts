import {
  baseSummary,
  expiryOf,
  invalidEntriesMessage,
  listOption,
  nameWords,
  readList,
  shareSummaryOf,
  slug,
  textOption,
} from './common';
import { AWS_ACCOUNT_ID, canonicalAwsAccountId } from '../shared/ids';
import { listInWords } from '../shared/text';
import { shellCommand, shellQuote } from './shell';
import type {
  FinishedCompose,
  LaunchDefaults,
  Provider,
  RawValues,
  ResultDescription,
  SuggestedCommand,
} from './types';
import type { Read } from './read';
import {
  awsLaunchFields,
  COPY_REGIONS_FIELD,
  KEY_PAIR_FIELD,
  readCopyRegions,
  readKeyPairName,
  AWS_REGION,
} from './awsLaunch';

export interface AwsOptions {
  shareWithAccounts: readonly string[];
  /** The EC2 key pair the suggested `run-instances` starts the instance with. */
  keyPairName?: string;
  /** Regions the result prints an `aws ec2 copy-image` for, besides the one it was built in. */
  copyToRegions?: readonly string[];
}

/** The launch settings an AWS build keeps (see LaunchSettings): snake_case, like the upload options beside them. */
const LAUNCH_KEYS = { keyPairName: 'key_name', copyToRegions: 'copy_to_regions' } as const;

const SHARE_FIELD = 'share_with_accounts';

const LIFETIME_DAYS = 14;

export const aws: Provider<AwsOptions> = {
  id: 'aws',
  label: 'Amazon Web Services',
  image: {
    one: 'Amazon Web Services image',
    article: 'an',
    many: 'Amazon Web Services images',
    destination: { preposition: 'on', place: 'Amazon Web Services' },
  },
  imageType: 'aws',
  imageTypeAliases: ['ami'],
  uploadType: 'aws',
  architectures: ['x86_64', 'aarch64'],
  lifetimeDays: LIFETIME_DAYS,
  fields: [
    {
      id: SHARE_FIELD,
      label: 'AWS account IDs to share the image with',
      hint: '12-digit account IDs, separated by commas, spaces or new lines. Copy the image within 14 days to keep it.',
      placeholder: '123456789012, 210987654321',
      kind: 'multiline',
      required: true,
      cli: { flag: 'share', description: 'AWS account id (12 digits) to share the AMI with', repeatable: true },
    },
    ...awsLaunchFields,
  ],

  validate(raw) {
    const accounts = readAccounts(raw);
    const keyPairName = readKeyPairName(raw);
    const copyToRegions = readCopyRegions(raw);
    if (accounts.ok && keyPairName.ok && copyToRegions.ok) {
      const options: AwsOptions = {
        shareWithAccounts: accounts.value,
        ...(keyPairName.value ? { keyPairName: keyPairName.value } : {}),
        ...(copyToRegions.value.length > 0 ? { copyToRegions: copyToRegions.value } : {}),
      };
      return { ok: true, value: options };
    }
    const errors: Record<string, string> = {};
    if (!accounts.ok) errors[SHARE_FIELD] = accounts.error;
    if (!keyPairName.ok) errors[KEY_PAIR_FIELD] = keyPairName.error;
    if (!copyToRegions.ok) errors[COPY_REGIONS_FIELD] = copyToRegions.error;
    return { ok: false, errors };
  },

  uploadRequest(options) {
    return { type: 'aws', options: { share_with_accounts: [...options.shareWithAccounts] } };
  },

  launchSettings(options) {
    return {
      ...(options.keyPairName ? { [LAUNCH_KEYS.keyPairName]: options.keyPairName } : {}),
      ...(options.copyToRegions?.length ? { [LAUNCH_KEYS.copyToRegions]: [...options.copyToRegions] } : {}),
    };
  },

  shareSummary(options) {
    const noun = options.shareWithAccounts.length === 1 ? 'account' : 'accounts';
    return shareSummaryOf(`shared with AWS ${noun}`, options.shareWithAccounts);
  },

  shareTargets(options) {
    return options.shareWithAccounts.map((account) => ({ kind: 'aws-account', value: account, fieldId: SHARE_FIELD }));
  },

  formValues(uploadOptions, launchSettings): Record<string, string> {
    const accounts = listOption(uploadOptions, 'share_with_accounts');
    const keyPairName = textOption(launchSettings, LAUNCH_KEYS.keyPairName);
    const regions = listOption(launchSettings, LAUNCH_KEYS.copyToRegions);
    return {
      ...(accounts.length > 0 ? { [SHARE_FIELD]: accounts.join('\n') } : {}),
      ...(keyPairName ? { [KEY_PAIR_FIELD]: keyPairName } : {}),
      ...(regions.length > 0 ? { [COPY_REGIONS_FIELD]: regions.join('\n') } : {}),
    };
  },

  describeResult(compose, launch) {
    return describeAmi(compose, launch);
  },
};

function readAccounts(raw: RawValues): Read<string[]> {
  const read = readList(raw, SHARE_FIELD);
  if (!read.ok) return read;
  const accounts = read.value.map((entry) => canonicalAwsAccountId(entry) ?? entry);
  const invalid = accounts.filter((a) => !AWS_ACCOUNT_ID.test(a));
  if (invalid.length > 0) {
    const message = invalidEntriesMessage(
      invalid,
      { one: 'an AWS account id', many: 'AWS account ids' },
      invalid.length === 1 ? 'it must be exactly 12 digits.' : 'each must be exactly 12 digits.',
    );
    return { ok: false, error: message };
  }
  if (accounts.length === 0) {
    return { ok: false, error: 'Enter at least one AWS account id (12 digits) to share the image with.' };
  }
  return { ok: true, value: [...new Set(accounts)] };
}

function describeAmi(compose: FinishedCompose, launch: LaunchDefaults): ResultDescription {
  const ami = textOption(compose.upload.options, 'ami');
  const region = textOption(compose.upload.options, 'region');
  const sharedWith = listOption(compose.requestUploadOptions, 'share_with_accounts');
  const summary = [
    ...baseSummary(compose),
    ...(ami ? [{ label: 'AMI', value: ami }] : []),
    ...(region ? [{ label: 'Region', value: region }] : []),
    ...(sharedWith.length ? [{ label: 'Shared with', value: listInWords(sharedWith), items: sharedWith }] : []),
  ];
  const expiry = expiryOf(compose, LIFETIME_DAYS);
  if (!ami || !region) {
    return {
      headline: 'AWS image built, but Image Builder did not report its AMI id and region',
      summary,
      launchCommands: [],
      copyCommands: [],
      ...expiry,
    };
  }

  const keyPairName = textOption(compose.launchSettings, LAUNCH_KEYS.keyPairName);
  const launchCommand = shellCommand('aws', [
    'ec2',
    'run-instances',
    ['--image-id', ami],
    ['--region', region],
    '--count',
    '1',
    ['--instance-type', launch.aws.instanceType[compose.architecture]],
    ...(keyPairName ? [['--key-name', keyPairName] as const] : []),
  ]);
  return {
    headline: `AMI ${ami} in ${region}`,
    summary,
    ...consoleUrl(ami, region),
    launchCommands: [
      { label: keyPairName ? 'Launch an instance with your key pair' : 'Launch an instance', command: launchCommand },
      ...keyPairLogin(compose, keyPairName),
    ],
    copyCommands: copyCommands(compose, ami, region),
    ...expiry,
  };
}

/**
 * One copy into the requester's account in the region it was built in (to keep it past its 14 days), then one per
 * region asked for. A copy is made by whoever runs it, so it lands in the account it was shared with.
 */
function copyCommands(compose: FinishedCompose, ami: string, region: string): SuggestedCommand[] {
  const copyTo = (target: string) =>
    shellCommand('aws', [
      'ec2',
      'copy-image',
      ['--source-image-id', ami],
      ['--source-region', region],
      ['--region', target],
      ['--name', amiName(compose)],
    ]);
  const regions = listOption(compose.launchSettings, LAUNCH_KEYS.copyToRegions).filter(
    (target) => target !== region && AWS_REGION.test(target),
  );
  return [
    { label: 'Copy it into your account to keep it', command: copyTo(region) },
    ...regions.map((target) => ({ label: `Copy it to ${target}`, command: copyTo(target) })),
  ];
}

// The user cloud-init makes for the key pair on RHEL and CentOS AMIs; other distributions name theirs differently.
const EC2_DEFAULT_USER = 'ec2-user';

/**
 * How to log in with the key pair, where its user is known; the private key is the .pem file AWS hands out under the
 * key pair's name. ADDRESS is a placeholder in capitals, as in the login line of an SSH key (outcome.ts).
 */
function keyPairLogin(compose: FinishedCompose, keyPairName: string | undefined): SuggestedCommand[] {
  if (!keyPairName || !/^(rhel|centos)-/.test(compose.distribution)) return [];
  return [
    {
      label: 'Then log in with the key pair’s private key (ADDRESS: the instance’s public address)',
      command: `ssh -i ${shellQuote(`${keyPairName}.pem`)} ${EC2_DEFAULT_USER}@ADDRESS`,
    },
  ];
}

// Regions are hostnames (us-east-1); anything else would point the link somewhere unexpected.
const REGION = /^[a-z]{2}(?:-[a-z0-9]+)+$/;

function consoleUrl(ami: string, region: string): { consoleUrl?: string } {
  if (!REGION.test(region)) return {};
  const query = encodeURIComponent(region);
  return {
    consoleUrl: `https://${region}.console.aws.amazon.com/ec2/home?region=${query}#ImageDetails:imageId=${encodeURIComponent(ami)}`,
  };
}

// AMI names allow 3–128 of letters, digits and ( ) [ ] space . / - ' @ _; we keep to those a shell leaves alone.
const AMI_NAME_CHARACTER = /[A-Za-z0-9._-]/;
const AMI_NAME_MAX_LENGTH = 128;

/** e.g. "rhel-9-x86_64-1a2b3c4d-copy". */
export function amiName(compose: Pick<FinishedCompose, 'distribution' | 'architecture' | 'composeId'>): string {
  return slug([...nameWords(compose), 'copy'], AMI_NAME_CHARACTER, AMI_NAME_MAX_LENGTH) || 'image-builder-copy';
}
