import { blocksText, isObject } from '../../src/demo/fakes/blockKit';
import { slackError, type FakeSlackMessage, type SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { appHomeOpenedEvent, blockActionsBody, eventCallbackBody, type FillValue } from '../support/slackRequests';
import { startHarness, type Harness, type HarnessOptions } from './harness';

/*
 * The policy file at every entry point, over real HTTP: the command, the modal's submission, the Rebuild and New
 * image buttons and App Home. Each refusal is checked for the person who acted, says why, leaves nothing written or
 * submitted, and is in the audit log with where it happened.
 */

const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';
const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
const OTHER_SUBSCRIPTION = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const COMPOSE_CALLBACK = 'compose_request';

// Slack's ids, in the shape the policy file accepts.
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0002';
const CAROL = 'U0CAROL03';
const DAVE = 'U0DAVE004';
const ERIN = 'U0ERIN005';
const BUILDS = 'C0BUILDS1';
const OTHER = 'C0OTHER02';
const TEAM = 'S0PLATFRM';

const ONLY_ALICE = `
requesters:
  users: [${ALICE}]
`;

let h: Harness;
afterEach(async () => h?.close());

const start = async (policy?: string, options: HarnessOptions = {}) => {
  h = await startHarness({ ...options, ...(policy === undefined ? {} : { policy }) });
  return h;
};

// ---------------------------------------------------------------------------------------------------------------
// What a user sees

const composeForms = () => h.slack.views().filter((v) => v.callback_id === COMPOSE_CALLBACK);
const composePosts = () => h.imageBuilder.apiRequests().filter((r) => r.method === 'POST');
const savedRequests = () => h.store().listNewest({ limit: 100 });
const text = (blocks: unknown) => blocksText(blocks);

/** Runs `/image-builder <cloud>` and waits until the app has answered it one way or the other. */
async function command(cloud: string, user: string, channel = BUILDS) {
  const before = h.slack.calls.length;
  const answer = await h.command(cloud, { user_id: user, channel_id: channel });
  expect(answer.status).toBe(200);
  return h.slack.waitFor(
    (calls) => calls.slice(before).find((c) => c.method === 'views.open' || c.method === 'response_url'),
    { description: `an answer to ${user}'s /image-builder ${cloud}` },
  );
}

/** The compose form `user` gets from `/image-builder <cloud>` in `channel`. */
async function openForm(cloud: string, user: string, channel = BUILDS): Promise<SlackView> {
  const answer = await command(cloud, user, channel);
  expect(answer.method).toBe('views.open');
  const form = composeForms().at(-1)!;
  expect(form).toBeDefined();
  return form;
}

/** Submits `form` as `user`; the app's answer as JSON (undefined when it closed the modal). */
async function submit(form: SlackView, user: string, fills: Record<string, FillValue>) {
  const answer = await h.submitModal(fills, user, form);
  expect(answer.status).toBe(200);
  return answer.json as { response_action: 'errors'; errors: Record<string, string> } | undefined;
}

async function order(cloud: string, user: string, fills: Record<string, FillValue>, channel = BUILDS) {
  return submit(await openForm(cloud, user, channel), user, fills);
}

const AWS_FILLS = { distribution: 'rhel-9', share_with_accounts: ACCOUNT };

/** The result reply of the first build in `channel`, which carries the Rebuild button. */
function resultWithRebuild(channel: string): Promise<FakeSlackMessage> {
  return h.slack.waitFor(() => h.slack.messages(channel).find((m) => hasAction(m.blocks, 'rebuild')), {
    timeoutMs: 15_000,
    description: `a result message with a Rebuild button in ${channel}`,
  });
}

function hasAction(blocks: unknown, actionId: string): boolean {
  return actionIds(blocks).includes(actionId);
}

function actionIds(blocks: unknown): string[] {
  if (!Array.isArray(blocks)) return [];
  return blocks.flatMap((block: unknown) => {
    if (!isObject(block)) return [];
    const elements = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory].filter(isObject);
    return elements.flatMap((e) => (typeof e.action_id === 'string' ? [e.action_id] : []));
  });
}

