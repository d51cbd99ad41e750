import { randomBytes } from 'node:crypto';

/*
 * The Block Kit rules Slack enforces when a message is posted or a view is opened, so the fake refuses what real
 * Slack would refuse. Problems are reported the way Slack words them: "must be less than 3001 characters
 * [json-pointer:/blocks/0/text/text]". Only the limits the bot can plausibly hit are checked; anything the fake
 * does not know (a block or element type it has never heard of) is refused rather than silently accepted.
 */

export type Json = unknown;
export type JsonObject = Record<string, unknown>;

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export type Surface = 'message' | 'modal' | 'home';

export const LIMITS = {
  /** Any text object without a limit of its own (a context element's text). */
  textObject: 3000,
  messageBlocks: 50,
  viewBlocks: 100,
  messageTextChars: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  blockId: 255,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  placeholder: 150,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  selectOptions: 100,
  radioOptions: 10,
  overflowOptions: 5,
  inputLabel: 2000,
  inputHint: 2000,
  plainTextInputLength: 3000,
  altText: 2000,
  markdownText: 12_000,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  externalId: 255,
} as const;

const MESSAGE_BLOCK_TYPES = new Set([
  'section',
  'divider',
  'image',
  'actions',
  'context',
  'header',
  'input',
  'rich_text',
  'video',
  'file',
  'markdown',
  'table',
]);
const VIEW_BLOCK_TYPES = new Set([
  'section',
  'divider',
  'image',
  'actions',
  'context',
  'header',
  'input',
  'rich_text',
  'video',
  'markdown',
]);

const SELECT_TYPES = new Set([
  'static_select',
  'multi_static_select',
  'external_select',
  'multi_external_select',
  'users_select',
  'multi_users_select',
  'conversations_select',
  'multi_conversations_select',
  'channels_select',
  'multi_channels_select',
]);
const TEXT_INPUT_TYPES = new Set(['plain_text_input', 'number_input', 'email_text_input', 'url_text_input']);
const PICKER_TYPES = new Set(['datepicker', 'timepicker', 'datetimepicker']);
const CHOICE_TYPES = new Set(['checkboxes', 'radio_buttons']);
/** Elements whose state Slack reports in `view.state.values`. */
export const STATEFUL_ELEMENT_TYPES = new Set([
  ...SELECT_TYPES,
  ...TEXT_INPUT_TYPES,
  ...PICKER_TYPES,
  ...CHOICE_TYPES,
  'rich_text_input',
  'file_input',
]);

class Problems {
  readonly list: string[] = [];
  add(pointer: string, message: string) {
    this.list.push(`${message} [json-pointer:${pointer}]`);
  }
  maxChars(pointer: string, value: unknown, max: number) {
    if (typeof value === 'string' && value.length > max) this.add(pointer, `must be less than ${max + 1} characters`);
  }
}

function checkText(
  p: Problems,
  pointer: string,
  value: unknown,
  opts: { max?: number; plainOnly?: boolean; required?: boolean },
) {
  if (value === undefined) {
    if (opts.required) p.add(pointer, 'must provide an object');
    return;
  }
  if (!isObject(value)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
    p.add(`${pointer}/type`, 'must be one of plain_text, mrkdwn');
  } else if (opts.plainOnly && value.type !== 'plain_text') {
    p.add(`${pointer}/type`, 'must be plain_text');
  }
  if (typeof value.text !== 'string') {
    p.add(`${pointer}/text`, 'must provide a string');
  } else if (value.text.length === 0) {
    p.add(`${pointer}/text`, 'must be more than 0 characters');
  } else {
    p.maxChars(`${pointer}/text`, value.text, opts.max ?? LIMITS.textObject);
  }
}

function checkOptions(p: Problems, pointer: string, options: unknown, max: number, plainOnly: boolean): JsonObject[] {
  if (!Array.isArray(options)) {
    p.add(pointer, 'must provide an array');
    return [];
  }
  if (options.length === 0) p.add(pointer, 'must provide at least 1 items');
  if (options.length > max) p.add(pointer, `no more than ${max} items allowed`);
  const seen = new Set<string>();
  options.forEach((option: unknown, i) => {
    const at = `${pointer}/${i}`;
    if (!isObject(option)) {
      p.add(at, 'must provide an object');
      return;
    }
    checkText(p, `${at}/text`, option.text, { max: LIMITS.optionText, plainOnly, required: true });
    if (typeof option.value !== 'string' || option.value.length === 0)
      p.add(`${at}/value`, 'must provide a non-empty string');
    else {
      p.maxChars(`${at}/value`, option.value, LIMITS.optionValue);
      if (seen.has(option.value)) p.add(`${at}/value`, 'duplicate option value');
      seen.add(option.value);
    }
    checkText(p, `${at}/description`, option.description, { max: LIMITS.optionDescription });
  });
  return options.filter(isObject);
}

