import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DistributionCatalog } from '../../../imageBuilder/distributionCatalog';
import { getProvider, type Registration } from '../../../providers';
import type { UserDefaultsStore } from '../../../store/store';
import type { Gatekeeper } from '../../authorization';
import { mayOpenComposeForm, openComposeForm } from '../../composeForm';

/**
 * "New … image" in App Home: the same form as the command. There is no channel in App Home, so the build is
 * followed in a DM with the requester (the user id as the channel posts there).
 */
export function newImageAction(deps: {
  gate: Gatekeeper;
  catalog: DistributionCatalog;
  defaults: Pick<UserDefaultsStore, 'getDefaults'>;
  /** The bot's registration with Red Hat, when set up: RHEL forms offer it. */
  registration?: Registration;
  logger: Logger;
}) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const provider = getProvider(action.value ?? '');
    if (!provider) return;
    const asker = { userId, channelId: null, entryPoint: 'new image button' } as const;
    if (!(await mayOpenComposeForm(client, body.trigger_id, deps.gate, asker))) return;
    await openComposeForm(client, body.trigger_id, deps, {
      provider,
      userId,
      context: { provider: provider.id, channelId: userId },
    });
  };
}
