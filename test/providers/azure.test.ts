import { azure } from '../../src/providers/azure';
import { DEFAULT_LAUNCH_DEFAULTS, type RawValues } from '../../src/providers/types';
import { finishedCompose, HOSTILE_VALUES } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
const valid = { tenant_id: TENANT, subscription_id: SUBSCRIPTION, resource_group: 'my-images' };

function errorFor(id: string, given: RawValues[string]): string | undefined {
  const result = azure.validate({ ...valid, [id]: given });
  return result.ok ? undefined : result.errors[id];
}

describe('azure: where the image goes', () => {
  it('accepts the tenant, subscription and resource group, and asks for a generation 2 image by default', () => {
    expect(azure.validate(valid)).toEqual({
      ok: true,
      value: { tenantId: TENANT, subscriptionId: SUBSCRIPTION, resourceGroup: 'my-images', hyperVGeneration: 'V2' },
    });
  });

  it('accepts GUIDs in capitals or braces as the portal shows them, sending them in lower case', () => {
    const result = azure.validate({
      ...valid,
      tenant_id: ` {${TENANT.toUpperCase()}} `,
      subscription_id: SUBSCRIPTION.toUpperCase(),
    });
    expect(result.ok && [result.value.tenantId, result.value.subscriptionId]).toEqual([TENANT, SUBSCRIPTION]);
  });

  it.each<[string, RawValues[string], string]>([
    ['tenant_id', undefined, 'Enter an Azure tenant id.'],
    [
      'tenant_id',
      'contoso.onmicrosoft.com',
      '“contoso.onmicrosoft.com” is not an Azure tenant id: it must be a GUID like 5c7ef5b6-1c3f-4da0-a622-0b060239d7d7.',
    ],
    [
      'tenant_id',
      `${TENANT}0`,
      `“${TENANT}0” is not an Azure tenant id: it must be a GUID like 5c7ef5b6-1c3f-4da0-a622-0b060239d7d7.`,
    ],
    ['subscription_id', '', 'Enter an Azure subscription id.'],
    [
      'subscription_id',
      'g'.repeat(36),
      `“${'g'.repeat(36)}” is not an Azure subscription id: it must be a GUID like 5c7ef5b6-1c3f-4da0-a622-0b060239d7d7.`,
    ],
    ['subscription_id', [SUBSCRIPTION, SUBSCRIPTION], 'Give one value here, not 2.'],
    ['resource_group', undefined, 'Enter the resource group to create the image in.'],
    [
      'resource_group',
      'my images',
      '“my images” is not a resource group name: use only letters, digits and _ - . ( ).',
    ],
    ['resource_group', 'images.', '“images.” is not a resource group name: it cannot end with a period.'],
    ['resource_group', 'r'.repeat(91), 'A resource group name has at most 90 characters; this one has 91.'],
    [
      'resource_group',
      "rg'; rm -rf /",
      `“rg'; rm -rf /” is not a resource group name: use only letters, digits and _ - . ( ).`,
    ],
    [
      'azure_image_name',
      '-image',
      '“-image” is not an Azure image name: use letters, digits, _ . and -, starting with a letter or digit and ending with a letter, digit or _.',
    ],
    [
      'azure_image_name',
      'image.',
      '“image.” is not an Azure image name: use letters, digits, _ . and -, starting with a letter or digit and ending with a letter, digit or _.',
    ],
    [
      'azure_image_name',
      'my image',
      '“my image” is not an Azure image name: use letters, digits, _ . and -, starting with a letter or digit and ending with a letter, digit or _.',
    ],
    ['azure_image_name', 'i'.repeat(61), 'An Azure image name has at most 60 characters; this one has 61.'],
    ['hyper_v_generation', 'V3', '“V3” is not a Hyper-V generation: choose V1 or V2.'],
  ])('refuses %s %j', (id, given, message) => {
    expect(errorFor(id, given)).toBe(message);
  });

  it.each<[string, RawValues[string], unknown]>([
    ['resource_group', 'Images_(prod).eu-1', 'Images_(prod).eu-1'],
    ['resource_group', 'r'.repeat(90), 'r'.repeat(90)],
    ['azure_image_name', 'a', 'a'],
    ['azure_image_name', 'rhel-9.5_', 'rhel-9.5_'],
    ['azure_image_name', 'i'.repeat(60), 'i'.repeat(60)],
    ['hyper_v_generation', 'V1', 'V1'],
    ['hyper_v_generation', 'v2', 'V2'],
    ['hyper_v_generation', '1', 'V1'],
  ])('accepts %s %j', (id, given, expected) => {
    const result = azure.validate({ ...valid, [id]: given });
    const key = {
      resource_group: 'resourceGroup',
      azure_image_name: 'imageName',
      hyper_v_generation: 'hyperVGeneration',
    }[id] as string;
    expect(result.ok && (result.value as unknown as Record<string, unknown>)[key]).toBe(expected);
  });

  it('reports every field at once', () => {
    const result = azure.validate({ tenant_id: 'x', resource_group: 'a b', hyper_v_generation: 'V9' });
    expect(result.ok ? [] : Object.keys(result.errors)).toEqual([
      'tenant_id',
      'subscription_id',
      'resource_group',
      'hyper_v_generation',
    ]);
  });

  it('tells the requester the tenant must authorize Image Builder first', () => {
    expect(azure.fields.find((f) => f.id === 'tenant_id')?.hint).toMatch(/authorize Red Hat's Image Builder app/);
  });

  it('builds the upload request and a summary', () => {
    const options = {
      tenantId: TENANT,
      subscriptionId: SUBSCRIPTION,
      resourceGroup: 'rg',
      imageName: 'img',
      hyperVGeneration: 'V1',
    } as const;
    expect(azure.uploadRequest(options)).toEqual({
      type: 'azure',
      options: {
        tenant_id: TENANT,
        subscription_id: SUBSCRIPTION,
        resource_group: 'rg',
        image_name: 'img',
        hyper_v_generation: 'V1',
      },
    });
    expect(Object.keys(azure.uploadRequest({ ...options, imageName: undefined }).options)).not.toContain('image_name');
    expect(azure.shareSummary(options)).toBe(`uploaded to resource group rg in subscription ${SUBSCRIPTION}`);
  });
});

describe('azure: the finished image', () => {
  const built = finishedCompose({
    upload: { type: 'azure', options: { image_name: 'composer-api-1a2b3c4d' } },
    requestUploadOptions: {
      tenant_id: TENANT,
      subscription_id: SUBSCRIPTION,
      resource_group: 'my-images',
      hyper_v_generation: 'V2',
    },
  });

  it('describes the image with a VM command that needs no editing, and no expiry', () => {
    expect(azure.describeResult(built, DEFAULT_LAUNCH_DEFAULTS)).toEqual({
      headline: 'Azure image composer-api-1a2b3c4d in resource group my-images',
      summary: [
        { label: 'Distribution', value: 'rhel-9' },
        { label: 'Architecture', value: 'x86_64' },
        { label: 'Image', value: 'composer-api-1a2b3c4d' },
        { label: 'Resource group', value: 'my-images' },
        { label: 'Subscription', value: SUBSCRIPTION },
      ],
      consoleUrl: `https://portal.azure.com/#@${TENANT}/resource/subscriptions/${SUBSCRIPTION}/resourceGroups/my-images/providers/Microsoft.Compute/images/composer-api-1a2b3c4d/overview`,
      launchCommands: [
        {
          label: 'Create a VM',
          command: `az vm create --subscription ${SUBSCRIPTION} --resource-group my-images --name rhel-9-x86-64-1a2b3c4d --image composer-api-1a2b3c4d --admin-username azureuser --generate-ssh-keys`,
        },
      ],
      copyCommands: [],
    });
  });

  it('falls back to the image name from the request and a resource group link when the upload says less', () => {
    const result = azure.describeResult(
      {
        ...built,
        upload: { type: 'azure', options: {} },
        requestUploadOptions: { ...built.requestUploadOptions, image_name: 'mine', tenant_id: undefined },
      },
      DEFAULT_LAUNCH_DEFAULTS,
    );
    expect(result.launchCommands[0]?.command).toContain(' --image mine ');
    expect(result.consoleUrl).toBe(
      `https://portal.azure.com/#/resource/subscriptions/${SUBSCRIPTION}/resourceGroups/my-images/providers/Microsoft.Compute/images/mine/overview`,
    );
  });

  it('links to the resource group and prints no command when the image name is unknown', () => {
    const result = azure.describeResult({ ...built, upload: { type: 'azure', options: {} } }, DEFAULT_LAUNCH_DEFAULTS);
    expect(result).toMatchObject({
      headline: 'Azure image built in resource group my-images, but Image Builder did not report its name',
      consoleUrl: `https://portal.azure.com/#@${TENANT}/resource/subscriptions/${SUBSCRIPTION}/resourceGroups/my-images/overview`,
      launchCommands: [],
    });
    expect(result.expiresAt).toBeUndefined();
  });

  it('uses the admin user name configured', () => {
    const launch = { ...DEFAULT_LAUNCH_DEFAULTS, azure: { adminUsername: 'rhel' } };
    expect(azure.describeResult(built, launch).launchCommands[0]?.command).toContain(' --admin-username rhel ');
  });

  it('makes a valid VM name from any distribution and compose id', () => {
    const odd = { ...built, distribution: '__Fedora_43..', composeId: '--' };
    const command = azure.describeResult(odd, DEFAULT_LAUNCH_DEFAULTS).launchCommands[0]?.command ?? '';
    expect(command).toContain(' --name fedora-43-x86-64 ');
  });

  describe.each(SHELLS)('with hostile values from the service, pasted into %s', (shell) => {
    it.each(HOSTILE_VALUES.filter((v) => v !== ''))('keeps %j inert', (hostile) => {
      const result = azure.describeResult(
        {
          ...built,
          upload: { type: 'azure', options: { image_name: hostile } },
          requestUploadOptions: { subscription_id: hostile, resource_group: hostile },
        },
        DEFAULT_LAUNCH_DEFAULTS,
      );
      const asValue = (flag: string) => (hostile.startsWith('-') ? [`${flag}=${hostile}`] : [flag, hostile]);
      expect(runWithPrintf(result.launchCommands[0]?.command ?? '', shell)).toEqual({
        argv: [
          'az',
          'vm',
          'create',
          ...asValue('--subscription'),
          ...asValue('--resource-group'),
          '--name',
          'rhel-9-x86-64-1a2b3c4d',
          ...asValue('--image'),
          '--admin-username',
          'azureuser',
          '--generate-ssh-keys',
        ],
        created: [],
      });
      expect(result.consoleUrl).toMatch(
        /^https:\/\/portal\.azure\.com\/#\/resource\/subscriptions\/[^/?#|<>\s]+\/resourceGroups\/[^/?#|<>\s]+\/providers\/Microsoft\.Compute\/images\/[^/?#|<>\s]+\/overview$/,
      );
    });
  });
});
