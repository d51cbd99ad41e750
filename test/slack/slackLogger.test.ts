import { LogLevel } from '@slack/bolt';
import { createLogger } from '../../src/logger';
import { slackLogger } from '../../src/slack/slackLogger';

/* Bolt and the Web API client log through ours: structured lines, at our level, named after the component. */
function linesAt(level: string) {
  const lines: { level: string; component: string; msg: string }[] = [];
  const logger = createLogger({ level, secrets: [], destination: { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) } });
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