/** Opens `user`'s App Home and returns the view the app published for them. */
async function openHome(user: string): Promise<SlackView> {
  const before = h.slack.callsTo('views.publish').length;
  const answer = await h.post(eventCallbackBody(appHomeOpenedEvent(user)));
  expect(answer.status).toBe(200);
  await h.slack.waitFor(
    () =>
      h.slack
        .callsTo('views.publish')
        .slice(before)
        .find((c) => c.args.user_id === user),
    {
      description: `${user}'s App Home`,
    },
  );
  return h.slack.homeView(user)!;
}

/** `user` presses a button; resolves with the view the app opened in answer. */
async function press(
  user: string,
  actionId: string,
  source: Parameters<typeof blockActionsBody>[0]['source'],
  blockId?: string,
) {
  const before = h.slack.callsTo('views.open').length;
  const answer = await h.post(blockActionsBody({ user, actionId, source, ...(blockId ? { blockId } : {}) }));
  expect(answer.status).toBe(200);
  const call = await h.slack.waitForCall('views.open', (c) => h.slack.callsTo('views.open').indexOf(c) >= before);
  return (call.response.body as { view: SlackView }).view;
}

const threadParents = (channel: string) =>
  h.slack.messages(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);

async function refusals() {
  const events = await h.store().listAudit(new Date(0));
  return events.filter((e) => e.kind === 'refused');
}

// ---------------------------------------------------------------------------------------------------------------

