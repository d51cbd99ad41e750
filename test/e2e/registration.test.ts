import { existsSync, readFileSync } from 'node:fs';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage } from '../fakes/slackApi';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { appHomeOpenedEvent, blockActionsBody, eventCallbackBody } from '../support/slackRequests';
import { startHarness, type Harness } from './harness';

/*
 * Registration with Red Hat through the real app: the box a RHEL form shows when the bot has registration set up, the
 * subscription the compose carries (the activation key going to Image Builder and nowhere else: the secret sentinel
 * watches every Slack call and log line), the result saying so, and a channel's rule refusing an unregistered build.
 */

const KEY = KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY;
const REGISTRATION_ENV = { IMAGE_REGISTRATION_ORG_ID: '12345678', IMAGE_REGISTRATION_ACTIVATION_KEY: KEY };

let h: Harness;
afterEach(async () => h?.close());

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
const composeBodies = () => h.imageBuilder.composeRequests();

async function openForm(cloud: string, channel = 'C1') {
  const before = h.slack.callsTo('views.open').length;
  await h.command(cloud, { channel_id: channel });
  const opened = await h.slack.waitFor(() => h.slack.callsTo('views.open')[before], { description: 'the form' });
  const blocks = (opened.args.view as { blocks: { block_id?: string; element?: Record<string, unknown> }[] }).blocks;
  return blocks.find((b) => b.block_id === 'register');
}

async function resultMessage(channel: string) {
  return h.slack.waitFor(
    () => h.slack.messages(channel).find((m) => m.thread_ts && m.thread_ts !== m.ts && / is ready/i.test(m.text ?? '')),
    { timeoutMs: 15_000, description: `a result in ${channel}` },
  );
}

describe('registering RHEL images with Red Hat', () => {
  it('ticks the box on a RHEL form, sends the subscription and says the instance registers at first boot', async () => {
    h = await startHarness({ env: REGISTRATION_ENV });
    const box = await openForm('aws');
    expect(box?.element).toMatchObject({
      type: 'checkboxes',
      initial_options: [expect.objectContaining({ value: 'yes' })],
    });
    const answer = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
    expect(answer.json ?? {}).toEqual({});

    const result = await resultMessage('C1');
    expect(text(result)).toContain('registers itself with Red Hat at first boot');
    expect(composeBodies()[0]?.customizations).toEqual({
      subscription: {
        organization: 12345678,
        'activation-key': KEY,
        'server-url': 'subscription.rhsm.redhat.com',
        'base-url': 'https://cdn.redhat.com/',
        insights: true,
        rhc: true,
      },
    });
    // Logged at debug level throughout, and still nowhere in the log.
    expect(h.logLines.join('\n')).not.toContain(KEY);
    expect(JSON.stringify(h.slack.calls.map((c) => c.args))).not.toContain(KEY);
    // Nor in the database (nor so in its backups): the build keeps that it registers, the key is added as it is sent.
    const [row] = await h.store().listNewest({ limit: 1 });
    expect(JSON.parse(row!.composeRequest)).toMatchObject({
      customizations: { subscription: { organization: 12345678 } },
    });
    for (const file of [h.databasePath, `${h.databasePath}-wal`].filter((f) => existsSync(f))) {
      expect(readFileSync(file).includes(KEY)).toBe(false);
    }
  });

  it('sends no subscription when the box is unticked, nor for CentOS', async () => {
    h = await startHarness({ env: REGISTRATION_ENV });
    await openForm('aws');
    await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012', register: [] });
    await h.command('aws', { channel_id: 'C1' });
    await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'views.open').length === 2);
    await h.submitModal({ distribution: 'centos-9', share_with_accounts: '123456789012' });
    await h.slack.waitFor(() => composeBodies().length === 2 || undefined, { timeoutMs: 10_000 });
    expect(composeBodies().map((b) => b.customizations)).toEqual([undefined, undefined]);
  });

  it('opens a rebuild of an unregistered RHEL build with the box unticked', async () => {
    h = await startHarness({ env: REGISTRATION_ENV, imageBuilder: { script: ['pending', 'success'] } });
    await openForm('aws');
    await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012', register: [] });
    const result = await resultMessage('C1');
    const opened = h.slack.views().length;
    const source = { message: result, responseUrl: h.slack.responseUrl('rebuild') };
    await h.post(blockActionsBody({ user: 'U1', actionId: 'rebuild', source }));
    const rebuilt = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the rebuild form' });
    const box = rebuilt.blocks.find((b) => (b as { block_id?: string }).block_id === 'register') as {
      element: Record<string, unknown>;
    };
    expect(box.element.type).toBe('checkboxes');
    expect(box.element.initial_options).toBeUndefined();
  });

  it("offers the box on App Home's New image form too", async () => {
    h = await startHarness({ env: REGISTRATION_ENV });
    await h.post(eventCallbackBody(appHomeOpenedEvent('U1')));
    const home = await h.slack.waitFor(() => h.slack.homeView('U1'), { description: 'the App Home' });
    await h.post(blockActionsBody({ user: 'U1', actionId: 'new_image:aws', source: { view: home } }));
    const opened = await h.slack.waitForCall('views.open');
    expect(JSON.stringify(opened.args.view)).toContain('"block_id":"register"');
  });

  it('shows no box when the bot has no registration set up', async () => {
    h = await startHarness();
    expect(await openForm('aws')).toBeUndefined();
  });

  it("refuses an unregistered RHEL build in a channel whose rule requires registration, on the box's field", async () => {
    h = await startHarness({ env: REGISTRATION_ENV, policy: 'registration:\n  C0BUILDS: required\n' });
    await openForm('aws', 'C0BUILDS');
    const answer = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012', register: [] });
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { register: expect.stringContaining('must be registered with Red Hat (policy registration.C0BUILDS)') },
    });
    expect(composeBodies()).toEqual([]);
  });

  it('starts the box ticked where the channel requires registration, whatever the requester chose before', async () => {
    h = await startHarness({ env: REGISTRATION_ENV, policy: 'registration:\n  C0BUILDS: required\n' });
    await h.store().saveDefaults('U1', 'aws', { register: 'no', distribution: 'rhel-9' }, new Date());
    const required = await openForm('aws', 'C0BUILDS');
    expect(required?.element).toMatchObject({ initial_options: [expect.objectContaining({ value: 'yes' })] });
    expect(JSON.stringify(required)).toContain('Required for requests from here by the bot’s policy');
    // Elsewhere the remembered choice stands.
    expect((await openForm('aws', 'C1'))?.element).not.toHaveProperty('initial_options');
  });

  it('offers no box where the channel forbids registration, and builds without a subscription', async () => {
    h = await startHarness({ env: REGISTRATION_ENV, policy: 'registration:\n  "*": forbidden\n' });
    expect(await openForm('aws')).toBeUndefined();
    const answer = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
    expect(answer.json ?? {}).toEqual({});
    await resultMessage('C1');
    expect(composeBodies()[0]).not.toHaveProperty('customizations');
  });
});
