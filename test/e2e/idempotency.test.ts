import { blocksText } from '../../src/demo/fakes/blockKit';
import type { FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { appHomeOpenedEvent, blockActionsBody, eventCallbackBody, submitModalBody } from '../support/slackRequests';
import { startHarness, type Harness } from './harness';

/*
 * Slack delivers some things more than once: a view_submission re-sent after a slow answer, a button pressed twice,
 * an event retried with x-slack-retry-num. Each must still mean one build, one compose and one thread.
 */

let h: Harness;
afterEach(async () => h?.close());

/** Two polls to the end, so a thread finishes in well under a second. */
const QUICK = ['pending', 'success'] as const;
const AWS_ORDER = { distribution: 'rhel-9', share_with_accounts: '123456789012' };

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
const parents = (channel: string) => h.slack.messages(channel).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
const composePosts = () =>
  h.imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));

/** The result reply (the one with the Rebuild button) of the channel's only thread, once it is there. */
function finishedResult(channel = 'C1') {
  return h.slack.waitFor(
    () => {
      const [parent] = parents(channel);
      return (
        parent &&
        h.slack
          .messages(channel)
          .find((m) => m.thread_ts === parent.ts && /Rebuild/.test(JSON.stringify(m.blocks ?? [])))
      );
    },
    { timeoutMs: 15_000, description: `the result reply in ${channel}` },
  );
}

async function openAwsModal(): Promise<SlackView> {
  const opened = h.slack.views().length;
  const ack = await h.command('aws');
  expect(ack.status).toBe(200);
  return h.slack.waitFor(() => h.slack.views()[opened], { description: 'the AWS modal' });
}

async function expectOneBuild() {
  await finishedResult();
  expect(await h.store().listNewest({ limit: 10 })).toHaveLength(1);
  expect(composePosts()).toHaveLength(1);
  expect(parents('C1')).toHaveLength(1);
  const replies = h.slack.messages('C1').filter((m) => m.thread_ts && m.thread_ts !== m.ts);
  // The status reply and the result: nothing posted twice.
  expect(replies).toHaveLength(2);
  expect(h.slack.problems).toEqual([]);
}

describe('a view_submission delivered twice', () => {
  it('builds once when the same submission arrives again after the first was answered', async () => {
    h = await startHarness({ imageBuilder: { script: [...QUICK] } });
    const submission = submitModalBody(await openAwsModal(), 'U1', AWS_ORDER);

    const first = await h.post(submission);
    const again = await h.post(submission);

    // Both close the modal: the second is the same request, not an error.
    expect([first.status, first.text]).toEqual([200, '']);
    expect([again.status, again.text]).toEqual([200, '']);
    await expectOneBuild();
  });

  it('answers the second delivery as the same request, not as over the in-flight limit', async () => {
    // Still building when the second delivery comes, so the first counts as in flight.
    h = await startHarness({
      imageBuilder: { script: ['pending', 'pending', 'pending', 'pending', 'success'] },
      policy: 'limits:\n  in_flight_per_user: 1\n',
    });
    const submission = submitModalBody(await openAwsModal(), 'U1', AWS_ORDER);

    const first = await h.post(submission);
    // Slack re-sends it while the first build is still in flight: it must not count against the limit itself.
    const again = await h.post(submission, { retryNum: 1 });

    expect([first.status, first.text]).toEqual([200, '']);
    expect([again.status, again.text]).toEqual([200, '']);
    await expectOneBuild();
    const refusals = (await h.store().listAudit(new Date(0))).filter((e) => e.kind === 'refused');
    expect(refusals).toEqual([]);
  });

  it('builds once when the same submission arrives twice at the same moment', async () => {
    h = await startHarness({ imageBuilder: { script: [...QUICK] } });
    const submission = submitModalBody(await openAwsModal(), 'U1', AWS_ORDER);

    const answers = await Promise.all([h.post(submission), h.post(submission), h.post(submission)]);

    expect(answers.map((a) => [a.status, a.text])).toEqual([
      [200, ''],
      [200, ''],
      [200, ''],
    ]);
    await expectOneBuild();
  });
});

