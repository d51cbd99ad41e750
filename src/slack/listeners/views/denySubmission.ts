import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import * as z from 'zod';
import { decideOnRequest, type ApprovalDecisionDeps } from '../../approvalDecision';
import { plainReason } from '../../authorization';
import { DENY_REASON_BLOCK_ID, DENY_REASON_MAX } from '../../views/approvalMessages';

const NOT_SAVED = 'The denial could not be saved. Try again in a minute.';

/** What the Deny modal sends: the request in its metadata, an optional reason. */
const denialSchema = z.object({
  requestId: z.uuid(),
  reason: z.string().max(DENY_REASON_MAX).nullish(),
});

/**
 * The Deny modal's submit: the denial, checked again for whoever submits it, recorded once, and the modal closed; a
 * refusal stays in the modal, on its field.
 */
export function denySubmission(deps: ApprovalDecisionDeps) {
  return async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const parsed = denialSchema.safeParse({
      requestId: view.private_metadata,
      reason: view.state.values[DENY_REASON_BLOCK_ID]?.[DENY_REASON_BLOCK_ID]?.value,
    });
    if (!parsed.success) {
      const message = `This form is out of date, or the reason is longer than ${DENY_REASON_MAX} characters.`;
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK_ID]: message } });
      return;
    }
    const { requestId, reason } = parsed.data;
    const outcome = await decideOnRequest(deps, {
      userId: body.user.id,
      requestId,
      decision: 'denied',
      ...(reason ? { reason } : {}),
    }).catch((error: unknown) => {
      deps.logger.error({ err: error, requestId }, 'could not record a denial');
      return { decided: false as const, reason: NOT_SAVED };
    });
    if (!outcome.decided) {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK_ID]: plainReason(outcome.reason) } });
      return;
    }
    await ack();
  };
}
