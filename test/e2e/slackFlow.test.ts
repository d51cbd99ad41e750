import { blocksText } from '../../src/demo/fakes/blockKit';
import { DEFAULT_BUILD_ERROR, serviceErrors } from '../fakes/imageBuilderService';
import type { FakeSlackMessage } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { startHarness, type Harness } from './harness';

/*
 * The product as a new user meets it: `/image-builder <cloud>` in a channel, the modal the app opened filled and
 * submitted, and the channel's thread followed to the end — all over real HTTP with signed requests.
 */

const TENANT = '5c7ef5b6-1c3f-4da0-a622-0b060239d7d7';
const SUBSCRIPTION = '4e5d8b2c-ab24-4413-90c5-612306e809e2';

let h: Harness;
afterEach(async () => h?.close());

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

/**
 * The parent in the channel and its replies, once the thread is final: the result reply exists and the parent no
 * longer says "in progress" (the result and the final edits go out together).
 */
async function finishedThread(channel: string) {
  return h.slack.waitFor(
    () => {
      const messages = h.slack.messages(channel);
      const parent = messages.find((m) => !m.thread_ts || m.thread_ts === m.ts);
      const replies = parent ? messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) : [];
      return parent && replies.length >= 2 && !/in progress/i.test(parent.text ?? '')
        ? { parent, status: replies[0]!, result: replies[1]!, replies }
        : undefined;
    },
    { timeoutMs: 15_000, description: `a finished thread in ${channel}` },
  );
}

async function orderImage(cloud: string, fills: Record<string, string>, channel = 'C1') {
  const ack = await h.command(cloud, { channel_id: channel });
  expect(ack.status).toBe(200);
  await h.slack.waitForCall('views.open');
  const submitted = await h.submitModal(fills);
  expect(submitted.status).toBe(200);
  expect(submitted.text).toBe('');
  return submitted;
}

