import { addDays, addMinutes } from 'date-fns';
import { blocksText } from '../../src/demo/fakes/blockKit';
import { slackError, type FakeSlackMessage } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { blockActionsBody, type FillValue } from '../support/slackRequests';
import { startHarness, type Harness, type HarnessOptions } from './harness';

/*
 * AWS and GCP images are deleted by Image Builder 14 days after the compose's created_at. Before that, the
 * requester gets one reminder in the build's thread; after it, the result message says the image is gone. Both
 * the app's clock and the fake Image Builder's are steered here, so days pass in milliseconds.
 */

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';
/** When the fake Image Builder creates every compose: a whole second, as its created_at is to the second. */
const CREATED_AT = new Date('2025-03-03T09:00:00.000Z');
const EXPIRES_AT = addDays(CREATED_AT, 14);

/**
 * The app's clock: it runs (the poller paces builds by it) from CREATED_AT until a test sets it to a moment, where
 * it then stays. The fake Image Builder's clock stands at CREATED_AT until set, so created_at is known exactly.
 */
function steeredClocks() {
  const offset = CREATED_AT.getTime() - Date.now();
  let fixed: Date | undefined;
  let imageBuilderNow = CREATED_AT;
  return {
    app: { now: () => fixed ?? new Date(Date.now() + offset) },
    imageBuilder: { now: () => imageBuilderNow },
    /** Both clocks jump to `at` and stay there. */
    set(at: Date) {
      fixed = at;
      imageBuilderNow = at;
    },
  };
}

let h: Harness;
let clocks: ReturnType<typeof steeredClocks>;
afterEach(async () => h?.close());

async function start(options: Omit<HarnessOptions, 'clock' | 'imageBuilder'> = {}) {
  clocks = steeredClocks();
  h = await startHarness({ ...options, clock: clocks.app, imageBuilder: { now: clocks.imageBuilder.now } });
}

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

/** The build's thread in a channel: the parent and its replies (status, result, then anything after). */
function thread(channel = 'C1') {
  const messages = h.slack.messages(channel);
  const parent = messages.find((m) => !m.thread_ts || m.thread_ts === m.ts);
  const replies = parent ? messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) : [];
  return { parent, replies, result: replies[1] };
}

/** Orders an image as U1 in a channel and waits until the thread has its result and the row is done. */
async function build(cloud: string, fills: Record<string, FillValue>, channel = 'C1') {
  const opened = h.slack.callsTo('views.open').length;
  await h.command(cloud, { channel_id: channel });
  await h.slack.waitFor(() => h.slack.callsTo('views.open')[opened], { description: 'the form' });
  const submitted = await h.submitModal(fills);
  expect(submitted.text).toBe('');
  const result = await h.slack.waitFor(() => thread(channel).result, {
    timeoutMs: 15_000,
    description: `the result reply in ${channel}`,
  });
  // The row is marked done just after the result is posted; only then is it the watcher's.
  const row = await eventually(
    async () =>
      (await h.store().listNewest({ requesterId: 'U1', limit: 10 })).find(
        (r) => r.channelId === channel && r.state === 'done',
      ),
    { description: `the request in ${channel} to be done` },
  );
  return { result, requestId: row.id };
}

const buildAws = (channel = 'C1') =>
  build('aws', { distribution: 'rhel-9', architecture: 'x86_64', share_with_accounts: '123456789012' }, channel);

/** Replies in the thread after the status and the result. */
const laterReplies = (channel = 'C1') => thread(channel).replies.slice(2);

/**
 * Resolves once the expiry watcher has run at least `rounds` whole rounds that began after this call. A round ends
 * its reminders with a query that finds nothing (more) to send, and never starts before the previous round ended;
 * the first such answer seen may belong to a round already under way, and the last to one still noting expiries,
 * so `rounds + 2` of them mean `rounds` whole rounds in between.
 */
