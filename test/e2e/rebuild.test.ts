import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import { DEFAULT_BUILD_ERROR } from '../fakes/imageBuilderService';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { blockActionsBody, type FillValue } from '../support/slackRequests';
import { modalLimitProblems } from '../slack/views/slackLimits';
import { useHarness, type Harness, type HarnessOptions } from './harness';

/*
 * Rebuild and remembered entries, end to end: the Rebuild button on a finished thread opens the form pre-filled for
 * whoever pressed it, and what a user entered last time pre-fills their next form until they ask to forget it.
 */

const harness = useHarness();
let h: Harness;
async function start(options: HarnessOptions = {}): Promise<void> {
  h = await harness.start(options);
}

/** Two polls to the end, so a thread finishes in well under a second. */
const QUICK = ['pending', 'success'] as const;

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

interface Thread {
  parent: FakeSlackMessage;
  replies: FakeSlackMessage[];
}

/** The threads of a channel, oldest first, each with its replies. */
function threads(channel: string): Thread[] {
  const messages = h.slack.messages(channel);
  return messages
    .filter((m) => !m.thread_ts || m.thread_ts === m.ts)
    .map((parent) => ({ parent, replies: messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) }));
}

/** The result reply (the one with the Rebuild button) of the `index`th thread in `channel`, once it is there. */
function resultOf(channel: string, index: number) {
  return h.slack.waitFor(
    () => threads(channel)[index]?.replies.find((m) => /Rebuild/.test(JSON.stringify(m.blocks ?? []))),
    { timeoutMs: 15_000, description: `the result of thread ${index + 1} in ${channel}` },
  );
}

async function orderImage(
  cloud: string,
  fills: Record<string, FillValue>,
  options: { user?: string; channel?: string } = {},
) {
  const opened = h.slack.views().length;
  const ack = await h.command(cloud, { user_id: options.user ?? 'U1', channel_id: options.channel ?? 'C1' });
  expect(ack.status).toBe(200);
  const modal = await newModal(opened);
  const submitted = await h.submitModal(fills, options.user ?? 'U1', modal);
  expect(submitted.status).toBe(200);
  expect(submitted.text).toBe('');
}

/** The modal opened after `before` modals were, once it is open. */
function newModal(before: number): Promise<SlackView> {
  return h.slack.waitFor(() => h.slack.views()[before], { description: `modal number ${before + 1} to open` });
}

/** Presses Rebuild on `message` as `user`, and returns the modal it opened. */
async function pressRebuild(message: FakeSlackMessage, user: string): Promise<SlackView> {
  const opened = h.slack.views().length;
  const answer = await h.post(
    blockActionsBody({
      user,
      actionId: 'rebuild',
      source: { message, responseUrl: h.slack.responseUrl(`rebuild-${message.ts}`) },
    }),
  );
  expect(answer.status).toBe(200);
  return newModal(opened);
}

/** What the modal shows in an input before anyone touches it: the selected option's value or the text. */
function initialValue(view: SlackView, blockId: string): string | undefined {
  const block = view.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === blockId);
  if (!block) throw new Error(`the modal has no input ${blockId}`);
  const element = block.element as JsonObject;
  const option = element.initial_option;
  if (isObject(option)) return String(option.value);
  return typeof element.initial_value === 'string' ? element.initial_value : undefined;
}

const prefilled = (view: SlackView, blockIds: string[]) =>
  Object.fromEntries(blockIds.map((id) => [id, initialValue(view, id)]));

const AWS_FIELDS = ['distribution', 'architecture', 'image_name', 'share_with_accounts'];

async function rows() {
  return h.store().listNewest({ limit: 10 });
}

