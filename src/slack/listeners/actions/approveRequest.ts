import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { decideOnRequest, type ApprovalDecisionDeps } from '../../approvalDecision';

/**
 * Approve, on a request's message in the approvals channel: decided for whoever clicked, checked on the server. A
 * refusal (not an approver, their own request, decided already, no longer allowed) is told to them alone.
 */
export function approveRequestAction(deps: ApprovalDecisionDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs) => {
    await ack();
    const userId = body.user.id;
    const outcome = await decideOnRequest(deps, { userId, requestId: action.value ?? '', decision: 'approved' }).catch(
      (error: unknown) => {
        deps.logger.error({ err: error, requestId: action.value }, 'could not record an approval');
        return { decided: false as const, reason: 'Your approval could not be saved. Try again in a minute.' };
      },
    );
    if (outcome.decided || !body.channel?.id) return;
    await client.chat
      .postEphemeral({ channel: body.channel.id, user: userId, text: `:no_entry: ${outcome.reason}` })
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'could not tell an approver why they could not approve'),
      );
  };
}
