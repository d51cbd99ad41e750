import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { newTriggerId } from '../fakes/slackIds';
import { eventually } from '../support/eventually';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { startHarness, type Harness } from './harness';

/*
 * Socket Mode, as Slack runs it: apps.connections.open hands out a WebSocket URL (here a local server), Slack says
 * hello, then delivers a slash command in an envelope the app must acknowledge. No public URL, no signing secret.
 */

let h: Harness | undefined;
let wss: WebSocketServer;

afterEach(async () => {
  await h?.close();
  await new Promise((resolve) => wss?.close(resolve));
});

it('answers a slash command delivered over Socket Mode, serves /healthz, and opens the modal', async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const sockets: WebSocket[] = [];
  const acks: unknown[] = [];
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => acks.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: {} }));
  });
  const wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`;

  h = await startHarness({
    // The app-level token opens the connection; any token is accepted by the fake here.
    slack: { botToken: undefined },
    env: { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN, SLACK_SIGNING_SECRET: '' },
    beforeStart: (slack) => {
      slack.on('apps.connections.open', { ok: true, url: wsUrl });
    },
  });

  const health = await fetch(`${h.healthUrl}/healthz`);
  expect(health.status).toBe(200);

  const socket = await eventually(() => sockets[0], { description: 'the app to connect' });
  socket.send(
    JSON.stringify({
      envelope_id: 'env-1',
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        token: 'deprecated',
        team_id: 'T1',
        team_domain: 'fake-workspace',
        channel_id: 'C1',
        channel_name: 'builds',
        user_id: 'U1',
        user_name: 'alice',
        command: '/image-builder',
        text: 'gcp',
        api_app_id: 'A1',
        is_enterprise_install: 'false',
        response_url: h.slack.responseUrl('socket-command'),
        trigger_id: newTriggerId(),
      },
    }),
  );

  const opened = await h.slack.waitForCall('views.open');
  expect(JSON.stringify(opened.args.view)).toContain('Google Cloud');
  expect(acks).toContainEqual(expect.objectContaining({ envelope_id: 'env-1' }));
  expect(h.slack.callsTo('apps.connections.open')[0]?.token).toBe(KNOWN_SECRETS.SLACK_APP_TOKEN);
});
