import type { types } from '@slack/bolt';
import * as z from 'zod';
import { GUID } from '../../shared/ids';
import {
  COMMON_FIELD_IDS,
  commonFields,
  loginFields,
  packagesField,
  type ArchitecturesOf,
  type DistributionChoice,
  type FieldSpec,
  type Provider,
  type RegistrationOffer,
  CHECKBOX_TICKED,
} from '../../providers';
import { truncate } from '../../shared/text';
import {
  chosenBlueprintBlocks,
  requesterTargetsRefusal,
  startFromBlocks,
  type BlueprintOffer,
  type BlueprintTargets,
  type ChosenBlueprint,
} from './blueprintForm';
import { escapeWithin, plainText, shortenMarkup } from './text';

/*
 * The form behind `/image-builder <cloud>`: the shared fields (distribution, architecture, build name) and the
 * provider's own, rendered from the providers' plain field data. Every input's block id is its field id, so the
 * provider's per-field messages go straight back as `response_action: "errors"`.
 */

export const COMPOSE_MODAL_CALLBACK_ID = 'compose_request';
/** Every input uses the same action id; the block id says which field it is. */
export const FIELD_ACTION_ID = 'value';

/** What the modal carries to its submission (≤ 3000 characters once serialised). */
export interface ComposeModalContext {
  provider: string;
  /** Where the command was typed. */
  channelId: string;
  /** The command's response_url, for ephemeral notices within its 30 minutes. */
  responseUrl?: string;
  /** The request this form rebuilds (the Rebuild button), linked from the new thread's original. */
  rebuildOf?: string;
  /** The blueprint the form shows (its detail was read at this version), and whose share targets it uses. */
  blueprint?: FormBlueprint;
}

export interface FormBlueprint {
  id: string;
  version: number;
  name: string;
  targets: BlueprintTargets;
  /** How many lint errors it had when read: it cannot be built until they are fixed. */
  lintErrors?: number;
  /** Why neither share targets can be used, when they cannot. */
  unbuildable?: string;
  /** Its saved image types that build this cloud's image, as saved (what POST /blueprints/{id}/compose names). */
  imageTypes: string[];
  /** Its distribution, and the architecture of its first image of this cloud (or of its first image). */
  distribution: string;
  architecture: string;
}

/**
 * Whether the form was opened from App Home (New image, or Rebuild there): there is no channel there, so the context
 * names the user and the build is followed in a DM with them.
 */
export const openedFromAppHome = (context: Pick<ComposeModalContext, 'channelId'>): boolean =>
  /^[UW]/.test(context.channelId);

/** Where the build's thread will be, as the form's intro says it. */
function threadPlace(context: ComposeModalContext): string {
  if (openedFromAppHome(context)) return 'in a thread in your direct messages with me';
  // The command typed in a direct message: the thread is in that conversation, not in a channel.
  if (context.channelId.startsWith('D')) return 'in a thread in this conversation';
  return 'in a thread in the channel';
}

export interface ComposeModalInput {
  provider: Provider;
  distributions: readonly DistributionChoice[];
  /** What each distribution builds, where known: only those that build the provider's image are offered. */
  architecturesOf?: ArchitecturesOf;
  context: ComposeModalContext;
  /** Values to start from, by field id. */
  initialValues?: Readonly<Record<string, string>>;
  /** "Start from": what it offers and what was chosen; left out, the form builds a plain image only. */
  blueprints?: { offer: BlueprintOffer; chosen?: ChosenBlueprint };
  /** How RHEL builds offer registration with Red Hat; left out where it is not set up or the policy forbids it. */
  registration?: RegistrationOffer;
}

const MAX_OPTIONS = 100;
const OPTION_TEXT_MAX = 75;
const OPTION_VALUE_MAX = 150;
const PRIVATE_METADATA_MAX = 3000;
/** plain_text_input holds at most 3000 characters. */
const TEXT_VALUE_MAX = 3000;

export function composeModal(input: ComposeModalInput): types.ModalView {
  const { provider, context } = input;
  return {
    type: 'modal',
    callback_id: COMPOSE_MODAL_CALLBACK_ID,
    private_metadata: privateMetadata(context),
    title: plainText(modalTitle(provider)),
    submit: plainText('Build image'),
    close: plainText('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `Build ${provider.image.article} *${escapeWithin(provider.image.one, 200)}* with Red Hat Image Builder. I will follow the build ` +
            `${threadPlace(context)} and tell you when it is ready, with the commands to launch it.`,
        },
      },
      ...blueprintBlocks(input),
      ...formFields(input).map((field) => inputBlock(field, input.initialValues?.[field.id])),
    ],
  };
}

function blueprintBlocks({ blueprints, provider }: ComposeModalInput): types.KnownBlock[] {
  if (!blueprints) return [];
  const { offer, chosen } = blueprints;
  return [...startFromBlocks(offer, chosen?.item), ...(chosen ? chosenBlueprintBlocks(chosen, provider) : [])];
}

