import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/eventually';
import { startHarness, type Harness } from './harness';

/*
 * What a payload cannot make the bot do, whoever sent it: post to an address of the payload's choosing.
 */

let h: Harness;
afterEach(async () => h?.close());

/** A loopback server that records every request it gets: what a payload would like the bot to reach. */
async function startTarget(): Promise<{ origin: string; requests: IncomingMessage[]; close(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
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

const logged = (message: string) => h.logLines.map((line) => JSON.parse(line) as { msg: string; host?: string }).filter((l) => l.msg === message);
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
        await eventually(() => logged(REFUSED).length === i + 1 || target.requests.length > 0, { description: `the refusal of ${responseUrl}` });
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
