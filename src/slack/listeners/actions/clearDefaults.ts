import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../platform/clock';
import type { AuditLog, UserDefaultsStore } from '../../../store/store';
import type { HomePublisher } from '../../homePublisher';

/** "Forget my entries" in App Home: the next forms start empty. The Home tab is re-published to show it. */
export function clearDefaultsAction(deps: {
  defaults: Pick<UserDefaultsStore, 'clearDefaults'>;
  audit: Pick<AuditLog, 'appendAudit'>;
  publishHome: HomePublisher;
  clock: Clock;
  logger: Logger;
}) {
  return async ({ ack, body, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const removed = await deps.defaults.clearDefaults(userId);
    await deps.audit.appendAudit({
      at: deps.clock.now(),
      kind: 'defaults-cleared',
      actorId: userId,
      requestId: null,
      channelId: null,
      detail: { removed },
    });
    await deps.publishHome(client, userId);
  };
}
