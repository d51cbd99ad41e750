import type { types } from '@slack/bolt';
import { blueprintItemSchema, blueprintResponseSchema } from '../../../src/imageBuilder/blueprintSchemas';
import { getProvider, type Provider } from '../../../src/providers';
import { formBlueprintOf } from '../../../src/slack/blueprintChoice';
import {
  PLAIN_IMAGE,
  START_FROM_BLOCK_ID,
  TARGETS_BLOCK_ID,
  type ChosenBlueprint,
} from '../../../src/slack/views/blueprintForm';
import { composeModal, parseModalContext } from '../../../src/slack/views/composeModal';
import { blueprintDetail, blueprintItem } from '../../imageBuilder/blueprintBodies';
import { assertModalWithinSlackLimits, visibleTexts } from './slackLimits';

const aws = getProvider('aws') as Provider;
const gcp = getProvider('gcp') as Provider;
const item = blueprintItemSchema.parse(blueprintItem());
const detailOf = (overrides: Record<string, unknown> = {}) => blueprintResponseSchema.parse(blueprintDetail(overrides));
const many = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    blueprintItemSchema.parse(
      blueprintItem({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, name: `bp-${i}` }),
    ),
  );

function formWith(provider: Provider, chosen?: ChosenBlueprint, blueprints = [item]) {
  const blueprint = formBlueprintOf(chosen, provider);
  return composeModal({
    provider,
    distributions: [{ name: 'rhel-9' }, { name: 'rhel-10' }],
    context: { provider: provider.id, channelId: 'C012BUILDS', ...(blueprint ? { blueprint } : {}) },
    blueprints: { offer: { blueprints, searchable: blueprints.length > 99 }, ...(chosen ? { chosen } : {}) },
  });
}

const block = (view: types.ModalView, id: string) => view.blocks.find((b) => b.block_id === id) as types.InputBlock;
const inputIds = (view: types.ModalView) => view.blocks.filter((b) => b.type === 'input').map((b) => b.block_id);
const text = (view: types.ModalView) => visibleTexts(view).join('\n');

describe('the compose form starting from a blueprint', () => {
  it('offers a plain image first, then the blueprints, and changes the form when the choice changes', () => {
    const view = formWith(aws);
    const startFrom = block(view, START_FROM_BLOCK_ID);
    expect(startFrom.dispatch_action).toBe(true);
    const select = startFrom.element as types.StaticSelect;
    expect(select.options?.map((o) => o.value)).toEqual([PLAIN_IMAGE, item.id]);
    expect(select.initial_option?.value).toBe(PLAIN_IMAGE);
    expect(inputIds(view)).toEqual([
      START_FROM_BLOCK_ID,
      'distribution',
      'architecture',
      'image_name',
      ...aws.fields.map((f) => f.id),
      'ssh_public_key',
      'login_user',
      'packages',
    ]);
    assertModalWithinSlackLimits(view);
  });

  it('searches instead of listing when there are more blueprints than a static select holds', () => {
    const view = formWith(aws, undefined, many(150));
    const select = block(view, START_FROM_BLOCK_ID).element as types.ExternalSelect;
    expect(select.type).toBe('external_select');
    expect(select.min_query_length).toBe(0);
    assertModalWithinSlackLimits(view);
  });

  it('shows what the blueprint brings and builds it with its own share targets, with no fields to fill', () => {
    const view = formWith(aws, { item, detail: detailOf(), targets: 'blueprint' });
    const shown = text(view);
    expect(shown).toContain('*rhel9-golden*, version 3');
    expect(shown).toContain('Distribution: `rhel-9`');
    expect(shown).toContain('Packages: 3');
    expect(shown).toContain('`admin` (SSH key)');
    expect(shown).toContain('organization 2040324');
    expect(shown).toContain('CIS Red Hat Enterprise Linux 9 Benchmark');
    expect(shown).toContain('FIPS mode: on');
    expect(shown).not.toContain('golden-images'); // the activation key
    expect(inputIds(view)).toEqual([START_FROM_BLOCK_ID, TARGETS_BLOCK_ID]);
    const context = parseModalContext(view.private_metadata ?? '');
    expect(context?.blueprint).toMatchObject({ id: item.id, version: 3, targets: 'blueprint', imageTypes: ['aws'] });
    assertModalWithinSlackLimits(view);
  });

  it('shows lint errors in the service words and carries them to the submission, which refuses them', () => {
    const lint = {
      errors: [{ name: 'vim-enhanced', description: 'package vim-enhanced does not exist' }],
      warnings: [{ name: 'openscap', description: 'profile changed' }],
    };
    const view = formWith(aws, { item, detail: detailOf({ lint }), targets: 'blueprint' });
    expect(text(view)).toContain('package vim-enhanced does not exist');
    expect(text(view)).toContain('profile changed');
    expect(parseModalContext(view.private_metadata ?? '')?.blueprint?.lintErrors).toBe(1);
  });

  it('builds a blueprint with no image for this cloud with the share targets of the form, without its distribution field', () => {
    const view = formWith(gcp, { item, detail: detailOf(), targets: 'requester' });
    expect(text(view)).toContain('no image for');
    expect(inputIds(view)).toEqual([
      START_FROM_BLOCK_ID,
      TARGETS_BLOCK_ID,
      'architecture',
      'image_name',
      ...gcp.fields.map((f) => f.id),
    ]);
  });

  it('says why the form cannot use the requester’s targets for users who log in by password only', () => {
    const users = [{ name: 'ops', groups: [], hasPassword: true }];
    const view = formWith(gcp, { item, detail: detailOf({ customizations: { users } }), targets: 'requester' });
    expect(text(view)).toContain('`ops` logs in by password only');
    expect(inputIds(view)).toEqual([START_FROM_BLOCK_ID]);
  });

  it('says what went wrong with the chosen blueprint and offers nothing to build from it', () => {
    const view = formWith(aws, {
      item,
      problem: 'The blueprint “rhel9-golden” was deleted in the Image Builder console.',
    });
    expect(text(view)).toContain('was deleted');
    expect(inputIds(view)).toEqual([START_FROM_BLOCK_ID]);
    expect(parseModalContext(view.private_metadata ?? '')?.blueprint).toBeUndefined();
  });
});
