import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { startFakeSocketMode, type FakeSocketMode } from '../fakes/socketModeServer';
import { newTriggerId } from '../../src/demo/fakes/slackIds';
import { KNOWN_SECRETS } from '../support/knownSecrets';
import { eventually } from '../support/eventually';
import { startHarness, type Harness } from './harness';

/*
 * What a client cannot make the bot do, whoever sent it: hold its memory and connections with huge or slow requests
 * (which it must read whole before the signature can be checked), or have it post to an address of a payload's
 * choosing.
 */

let h: Harness;
/** Raw connections a test opened: closed before the app is, as a failing test would leave them open. */
const connections: Array<{ end(): void }> = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.end();
  await h?.close();
});

/** A loopback server that records every request it gets: what a payload would like the bot to reach. */
async function startTarget(): Promise<{ origin: string; requests: string[]; close(): Promise<void> }> {
  /** `METHOD path` of each request. */
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const logged = (message: string) =>
  h.logLines.map((line) => JSON.parse(line) as { msg: string; host?: string }).filter((l) => l.msg === message);
const REFUSED = 'refused to post to a response_url outside SLACK_RESPONSE_URL_PREFIXES';

describe('response_url', () => {
  it('is posted to only under SLACK_RESPONSE_URL_PREFIXES; any other is refused and logged by its host alone', async () => {
    h = await startHarness();
    const target = await startTarget();
    const slackOrigin = new URL(h.slack.responseUrlPrefix).origin;
    const targetHost = new URL(target.origin).host;
    const hostile = [
      `${target.origin}/admin/reset-everything`,
      // Slack's origin as a user name, the target as the host.
      `http://${new URL(slackOrigin).host}@${targetHost}/response-url/x`,
      // The allowed path without its final slash is another path.
      `${target.origin}${new URL(h.slack.responseUrlPrefix).pathname.replace(/\/$/, '')}-elsewhere/x`,
    ];
    try {
      for (const [i, responseUrl] of hostile.entries()) {
        const answer = await h.command('list', { response_url: responseUrl });
        expect(answer.status).toBe(200);
        await eventually(() => logged(REFUSED).length === i + 1 || target.requests.length > 0, {
          description: `the refusal of ${responseUrl}`,
        });
      }
      expect(target.requests).toEqual([]);
      expect(logged(REFUSED).map((line) => line.host)).toEqual(hostile.map(() => targetHost));
      // The path (a capability, in a real response_url) is not in the log.
      expect(h.logLines.join('\n')).not.toContain('reset-everything');

      // The fake Slack's own response_url still gets its answer.
      await h.command('list');
      await h.slack.waitForCall('response_url');
    } finally {
      await target.close();
    }
  });
});

/** A raw connection to the app: what a slow or greedy client sends, and all the app answers until it closes. */
async function rawConnection(appUrl: string) {
  const socket = connect(Number(new URL(appUrl).port), '127.0.0.1');
  let received = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('close', () => {
    closed = true;
  });
  // A reset is one way the app may close it.
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const connection = {
    write: (text: string) => new Promise<void>((resolve) => socket.write(text, () => resolve())),
    received: () => received,
    closed: () => closed,
    /** Resolves once the app has answered with a status line or closed the connection; with what it answered. */
    answer: () =>
      eventually(
        () =>
          /^HTTP\/1\.1 \d{3}/.test(received) || closed
            ? { status: /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1], closed }
            : undefined,
        { description: 'the app to answer or close the connection' },
      ),
    end: () => socket.destroy(),
  };
  connections.push(connection);
  return connection;
}

const requestHead = (headers: Record<string, string>) =>
  `POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  `X-Slack-Request-Timestamp: ${Math.floor(Date.now() / 1000)}\r\nX-Slack-Signature: v0=${'0'.repeat(64)}\r\n` +
  Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('') +
  '\r\n';

describe('response_url in Socket Mode', () => {
  let socketMode: FakeSocketMode | undefined;
  // The app first: the WebSocket server's close waits for its connections to end. (Closing the harness twice is harmless.)
  afterEach(async () => {
    await h?.close();
    await socketMode?.close();
    socketMode = undefined;
  });

  it('is not posted to when a payload names a loopback address outside the allowed prefixes', async () => {
    socketMode = await startFakeSocketMode();
    const wsUrl = socketMode.url;
    h = await startHarness({
      slack: { botToken: undefined },
      env: { SLACK_APP_TOKEN: KNOWN_SECRETS.SLACK_APP_TOKEN, SLACK_SIGNING_SECRET: '' },
      beforeStart: (slack) => slack.on('apps.connections.open', { ok: true, url: wsUrl }),
    });
    const target = await startTarget();
    try {
      const payload = {
        team_id: 'T1',
        channel_id: 'C1',
        user_id: 'U1',
        command: '/image-builder',
        text: 'list',
        trigger_id: newTriggerId(),
      };
      await socketMode.deliver('slash_commands', { ...payload, response_url: `${target.origin}/admin/shutdown` });

      await eventually(() => logged(REFUSED).length === 1 || target.requests.length > 0, {
        description: 'the refusal',
      });
      expect(target.requests).toEqual([]);
    } finally {
      await target.close();
    }
  });
});

describe('HTTP clients', () => {
  const MAX_BODY = 64 * 1024;

  it.each([
    ['sent with a Content-Length', { 'Content-Length': String(100 * MAX_BODY) }, (chunk: string) => chunk],
    [
      'sent in chunks',
      { 'Transfer-Encoding': 'chunked' },
      (chunk: string) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    ],
  ])(
    'are refused and disconnected once a body %s outgrows the limit, before it has been sent whole',
    async (_how, headers, frame) => {
      h = await startHarness({ httpLimits: { maxBodyBytes: MAX_BODY } });
      const client = await rawConnection(h.appUrl);
      await client.write(requestHead(headers));
      const chunk = 'x'.repeat(16 * 1024);
      // Twice the limit, and never the whole body: the app cannot have read the request whole.
      for (let i = 0; i < 8; i += 1) await client.write(frame(chunk));
      const answer = await client.answer();
      expect(answer.status === '413' || answer.closed).toBe(true);
      await eventually(() => client.closed(), { description: 'the app to close the connection' });
    },
  );

  it('are cut off when the headers or the body come too slowly', async () => {
    h = await startHarness({ httpLimits: { requestTimeoutMs: 300 } });
    const slowHeaders = await rawConnection(h.appUrl);
    await slowHeaders.write('POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const slowBody = await rawConnection(h.appUrl);
    await slowBody.write(`${requestHead({ 'Content-Length': '100' })}{"partial":`);

    for (const client of [slowHeaders, slowBody]) {
      const answer = await client.answer();
      expect(answer.status === '408' || answer.closed).toBe(true);
      await eventually(() => client.closed(), { description: 'the connection to be closed' });
    }
  });

  it('beyond the connection limit are closed as they arrive, and served again once others have gone', async () => {
    h = await startHarness({ httpLimits: { maxConnections: 3 } });
    const held = [await rawConnection(h.appUrl), await rawConnection(h.appUrl), await rawConnection(h.appUrl)];
    const extra = await rawConnection(h.appUrl);

    expect(await extra.answer()).toEqual({ status: undefined, closed: true });
    for (const client of held) client.end();
    // An unsigned request is answered 401: the app reads and answers requests again.
    await eventually(
      async () =>
        (await fetch(`${h.appUrl}/slack/events`, { method: 'POST', body: '{}' }).catch(() => undefined))?.status ===
        401,
      {
        description: '/slack/events to answer again',
      },
    );
  });
});
