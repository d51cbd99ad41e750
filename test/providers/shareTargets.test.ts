import { aws } from '../../src/providers/aws';
import { azure } from '../../src/providers/azure';
import { gcp } from '../../src/providers/gcp';
import { guestImage } from '../../src/providers/guestImage';
import { getProvider, providers } from '../../src/providers';
import type { Provider, RawValues, ShareTarget } from '../../src/providers/types';

/** What the sharing policy sees for what a person typed: validate first, as the app does. */
function targetsFor<Options>(provider: Provider<Options>, raw: RawValues): ShareTarget[] {
  const validated = provider.validate(raw);
  if (!validated.ok) throw new Error(`invalid test input: ${JSON.stringify(validated.errors)}`);
  return provider.shareTargets(validated.value);
}

describe('who an image is handed to (share targets)', () => {
  it('aws: every account the AMI is shared with, from the share field, as the service receives them', () => {
    expect(targetsFor(aws, { share_with_accounts: '1234-5678-9012, 210987654321 123456789012' })).toEqual([
      { kind: 'aws-account', value: '123456789012', fieldId: 'share_with_accounts' },
      { kind: 'aws-account', value: '210987654321', fieldId: 'share_with_accounts' },
    ]);
  });

  it('azure: the subscription the image is uploaded to, in lower case', () => {
    const raw = {
      tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
      subscription_id: '{4E5D8B2C-AB24-4413-90C5-612306E809E2}',
      resource_group: 'images',
    };
    expect(targetsFor(azure, raw)).toEqual([
      { kind: 'azure-subscription', value: '4e5d8b2c-ab24-4413-90c5-612306e809e2', fieldId: 'subscription_id' },
    ]);
  });

  it('gcp: every principal, with its kind spelled as IAM spells it', () => {
    expect(
      targetsFor(gcp, {
        share_with: 'Group:ops@example.com domain:example.com\nserviceAccount:ci@p.iam.gserviceaccount.com',
      }),
    ).toEqual([
      { kind: 'gcp-principal', value: 'group:ops@example.com', fieldId: 'share_with' },
      { kind: 'gcp-principal', value: 'domain:example.com', fieldId: 'share_with' },
      { kind: 'gcp-principal', value: 'serviceAccount:ci@p.iam.gserviceaccount.com', fieldId: 'share_with' },
    ]);
  });

  it('guest-image and the other downloads: nobody, since the download stays in Image Builder storage', () => {
    expect(targetsFor(guestImage, {})).toEqual([]);
    for (const id of ['vsphere', 'iso', 'wsl', 'oci']) expect(targetsFor(getProvider(id)!, {})).toEqual([]);
  });

  it('names, for every target, a field its provider really has', () => {
    const samples: Record<string, RawValues> = {
      aws: { share_with_accounts: '123456789012' },
      azure: {
        tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
        subscription_id: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
        resource_group: 'rg',
      },
      gcp: { share_with: 'user:alice@example.com' },
      'guest-image': {},
      vsphere: { vsphere_format: 'vmdk' },
      iso: {},
      wsl: {},
      oci: {},
    };
    for (const provider of providers) {
      const sample = samples[provider.id];
      if (!sample) throw new Error(`add a sample for ${provider.id}`);
      const fieldIds = provider.fields.map((f) => f.id);
      for (const target of targetsFor(provider, sample)) expect(fieldIds).toContain(target.fieldId);
    }
  });
});
