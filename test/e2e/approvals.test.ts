import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { blocksText } from '../../src/demo/fakes/blockKit';
import type { Clock } from '../../src/platform/clock';
import { openStore } from '../../src/store/openStore';
import type { FakeSlackCall, FakeSlackMessage, SlackView } from '../fakes/slackApi';
import { eventually } from '../support/eventually';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { appHomeOpenedEvent, blockActionsBody, eventCallbackBody, submitModalBody } from '../support/slackRequests';
import { startHarness, type Harness, type HarnessOptions } from './harness';

/*
 * Approvals through the real app, the fake Slack and the fake Image Builder: a request the policy holds waits in
 * Slack (its thread says for whom and why, the approvals channel has its Approve and Deny), and is built exactly once
 * when approved — or never, when denied, left undecided, or no longer allowed.
 */

const ALICE = 'U0ALICE01';
const APPROVER = 'U0APPROVE';
const SECOND_APPROVER = 'U0SECOND2';
const BOB = 'U0BOB0002';
const BUILDS = 'C0BUILDS1';
const OPEN = 'C0OPEN002';
const APPROVALS = 'C0APPROVE';
const ACCOUNT = '123456789012';
const OUTSIDE_ACCOUNT = '210987654321';
const QUICK = ['pending', 'success'] as const;

const policy = (extra = '') => `
sharing:
  "*":
    aws_accounts: ["${ACCOUNT}"]
approvals:
  approvers:
    users: [${APPROVER}, ${SECOND_APPROVER}]
  channel: ${APPROVALS}
  required_in: [${BUILDS}]
  outside_sharing: true
${extra}`;

let h: Harness;
afterEach(async () => h?.close());

const start = (options: HarnessOptions = {}) =>
  startHarness({ policy: policy(), imageBuilder: { script: [...QUICK] }, ...options }).then((started) => (h = started));

const text = (m: FakeSlackMessage | undefined) => (m ? `${m.text}\n${blocksText(m.blocks)}` : '');
const composePosts = () =>
  h.imageBuilder.apiRequests().filter((r) => r.method === 'POST' && r.path.endsWith('/compose'));
const threadOf = (channel: string) => {
  const parent = h.slack.messages(channel).find((m) => !m.thread_ts || m.thread_ts === m.ts);
  return parent ? h.slack.messages(channel).filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts) : [];
};
const audit = async (kind: string) => (await h.store().listAudit(new Date(0))).filter((e) => e.kind === kind);

/** Alice asks for an AWS image in `channel`, shared with `account`; resolves once the modal closed. */
async function ask(channel = BUILDS, account = ACCOUNT, user = ALICE): Promise<void> {
  const opened = h.slack.views().length;
  expect((await h.command('aws', { user_id: user, channel_id: channel })).status).toBe(200);
  const form = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the AWS form' });
  const answer = await h.post(submitModalBody(form, user, { distribution: 'rhel-9', share_with_accounts: account }));
  expect([answer.status, answer.text]).toEqual([200, '']);
}

/** The request's message in the approvals channel as it first showed, with its buttons (a click may come late). */
const approvalMessage = () =>
  h.slack
    .waitFor(() => h.slack.messages(APPROVALS).find((m) => /Approve/.test(JSON.stringify(m.blocks ?? []))), {
      description: 'the message in the approvals channel',
    })
    .then((message) => structuredClone(message));

/** The waiting request, once the tracker has announced it. */
const waitingRequest = () =>
  eventually(async () => (await h.store().listAwaitingApproval(10))[0], { description: 'a request waiting' });

function press(message: FakeSlackMessage, actionId: 'approve_request' | 'deny_request', user: string) {
  return h.post(
    blockActionsBody({
      user,
      actionId,
      source: { message: { ...message, channel: APPROVALS }, responseUrl: h.slack.responseUrl(`press-${user}`) },
    }),
  );
}

async function denyWith(message: FakeSlackMessage, user: string, reason: string) {
  const opened = h.slack.views().length;
  expect((await press(message, 'deny_request', user)).status).toBe(200);
  const modal: SlackView = await h.slack.waitFor(() => h.slack.views()[opened], { description: 'the Deny modal' });
  return h.post(submitModalBody(modal, user, { deny_reason: reason }));
}

