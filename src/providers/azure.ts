import { canonicalGuid, GUID } from '../shared/ids';
import { quoted } from '../shared/text';
import { baseSummary, nameWords, readSingle, slug, textOption } from './common';
import { shellCommand } from './shell';
import type { FinishedCompose, LaunchDefaults, Provider, RawValues, ResultDescription } from './types';

export type HyperVGeneration = 'V1' | 'V2';

export interface AzureOptions {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  /** Name of the managed image; Image Builder picks one when absent. */
  imageName?: string;
  hyperVGeneration: HyperVGeneration;
}

const FIELD = {
  tenant: 'tenant_id',
  subscription: 'subscription_id',
  resourceGroup: 'resource_group',
  imageName: 'azure_image_name',
  hyperVGeneration: 'hyper_v_generation',
} as const;

const EXAMPLE_GUID = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const RESOURCE_GROUP_MAX_LENGTH = 90;
const RESOURCE_GROUP = /^[A-Za-z0-9_.()-]+$/;
const IMAGE_NAME_MAX_LENGTH = 60;
const IMAGE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/;

/*
 * V2 (UEFI boot) by default although the service defaults to V1: current Azure VM sizes increasingly support only
 * generation 2 (and Arm sizes require it), while the sizes `az vm create` picks by default run either. V1 stays
 * available for the older sizes that lack generation 2 support.
 */
const DEFAULT_HYPER_V_GENERATION: HyperVGeneration = 'V2';

export const azure: Provider<AzureOptions> = {
  id: 'azure',
  label: 'Microsoft Azure',
  image: {
    one: 'Microsoft Azure image',
    article: 'a',
    many: 'Microsoft Azure images',
    destination: { preposition: 'on', place: 'Microsoft Azure' },
  },
  imageType: 'azure',
  imageTypeAliases: ['vhd'],
  uploadType: 'azure',
  architectures: ['x86_64'],
  fields: [
    {
      id: FIELD.tenant,
      label: 'Tenant ID',
      hint: "An admin of this tenant must first authorize Red Hat's Image Builder app in Azure, or the upload fails.",
      placeholder: EXAMPLE_GUID,
      kind: 'text',
      required: true,
      cli: {
        flag: 'tenant',
        description: 'Azure tenant (directory) id; the tenant must have authorized Image Builder',
      },
    },
    {
      id: FIELD.subscription,
      label: 'Subscription ID',
      hint: 'The subscription the image is uploaded to.',
      placeholder: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
      kind: 'text',
      required: true,
      cli: { flag: 'subscription', description: 'Azure subscription id' },
    },
    {
      id: FIELD.resourceGroup,
      label: 'Resource group',
      hint: 'An existing resource group; the image is created there and stays until you delete it.',
      placeholder: 'my-images',
      kind: 'text',
      required: true,
      cli: { flag: 'resource-group', description: 'existing Azure resource group to create the image in' },
    },
    {
      id: FIELD.imageName,
      label: 'Azure image name (optional)',
      hint: 'Up to 60 letters, digits, _ . -; starts with a letter or digit. Image Builder picks one if empty.',
      kind: 'text',
      required: false,
      cli: { flag: 'azure-image-name', description: 'name of the managed image in Azure' },
    },
    {
      id: FIELD.hyperVGeneration,
      label: 'Hyper-V generation',
      hint: 'V2 (UEFI) suits current VM sizes; choose V1 only for older sizes without generation 2 support.',
      kind: 'select',
      required: true,
      default: DEFAULT_HYPER_V_GENERATION,
      options: [
        { value: 'V2', label: 'V2 (UEFI)' },
        { value: 'V1', label: 'V1 (BIOS)' },
      ],
      cli: { flag: 'hyper-v-generation', description: 'Hyper-V generation of the image: V1 or V2 (default V2)' },
    },
  ],

  validate(raw) {
    const errors: Record<string, string> = {};
    const tenantId = readGuid(raw, FIELD.tenant, 'an Azure tenant id', errors);
    const subscriptionId = readGuid(raw, FIELD.subscription, 'an Azure subscription id', errors);
    const resourceGroup = readResourceGroup(raw, errors);
    const imageName = readImageName(raw, errors);
    const hyperVGeneration = readHyperVGeneration(raw, errors);
    if (Object.keys(errors).length > 0 || !tenantId || !subscriptionId || !resourceGroup || !hyperVGeneration) {
      return { ok: false, errors };
    }
    return {
      ok: true,
      value: { tenantId, subscriptionId, resourceGroup, ...(imageName ? { imageName } : {}), hyperVGeneration },
    };
  },

  uploadRequest(options) {
    return {
      type: 'azure',
      options: {
        tenant_id: options.tenantId,
        subscription_id: options.subscriptionId,
        resource_group: options.resourceGroup,
        ...(options.imageName ? { image_name: options.imageName } : {}),
        hyper_v_generation: options.hyperVGeneration,
      },
    };
  },

  shareSummary(options) {
    return `uploaded to resource group ${options.resourceGroup} in subscription ${options.subscriptionId}`;
  },

  shareTargets(options) {
    // The image lands in this subscription, so whoever holds it gets the image.
    return [{ kind: 'azure-subscription', value: options.subscriptionId, fieldId: FIELD.subscription }];
  },

  formValues(uploadOptions) {
    const values: Record<string, string> = {};
    const copy = (option: string, field: string) => {
      const value = textOption(uploadOptions, option);
      if (value) values[field] = value;
    };
    copy('tenant_id', FIELD.tenant);
    copy('subscription_id', FIELD.subscription);
    copy('resource_group', FIELD.resourceGroup);
    copy('image_name', FIELD.imageName);
    copy('hyper_v_generation', FIELD.hyperVGeneration);
    return values;
  },

  describeResult(compose, launch) {
    return describeManagedImage(compose, launch);
  },
};

