import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DistributionCatalog } from '../../../imageBuilder/distributionCatalog';
import { getProvider } from '../../../providers';
import type { UserDefaultsStore } from '../../../store/store';
import type { Gatekeeper } from '../../authorization';
import { openComposeForm } from '../../composeForm';
import { noticeModal } from '../../views/composeModal';

/**
 * "New … image" in App Home: the same form as the command. There is no channel in App Home, so the build is
 * followed in a DM with the requester (the user id as the channel posts there).
 */
export function newImageAction(deps: {
  gate: Gatekeeper;
  catalog: DistributionCatalog;
  defaults: Pick<UserDefaultsStore, 'getDefaults'>;
  logger: Logger;
}) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const provider = getProvider(action.value ?? '');
    if (!provider) return;
    const decision = await deps.gate.mayRequest(userId, null, 'new image button');
    if (!decision.allowed) {
      await client.views.open({ trigger_id: body.trigger_id, view: noticeModal('Not allowed', decision.reason) });
      return;
    }
    await openComposeForm(client, body.trigger_id, deps, {
      provider,
      userId,
      context: { provider: provider.id, channelId: userId },
    });
  };
}
