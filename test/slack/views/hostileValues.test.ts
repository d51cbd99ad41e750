import type { ComposeOutcome } from '../../../src/compose/outcome';
import fc from 'fast-check';
import type { ResultDescription, SuggestedCommand } from '../../../src/providers';
import {
  blueprintListReply,
  composeStatusReply,
  recentBuildsReply,
  usageMessage,
} from '../../../src/slack/views/commandReplies';
import {
  parentMessage,
  resultMessage,
  statusMessage,
  type BuildView,
  type SlackMessage,
} from '../../../src/slack/views/threadMessages';
import { NOW, REQUESTER } from './fixtures';
import { assertSafeMarkup } from './mrkdwnSafety';
import { assertMessageWithinSlackLimits, SLACK_LIMITS, visibleTexts } from './slackLimits';

/*
 * Values from users and from the service end up in every message. Whatever they hold, they must not ping anyone,
 * open or break a link, close a code block early, or take a message over Slack's limits.
 */

const PINGS = ['<!channel>', '<!here>', '<!everyone>', '<@U999EVE>', '<!subteam^S123>', '<#C123|general>'];
// Right-to-left override and isolate, a right-to-left mark, a byte order mark, a tag character, an emoji's joiner.
const FORMAT = ['\u202e', '\u2067', '\u200f', '\ufeff', '\u{e0041}', '\u200d', '👩\u200d💻'];
const HOSTILE = [
  ...PINGS,
  ...FORMAT,
  '&',
  '&amp;',
  '<',
  '>',
  '>>>',
  '```',
  '````',
  '`',
  '|',
  '*',
  '_',
  '~',
  '\n',
  '\r\n',
  '\t',
  '\u2028',
  '<https://evil.example|click>',
];

/** Any text, weighted towards markup, repetition and length. */
const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc
    .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 3 })), { maxLength: 40 })
    .map((parts) => parts.join('')),
  fc
    .tuple(fc.constantFrom(...HOSTILE, 'a', 'é', '😀'), fc.integer({ min: 500, max: 5000 }))
    .map(([s, n]) => s.repeat(n)),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const anyUrl = fc.oneof(
  anyText,
  anyText.map((t) => `https://console.example.com/${t}`),
);

const anyView: fc.Arbitrary<BuildView> = fc.record({
  requesterId: fc.oneof(fc.constant(REQUESTER), fc.constant(''), anyText),
  providerLabel: anyText,
  distribution: anyText,
  architecture: anyText,
  imageName: maybe(anyText),
  shareSummary: anyText,
  composeId: maybe(anyText),
  phase: fc.constantFrom('submitting' as const, 'tracking' as const, 'rejected' as const),
  status: maybe(fc.oneof(anyText, fc.constantFrom('pending', 'building', 'uploading', 'success', 'failure'))),
  progress: maybe(fc.record({ done: fc.integer(), total: fc.integer() })),
  trouble: maybe(anyText),
});

const anyCommand: fc.Arbitrary<SuggestedCommand> = fc.record({ label: anyText, command: anyText });
const anyResult: fc.Arbitrary<ResultDescription> = fc.record({
  headline: anyText,
  summary: fc.array(fc.record({ label: anyText, value: anyText }), { maxLength: 30 }),
  consoleUrl: maybe(anyUrl),
  downloadUrl: maybe(anyUrl),
  launchCommands: fc.array(anyCommand, { maxLength: 8 }),
  copyCommands: fc.array(anyCommand, { maxLength: 8 }),
  expiresAt: maybe(fc.date()),
  lifetimeDays: maybe(fc.integer({ min: 0, max: 400 })),
});
const anyOutcome: fc.Arbitrary<ComposeOutcome> = fc.oneof(
  fc.record({ kind: fc.constant('success' as const), result: anyResult }),
  fc.record({ kind: fc.constant('failure' as const), reason: anyText, details: fc.array(anyText, { maxLength: 30 }) }),
  fc.record({ kind: fc.constant('rejected' as const), sentence: anyText, detail: maybe(anyText) }),
);

/** Within Slack's limits, and every text (blocks and notification) is markup the bot meant. */
function expectSafe(message: SlackMessage, requesterId: string) {
  assertMessageWithinSlackLimits(message);
  assertSafeMarkup([message.text, ...visibleTexts(message)], [requesterId]);
}

