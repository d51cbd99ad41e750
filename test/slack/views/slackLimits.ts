/*
 * Slack's documented Block Kit limits, as one reusable check for anything the bot sends: a message (`text` plus
 * `blocks`) or a modal view. Each problem names where it is ("blocks[2].text.text: 3001 characters, at most 3000")
 * so a failing test says what to fix. Unit tests call it on every builder; e2e tests can call it on what the fake
 * Slack received.
 */

export const SLACK_LIMITS = {
  messageBlocks: 50,
  modalBlocks: 100,
  /** Slack refuses a longer `text` with msg_too_long. */
  messageText: 40_000,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  headerText: 150,
  actionsElements: 25,
  inputLabel: 2000,
  inputHint: 2000,
  placeholder: 150,
  plainTextInputValue: 3000,
  selectOptions: 100,
  radioOptions: 10,
  checkboxOptions: 10,
  optionText: 75,
  optionDescription: 75,
  optionValue: 150,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  blockId: 255,
  actionId: 255,
} as const;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Problems {
  readonly list: string[] = [];

  add(path: string, problem: string): void {
    this.list.push(`${path}: ${problem}`);
  }

  /** A string of 1..max characters. */
  string(path: string, value: unknown, max: number): void {
    if (typeof value !== 'string') this.add(path, `must be a string, not ${JSON.stringify(value)}`);
    else if (value.length === 0) this.add(path, 'must not be empty');
    else if (value.length > max) this.add(path, `${value.length} characters, at most ${max}`);
  }

  /** A text object whose text has 1..max characters; `plain` when Slack allows only plain_text there. */
  text(path: string, value: unknown, max: number, options: { plain?: boolean; required?: boolean } = {}): void {
    if (value === undefined) {
      if (options.required) this.add(path, 'is required');
      return;
    }
    if (!isObject(value)) return this.add(path, 'must be a text object');
    const allowed = options.plain ? ['plain_text'] : ['plain_text', 'mrkdwn'];
    if (!allowed.includes(String(value.type))) this.add(`${path}.type`, `must be ${allowed.join(' or ')}`);
    this.string(`${path}.text`, value.text, max);
  }
}

function checkOptions(p: Problems, path: string, options: unknown, max: number = SLACK_LIMITS.selectOptions): Json[] {
  if (!Array.isArray(options)) {
    p.add(path, 'must be an array');
    return [];
  }
  if (options.length === 0) p.add(path, 'must have at least one option');
  if (options.length > max) p.add(path, `${options.length} options, at most ${max}`);
  const values = new Set<unknown>();
  options.forEach((option: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(option)) return p.add(at, 'must be an object');
    p.text(`${at}.text`, option.text, SLACK_LIMITS.optionText, { plain: true, required: true });
    p.string(`${at}.value`, option.value, SLACK_LIMITS.optionValue);
    p.text(`${at}.description`, option.description, SLACK_LIMITS.optionDescription, { plain: true });
    if (values.has(option.value)) p.add(`${at}.value`, `repeats ${JSON.stringify(option.value)}`);
    values.add(option.value);
  });
  return options.filter(isObject);
}

