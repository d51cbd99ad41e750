import fc from 'fast-check';
import {
  commonFields,
  loginFields,
  packagesField,
  providers,
  type DistributionChoice,
  type Provider,
} from '../../../src/providers';
import {
  composeModal,
  COMPOSE_MODAL_CALLBACK_ID,
  FIELD_ACTION_ID,
  noticeModal,
  parseModalContext,
  submittedValues,
  type ComposeModalContext,
} from '../../../src/slack/views/composeModal';
import { assertModalWithinSlackLimits, modalLimitProblems } from './slackLimits';
import type { types, ViewStateValue } from '@slack/bolt';

const DISTRIBUTIONS: DistributionChoice[] = [
  { name: 'rhel-10', description: 'Red Hat Enterprise Linux (RHEL) 10' },
  { name: 'rhel-9', description: 'Red Hat Enterprise Linux (RHEL) 9' },
  { name: 'centos-9', description: 'CentOS Stream 9' },
];
const CONTEXT: ComposeModalContext = {
  provider: 'aws',
  channelId: 'C012BUILDS',
  responseUrl: 'https://hooks.slack.com/commands/T0/123/abc',
};

const modalFor = (provider: Provider, extra: Partial<Parameters<typeof composeModal>[0]> = {}) =>
  composeModal({ provider, distributions: DISTRIBUTIONS, context: { ...CONTEXT, provider: provider.id }, ...extra });

const inputs = (view: types.ModalView) => view.blocks.filter((b): b is types.InputBlock => b.type === 'input');

function input(view: types.ModalView, blockId: string): types.InputBlock {
  const found = inputs(view).find((b) => b.block_id === blockId);
  if (!found) throw new Error(`no input block ${blockId}`);
  return found;
}

const selectOf = (block: types.InputBlock) => block.element as types.StaticSelect;
const textInputOf = (block: types.InputBlock) => block.element as types.PlainTextInput;