type Errors = Record<string, string>;

function readGuid(raw: RawValues, id: string, what: string, errors: Errors): string | undefined {
  const read = readSingle(raw, id);
  if (!read.ok) errors[id] = read.error;
  else if (read.value === undefined) errors[id] = `Enter ${what}.`;
  else {
    const guid = canonicalGuid(read.value);
    if (guid) return guid;
    errors[id] = `${quoted(read.value)} is not ${what}: it must be a GUID like ${EXAMPLE_GUID}.`;
  }
  return undefined;
}

function readResourceGroup(raw: RawValues, errors: Errors): string | undefined {
  const id = FIELD.resourceGroup;
  const read = readSingle(raw, id);
  if (!read.ok) errors[id] = read.error;
  else if (read.value === undefined) errors[id] = 'Enter the resource group to create the image in.';
  else if (read.value.length > RESOURCE_GROUP_MAX_LENGTH) {
    errors[id] =
      `A resource group name has at most ${RESOURCE_GROUP_MAX_LENGTH} characters; this one has ${read.value.length}.`;
  } else if (!RESOURCE_GROUP.test(read.value)) {
    errors[id] = `${quoted(read.value)} is not a resource group name: use only letters, digits and _ - . ( ).`;
  } else if (read.value.endsWith('.')) {
    errors[id] = `${quoted(read.value)} is not a resource group name: it cannot end with a period.`;
  } else return read.value;
  return undefined;
}

function readImageName(raw: RawValues, errors: Errors): string | undefined {
  const id = FIELD.imageName;
  const read = readSingle(raw, id);
  if (!read.ok) errors[id] = read.error;
  else if (read.value === undefined) return undefined;
  else if (read.value.length > IMAGE_NAME_MAX_LENGTH) {
    errors[id] =
      `An Azure image name has at most ${IMAGE_NAME_MAX_LENGTH} characters; this one has ${read.value.length}.`;
  } else if (!IMAGE_NAME.test(read.value)) {
    errors[id] =
      `${quoted(read.value)} is not an Azure image name: use letters, digits, _ . and -, ` +
      'starting with a letter or digit and ending with a letter, digit or _.';
  } else return read.value;
  return undefined;
}

