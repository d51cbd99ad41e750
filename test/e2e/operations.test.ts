import { eventually } from '../support/eventually';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { BOT_TOKEN, SIGNING_SECRET, startHarness, type Harness } from './harness';

/* What an operator's probes and scrapers see: /readyz from cached facts, /metrics, and logs free of secrets. */

let h: Harness;
afterEach(() => h.close());

async function readiness() {
  const res = await fetch(`${h.healthUrl}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> },
  };
}

it('refuses to start when the health port is taken (a second bot on the host), naming HEALTH_HOST and HEALTH_PORT', async () => {
  h = await startHarness();
  const { port } = new URL(h.healthUrl);
  await expect(startHarness({ env: { HEALTH_PORT: port } })).rejects.toThrow(
    `cannot serve /healthz, /readyz and /metrics on 127.0.0.1:${port} (HEALTH_HOST, HEALTH_PORT): listen EADDRINUSE`,
  );
});

it('is ready once Slack, the store and Image Builder have each answered', async () => {
  h = await startHarness();
  const ready = await eventually(
    async () => {
      const r = await readiness();
      return r.status === 200 && r.body.checks.imageBuilder?.ok ? r : undefined;
    },
    { description: '/readyz to answer 200 with every check ok' },
  );
  expect(ready.body).toEqual({
    ready: true,
    checks: { slack: { ok: true }, store: { ok: true }, imageBuilder: { ok: true } },
  });
});

it('stays ready while Image Builder refuses the credentials, so Slack is still answered; the body says why without the secret', async () => {
  h = await startHarness({ env: { IMAGE_BUILDER_CLIENT_SECRET: KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET_REFUSED } });
  const notReady = await eventually(
    async () => {
      const r = await readiness();
      return r.body.checks.imageBuilder?.detail?.match(/credentials|refused|unauthori/i) ? r : undefined;
    },
    { description: '/readyz to report the refused credentials' },
  );
  expect(notReady.status).toBe(200);
  expect(notReady.body.ready).toBe(true);
  expect(notReady.body.checks.imageBuilder?.ok).toBe(false);
  expect(JSON.stringify(notReady.body)).not.toContain(KNOWN_SECRETS.IMAGE_BUILDER_CLIENT_SECRET_REFUSED);
  // The Service routes to this pod, and the bot answers.
  const help = await h.command('help');
  expect(help.status).toBe(200);
  expect(help.text).toContain('/image-builder aws');
  expect(help.text).toContain('Image Builder is refusing the bot’s credentials right now');
});

it('counts composes, Image Builder and Slack calls for /metrics', async () => {
  h = await startHarness();
  await h.command('aws');
  await h.slack.waitForCall('views.open');
  await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
  const text = await eventually(
    async () => {
      const body = await (await fetch(`${h.healthUrl}/metrics`)).text();
      return body.includes('image_builder_bot_composes_finished_total{provider="aws",outcome="success"} 1')
        ? body
        : undefined;
    },
    { timeoutMs: 15_000, description: 'the finished compose to be counted' },
  );
  expect(text).toMatch(
    /image_builder_bot_image_builder_requests_total\{operation="POST \/compose",outcome="success"\} 1/,
  );
  expect(text).toMatch(/image_builder_bot_slack_requests_total\{method="chat.postMessage",outcome="ok"\} 3/);
  expect(text).toMatch(/image_builder_bot_slack_requests_total\{method="chat.update",outcome="ok"\} \d+/);
  expect(text).toMatch(/image_builder_bot_requests_in_flight \d/);
  expect(text).toMatch(/image_builder_bot_poll_lag_seconds_count \d+/);
  // One replica alone; nothing left waiting for Slack once the build's thread is final.
  expect(text).toMatch(/^image_builder_bot_replicas 1$/m);
  expect(text).toMatch(/^image_builder_bot_slack_calls_waiting 0$/m);
});

it('never writes a response_url to the logs, even at trace level where Bolt logs every payload and request body', async () => {
  h = await startHarness({ env: { LOG_LEVEL: 'trace' } });
  await h.command('aws');
  await h.slack.waitForCall('views.open');
  await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' });
  await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'chat.postMessage').length >= 3, {
    timeoutMs: 15_000,
  });
  await h.command('status 123e4567-e89b-12d3-a456-426655440000');
  await h.slack.waitForCall('response_url');

  // The payloads and the modal's private_metadata, which carry the response_url, were logged…
  expect(h.logLines.some((line) => line.includes('private_metadata'))).toBe(true);
  expect(h.logLines.some((line) => /response_?[uU]rl/.test(line))).toBe(true);
  // … but never the URL itself: whoever holds it may post in the conversation as the bot for 30 minutes.
  const responseUrlPath = new URL(h.slack.responseUrl('command-1')).pathname.replace(/[^/]+$/, '');
  expect(
    h.logLines.filter((line) => line.includes(responseUrlPath) || line.includes(encodeURIComponent(responseUrlPath))),
  ).toEqual([]);
  for (const line of h.logLines) expect(() => JSON.parse(line) as unknown).not.toThrow();
});

it('never writes a token or secret to the logs or to Slack, at debug level through a whole build', async () => {
  h = await startHarness();
  await h.command('gcp');
  await h.slack.waitForCall('views.open');
  await h.submitModal({ distribution: 'rhel-9', share_with: 'user:alice@example.com' });
  await h.slack.waitFor((calls) => calls.filter((c) => c.method === 'chat.postMessage').length >= 3, {
    timeoutMs: 15_000,
  });
  // A refused token exchange too: its error must not carry the secret either.
  h.imageBuilder.revokeTokens();
  await h.command('status 123e4567-e89b-12d3-a456-426655440000');
  await h.slack.waitForCall('response_url', (c) => JSON.stringify(c.args).includes('123e4567'));

  const secrets = [BOT_TOKEN, SIGNING_SECRET, h.imageBuilder.credentials.clientSecret];
  expect(h.logLines.length).toBeGreaterThan(20);
  // What the bot says in Slack: every argument but the token field, which is how a token legitimately travels.
  const slackTraffic = JSON.stringify(h.slack.calls.map(({ args: { token: _token, ...said } }) => said));
  for (const secret of secrets) {
    for (const line of h.logLines) expect(line).not.toContain(secret);
    expect(slackTraffic).not.toContain(secret);
  }
  // Access tokens the fake issued are credentials too.
  const issued = h.imageBuilder.tokenRequests().length;
  expect(issued).toBeGreaterThan(0);
  expect(h.logLines.join('\n')).not.toMatch(/Bearer\s+[A-Za-z0-9._-]{8,}/);
});
