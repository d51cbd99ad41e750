import { blocksText } from '../../src/demo/fakes/blockKit';
import type { SlackView } from '../fakes/slackApi';
import {
  appHomeOpenedEvent,
  blockActionsBody,
  eventCallbackBody,
  submitModalBody,
  type SlackUserInput,
} from '../support/slackRequests';
import { startHarness, type Harness } from './harness';

/*
 * Slack Connect: a channel shared with another organisation lets its people run the command and press the bot's
 * buttons. Only the installing workspace's people (the fake Slack's auth.test answers team T1) may use the bot, and
 * the teams the policy lists under external_teams. Over real HTTP, at each entry point.
 */

const COMPOSE_CALLBACK = 'compose_request';
const OUTSIDER_TEAM = 'T0OUTSIDE';
const OUTSIDER: SlackUserInput = { id: 'U0OUTSIDE', team_id: OUTSIDER_TEAM };
const GCP_FILLS = { distribution: 'rhel-9', share_with: 'user:alice@example.com' };

let h: Harness;
afterEach(async () => h?.close());

const composeForms = () => h.slack.views().filter((v) => v.callback_id === COMPOSE_CALLBACK);
const savedRequests = () => h.store().listNewest({ limit: 100 });
const REFUSAL = /not one of them.*add your workspace \(T0OUTSIDE\) to external_teams/;

async function openFormAsMember(): Promise<SlackView> {
  const answer = await h.command('gcp', { user_id: 'U1', channel_id: 'C1' });
  expect(answer.status).toBe(200);
  await h.slack.waitForCall('views.open');
  return composeForms().at(-1)!;
}

it('refuses the command of a person of another organisation with an ephemeral reply, and opens nothing', async () => {
  h = await startHarness();
  const answer = await h.command('gcp', { user_id: 'U0OUTSIDE', team_id: OUTSIDER_TEAM, channel_id: 'C1' });
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({ response_type: 'ephemeral', text: expect.stringMatching(REFUSAL) as unknown });
  expect(h.slack.callsTo('views.open')).toEqual([]);
  expect(await savedRequests()).toEqual([]);
  const audit = await h.store().listAudit(new Date(0));
  expect(audit).toEqual([
    expect.objectContaining({
      kind: 'refused',
      actorId: 'U0OUTSIDE',
      detail: expect.objectContaining({ entryPoint: 'command', team: OUTSIDER_TEAM }),
    }),
  ]);
});

it('refuses a form submitted by a person of another organisation on the form, and stores nothing', async () => {
  h = await startHarness();
  const form = await openFormAsMember();
  const answer = await h.post(submitModalBody(form, OUTSIDER, GCP_FILLS));
  expect(answer.status).toBe(200);
  const errors = (answer.json as { response_action: string; errors: Record<string, string> }).errors;
  expect(Object.values(errors).join(' ')).toMatch(REFUSAL);
  expect(await savedRequests()).toEqual([]);
  expect(h.imageBuilder.apiRequests().filter((r) => r.method === 'POST')).toEqual([]);
});

it('answers a button pressed by a person of another organisation with a notice instead of the form', async () => {
  h = await startHarness();
  await h.post(eventCallbackBody(appHomeOpenedEvent('U1')));
  await h.slack.waitFor(() => h.slack.homeView('U1'), { description: 'the App Home' });
  const answer = await h.post(
    blockActionsBody({ user: OUTSIDER, actionId: 'new_image:gcp', source: { view: h.slack.homeView('U1')! } }),
  );
  expect(answer.status).toBe(200);
  const opened = await h.slack.waitForCall('views.open');
  const view = (opened.response.body as { view: SlackView }).view;
  expect(view.callback_id).not.toBe(COMPOSE_CALLBACK);
  expect(blocksText(view.blocks)).toMatch(REFUSAL);
  expect(composeForms()).toEqual([]);
});

it('lets in the people of a team the policy lists under external_teams', async () => {
  h = await startHarness({ policy: `external_teams: [${OUTSIDER_TEAM}]\n` });
  const answer = await h.command('gcp', { user_id: 'U0OUTSIDE', team_id: OUTSIDER_TEAM, channel_id: 'C1' });
  expect(answer.status).toBe(200);
  await h.slack.waitForCall('views.open');
  const form = composeForms().at(-1)!;
  expect((await h.post(submitModalBody(form, OUTSIDER, GCP_FILLS))).json).toBeUndefined();
  expect(await savedRequests()).toEqual([expect.objectContaining({ requesterId: 'U0OUTSIDE' })]);
});
