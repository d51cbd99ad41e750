import fc from 'fast-check';
import { DEFAULT_LAUNCH_DEFAULTS, type ResultDescription, type SuggestedCommand } from '../../../src/providers';
import { outcomeOf, toBuildView } from '../../../src/slack/thread/projection';
import { expiryReminderMessage, type BuildView, type SlackMessage } from '../../../src/slack/views/threadMessages';
import type { BuildRequest } from '../../../src/store/store';
import { awsSuccess, finishedRow, REQUESTER } from './fixtures';
import { assertSafeMarkup } from './mrkdwnSafety';
import { messageLimitProblems, SLACK_LIMITS, visibleTexts } from './slackLimits';

/*
 * The reminder posted in a build's thread before Image Builder deletes the image: who it is for, when the image
 * goes, how to keep a copy, and a Rebuild button — within Slack's limits whatever the service said.
 */

/** Two days before the fixture AMI expires (its compose was created 2025-03-01T10:00:02Z; AMIs last 14 days). */
const TWO_DAYS_BEFORE = new Date('2025-03-13T10:00:02Z');
const EXPIRES_SECONDS = Date.parse('2025-03-15T10:00:02Z') / 1000;

const shown = (message: SlackMessage) => visibleTexts(message).join('\n');

function successOf(row: BuildRequest): ResultDescription {
  const outcome = outcomeOf(row, DEFAULT_LAUNCH_DEFAULTS);
  if (outcome?.kind !== 'success') throw new Error('the row is not a successful build');
  return outcome.result;
}

function rebuildButtons(message: SlackMessage) {
  return message.blocks.flatMap((block) =>
    block.type === 'actions' ? block.elements.filter((e) => e.type === 'button' && e.action_id === 'rebuild') : [],
  );
}

describe('the expiry reminder of an AMI', () => {
  const row = finishedRow(awsSuccess());
  const message = expiryReminderMessage(toBuildView(row), successOf(row), TWO_DAYS_BEFORE, row.id);
  const text = shown(message);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('mentions the requester once, and says when the image goes in each reader’s time zone and how soon', () => {
    expect(text.match(/<@[^>]+>/g)).toEqual([`<@${REQUESTER}>`]);
    expect(text).toContain(
      `:hourglass: <@${REQUESTER}> your image *AMI ami-0abc1234def567890 in us-east-1* will be deleted by Image Builder on ` +
        `<!date^${EXPIRES_SECONDS}^{date_long_pretty} at {time}|15 Mar 2025> (in 2 days).`,
    );
  });

  it('gives the command to copy the image into the user’s own account, in a code block', () => {
    expect(text).toContain('Copy it to your own account to keep it:');
    expect(text).toMatch(
      /\*Keep a copy in your account\*\n\*Copy it into your account to keep it\*\n```aws ec2 copy-image --source-image-id ami-0abc1234def567890 --source-region us-east-1 [^`]*```/,
    );
  });

  it('ends with a Rebuild button for this request', () => {
    expect(message.blocks.at(-1)).toMatchObject({
      type: 'actions',
      elements: [{ action_id: 'rebuild', value: row.id }],
    });
    expect(rebuildButtons(message)).toHaveLength(1);
  });

  it('has a notification text that says what goes when, without pinging anyone', () => {
    expect(message.text).toBe(
      'The rhel-9 x86_64 image on Amazon Web Services will be deleted in 2 days: AMI ami-0abc1234def567890 in us-east-1',
    );
  });
});

describe('the expiry reminder of an image the service gives no way to copy', () => {
  const row = finishedRow(awsSuccess());
  const message = expiryReminderMessage(
    toBuildView(row),
    { ...successOf(row), copyCommands: [] },
    TWO_DAYS_BEFORE,
    row.id,
  );

  it('suggests building it again, offers Rebuild, and shows no commands', () => {
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('Build it again if you still need it.');
    expect(shown(message)).not.toContain('```');
    expect(rebuildButtons(message)).toHaveLength(1);
  });
});

describe('the expiry reminder of a guest image', () => {
  it('gives the command to download it', () => {
    const url = 'https://image-builder-service-production.s3.amazonaws.com/composer-api-1.qcow2?X-Amz-Signature=abc';
    const row = finishedRow(
      { status: 'success', upload_status: { status: 'success', type: 'aws.s3', options: { url } } },
      { provider: 'guest-image' },
    );
    const message = expiryReminderMessage(toBuildView(row), successOf(row), new Date('2025-03-07T10:00:00Z'), row.id);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('(in 1 day)');
    expect(shown(message)).toContain(`\`\`\`curl -fLo rhel-9-x86_64-8d3c7f2e.qcow2 '${url}'\`\`\``);
  });
});

