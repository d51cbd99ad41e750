import { blocksText } from '../../src/demo/fakes/blockKit';
import type { ComposeStep, ImageStatusBody } from '../fakes/imageBuilderService';
import type { FakeSlackMessage } from '../fakes/slackApi';
import { signedPost, type SlackRequestBody } from '../support/slackRequests';
import { SIGNING_SECRET, startHarness, type Harness, type HarnessOptions } from './harness';

/*
 * What does not look like what it should: request bodies Slack would never send (but a signed client could), and
 * answers from Image Builder that are not its API's (a proxy's HTML page, a body missing its fields, a status
 * nobody has heard of). The app answers a 4xx or acknowledges, never fails with a 5xx or drops the connection, keeps
 * answering afterwards, and never loses track of a build because of one strange answer.
 */

let h: Harness;
afterEach(async () => h?.close());

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
const form = (body: string): SlackRequestBody => ({
  contentType: 'application/x-www-form-urlencoded',
  text: body,
  payload: {},
});
const json = (body: string): SlackRequestBody => ({ contentType: 'application/json', text: body, payload: {} });
const interaction = (payload: unknown) => form(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());

/** The app still answers its health route and still opens a form for a normal command. */
async function expectStillServing() {
  expect((await fetch(`${h.healthUrl}/healthz`)).status).toBe(200);
  const opened = h.slack.views().length;
  const answer = await h.command('aws');
  expect(answer.status).toBe(200);
  await h.slack.waitFor(() => h.slack.views()[opened], { description: 'a modal for the normal command afterwards' });
}

describe('malformed requests to /slack/events', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  it('answers 400 to a payload field that is not JSON, and to a JSON body that is not JSON', async () => {
    expect((await h.post(form('payload=%7Bnot-json'))).status).toBe(400);
    expect((await h.post(form(`payload=${encodeURIComponent('<html><body>hi</body></html>')}`))).status).toBe(400);
    expect((await h.post(json('{"type": "event_callback",'))).status).toBe(400);
    await expectStillServing();
  });

  it('answers a 4xx, never a 5xx, to payloads of the wrong type, an unknown interaction type and an empty body', async () => {
    const bodies: Record<string, SlackRequestBody> = {
      'a number': form('payload=42'),
      'a string': form(`payload=${encodeURIComponent('"view_submission"')}`),
      'a list': form('payload=%5B%5D'),
      'an unknown interaction type': interaction({ type: 'dancing', user: { id: 'U1' }, team: { id: 'T1' } }),
      'an empty body': form(''),
      'an event without its event': json(JSON.stringify({ type: 'event_callback', team_id: 'T1' })),
    };
    // Nobody acknowledges these; Bolt answers 404 once its 3-second wait for an ack is over, so all at once.
    const answers = await Promise.all(
      Object.entries(bodies).map(async ([what, body]) => [what, (await h.post(body)).status] as const),
    );
    for (const [what, status] of answers) {
      expect({ what, clientError: status >= 400 && status < 500 }).toEqual({ what, clientError: true });
    }
    expect(h.slack.views()).toEqual([]);
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
    await expectStillServing();
  });

  it('acknowledges a JSON body sent where Slack sends a form, and does nothing with it', async () => {
    const answer = await h.post(json(JSON.stringify({ command: '/image-builder', text: 'aws' })));
    expect(answer.status).toBe(200);
    // No trigger, no user: no form can be opened, and nothing is built.
    expect(h.slack.views()).toEqual([]);
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
    await expectStillServing();
  });

  it('acknowledges an App Home event without a user, and a Rebuild press that names no build', async () => {
    const homeless = json(
      JSON.stringify({ type: 'event_callback', team_id: 'T1', event: { type: 'app_home_opened', tab: 'home' } }),
    );
    expect((await h.post(homeless)).status).toBe(200);
    const press = interaction({
      type: 'block_actions',
      user: { id: 'U1' },
      team: { id: 'T1' },
      trigger_id: 'not-a-trigger',
      actions: [{ type: 'button', action_id: 'rebuild', block_id: 'result' }],
    });
    expect((await h.post(press)).status).toBe(200);
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
    await expectStillServing();
  });

  it('refuses a malformed body with a bad signature or an old timestamp with 401, before reading it', async () => {
    const garbage = form('payload=%7Bnot-json');
    expect((await signedPost(h.appUrl, 'not-the-signing-secret', garbage)).status).toBe(401);
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await signedPost(h.appUrl, SIGNING_SECRET, garbage, { timestamp: sixMinutesAgo })).status).toBe(401);
    expect((await signedPost(h.appUrl, SIGNING_SECRET, form('payload=42'), { timestamp: sixMinutesAgo })).status).toBe(
      401,
    );
    await expectStillServing();
  });

  /*
   * A correctly signed payload that has the right `type` but not the fields that go with it fails inside Bolt's
   * routing or a listener; the app answers 400 rather than Bolt's 500. Only a holder of the signing secret can send
   * these; Slack itself never does. Not tested: a payload that is JSON `null` makes Bolt's HTTPReceiver throw outside
   * any catch (`body.ssl_check` of null); the request is never answered, and the bot logs the unhandled rejection
   * instead of ending (src/index.ts).
   */
  it('answers a 4xx to a view_submission without its view', async () => {
    expect(
      (await h.post(interaction({ type: 'view_submission', user: { id: 'U1' }, team: { id: 'T1' } }))).status,
    ).toBeLessThan(500);
  });

  it('answers a 4xx to block_actions whose actions are not a list', async () => {
    expect(
      (await h.post(interaction({ type: 'block_actions', user: { id: 'U1' }, team: { id: 'T1' }, actions: 'rebuild' })))
        .status,
    ).toBeLessThan(500);
  });

  it('answers a slash command without a text field', async () => {
    const answer = await h.post(
      form(
        new URLSearchParams({ command: '/image-builder', user_id: 'U1', channel_id: 'C1', team_id: 'T1' }).toString(),
      ),
    );
    expect(answer.status).toBeLessThan(500);
  });
});

