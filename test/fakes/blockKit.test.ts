import { LIMITS, messageBlockProblems, viewProblems } from '../../src/demo/fakes/blockKit';
import { describeWithSlackLimits, limitDisagreements } from '../support/slackBlockKitLimits';

/* The fake refuses what Slack refuses: its limits are the ones @slack/types and Slack's own SDK validators state. */

describeWithSlackLimits('the fake’s Block Kit limits', () => {
  it('are Slack’s, for every limit stated', () => {
    const renamed = {
      modalTitle: 'viewTitle',
      modalButton: 'viewButton',
      messageText: 'messageTextChars',
      sectionField: 'sectionFieldText',
      buttonUrl: 'url',
      textInputMax: 'plainTextInputLength',
    };
    expect(limitDisagreements(LIMITS, renamed)).toEqual([]);
  });
});

describe('the fake’s Block Kit checks', () => {
  const context = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

  it('refuses a context text over 3,000 characters, in a message and in a view', () => {
    expect(messageBlockProblems([context('x'.repeat(3000))])).toEqual([]);
    expect(messageBlockProblems([context('x'.repeat(3001))])).toEqual([
      'must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]',
    ]);
    expect(viewProblems({ type: 'home', blocks: [context('x'.repeat(3001))] })).toEqual([
      'must be less than 3001 characters [json-pointer:/view/blocks/0/elements/0/text]',
    ]);
  });
});