describe('who may request images', () => {
  it('refuses the command for someone not named, ephemerally and with the reason, and opens no form', async () => {
    await start(ONLY_ALICE);
    const answer = await command('aws', BOB);
    expect(answer.method).toBe('response_url');
    expect(answer.args).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.args.text)).toContain(`Only <@${ALICE}> may request images (policy requesters)`);
    expect(h.slack.callsTo('views.open')).toEqual([]);

    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: BOB,
        channelId: BUILDS,
        detail: { entryPoint: 'command', reason: expect.stringContaining('policy requesters') },
      }),
    ]);
  });

  it('lets the person named open the form and build', async () => {
    await start(ONLY_ALICE);
    expect(await order('aws', ALICE, AWS_FILLS)).toBeUndefined();
    await h.imageBuilder.waitFor(() => composePosts().length === 1, { description: 'the compose to be submitted' });
    expect(await refusals()).toEqual([]);
  });

  it('refuses a submission by someone else than the person named, on the form, and writes and submits nothing', async () => {
    await start(ONLY_ALICE);
    const form = await openForm('aws', ALICE);
    const answer = await submit(form, BOB, AWS_FILLS);

    expect(answer).toEqual({
      response_action: 'errors',
      errors: { distribution: expect.stringContaining('may request images (policy requesters)') },
    });
    // A modal's errors are plain text: Slack's mention markup would show as it is written.
    expect(answer!.errors.distribution).not.toMatch(/<@|<!|<#/);
    // The tracker submits only what is in the store, so an empty store means nothing will be built.
    expect(await savedRequests()).toEqual([]);
    expect(composePosts()).toEqual([]);
    expect(h.slack.callsTo('chat.postMessage')).toEqual([]);
    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: BOB,
        detail: { entryPoint: 'modal', reason: expect.stringContaining('policy requesters') },
      }),
    ]);
  });

  it('answers Rebuild on someone else’s result with a notice saying why, and no form', async () => {
    await start(ONLY_ALICE);
    await order('aws', ALICE, AWS_FILLS);
    const result = await resultWithRebuild(BUILDS);

    const opened = await press(BOB, 'rebuild', { message: result, responseUrl: h.slack.responseUrl('rebuild-bob') });
    expect(opened.callback_id).not.toBe(COMPOSE_CALLBACK);
    expect(text(opened.blocks)).toContain(`Only <@${ALICE}> may request images (policy requesters)`);
    expect(composeForms()).toHaveLength(1);
    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: BOB,
        channelId: BUILDS,
        detail: expect.objectContaining({ entryPoint: 'rebuild button' }),
      }),
    ]);

    // The person named gets the form, pre-filled with the build.
    const form = await press(ALICE, 'rebuild', { message: result, responseUrl: h.slack.responseUrl('rebuild-alice') });
    expect(form.callback_id).toBe(COMPOSE_CALLBACK);
  });

  it('shows the refusal in App Home without New image buttons, and refuses a New image button pressed anyway', async () => {
    await start(ONLY_ALICE);
    const aliceHome = await openHome(ALICE);
    expect(actionIds(aliceHome.blocks)).toContain('new_image:aws');

    const bobHome = await openHome(BOB);
    expect(text(bobHome.blocks)).toContain('may request images (policy requesters)');
    expect(actionIds(bobHome.blocks).filter((id) => id.startsWith('new_image:'))).toEqual([]);

    // A button from someone else's Home (or a Home published before the policy changed) is checked on the server.
    const opened = await press(BOB, 'new_image:aws', { view: aliceHome });
    expect(opened.callback_id).not.toBe(COMPOSE_CALLBACK);
    expect(text(opened.blocks)).toContain(`Only <@${ALICE}> may request images (policy requesters)`);
    expect(composeForms()).toEqual([]);
    expect(await refusals()).toEqual([
      expect.objectContaining({ actorId: BOB, detail: expect.objectContaining({ entryPoint: 'new image button' }) }),
    ]);

    expect((await press(ALICE, 'new_image:aws', { view: aliceHome })).callback_id).toBe(COMPOSE_CALLBACK);
  });

  it('lets members of a named user group request, as Slack lists them', async () => {
    await start(`requesters:\n  usergroups: [${TEAM}]\n`, {
      beforeStart: (slack) => {
        slack.on('usergroups.users.list', ({ args }) =>
          args.usergroup === TEAM ? { ok: true, users: [BOB, CAROL] } : undefined,
        );
      },
    });
    await openForm('aws', BOB);
    const refused = await command('aws', DAVE);
    expect(refused.method).toBe('response_url');
    expect(String(refused.args.text)).toContain(
      `Only members of <!subteam^${TEAM}> may request images (policy requesters)`,
    );
  });

  it('refuses, saying the membership could not be checked, when Slack cannot list the group (fails closed)', async () => {
    await start(`requesters:\n  usergroups: [${TEAM}]\n`, {
      beforeStart: (slack) => {
        slack.on('usergroups.users.list', slackError('missing_scope', { needed: 'usergroups:read' }));
      },
    });
    const refused = await command('aws', BOB);
    expect(refused.method).toBe('response_url');
    expect(String(refused.args.text)).toContain('I could not check whether you may request images');
    expect(String(refused.args.text)).toContain(`<!subteam^${TEAM}>`);
    expect(h.slack.callsTo('views.open')).toEqual([]);
    expect(await refusals()).toEqual([
      expect.objectContaining({
        detail: { entryPoint: 'command', reason: expect.stringContaining('could not check') },
      }),
    ]);
  });

  it('reads the group again on the next request once Slack can list it, rather than remembering the failure', async () => {
    await start(`requesters:\n  usergroups: [${TEAM}]\n`, {
      beforeStart: (slack) => {
        slack.on('usergroups.users.list', { ok: true, users: [BOB] });
        slack.on('usergroups.users.list', slackError('ratelimited'), { times: 1 });
      },
    });
    const first = await command('aws', BOB);
    expect(first.method).toBe('response_url');
    expect(String(first.args.text)).toContain('I could not check whether you may request images');
    await openForm('aws', BOB);
  });

  it('checks group membership for App Home too, and fails closed there', async () => {
    await start(`requesters:\n  usergroups: [${TEAM}]\n`, {
      beforeStart: (slack) => {
        slack.on('usergroups.users.list', slackError('missing_scope'));
      },
    });
    const home = await openHome(BOB);
    expect(text(home.blocks)).toContain('I could not check whether you may request images');
    expect(actionIds(home.blocks).filter((id) => id.startsWith('new_image:'))).toEqual([]);
  });

  it('lets anyone request in a named channel, and nobody else elsewhere', async () => {
    await start(`requesters:\n  channels: [${OTHER}]\n`);
    expect(await order('aws', ERIN, AWS_FILLS, OTHER)).toBeUndefined();
    const refused = await command('aws', ERIN, BUILDS);
    expect(refused.method).toBe('response_url');
    expect(String(refused.args.text)).toContain(
      `Only people asking in <#${OTHER}> may request images (policy requesters)`,
    );
  });

  it('does not let Rebuild in App Home borrow a channel’s permission', async () => {
    // Bob may request only by asking in BUILDS; App Home is not that channel.
    await start(`requesters:\n  users: [${ALICE}]\n  channels: [${BUILDS}]\n`);
    await order('aws', BOB, AWS_FILLS, BUILDS);
    const result = await resultWithRebuild(BUILDS);

    const home = await openHome(BOB);
    expect(text(home.blocks)).toContain('may request images (policy requesters)');
    const [build] = await savedRequests();
    const refused = await press(BOB, 'rebuild', { view: home }, homeRebuildBlock(home, build!.id, 0));
    expect(refused.callback_id).not.toBe(COMPOSE_CALLBACK);
    expect(text(refused.blocks)).toContain('policy requesters');

    // In the channel itself, he may rebuild it.
    const form = await press(BOB, 'rebuild', { message: result, responseUrl: h.slack.responseUrl('rebuild') });
    expect(form.callback_id).toBe(COMPOSE_CALLBACK);
  });

  it('lets everyone request, and build, without a policy file', async () => {
    await start();
    expect(await order('aws', BOB, AWS_FILLS)).toBeUndefined();
    const home = await openHome(CAROL);
    expect(actionIds(home.blocks)).toEqual(
      expect.arrayContaining(['new_image:aws', 'new_image:gcp', 'new_image:azure']),
    );
    await h.imageBuilder.waitFor(() => composePosts().length === 1, { description: 'the compose to be submitted' });
    expect(await refusals()).toEqual([]);
  });
});

