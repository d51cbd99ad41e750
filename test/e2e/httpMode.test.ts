import { blocksText } from '../../src/demo/fakes/blockKit';
import { hostAddress, itWithHostAddress } from '../support/hostAddress';
import { signedPost, slashCommandBody } from '../support/slackRequests';
import { SIGNING_SECRET, startHarness, type Harness } from './harness';

/* What any HTTP client of /slack/events meets: signature checks, the health route, and the ephemeral commands. */

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(() => h.close());

const command = (text: string) => slashCommandBody({ text, response_url: h.slack.responseUrl(`r-${text}`) });

it('answers /healthz with 200', async () => {
  const res = await fetch(`${h.healthUrl}/healthz`);
  expect(res.status).toBe(200);
});

it('serves health, readiness and metrics on their own port, never on the one /slack/events faces the internet on', async () => {
  expect(h.healthUrl).not.toBe(h.appUrl);
  for (const route of ['/metrics', '/readyz', '/healthz']) {
    const onSlackPort = await fetch(`${h.appUrl}${route}`);
    expect({ route, status: onSlackPort.status }).toEqual({ route, status: 404 });
    expect(await onSlackPort.text()).not.toMatch(/image_builder_bot_|"checks"/);
  }
  const metrics = await fetch(`${h.healthUrl}/metrics`);
  expect(metrics.status).toBe(200);
  expect(await metrics.text()).toContain('image_builder_bot_');
  // The health port carries nothing of Slack's.
  expect((await signedPost(h.healthUrl, SIGNING_SECRET, command('aws'))).status).toBe(404);
  expect(h.slack.callsTo('views.open')).toEqual([]);
});

itWithHostAddress("binds the health port to loopback by default, out of reach of the host's network", async () => {
  const { port } = new URL(h.healthUrl);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  await expect(fetch(`http://${hostAddress}:${port}/metrics`)).rejects.toThrow();
});

it('refuses a request with a bad signature with 401, and does nothing', async () => {
  const answer = await signedPost(h.appUrl, 'not-the-signing-secret', command('aws'));
  expect(answer.status).toBe(401);
  expect(h.slack.callsTo('views.open')).toEqual([]);
});

it('refuses a correctly signed request older than five minutes with 401', async () => {
  const answer = await signedPost(h.appUrl, SIGNING_SECRET, command('aws'), {
    timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
  });
  expect(answer.status).toBe(401);
  expect(h.slack.callsTo('views.open')).toEqual([]);
});

it('opens the modal without waiting for Image Builder, even when the service is slow', async () => {
  // Slower than the trigger's 3 seconds: the fake Slack refuses a stale trigger, so waiting would fail here.
  h.imageBuilder.setResponseDelay(5_000);
  const answer = await h.command('aws');
  expect(answer.status).toBe(200);
  const opened = await h.slack.waitForCall('views.open');
  expect(opened.response.body).toMatchObject({ ok: true });
  h.imageBuilder.setResponseDelay(0);
});

it('answers /image-builder status <id> ephemerally from Image Builder', async () => {
  await h.command('aws');
  await h.slack.waitForCall('views.open');
  await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
  const composeId = await h.imageBuilder.waitFor((fake) => [...fake.composes.keys()][0]);

  await h.command(`status ${composeId}`);
  const reply = await h.slack.waitForCall('response_url', (c) => JSON.stringify(c.args).includes(composeId));
  expect(reply.args.response_type).toBe('ephemeral');
  expect(blocksText(reply.args.blocks)).toContain(`Compose \`${composeId}\``);

  const bad = await h.command('status not-a-uuid');
  expect((bad.json as { text: string }).text).toContain('Give the compose id');
});

it('lists the requests tracked for the user and the channel, with a link to each thread', async () => {
  await h.command('aws');
  await h.slack.waitForCall('views.open');
  await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
  await h.slack.waitForCall('chat.postMessage');

  await h.command('list');
  const reply = await h.slack.waitForCall('response_url', (c) => JSON.stringify(c.args).includes('Recent builds'));
  const shown = blocksText(reply.args.blocks);
  expect(reply.args.response_type).toBe('ephemeral');
  expect(shown).toContain('*rhel-9* x86_64 on Amazon Web Services by <@U1>');
  expect(shown).toMatch(/\|thread>/);
});