const ephemeralTo = (user: string) =>
  h.slack.waitFor(() => h.slack.ephemerals(APPROVALS).find((e) => e.user === user), {
    description: `a private answer to ${user}`,
  });

describe('a request the policy holds for approval', () => {
  it('waits, saying for whom and why, and is built once when an approver approves it', async () => {
    await start();
    await ask();

    const message = await approvalMessage();
    expect(text(message)).toContain(`<@${ALICE}> asks for a *rhel-9* x86_64 image`);
    expect(text(message)).toContain(
      `Every request made in <#${BUILDS}> needs approval (policy approvals.required_in).`,
    );
    expect(text(message)).toContain(ACCOUNT);
    const status = await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /Waiting for approval/.test(text(m))), {
      description: 'the thread saying it waits',
    });
    expect(text(status)).toContain(`Waiting for <@${APPROVER}> or <@${SECOND_APPROVER}> to approve it`);
    await waitingRequest();
    expect(composePosts()).toHaveLength(0);

    expect((await press(message, 'approve_request', APPROVER)).status).toBe(200);

    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /is ready/.test(text(m))), {
      timeoutMs: 15_000,
      description: 'the result in the thread',
    });
    expect(composePosts()).toHaveLength(1);
    await h.slack.waitFor(() => /Approved by <@U0APPROVE>/.test(text(h.slack.message(APPROVALS, message.ts))), {
      description: 'the approvals message saying who approved it',
    });
    expect(JSON.stringify(h.slack.message(APPROVALS, message.ts)!.blocks)).not.toContain('approve_request');
    expect(await audit('approval-requested')).toHaveLength(1);
    expect(await audit('approved')).toMatchObject([{ actorId: APPROVER }]);
  });

  it('is built once when approved twice at once and by two approvers at once', async () => {
    await start();
    await ask();
    const message = await approvalMessage();
    await waitingRequest();

    const answers = await Promise.all([
      press(message, 'approve_request', APPROVER),
      press(message, 'approve_request', APPROVER),
      press(message, 'approve_request', SECOND_APPROVER),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /is ready/.test(text(m))), {
      timeoutMs: 15_000,
      description: 'the result in the thread',
    });
    expect(composePosts()).toHaveLength(1);
    expect(await audit('approved')).toHaveLength(1);
  });

  it('is not approved by its own requester, nor by someone who is not an approver', async () => {
    await start({
      policy: policy().replace(`users: [${APPROVER}, ${SECOND_APPROVER}]`, `users: [${APPROVER}, ${ALICE}]`),
    });
    await ask();
    const message = await approvalMessage();
    await waitingRequest();

    await press(message, 'approve_request', ALICE);
    expect((await ephemeralTo(ALICE)).text).toContain('You cannot decide on your own request');
    await press(message, 'approve_request', BOB);
    expect((await ephemeralTo(BOB)).text).toContain(`Only <@${APPROVER}> or <@${ALICE}> may approve requests`);

    expect((await h.store().listAwaitingApproval(10)).length).toBe(1);
    expect(composePosts()).toHaveLength(0);
    expect(await audit('approved')).toHaveLength(0);
  });

  it('tells the requester when denied, with the reason, and sends nothing', async () => {
    await start();
    await ask();
    const message = await approvalMessage();
    await waitingRequest();

    const answer = await denyWith(message, APPROVER, 'Use the golden image instead.');
    expect([answer.status, answer.text]).toEqual([200, '']);

    const told = await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /was denied by/.test(text(m))), {
      description: 'the requester told of the denial',
    });
    expect(text(told)).toContain(`<@${ALICE}> your request was denied by <@${APPROVER}>, so nothing was built.`);
    expect(text(told)).toContain('Use the golden image instead.');
    await h.slack.waitFor(() => /Denied by <@U0APPROVE>/.test(text(h.slack.message(APPROVALS, message.ts))), {
      description: 'the approvals message saying who denied it',
    });
    expect(composePosts()).toHaveLength(0);
    expect(await audit('denied')).toMatchObject([
      { actorId: APPROVER, detail: { reason: 'Use the golden image instead.' } },
    ]);
    await eventually(async () => (await h.store().listNewest({ limit: 1 }))[0]!.state === 'rejected');
  });

  it('waits instead of refusing a share target outside the channel’s rule, where approval is not required', async () => {
    await start();
    await ask(OPEN, OUTSIDE_ACCOUNT);

    const message = await approvalMessage();
    expect(text(message)).toContain('It shares outside what this channel allows (policy approvals.outside_sharing)');
    expect(text(message)).toContain(OUTSIDE_ACCOUNT);
    expect(composePosts()).toHaveLength(0);
  });

  it('is built without waiting where nothing makes it wait', async () => {
    await start();
    await ask(OPEN, ACCOUNT);
    await h.slack.waitFor(() => threadOf(OPEN).find((m) => /is ready/.test(text(m))), {
      timeoutMs: 15_000,
      description: 'the result in the thread',
    });
    expect(h.slack.messages(APPROVALS)).toEqual([]);
    expect(composePosts()).toHaveLength(1);
  });

  it('is not approved once the policy changed to forbid its share target, and nothing is sent', async () => {
    await start();
    await ask(OPEN, OUTSIDE_ACCOUNT);
    const message = await approvalMessage();
    await waitingRequest();
    writeFileSync(
      path.join(path.dirname(h.databasePath), 'policy.yaml'),
      policy().replace('  outside_sharing: true\n', ''),
    );
    await h.restart();

    await press(message, 'approve_request', APPROVER);

    expect((await ephemeralTo(APPROVER)).text).toContain('The policy no longer allows this request');
    expect((await h.store().listAwaitingApproval(10)).length).toBe(1);
    expect(composePosts()).toHaveLength(0);
  });

  it('is not approved once the policy came to forbid registering it, and nothing is sent', async () => {
    await start({
      env: {
        IMAGE_REGISTRATION_ORG_ID: '12345678',
        IMAGE_REGISTRATION_ACTIVATION_KEY: KNOWN_SECRETS.IMAGE_REGISTRATION_ACTIVATION_KEY,
      },
    });
    // The form's "Register with Red Hat" starts ticked for RHEL.
    await ask();
    const message = await approvalMessage();
    expect((await waitingRequest()).composeRequest).toContain('"subscription"');
    writeFileSync(
      path.join(path.dirname(h.databasePath), 'policy.yaml'),
      policy(`registration:\n  ${BUILDS}: forbidden\n`),
    );
    await h.restart();

    await press(message, 'approve_request', APPROVER);

    const told = (await ephemeralTo(APPROVER)).text;
    expect(told).toContain('The policy no longer allows this request');
    expect(told).toContain('may not be registered with Red Hat');
    expect((await h.store().listAwaitingApproval(10)).length).toBe(1);
    expect(composePosts()).toHaveLength(0);
  });

  it('is built once after a restart between the approval and the submission', async () => {
    await start();
    await ask();
    await approvalMessage();
    const request = await waitingRequest();
    await h.crash();
    // The replica that recorded the click died before its tracker submitted anything.
    const store = await openStore(`sqlite://${h.databasePath}`, { workingDirectory: path.dirname(h.databasePath) });
    await store.decideApproval(request.id, { decision: 'approved', by: APPROVER, at: new Date() });
    await store.close();
    await h.restart();

    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /is ready/.test(text(m))), {
      timeoutMs: 15_000,
      description: 'the result in the thread',
    });
    expect(composePosts()).toHaveLength(1);
    expect((await h.store().get(request.id))!.decidedBy).toBe(APPROVER);
  });

  it('is built once when the app stops right after the click', async () => {
    await start();
    await ask();
    const message = await approvalMessage();
    await waitingRequest();

    await press(message, 'approve_request', APPROVER);
    await h.crash();
    await h.restart();

    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /is ready/.test(text(m))), {
      timeoutMs: 15_000,
      description: 'the result in the thread',
    });
    expect(composePosts()).toHaveLength(1);
    expect(await audit('approved')).toHaveLength(1);
  });
});

