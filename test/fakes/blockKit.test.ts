import { LIMITS, messageBlockProblems, viewProblems } from './blockKit';
import { describeWithSlackLimits, slackBlockKitLimits } from '../support/slackBlockKitLimits';

/* The fake refuses what Slack refuses: its limits are the ones @slack/types and Slack's own SDK validators state. */

/** The fake's name for each limit in limits.json that it enforces. */
const FAKE_NAMES: Record<string, keyof typeof LIMITS> = {
  textObject: 'textObject',
  modalTitle: 'viewTitle',
  modalButton: 'viewButton',
  viewBlocks: 'viewBlocks',
  privateMetadata: 'privateMetadata',
  callbackId: 'callbackId',
  messageBlocks: 'messageBlocks',
  messageText: 'messageTextChars',
  blockId: 'blockId',
  sectionText: 'sectionText',
  sectionFields: 'sectionFields',
  sectionField: 'sectionFieldText',
  headerText: 'headerText',
  contextElements: 'contextElements',
  actionsElements: 'actionsElements',
  inputLabel: 'inputLabel',
  inputHint: 'inputHint',
  actionId: 'actionId',
  placeholder: 'placeholder',
  buttonText: 'buttonText',
  buttonValue: 'buttonValue',
  buttonUrl: 'url',
  optionText: 'optionText',
  optionValue: 'optionValue',
  selectOptions: 'selectOptions',
  textInputMax: 'plainTextInputLength',
};
/** @slack/types' older option value limit; Slack and its Python SDK take 150, and so does the fake. */
const NOT_ENFORCED = ['optionValueStrict'];

describeWithSlackLimits('the fake’s Block Kit limits', () => {
  it('are Slack’s, for every limit stated', () => {
    const stated = slackBlockKitLimits();
    expect(Object.keys(stated).filter((name) => !(name in FAKE_NAMES) && !NOT_ENFORCED.includes(name))).toEqual([]);
    for (const [name, max] of Object.entries(stated)) {
      const fakeName = FAKE_NAMES[name];
      if (fakeName) expect({ [name]: LIMITS[fakeName] }).toEqual({ [name]: max });
    }
  });
});

describe('the fake’s Block Kit checks', () => {
  const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

  it('refuses a context text over 3,000 characters, in a message and in a view', () => {
    expect(messageBlockProblems([context('x'.repeat(3000))])).toEqual([]);
    expect(messageBlockProblems([context('x'.repeat(3001))])).toEqual(['must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]']);
    expect(viewProblems({ type: 'home', blocks: [context('x'.repeat(3001))] })).toEqual([
      'must be less than 3001 characters [json-pointer:/view/blocks/0/elements/0/text]',
    ]);
  });
});
