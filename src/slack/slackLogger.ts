import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from 'pino';

/** Bolt and the Web API client log through our pino logger, so their lines are structured and redacted too. */
export function slackLogger(logger: Logger, name = 'slack'): SlackLogger {
  const child = logger.child({ component: name });
  const format = (parts: unknown[]) => parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    // Bolt and the Web API client log several debug lines per call: not even formatted unless debug is on.
    debug: (...parts: unknown[]) => {
      if (child.isLevelEnabled('debug')) child.debug(format(parts));
    },
    info: (...parts: unknown[]) => child.info(format(parts)),
    warn: (...parts: unknown[]) => child.warn(format(parts)),
    error: (...parts: unknown[]) => child.error(format(parts)),
    // The level is ours (LOG_LEVEL); Bolt's attempts to change it are ignored.
    setLevel: () => undefined,
    getLevel: () => (child.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}