async function watcherRounds(rounds = 2) {
  const store = h.store();
  const original = store.listNeedingReminder.bind(store);
  let ended = 0;
  store.listNeedingReminder = async (now, withinMs) => {
    const due = await original(now, withinMs);
    if (due.length === 0) ended += 1;
    return due;
  };
  try {
    await h.slack.waitFor(() => ended >= rounds + 2, {
      timeoutMs: 5_000,
      intervalMs: 20,
      description: `${rounds} rounds of the expiry watcher`,
    });
  } finally {
    store.listNeedingReminder = original;
  }
}

describe('expiry reminders', () => {
  it('reminds the requester once, two days before an AWS image is deleted, with the copy command and a Rebuild button', async () => {
    await start();
    const { requestId } = await buildAws();
    const row = await h.store().get(requestId);
    // Expiry counts from the compose's created_at in Image Builder, not from when the bot saw it finish.
    expect(row!.composeCreatedAt).toEqual(CREATED_AT);
    expect(row!.expiresAt).toEqual(EXPIRES_AT);

    clocks.set(addMinutes(addDays(CREATED_AT, 12), -1));
    await watcherRounds();
    expect(laterReplies()).toEqual([]);

    clocks.set(addMinutes(addDays(CREATED_AT, 12), 1));
    const reminder = await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' });
    const shown = text(reminder);
    expect(shown).toContain('<@U1> your image *AMI ami-');
    expect(shown).toContain(
      `will be deleted by Image Builder on <!date^${EXPIRES_AT.getTime() / 1000}^{date_long_pretty} at {time}|17 Mar 2025>`,
    );
    expect(shown).toContain('(in 2 days)');
    expect(shown).toMatch(/aws ec2 copy-image --source-image-id ami-\w+ --source-region us-east-1 --region us-east-1/);
    // Launch commands belong to the result; the reminder is about keeping the image.
    expect(shown).not.toContain('run-instances');
    const rebuild = (reminder.blocks ?? []).flatMap(
      (b) => ((b as { elements?: unknown[] }).elements ?? []) as Record<string, unknown>[],
    );
    expect(rebuild).toContainEqual(expect.objectContaining({ type: 'button', action_id: 'rebuild', value: requestId }));

    // The button works: it opens the form again, pre-filled with this build.
    const opened = h.slack.callsTo('views.open').length;
    const pressed = await h.post(
      blockActionsBody({
        user: 'U1',
        actionId: 'rebuild',
        source: { message: reminder, responseUrl: h.slack.responseUrl('rebuild') },
      }),
    );
    expect(pressed.status).toBe(200);
    const reopened = await h.slack.waitFor(() => h.slack.callsTo('views.open')[opened], {
      description: 'the rebuild form',
    });
    expect(JSON.stringify(reopened.args.view)).toContain('123456789012');

    // More rounds, a restart, and a crash followed by a start: still one reminder.
    await watcherRounds();
    await h.restart();
    await watcherRounds();
    await h.crash();
    await h.restart();
    await watcherRounds();
    expect(laterReplies()).toHaveLength(1);
    expect(
      h.slack.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes('will be deleted')),
    ).toHaveLength(1);
    expect(h.slack.problems).toEqual([]);
  });

  it('repeats the copies to the regions the requester chose, one aws ec2 copy-image each', async () => {
    await start();
    const { requestId } = await build('aws', {
      distribution: 'rhel-9',
      share_with_accounts: '123456789012',
      copy_to_regions: ['eu-west-1', 'ap-southeast-7'],
    });
    const row = await h.store().get(requestId);

    clocks.set(addMinutes(addDays(CREATED_AT, 12), 1));
    const reminder = await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' });
    const copies = text(reminder).match(/aws ec2 copy-image [^\n]*--region [\w-]+/g) ?? [];
    expect(copies.map((command) => command.replace(/.* --region /, ''))).toEqual([
      'us-east-1',
      'eu-west-1',
      'ap-southeast-7',
    ]);
    expect(copies.every((command) => command.includes(`--source-region us-east-1`))).toBe(true);
    expect(row!.launchSettings).toBe(JSON.stringify({ copy_to_regions: ['eu-west-1', 'ap-southeast-7'] }));
  });

  it('says on the result message, once, that the image was deleted after 14 days, and drops its commands', async () => {
    await start();
    const { result } = await buildAws();
    expect(text(result)).toContain('aws ec2 run-instances');

    clocks.set(addDays(CREATED_AT, 11));
    await watcherRounds();
    expect(h.slack.message('C1', result.ts)!.history).toEqual([]);

    clocks.set(addMinutes(EXPIRES_AT, 1));
    const edited = await h.slack.waitFor(
      () => {
        const current = h.slack.message('C1', result.ts)!;
        return current.history.length > 0 ? current : undefined;
      },
      { description: 'the result message to be edited' },
    );
    const shown = text(edited);
    expect(shown).toContain('<@U1> your image is ready: *AMI ami-');
    expect(shown).toContain('Image Builder deleted this image on');
    expect(shown).not.toContain('aws ec2 run-instances');
    expect(shown).not.toContain('copy-image');
    expect(shown).not.toContain('Available until');

    await watcherRounds();
    await h.restart();
    await watcherRounds();
    expect(h.slack.message('C1', result.ts)!.history).toHaveLength(1);
    // Jumping straight past the deletion: there is nothing left to remind of, only the note.
    expect(laterReplies()).toEqual([]);

    const events = await h.store().listAudit(new Date(0));
    expect(events.filter((e) => e.kind === 'expired')).toEqual([
      expect.objectContaining({ detail: { expiresAt: EXPIRES_AT.toISOString() }, actorId: null }),
    ]);
    expect(events.filter((e) => e.kind === 'reminded')).toEqual([]);
    expect(h.slack.problems).toEqual([]);
  });

  it('reminds as many days ahead as EXPIRY_REMINDER_DAYS says', async () => {
    await start({ env: { EXPIRY_REMINDER_DAYS: '5' } });
    await buildAws();

    clocks.set(addMinutes(addDays(EXPIRES_AT, -5), -1));
    await watcherRounds();
    expect(laterReplies()).toEqual([]);

    clocks.set(addMinutes(addDays(EXPIRES_AT, -5), 1));
    const reminder = await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' });
    expect(text(reminder)).toContain('(in 5 days)');
  });

  it('sends no reminder for an Azure image, which Image Builder does not delete', async () => {
    await start();
    const { result, requestId } = await build('azure', {
      distribution: 'rhel-9',
      tenant_id: TENANT,
      subscription_id: SUBSCRIPTION,
      resource_group: 'images',
    });
    expect((await h.store().get(requestId))!.expiresAt).toBeNull();

    clocks.set(addMinutes(addDays(CREATED_AT, 12), 1));
    await watcherRounds();
    clocks.set(addDays(CREATED_AT, 30));
    await watcherRounds();
    expect(laterReplies()).toEqual([]);
    expect(h.slack.message('C1', result.ts)!.history).toEqual([]);
  });

  it('reminds of a GCP image with the gcloud command that copies it', async () => {
    await start();
    await build('gcp', { distribution: 'rhel-10', share_with: 'user:alice@example.com' });

    clocks.set(addMinutes(addDays(CREATED_AT, 12), 1));
    const reminder = await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' });
    const shown = text(reminder);
    expect(shown).toContain('<@U1> your image');
    expect(shown).toMatch(/gcloud compute images create \S+ --source-image-project \S+ --source-image \S+/);
    expect(shown).not.toContain('gcloud compute instances create');
  });

  describe.each([
    ['vsphere', {}, 'govc import.ova -name rhel-10-x86_64-', 'curl -fLo rhel-10-x86_64-'],
    ['vsphere', { vsphere_format: 'vmdk' }, 'govc import.vmdk rhel-10-x86_64-', 'curl -fLo rhel-10-x86_64-'],
    ['iso', {}, 'virt-install --name rhel-10-x86_64-', 'curl -fLo rhel-10-x86_64-'],
    ['wsl', {}, "wsl --import 'rhel-10-x86_64-", "curl.exe -fLo 'rhel-10-x86_64-"],
    ['oci', {}, 'oci compute image import from-object-uri --uri https://objectstorage.', 'curl -fLo rhel-10-x86_64-'],
  ])('a %s download %j, whose link works for 7 days', (cloud, fills, next, download) => {
    const linkExpires = addDays(CREATED_AT, 7);
    const date = `<!date^${linkExpires.getTime() / 1000}^{date_long_pretty} at {time}|10 Mar 2025>`;

    it('shows the link, the date it stops working and the next command, then reminds with the download', async () => {
      await start();
      const { result, requestId } = await build(cloud, { distribution: 'rhel-10', ...fills });
      expect((await h.store().get(requestId))!.expiresAt).toEqual(linkExpires);
      const shown = text(result);
      expect(shown).toMatch(/<https:\/\/[^|>]+\|Download the image>/);
      expect(shown).toContain(`Available until ${date} — 7 days. Download it to keep it longer.`);
      expect(shown).toContain(next);
      expect(shown).toContain(download);

      clocks.set(addMinutes(addDays(CREATED_AT, 5), -1));
      await watcherRounds();
      expect(laterReplies()).toEqual([]);

      clocks.set(addMinutes(addDays(CREATED_AT, 5), 1));
      const reminder = text(await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' }));
      expect(reminder).toContain(`will be deleted by Image Builder on ${date} (in 2 days)`);
      expect(reminder).toContain('Download it before then to keep it:');
      expect(reminder).toContain(download);
      expect(reminder).not.toContain(next);
      expect(h.slack.problems).toEqual([]);
    });
  });

  it('sends a reminder that fell due while the bot was down as soon as it starts again', async () => {
    await start();
    const { requestId } = await buildAws();
    await h.crash();
    clocks.set(addDays(CREATED_AT, 13));
    await h.restart();

    const reminder = await h.slack.waitFor(() => laterReplies()[0], { description: 'the reminder reply' });
    expect(text(reminder)).toContain('(in 1 day)');
    await eventually(async () => (await h.store().get(requestId))!.reminderTs === reminder.ts, {
      description: 'the reminder to be saved',
    });
    const events = await h.store().listAudit(new Date(0));
    expect(events.filter((e) => e.kind === 'reminded')).toEqual([
      expect.objectContaining({ requestId, channelId: 'C1', detail: { expiresAt: EXPIRES_AT.toISOString() } }),
    ]);
  });

  it('still reminds the others when one thread can no longer be posted in, and gives up on that one', async () => {
    await start();
    const archived = await buildAws('C1');
    const open = await buildAws('C2');
    h.slack.setChannel('C1', 'archived');

    clocks.set(addMinutes(addDays(CREATED_AT, 12), 1));
    const reminder = await h.slack.waitFor(() => laterReplies('C2')[0], { description: 'the reminder in C2' });
    expect(text(reminder)).toContain('aws ec2 copy-image');
    // Slack's answer for the archived channel will not change: the watcher stops asking.
    await eventually(async () => (await h.store().get(archived.requestId))!.reminderTs !== null, {
      description: 'the archived thread to be given up on',
    });
    await watcherRounds();
    const refusedPosts = h.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.channel === 'C1' && String(c.args.text).includes('will be deleted'));
    expect(refusedPosts).toHaveLength(1);

    const events = await h.store().listAudit(new Date(0));
    // Only the reminder that was sent is recorded as one.
    expect(events.filter((e) => e.kind === 'reminded').map((e) => e.requestId)).toEqual([open.requestId]);
  });

  it('gives up on noting the expiry of a result message that was deleted, and notes the others', async () => {
    await start();
    const deleted = await buildAws('C1');
    const kept = await buildAws('C2');
    h.slack.on('chat.update', (call) =>
      call.args.ts === deleted.result.ts ? slackError('message_not_found') : undefined,
    );

    clocks.set(addMinutes(EXPIRES_AT, 1));
    await h.slack.waitFor(() => h.slack.message('C2', kept.result.ts)!.history.length === 1, {
      description: 'the note in C2',
    });
    await eventually(async () => (await h.store().get(deleted.requestId))!.expiredNotedAt !== null, {
      description: 'the deleted result to be given up on',
    });
    await watcherRounds();
    expect(h.slack.callsTo('chat.update').filter((c) => c.args.ts === deleted.result.ts)).toHaveLength(1);
  });
});
