import { describeWithSlackLimits, limitDisagreements } from '../../support/slackBlockKitLimits';
import { messageLimitProblems, modalLimitProblems, SLACK_LIMITS } from './slackLimits';

/* The checker the other tests rely on must itself catch what Slack refuses, or their green means nothing. */

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const input = (
  blockId: string,
  element: Record<string, unknown> = { type: 'plain_text_input', action_id: 'value' },
) => ({
  type: 'input',
  block_id: blockId,
  label: { type: 'plain_text', text: 'Label' },
  element,
});
const modal = (overrides: Record<string, unknown>) => ({
  type: 'modal',
  title: { type: 'plain_text', text: 'AWS image' },
  submit: { type: 'plain_text', text: 'Build image' },
  blocks: [input('a')],
  ...overrides,
});

describe('the Slack limits checker', () => {
  it('accepts a plain message', () => {
    expect(messageLimitProblems({ text: 'hi', blocks: [section('hi')] })).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    [
      'a message without fallback text',
      { blocks: [section('hi')] },
      'text: every message needs a non-empty fallback text',
    ],
    [
      '51 blocks',
      { text: 't', blocks: Array.from({ length: 51 }, () => section('x')) },
      'blocks: 51 blocks, at most 50',
    ],
    [
      'section text over 3000',
      { text: 't', blocks: [section('x'.repeat(3001))] },
      'blocks[0].text.text: 3001 characters, at most 3000',
    ],
    ['an empty section text', { text: 't', blocks: [section('')] }, 'blocks[0].text.text: must not be empty'],
    [
      '11 context elements',
      {
        text: 't',
        blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'x' })) }],
      },
      'blocks[0].elements: 11 elements, at most 10',
    ],
    [
      'a long context text',
      { text: 't', blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'x'.repeat(3001) }] }] },
      'blocks[0].elements[0].text: 3001 characters, at most 3000',
    ],
    [
      'a long header',
      { text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(151) } }] },
      'blocks[0].text.text: 151 characters, at most 150',
    ],
    [
      'a repeated block_id',
      {
        text: 't',
        blocks: [
          { ...section('a'), block_id: 'b' },
          { ...section('c'), block_id: 'b' },
        ],
      },
      'blocks[1].block_id: repeats "b"',
    ],
    [
      'a long block_id',
      { text: 't', blocks: [{ ...section('a'), block_id: 'b'.repeat(256) }] },
      'blocks[0].block_id: 256 characters, at most 255',
    ],
  ])('flags %s', (_name, message, problem) => {
    expect(messageLimitProblems(message)).toContain(problem);
  });

  it('accepts a plain modal', () => {
    expect(modalLimitProblems(modal({}))).toEqual([]);
  });

  const select = (options: unknown[], extra: Record<string, unknown> = {}) => ({
    type: 'static_select',
    action_id: 'value',
    options,
    ...extra,
  });
  const option = (text: string, value: string) => ({ text: { type: 'plain_text', text }, value });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a 25-character title',
      { title: { type: 'plain_text', text: 'x'.repeat(25) } },
      'title.text: 25 characters, at most 24',
    ],
    [
      'a long submit label',
      { submit: { type: 'plain_text', text: 'x'.repeat(25) } },
      'submit.text: 25 characters, at most 24',
    ],
    [
      'a long close label',
      { close: { type: 'plain_text', text: 'x'.repeat(25) } },
      'close.text: 25 characters, at most 24',
    ],
    ['inputs without submit', { submit: undefined }, 'submit: a modal with inputs needs a submit button'],
    [
      'long private_metadata',
      { private_metadata: 'x'.repeat(3001) },
      'private_metadata: 3001 characters, at most 3000',
    ],
    [
      '101 blocks',
      { blocks: Array.from({ length: 101 }, (_, i) => input(`b${i}`)) },
      'blocks: 101 blocks, at most 100',
    ],
    ['two inputs with one block_id', { blocks: [input('a'), input('a')] }, 'blocks[1].block_id: repeats "a"'],
    [
      'an input without a block_id',
      { blocks: [{ ...input('a'), block_id: undefined }] },
      'blocks[0].block_id: an input block needs a block_id',
    ],
    [
      'a long input label',
      { blocks: [{ ...input('a'), label: { type: 'plain_text', text: 'x'.repeat(2001) } }] },
      'blocks[0].label.text: 2001 characters, at most 2000',
    ],
    [
      'a long hint',
      { blocks: [{ ...input('a'), hint: { type: 'plain_text', text: 'x'.repeat(2001) } }] },
      'blocks[0].hint.text: 2001 characters, at most 2000',
    ],
    [
      'a long placeholder',
      {
        blocks: [input('a', { type: 'plain_text_input', placeholder: { type: 'plain_text', text: 'x'.repeat(151) } })],
      },
      'blocks[0].element.placeholder.text: 151 characters, at most 150',
    ],
    [
      'a long action_id',
      { blocks: [input('a', { type: 'plain_text_input', action_id: 'x'.repeat(256) })] },
      'blocks[0].element.action_id: 256 characters, at most 255',
    ],
    [
      '101 options',
      { blocks: [input('a', select(Array.from({ length: 101 }, (_, i) => option(`o${i}`, `v${i}`))))] },
      'blocks[0].element.options: 101 options, at most 100',
    ],
    ['no options', { blocks: [input('a', select([]))] }, 'blocks[0].element.options: must have at least one option'],
    [
      'a long option text',
      { blocks: [input('a', select([option('x'.repeat(76), 'v')]))] },
      'blocks[0].element.options[0].text.text: 76 characters, at most 75',
    ],
    [
      'a long option value',
      { blocks: [input('a', select([option('t', 'v'.repeat(151))]))] },
      'blocks[0].element.options[0].value: 151 characters, at most 150',
    ],
    [
      'an initial option that is not an option',
      { blocks: [input('a', select([option('t', 'v')], { initial_option: option('t', 'w') }))] },
      'blocks[0].element.initial_option: must be one of the options',
    ],
    ['mrkdwn in a plain_text place', { title: { type: 'mrkdwn', text: 'x' } }, 'title.type: must be plain_text'],
  ])('flags a modal with %s', (_name, overrides, problem) => {
    expect(modalLimitProblems(modal(overrides))).toContain(problem);
  });
});

describeWithSlackLimits('the checker’s limits', () => {
  it('are Slack’s, for every limit stated', () => {
    const renamed = {
      textObject: 'contextText',
      viewBlocks: 'modalBlocks',
      sectionField: 'sectionFieldText',
      buttonUrl: 'url',
      textInputMax: 'plainTextInputValue',
    };
    expect(limitDisagreements(SLACK_LIMITS, renamed)).toEqual([]);
  });
});