describe('an expiry reminder with nobody to mention', () => {
  it('reads as a sentence and pings nobody', () => {
    const row = finishedRow(awsSuccess());
    const view: BuildView = { ...toBuildView(row), requesterId: '' };
    const message = expiryReminderMessage(view, successOf(row), TWO_DAYS_BEFORE, row.id);
    expect(shown(message).startsWith(':hourglass: Your image *AMI')).toBe(true);
    expect(shown(message)).not.toContain('<@');
  });
});

describe('an expiry reminder whose expiry date cannot be read', () => {
  it('still reminds, says the image goes soon without an invalid date, and offers Rebuild', () => {
    const row = finishedRow(awsSuccess());
    const message = expiryReminderMessage(
      toBuildView(row),
      { ...successOf(row), expiresAt: new Date(Number.NaN) },
      TWO_DAYS_BEFORE,
      row.id,
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain(
      `:hourglass: <@${REQUESTER}> your image *AMI ami-0abc1234def567890 in us-east-1* will soon be deleted by Image Builder.`,
    );
    expect(`${message.text}\n${shown(message)}`).not.toMatch(/Invalid|NaN/);
    expect(message.text).toBe(
      'The rhel-9 x86_64 image on Amazon Web Services will soon be deleted: AMI ami-0abc1234def567890 in us-east-1',
    );
    expect(rebuildButtons(message)).toHaveLength(1);
  });
});

describe('an expiry reminder with more to say than Slack takes', () => {
  const row = finishedRow(awsSuccess());
  const base = successOf(row);

  it('keeps within 50 blocks and keeps the Rebuild button last', () => {
    const copyCommands = Array.from({ length: 200 }, (_, i) => ({
      label: `Copy ${i}`,
      command: `aws ec2 copy-image ${'x'.repeat(2500)} ${i}`,
    }));
    const message = expiryReminderMessage(toBuildView(row), { ...base, copyCommands }, TWO_DAYS_BEFORE, row.id);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.messageBlocks);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(message.blocks.at(-1)).toMatchObject({ type: 'actions', elements: [{ action_id: 'rebuild' }] });
  });

  it('says a command is too long to show rather than cutting it into another command', () => {
    const copyCommands = [{ label: 'Copy it', command: `aws ec2 copy-image ${'y'.repeat(4000)}` }];
    const message = expiryReminderMessage(toBuildView(row), { ...base, copyCommands }, TWO_DAYS_BEFORE, row.id);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('_This command is too long to show in Slack._');
    expect(shown(message)).not.toContain('yyyy');
  });
});

describe('whatever users and the service put in a reminder', () => {
  const HOSTILE = [
    '<!channel>',
    '<!here>',
    '<@U999EVE>',
    '<#C123|general>',
    '&',
    '&amp;',
    '<',
    '>',
    '```',
    '````',
    '`',
    '|',
    '*',
    '\n',
    '\u2028',
    '<https://evil.example|click>',
  ];
  const anyText: fc.Arbitrary<string> = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc
      .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 3 })), { maxLength: 40 })
      .map((parts) => parts.join('')),
    fc.tuple(fc.constantFrom(...HOSTILE, 'a', '😀'), fc.integer({ min: 500, max: 5000 })).map(([s, n]) => s.repeat(n)),
  );
  const anyCommand: fc.Arbitrary<SuggestedCommand> = fc.record({ label: anyText, command: anyText });
  const anyView: fc.Arbitrary<BuildView> = fc.record(
    {
      requesterId: fc.oneof(fc.constant(REQUESTER), fc.constant(''), anyText),
      providerLabel: anyText,
      distribution: anyText,
      architecture: anyText,
      shareSummary: anyText,
      phase: fc.constant('tracking' as const),
      status: fc.constant('success'),
    },
    { requiredKeys: ['requesterId', 'providerLabel', 'distribution', 'architecture', 'shareSummary', 'phase'] },
  );
  const anyResult: fc.Arbitrary<ResultDescription> = fc.record(
    {
      headline: anyText,
      summary: fc.array(fc.record({ label: anyText, value: anyText }), { maxLength: 10 }),
      launchCommands: fc.array(anyCommand, { maxLength: 5 }),
      copyCommands: fc.array(anyCommand, { maxLength: 60 }),
      expiresAt: fc.date({
        min: new Date('2025-03-01T12:00:00Z'),
        max: new Date('2025-04-01T00:00:00Z'),
        noInvalidDate: true,
      }),
    },
    { requiredKeys: ['headline', 'summary', 'launchCommands', 'copyCommands'] },
  );

  it('cannot ping anyone but the requester, make a link or break the markup, and stays within the limits', () => {
    fc.assert(
      fc.property(anyView, anyResult, (view, result) => {
        const message = expiryReminderMessage(
          view,
          result,
          new Date('2025-03-01T12:00:00Z'),
          '0b7f2c1e-2222-4333-8444-555566667777',
        );
        expect(messageLimitProblems(message)).toEqual([]);
        assertSafeMarkup([message.text, ...visibleTexts(message)], [view.requesterId]);
        expect(rebuildButtons(message)).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});