function checkElement(p: Problems, path: string, element: unknown, actionIds: Set<string>): void {
  if (!isObject(element)) return p.add(path, 'must be an object');
  if (element.action_id !== undefined) {
    p.string(`${path}.action_id`, element.action_id, SLACK_LIMITS.actionId);
    if (typeof element.action_id === 'string') {
      if (actionIds.has(element.action_id))
        p.add(`${path}.action_id`, `repeats ${JSON.stringify(element.action_id)} in its block`);
      actionIds.add(element.action_id);
    }
  }
  p.text(`${path}.placeholder`, element.placeholder, SLACK_LIMITS.placeholder, { plain: true });
  switch (element.type) {
    case 'static_select': {
      const options = checkOptions(p, `${path}.options`, element.options);
      const initial = element.initial_option;
      if (initial !== undefined && !(isObject(initial) && options.some((o) => o.value === initial.value))) {
        p.add(`${path}.initial_option`, 'must be one of the options');
      }
      break;
    }
    case 'multi_static_select': {
      const options = checkOptions(p, `${path}.options`, element.options);
      const initial = element.initial_options;
      if (
        initial !== undefined &&
        !(Array.isArray(initial) && initial.every((i) => isObject(i) && options.some((o) => o.value === i.value)))
      ) {
        p.add(`${path}.initial_options`, 'must be some of the options');
      }
      const most = element.max_selected_items;
      if (most !== undefined && !(Number.isInteger(most) && (most as number) >= 1)) {
        p.add(`${path}.max_selected_items`, 'must be a whole number, at least 1');
      }
      break;
    }
    case 'radio_buttons': {
      const options = checkOptions(p, `${path}.options`, element.options, SLACK_LIMITS.radioOptions);
      const initial = element.initial_option;
      if (initial !== undefined && !(isObject(initial) && options.some((o) => o.value === initial.value))) {
        p.add(`${path}.initial_option`, 'must be one of the options');
      }
      break;
    }
    case 'checkboxes': {
      const options = checkOptions(p, `${path}.options`, element.options, SLACK_LIMITS.checkboxOptions);
      const initial = element.initial_options;
      if (
        initial !== undefined &&
        !(Array.isArray(initial) && initial.every((i) => isObject(i) && options.some((o) => o.value === i.value)))
      ) {
        p.add(`${path}.initial_options`, 'must be some of the options');
      }
      break;
    }
    case 'external_select':
      // Its options come from the app's options listener; the one shown first is the form's.
      if (element.initial_option !== undefined) checkOptions(p, `${path}.initial_option`, [element.initial_option]);
      break;
    case 'plain_text_input':
      if (element.initial_value !== undefined) {
        if (typeof element.initial_value !== 'string') p.add(`${path}.initial_value`, 'must be a string');
        else if (element.initial_value.length > SLACK_LIMITS.plainTextInputValue) {
          p.add(
            `${path}.initial_value`,
            `${element.initial_value.length} characters, at most ${SLACK_LIMITS.plainTextInputValue}`,
          );
        }
      }
      break;
    case 'button':
      p.text(`${path}.text`, element.text, SLACK_LIMITS.buttonText, { plain: true, required: true });
      if (element.value !== undefined) p.string(`${path}.value`, element.value, SLACK_LIMITS.buttonValue);
      if (element.url !== undefined) p.string(`${path}.url`, element.url, SLACK_LIMITS.url);
      break;
    default:
      p.add(`${path}.type`, `not an element this checker knows: ${JSON.stringify(element.type)}`);
  }
}

function checkBlock(
  p: Problems,
  path: string,
  block: unknown,
  surface: 'message' | 'modal',
  blockIds: Set<string>,
): void {
  if (!isObject(block)) return p.add(path, 'must be an object');
  if (block.block_id !== undefined) {
    p.string(`${path}.block_id`, block.block_id, SLACK_LIMITS.blockId);
    if (typeof block.block_id === 'string') {
      if (blockIds.has(block.block_id)) p.add(`${path}.block_id`, `repeats ${JSON.stringify(block.block_id)}`);
      blockIds.add(block.block_id);
    }
  }
  const actionIds = new Set<string>();
  switch (block.type) {
    case 'section':
      if (block.text === undefined && block.fields === undefined) p.add(path, 'needs text or fields');
      p.text(`${path}.text`, block.text, SLACK_LIMITS.sectionText);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) p.add(`${path}.fields`, 'must be an array');
        else {
          if (block.fields.length > SLACK_LIMITS.sectionFields)
            p.add(`${path}.fields`, `${block.fields.length} fields, at most ${SLACK_LIMITS.sectionFields}`);
          block.fields.forEach((field: unknown, i) =>
            p.text(`${path}.fields[${i}]`, field, SLACK_LIMITS.sectionFieldText, { required: true }),
          );
        }
      }
      if (block.accessory !== undefined) checkElement(p, `${path}.accessory`, block.accessory, actionIds);
      break;
    case 'context':
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        p.add(`${path}.elements`, 'must have at least one element');
        break;
      }
      if (block.elements.length > SLACK_LIMITS.contextElements) {
        p.add(`${path}.elements`, `${block.elements.length} elements, at most ${SLACK_LIMITS.contextElements}`);
      }
      block.elements.forEach((element: unknown, i) => {
        if (isObject(element) && element.type === 'image') return;
        p.text(`${path}.elements[${i}]`, element, SLACK_LIMITS.contextText, { required: true });
      });
      break;
    case 'header':
      p.text(`${path}.text`, block.text, SLACK_LIMITS.headerText, { plain: true, required: true });
      break;
    case 'divider':
      break;
    case 'actions':
      if (!Array.isArray(block.elements) || block.elements.length === 0) {
        p.add(`${path}.elements`, 'must have at least one element');
        break;
      }
      if (block.elements.length > SLACK_LIMITS.actionsElements) {
        p.add(`${path}.elements`, `${block.elements.length} elements, at most ${SLACK_LIMITS.actionsElements}`);
      }
      block.elements.forEach((element: unknown, i) => checkElement(p, `${path}.elements[${i}]`, element, actionIds));
      break;
    case 'input':
      if (surface === 'message') p.add(`${path}.type`, 'input blocks belong in modals');
      // Validation errors are keyed by the input's block id, so every input needs its own.
      if (block.block_id === undefined) p.add(`${path}.block_id`, 'an input block needs a block_id');
      p.text(`${path}.label`, block.label, SLACK_LIMITS.inputLabel, { plain: true, required: true });
      p.text(`${path}.hint`, block.hint, SLACK_LIMITS.inputHint, { plain: true });
      checkElement(p, `${path}.element`, block.element, actionIds);
      break;
    default:
      p.add(`${path}.type`, `not a block this checker knows: ${JSON.stringify(block.type)}`);
  }
}

