import type { AllMiddlewareArgs, SlackOptionsMiddlewareArgs } from '@slack/bolt';
import { searchBlueprints, type BlueprintChoiceDeps } from '../../blueprintChoice';
import { startFromOptions } from '../../views/blueprintForm';
import { openedFromAppHome, parseModalContext } from '../../views/composeModal';

/**
 * The searchable "Start from" (more blueprints than a static select holds): answered from the cached list within
 * the policy of the form's channel for the person typing, never from a call to Image Builder, so it keeps to Slack's 3 seconds.
 */
export function startFromOptionsListener(deps: BlueprintChoiceDeps) {
  return async ({ ack, body }: SlackOptionsMiddlewareArgs<'block_suggestion'> & AllMiddlewareArgs) => {
    const context = body.view && parseModalContext(body.view.private_metadata);
    if (!context) {
      await ack({ options: [] });
      return;
    }
    const asker = { userId: body.user.id, channelId: openedFromAppHome(context) ? null : context.channelId };
    await ack({ options: startFromOptions(await searchBlueprints(deps, asker, body.value)) });
  };
}