const sameOption = (a: JsonObject, b: JsonObject) => a.value === b.value;

function checkElement(p: Problems, pointer: string, element: unknown, actionIds: Set<string>) {
  if (!isObject(element)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  const type = element.type;
  if (typeof element.action_id === 'string') {
    p.maxChars(`${pointer}/action_id`, element.action_id, LIMITS.actionId);
    if (actionIds.has(element.action_id)) p.add(`${pointer}/action_id`, 'duplicate action_id');
    actionIds.add(element.action_id);
  }
  checkText(p, `${pointer}/placeholder`, element.placeholder, { max: LIMITS.placeholder, plainOnly: true });

  if (type === 'button') {
    checkText(p, `${pointer}/text`, element.text, { max: LIMITS.buttonText, plainOnly: true, required: true });
    p.maxChars(`${pointer}/value`, element.value, LIMITS.buttonValue);
    p.maxChars(`${pointer}/url`, element.url, LIMITS.url);
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
      p.add(`${pointer}/style`, 'must be one of primary, danger');
    }
  } else if (type === 'static_select' || type === 'multi_static_select') {
    let options: JsonObject[] = [];
    if (element.options !== undefined) {
      options = checkOptions(p, `${pointer}/options`, element.options, LIMITS.selectOptions, true);
    } else if (Array.isArray(element.option_groups)) {
      if (element.option_groups.length > LIMITS.selectOptions) {
        p.add(`${pointer}/option_groups`, `no more than ${LIMITS.selectOptions} items allowed`);
      }
      element.option_groups.forEach((group: unknown, g) => {
        const at = `${pointer}/option_groups/${g}`;
        if (!isObject(group)) return p.add(at, 'must provide an object');
        checkText(p, `${at}/label`, group.label, { max: LIMITS.optionText, plainOnly: true, required: true });
        options.push(...checkOptions(p, `${at}/options`, group.options, LIMITS.selectOptions, true));
      });
    } else {
      p.add(pointer, 'must provide either options or option_groups');
    }
    const initial = type === 'static_select' ? [element.initial_option] : element.initial_options;
    if (Array.isArray(initial)) {
      initial.forEach((chosen: unknown) => {
        if (chosen === undefined) return;
        if (!isObject(chosen) || !options.some((o) => sameOption(o, chosen))) {
          p.add(
            `${pointer}/${type === 'static_select' ? 'initial_option' : 'initial_options'}`,
            'must match one of the provided options',
          );
        }
      });
    }
  } else if (type === 'overflow') {
    checkOptions(p, `${pointer}/options`, element.options, LIMITS.overflowOptions, true);
  } else if (typeof type === 'string' && CHOICE_TYPES.has(type)) {
    const options = checkOptions(p, `${pointer}/options`, element.options, LIMITS.radioOptions, false);
    const initial = type === 'radio_buttons' ? [element.initial_option] : element.initial_options;
    if (Array.isArray(initial)) {
      initial.forEach((chosen: unknown) => {
        if (chosen !== undefined && (!isObject(chosen) || !options.some((o) => sameOption(o, chosen)))) {
          p.add(`${pointer}/initial_option`, 'must match one of the provided options');
        }
      });
    }
  } else if (type === 'plain_text_input') {
    for (const key of ['min_length', 'max_length'] as const) {
      const value = element[key];
      if (value !== undefined && (typeof value !== 'number' || value < 0 || value > LIMITS.plainTextInputLength)) {
        p.add(`${pointer}/${key}`, `must be a number between 0 and ${LIMITS.plainTextInputLength}`);
      }
    }
    if (typeof element.initial_value === 'string' && typeof element.max_length === 'number') {
      p.maxChars(`${pointer}/initial_value`, element.initial_value, element.max_length);
    }
  } else if (type === 'image') {
    p.maxChars(`${pointer}/image_url`, element.image_url, LIMITS.url);
    if (typeof element.alt_text !== 'string' || element.alt_text === '')
      p.add(`${pointer}/alt_text`, 'must provide a non-empty string');
    p.maxChars(`${pointer}/alt_text`, element.alt_text, LIMITS.altText);
  } else if (
    typeof type !== 'string' ||
    !(
      SELECT_TYPES.has(type) ||
      TEXT_INPUT_TYPES.has(type) ||
      PICKER_TYPES.has(type) ||
      type === 'rich_text_input' ||
      type === 'file_input' ||
      type === 'workflow_button'
    )
  ) {
    p.add(`${pointer}/type`, `unknown element type ${JSON.stringify(type)}`);
  }
}

