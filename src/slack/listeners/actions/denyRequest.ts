import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { BuildRequestStore } from '../../../store/store';
import type { Gatekeeper } from '../../authorization';
import { denyModal } from '../../views/approvalMessages';

/**
 * Deny, on a request's message in the approvals channel: opens the small modal that asks for an optional reason, for
 * someone who may deny it now (asked first, so nobody writes a reason for nothing). The denial itself is the modal's
 * submission, checked again then.
 */
export function denyRequestAction(deps: {
  store: Pick<BuildRequestStore, 'get'>;
  gate: Pick<Gatekeeper, 'mayDecide'>;
  logger: Logger;
}) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const request = action.value ? await deps.store.get(action.value) : undefined;
    const allowed = request
      ? await deps.gate.mayDecide(userId, request, 'denied')
      : { allowed: false as const, reason: 'I no longer know that request.' };
    if (allowed.allowed) {
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal(request!.id) });
      return;
    }
    if (!body.channel?.id) return;
    await client.chat
      .postEphemeral({ channel: body.channel.id, user: userId, text: `:no_entry: ${allowed.reason}` })
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'could not tell an approver why they could not deny'),
      );
  };
}