describe('Rebuild', () => {
  it('opens the form pre-filled from the result message, and the rebuild gets its own thread linked from the old one', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', {
      distribution: 'rhel-9',
      architecture: 'aarch64',
      image_name: 'web-base',
      share_with_accounts: '123456789012\n210987654321',
    });
    const result = await resultOf('C1', 0);

    const modal = await pressRebuild(result, 'U1');
    expect(modalLimitProblems(modal)).toEqual([]);
    expect(prefilled(modal, AWS_FIELDS)).toEqual({
      distribution: 'rhel-9',
      architecture: 'aarch64',
      image_name: 'web-base',
      share_with_accounts: '123456789012\n210987654321',
    });

    // Editable: the person changes the distribution before sending it.
    const answer = await h.submitModal({ distribution: 'rhel-10' }, 'U1', modal);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    await resultOf('C1', 1);

    const [original, rebuilt] = threads('C1');
    expect(text(rebuilt!.parent)).toContain(
      '<@U1> asked for a *rhel-10* aarch64 image “web-base” on *Amazon Web Services*',
    );
    const permalink = (await h.slack.waitForCall('chat.getPermalink')).response.body as { permalink: string };
    expect(permalink.permalink).toContain(rebuilt!.parent.ts.replace('.', ''));
    const link = await h.slack.waitFor(() => threads('C1')[0]!.replies.find((m) => /rebuilt this/.test(text(m))), {
      description: 'the link in the old thread',
    });
    expect(link.thread_ts).toBe(original!.parent.ts);
    expect(text(link)).toContain(`<@U1> rebuilt this — <${permalink.permalink}|new thread>`);

    const [newRow, oldRow] = await rows();
    expect(newRow!.rebuiltFrom).toBe(oldRow!.id);
    expect(newRow!.requesterId).toBe('U1');
    const posts = h.imageBuilder
      .apiRequests()
      .filter((r) => r.method === 'POST')
      .map((r) => r.body as JsonObject);
    expect(posts).toHaveLength(2);
    expect(posts[1]).toMatchObject({
      distribution: 'rhel-10',
      image_name: 'web-base',
      image_requests: [
        {
          architecture: 'aarch64',
          upload_request: { options: { share_with_accounts: ['123456789012', '210987654321'] } },
        },
      ],
    });
    expect(h.slack.problems).toEqual([]);
  });

  it('is offered on a failed build too', async () => {
    await start({ imageBuilder: { script: ['pending', { status: 'failure', error: DEFAULT_BUILD_ERROR }] } });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' });
    const result = await resultOf('C1', 0);
    expect(text(result)).toContain('the build failed');
    const modal = await pressRebuild(result, 'U1');
    expect(prefilled(modal, ['distribution', 'share_with_accounts'])).toEqual({
      distribution: 'rhel-9',
      share_with_accounts: '123456789012',
    });
  });

  it('makes whoever pressed it the requester of the new build, not the person who asked first', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' }, { user: 'U1' });
    const result = await resultOf('C1', 0);

    const modal = await pressRebuild(result, 'U2');
    await h.submitModal({ share_with_accounts: '210987654321' }, 'U2', modal);
    await resultOf('C1', 1);

    const [, rebuilt] = threads('C1');
    expect(text(rebuilt!.parent)).toContain('<@U2> asked for a *rhel-9*');
    expect(text(rebuilt!.parent)).not.toContain('<@U1>');
    const [newRow, oldRow] = await rows();
    expect(newRow).toMatchObject({ requesterId: 'U2', rebuiltFrom: oldRow!.id, channelId: 'C1' });
    expect(
      String(
        (h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')[1]!.body as JsonObject).image_description,
      ),
    ).toContain('by U2');
    await eventually(() => threads('C1')[0]!.replies.some((m) => text(m).includes('<@U2> rebuilt this')), {
      description: 'the old thread to say U2 rebuilt it',
    });
  });
});

