import { defaultScript } from '../fakes/imageBuilderService';
import type { FakeSlackMessage } from '../fakes/slackApi';
import { orderImage, statusRank, threadIn } from '../faults/faultSupport';
import { useHarness } from './harness';

/*
 * What a thread costs in Slack calls when Slack is the slow side. Edits are spaced for the whole workspace, so
 * while several builds move faster than their edits can go out, each build's status reply must skip to the newest
 * state rather than replay every step, never show an older state after a newer one, and the parent in the
 * channel must change once, when the build ends.
 */

jest.setTimeout(60_000);

const CHANNELS = ['CBUSY1', 'CBUSY2', 'CBUSY3', 'CBUSY4'];
// Four builds stepping every 50 ms share edits spaced 150 ms apart: about one edit per build for every twelve steps.
const harnesses = useHarness();

const versions = (message: FakeSlackMessage) => [...message.history.map((v) => v.text), message.text];

it('sends only the newest state of a busy build, in order, and edits the parent once', async () => {
  const h = await harnesses.start({ slackPace: { postPerChannelMs: 0, updateMs: 150 } });
  for (const channel of CHANNELS) await orderImage(h, channel);
  const threads = await h.slack.waitFor(
    () => {
      const found = CHANNELS.map((channel) => threadIn(h, channel));
      // Final: the result posted and the parent's one edit made (they go out together).
      return found.every((t) => t?.result && /Ready/.test(t.parent.text ?? '')) ? found.map((t) => t!) : undefined;
    },
    { timeoutMs: 45_000, description: 'every build to reach its result' },
  );

  // The states each build went through: "Submitting", then one per answer in its script (all distinct).
  const visibleStates = 1 + defaultScript().length;
  for (const thread of threads) {
    const statusTexts = versions(thread.status!);
    expect(statusTexts.at(-1)).toContain('Ready');
    const ranks = statusTexts.map(statusRank);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    // Fewer edits than steps: the steps that came while the edit waited were never sent.
    expect(statusTexts.length).toBeLessThan(visibleStates);

    expect(versions(thread.parent).map((text) => /in progress|Ready/.exec(text)?.[0])).toEqual([
      'in progress',
      'Ready',
    ]);

    const ownTs = new Set([thread.parent.ts, thread.status!.ts, thread.result!.ts]);
    const calls = h.slack.calls.filter(
      (c) =>
        (c.method === 'chat.update' && ownTs.has(String(c.args.ts))) ||
        (c.method === 'chat.postMessage' && c.args.channel === thread.parent.channel),
    );
    // The parent and the result, plus at most one call per visible change: each state of the status reply, and the
    // parent's one change at the end.
    const visibleChanges = visibleStates + 1;
    expect(calls.length).toBeLessThanOrEqual(visibleChanges + 2);
  }
});