const runs = { numRuns: 300 };

describe('whatever users and the service put in a build', () => {
  it('the parent and status messages stay safe and within the limits', () => {
    fc.assert(
      fc.property(anyView, (view) => {
        expectSafe(parentMessage(view), view.requesterId);
        expectSafe(statusMessage(view), view.requesterId);
      }),
      runs,
    );
  });

  it('the result message stays safe and within the limits', () => {
    fc.assert(
      fc.property(anyView, anyOutcome, fc.date({ noInvalidDate: true }), (view, outcome, now) => {
        expectSafe(resultMessage(view, outcome, now), view.requesterId);
      }),
      runs,
    );
  });

  it('the status and list replies stay safe and within the limits', () => {
    fc.assert(
      fc.property(
        anyText,
        anyView,
        maybe(anyOutcome),
        fc.array(fc.record({ view: anyView, createdAt: fc.date(), threadUrl: maybe(anyUrl) }), { maxLength: 70 }),
        (composeId, view, outcome, builds) => {
          expectSafe(composeStatusReply(composeId, view, outcome, NOW), view.requesterId);
          const list = recentBuildsReply('/image-builder', builds, NOW);
          assertMessageWithinSlackLimits(list);
          assertSafeMarkup(
            [list.text, ...visibleTexts(list)],
            builds.map((b) => b.view.requesterId),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the blueprint list stays safe and within the limits whatever the service calls its blueprints', () => {
    const anyBlueprint = fc.record({
      name: anyText,
      version: fc.integer(),
      description: anyText,
      lastModifiedAt: maybe(fc.date()),
    });
    fc.assert(
      fc.property(fc.array(anyBlueprint, { maxLength: 120 }), fc.boolean(), (buildable, stale) => {
        const reply = blueprintListReply({ buildable, total: buildable.length, refreshedAt: NOW, stale }, NOW);
        assertMessageWithinSlackLimits(reply);
        assertSafeMarkup([reply.text, ...visibleTexts(reply)], []);
      }),
      { numRuns: 100 },
    );
  });

  it('the usage reply stays safe and within the limits whatever the note', () => {
    fc.assert(
      fc.property(anyText, (note) =>
        expectSafe(usageMessage('/image-builder', [{ id: 'aws', label: 'Amazon Web Services' }], note), ''),
      ),
      runs,
    );
  });
});

describe('a hostile value', () => {
  const view: BuildView = {
    requesterId: REQUESTER,
    providerLabel: 'Amazon Web Services',
    distribution: 'rhel-9 <!channel>',
    architecture: 'x86_64 & <@U999EVE>',
    imageName: 'name > with ``` fences |and pipes|',
    shareSummary: 'shared with <!here>',
    composeId: 'id`with`ticks',
    phase: 'tracking',
    status: '<!everyone> building',
  };

  it('shows as the text it is, without pinging anyone', () => {
    const message = parentMessage(view);
    const text = visibleTexts(message).join('\n');
    expect(text).toContain('*rhel-9 &lt;!channel&gt;* x86_64 &amp; &lt;@U999EVE&gt;');
    expect(text).toContain('“name &gt; with `\u200b`\u200b` fences |and pipes|”');
    expect(text).toContain('shared with &lt;!here&gt;');
    expect(message.text).not.toMatch(/<[!@]/);
    expectSafe(message, REQUESTER);
    const status = statusMessage(view);
    expect(visibleTexts(status).join('\n')).toContain(':grey_question: *&lt;!everyone&gt; building*');
    expect(status.text).not.toMatch(/<[!@]/);
    expectSafe(status, REQUESTER);
  });

  it('cannot close a code block early', () => {
    const command = 'echo ```<!channel>```` and `tick`';
    const message = resultMessage(
      view,
      {
        kind: 'success',
        result: { headline: 'h', summary: [], launchCommands: [{ label: 'Run', command }], copyCommands: [] },
      },
      NOW,
    );
    const section = visibleTexts(message)[1] ?? '';
    expect(section.match(/```/g)).toHaveLength(2);
    // What a person copies out of the block is the command, but for the zero-width spaces that keep fences apart.
    const copied = /```([\s\S]*)```/.exec(section)?.[1]?.replace(/\u200b/g, '');
    expect(copied).toBe('echo ```&lt;!channel&gt;```` and `tick`');
    expectSafe(message, REQUESTER);
  });

  it('cannot break out of a link', () => {
    const result: ResultDescription = {
      headline: 'h',
      summary: [],
      consoleUrl: 'https://console.example.com/x|<!channel>>"evil" label',
      launchCommands: [],
      copyCommands: [],
    };
    const text = visibleTexts(resultMessage(view, { kind: 'success', result }, NOW))[0] ?? '';
    expect(text).toContain('<https://console.example.com/x%7C%3C!channel%3E%3E%22evil%22%20label|Open in the console>');
  });

  it('does not make a link of anything but a web address', () => {
    const result: ResultDescription = {
      headline: 'h',
      summary: [],
      consoleUrl: 'javascript:alert(1)',
      launchCommands: [],
      copyCommands: [],
    };
    expect(visibleTexts(resultMessage(view, { kind: 'success', result }, NOW)).join('')).not.toContain('javascript');
  });

  it('that is very long is shortened on its own, so the status after it still shows', () => {
    const message = parentMessage({ ...view, distribution: '&'.repeat(5000) });
    expectSafe(message, REQUESTER);
    expect(visibleTexts(message)[0]).toContain('*In progress*');
    const settled = parentMessage({ ...view, distribution: '&'.repeat(5000), status: 'failure' });
    expect(visibleTexts(settled)[0]).toContain(':x: *Failed*');
  });

  it('in a very long command does not show a cut command but says it is too long', () => {
    const command = `curl -fLo image.qcow2 'https://example.com/${'a'.repeat(SLACK_LIMITS.sectionText)}'`;
    const message = resultMessage(
      view,
      {
        kind: 'success',
        result: { headline: 'h', summary: [], launchCommands: [], copyCommands: [{ label: 'Download it', command }] },
      },
      NOW,
    );
    expectSafe(message, REQUESTER);
    expect(visibleTexts(message).join('\n')).toContain('*Download it*\n_This command is too long to show in Slack._');
  });

  it('in the service’s refusal is quoted line by line and cannot end the quote or ping', () => {
    const message = resultMessage(
      view,
      { kind: 'rejected', sentence: 'Refused.', detail: 'line one <!channel>\n> not a quote\nline & three' },
      NOW,
    );
    expect(visibleTexts(message)[0]).toBe(
      `:no_entry: <@${REQUESTER}> Refused.\n>line one &lt;!channel&gt;\n>&gt; not a quote\n>line &amp; three`,
    );
    expectSafe(message, REQUESTER);
  });

  it('with a right-to-left override shows in the order it was written, emoji joined as they were', () => {
    const flipped: BuildView = {
      ...view,
      imageName: 'report\u202eexe.jpg 👩\u200d💻',
      distribution: 'rhel-9\u2067',
      shareSummary: 'AWS\u200f account',
    };
    const command = 'echo ``\u202e`';
    const result: ResultDescription = {
      headline: 'AMI \u202eami-1',
      summary: [],
      launchCommands: [{ label: 'Run', command }],
      copyCommands: [],
    };
    const messages = [
      parentMessage(flipped),
      statusMessage(flipped),
      resultMessage(flipped, { kind: 'success', result }, NOW),
    ];
    const texts = messages.flatMap((m) => [m.text, ...visibleTexts(m)]);

    expect(texts.join('\n')).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/);
    expect(texts.join('\n')).toContain('“reportexe.jpg 👩\u200d💻”');
    expect(texts.join('\n')).toContain('*rhel-9*');
    // The backticks are still kept apart, by zero-width spaces added after the override was taken out.
    expect(texts.join('\n')).toContain('```echo `\u200b`\u200b`\u200b```');
    for (const message of messages) expectSafe(message, REQUESTER);
  });

  it('as the requester id does not become a mention', () => {
    const message = resultMessage(
      { ...view, requesterId: 'U1>|<!channel' },
      { kind: 'failure', reason: 'r', details: [] },
      NOW,
    );
    expect(visibleTexts(message)[0]).toBe(':x: The build failed: *r*');
  });
});
