import { slackError, type FakeSlackMessage } from '../fakes/slackApi';
import type { SlackView } from '../fakes/slackApi';
import { POLL_CONCURRENCY } from '../../src/tracking/poller';
import { useHarness, type Harness } from './harness';

/*
 * A submission never waits for Slack: the compose is sent as soon as the request is stored, and the thread, posted
 * at Slack's per-channel pace, catches up — still one parent, one status reply and one result per build.
 */

const harnesses = useHarness();
const ORDERS = 8;
const FILLS = { distribution: 'rhel-9', architecture: 'x86_64', share_with_accounts: '123456789012' };

/** Opens one modal per person in the channel and returns them in order. */
async function openModals(h: Harness, count: number, channel: string): Promise<SlackView[]> {
  for (let i = 0; i < count; i += 1) {
    expect((await h.command('aws', { channel_id: channel, user_id: `U${i + 1}` })).status).toBe(200);
    await h.slack.waitFor(() => h.slack.views().length > i, { description: `modal ${i + 1}` });
  }
  return h.slack.views().slice(-count);
}

const composePosts = (h: Harness) => h.imageBuilder.apiRequests().filter((r) => r.method === 'POST');

/** The channel's threads once each has its parent, its status reply and its result. */
function finishedThreads(h: Harness, channel: string, count: number) {
  return h.slack.waitFor(
    () => {
      const messages = h.slack.messages(channel);
      const parents = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
      const threads = parents.map((parent) => ({
        parent,
        replies: messages.filter((m: FakeSlackMessage) => m.thread_ts === parent.ts && m.ts !== parent.ts),
      }));
      return threads.length >= count && threads.every((t) => t.replies.length >= 2) ? threads : undefined;
    },
    { timeoutMs: 30_000, description: `${count} finished threads in ${channel}` },
  );
}

describe('a submission never waits for Slack', () => {
  it('sends every order of a busy channel before the paced threads are posted, one thread each', async () => {
    const h = await harnesses.start({ slackPace: { postPerChannelMs: 250, updateMs: 0 } });
    const views = await openModals(h, ORDERS, 'C1');

    const answers = await Promise.all(views.map((view, i) => h.submitModal(FILLS, `U${i + 1}`, view)));
    expect(answers.map((a) => a.status)).toEqual(Array<number>(ORDERS).fill(200));

    await h.slack.waitFor(() => composePosts(h).length === ORDERS, { description: 'every POST /compose' });
    const lastPost = Math.max(...composePosts(h).map((r) => r.at.getTime()));
    const threads = await finishedThreads(h, 'C1', ORDERS);
    // The status replies alone take ORDERS × 250 ms at the channel's pace; every compose went out before they did.
    const lastStatusReply = Math.max(
      ...threads.map((t) =>
        h.slack
          .callsTo('chat.postMessage')
          .find((c) => c.args.thread_ts === t.parent.ts)!
          .at.getTime(),
      ),
    );
    expect(lastPost).toBeLessThan(lastStatusReply);

    expect(threads).toHaveLength(ORDERS);
    for (const thread of threads) expect(thread.replies).toHaveLength(2);
    expect(composePosts(h)).toHaveLength(ORDERS);
  });

  it('sends more orders than the poller has slots before the channel has posted a few messages', async () => {
    const h = await harnesses.start({ slackPace: { postPerChannelMs: 200, updateMs: 0 } });
    const count = POLL_CONCURRENCY + 4;
    const views = await openModals(h, count, 'C1');

    await Promise.all(views.map((view, i) => h.submitModal(FILLS, `U${i + 1}`, view)));

    await h.slack.waitFor(() => composePosts(h).length === count, { description: 'every POST /compose' });
    const lastPost = Math.max(...composePosts(h).map((r) => r.at.getTime()));
    const threads = await finishedThreads(h, 'C1', count);
    // Had a step waited for the channel's turn after its POST, the last orders would have waited for slots until
    // the first threads were posted: the last one after about eight posts.
    const fourthPost = h.slack.callsTo('chat.postMessage')[3]!.at.getTime();
    expect(lastPost).toBeLessThan(fourthPost);
    expect(threads).toHaveLength(count);
    for (const thread of threads) expect(thread.replies).toHaveLength(2);
    expect(composePosts(h)).toHaveLength(count);
  });

  it('sends the compose once while Slack refuses posts, and posts the thread once Slack answers again', async () => {
    const h = await harnesses.start();
    const [view] = await openModals(h, 1, 'C1');
    let refusing = true;
    h.slack.on('chat.postMessage', () => (refusing ? slackError('service_unavailable') : undefined));

    expect((await h.submitModal(FILLS, 'U1', view)).status).toBe(200);
    await h.slack.waitFor(() => composePosts(h).length === 1, { description: 'the POST /compose' });
    await h.slack.waitForCall('chat.postMessage');
    expect(h.slack.messages('C1')).toEqual([]);

    refusing = false;
    const [thread] = await finishedThreads(h, 'C1', 1);
    expect(thread!.replies).toHaveLength(2);
    expect(h.slack.messages('C1').filter((m) => !m.thread_ts || m.thread_ts === m.ts)).toHaveLength(1);
    expect(composePosts(h)).toHaveLength(1);
  });
});
