import fc from 'fast-check';
import type { types } from '@slack/bolt';
import { providers } from '../../../src/providers';
import { toBuildView } from '../../../src/slack/thread/projection';
import { HOME_LIST_MAX, homeView, type HomeBuild, type HomeInput } from '../../../src/slack/views/homeTab';
import type { BuildView } from '../../../src/slack/views/threadMessages';
import { buildRow, finishedRow, awsSuccess, NOW, REQUESTER } from './fixtures';
import { assertSafeMarkup } from './mrkdwnSafety';
import { modalLimitProblems, SLACK_LIMITS, visibleTexts } from './slackLimits';

/** The image wording of a cloud named `name`, for targets the tests make up. */
const cloudImage = (name: string) => ({
  one: `${name} image`,
  article: 'a' as const,
  many: `${name} images`,
  destination: { preposition: 'on', place: name },
});

/*
 * The App Home tab as a pure function of what the store knows: what each image shows, that the lists are cut with
 * a note that says how many were left out, that nothing users or the service wrote can break its markup, and that
 * it stays within Slack's limits.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A Home holds at most 100 blocks, as a modal does; the modal checker applies once the view has a title. */
const homeLimitProblems = (view: types.HomeView) =>
  modalLimitProblems({ ...view, type: 'modal', title: { type: 'plain_text', text: 'Home' } });

function build(overrides: Omit<Partial<HomeBuild>, 'view'> & { view?: Partial<BuildView> } = {}): HomeBuild {
  const { view, ...rest } = overrides;
  return {
    requestId: '0b7f2c1e-2222-4333-8444-555566667777',
    view: { ...toBuildView(finishedRow(awsSuccess())), ...view },
    createdAt: new Date(NOW.getTime() - 3 * HOUR),
    expiresAt: new Date(NOW.getTime() + 10 * DAY),
    imageId: 'ami-0abc1234def567890',
    ...rest,
  };
}

const many = (count: number, requesterId = REQUESTER): HomeBuild[] =>
  Array.from({ length: count }, (_, i) =>
    build({ requestId: `request-${i}`, createdAt: new Date(NOW.getTime() - (i + 1) * HOUR), view: { requesterId } }),
  );

function input(overrides: Partial<HomeInput> = {}): HomeInput {
  return { providers, mine: { builds: [] }, team: { builds: [] }, hasDefaults: false, now: NOW, ...overrides };
}

const blocksOf = (view: types.HomeView) => view.blocks as unknown as Record<string, unknown>[];
const sectionTexts = (view: types.HomeView) =>
  blocksOf(view)
    .filter((b) => b.type === 'section' && (b.accessory as { action_id?: string } | undefined)?.action_id === 'rebuild')
    .map((b) => (b.text as { text: string }).text);
const actionIds = (view: types.HomeView) =>
  [...JSON.stringify(view.blocks).matchAll(/"action_id":"([^"]+)"/g)].map((m) => m[1]);
const contextTexts = (view: types.HomeView) =>
  blocksOf(view)
    .filter((b) => b.type === 'context')
    .map((b) => visibleTexts([b]).join(' '));