/** The block id of the `index`th Rebuild button for `requestId` in a Home view (mine and the team's lists both show it). */
function homeRebuildBlock(home: SlackView, requestId: string, index: number): string {
  const blocks = home.blocks.filter(
    (b): b is { block_id: string; accessory: { action_id: string; value: string } } =>
      isObject(b) && isObject(b.accessory) && b.accessory.action_id === 'rebuild' && b.accessory.value === requestId,
  );
  const block = blocks[index];
  if (!block) throw new Error(`no Rebuild button for ${requestId} in the Home view`);
  return block.block_id;
}

describe('where images may be shared', () => {
  const SHARING = `
sharing:
  ${BUILDS}:
    aws_accounts: ["${ACCOUNT}"]
    azure_subscriptions: ["${SUBSCRIPTION}"]
    gcp_domains: [example.com]
  "*":
    aws_accounts: []
`;

  it('refuses an AWS account outside the channel’s list on the accounts field, naming the rule, and builds nothing', async () => {
    await start(SHARING);
    const answer = await order('aws', ALICE, {
      distribution: 'rhel-9',
      share_with_accounts: `${ACCOUNT}\n${OTHER_ACCOUNT}`,
    });
    expect(answer).toEqual({
      response_action: 'errors',
      errors: { share_with_accounts: expect.stringContaining(`sharing.${BUILDS}.aws_accounts`) },
    });
    expect(answer!.errors.share_with_accounts).toContain(`${OTHER_ACCOUNT} is not one of them`);
    expect(await savedRequests()).toEqual([]);
    expect(composePosts()).toEqual([]);
    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: ALICE,
        channelId: BUILDS,
        detail: expect.objectContaining({
          entryPoint: 'modal',
          reason: expect.stringContaining(`sharing.${BUILDS}.aws_accounts`),
        }),
      }),
    ]);
  });

  it('builds an image shared with an account the channel allows', async () => {
    await start(SHARING);
    expect(await order('aws', ALICE, AWS_FILLS)).toBeUndefined();
    await h.imageBuilder.waitFor(() => composePosts().length === 1, { description: 'the compose to be submitted' });
    expect(composePosts()[0]!.body).toMatchObject({
      image_requests: [{ upload_request: { options: { share_with_accounts: [ACCOUNT] } } }],
    });
  });

  it('applies the "*" rule in every other channel', async () => {
    await start(SHARING);
    const answer = await order('aws', ALICE, AWS_FILLS, OTHER);
    expect(answer?.errors.share_with_accounts).toContain(
      'may not be shared with any AWS account (policy sharing.*.aws_accounts)',
    );
    expect(composePosts()).toEqual([]);
  });

  it('allows Google accounts in a listed domain and refuses others, naming gcp_domains', async () => {
    await start(SHARING);
    const refused = await order('gcp', ALICE, {
      distribution: 'rhel-9',
      share_with: 'user:alice@example.com, user:mallory@example.net',
    });
    expect(refused?.errors.share_with).toContain(`sharing.${BUILDS}.gcp_domains`);
    expect(refused?.errors.share_with).toContain('user:mallory@example.net');
    expect(refused?.errors.share_with).not.toContain('user:alice@example.com is');

    expect(
      await order('gcp', ALICE, {
        distribution: 'rhel-9',
        share_with: 'user:alice@example.com, group:ops@EXAMPLE.com',
      }),
    ).toBeUndefined();
  });

  it('refuses an Azure subscription the channel does not allow on the subscription field', async () => {
    await start(SHARING);
    const azure = (subscription: string) => ({
      distribution: 'rhel-9',
      tenant_id: TENANT,
      subscription_id: subscription,
      resource_group: 'images',
    });
    const refused = await order('azure', ALICE, azure(OTHER_SUBSCRIPTION));
    expect(refused).toEqual({
      response_action: 'errors',
      errors: { subscription_id: expect.stringContaining(`sharing.${BUILDS}.azure_subscriptions`) },
    });
    expect(await order('azure', ALICE, azure(SUBSCRIPTION.toUpperCase()))).toBeUndefined();
  });

  it('judges a form from App Home by the "*" rule, since it is asked for in no channel', async () => {
    await start(`sharing:\n  ${BUILDS}:\n    aws_accounts: ["${ACCOUNT}"]\n  "*":\n    aws_accounts: []\n`);
    const home = await openHome(ALICE);
    const form = await press(ALICE, 'new_image:aws', { view: home });
    const answer = await submit(form, ALICE, AWS_FILLS);
    expect(answer?.errors.share_with_accounts).toContain('policy sharing.*.aws_accounts');
    expect(await savedRequests()).toEqual([]);
    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: ALICE,
        channelId: null,
        detail: expect.objectContaining({ entryPoint: 'modal' }),
      }),
    ]);
  });
});