describe('a request nobody decides on', () => {
  it('is dropped after expire_after_hours, on the injected clock, and the requester is told', async () => {
    let skipped = 0;
    const clock: Clock = { now: () => new Date(Date.now() + skipped) };
    await start({ policy: policy('  expire_after_hours: 2\n'), clock });
    await ask();
    const message = await approvalMessage();
    await waitingRequest();

    skipped += 2 * 60 * 60 * 1000 + 1;

    const told = await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /nobody approved/.test(text(m))), {
      timeoutMs: 10_000,
      description: 'the requester told it expired',
    });
    expect(text(told)).toContain('nobody approved your request within 2 hours, so nothing was built');
    await h.slack.waitFor(() => /Nobody decided in time/.test(text(h.slack.message(APPROVALS, message.ts))), {
      description: 'the approvals message saying it expired',
    });
    expect(composePosts()).toHaveLength(0);
    expect(await audit('approval-expired')).toHaveLength(1);

    await press(message, 'approve_request', APPROVER);
    expect((await ephemeralTo(APPROVER)).text).toContain('It waited too long');
    expect(composePosts()).toHaveLength(0);
  });
});

describe('an approvals channel the bot cannot post in', () => {
  it('drops the request when its time is up, tells the requester, and sends nothing', async () => {
    // Real time, moved forward at once by the test: retries stay due as time goes on.
    let skipped = 0;
    await start({
      policy: policy('  expire_after_hours: 1\n'),
      clock: { now: () => new Date(Date.now() + skipped) },
      beforeStart: (slack) => slack.setChannel(APPROVALS, 'private'),
    });
    await ask();
    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /Waiting for approval/.test(text(m))), {
      description: 'the thread saying it waits',
    });

    skipped += 60 * 60 * 1000 + 1;

    await h.slack.waitFor(() => threadOf(BUILDS).find((m) => /nobody approved/.test(text(m))), {
      timeoutMs: 10_000,
      description: 'the requester told it expired',
    });
    expect(h.slack.messages(APPROVALS)).toEqual([]);
    expect(composePosts()).toHaveLength(0);
    expect(await audit('approval-expired')).toHaveLength(1);
  });
});

