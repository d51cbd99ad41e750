import { messageText, mrkdwnText, type TerminalNames } from '../../src/demo/terminalText';

/* Block Kit mrkdwn as the demo prints it: what a person reads in Slack, without the markup. */

const names: TerminalNames = {
  user: (id) => ({ U1: 'alice' })[id],
  channel: (id) => ({ C1: 'platform' })[id],
};

it.each([
  ['*bold* and _italic_ and ~gone~', 'bold and italic and gone'],
  ['<@U1> in <#C1> and <@U9>', '@alice in #platform and @U9'],
  ['<#C7|builds>, <!here>', '#builds, @here'],
  [
    '<https://example.com/a?b=1|the console> or <https://example.com>',
    'the console (https://example.com/a?b=1) or https://example.com',
  ],
  ['`rhel_9` and *not*bold and snake_case_name', 'rhel_9 and *not*bold and snake_case_name'],
  ['a &lt;b&gt; &amp; c', 'a <b> & c'],
  ['until <!date^1797426656^{date_long_pretty} at {time}|16 Dec 2026>.', 'until 16 Dec 2026.'],
  [':white_check_mark: Ready :unknown_emoji:', '✅ Ready :unknown_emoji:'],
  [
    'Launch it\n```aws ec2 run-instances --image-id *ami-1*```',
    'Launch it\n\n    aws ec2 run-instances --image-id *ami-1*',
  ],
])('reads %j as %j', (mrkdwn, text) => {
  expect(mrkdwnText(mrkdwn, names)).toBe(text);
});

it('reads a message by its blocks: sections, fields, context and buttons, else by its text', () => {
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: 'Your image' } },
    { type: 'section', text: { type: 'mrkdwn', text: '*Ready*' }, fields: [{ type: 'mrkdwn', text: '*AMI:* ami-1' }] },
    { type: 'divider' },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'compose `c1`' }] },
    { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Rebuild' } }] },
  ];
  expect(messageText({ text: 'fallback', blocks }, names)).toBe(
    'YOUR IMAGE\nReady\nAMI: ami-1\n────────\ncompose c1\n[ Rebuild ]',
  );
  expect(messageText({ text: '<@U1> *hi*' }, names)).toBe('@alice hi');
});