describe.each(providers.map((p) => [p.id, p] as const))('the compose modal for %s', (_id, provider) => {
  const view = modalFor(provider);

  it('is within Slack’s limits', () => {
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('has a title that names the cloud, whole', () => {
    expect(view.title.text).toMatch(/^[\w ]+ (?:image|ISO)$/);
    expect(view.title.text).not.toContain('…');
  });

  it('has one input per field, common, provider’s own, login and extras last, whose block id is the field id', () => {
    const fields = [
      ...commonFields(provider, { distributions: DISTRIBUTIONS }),
      ...provider.fields,
      ...loginFields(),
      packagesField,
    ];
    const fieldIds = fields.map((f) => f.id);
    expect(inputs(view).map((b) => b.block_id)).toEqual(fieldIds);
    for (const block of inputs(view)) expect(block.element).toHaveProperty('action_id', FIELD_ACTION_ID);
  });

  it('marks exactly the optional fields optional, without saying “(optional)” twice', () => {
    const fields = [
      ...commonFields(provider, { distributions: DISTRIBUTIONS }),
      ...provider.fields,
      ...loginFields(),
      packagesField,
    ];
    for (const field of fields) {
      const block = input(view, field.id);
      expect(block.optional).toBe(!field.required);
      if (!field.required) expect(block.label.text).not.toMatch(/optional/i);
    }
  });

  it('offers the distributions and the architectures the provider can build', () => {
    expect(selectOf(input(view, 'distribution')).options?.map((o) => o.value)).toEqual([
      'rhel-10',
      'rhel-9',
      'centos-9',
    ]);
    expect(selectOf(input(view, 'distribution')).options?.[1]?.text.text).toBe(
      'Red Hat Enterprise Linux (RHEL) 9 (rhel-9)',
    );
    expect(selectOf(input(view, 'architecture')).options?.map((o) => o.value)).toEqual([...provider.architectures]);
  });

  it('carries every select option the provider declares', () => {
    for (const field of provider.fields.filter((f) => f.kind === 'select')) {
      const select = selectOf(input(view, field.id));
      expect(select.options?.map((o) => [o.value, o.text.text])).toEqual(field.options?.map((o) => [o.value, o.label]));
    }
  });

  it('gives private_metadata back through parseModalContext', () => {
    expect(view.callback_id).toBe(COMPOSE_MODAL_CALLBACK_ID);
    expect(parseModalContext(view.private_metadata ?? '')).toEqual({ ...CONTEXT, provider: provider.id });
  });
});

describe('the compose modal', () => {
  const [aws, azure] = [providers.find((p) => p.id === 'aws')!, providers.find((p) => p.id === 'azure')!];

  it('preselects x86_64 and the provider’s defaults', () => {
    const view = modalFor(azure);
    expect(selectOf(input(view, 'architecture')).initial_option?.value).toBe('x86_64');
    expect(selectOf(input(view, 'hyper_v_generation')).initial_option?.value).toBe('V2');
    expect(selectOf(input(view, 'distribution')).initial_option?.value).toBe('rhel-10');
  });

  it('pre-fills text inputs and selects from initial values', () => {
    const view = modalFor(azure, {
      initialValues: {
        distribution: 'rhel-9',
        architecture: 'x86_64',
        resource_group: 'my-images',
        hyper_v_generation: 'V1',
        image_name: 'web',
      },
    });
    expect(selectOf(input(view, 'distribution')).initial_option).toEqual({
      text: expect.objectContaining({ text: 'Red Hat Enterprise Linux (RHEL) 9 (rhel-9)' }),
      value: 'rhel-9',
    });
    expect(selectOf(input(view, 'hyper_v_generation')).initial_option?.value).toBe('V1');
    expect(textInputOf(input(view, 'resource_group')).initial_value).toBe('my-images');
    expect(textInputOf(input(view, 'image_name')).initial_value).toBe('web');
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('pre-fills a multiline input with line breaks kept', () => {
    const view = modalFor(aws, { initialValues: { share_with_accounts: '123456789012\n210987654321' } });
    const element = textInputOf(input(view, 'share_with_accounts'));
    expect(element.multiline).toBe(true);
    expect(element.initial_value).toBe('123456789012\n210987654321');
  });

  it('starts a select on its default when the initial value is not one of its options', () => {
    const view = modalFor(aws, { initialValues: { distribution: 'fedora-41', architecture: 'sparc' } });
    expect(selectOf(input(view, 'distribution')).initial_option?.value).toBe('rhel-10');
    expect(selectOf(input(view, 'architecture')).initial_option?.value).toBe('x86_64');
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('still fits with 150 distributions with long descriptions: the first 100, each text at most 75 characters', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      name: `rhel-${150 - i}`,
      description: `Red Hat Enterprise Linux (RHEL) ${150 - i} with a very long description that goes on and on`.repeat(
        2,
      ),
    }));
    for (const provider of providers) {
      const view = modalFor(provider, { distributions: many });
      expect(modalLimitProblems(view)).toEqual([]);
      const options = selectOf(input(view, 'distribution')).options ?? [];
      expect(options).toHaveLength(100);
      expect(options[0]?.value).toBe('rhel-150');
      for (const option of options) expect(option.text.text.length).toBeLessThanOrEqual(75);
    }
  });

  it('leaves out distributions Slack cannot carry rather than offering a cut or repeated value', () => {
    const view = modalFor(aws, {
      distributions: [
        { name: '' },
        { name: 'x'.repeat(151) },
        { name: 'rhel-9' },
        { name: 'rhel-9', description: 'again' },
      ],
    });
    expect(selectOf(input(view, 'distribution')).options?.map((o) => o.value)).toEqual(['rhel-9']);
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('asks for the distribution as text when there is none to choose from, instead of a select Slack refuses', () => {
    const view = modalFor(aws, { distributions: [] });
    expect(input(view, 'distribution').element.type).toBe('plain_text_input');
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('keeps private_metadata within 3000 characters even with an absurd response_url', () => {
    const view = composeModal({
      provider: aws,
      distributions: DISTRIBUTIONS,
      context: { provider: 'aws', channelId: 'C1', responseUrl: `https://hooks.slack.com/${'a'.repeat(4000)}` },
    });
    expect(modalLimitProblems(view)).toEqual([]);
    expect(parseModalContext(view.private_metadata ?? '')).toEqual({ provider: 'aws', channelId: 'C1' });
  });

  it('stays within the limits whatever the distributions, initial values and response_url', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 4000 }));
    const fieldIds = [
      'distribution',
      'architecture',
      'image_name',
      ...azure.fields.map((f) => f.id),
      'share_with_accounts',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...providers),
        fc.array(fc.record({ name: text, description: fc.option(text, { nil: undefined }) }), { maxLength: 200 }),
        fc.dictionary(fc.constantFrom(...fieldIds), text),
        fc.option(text, { nil: undefined }),
        (provider, distributions, initialValues, responseUrl) => {
          const context = {
            provider: provider.id,
            channelId: 'C012BUILDS',
            ...(responseUrl === undefined ? {} : { responseUrl }),
          };
          const view = composeModal({ provider, distributions, context, initialValues });
          assertModalWithinSlackLimits(view);
          expect(parseModalContext(view.private_metadata ?? '')).toMatchObject({
            provider: provider.id,
            channelId: 'C012BUILDS',
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

type ViewState = Record<string, Record<string, ViewStateValue>>;
const label = (text: string) => ({ type: 'plain_text' as const, text });

describe('the form’s intro', () => {
  const intro = (channelId: string) => {
    const [first] = composeModal({
      provider: providers[0]!,
      distributions: DISTRIBUTIONS,
      context: { ...CONTEXT, channelId },
    }).blocks;
    return (first as types.SectionBlock).text!.text;
  };

  it('says the build is followed in the channel when the command was typed in one', () => {
    expect(intro('C012BUILDS')).toContain(
      'I will follow the build in a thread in the channel and tell you when it is ready',
    );
  });

  it('says the build is followed in a DM when the form was opened from App Home', () => {
    expect(intro('U012ALICE')).toContain(
      'I will follow the build in a thread in your direct messages with me and tell you',
    );
    expect(intro('U012ALICE')).not.toContain('channel');
  });

  it('says the build is followed in the conversation when the command was typed in a DM', () => {
    expect(intro('D012ALICE')).toContain('I will follow the build in a thread in this conversation and tell you');
  });
});

describe('submittedValues', () => {
  it('reads text inputs and selected options back by block id', () => {
    const state: ViewState = {
      distribution: { value: { type: 'static_select', selected_option: { text: label('RHEL 9'), value: 'rhel-9' } } },
      architecture: {
        value: { type: 'static_select', selected_option: { text: label('aarch64 (Arm)'), value: 'aarch64' } },
      },
      share_with_accounts: { value: { type: 'plain_text_input', value: '123456789012\n210987654321' } },
    };
    expect(submittedValues(state)).toEqual({
      distribution: 'rhel-9',
      architecture: 'aarch64',
      share_with_accounts: '123456789012\n210987654321',
    });
  });

  it('reads an empty optional input and an unselected select as no value', () => {
    const state: ViewState = {
      image_name: { value: { type: 'plain_text_input', value: null } },
      distribution: { value: { type: 'static_select', selected_option: null } },
    };
    expect(submittedValues(state)).toEqual({ image_name: undefined, distribution: undefined });
  });

  it('ignores blocks that are not the form’s inputs', () => {
    const state: ViewState = { other: { something_else: { type: 'plain_text_input', value: 'x' } } };
    expect(submittedValues(state)).toEqual({});
  });

  it('reads back what the modal rendered, for every provider', () => {
    for (const provider of providers) {
      const view = modalFor(provider, { initialValues: { distribution: 'rhel-9', image_name: 'web' } });
      // What Slack sends back when the person submits the form as it opened.
      const state: ViewState = Object.fromEntries(
        inputs(view).map((block) => {
          const element = block.element as types.StaticSelect | types.PlainTextInput;
          const chosen = element.type === 'static_select' ? element.initial_option : undefined;
          const value: ViewStateValue =
            element.type === 'static_select'
              ? {
                  type: element.type,
                  selected_option: chosen ? { text: label(chosen.text.text), value: chosen.value ?? '' } : null,
                }
              : { type: element.type, value: element.initial_value ?? null };
          return [block.block_id!, { [FIELD_ACTION_ID]: value }];
        }),
      );
      expect(submittedValues(state)).toMatchObject({
        distribution: 'rhel-9',
        architecture: 'x86_64',
        image_name: 'web',
      });
    }
  });
});

describe('parseModalContext', () => {
  it.each(['', 'not json', 'null', '42', '{"provider":"aws"}', '{"provider":1,"channelId":"C1"}'])(
    'refuses %j as not ours',
    (metadata) => {
      expect(parseModalContext(metadata)).toBeUndefined();
    },
  );

  it('drops a response_url that is not text', () => {
    expect(parseModalContext('{"provider":"gcp","channelId":"C1","responseUrl":5}')).toEqual({
      provider: 'gcp',
      channelId: 'C1',
    });
  });
});

describe('a notice modal', () => {
  it('shortens a long message before a channel or mention, never inside one', () => {
    const reason = `${'Only some people may ask. '.repeat(115)}Ask in <#C0789BUILDS|builds> or ask <@U0123ALICE>.`;
    const view = noticeModal('Not allowed', reason);
    expect(modalLimitProblems(view)).toEqual([]);
    const text = (view.blocks[0] as types.SectionBlock).text!.text;
    expect(text.endsWith('Ask in …')).toBe(true);
  });
});

describe('the "Register with Red Hat" box', () => {
  const aws = providers.find((p) => p.id === 'aws')!;
  const box = (view: types.ModalView) => input(view, 'register').element as types.Checkboxes;

  it('follows what to build, ticked by default, within Slack’s limits, when registration is set up', () => {
    const view = modalFor(aws, { registration: 'optional' });
    const ids = inputs(view).map((b) => b.block_id);
    expect(ids.indexOf('register')).toBe(ids.indexOf('image_name') + 1);
    expect(ids.indexOf('register')).toBeLessThan(ids.indexOf('share_with_accounts'));
    expect(box(view).initial_options?.map((o) => o.value)).toEqual(['yes']);
    expect(input(view, 'register').optional).toBe(true);
    expect(modalLimitProblems(view)).toEqual([]);
  });

  it('comes back unticked from a remembered or rebuilt "no", and is absent without registration', () => {
    expect(
      box(modalFor(aws, { registration: 'optional', initialValues: { register: 'no' } })).initial_options,
    ).toBeUndefined();
    expect(inputs(modalFor(aws)).map((b) => b.block_id)).not.toContain('register');
  });

  it('reads an unticked box as "no", never as left to its default', () => {
    const state = {
      register: { [FIELD_ACTION_ID]: { type: 'checkboxes', selected_options: [] } },
      distribution: { [FIELD_ACTION_ID]: { type: 'static_select', selected_option: { value: 'rhel-9' } } },
    };
    expect(submittedValues(state)).toEqual({ register: 'no', distribution: 'rhel-9' });
    const ticked = { register: { [FIELD_ACTION_ID]: { selected_options: [{ value: 'yes' }] } } };
    expect(submittedValues(ticked)).toEqual({ register: 'yes' });
  });
});