function checkBlock(p: Problems, pointer: string, block: unknown, surface: Surface, blockIds: Set<string>) {
  if (!isObject(block)) {
    p.add(pointer, 'must provide an object');
    return;
  }
  const type = typeof block.type === 'string' ? block.type : '';
  const allowed = surface === 'message' ? MESSAGE_BLOCK_TYPES : VIEW_BLOCK_TYPES;
  if (!allowed.has(type)) {
    p.add(`${pointer}/type`, `unsupported block type ${JSON.stringify(block.type)}`);
    return;
  }
  if (block.block_id !== undefined) {
    if (typeof block.block_id !== 'string' || block.block_id === '')
      p.add(`${pointer}/block_id`, 'must provide a non-empty string');
    else {
      p.maxChars(`${pointer}/block_id`, block.block_id, LIMITS.blockId);
      if (blockIds.has(block.block_id)) p.add(`${pointer}/block_id`, 'duplicate block_id');
      blockIds.add(block.block_id);
    }
  }
  const actionIds = new Set<string>();
  switch (type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined) p.add(pointer, 'must provide text or fields');
      checkText(p, `${pointer}/text`, block.text, { max: LIMITS.sectionText });
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) p.add(`${pointer}/fields`, 'must provide an array');
        else {
          if (block.fields.length > LIMITS.sectionFields)
            p.add(`${pointer}/fields`, `no more than ${LIMITS.sectionFields} items allowed`);
          block.fields.forEach((field: unknown, i) =>
            checkText(p, `${pointer}/fields/${i}`, field, { max: LIMITS.sectionFieldText, required: true }),
          );
        }
      }
      if (block.accessory !== undefined) checkElement(p, `${pointer}/accessory`, block.accessory, actionIds);
      break;
    case 'header':
      checkText(p, `${pointer}/text`, block.text, { max: LIMITS.headerText, plainOnly: true, required: true });
      break;
    case 'context':
    case 'actions': {
      const max = type === 'context' ? LIMITS.contextElements : LIMITS.actionsElements;
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        p.add(`${pointer}/elements`, 'must provide at least 1 items');
        break;
      }
      if (block.elements.length > max) p.add(`${pointer}/elements`, `no more than ${max} items allowed`);
      block.elements.forEach((element: unknown, i) => {
        const at = `${pointer}/elements/${i}`;
        if (type === 'context' && isObject(element) && (element.type === 'plain_text' || element.type === 'mrkdwn')) {
          checkText(p, at, element, {});
        } else if (type === 'context' && !(isObject(element) && element.type === 'image')) {
          p.add(`${at}/type`, 'must be one of image, plain_text, mrkdwn');
        } else {
          checkElement(p, at, element, actionIds);
        }
      });
      break;
    }
    case 'input':
      checkText(p, `${pointer}/label`, block.label, { max: LIMITS.inputLabel, plainOnly: true, required: true });
      checkText(p, `${pointer}/hint`, block.hint, { max: LIMITS.inputHint, plainOnly: true });
      if (block.element === undefined) p.add(`${pointer}/element`, 'must provide an object');
      else checkElement(p, `${pointer}/element`, block.element, actionIds);
      break;
    case 'image':
      checkElement(p, pointer, { ...block, type: 'image', block_id: undefined }, actionIds);
      checkText(p, `${pointer}/title`, block.title, { max: LIMITS.altText, plainOnly: true });
      break;
    case 'markdown':
      if (typeof block.text !== 'string' || block.text === '')
        p.add(`${pointer}/text`, 'must provide a non-empty string');
      p.maxChars(`${pointer}/text`, block.text, LIMITS.markdownText);
      break;
    default:
      break;
  }
}

function checkBlocks(p: Problems, pointer: string, blocks: unknown, surface: Surface) {
  if (!Array.isArray(blocks)) {
    p.add(pointer, 'must provide an array');
    return;
  }
  const max = surface === 'message' ? LIMITS.messageBlocks : LIMITS.viewBlocks;
  if (blocks.length > max) p.add(pointer, `no more than ${max} items allowed`);
  const blockIds = new Set<string>();
  blocks.forEach((block: unknown, i) => checkBlock(p, `${pointer}/${i}`, block, surface, blockIds));
}