describe('the App Home', () => {
  it('shows each image with its cloud, distribution, status, requester, age, expiry countdown, image id and a Rebuild button', () => {
    const view = homeView(input({ mine: { builds: [build()] }, team: { builds: [build()] } }));
    expect(homeLimitProblems(view)).toEqual([]);
    const [mine] = sectionTexts(view);
    expect(mine).toBe(
      `*Amazon Web Services* · rhel-9 x86_64 · Ready\n<@${REQUESTER}> 3 hours ago · :hourglass: expires in 10 days · \`ami-0abc1234def567890\``,
    );
    const rebuild = blocksOf(view).find((b) => b.type === 'section' && b.accessory)!.accessory;
    expect(rebuild).toEqual({
      type: 'button',
      action_id: 'rebuild',
      text: expect.objectContaining({ text: 'Rebuild' }),
      value: build().requestId,
    });
  });

  it('names the blueprint and version an image was built from', () => {
    const blueprint = { id: '6f0c2a1e-1111-4222-8333-444455556666', name: 'rhel9-golden', version: 5 };
    const row = finishedRow(awsSuccess(), { blueprint: { ...blueprint, targets: 'blueprint' } });
    const home = homeView(input({ mine: { builds: [build({ view: toBuildView(row) })] } }));
    expect(sectionTexts(home).join('\n')).toContain('rhel-9 x86_64 · rhel9-golden v5 · Ready');
  });

  it('shows a build in progress with its step, and says when it was asked for a moment ago', () => {
    const running = build({ view: toBuildView(buildRow()), createdAt: new Date(NOW.getTime() - 20_000) });
    delete running.expiresAt;
    delete running.imageId;
    const [text] = sectionTexts(homeView(input({ mine: { builds: [running] } })));
    expect(text).toBe(`*Amazon Web Services* · rhel-9 x86_64 · Building — step 3 of 7\n<@${REQUESTER}> just now`);
  });

  it('says an image the service has deleted is expired, and one about to go when it goes', () => {
    const texts = sectionTexts(
      homeView(
        input({
          mine: {
            builds: [
              build({ expiresAt: new Date(NOW.getTime() - DAY) }),
              build({ expiresAt: new Date(NOW.getTime() + 5 * HOUR) }),
              build({ expiresAt: new Date(Number.NaN) }),
            ],
          },
        }),
      ),
    );
    expect(texts[0]).toContain(':wastebasket: expired');
    expect(texts[0]).not.toContain('expires in');
    expect(texts[1]).toContain(':hourglass: expires in 5 hours');
    // A date that cannot be read is left out rather than shown as "Invalid Date".
    expect(texts[2]).not.toMatch(/expire|Invalid|NaN/);
  });

  it('shows a status it does not know as the service spelled it, escaped once', () => {
    const odd = build({ view: { ...toBuildView(buildRow()), status: '<@U123> & co', progress: undefined } });
    const [text] = sectionTexts(homeView(input({ mine: { builds: [odd] } })));
    expect(text!.split('\n')[0]).toBe('*Amazon Web Services* · rhel-9 x86_64 · &lt;@U123&gt; &amp; co');
  });

  it('links the image’s thread when it is known', () => {
    const [text] = sectionTexts(
      homeView(input({ mine: { builds: [build({ threadUrl: 'https://fake.slack.com/archives/C1/p1' })] } })),
    );
    expect(text).toContain('<https://fake.slack.com/archives/C1/p1|thread>');
  });

  it('offers a "New image" button per cloud, labelled as written', () => {
    const view = homeView(input({ providers: [...providers, { id: 'odd', image: cloudImage('R&D <lab> cloud') }] }));
    const buttons = blocksOf(view).find((b) => b.block_id === 'new_image')!.elements as {
      action_id: string;
      value: string;
      text: { text: string };
    }[];
    expect(buttons.map((b) => b.action_id)).toEqual([...providers.map((p) => `new_image:${p.id}`), 'new_image:odd']);
    expect(buttons.map((b) => b.value)).toEqual([...providers.map((p) => p.id), 'odd']);
    expect(buttons[0]!.text.text).toBe('New Amazon Web Services image');
    // plain_text is shown as given: escaping it would show "&amp;".
    expect(buttons.at(-1)!.text.text).toBe('New R&D <lab> cloud image');
  });

  it('says so when there are no images yet', () => {
    const view = homeView(input());
    expect(contextTexts(view)).toEqual(['You have not built any image yet.', 'Nobody has built an image yet.']);
    expect(homeLimitProblems(view)).toEqual([]);
  });

  it('offers to forget remembered entries only to someone who has some', () => {
    expect(actionIds(homeView(input()))).not.toContain('clear_defaults');
    const view = homeView(input({ hasDefaults: true }));
    expect(actionIds(view)).toContain('clear_defaults');
    expect(visibleTexts(view)).toContain('Forget my entries');
  });
});

describe('when the policy does not let the user request images', () => {
  const refusal = 'Only <@U0123ALICE> or people asking in <#C0789BUILDS> may request images (policy requesters).';
  const view = homeView(input({ refusal, mine: { builds: [build()] }, team: { builds: many(3) } }));

  it('says why, with the people and channels as Slack shows them', () => {
    expect(visibleTexts(view)).toContain(`:no_entry: ${refusal}`);
  });

  it('hides the New image buttons, and still lists the images', () => {
    expect(actionIds(view).filter((id) => id?.startsWith('new_image'))).toEqual([]);
    expect(sectionTexts(view)).toHaveLength(4);
    expect(homeLimitProblems(view)).toEqual([]);
  });

  it('shortens a long reason before a mention or channel, never inside one', () => {
    const long = `${'x'.repeat(1985)} <#C0789BUILDS|builds> and <@U0123ALICE>.`;
    const [, reason] = homeView(input({ refusal: long })).blocks;
    const text = (reason as types.SectionBlock).text!.text;
    expect(text).toBe(`:no_entry: ${'x'.repeat(1985)} …`);
  });
});

