import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { blockActionsBody } from '../support/slackRequests';
import { ed25519Key, privateKeyPem, rsaKey } from '../providers/support/sshKeys';
import { useHarness, type Harness } from './harness';

/*
 * Login access end to end: the SSH key and user name fields in the AWS form, the user the fake Image Builder
 * receives, the ssh line in the result, the key remembered for the next form and brought back by Rebuild — and a
 * pasted private key refused on its field, never sent, remembered, posted to Slack or logged (at debug level).
 */

const harness = useHarness();
let h: Harness;

const JANE = { id: 'U1', name: 'Jane.Doe' };
const KEY = ed25519Key('jane@laptop');

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
const inputIds = (view: SlackView) =>
  view.blocks.flatMap((b) => (isObject(b) && b.type === 'input' ? [String(b.block_id)] : []));

function initialValue(view: SlackView, blockId: string): string | undefined {
  const block = view.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === blockId);
  const element = block?.element as JsonObject | undefined;
  return typeof element?.initial_value === 'string' ? element.initial_value : undefined;
}

async function openForm(): Promise<SlackView> {
  const opened = h.slack.views().length;
  expect((await h.command('aws', { user_id: 'U1', channel_id: 'C1' })).status).toBe(200);
  return h.slack.waitFor(() => h.slack.views()[opened], { description: 'the AWS form' });
}

function resultReply(): Promise<FakeSlackMessage> {
  return h.slack.waitFor(
    () => h.slack.messages('C1').find((m) => m.thread_ts && /Rebuild/.test(JSON.stringify(m.blocks ?? []))),
    { timeoutMs: 15_000, description: 'the result reply' },
  );
}

const composeBodies = () => h.imageBuilder.composeRequests();

describe('logging in to the image', () => {
  it('creates the requester’s user with the key, says how to ssh in, and offers the key again next time', async () => {
    h = await harness.start({ imageBuilder: { script: ['pending', 'success'] } });
    const form = await openForm();
    expect(inputIds(form)).toEqual([
      'start_from',
      'distribution',
      'architecture',
      'image_name',
      'share_with_accounts',
      'copy_to_regions',
      'key_pair_name',
      'ssh_public_key',
      'login_user',
      'packages',
    ]);
    const answer = await h.submitModal(
      { distribution: 'rhel-9', share_with_accounts: '123456789012', ssh_public_key: KEY },
      JANE,
      form,
    );
    expect(answer.text).toBe('');

    const result = await resultReply();
    expect(composeBodies()[0]?.customizations).toEqual({
      users: [{ name: 'jane_doe', ssh_key: KEY, groups: ['wheel'] }],
    });
    expect(text(result)).toMatch(/aws ec2 run-instances [^\n]+\n[^]*ssh jane_doe@ADDRESS/);

    await eventually(() => h.store().getDefaults('U1', 'aws'), { description: 'the remembered entries' });
    expect(initialValue(await openForm(), 'ssh_public_key')).toBe(KEY);

    const opened = h.slack.views().length;
    await h.post(
      blockActionsBody({
        user: 'U1',
        actionId: 'rebuild',
        source: { message: result, responseUrl: h.slack.responseUrl('rebuild') },
      }),
    );
    const rebuild = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the rebuild form' });
    expect([initialValue(rebuild, 'ssh_public_key'), initialValue(rebuild, 'login_user')]).toEqual([KEY, 'jane_doe']);
  });

  it('refuses a weak RSA key and root on their fields, and submits nothing', async () => {
    h = await harness.start();
    const form = await openForm();
    const answer = await h.submitModal(
      { distribution: 'rhel-9', share_with_accounts: '123456789012', ssh_public_key: rsaKey(1024), login_user: 'root' },
      JANE,
      form,
    );
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: {
        ssh_public_key: expect.stringContaining('This RSA key has 1024 bits'),
        login_user: expect.stringContaining('root is not offered'),
      },
    });
    expect(composeBodies()).toEqual([]);
  });

  it('refuses a pasted private key with a warning, and never sends, remembers, posts or logs it', async () => {
    h = await harness.start({ env: { LOG_LEVEL: 'debug' } });
    const privateKey = privateKeyPem();
    const secretLine = privateKey.split('\n')[1]!;
    const form = await openForm();
    const answer = await h.submitModal(
      { distribution: 'rhel-9', share_with_accounts: '123456789012', ssh_public_key: privateKey },
      JANE,
      form,
    );
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { ssh_public_key: expect.stringMatching(/PRIVATE key: it was not sent or kept/) },
    });
    expect(answer.text).not.toContain(secretLine);
    expect(composeBodies()).toEqual([]);
    expect(await h.store().getDefaults('U1', 'aws')).toBeUndefined();
    expect(JSON.stringify(h.slack.calls)).not.toContain(secretLine);
    expect(h.logLines.some((line) => line.includes('"level":"debug"'))).toBe(true);
    expect(h.logLines.join('\n')).not.toContain(secretLine);
  });
});