describe('limits per person', () => {
  it('refuses a second build while the first is still building, on the form with the reason', async () => {
    // The compose never finishes, so the first build stays in flight.
    await start(`limits:\n  in_flight_per_user: 1\n`, { imageBuilder: { script: ['building'] } });
    expect(await order('aws', ALICE, AWS_FILLS)).toBeUndefined();
    await h.imageBuilder.waitFor(() => composePosts().length === 1, { description: 'the first compose' });

    const second = await order('aws', ALICE, AWS_FILLS);
    expect(second).toEqual({
      response_action: 'errors',
      errors: { distribution: expect.stringContaining('limits.in_flight_per_user') },
    });
    expect(second!.errors.distribution).toContain('You already have 1 build in progress');
    expect(await savedRequests()).toHaveLength(1);
    // Someone else is not held back by it.
    expect(await order('aws', BOB, AWS_FILLS)).toBeUndefined();
    expect(await refusals()).toEqual([
      expect.objectContaining({
        actorId: ALICE,
        detail: { entryPoint: 'modal', reason: expect.stringContaining('in_flight_per_user') },
      }),
    ]);
  });

  it('refuses requests over the daily limit until 24 hours have passed', async () => {
    let offsetMs = 0;
    await start(`limits:\n  per_user_per_day: 1\n`, { clock: { now: () => new Date(Date.now() + offsetMs) } });
    expect(await order('aws', ALICE, AWS_FILLS)).toBeUndefined();
    const refused = await order('aws', ALICE, AWS_FILLS);
    expect(refused?.errors.distribution).toContain('You have requested 1 image in the last 24 hours');
    expect(refused?.errors.distribution).toContain('limits.per_user_per_day');

    offsetMs = 24 * 60 * 60 * 1000 + 60_000;
    expect(await order('aws', ALICE, AWS_FILLS)).toBeUndefined();
    expect(await savedRequests()).toHaveLength(2);
  });
});

