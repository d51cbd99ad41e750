import { DEFAULT_LAUNCH_DEFAULTS, providers } from '../../../src/providers';
import { outcomeOf, toBuildView } from '../../../src/slack/thread/projection';
import {
  blueprintListReply,
  composeStatusReply,
  recentBuildsReply,
  usageMessage,
  type BlueprintRow,
  type RecentBuild,
} from '../../../src/slack/views/commandReplies';
import { awsSuccess, buildRow, COMPOSE_ID, finishedRow, NOW, REQUESTER } from './fixtures';
import { messageLimitProblems, visibleTexts } from './slackLimits';

const shown = (message: { blocks: unknown }) => visibleTexts(message).join('\n');

describe('the usage reply', () => {
  const message = usageMessage('/image-builder', providers);

  it('is within Slack’s limits', () => {
    expect(messageLimitProblems(message)).toEqual([]);
  });

  it('lists a build command for every cloud and the other commands', () => {
    const text = shown(message);
    for (const provider of providers) expect(text).toContain(`\`/image-builder ${provider.id}\` — ${provider.label}`);
    expect(text).toContain('`/image-builder list`');
    expect(text).toContain('`/image-builder blueprints` — the organisation’s blueprints you may build here');
    expect(text).toContain('`/image-builder help`');
  });

  it('shows the <compose-id> placeholder escaped, so Slack does not swallow it as markup', () => {
    expect(shown(message)).toContain('`/image-builder status &lt;compose-id&gt;` — where a build is now');
  });

  it('uses the command’s own name, as installed', () => {
    const renamed = usageMessage('/ib', providers);
    expect(renamed.text).toBe('How to use /ib');
    expect(shown(renamed)).toContain('`/ib aws`');
  });

  it('starts with the note about an unknown word, escaped', () => {
    const noted = usageMessage('/image-builder', providers, 'I don’t know “<!here>”.');
    expect(shown(noted).startsWith('I don’t know “&lt;!here&gt;”.\n')).toBe(true);
    expect(messageLimitProblems(noted)).toEqual([]);
  });

  it('lists every cloud, however many, in sections that each fit Slack’s limit', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({
      id: `cloud-${i}`,
      label: `Cloud number ${i} ${'with a long name '.repeat(4)}`,
    }));
    const long = usageMessage('/image-builder', many);
    expect(messageLimitProblems(long)).toEqual([]);
    expect(long.blocks.length).toBeGreaterThan(1);
    const text = shown(long);
    for (const cloud of many) expect(text).toContain(`\`/image-builder ${cloud.id}\` — ${cloud.label.trim()}`);
    expect(text).toContain('`/image-builder help` — this message');
  });
});

describe('the status reply', () => {
  it('shows where a running compose is, with its step', () => {
    const view = toBuildView(buildRow());
    const message = composeStatusReply(COMPOSE_ID, view, undefined, NOW);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toBe(`Compose \`${COMPOSE_ID}\`: :hammer_and_wrench: *Building* — step 3 of 7`);
    expect(message.text).toBe(`Compose ${COMPOSE_ID}: Building — step 3 of 7`);
  });

  it('adds the result of a finished compose', () => {
    const row = finishedRow(awsSuccess());
    const message = composeStatusReply(COMPOSE_ID, toBuildView(row), outcomeOf(row, DEFAULT_LAUNCH_DEFAULTS), NOW);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('*Ready*');
    expect(shown(message)).toContain('```aws ec2 run-instances');
  });

  it('does not mention anyone for a compose the bot does not know the requester of', () => {
    const row = finishedRow(awsSuccess());
    const view = { ...toBuildView(row), requesterId: '' };
    const message = composeStatusReply(COMPOSE_ID, view, outcomeOf(row, DEFAULT_LAUNCH_DEFAULTS), NOW);
    expect(shown(message)).not.toContain('<@');
    expect(shown(message)).toContain('Your image is ready');
  });
});