/**
 * The fields to fill in: all of them for a plain image; for a blueprint with the requester's share targets, all but
 * the distribution (the blueprint's); none for a blueprint built as saved, or one that cannot be built.
 */
function formFields(input: ComposeModalInput): FieldSpec[] {
  const { provider, distributions, architecturesOf, blueprints, context, registration } = input;
  const chosen = blueprints?.chosen;
  // What to build, where it goes, how to log in, then extras; a blueprint brings its own packages.
  if (!chosen) {
    const chosenDistribution = input.initialValues?.[COMMON_FIELD_IDS.distribution];
    const shared = commonFields(provider, {
      distributions,
      architecturesOf,
      ...(registration ? { registration } : {}),
      ...(chosenDistribution ? { chosenDistribution } : {}),
    });
    return [...shared, ...provider.fields, ...loginFields(), packagesField];
  }
  if (!('detail' in chosen) || context.blueprint?.targets !== 'requester') return [];
  if (requesterTargetsRefusal(chosen.detail) !== undefined) return [];
  const distribution = chosen.detail.distribution ?? '';
  const shared = commonFields(provider, { distributions: [{ name: distribution }], architecturesOf });
  return [...shared.filter((field) => field.id !== COMMON_FIELD_IDS.distribution), ...provider.fields];
}

/** The context, without the response_url in the unlikely case that it alone would take the metadata over Slack's limit. */
function privateMetadata(context: ComposeModalContext): string {
  const full = JSON.stringify(context);
  if (full.length <= PRIVATE_METADATA_MAX) return full;
  return JSON.stringify({ provider: context.provider, channelId: context.channelId });
}

/** "AWS image", "Installer ISO": a provider's label is mostly too long for the 24-character title. */
function modalTitle(provider: Provider): string {
  const known: Record<string, string> = {
    aws: 'AWS image',
    azure: 'Azure image',
    gcp: 'GCP image',
    'guest-image': 'Guest image',
    vsphere: 'vSphere image',
    iso: 'Installer ISO',
    wsl: 'WSL image',
    oci: 'Oracle Cloud image',
  };
  return known[provider.id] ?? truncate(provider.image.one, 24);
}

// Slack adds "(optional)" to the label of an optional input itself; saying it twice reads as a mistake.
const OPTIONAL_SUFFIX = /\s*\(optional\)\s*$/i;

function inputBlock(field: FieldSpec, initial: string | undefined): types.InputBlock {
  const value = initial ?? field.default;
  const label = field.required ? field.label : field.label.replace(OPTIONAL_SUFFIX, '') || field.label;
  const base = {
    type: 'input' as const,
    block_id: field.id,
    label: plainText(truncate(label, 2000)),
    optional: !field.required,
    ...(field.hint ? { hint: plainText(truncate(field.hint, 2000)) } : {}),
  };
  if (field.kind === 'checkbox') return checkboxBlock(base, field, value);
  // Choosing another distribution asks the app to offer only the architectures it builds (distributionChosen.ts).
  const dispatches = field.id === COMMON_FIELD_IDS.distribution && (field.options?.length ?? 0) > 1;
  const options = field.kind === 'select' || field.kind === 'multiselect' ? selectOptions(field) : [];
  if (field.kind === 'multiselect' && options.length > 0) return multiSelectBlock(base, field, options, value);
  // A select without a single usable option would make Slack refuse the whole modal; a text input still works.
  if (options.length > 0) {
    // A remembered choice no longer offered (a distribution the service dropped) gives way to the field's default.
    const selected = options.find((o) => o.value === initial) ?? options.find((o) => o.value === field.default);
    return {
      ...base,
      ...(dispatches ? { dispatch_action: true } : {}),
      element: {
        type: 'static_select',
        action_id: FIELD_ACTION_ID,
        placeholder: plainText(truncate(field.placeholder ?? `Choose ${label.toLowerCase()}`, 150)),
        options,
        ...(selected ? { initial_option: selected } : {}),
      },
    };
  }
  return {
    ...base,
    element: {
      type: 'plain_text_input',
      action_id: FIELD_ACTION_ID,
      multiline: field.kind === 'multiline',
      ...(field.placeholder ? { placeholder: plainText(truncate(field.placeholder, 150)) } : {}),
      ...(value && value.length <= TEXT_VALUE_MAX ? { initial_value: value } : {}),
    },
  };
}

