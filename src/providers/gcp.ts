import { baseSummary, expiryOf, listOption, nameWords, readList, shareSummaryOf, slug, textOption } from './common';
import { DOMAIN_ONLY, EMAIL_ONLY } from '../shared/ids';
import { canonicalPrincipal } from './gcpPrincipals';
import { listInWords, quoted } from '../shared/text';
import { shellCommand } from './shell';
import type { FinishedCompose, LaunchDefaults, Provider, ResultDescription } from './types';

export interface GcpOptions {
  /** IAM principals: user:EMAIL, serviceAccount:EMAIL, group:EMAIL or domain:DOMAIN. */
  shareWith: readonly string[];
}

const SHARE_FIELD = 'share_with';
const LIFETIME_DAYS = 14;

const PRINCIPAL_FORMS = 'user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN';

export const gcp: Provider<GcpOptions> = {
  id: 'gcp',
  label: 'Google Cloud',
  image: {
    one: 'Google Cloud image',
    article: 'a',
    many: 'Google Cloud images',
    destination: { preposition: 'on', place: 'Google Cloud' },
  },
  imageType: 'gcp',
  uploadType: 'gcp',
  architectures: ['x86_64'],
  lifetimeDays: LIFETIME_DAYS,
  fields: [
    {
      id: SHARE_FIELD,
      label: 'Google accounts to share the image with',
      hint: 'user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN, separated by commas or new lines.',
      placeholder: 'user:alice@example.com',
      kind: 'multiline',
      required: true,
      cli: {
        flag: 'share',
        description:
          'Google principal to share the image with (user:EMAIL, group:EMAIL, serviceAccount:EMAIL, domain:DOMAIN)',
        repeatable: true,
      },
    },
  ],

  validate(raw) {
    const read = readList(raw, SHARE_FIELD);
    if (!read.ok) return { ok: false, errors: { [SHARE_FIELD]: read.error } };
    const principals: string[] = [];
    const invalid: string[] = [];
    for (const entry of read.value) {
      const principal = canonicalPrincipal(entry);
      if (principal) principals.push(principal);
      else invalid.push(entry);
    }
    if (invalid[0] !== undefined) {
      const more =
        invalid.length > 1
          ? ` (${invalid.length - 1} more ${invalid.length === 2 ? 'entry is' : 'entries are'} not valid either)`
          : '';
      return { ok: false, errors: { [SHARE_FIELD]: `${principalProblem(invalid[0])}${more}` } };
    }
    if (principals.length === 0) {
      return {
        ok: false,
        errors: {
          [SHARE_FIELD]:
            'Enter at least one Google account to share the image with, e.g. user:alice@example.com; otherwise nobody can use it.',
        },
      };
    }
    return { ok: true, value: { shareWith: [...new Set(principals)] } };
  },

  uploadRequest(options) {
    return { type: 'gcp', options: { share_with_accounts: [...options.shareWith] } };
  },

  shareSummary(options) {
    return shareSummaryOf('shared with', options.shareWith);
  },

  shareTargets(options) {
    return options.shareWith.map((principal) => ({ kind: 'gcp-principal', value: principal, fieldId: SHARE_FIELD }));
  },

  formValues(uploadOptions): Record<string, string> {
    const principals = listOption(uploadOptions, 'share_with_accounts');
    return principals.length > 0 ? { [SHARE_FIELD]: principals.join('\n') } : {};
  },

  describeResult(compose, launch) {
    return describeGcpImage(compose, launch);
  },
};

function principalProblem(entry: string): string {
  if (EMAIL_ONLY.test(entry)) {
    return `${quoted(entry)} needs its kind in front: user:${entry}, group:${entry} or serviceAccount:${entry}.`;
  }
  if (DOMAIN_ONLY.test(entry)) return `${quoted(entry)} needs its kind in front: domain:${entry}.`;
  return `${quoted(entry)} is not a Google principal: use ${PRINCIPAL_FORMS}.`;
}

function describeGcpImage(compose: FinishedCompose, launch: LaunchDefaults): ResultDescription {
  const project = textOption(compose.upload.options, 'project_id');
  const image = textOption(compose.upload.options, 'image_name');
  const sharedWith = listOption(compose.requestUploadOptions, 'share_with_accounts');
  const summary = [
    ...baseSummary(compose),
    ...(image ? [{ label: 'Image', value: image }] : []),
    ...(project ? [{ label: 'Project', value: project }] : []),
    ...(sharedWith.length ? [{ label: 'Shared with', value: listInWords(sharedWith), items: sharedWith }] : []),
  ];
  const expiry = expiryOf(compose, LIFETIME_DAYS);
  if (!project || !image) {
    return {
      headline: 'Google Cloud image built, but Image Builder did not report its project and name',
      summary,
      launchCommands: [],
      copyCommands: [],
      ...expiry,
    };
  }

  const name = resourceName(compose);
  const launchCommand = shellCommand('gcloud', [
    'compute',
    'instances',
    'create',
    name,
    ['--image-project', project],
    ['--image', image],
    ['--zone', launch.gcp.zone[compose.architecture]],
    ['--machine-type', launch.gcp.machineType[compose.architecture]],
  ]);
  const copyCommand = shellCommand('gcloud', [
    'compute',
    'images',
    'create',
    name,
    ['--source-image-project', project],
    ['--source-image', image],
  ]);
  const e = encodeURIComponent;
  return {
    headline: `Google Cloud image ${image} in project ${project}`,
    summary,
    consoleUrl: `https://console.cloud.google.com/compute/imagesDetail/projects/${e(project)}/global/images/${e(image)}`,
    launchCommands: [{ label: 'Create an instance', command: launchCommand }],
    copyCommands: [{ label: 'Copy it into your project to keep it', command: copyCommand }],
    ...expiry,
  };
}

// Instance and image names: a lowercase letter, then up to 62 of [a-z0-9-], not ending in '-'.
const NAME_CHARACTER = /[a-z0-9-]/;
const NAME_MAX_LENGTH = 63;

/** A valid instance or image name, e.g. "rhel-9-x86-64-1a2b3c4d". */
export function resourceName(compose: Pick<FinishedCompose, 'distribution' | 'architecture' | 'composeId'>): string {
  const name = slug(
    nameWords(compose).map((w) => w.toLowerCase()),
    NAME_CHARACTER,
    NAME_MAX_LENGTH,
  );
  return /^[a-z]/.test(name) ? name : slug(['image', name], NAME_CHARACTER, NAME_MAX_LENGTH);
}