describe('Rebuild by someone else', () => {
  const AZURE_FIELDS = ['distribution', 'architecture', 'image_name', 'tenant_id', 'subscription_id', 'resource_group'];
  const ALICE_AZURE = {
    distribution: 'rhel-9',
    architecture: 'x86_64',
    image_name: 'alice-gold',
    tenant_id: '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7',
    subscription_id: '4e5d8b2c-ab24-4413-90c5-612306e809e2',
    resource_group: 'alice-images',
  };

  it('pre-fills the build’s distribution and architecture, never the first requester’s share targets', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', { distribution: 'centos-9', architecture: 'aarch64', share_with_accounts: '123456789012' });
    const aws = await resultOf('C1', 0);
    await orderImage('azure', ALICE_AZURE);
    const azure = await resultOf('C1', 1);

    expect(prefilled(await pressRebuild(aws, 'U2'), AWS_FIELDS)).toEqual({
      distribution: 'centos-9',
      architecture: 'aarch64',
      image_name: undefined,
      share_with_accounts: undefined,
    });
    expect(prefilled(await pressRebuild(azure, 'U2'), AZURE_FIELDS)).toEqual({
      distribution: 'rhel-9',
      architecture: 'x86_64',
      image_name: undefined,
      tenant_id: undefined,
      subscription_id: undefined,
      resource_group: undefined,
    });
    // The first requester still gets all of theirs.
    expect(prefilled(await pressRebuild(azure, 'U1'), AZURE_FIELDS)).toEqual(ALICE_AZURE);
  });

  it('pre-fills the rebuilder’s own remembered share targets instead', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' });
    const result = await resultOf('C1', 0);
    await orderImage(
      'aws',
      { distribution: 'rhel-10', share_with_accounts: '555566667777' },
      { user: 'U2', channel: 'C2' },
    );
    await eventually(() => h.store().getDefaults('U2', 'aws'), { description: 'U2’s remembered AWS entries' });

    expect(prefilled(await pressRebuild(result, 'U2'), AWS_FIELDS)).toEqual({
      distribution: 'rhel-9',
      architecture: 'x86_64',
      image_name: undefined,
      share_with_accounts: '555566667777',
    });
  });
});

describe('remembered entries', () => {
  const AWS_ORDER = {
    distribution: 'centos-9',
    architecture: 'aarch64',
    image_name: 'nightly',
    share_with_accounts: '123456789012',
  };

  async function nextAwsModal(user = 'U1') {
    const opened = h.slack.views().length;
    await h.command('aws', { user_id: user });
    return newModal(opened);
  }

  /** Waits until the submission's remembered values are written (after the modal closed). */
  const remembered = (user = 'U1') =>
    eventually(() => h.store().getDefaults(user, 'aws'), { description: `${user}'s remembered AWS entries` });

  it('pre-fill the next form for that cloud with the accounts, distribution and architecture, not the build name', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', AWS_ORDER);
    await remembered();

    const modal = await nextAwsModal();
    expect(prefilled(modal, AWS_FIELDS)).toEqual({
      distribution: 'centos-9',
      architecture: 'aarch64',
      image_name: undefined,
      share_with_accounts: '123456789012',
    });
    // Someone else's form, and another cloud's, start on the defaults: the newest RHEL.
    expect(prefilled(await nextAwsModal('U2'), ['distribution', 'share_with_accounts'])).toEqual({
      distribution: 'rhel-10',
      share_with_accounts: undefined,
    });
    const opened = h.slack.views().length;
    await h.command('gcp');
    expect(initialValue(await newModal(opened), 'distribution')).toBe('rhel-10');
  });

  it('are forgotten with `/image-builder forget`, and the next form starts empty', async () => {
    await start({ imageBuilder: { script: [...QUICK] } });
    await orderImage('aws', AWS_ORDER);
    await remembered();

    const answer = await h.command('forget');
    expect(answer.status).toBe(200);
    const notice = await h.slack.waitForCall('response_url');
    expect(JSON.stringify(notice.args)).toContain('your next forms start empty');
    expect(await h.store().getDefaults('U1', 'aws')).toBeUndefined();

    const modal = await nextAwsModal();
    expect(prefilled(modal, AWS_FIELDS)).toEqual({
      distribution: 'rhel-10',
      architecture: 'x86_64',
      image_name: undefined,
      share_with_accounts: undefined,
    });
  });
});
