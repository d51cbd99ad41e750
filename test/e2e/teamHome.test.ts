import { randomUUID } from 'node:crypto';
import { isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import { DEFAULT_BUILD_ERROR } from '../fakes/imageBuilderService';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { appHomeOpenedEvent, blockActionsBody, eventCallbackBody, type FillValue } from '../support/slackRequests';
import { awsSuccess, composeRequestFor } from '../slack/views/fixtures';
import { modalLimitProblems, SLACK_LIMITS, visibleTexts } from '../slack/views/slackLimits';
import { aws } from '../../src/providers/aws';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * App Home, end to end: what a person sees when they open the app's Home tab after the team has built images, what
 * its buttons do, and that it stays within Slack's limits however many builds the store holds.
 */

const harness = useHarness();
let h: Harness;
async function start(options: HarnessOptions = {}): Promise<void> {
  h = await harness.start(options);
}

/** The app's clock, which a test moves forward to see ages and countdowns as a person would later on. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };
beforeEach(() => {
  offsetMs = 0;
});

const HOUR = 3_600_000;
const QUICK = ['pending', 'success'] as const;

/** Opens `user`'s Home tab and returns the view the app published, once it has (again). */
async function openHome(user: string): Promise<SlackView> {
  const published = h.slack.callsTo('views.publish').length;
  const answer = await h.post(eventCallbackBody(appHomeOpenedEvent(user)));
  expect(answer.status).toBe(200);
  const call = await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'views.publish')[published], {
    description: `the Home of ${user} to be published`,
  });
  // The fake refuses what Slack would refuse; a refused Home is one nobody sees.
  expect(call.response.body).toMatchObject({ ok: true });
  return h.slack.homeView(user)!;
}

const sectionText = (block: JsonObject) => (isObject(block.text) ? String(block.text.text) : '');

/** The Home's image lists: each image's text and its Rebuild button's value, and the list's closing note. */
function homeLists(view: SlackView) {
  const blocks = view.blocks.filter(isObject);
  const listAfter = (title: string) => {
    const start = blocks.findIndex((b) => b.type === 'header' && isObject(b.text) && b.text.text === title);
    if (start < 0) throw new Error(`the Home has no list "${title}"`);
    const end = blocks.findIndex((b, i) => i > start && b.type === 'divider');
    const items = blocks.slice(start + 1, end < 0 ? undefined : end);
    return {
      images: items
        .filter((b) => b.type === 'section')
        .map((b) => ({
          text: sectionText(b),
          rebuild: isObject(b.accessory) && b.accessory.action_id === 'rebuild' ? String(b.accessory.value) : undefined,
        })),
      note: items
        .filter((b) => b.type === 'context')
        .map((b) => visibleTexts([b]).join(' '))
        .join(' '),
    };
  };
  return { mine: listAfter('My images'), team: listAfter('The team’s recent images') };
}

/** Slack's modal checker, applied to a Home (it has the same 100-block budget; only the title is the modal's own). */
const homeLimitProblems = (view: SlackView) =>
  modalLimitProblems({ type: 'modal', title: { type: 'plain_text', text: 'Home' }, blocks: view.blocks });

/** The threads of a channel (a U… id: the bot's DM with that user), oldest first. */
function threads(channel: string) {
  const messages = h.slack.messages(channel);
  return messages
    .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
    .map((parent) => ({ parent, replies: messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) }));
}

/** The `index`th thread of `channel` once its result (the reply with a Rebuild button, or a refusal) is posted. */
function finished(channel: string, index: number): Promise<{ parent: FakeSlackMessage; replies: FakeSlackMessage[] }> {
  return h.slack.waitFor(
    () => {
      const thread = threads(channel)[index];
      return thread && thread.replies.length >= 2 ? thread : undefined;
    },
    { timeoutMs: 15_000, description: `thread ${index + 1} in ${channel} to finish` },
  );
}

function newModal(before: number): Promise<SlackView> {
  return h.slack.waitFor(() => h.slack.views()[before], { description: `modal number ${before + 1} to open` });
}

async function orderImage(cloud: string, fills: Record<string, FillValue>, user = 'U1', channel = 'C1') {
  const opened = h.slack.views().length;
  await h.command(cloud, { user_id: user, channel_id: channel });
  const answer = await h.submitModal(fills, user, await newModal(opened));
  expect(answer.text).toBe('');
}