/** Any of the options; the value (remembered or rebuilt) names the chosen ones a line each, as submittedValues reads them. */
function multiSelectBlock(
  base: Omit<types.InputBlock, 'element'>,
  field: FieldSpec,
  options: types.PlainTextOption[],
  value: string | undefined,
): types.InputBlock {
  const chosen = new Set((value ?? '').split('\n'));
  const initial = options.filter((option) => option.value !== undefined && chosen.has(option.value));
  return {
    ...base,
    element: {
      type: 'multi_static_select',
      action_id: FIELD_ACTION_ID,
      placeholder: plainText(truncate(field.placeholder ?? 'Choose', 150)),
      options,
      ...(initial.length > 0 ? { initial_options: initial } : {}),
      ...(field.maxSelected ? { max_selected_items: field.maxSelected } : {}),
    },
  };
}

/** One box, ticked when the value says so; its option carries the ticked value. */
function checkboxBlock(
  base: Omit<types.InputBlock, 'element'>,
  field: FieldSpec,
  value: string | undefined,
): types.InputBlock {
  const option = {
    text: plainText(truncate(field.options?.[0]?.label ?? field.label, OPTION_TEXT_MAX)),
    value: CHECKBOX_TICKED,
  };
  return {
    ...base,
    element: {
      type: 'checkboxes',
      action_id: FIELD_ACTION_ID,
      options: [option],
      ...(value === CHECKBOX_TICKED ? { initial_options: [option] } : {}),
    },
  };
}

/**
 * The first 100 options Slack can carry. A value that is empty, repeated or longer than Slack allows is left out
 * rather than cut, since a cut value would submit something else than what was shown.
 */
function selectOptions(field: FieldSpec): types.PlainTextOption[] {
  const seen = new Set<string>();
  const options: types.PlainTextOption[] = [];
  for (const option of field.options ?? []) {
    if (options.length === MAX_OPTIONS) break;
    if (option.value === '' || option.value.length > OPTION_VALUE_MAX || seen.has(option.value)) continue;
    seen.add(option.value);
    options.push({
      text: plainText(truncate(option.label.trim() || option.value, OPTION_TEXT_MAX)),
      value: option.value,
    });
  }
  return options;
}

/** Reads the submitted values back, by field id, whatever element type rendered them. */
export function submittedValues(
  state: Readonly<Record<string, Readonly<Record<string, SubmittedAction>>>>,
): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const [blockId, actions] of Object.entries(state)) {
    const action = actions[FIELD_ACTION_ID];
    if (!action) continue;
    const ticked = action.selected_options;
    if (action.type === 'multi_static_select') values[blockId] = (ticked ?? []).map((o) => o.value).join('\n');
    else
      values[blockId] = ticked
        ? // A checkbox: an unticked box sends no options, which must read as "no", not as "left to its default".
          (ticked[0]?.value ?? CHECKBOX_UNTICKED)
        : (action.selected_option?.value ?? action.value ?? undefined);
  }
  return values;
}

/** What the open form holds, as the values to draw it again from: the fields with something in them. */
export function filledValues(state: Parameters<typeof submittedValues>[0]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(submittedValues(state)).filter((entry): entry is [string, string] => Boolean(entry[1])),
  );
}

type SubmittedAction = {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: readonly { value: string }[] | null;
};

const CHECKBOX_UNTICKED = 'no';

const formBlueprintSchema = z.object({
  id: z.string().regex(GUID),
  version: z.number().int().positive(),
  name: z.string(),
  targets: z.enum(['blueprint', 'requester']),
  lintErrors: z.number().int().positive().optional(),
  unbuildable: z.string().max(1000).optional(),
  imageTypes: z.array(z.string()).max(20),
  distribution: z.string(),
  architecture: z.string(),
});

const modalContextSchema = z.object({
  provider: z.string(),
  channelId: z.string(),
  responseUrl: z.string().optional().catch(undefined),
  rebuildOf: z.string().optional().catch(undefined),
  blueprint: formBlueprintSchema.optional(),
});

/** Reads private_metadata back; undefined when it is not ours. */
export function parseModalContext(privateMetadata: string): ComposeModalContext | undefined {
  let json: unknown;
  try {
    json = JSON.parse(privateMetadata);
  } catch {
    return undefined;
  }
  const parsed = modalContextSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { responseUrl, rebuildOf, blueprint, ...context } = parsed.data;
  return {
    ...context,
    ...(responseUrl === undefined ? {} : { responseUrl }),
    ...(rebuildOf === undefined ? {} : { rebuildOf }),
    ...(blueprint === undefined ? {} : { blueprint }),
  };
}

/**
 * A modal that only says something: a refusal or a problem after a button was pressed. `mrkdwn` is the bot's own
 * text (policy reasons name channels and groups with Slack's mention syntax); values from users are escaped by
 * whoever builds it.
 */
export function noticeModal(title: string, mrkdwn: string): types.ModalView {
  return {
    type: 'modal',
    title: plainText(truncate(title, 24)),
    close: plainText('Close'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: shortenMarkup(mrkdwn, 3000) } }],
  };
}