describe('malformed answers from Image Builder while a build is followed', () => {
  const PROXY_PAGE =
    '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';
  const LOGIN_PAGE = '<!DOCTYPE html><html><body><form action="/login">Sign in to continue</form></body></html>';
  const TROUBLE = /Image Builder has not answered the last few times/;
  const POLL = { method: 'GET', path: '/composes/' } as const;

  async function orderAwsImage(options: HarnessOptions = {}) {
    h = await startHarness(options);
    await h.command('aws');
    await h.slack.waitForCall('views.open');
    const submitted = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
    expect(submitted.status).toBe(200);
    return h.imageBuilder.waitFor((fake) => [...fake.composes.keys()][0], { description: 'the compose' });
  }

  const polls = () =>
    h.imageBuilder.apiRequests().filter((r) => r.method === 'GET' && r.path.includes('/composes/')).length;
  const statusReply = () => {
    const [parent] = h.slack.messages('C1').filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    return parent && h.slack.messages('C1').find((m) => m.thread_ts === parent.ts && m.ts !== parent.ts);
  };
  /** Everything the status reply has shown, every version of it. */
  const statusHistory = () => {
    const reply = statusReply();
    return reply ? [...reply.history.map((v) => `${v.text}\n${blocksText(v.blocks)}`), text(reply)].join('\n') : '';
  };
  const row = async () => (await h.store().listNewest({ limit: 1 }))[0]!;

  /** The thread's replies once the result is there: the status reply and exactly one result. */
  async function finishedReplies() {
    const result = await h.slack.waitFor(
      () => h.slack.messages('C1').find((m) => /Rebuild/.test(JSON.stringify(m.blocks ?? []))),
      {
        timeoutMs: 20_000,
        description: 'the result reply',
      },
    );
    const replies = h.slack.messages('C1').filter((m) => m.thread_ts === result.thread_ts && m.ts !== m.thread_ts);
    expect(replies).toHaveLength(2);
    expect(h.slack.messages('C1').filter((m) => /Rebuild/.test(JSON.stringify(m.blocks ?? [])))).toHaveLength(1);
    return { result, replies };
  }

  /** Waits for the trouble line, and checks the build is still being followed at that moment. */
  async function expectTroubleWhileTracked() {
    await h.slack.waitFor(() => TROUBLE.test(text(statusReply())), {
      timeoutMs: 15_000,
      description: 'the trouble line in the thread',
    });
    const now = await row();
    expect(now.state).toBe('tracking');
    expect(now.finishedAt).toBeNull();
    expect(now.pollFailures).toBeGreaterThanOrEqual(3);
  }

  async function expectFinishedOnce() {
    const { result } = await finishedReplies();
    expect(text(result)).toContain('your image is ready');
    const done = await row();
    expect(done.status).toBe('success');
    // The trouble line goes once Image Builder answers properly again.
    expect(text(statusReply())).not.toMatch(TROUBLE);
    expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(h.slack.problems).toEqual([]);
  }

  it('rides out a short burst of proxy 502 pages inside one poll, without troubling the thread', async () => {
    const composeId = await orderAwsImage({
      imageBuilder: { script: ['pending', 'building', 'success'] },
      beforeStart: (_slack, ib) => ib.fail(3, 502, PROXY_PAGE, POLL),
    });
    await expectFinishedOnce();
    expect(statusHistory()).not.toMatch(TROUBLE);
    expect(h.imageBuilder.composes.get(composeId)!.polls).toBe(3);
  });

  it('says so in the thread when a proxy answers every poll with an HTML 502 page, and finishes once it stops', async () => {
    // The client tries each poll four times: sixteen pages fail four polls in a row.
    await orderAwsImage({
      imageBuilder: { script: ['pending', 'building', 'success'] },
      beforeStart: (_slack, ib) => ib.fail(16, 502, PROXY_PAGE, POLL),
    });
    await expectTroubleWhileTracked();
    const seen = polls();
    await h.imageBuilder.waitFor(() => polls() > seen, { description: 'polling to go on' });
    await expectFinishedOnce();
  });

  it('keeps following a build through 200 answers that are a login page instead of JSON', async () => {
    await orderAwsImage({
      imageBuilder: { script: ['pending', 'building', 'success'] },
      beforeStart: (_slack, ib) => ib.fail(4, 200, LOGIN_PAGE, POLL),
    });
    await expectTroubleWhileTracked();
    await expectFinishedOnce();
    expect(h.logLines.some((l) => l.includes('not JSON'))).toBe(true);
  });

  it('keeps following a build through 200 answers missing image_status', async () => {
    await orderAwsImage({
      imageBuilder: { script: ['pending', 'building', 'success'] },
      beforeStart: (_slack, ib) => ib.fail(4, 200, { request: { distribution: 'rhel-9', image_requests: [] } }, POLL),
    });
    await expectTroubleWhileTracked();
    await expectFinishedOnce();
  });

  it('keeps following a build through answers with progress of the wrong type, and finishes when they are right again', async () => {
    const wrongProgress: ImageStatusBody = { status: 'building', progress: 'half way' };
    const composeId = await orderAwsImage({
      beforeStart: (_slack, ib) => ib.script('next', ['pending', ...Array<ComposeStep>(50).fill(wrongProgress)]),
    });
    await expectTroubleWhileTracked();
    const seen = polls();
    await h.imageBuilder.waitFor(() => polls() > seen, { description: 'polling to go on' });
    h.imageBuilder.script(composeId, ['building', 'success']);
    await expectFinishedOnce();
  });

  it('shows a status it does not know as the service spelled it, and keeps following the build', async () => {
    const composeId = await orderAwsImage({
      beforeStart: (_slack, ib) => ib.script('next', ['pending', { status: 'dancing' }]),
    });
    await h.slack.waitFor(() => /dancing/.test(text(statusReply())), {
      timeoutMs: 10_000,
      description: 'the unknown status in the thread',
    });
    expect(text(statusReply())).not.toMatch(TROUBLE);
    const seen = polls();
    await h.imageBuilder.waitFor(() => polls() > seen + 1, { description: 'polling to go on' });
    const now = await row();
    expect([now.state, now.status, now.finishedAt]).toEqual(['tracking', 'dancing', null]);

    h.imageBuilder.setFinal(composeId, 'success');
    await expectFinishedOnce();
    expect(statusHistory()).toMatch(/dancing/);
  });
});
