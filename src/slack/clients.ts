import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { BotConfig } from '../config/config';
import type { Metrics } from '../platform/metrics';
import { slackLogger } from './slackLogger';
import { slackFetch, type SlackAnswerObserver } from './webApiFetch';

/*
 * The bot's Web API clients. Each has its own queue, so that what one waits for never holds up another: Bolt's
 * (the listeners', which open modals within a 3-second trigger window), the background one (thread updates and
 * reminders, which Slack may rate-limit in bursts) and the user-group lookups.
 */

/** Calls the background client has in flight at once; the thread scheduler paces them anyway. */
export const BACKGROUND_CONCURRENCY = 3;
/** A user-group lookup sits on the interactive path (a form must open within 3 seconds): it fails fast instead. */
export const LOOKUP_TIMEOUT_MS = 2000;

export interface SlackClients {
  /** What every client shares: the outbound dispatcher, counted for /metrics and watched for /readyz. */
  options: WebClientOptions;
  /** Thread posts, edits and reminders, and the bot token's check at start. */
  background: WebClient;
  /** User-group lookups of the policy: no retries and a short timeout; the policy caches the answers. */
  lookups: WebClient;
  /** A client of the app-level token (Socket Mode), to check that token at start. */
  appLevel(appToken: string): WebClient;
}

/** Slack's Web API, where SLACK_API_URL does not point elsewhere (the client's own default too). */
const SLACK_API_URL = 'https://slack.com/api/';

export function createSlackClients(deps: {
  slack: Pick<BotConfig['slack'], 'apiUrl' | 'botToken'>;
  logger: Logger;
  outbound: Dispatcher;
  metrics: Pick<Metrics, 'slackCall'>;
  health: SlackAnswerObserver;
  /** Slack Web API retry policy; tests pass `{ retries: 0 }`. */
  retryConfig?: WebClientOptions['retryConfig'];
}): SlackClients {
  const { slack, logger } = deps;
  const apiUrl = slack.apiUrl ?? SLACK_API_URL;
  const options: WebClientOptions = {
    slackApiUrl: apiUrl,
    fetch: slackFetch({ apiUrl, dispatcher: deps.outbound, metrics: deps.metrics, health: deps.health }),
    ...(deps.retryConfig ? { retryConfig: deps.retryConfig } : {}),
  };
  return {
    options,
    background: new WebClient(slack.botToken, {
      ...options,
      logger: slackLogger(logger, 'slack-updates'),
      maxRequestConcurrency: BACKGROUND_CONCURRENCY,
    }),
    lookups: new WebClient(slack.botToken, {
      ...options,
      logger: slackLogger(logger, 'slack-lookups'),
      retryConfig: { retries: 0 },
      timeout: LOOKUP_TIMEOUT_MS,
    }),
    appLevel: (appToken) => new WebClient(appToken, { ...options, logger: slackLogger(logger, 'slack-socket') }),
  };
}
