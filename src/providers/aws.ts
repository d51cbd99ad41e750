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
import { shellCommand } from './shell';
import type { FinishedCompose, LaunchDefaults, Provider, ResultDescription } from './types';

export interface AwsOptions {
  shareWithAccounts: readonly string[];
}

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
  ],

  validate(raw) {
    const read = readList(raw, SHARE_FIELD);
    if (!read.ok) return { ok: false, errors: { [SHARE_FIELD]: read.error } };
    const accounts = read.value.map((entry) => canonicalAwsAccountId(entry) ?? entry);
    const invalid = accounts.filter((a) => !AWS_ACCOUNT_ID.test(a));
    if (invalid.length > 0) {
      const message = invalidEntriesMessage(
        invalid,
        { one: 'an AWS account id', many: 'AWS account ids' },
        invalid.length === 1 ? 'it must be exactly 12 digits.' : 'each must be exactly 12 digits.',
      );
      return { ok: false, errors: { [SHARE_FIELD]: message } };
    }
    if (accounts.length === 0) {
      return {
        ok: false,
        errors: { [SHARE_FIELD]: 'Enter at least one AWS account id (12 digits) to share the image with.' },
      };
    }
    return { ok: true, value: { shareWithAccounts: [...new Set(accounts)] } };
  },

  uploadRequest(options) {
    return { type: 'aws', options: { share_with_accounts: [...options.shareWithAccounts] } };
  },

  shareSummary(options) {
    const noun = options.shareWithAccounts.length === 1 ? 'account' : 'accounts';
    return shareSummaryOf(`shared with AWS ${noun}`, options.shareWithAccounts);
  },

  shareTargets(options) {
    return options.shareWithAccounts.map((account) => ({ kind: 'aws-account', value: account, fieldId: SHARE_FIELD }));
  },

  formValues(uploadOptions): Record<string, string> {
    const accounts = listOption(uploadOptions, 'share_with_accounts');
    return accounts.length > 0 ? { [SHARE_FIELD]: accounts.join('\n') } : {};
  },

  describeResult(compose, launch) {
    return describeAmi(compose, launch);
  },
};

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

  const launchCommand = shellCommand('aws', [
    'ec2',
    'run-instances',
    ['--image-id', ami],
    ['--region', region],
    '--count',
    '1',
    ['--instance-type', launch.aws.instanceType[compose.architecture]],
  ]);
  const copyCommand = shellCommand('aws', [
    'ec2',
    'copy-image',
    ['--source-image-id', ami],
    ['--source-region', region],
    ['--region', region],
    ['--name', amiName(compose)],
  ]);
  return {
    headline: `AMI ${ami} in ${region}`,
    summary,
    ...consoleUrl(ami, region),
    launchCommands: [{ label: 'Launch an instance', command: launchCommand }],
    copyCommands: [{ label: 'Copy it into your account to keep it', command: copyCommand }],
    ...expiry,
  };
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