/** Presses a button in `user`'s Home as it is now. */
async function pressInHome(user: string, actionId: string, blockId?: string) {
  const view = h.slack.homeView(user);
  if (!view) throw new Error(`${user} has no Home`);
  const answer = await h.post(blockActionsBody({ user, actionId, ...(blockId ? { blockId } : {}), source: { view } }));
  expect(answer.status).toBe(200);
}

/** The block id of the image in `user`'s Home whose Rebuild button rebuilds `requestId`. */
function rebuildBlockId(user: string, requestId: string): string {
  const block = h.slack
    .homeView(user)!
    .blocks.find(
      (b): b is JsonObject =>
        isObject(b) && isObject(b.accessory) && b.accessory.action_id === 'rebuild' && b.accessory.value === requestId,
    );
  if (!block) throw new Error(`no Rebuild button for ${requestId} in the Home of ${user}`);
  return String(block.block_id);
}

const AWS = { distribution: 'rhel-9', share_with_accounts: '123456789012' };

describe('App Home', () => {
  it('lists my images newest first with cloud, distribution, status, age, expiry and AMI, and the team’s, each with Rebuild', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', AWS, 'U1');
    await finished('C1', 0);
    await orderImage('gcp', { distribution: 'rhel-10', share_with: 'user:bob@example.com' }, 'U2');
    await finished('C1', 1);
    h.imageBuilder.script('next', ['pending', { status: 'failure', error: DEFAULT_BUILD_ERROR }]);
    await orderImage('aws', { ...AWS, distribution: 'centos-9' }, 'U1');
    await finished('C1', 2);
    const [failed, gcp, ami] = await h.store().listNewest({ limit: 10 });

    offsetMs = 2 * HOUR;
    const home = await openHome('U1');
    expect(homeLimitProblems(home)).toEqual([]);
    const { mine, team } = homeLists(home);

    expect(mine.images.map((i) => i.rebuild)).toEqual([failed!.id, ami!.id]);
    expect(mine.images[0]!.text).toContain('*Amazon Web Services* · centos-9 x86_64 · Failed');
    expect(mine.images[0]!.text).toContain('<@U1> 2 hours ago');
    const [, built] = mine.images;
    expect(built!.text).toContain('*Amazon Web Services* · rhel-9 x86_64 · Ready');
    expect(built!.text).toContain('2 hours ago');
    // The service deletes AMIs 14 days after the build; two hours have gone by.
    expect(built!.text).toMatch(/:hourglass: expires in (13|14) days/);
    expect(built!.text).toMatch(/`ami-[0-9a-f]+`/);
    expect(mine.note).toBe('');

    expect(team.images.map((i) => i.rebuild)).toEqual([failed!.id, gcp!.id, ami!.id]);
    expect(team.images[1]!.text).toContain('*Google Cloud* · rhel-10 x86_64 · Ready');
    expect(team.images[1]!.text).toContain('<@U2>');

    // Someone who has built nothing sees the team's images and an empty list of their own.
    const other = homeLists(await openHome('U3'));
    expect(other.mine.images).toEqual([]);
    expect(other.mine.note).toContain('You have not built any image yet.');
    expect(other.team.images).toHaveLength(3);
  });

  it('shows each person the team’s builds from public channels and their own, never others’ private ones nor their download links', async () => {
    await start({
      clock,
      imageBuilder: { script: [...QUICK] },
      slack: { channels: { C0PRIVATE: 'private-member', C0SECRET: 'private' } },
    });
    await orderImage('aws', AWS, 'U1', 'C1');
    await finished('C1', 0);
    await orderImage('guest-image', { distribution: 'rhel-9' }, 'U1', 'C1');
    await finished('C1', 1);
    // A private channel the bot is in, and one it is not in (followed in a DM with the requester).
    await orderImage('aws', { ...AWS, share_with_accounts: '999988887777' }, 'U2', 'C0PRIVATE');
    await finished('C0PRIVATE', 0);
    await orderImage('gcp', { distribution: 'rhel-10', share_with: 'user:carol@example.com' }, 'U3', 'C0SECRET');
    await finished('U3', 0);
    const [dm, privateOne, guest, publicOne] = await h.store().listNewest({ limit: 10 });
    expect([dm, privateOne, guest, publicOne].map((r) => r!.threadChannelKind)).toEqual([
      'dm',
      'private',
      'public',
      'public',
    ]);
    const downloadLink = JSON.parse(guest!.finalImageStatus!).upload_status.options.url as string;

    const outsider = await openHome('U4');
    expect(homeLimitProblems(outsider)).toEqual([]);
    const seen = homeLists(outsider);
    expect(seen.team.images.map((i) => i.rebuild)).toEqual([guest!.id, publicOne!.id]);
    expect(seen.team.note).toBe('');
    const shown = JSON.stringify(outsider.blocks);
    expect(shown).not.toContain('<@U2>');
    expect(shown).not.toContain('<@U3>');
    // The guest image is listed, but its presigned link is its requester's alone.
    expect(shown).not.toContain(downloadLink.slice(0, 40));
    expect(shown).not.toContain('X-Amz-Signature');

    const requester = homeLists(await openHome('U2'));
    expect(requester.mine.images.map((i) => i.rebuild)).toEqual([privateOne!.id]);
    expect(requester.team.images.map((i) => i.rebuild)).toEqual([privateOne!.id, guest!.id, publicOne!.id]);
    const own = homeLists(await openHome('U1'));
    expect(own.mine.images[0]!.text).toContain(downloadLink.slice(0, 40));
  });

  it('counts a build as private when Slack will not say its channel is public (channels:read not granted)', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    h.slack.on('conversations.info', {
      ok: false,
      error: 'missing_scope',
      needed: 'channels:read',
      provided: 'chat:write,commands',
    });
    await orderImage('aws', AWS, 'U1', 'C1');
    await finished('C1', 0);
    const [row] = await h.store().listNewest({ limit: 1 });
    expect(row).toMatchObject({ threadChannelId: 'C1', threadChannelKind: null });

    expect(homeLists(await openHome('U2')).team.images).toEqual([]);
    expect(homeLists(await openHome('U1')).mine.images.map((i) => i.rebuild)).toEqual([row!.id]);
  });

  it('stays within Slack’s limits with 120 builds in the store, and says how many images it left out', async () => {
    await start({ clock });
    const now = clock.now();
    for (let i = 0; i < 120; i++) {
      const createdAt = new Date(now.getTime() - (i + 1) * HOUR);
      const requesterId = i % 4 === 3 ? 'U2' : 'U1';
      const { request } = await h.store().insert({
        id: randomUUID(),
        idempotencyKey: `V-bulk-${i}`,
        requesterId,
        channelId: 'C1',
        responseUrl: null,
        provider: 'aws',
        distribution: 'rhel-9',
        architecture: 'x86_64',
        imageName: `build-${i}`,
        shareSummary: 'shared with AWS account 123456789012',
        composeRequest: composeRequestFor(aws),
        createdAt,
      });
      // In the same turn as the insert, so the tracker never sees the row unfinished.
      await h.store().update(request.id, {
        state: 'done',
        threadChannelId: 'C1',
        threadChannelKind: 'public',
        composeId: randomUUID(),
        status: 'success',
        finalImageStatus: JSON.stringify(
          awsSuccess({ ami: `ami-${String(i).padStart(17, '0')}`, region: 'us-east-1' }),
        ),
        submittedAt: createdAt,
        finishedAt: createdAt,
        expiresAt: new Date(createdAt.getTime() + 14 * 24 * HOUR),
        reminderTs: 'none',
        expiredNotedAt: createdAt,
      });
    }

    const home = await openHome('U1');
    expect(home.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.modalBlocks);
    expect(homeLimitProblems(home)).toEqual([]);
    const { mine, team } = homeLists(home);
    // U1 has 90 of the 120; the newest (an hour old) comes first.
    expect(mine.images[0]!.text).toContain('1 hour ago');
    expect(mine.images).toHaveLength(40);
    expect(mine.note).toBe('…and 50 older images, not shown.');
    expect(team.images).toHaveLength(40);
    expect(team.note).toBe('…and 80 older images, not shown.');
  });

  it('opens the cloud’s form from "New image", saying the build is followed in a DM, and follows it there', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    await openHome('U1');
    const opened = h.slack.views().length;
    await pressInHome('U1', 'new_image:aws');
    const modal = await newModal(opened);
    expect(modal.title).toMatchObject({ text: 'AWS image' });
    expect(modalLimitProblems(modal)).toEqual([]);
    const intro = visibleTexts(modal.blocks.slice(0, 1)).join(' ');
    expect(intro).toContain('I will follow the build in a thread in your direct messages with me');
    expect(intro).not.toContain('channel');

    const answer = await h.submitModal(AWS, 'U1', modal);
    expect(answer.text).toBe('');
    const { parent, replies } = await finished('U1', 0);
    expect(parent.channel).toBe(h.slack.dmChannel('U1'));
    expect(`${parent.text}`).toContain('rhel-9 x86_64 image on Amazon Web Services');
    expect(JSON.stringify(replies.at(-1)!.blocks)).toContain('your image is ready');
    expect(h.slack.messages('C1')).toEqual([]);
    const [row] = await h.store().listNewest({ limit: 1 });
    expect(row).toMatchObject({ requesterId: 'U1', channelId: 'U1', threadChannelId: h.slack.dmChannel('U1') });
    expect(h.slack.problems).toEqual([]);
  });

  it('rebuilds someone else’s image from the team’s list in a DM with whoever pressed Rebuild', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', AWS, 'U1');
    await finished('C1', 0);
    const [original] = await h.store().listNewest({ limit: 1 });

    await openHome('U2');
    const opened = h.slack.views().length;
    await pressInHome('U2', 'rebuild', rebuildBlockId('U2', original!.id));
    const modal = await newModal(opened);
    await h.submitModal({ share_with_accounts: '210987654321' }, 'U2', modal);

    const rebuilt = await finished('U2', 0);
    expect(rebuilt.parent.text).toContain('rhel-9 x86_64 image on Amazon Web Services');
    const [row] = await h.store().listNewest({ limit: 1 });
    expect(row).toMatchObject({
      requesterId: 'U2',
      rebuiltFrom: original!.id,
      threadChannelId: h.slack.dmChannel('U2'),
    });
    // Nothing was posted in the channel in U2's name; the old thread only links the rebuild.
    expect(threads('C1')).toHaveLength(1);
    await eventually(
      () => threads('C1')[0]!.replies.some((m) => JSON.stringify(m.blocks).includes('<@U2> rebuilt this')),
      {
        description: 'the old thread to link the rebuild',
      },
    );
    // And U1's DM saw nothing of it.
    expect(h.slack.messages('U1')).toEqual([]);
  });

  it('does not list an image followed in someone else’s DM, and rebuilds one (from an older Home) in the presser’s own DM', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    await openHome('U1');
    let opened = h.slack.views().length;
    await pressInHome('U1', 'new_image:aws');
    await h.submitModal(AWS, 'U1', await newModal(opened));
    await finished('U1', 0);
    const [original] = await h.store().listNewest({ limit: 1 });
    expect(homeLists(await openHome('U2')).team.images).toEqual([]);

    // A Home published before builds were hidden (here U1's, which lists it the same way) still has its button.
    const olderHome = await openHome('U1');
    opened = h.slack.views().length;
    await h.post(
      blockActionsBody({
        user: 'U2',
        actionId: 'rebuild',
        blockId: rebuildBlockId('U1', original!.id),
        source: { view: olderHome },
      }),
    );
    await h.submitModal({ share_with_accounts: '210987654321' }, 'U2', await newModal(opened));
    await finished('U2', 0);
    expect(threads('U1')).toHaveLength(1);
    // U1's DM is U1's alone: nothing there names who rebuilt the image.
    expect(JSON.stringify(h.slack.messages('U1'))).not.toContain('<@U2>');
  });

  it('says who rebuilt an image only in a thread they can see, and never links a channel’s thread to a DM', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] }, slack: { channels: { C0PRIVATE: 'private-member' } } });
    await orderImage('aws', AWS, 'U1', 'C1');
    await finished('C1', 0);
    await orderImage('aws', AWS, 'U1', 'C0PRIVATE');
    await finished('C0PRIVATE', 0);
    const [inPrivate, inPublic] = await h.store().listNewest({ limit: 2 });

    // From App Home (a Home published before private builds were hidden lists both), into U2's DM.
    const olderHome = await openHome('U1');
    for (const [index, original] of [inPublic!, inPrivate!].entries()) {
      const opened = h.slack.views().length;
      await h.post(
        blockActionsBody({
          user: 'U2',
          actionId: 'rebuild',
          blockId: rebuildBlockId('U1', original.id),
          source: { view: olderHome },
        }),
      );
      await h.submitModal({ share_with_accounts: '210987654321' }, 'U2', await newModal(opened));
      await finished('U2', index);
    }

    // The public thread says who rebuilt it, with no link: U2's DM is not for the channel to open.
    const note = await eventually(
      () => threads('C1')[0]!.replies.find((m) => JSON.stringify(m.blocks).includes('rebuilt this')),
      {
        description: 'the public thread to say who rebuilt it',
      },
    );
    expect(visibleTexts(note.blocks ?? []).join(' ')).toContain('<@U2> rebuilt this.');
    expect(JSON.stringify(note)).not.toContain(h.slack.dmChannel('U2'));
    expect(h.slack.callsTo('chat.getPermalink')).toEqual([]);
    // U2 is not in the private channel: its thread does not name them.
    expect(JSON.stringify(h.slack.messages('C0PRIVATE'))).not.toContain('<@U2>');
  });

  it('does not let a Rebuild in App Home ask "in" a channel the policy lets people ask in, while one in that channel’s thread may', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] }, policy: 'requesters:\n  channels: [C0789BUILDS]\n' });
    await orderImage('aws', AWS, 'U1', 'C0789BUILDS');
    const { replies } = await finished('C0789BUILDS', 0);
    const [original] = await h.store().listNewest({ limit: 1 });

    await openHome('U2');
    let opened = h.slack.views().length;
    await pressInHome('U2', 'rebuild', rebuildBlockId('U2', original!.id));
    const refusal = await newModal(opened);
    expect(refusal.title).toMatchObject({ text: 'Not allowed' });
    expect(visibleTexts(refusal).join('\n')).toContain('people asking in <#C0789BUILDS>');

    // In the channel's thread, U2 is asking in the channel.
    opened = h.slack.views().length;
    const result = replies.at(-1)!;
    await h.post(
      blockActionsBody({
        user: 'U2',
        actionId: 'rebuild',
        source: { message: result, responseUrl: h.slack.responseUrl('rebuild') },
      }),
    );
    const form = await newModal(opened);
    expect(form.title).toMatchObject({ text: 'AWS image' });
    await h.submitModal({ share_with_accounts: '210987654321' }, 'U2', form);
    await finished('C0789BUILDS', 1);
    const audit = await h.store().listAudit(new Date(0));
    expect(audit.filter((e) => e.kind === 'refused').map((e) => [e.actorId, e.detail.entryPoint])).toEqual([
      ['U2', 'rebuild button'],
    ]);
  });

  it('offers "Forget my entries" once the user has some, and re-publishes without it when pressed', async () => {
    await start({ clock, imageBuilder: { script: [...QUICK] } });
    const forgetButton = (view: SlackView) => JSON.stringify(view.blocks).includes('"action_id":"clear_defaults"');
    expect(forgetButton(await openHome('U1'))).toBe(false);

    await orderImage('aws', { ...AWS, distribution: 'centos-9', architecture: 'aarch64' }, 'U1');
    await eventually(() => h.store().getDefaults('U1', 'aws'), { description: 'the entries to be remembered' });
    const home = await openHome('U1');
    expect(forgetButton(home)).toBe(true);
    expect(visibleTexts(home).join('\n')).toContain('Forms are pre-filled with what you last entered');

    const published = h.slack.callsTo('views.publish').length;
    await pressInHome('U1', 'clear_defaults');
    await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'views.publish')[published], {
      description: 'the Home to be re-published',
    });
    expect(forgetButton(h.slack.homeView('U1')!)).toBe(false);
    expect(await h.store().getDefaults('U1', 'aws')).toBeUndefined();

    const opened = h.slack.views().length;
    await h.command('aws', { user_id: 'U1' });
    const modal = await newModal(opened);
    const initial = (blockId: string) => {
      const block = modal.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === blockId);
      const element = block!.element as JsonObject;
      return isObject(element.initial_option) ? element.initial_option.value : element.initial_value;
    };
    // Back to the defaults: the newest RHEL, x86_64, no accounts.
    expect([initial('distribution'), initial('architecture'), initial('share_with_accounts')]).toEqual([
      'rhel-10',
      'x86_64',
      undefined,
    ]);
    const audit = await h.store().listAudit(new Date(0));
    expect(audit.filter((e) => e.kind === 'defaults-cleared')).toEqual([
      expect.objectContaining({ actorId: 'U1', detail: { removed: 1 } }),
    ]);
  });

  it('tells someone the policy does not allow why, names people and channels properly, and offers no New image button', async () => {
    await start({ clock, policy: 'requesters:\n  users: [U0123ALICE]\n  channels: [C0789BUILDS]\n' });
    const home = await openHome('U1');
    expect(homeLimitProblems(home)).toEqual([]);
    expect(visibleTexts(home).join('\n')).toContain(
      ':no_entry: Only <@U0123ALICE> or people asking in <#C0789BUILDS> may request images',
    );
    expect(JSON.stringify(home.blocks)).not.toContain('new_image');
    expect(JSON.stringify((await openHome('U0123ALICE')).blocks)).toContain('new_image:aws');
  });
});
