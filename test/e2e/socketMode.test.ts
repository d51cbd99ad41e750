import { startFakeSocketMode, type FakeSocketMode } from '../fakes/socketModeServer';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { slashCommandBody } from '../support/slackRequests';
import { startHarness, type Harness } from './harness';

/*
 * Socket Mode, as Slack runs it: apps.connections.open hands out a WebSocket URL (here a local server), Slack says
 * hello, then delivers a slash command in an envelope the app must acknowledge. No public URL, no signing secret.
 */

let h: Harness | undefined;
let server: FakeSocketMode | undefined;

// The app first: the WebSocket server's close waits for its connections to end.
afterEach(async () => {
  await h?.close();
  await server?.close();
  server = undefined;
});

/** The app in Socket Mode; apps.connections.open hands out `wsUrl`. */
function startSocketModeHarness(wsUrl: string, env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({
    // The app-level token opens the connection; any token is accepted by the fake here.
    slack: { botToken: undefined },
    env: { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN, SLACK_SIGNING_SECRET: '', ...env },
    beforeStart: (slack) => {
      slack.on('apps.connections.open', { ok: true, url: wsUrl });
    },
  });
}

/** `/image-builder <text>` as Slack delivers it over the WebSocket: the slash command's form fields, as a payload. */
const slashCommand = (harness: Harness, envelopeId: string, text: string) =>
  slashCommandBody({ text, response_url: harness.slack.responseUrl(envelopeId) }).payload;

it('answers a slash command delivered over Socket Mode, serves /healthz, and opens the modal', async () => {
  server = await startFakeSocketMode();
  h = await startSocketModeHarness(server.url);

  const health = await fetch(`${h.healthUrl}/healthz`);
  expect(health.status).toBe(200);
  // Nothing arrives over HTTP in Socket Mode, so the app listens on no port but the health port.
  expect(h.appUrl).toBe('');

  const ack = await server.deliver('slash_commands', slashCommand(h, 'env-1', 'gcp'), 'env-1');

  const opened = await h.slack.waitForCall('views.open');
  expect(JSON.stringify(opened.args.view)).toContain('Google Cloud');
  expect(ack).toMatchObject({ envelope_id: 'env-1' });
  expect(h.slack.callsTo('apps.connections.open')[0]?.token).toBe(KNOWN_SECRETS.SLACK_APP_TOKEN);
});

it('never writes the WebSocket ticket or a response_url to the logs, even at trace level', async () => {
  server = await startFakeSocketMode();
  const ticket = 'b1e3c5a7-0d2f-4e6a-9c8b-socket-ticket';
  // Shaped like Slack's: wss://wss-primary.slack.com/link/?ticket=…&app_id=…
  h = await startSocketModeHarness(`${server.url}/?ticket=${ticket}&app_id=A1`, { LOG_LEVEL: 'trace' });
  await server.deliver('slash_commands', slashCommand(h, 'env-trace', 'aws'), 'env-trace');
  await h.slack.waitForCall('views.open');

  // The connection's answer, the envelope and the modal were logged, but neither capability in them.
  expect(h.logLines.some((line) => line.includes('apps.connections.open'))).toBe(true);
  expect(h.logLines.some((line) => line.includes('envelope_id'))).toBe(true);
  expect(h.logLines.some((line) => line.includes('private_metadata'))).toBe(true);
  expect(h.logLines.filter((line) => line.includes(ticket))).toEqual([]);
  const responseUrlPath = new URL(h.slack.responseUrl('env-trace')).pathname;
  expect(
    h.logLines.filter((line) => line.includes(responseUrlPath) || line.includes(encodeURIComponent(responseUrlPath))),
  ).toEqual([]);
});
