import { blocksText, isObject, type JsonObject } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { blockActionsBody } from '../support/slackRequests';
import { modalLimitProblems } from '../slack/views/slackLimits';
import { useHarness, type Harness } from './harness';

/*
 * Extra packages end to end: the form's last field, looked up in the fake Image Builder's package lists before the
 * modal closes, sent as customizations.packages, and back in the form on Rebuild.
 */

const harness = useHarness();
let h: Harness;
const QUICK = ['pending', 'success'] as const;
const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');

async function openForm(cloud: string): Promise<SlackView> {
  const before = h.slack.views().length;
  expect((await h.command(cloud, { channel_id: 'C1' })).status).toBe(200);
  return h.slack.waitFor(() => h.slack.views()[before], { description: 'the compose form' });
}

const inputIds = (view: SlackView) =>
  view.blocks.filter((b): b is JsonObject => isObject(b) && b.type === 'input').map((b) => b.block_id);

const composeBodies = () => h.imageBuilder.composeRequests();

function result(channel: string) {
  return h.slack.waitFor(() => h.slack.messages(channel).find((m) => /Rebuild/.test(JSON.stringify(m.blocks ?? []))), {
    timeoutMs: 15_000,
    description: 'the result message',
  });
}

describe('extra packages', () => {
  it('are the last field of the form, installed by the build, and pre-filled on Rebuild', async () => {
    h = await harness.start({ imageBuilder: { script: [...QUICK] } });
    const form = await openForm('guest-image');
    expect(inputIds(form).at(-1)).toBe('packages');
    expect(JSON.stringify(form.blocks)).toContain('Extra packages');
    expect(modalLimitProblems(form)).toEqual([]);

    const answer = await h.submitModal({ distribution: 'rhel-9', packages: 'tmux, vim-enhanced @container-tools' });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    const done = await result('C1');
    expect(text(done)).toContain('your image is ready');
    expect(composeBodies()).toEqual([
      expect.objectContaining({ customizations: { packages: ['tmux', 'vim-enhanced', '@container-tools'] } }),
    ]);

    const before = h.slack.views().length;
    await h.post(
      blockActionsBody({
        user: 'U1',
        actionId: 'rebuild',
        source: { message: done, responseUrl: h.slack.responseUrl(`rebuild-${done.ts}`) },
      }),
    );
    const rebuilt = await h.slack.waitFor(() => h.slack.views()[before], { description: 'the rebuild form' });
    const packages = rebuilt.blocks.find((b): b is JsonObject => isObject(b) && b.block_id === 'packages');
    expect((packages?.element as JsonObject).initial_value).toBe('tmux vim-enhanced @container-tools');
  });

  it('names an unknown package on its field with the close match, and builds nothing', async () => {
    h = await harness.start();
    await openForm('guest-image');
    const answer = await h.submitModal({ distribution: 'rhel-9', packages: 'tmux htopp' });
    expect(answer.json).toEqual({
      response_action: 'errors',
      errors: { packages: '“htopp” (did you mean htop?) is not a package of rhel-9.' },
    });
    expect(composeBodies()).toEqual([]);
    expect(await h.store().listNewest({ limit: 10 })).toEqual([]);
  });

  it('are passed through for a distribution without a package list', async () => {
    h = await harness.start({ imageBuilder: { script: [...QUICK] } });
    await openForm('guest-image');
    const answer = await h.submitModal({ distribution: 'rhel-10', packages: 'my-internal-agent' });
    expect(answer.text).toBe('');
    await result('C1');
    expect(composeBodies()).toEqual([
      expect.objectContaining({ distribution: 'rhel-10', customizations: { packages: ['my-internal-agent'] } }),
    ]);
  });
});