describe('builds asked for from App Home', () => {
  it('follows a rebuild of someone else’s App Home build in the DM of whoever rebuilt it', async () => {
    await start();
    const aliceHome = await openHome(ALICE);
    const form = await press(ALICE, 'new_image:aws', { view: aliceHome });
    expect(await submit(form, ALICE, AWS_FILLS)).toBeUndefined();
    await h.slack.waitFor(() => h.slack.messages(h.slack.dmChannel(ALICE)).length > 0, {
      description: 'Alice’s build in her DM',
    });

    const [original] = await savedRequests();
    expect(actionIds((await openHome(BOB)).blocks)).not.toContain('rebuild');
    // Bob's Home does not list it; one published before builds were hidden did (as Alice's does now).
    const olderHome = await openHome(ALICE);
    const rebuildForm = await press(BOB, 'rebuild', { view: olderHome }, homeRebuildBlock(olderHome, original!.id, 0));
    expect(rebuildForm.callback_id).toBe(COMPOSE_CALLBACK);
    expect(await submit(rebuildForm, BOB, AWS_FILLS)).toBeUndefined();

    const rebuild = await eventually(
      async () => (await savedRequests()).find((r) => r.rebuiltFrom === original!.id && r.threadChannelId !== null),
      { description: 'the rebuild to be posted' },
    );
    expect(rebuild).toMatchObject({ requesterId: BOB, channelId: BOB, threadChannelId: h.slack.dmChannel(BOB) });
    // Alice's DM holds her own build's thread only, and nothing in it names Bob (it is hers alone).
    expect(threadParents(h.slack.dmChannel(ALICE))).toHaveLength(1);
    expect(JSON.stringify(h.slack.messages(h.slack.dmChannel(ALICE)))).not.toContain(BOB);
  });

  it('follows a form from App Home in the DM of whoever submits it, whoever it was opened for', async () => {
    await start();
    const form = await press(ALICE, 'new_image:aws', { view: await openHome(ALICE) });
    expect(await submit(form, BOB, AWS_FILLS)).toBeUndefined();
    await h.slack.waitFor(() => h.slack.messages(h.slack.dmChannel(BOB)).length > 0, {
      description: 'the build in Bob’s DM',
    });
    expect(threadParents(h.slack.dmChannel(ALICE))).toEqual([]);
    expect((await savedRequests())[0]).toMatchObject({ requesterId: BOB, channelId: BOB });
  });
});