describe('what waits, as approvers and requesters see it', () => {
  /** What `user` is answered, typing `/image-builder approvals`. */
  async function approvalsAs(user: string): Promise<string> {
    const before = h.slack.callsTo('response_url').length;
    expect((await h.command('approvals', { user_id: user, channel_id: OPEN })).status).toBe(200);
    const call: FakeSlackCall = await h.slack.waitFor(
      (calls) => calls.filter((c) => c.method === 'response_url')[before],
      { description: `the answer to ${user}'s approvals command` },
    );
    expect(call.args.response_type).toBe('ephemeral');
    return `${String(call.args.text)}\n${blocksText(call.args.blocks)}`;
  }

  async function homeOf(user: string): Promise<string> {
    const published = h.slack.callsTo('views.publish').length;
    expect((await h.post(eventCallbackBody(appHomeOpenedEvent(user)))).status).toBe(200);
    const call = await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'views.publish')[published], {
      description: `the Home of ${user}`,
    });
    expect(call.response.body).toMatchObject({ ok: true });
    return blocksText(h.slack.homeView(user)!.blocks);
  }

  it('lists privately every waiting request to an approver, and only their own to anyone else', async () => {
    await start();
    await ask();
    await waitingRequest();

    const toApprover = await approvalsAs(APPROVER);
    expect(toApprover).toContain('One request waits for approval.');
    expect(toApprover).toContain(`<@${ALICE}> asks for a *rhel-9* x86_64 image`);
    expect(toApprover).toContain(`<#${APPROVALS}>`);
    expect(await approvalsAs(ALICE)).toContain(`<@${ALICE}> asks for a *rhel-9*`);
    expect(await approvalsAs(BOB)).toContain('Nothing waits for approval.');
  });

  it('shows an approver on App Home what waits for them, and nobody else', async () => {
    await start();
    await ask();
    await waitingRequest();

    const home = await homeOf(APPROVER);
    expect(home).toContain('Waiting for your approval');
    expect(home).toContain(`<@${ALICE}> asks for a *rhel-9* x86_64 image`);
    expect(await homeOf(BOB)).not.toContain('Waiting for your approval');
  });

  it('holds a request over the per-user limits for approval instead of refusing it', async () => {
    await start({
      policy: policy('  over_limits: true\nlimits:\n  in_flight_per_user: 1\n'),
      imageBuilder: { script: ['building'] },
    });
    await ask(OPEN, ACCOUNT);
    await eventually(() => composePosts().length === 1, { description: 'the first build submitted' });

    await ask(OPEN, ACCOUNT);

    const message = await approvalMessage();
    expect(text(message)).toContain('limits.in_flight_per_user');
    expect(composePosts()).toHaveLength(1);
    expect(await audit('refused')).toHaveLength(0);
  });
});