function checkBlocks(p: Problems, path: string, blocks: unknown, surface: 'message' | 'modal'): void {
  if (!Array.isArray(blocks)) return p.add(path, 'must be an array');
  const max = surface === 'message' ? SLACK_LIMITS.messageBlocks : SLACK_LIMITS.modalBlocks;
  if (blocks.length === 0) p.add(path, 'must have at least one block');
  if (blocks.length > max) p.add(path, `${blocks.length} blocks, at most ${max}`);
  const blockIds = new Set<string>();
  blocks.forEach((block: unknown, i) => checkBlock(p, `${path}[${i}]`, block, surface, blockIds));
}

/** What Slack would refuse (or what would lose its notification text) in a message; empty when all is well. */
export function messageLimitProblems(message: unknown): string[] {
  const p = new Problems();
  if (!isObject(message)) return ['message: must be an object'];
  if (typeof message.text !== 'string' || message.text.trim() === '')
    p.add('text', 'every message needs a non-empty fallback text');
  else if (message.text.length > SLACK_LIMITS.messageText)
    p.add('text', `${message.text.length} characters, at most ${SLACK_LIMITS.messageText}`);
  checkBlocks(p, 'blocks', message.blocks, 'message');
  return p.list;
}

/** What Slack would refuse in a modal passed to views.open / views.update; empty when all is well. */
export function modalLimitProblems(view: unknown): string[] {
  const p = new Problems();
  if (!isObject(view)) return ['view: must be an object'];
  if (view.type !== 'modal') p.add('type', 'must be modal');
  p.text('title', view.title, SLACK_LIMITS.modalTitle, { plain: true, required: true });
  p.text('submit', view.submit, SLACK_LIMITS.modalButton, { plain: true });
  p.text('close', view.close, SLACK_LIMITS.modalButton, { plain: true });
  const hasInputs = Array.isArray(view.blocks) && view.blocks.some((b: unknown) => isObject(b) && b.type === 'input');
  if (hasInputs && view.submit === undefined) p.add('submit', 'a modal with inputs needs a submit button');
  if (view.private_metadata !== undefined) {
    if (typeof view.private_metadata !== 'string') p.add('private_metadata', 'must be a string');
    else if (view.private_metadata.length > SLACK_LIMITS.privateMetadata) {
      p.add('private_metadata', `${view.private_metadata.length} characters, at most ${SLACK_LIMITS.privateMetadata}`);
    }
  }
  if (view.callback_id !== undefined) p.string('callback_id', view.callback_id, SLACK_LIMITS.callbackId);
  checkBlocks(p, 'blocks', view.blocks, 'modal');
  return p.list;
}

/** Throws, listing every problem, unless Slack would accept the message. Works inside fast-check properties. */
export function assertMessageWithinSlackLimits(message: unknown): void {
  const problems = messageLimitProblems(message);
  if (problems.length > 0) throw new Error(`The message breaks Slack's limits:\n  ${problems.join('\n  ')}`);
}

/** Throws, listing every problem, unless Slack would accept the modal. Works inside fast-check properties. */
export function assertModalWithinSlackLimits(view: unknown): void {
  const problems = modalLimitProblems(view);
  if (problems.length > 0) throw new Error(`The modal breaks Slack's limits:\n  ${problems.join('\n  ')}`);
}

/** Every text a person sees in a message or view (mrkdwn and plain_text), in order, for content assertions. */
export function visibleTexts(surface: unknown): string[] {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (isObject(value)) {
      if ((value.type === 'plain_text' || value.type === 'mrkdwn') && typeof value.text === 'string')
        texts.push(value.text);
      else Object.values(value).forEach(walk);
    }
  };
  walk(isObject(surface) && 'blocks' in surface ? surface.blocks : surface);
  return texts;
}
