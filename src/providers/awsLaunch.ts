import { closeMatches } from '../shared/closeMatches';
import { listInWords, quoted } from '../shared/text';
import { readList, readSingle, type Read } from './read';
import type { FieldOption, FieldSpec, RawValues } from './types';

/*
 * What an AWS requester may add for launching and keeping the AMI, none of which Image Builder takes: the EC2 key
 * pair `run-instances` starts the instance with, and the regions to copy the AMI to (the service builds in one
 * region and no longer offers clones, so copies are the requester's `aws ec2 copy-image`).
 */

export const KEY_PAIR_FIELD = 'key_pair_name';
export const COPY_REGIONS_FIELD = 'copy_to_regions';

/** At most this many region copies, so that the result's commands stay readable. */
export const MAX_COPY_REGIONS = 10;

// EC2 key pair names: up to 255 ASCII characters.
const KEY_PAIR_NAME = /^[\x20-\x7e]{1,255}$/;

/*
 * The commercial regions (opt-in ones included) as of late 2026: AWS has no list a client can read without
 * credentials. Only these are taken, from the form and the CLI alike, so that a typo is refused with the region meant
 * rather than printed as a copy that fails; a region AWS opens later is one line here.
 */
const AWS_REGIONS: readonly FieldOption[] = (
  [
    ['us-east-1', 'US East (N. Virginia)'],
    ['us-east-2', 'US East (Ohio)'],
    ['us-west-1', 'US West (N. California)'],
    ['us-west-2', 'US West (Oregon)'],
    ['ca-central-1', 'Canada (Central)'],
    ['ca-west-1', 'Canada West (Calgary)'],
    ['mx-central-1', 'Mexico (Central)'],
    ['sa-east-1', 'South America (São Paulo)'],
    ['eu-central-1', 'Europe (Frankfurt)'],
    ['eu-central-2', 'Europe (Zurich)'],
    ['eu-west-1', 'Europe (Ireland)'],
    ['eu-west-2', 'Europe (London)'],
    ['eu-west-3', 'Europe (Paris)'],
    ['eu-south-1', 'Europe (Milan)'],
    ['eu-south-2', 'Europe (Spain)'],
    ['eu-north-1', 'Europe (Stockholm)'],
    ['il-central-1', 'Israel (Tel Aviv)'],
    ['me-south-1', 'Middle East (Bahrain)'],
    ['me-central-1', 'Middle East (UAE)'],
    ['af-south-1', 'Africa (Cape Town)'],
    ['ap-east-1', 'Asia Pacific (Hong Kong)'],
    ['ap-east-2', 'Asia Pacific (Taipei)'],
    ['ap-south-1', 'Asia Pacific (Mumbai)'],
    ['ap-south-2', 'Asia Pacific (Hyderabad)'],
    ['ap-northeast-1', 'Asia Pacific (Tokyo)'],
    ['ap-northeast-2', 'Asia Pacific (Seoul)'],
    ['ap-northeast-3', 'Asia Pacific (Osaka)'],
    ['ap-southeast-1', 'Asia Pacific (Singapore)'],
    ['ap-southeast-2', 'Asia Pacific (Sydney)'],
    ['ap-southeast-3', 'Asia Pacific (Jakarta)'],
    ['ap-southeast-4', 'Asia Pacific (Melbourne)'],
    ['ap-southeast-5', 'Asia Pacific (Malaysia)'],
    ['ap-southeast-6', 'Asia Pacific (New Zealand)'],
    ['ap-southeast-7', 'Asia Pacific (Thailand)'],
  ] as const
).map(([value, name]) => ({ value, label: `${name} ${value}` }));

const KNOWN_REGIONS = AWS_REGIONS.map((region) => region.value);

/** The shape of a region name, for settings read back from storage: us-east-1, ap-southeast-7. */
export const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

export const awsLaunchFields: readonly FieldSpec[] = [
  {
    id: COPY_REGIONS_FIELD,
    label: 'Also copy to regions',
    hint: 'The AMI is built in one region; the result gives you one aws ec2 copy-image for each region chosen here.',
    placeholder: 'Choose regions',
    kind: 'multiselect',
    required: false,
    options: AWS_REGIONS,
    maxSelected: MAX_COPY_REGIONS,
    cli: { flag: 'copy-to-region', description: 'AWS region to copy the AMI to (repeatable)', repeatable: true },
  },
  {
    id: KEY_PAIR_FIELD,
    label: 'EC2 key pair name (optional)',
    hint: 'An EC2 key pair in your account: the launch command starts the instance with it (--key-name).',
    placeholder: 'my-key-pair',
    kind: 'text',
    required: false,
    cli: { flag: 'key-name', description: 'EC2 key pair to launch the instance with (run-instances --key-name)' },
  },
];

export function readKeyPairName(raw: RawValues): Read<string | undefined> {
  const read = readSingle(raw, KEY_PAIR_FIELD);
  if (!read.ok || read.value === undefined) return read;
  if (!KEY_PAIR_NAME.test(read.value)) {
    return { ok: false, error: 'An EC2 key pair name is 1 to 255 plain ASCII characters, on one line.' };
  }
  return read;
}

export function readCopyRegions(raw: RawValues): Read<string[]> {
  const read = readList(raw, COPY_REGIONS_FIELD);
  if (!read.ok) return read;
  const regions = read.value.map((region) => region.toLowerCase());
  const unknown = regions.filter((region) => !KNOWN_REGIONS.includes(region));
  if (unknown.length > 0) {
    const [first = ''] = unknown;
    const near = closeMatches(first, KNOWN_REGIONS, 3);
    const hint = near.length > 0 ? ` Did you mean ${listInWords(near, 'or')}?` : '';
    return { ok: false, error: `${quoted(first)} is not an AWS region this bot knows, such as eu-west-1.${hint}` };
  }
  if (regions.length > MAX_COPY_REGIONS) {
    return { ok: false, error: `Choose at most ${MAX_COPY_REGIONS} regions to copy to; ${regions.length} were given.` };
  }
  return { ok: true, value: [...new Set(regions)] };
}