describe('with many images', () => {
  it(`shows the newest ${HOME_LIST_MAX} of each list, and how many it left out`, () => {
    const view = homeView(
      input({
        mine: { builds: many(90), total: 90 },
        team: { builds: many(120, 'U0BOB'), total: 120 },
        hasDefaults: true,
      }),
    );
    expect(view.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.modalBlocks);
    expect(homeLimitProblems(view)).toEqual([]);
    expect(sectionTexts(view)).toHaveLength(2 * HOME_LIST_MAX);
    expect(sectionTexts(view)[0]).toContain('1 hour ago');
    expect(contextTexts(view)).toEqual(['…and 50 older images, not shown.', '…and 80 older images, not shown.']);
    // Nothing the user needs is pushed off the end.
    expect(actionIds(view)).toContain('clear_defaults');
  });

  it('counts what the store holds beyond the images it was given', () => {
    const view = homeView(input({ mine: { builds: many(HOME_LIST_MAX), total: HOME_LIST_MAX + 1 } }));
    expect(contextTexts(view)[0]).toBe('…and 1 older image, not shown.');
  });

  it('says "more than" when the store was not read to the end', () => {
    const view = homeView(input({ team: { builds: many(HOME_LIST_MAX), total: 500, totalIsLowerBound: true } }));
    expect(contextTexts(view)).toContain('…and more than 460 older images, not shown.');
  });

  it('stays within the limits whatever the lists, the clouds and the policy hold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 40 }),
        fc.boolean(),
        fc.boolean(),
        (mine, team, clouds, hasDefaults, refused) => {
          const cloudList = Array.from({ length: clouds }, (_, i) => ({
            id: `cloud-${i}`,
            image: cloudImage(`Cloud ${'x'.repeat(i * 5)}`),
          }));
          const view = homeView(
            input({
              providers: cloudList,
              mine: { builds: many(Math.min(mine, 60)), total: mine },
              team: { builds: many(Math.min(team, 60)), total: team },
              hasDefaults,
              ...(refused ? { refusal: 'x'.repeat(5000) } : {}),
            }),
          );
          expect(homeLimitProblems(view)).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('whatever users and the service put in a build', () => {
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
    fc.tuple(fc.constantFrom(...HOSTILE, 'a', '😀'), fc.integer({ min: 500, max: 4000 })).map(([s, n]) => s.repeat(n)),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const anyBuild: fc.Arbitrary<HomeBuild> = fc.record(
    {
      requestId: fc.string({ minLength: 1, maxLength: 36 }),
      view: fc.record(
        {
          requesterId: fc.oneof(fc.constant(REQUESTER), fc.constant(''), anyText),
          providerLabel: anyText,
          distribution: anyText,
          architecture: anyText,
          shareSummary: anyText,
          phase: fc.constantFrom('submitting' as const, 'tracking' as const, 'rejected' as const),
          status: maybe(anyText),
          progress: maybe(fc.record({ done: fc.integer(), total: fc.integer() })),
        },
        { requiredKeys: ['requesterId', 'providerLabel', 'distribution', 'architecture', 'shareSummary', 'phase'] },
      ),
      createdAt: fc.date(),
      expiresAt: fc.date(),
      imageId: anyText,
      threadUrl: fc.oneof(
        anyText,
        anyText.map((t) => `https://fake.slack.com/${t}`),
      ),
    },
    { requiredKeys: ['requestId', 'view', 'createdAt'] },
  );

  it('cannot ping anyone, make a link or break the markup, and the Home stays within the limits', () => {
    fc.assert(
      fc.property(fc.array(anyBuild, { maxLength: 45 }), fc.array(anyBuild, { maxLength: 45 }), (mine, team) => {
        const view = homeView(input({ mine: { builds: mine }, team: { builds: team } }));
        expect(homeLimitProblems(view)).toEqual([]);
        // Requester ids come from Slack itself; mentioning them is meant. Nothing else may ping anyone.
        assertSafeMarkup(
          visibleTexts(view),
          [...mine, ...team].map((b) => b.view.requesterId),
        );
      }),
      { numRuns: 200 },
    );
  });
});
