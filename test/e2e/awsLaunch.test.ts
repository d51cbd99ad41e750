import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { blockActionsBody } from '../support/slackRequests';
import { useHarness, type Harness } from './harness';

/*
 * What an AWS requester adds for launching and keeping the AMI, end to end: an EC2 key pair for run-instances and
 * regions to copy to. Neither is anything Image Builder takes, so the compose body stays as it was; the result's
 * commands carry them, the next form remembers them and Rebuild brings them back.
 */

const harness = useHarness();
let h: Harness;

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

function element(view: SlackView, blockId: string): JsonObject | undefined {
  const block = view.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === blockId);
  return block?.element as JsonObject | undefined;
}

const chosenRegions = (view: SlackView) =>
  ((element(view, 'copy_to_regions')?.initial_options ?? []) as { value: string }[]).map((o) => o.value);

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

describe('launching and copying an AWS image', () => {
  it('launches with the key pair, copies to each region chosen, and offers both again next time and on Rebuild', async () => {
    h = await harness.start({ imageBuilder: { script: ['pending', 'success'] } });
    const form = await openForm();
    expect(element(form, 'copy_to_regions')).toMatchObject({ type: 'multi_static_select', max_selected_items: 10 });

    const answer = await h.submitModal(
      {
        distribution: 'rhel-9',
        share_with_accounts: '123456789012',
        copy_to_regions: ['eu-west-1', 'ap-southeast-7'],
        key_pair_name: "ops key's $(id)",
      },
      { id: 'U1', name: 'jane' },
      form,
    );
    expect(answer.text).toBe('');

    const result = text(await resultReply());
    // Only the service's fields reach it: the fake checks the body against the spec and would refuse unknown keys.
    const [body] = composeBodies();
    expect(body?.image_requests).toEqual([
      expect.objectContaining({
        upload_request: { type: 'aws', options: { share_with_accounts: ['123456789012'] } },
      }),
    ]);
    expect(JSON.stringify(body)).not.toContain('ops key');
    expect(result).toMatch(/aws ec2 run-instances [^\n]* --key-name 'ops key'\\''s \$\(id\)'/);
    expect(result).toContain(`ssh -i 'ops key'\\''s $(id).pem' ec2-user@ADDRESS`);
    const copies = result.match(/aws ec2 copy-image [^\n]*/g) ?? [];
    expect(copies.map((command) => /--region ([\w-]+)/.exec(command)?.[1])).toEqual([
      'us-east-1',
      'eu-west-1',
      'ap-southeast-7',
    ]);

    await eventually(() => h.store().getDefaults('U1', 'aws'), { description: 'the remembered entries' });
    const next = await openForm();
    expect(chosenRegions(next)).toEqual(['eu-west-1', 'ap-southeast-7']);
    expect(element(next, 'key_pair_name')?.initial_value).toBe("ops key's $(id)");

    const message = h.slack.messages('C1').find((m) => m.thread_ts && /Rebuild/.test(JSON.stringify(m.blocks ?? [])));
    const opened = h.slack.views().length;
    await h.post(
      blockActionsBody({
        user: 'U1',
        actionId: 'rebuild',
        source: { message: message!, responseUrl: h.slack.responseUrl('rebuild') },
      }),
    );
    const rebuild = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the rebuild form' });
    expect(chosenRegions(rebuild)).toEqual(['eu-west-1', 'ap-southeast-7']);
    expect(element(rebuild, 'key_pair_name')?.initial_value).toBe("ops key's $(id)");
  });

  it('refuses a key pair name that is not one on its field, and submits nothing', async () => {
    h = await harness.start();
    const form = await openForm();
    const answer = await h.submitModal(
      { distribution: 'rhel-9', share_with_accounts: '123456789012', key_pair_name: 'café-key' },
      { id: 'U1', name: 'jane' },
      form,
    );
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { key_pair_name: 'An EC2 key pair name is 1 to 255 plain ASCII characters, on one line.' },
    });
    expect(composeBodies()).toEqual([]);
  });
});
