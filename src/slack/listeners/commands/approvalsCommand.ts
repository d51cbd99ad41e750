import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Clock } from '../../../platform/clock';
import type { BuildRequestStore } from '../../../store/store';
import type { Gatekeeper } from '../../authorization';
import { respondOrLog, type Responder } from '../../responseUrl';
import { waitingLineOf } from '../../thread/approvalMessage';
import { approvalsReply } from '../../views/approvalMessages';

/** How many waiting requests one answer lists; the approvals channel holds them all. */
export const APPROVALS_LISTED_MAX = 40;

export interface ApprovalsSubcommandDeps {
  store: Pick<BuildRequestStore, 'listAwaitingApproval'>;
  gate: Pick<Gatekeeper, 'approvals'>;
  clock: Clock;
  logger: Logger;
  respond: Responder;
}

/**
 * `/image-builder approvals`, answered privately: to an approver, every request that waits for approval; to anyone
 * else, only their own, so nobody learns what others asked for.
 */
export async function approvalsSubcommand(
  deps: ApprovalsSubcommandDeps,
  { command, ack }: SlackCommandMiddlewareArgs & AllMiddlewareArgs,
): Promise<void> {
  await ack();
  const approvals = deps.gate.approvals;
  if (!approvals) {
    await respondOrLog(
      deps.respond,
      deps.logger,
      command.response_url,
      'Nothing waits for approval: the policy has no approvals.',
    );
    return;
  }
  const [waiting, approver] = await Promise.all([
    deps.store.listAwaitingApproval(APPROVALS_LISTED_MAX),
    approvals.mayApprove(command.user_id),
  ]);
  const shown = approver.allowed ? waiting : waiting.filter((request) => request.requesterId === command.user_id);
  const now = deps.clock.now();
  const reply = approvalsReply(
    shown.map((request) => waitingLineOf(request, now)),
    approver.allowed ? approvals.channel : undefined,
  );
  await respondOrLog(deps.respond, deps.logger, command.response_url, reply);
}