/** What Slack refuses in a message's `blocks`; empty when it would accept them. */
export function messageBlockProblems(blocks: unknown): string[] {
  const p = new Problems();
  checkBlocks(p, '/blocks', blocks, 'message');
  return p.list;
}

/** What Slack refuses in a view posted to views.open / views.update / views.push / views.publish. */
export function viewProblems(view: unknown, expected?: 'modal' | 'home'): string[] {
  const p = new Problems();
  if (!isObject(view)) {
    p.add('/view', 'must provide an object');
    return p.list;
  }
  if (view.type !== 'modal' && view.type !== 'home') p.add('/view/type', 'must be one of modal, home');
  else if (expected && view.type !== expected) p.add('/view/type', `must be ${expected}`);
  const surface: Surface = view.type === 'home' ? 'home' : 'modal';
  if (surface === 'modal') {
    checkText(p, '/view/title', view.title, { max: LIMITS.viewTitle, plainOnly: true, required: true });
    checkText(p, '/view/submit', view.submit, { max: LIMITS.viewButton, plainOnly: true });
    checkText(p, '/view/close', view.close, { max: LIMITS.viewButton, plainOnly: true });
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b: unknown) => isObject(b) && b.type === 'input');
    if (hasInput && view.submit === undefined)
      p.add('/view/submit', 'must provide submit when the view has input blocks');
  }
  p.maxChars('/view/private_metadata', view.private_metadata, LIMITS.privateMetadata);
  p.maxChars('/view/callback_id', view.callback_id, LIMITS.callbackId);
  p.maxChars('/view/external_id', view.external_id, LIMITS.externalId);
  checkBlocks(p, '/view/blocks', view.blocks, surface);
  return p.list;
}

/** The plain text a message's blocks show, for the 40k-character message limit and for readable test failures. */
export function blocksText(blocks: unknown): string {
  const parts: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (isObject(value)) {
      if ((value.type === 'plain_text' || value.type === 'mrkdwn') && typeof value.text === 'string')
        parts.push(value.text);
      else for (const child of Object.values(value)) walk(child);
    }
  };
  walk(blocks);
  return parts.join('\n');
}

const autoId = (taken: Set<string>) => {
  for (;;) {
    const id = randomBytes(3).toString('base64url');
    if (!taken.has(id)) {
      taken.add(id);
      return id;
    }
  }
};

/**
 * `blocks` with every block given a `block_id` and every interactive element an `action_id`, as Slack fills them in:
 * a modal's `state.values` and a button click are keyed by those ids whether the app chose them or not.
 *
 * The posted blocks are left as they came (a test reads them as the client sent them): each block and each element
 * given an id is a copy, and everything beneath is shared, as nothing changes it afterwards. A deep copy
 * (structuredClone) was the fake's largest cost in opening a compose form, on the cores the measured app shares.
 */
export function withSlackIds(blocks: unknown): unknown {
  if (!Array.isArray(blocks)) return blocks;
  const blockIds = new Set(blocks.flatMap((b) => (isObject(b) && typeof b.block_id === 'string' ? [b.block_id] : [])));
  return blocks.map((block: unknown) => {
    if (!isObject(block)) return block;
    const copy: JsonObject = { ...block };
    copy.block_id ??= autoId(blockIds);
    const elements = [
      ...(Array.isArray(block.elements) ? (block.elements as unknown[]) : []),
      ...(block.accessory === undefined ? [] : [block.accessory]),
      ...(block.element === undefined ? [] : [block.element]),
    ];
    const actionIds = new Set(
      elements.flatMap((e) => (isInteractive(e) && typeof e.action_id === 'string' ? [e.action_id] : [])),
    );
    const withActionId = (e: unknown) =>
      isInteractive(e) && (e.action_id === undefined || e.action_id === null)
        ? { ...e, action_id: autoId(actionIds) }
        : e;
    if (Array.isArray(block.elements)) copy.elements = (block.elements as unknown[]).map(withActionId);
    if (block.accessory !== undefined) copy.accessory = withActionId(block.accessory);
    if (block.element !== undefined) copy.element = withActionId(block.element);
    return copy;
  });
}

const isInteractive = (element: unknown): element is JsonObject =>
  isObject(element) &&
  (element.type === 'button' || element.type === 'overflow' || STATEFUL_ELEMENT_TYPES.has(String(element.type)));
