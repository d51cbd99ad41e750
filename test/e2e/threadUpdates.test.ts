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

it('keeps a build under way moving while the builds that just ended bring their messages in line', async () => {
  const h = await harnesses.start({ slackPace: { postPerChannelMs: 0, updateMs: 100 } });
  // One build changes at nearly every poll for a few seconds; three others end at their second poll, together.
  const longSteps = Array.from({ length: 20 }, (_, i) => ({
    status: 'building',
    progress: { done: i + 1, total: 20 },
  }));
  h.imageBuilder.script('next', ['pending', ...longSteps, 'success']);
  await orderImage(h, 'CLONG');
  const long = await h.slack.waitFor(() => threadIn(h, 'CLONG')?.status, { description: "the long build's thread" });
  const quickChannels = ['CQUICK1', 'CQUICK2', 'CQUICK3'];
  for (const channel of quickChannels) {
    h.imageBuilder.script('next', ['pending', 'success']);
    await orderImage(h, channel);
  }
  const threads = await h.slack.waitFor(
    () => {
      const found = [...quickChannels, 'CLONG'].map((channel) => threadIn(h, channel));
      return found.every((t) => t?.result && /Ready/.test(t.parent.text ?? '')) ? found.map((t) => t!) : undefined;
    },
    { timeoutMs: 45_000, description: 'every build to reach its result and its parent to say so' },
  );
  const quick = threads.slice(0, quickChannels.length);
  const at = (call: { at: Date }) => call.at.getTime();
  const updates = h.slack.callsTo('chat.update');
  const shows = (call: { args: { text?: unknown } }, state: RegExp) => state.test(String(call.args.text));

  // The news went out at once: each ended build's result was posted while the long one was still building.
  const longEndedAt = at(updates.find((c) => c.args.ts === long.ts && shows(c, /Ready/))!);
  const posts = h.slack.callsTo('chat.postMessage');
  for (const thread of quick) {
    const result = posts.find((c) => (c.response.body as { ts?: string }).ts === thread.result!.ts)!;
    expect(at(result)).toBeLessThan(longEndedAt);
  }

  // Their parents and status replies were brought in line in the turns the long build's progress left free, not
  // all at once ahead of it: Slack's edit budget goes to news still to tell.
  const parents = new Set(quick.map((t) => t.parent.ts));
  const statuses = new Set(quick.map((t) => t.status!.ts));
  const isFinalEdit = (c: (typeof updates)[number]) =>
    parents.has(String(c.args.ts)) || (statuses.has(String(c.args.ts)) && shows(c, /Ready/));
  const quickFinals = updates.filter((c) => isFinalEdit(c) && at(c) < longEndedAt);
  expect(quickFinals).toHaveLength(2 * quick.length);
  const between = updates.filter(
    (c) => c.args.ts === long.ts && at(c) > at(quickFinals[0]!) && at(c) < at(quickFinals.at(-1)!),
  );
  expect(between.length).toBeGreaterThanOrEqual(2);
});
