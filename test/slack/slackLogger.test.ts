import { LogLevel } from '@slack/bolt';
import { createLogger } from '../../src/platform/logger';
import { slackLogger } from '../../src/slack/slackLogger';

/* Bolt and the Web API client log through ours: structured lines, at our level, named after the component. */
function linesAt(level: string) {
  const lines: { level: string; component: string; msg: string }[] = [];
  const logger = createLogger({
    level,
    secrets: [],
    destination: { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
  });
  return { slack: slackLogger(logger, 'bolt'), lines };
}

describe("Bolt's and the Web API client's logger", () => {
  it('writes their debug lines, objects as JSON, when LOG_LEVEL is debug', () => {
    const { slack, lines } = linesAt('debug');
    slack.debug('http request body:', { channel: 'C1' });
    slack.warn('a warning');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'debug', component: 'bolt', msg: 'http request body: {"channel":"C1"}' }),
      expect.objectContaining({ level: 'warn', component: 'bolt', msg: 'a warning' }),
    ]);
    expect(slack.getLevel()).toBe(LogLevel.DEBUG);
  });

  it('at info, neither writes nor even formats their debug lines', () => {
    const { slack, lines } = linesAt('info');
    const formatted = jest.fn(() => 'x');
    slack.debug('body:', { toJSON: formatted });
    slack.info('started');
    expect(formatted).not.toHaveBeenCalled();
    expect(lines).toEqual([expect.objectContaining({ level: 'info', msg: 'started' })]);
    expect(slack.getLevel()).toBe(LogLevel.INFO);
  });
});

describe('short-lived capabilities in their lines', () => {
  it("replaces the path of Slack's response URLs and the WebSocket ticket, wherever and however escaped", () => {
    const { slack, lines } = linesAt('debug');
    const responseUrl = 'https://hooks.slack.com/commands/T0123ABCD/1234567890/AbCdEf0123456789';
    const govUrl = 'https://hooks.slack-gov.com/actions/T0123ABCD/1234567890/ZyXw9876';
    const ticket = '3f1c8a52-9b7e-4d1a-8c2f-7e5d4b3a2190';
    slack.debug('http request body:', { view: { private_metadata: JSON.stringify({ provider: 'aws', responseUrl }) } });
    slack.debug('http request result:', {
      ok: true,
      url: `wss://wss-primary.slack.com/link/?ticket=${ticket}&app_id=A0123ABCD`,
    });
    slack.debug(`Received a message on the WebSocket: ${JSON.stringify({ payload: { response_url: govUrl } })}`);
    slack.debug(`body: command=%2Fimage-builder&response_url=${encodeURIComponent(responseUrl)}&trigger_id=1`);
    slack.warn(`posting to <${responseUrl}|the response URL> failed`);

    const text = lines.map((line) => line.msg).join('\n');
    for (const capability of [responseUrl, govUrl, ticket, encodeURIComponent(responseUrl), '1234567890']) {
      expect(text).not.toContain(capability);
    }
    // What was there stays readable.
    expect(text).toContain('wss://wss-primary.slack.com/link/?ticket=[REDACTED]&app_id=A0123ABCD');
    expect(text).toContain('https://hooks.slack.com/[REDACTED]|the response URL>');
    expect(text).toContain('trigger_id=1');
  });
});
