import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { HomePublisher } from '../../homePublisher';

/** Publishes the App Home each time a user opens its Home tab (Slack also sends this for the Messages tab). */
export function appHomeOpened(deps: { publishHome: HomePublisher; logger: Logger }) {
  return async ({ event, client }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    try {
      await deps.publishHome(client, event.user);
    } catch (error) {
      deps.logger.error({ err: error, user: event.user }, 'could not publish the App Home');
    }
  };
}