describe('the list of recent builds', () => {
  const build = (i: number): RecentBuild => ({
    view: toBuildView(buildRow({ distribution: `rhel-9.${i}`, status: i % 2 ? 'success' : 'building' })),
    createdAt: new Date(NOW.getTime() - (i + 1) * 3_600_000),
    threadUrl: `https://example.slack.com/archives/C012BUILDS/p17000000000${i}`,
  });

  it('says there are none yet', () => {
    const message = recentBuildsReply('/image-builder', [], NOW);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(shown(message)).toContain('No builds yet');
  });

  it('names the slash command the workspace uses in its hint', () => {
    expect(shown(recentBuildsReply('/images', [], NOW))).toContain('Try `/images aws`');
  });

  it('shows each build: what, by whom, how long ago, its status, compose id and thread', () => {
    const message = recentBuildsReply('/image-builder', [build(0)], NOW);
    expect(messageLimitProblems(message)).toEqual([]);
    expect(visibleTexts(message)[1]).toBe(
      `*rhel-9.0* x86_64 on Amazon Web Services by <@${REQUESTER}>, 1 hour ago\n` +
        `:hammer_and_wrench: *Building* — step 3 of 7 · \`${COMPOSE_ID}\` · <https://example.slack.com/archives/C012BUILDS/p170000000000|thread>`,
    );
    expect(message.text).toBe('1 recent build');
  });

  it('names the blueprint and version a build was made from', () => {
    const blueprint = { id: '6f0c2a1e-1111-4222-8333-444455556666', name: 'rhel9-golden', version: 5 };
    const row = buildRow({ blueprint: { ...blueprint, targets: 'blueprint' } });
    const message = recentBuildsReply('/image-builder', [{ ...build(0), view: toBuildView(row) }], NOW);
    expect(visibleTexts(message)[1]).toMatch(/^\*rhel-9\* x86_64 of \*rhel9-golden v5\* on Amazon Web Services/);
  });

  it('stays within 50 blocks with 60 builds and says how many it left out', () => {
    const message = recentBuildsReply(
      '/image-builder',
      Array.from({ length: 60 }, (_, i) => build(i)),
      NOW,
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(message.blocks).toHaveLength(50);
    expect(shown(message)).toContain('…and 12 older, not shown.');
    expect(message.text).toBe('48 recent builds');
  });

  it('shows exactly 49 builds without a note', () => {
    const message = recentBuildsReply(
      '/image-builder',
      Array.from({ length: 49 }, (_, i) => build(i)),
      NOW,
    );
    expect(messageLimitProblems(message)).toEqual([]);
    expect(message.blocks).toHaveLength(50);
    expect(shown(message)).not.toContain('not shown');
  });

  it('leaves out a thread link that is not a web link', () => {
    const message = recentBuildsReply('/image-builder', [{ ...build(0), threadUrl: 'javascript:alert(1)' }], NOW);
    expect(shown(message)).not.toContain('thread');
    expect(shown(message)).not.toMatch(/ · $/m);
  });
});

describe('the blueprint list', () => {
  const HOUR = 60 * 60 * 1000;
  const row = (name: string, overrides: Partial<BlueprintRow> = {}): BlueprintRow => ({
    name,
    version: 3,
    description: `The ${name} image`,
    lastModifiedAt: new Date(NOW.getTime() - 3 * 24 * HOUR),
    ...overrides,
  });
  const fresh = { refreshedAt: new Date(NOW.getTime() - 60_000), stale: false };

  it('shows each blueprint with its version, when it last changed and its description', () => {
    const reply = blueprintListReply(
      { buildable: [row('rhel9-golden'), row('web-base', { version: 12 })], total: 3, ...fresh },
      NOW,
    );
    expect(messageLimitProblems(reply)).toEqual([]);
    expect(reply.text).toBe('2 blueprints');
    const text = shown(reply);
    expect(text).toContain('*rhel9-golden* v3 · changed 3 days ago\nThe rhel9-golden image');
    expect(text).toContain('*web-base* v12');
    expect(text).not.toContain('could not be asked');
  });

  it('shortens a long description and escapes what the service wrote', () => {
    const reply = blueprintListReply(
      { buildable: [row('<!channel>', { description: `${'x'.repeat(500)} <@U0123ABCD>` })], total: 1, ...fresh },
      NOW,
    );
    const text = shown(reply);
    expect(text).toContain('*&lt;!channel&gt;*');
    expect(text).toMatch(/x{150,199}…/);
    expect(text).not.toContain('<@U0123ABCD>');
  });

  it('says how old the list is when Image Builder could not be asked lately', () => {
    const reply = blueprintListReply(
      { buildable: [row('rhel9-golden')], total: 1, refreshedAt: new Date(NOW.getTime() - 2 * HOUR), stale: true },
      NOW,
    );
    expect(shown(reply)).toContain('Image Builder could not be asked lately; this list is from 2 hours ago.');
  });

  it('says the list is not available yet before Image Builder first answered', () => {
    const reply = blueprintListReply({ buildable: [], total: 0, stale: true }, NOW);
    expect(shown(reply)).toContain('The list of blueprints is not available yet');
  });

  it('tells an empty organisation from one whose blueprints this channel may not build', () => {
    expect(shown(blueprintListReply({ buildable: [], total: 0, ...fresh }, NOW))).toContain(
      'The organisation has no blueprints yet',
    );
    expect(shown(blueprintListReply({ buildable: [], total: 4, ...fresh }, NOW))).toContain(
      'None of the organisation’s 4 blueprints may be built here.',
    );
  });

  it('shows as many blueprints as fit in one message and says how many more there are', () => {
    const many = Array.from({ length: 150 }, (_, i) => row(`bp-${i}`, { description: 'd'.repeat(300) }));
    for (const stale of [false, true]) {
      const reply = blueprintListReply({ buildable: many, total: 150, refreshedAt: fresh.refreshedAt, stale }, NOW);
      expect(messageLimitProblems(reply)).toEqual([]);
      const text = shown(reply);
      const listed = many.filter((b) => text.includes(`*${b.name}*`)).length;
      expect(listed).toBeGreaterThan(40);
      expect(text).toContain(`…and ${150 - listed} more, not shown.`);
      expect(reply.text).toBe('150 blueprints');
    }
  });
});