describe('ordering an image from Slack', () => {
  it('follows an AWS build in one thread, from pending to the AMI and the commands to launch and copy it', async () => {
    h = await startHarness();
    await orderImage('aws', {
      distribution: 'rhel-9',
      architecture: 'x86_64',
      share_with_accounts: '123456789012\n210987654321',
    });
    const { parent, status, result, replies } = await finishedThread('C1');

    expect(text(parent)).toContain('<@U1> asked for a *rhel-9* x86_64 image on *Amazon Web Services*');
    expect(text(parent)).toContain('shared with AWS accounts 123456789012, 210987654321');
    expect(text(parent)).toContain('Ready');
    // The status reply was edited in place as the build moved, never re-posted.
    expect(replies).toHaveLength(2);
    const statusHistory = status.history.map((v) => v.text);
    expect(statusHistory.join('\n')).toMatch(/Building — step 3 of 7/);
    expect(statusHistory.join('\n')).toMatch(/Uploading/);
    expect(statusHistory.join('\n')).toMatch(/Registering/);
    expect(text(status)).toContain('Ready');

    const shown = text(result);
    expect(shown).toContain('<@U1> your image is ready: *AMI ami-');
    expect(shown).toMatch(
      /aws ec2 run-instances --image-id ami-\w+ --region us-east-1 --count 1 --instance-type t3\.micro/,
    );
    expect(shown).toMatch(/aws ec2 copy-image --source-image-id ami-\w+ --source-region us-east-1 --region us-east-1/);
    expect(shown).toMatch(/<!date\^\d+\^[^|]+\|\d+ \w+ \d{4}>— 14 days|Available until <!date\^\d+/);
    expect(shown).toContain('14 days');

    const [body] = h.imageBuilder
      .apiRequests()
      .filter((r) => r.method === 'POST')
      .map((r) => r.body as Record<string, unknown>);
    expect(body).toMatchObject({
      distribution: 'rhel-9',
      client_id: 'api',
      image_requests: [
        {
          architecture: 'x86_64',
          image_type: 'aws',
          upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012', '210987654321'] } },
        },
      ],
    });
    expect(String(body!.image_description)).toMatch(/^Requested in Slack by U1 — request [0-9a-f-]{36}$/);
    expect(h.slack.problems).toEqual([]);
  });

  it('builds for Azure with the tenant, subscription and resource group, and prints az vm create', async () => {
    h = await startHarness();
    await orderImage('azure', {
      distribution: 'rhel-9',
      tenant_id: TENANT,
      subscription_id: SUBSCRIPTION,
      resource_group: 'images',
    });
    const { result } = await finishedThread('C1');
    expect(text(result)).toContain(`az vm create --subscription ${SUBSCRIPTION} --resource-group images`);
    expect(text(result)).not.toContain('Available until');
  });

  it('builds for GCP and prints gcloud commands for the shared image', async () => {
    h = await startHarness();
    await orderImage('gcp', { distribution: 'rhel-10', share_with: 'user:alice@example.com, group:ops@example.com' });
    const { result } = await finishedThread('C1');
    expect(text(result)).toMatch(
      /gcloud compute instances create \S+ --image-project \S+ --image \S+ --zone us-east4-a/,
    );
    expect(text(result)).toMatch(/gcloud compute images create \S+ --source-image-project \S+ --source-image \S+/);
  });

  it('reports a failed build with the reason and the nested details', async () => {
    h = await startHarness();
    h.imageBuilder.script('next', ['pending', 'building', { status: 'failure', error: DEFAULT_BUILD_ERROR }]);
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' });
    const { parent, result } = await finishedThread('C1');
    expect(text(result)).toContain('<@U1> the build failed: *osbuild build failed*');
    expect(text(result)).toContain('package kernel-99 not found');
    expect(text(parent)).toContain('Failed');
  });

  it('answers invalid values on their fields and submits nothing', async () => {
    h = await startHarness();
    await h.command('aws');
    await h.slack.waitForCall('views.open');
    const answer = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '12345, 123456789012' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { share_with_accounts: expect.stringContaining('“12345” is not an AWS account id') },
    });
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
    expect(h.slack.callsTo('chat.postMessage')).toEqual([]);
  });

  it('shows the quota message from the service in the thread and polls nothing', async () => {
    h = await startHarness();
    h.imageBuilder.fail(1, 403, serviceErrors(403, 'Quota of 20 builds per 30 days exceeded'), { method: 'POST' });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' });
    const { parent, result } = await finishedThread('C1');
    expect(text(result)).toContain('Quota of 20 builds per 30 days exceeded');
    expect(text(parent)).toContain('Refused');
    await eventually(
      async () =>
        (await h.store().listRecent({ requesterId: 'U1', channelId: 'C1', limit: 5 }))[0]?.state === 'rejected',
      {
        description: 'the request to be marked rejected',
      },
    );
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'GET' && r.path.includes('/composes/'))).toEqual([]);
  });

  it('answers an unknown subcommand with the usage, ephemerally', async () => {
    h = await startHarness();
    const answer = await h.command('frobnicate');
    expect(answer.status).toBe(200);
    const body = answer.json as { response_type: string; text: string; blocks: unknown[] };
    expect(body.response_type).toBe('ephemeral');
    expect(blocksText(body.blocks)).toContain('I don’t know “frobnicate”');
    expect(blocksText(body.blocks)).toContain('/image-builder aws');
    expect(blocksText(body.blocks)).toContain('/image-builder status &lt;compose-id&gt;');
  });

  it('answers the command SLACK_COMMAND names, and its help and hints name that command', async () => {
    h = await startHarness({ env: { SLACK_COMMAND: '/images' } });
    const help = await h.command('help', { command: '/images' });
    expect(help.status).toBe(200);
    const helpText = blocksText((help.json as { blocks: unknown[] }).blocks);
    expect(helpText).toContain('/images aws');
    expect(helpText).not.toContain('/image-builder');
    await h.command('list', { command: '/images', response_url: h.slack.responseUrl('list-images') });
    const list = await h.slack.waitForCall('response_url', (c) => c.responseUrlId === 'list-images');
    expect(JSON.stringify(list.args)).toContain('Try `/images aws`');
  });

  it('joins a public channel it is not in before posting the thread', async () => {
    h = await startHarness({ slack: { channels: { CPUB: 'public-not-member' } } });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' }, 'CPUB');
    await finishedThread('CPUB');
    expect(h.slack.callsTo('conversations.join').map((c) => c.args.channel)).toEqual(['CPUB']);
  });

  it('follows the build in a DM when it cannot post in a private channel, and says so ephemerally', async () => {
    h = await startHarness({ slack: { channels: { GPRIV: 'private' } } });
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' }, 'GPRIV');
    const dm = h.slack.dmChannel('U1');
    await finishedThread(dm);
    const notice = await h.slack.waitForCall('response_url');
    expect(JSON.stringify(notice.args)).toContain('direct messages');
    expect(notice.args.response_type).toBe('ephemeral');
  });

  it('picks the build up again after a restart and finishes the same thread without duplicates', async () => {
    h = await startHarness();
    await orderImage('aws', { distribution: 'rhel-9', share_with_accounts: '123456789012' });
    await h.slack.waitFor(() => h.slack.messages('C1').find((m) => /step 2 of 7/.test(m.text)), { timeoutMs: 10_000 });
    await h.crash();
    await h.restart();
    const { replies } = await finishedThread('C1');
    const posted = h.slack.callsTo('chat.postMessage');
    // One parent, one status reply, one result: nothing posted twice across the restart.
    expect(posted).toHaveLength(3);
    expect(replies).toHaveLength(2);
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toHaveLength(1);
  });
});