describe('a Rebuild button pressed twice', () => {
  async function finishedBuild() {
    const submitted = await h.submitModal(AWS_ORDER, 'U1', await openAwsModal());
    expect(submitted.status).toBe(200);
    return finishedResult();
  }

  it('opens one form per press and submits nothing on its own', async () => {
    h = await startHarness({ imageBuilder: { script: [...QUICK] } });
    const result = await finishedBuild();
    const modalsBefore = h.slack.views().length;
    const opensBefore = h.slack.callsTo('views.open').length;
    const press = () =>
      h.post(
        blockActionsBody({
          user: 'U1',
          actionId: 'rebuild',
          source: { message: result, responseUrl: h.slack.responseUrl(`rebuild-${Date.now()}`) },
        }),
      );

    const answers = await Promise.all([press(), press()]);

    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await h.slack.waitFor(() => h.slack.callsTo('views.open').length >= opensBefore + 2, {
      description: 'both presses to open a form',
    });
    const opened = h.slack.views().slice(modalsBefore);
    expect(opened).toHaveLength(2);
    expect(opened.map((v) => blocksText(v.blocks))).toEqual([
      expect.stringContaining('Distribution'),
      expect.stringContaining('Distribution'),
    ]);
    // A rebuild only opens a form: nothing new is written, composed or posted until someone sends it.
    expect(await h.store().listNewest({ limit: 10 })).toHaveLength(1);
    expect(composePosts()).toHaveLength(1);
    expect(parents('C1')).toHaveLength(1);
  });

  it('opens at most one form when Slack delivers the same press twice', async () => {
    h = await startHarness({ imageBuilder: { script: [...QUICK] } });
    const result = await finishedBuild();
    const modalsBefore = h.slack.views().length;
    const opensBefore = h.slack.callsTo('views.open').length;
    const press = blockActionsBody({
      user: 'U1',
      actionId: 'rebuild',
      source: { message: result, responseUrl: h.slack.responseUrl('rebuild') },
    });

    const first = await h.post(press);
    await h.slack.waitFor(() => h.slack.views().length > modalsBefore, {
      description: 'the first delivery to open the form',
    });
    const again = await h.post(press);

    expect([first.status, again.status]).toEqual([200, 200]);
    // Whatever the app tries for the copy, Slack holds a trigger to one use: the copy cannot stack a second form.
    await h.slack.waitFor(() => h.slack.callsTo('views.open').length > opensBefore, { description: 'views.open' });
    expect(h.slack.views().slice(modalsBefore)).toHaveLength(1);
    expect(await h.store().listNewest({ limit: 10 })).toHaveLength(1);
    expect(composePosts()).toHaveLength(1);
    // Still answering as usual afterwards.
    expect((await fetch(`${h.healthUrl}/healthz`)).status).toBe(200);
  });
});

describe('an Events API retry', () => {
  const publishes = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user);

  it('publishes the same App Home for the delivery and each retry of app_home_opened', async () => {
    h = await startHarness();
    const event = eventCallbackBody(appHomeOpenedEvent('U1'));

    const answers = [];
    for (const retryNum of [undefined, 1, 2]) {
      answers.push(await h.post(event, retryNum === undefined ? {} : { retryNum, retryReason: 'http_timeout' }));
    }

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const calls = await h.slack.waitFor(() => (publishes('U1').length >= 1 ? publishes('U1') : undefined), {
      description: 'the Home to be published',
    });
    for (const call of calls) expect(call.response.body).toMatchObject({ ok: true });
    expect(h.slack.homeView('U1')).toBeDefined();
    // However many times it was published, every copy shows the same thing.
    await eventually(() => publishes('U1').length === calls.length, { description: 'publishing to settle' });
    const shown = new Set(publishes('U1').map((c) => blocksText((c.args.view as { blocks?: unknown[] }).blocks)));
    expect(shown.size).toBe(1);
    expect(h.slack.problems).toEqual([]);
  });

  it('publishes the App Home when only a retry arrives (the first delivery was lost)', async () => {
    h = await startHarness();
    const answer = await h.post(eventCallbackBody(appHomeOpenedEvent('U2')), {
      retryNum: 1,
      retryReason: 'http_error',
    });
    expect(answer.status).toBe(200);
    await h.slack.waitFor(() => publishes('U2')[0], { description: 'the Home to be published for U2' });
    expect(h.slack.homeView('U2')).toBeDefined();
  });
});

describe('after duplicates', () => {
  it('still takes a new, different order from the same person as a build of its own', async () => {
    h = await startHarness({ imageBuilder: { script: [...QUICK] } });
    const firstModal = await openAwsModal();
    const submission = submitModalBody(firstModal, 'U1', AWS_ORDER);
    await Promise.all([h.post(submission), h.post(submission)]);
    await finishedResult();

    const second = await h.submitModal(
      { distribution: 'rhel-10', share_with_accounts: '123456789012' },
      'U1',
      await openAwsModal(),
    );
    expect(second.status).toBe(200);
    await h.slack.waitFor(() => parents('C1').length === 2 && parents('C1').every((p) => /Ready/.test(text(p))), {
      timeoutMs: 15_000,
      description: 'two finished threads',
    });
    expect(composePosts()).toHaveLength(2);
    expect(await h.store().listNewest({ limit: 10 })).toHaveLength(2);
  });
});
