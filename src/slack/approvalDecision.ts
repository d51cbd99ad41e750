import type { Logger } from 'pino';
import type { Clock } from '../platform/clock';
import type { AuditLog, BuildRequestStore } from '../store/store';
import type { Gatekeeper } from './authorization';

/*
 * One person's decision on a request that waits for approval, from the Approve button or the Deny modal: checked on
 * the server for whoever acted (an approver, not the requester, the request still waiting, the policy still allowing
 * it), then recorded by the store's one conditional write, so of decisions made at once exactly one counts. The
 * tracker, woken, does the rest: it submits an approved request, and ends a denied one without sending anything.
 */

export interface ApprovalDecisionDeps {
  store: Pick<BuildRequestStore, 'get' | 'decideApproval'> & Pick<AuditLog, 'appendAudit'>;
  gate: Pick<Gatekeeper, 'mayDecide'>;
  clock: Clock;
  logger: Logger;
  /** A decision was recorded: the tracker takes the request up now. */
  onRequest(): void;
}

export type DecisionOutcome = { decided: true } | { decided: false; reason: string };

export async function decideOnRequest(
  deps: ApprovalDecisionDeps,
  input: { userId: string; requestId: string; decision: 'approved' | 'denied'; reason?: string },
): Promise<DecisionOutcome> {
  const { store, gate, clock, logger } = deps;
  const request = await store.get(input.requestId);
  if (!request) return { decided: false, reason: 'I no longer know that request.' };
  const allowed = await gate.mayDecide(input.userId, request, input.decision);
  if (!allowed.allowed) return { decided: false, reason: allowed.reason };
  const at = clock.now();
  const reason = input.reason?.trim() ? input.reason.trim() : undefined;
  const decided = await store.decideApproval(request.id, {
    decision: input.decision,
    by: input.userId,
    at,
    ...(reason ? { reason } : {}),
  });
  if (!decided) {
    // Someone else's decision came first: say whose, from the row as it is now.
    const now = await store.get(request.id);
    const gone = now?.decidedBy ? `<@${now.decidedBy}> decided on it first.` : 'It is no longer waiting for approval.';
    return { decided: false, reason: gone };
  }
  logger.info({ requestId: request.id, decision: input.decision, by: input.userId }, 'approval decided');
  deps.onRequest();
  await store
    .appendAudit({
      at,
      kind: input.decision,
      actorId: input.userId,
      requestId: request.id,
      channelId: request.channelId,
      detail: input.decision === 'denied' ? { reason: reason ?? null } : { reasons: request.approval?.reasons ?? [] },
    })
    .catch((error: unknown) => logger.error({ err: error, requestId: request.id }, 'could not record the decision'));
  return { decided: true };
}