function readHyperVGeneration(raw: RawValues, errors: Errors): HyperVGeneration | undefined {
  const id = FIELD.hyperVGeneration;
  const read = readSingle(raw, id);
  if (!read.ok) errors[id] = read.error;
  else if (read.value === undefined) return DEFAULT_HYPER_V_GENERATION;
  else {
    const generation = /^v?([12])$/i.exec(read.value)?.[1];
    if (generation) return generation === '1' ? 'V1' : 'V2';
    errors[id] = `${quoted(read.value)} is not a Hyper-V generation: choose V1 or V2.`;
  }
  return undefined;
}

function describeManagedImage(compose: FinishedCompose, launch: LaunchDefaults): ResultDescription {
  const request = compose.requestUploadOptions;
  const imageName = textOption(compose.upload.options, 'image_name') ?? textOption(request, 'image_name');
  const subscription = textOption(request, 'subscription_id');
  const resourceGroup = textOption(request, 'resource_group');
  const tenant = textOption(request, 'tenant_id');
  const summary = [
    ...baseSummary(compose),
    ...(imageName ? [{ label: 'Image', value: imageName }] : []),
    ...(resourceGroup ? [{ label: 'Resource group', value: resourceGroup }] : []),
    ...(subscription ? [{ label: 'Subscription', value: subscription }] : []),
  ];
  const where = resourceGroup ? ` in resource group ${resourceGroup}` : '';
  if (!imageName || !subscription || !resourceGroup) {
    return {
      headline: imageName
        ? `Azure image ${imageName}${where}`
        : `Azure image built${where}, but Image Builder did not report its name`,
      summary,
      ...(subscription && resourceGroup ? { consoleUrl: portalUrl({ tenant, subscription, resourceGroup }) } : {}),
      launchCommands: [],
      copyCommands: [],
    };
  }

  const command = shellCommand('az', [
    'vm',
    'create',
    ['--subscription', subscription],
    ['--resource-group', resourceGroup],
    ['--name', vmName(compose)],
    // A managed image's name resolves within the resource group given above.
    ['--image', imageName],
    ['--admin-username', launch.azure.adminUsername],
    '--generate-ssh-keys',
  ]);
  return {
    headline: `Azure image ${imageName}${where}`,
    summary,
    consoleUrl: portalUrl({ tenant, subscription, resourceGroup, imageName }),
    launchCommands: [{ label: 'Create a VM', command }],
    // The image lives in the requester's own resource group: nothing to copy, nothing expires.
    copyCommands: [],
  };
}

function portalUrl(at: { tenant?: string; subscription: string; resourceGroup: string; imageName?: string }): string {
  const e = encodeURIComponent;
  const directory = at.tenant && GUID.test(at.tenant) ? `@${at.tenant}` : '';
  const group = `/subscriptions/${e(at.subscription)}/resourceGroups/${e(at.resourceGroup)}`;
  const resource = at.imageName ? `${group}/providers/Microsoft.Compute/images/${e(at.imageName)}` : group;
  return `https://portal.azure.com/#${directory}/resource${resource}/overview`;
}

// Linux VM names: up to 64 characters; no underscores; cannot end with '.' or '-'. Lowercase letters, digits and
// '-' keep it valid as a host name too.
const VM_NAME_CHARACTER = /[a-z0-9-]/;
const VM_NAME_MAX_LENGTH = 64;

/** e.g. "rhel-9-x86-64-1a2b3c4d". */
export function vmName(compose: Pick<FinishedCompose, 'distribution' | 'architecture' | 'composeId'>): string {
  const words = nameWords(compose).map((w) => w.toLowerCase());
  return slug(words, VM_NAME_CHARACTER, VM_NAME_MAX_LENGTH) || 'image-builder-vm';
}
