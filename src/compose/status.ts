/*
 * How a build's status moves. The service's statuses only go forward; a poll that answers with an older one
 * (a replica lagging behind a load balancer, say) must never move the thread backwards.
 */

const ORDER: Readonly<Record<string, number>> = {
  pending: 0,
  building: 1,
  // The seed-era value for "in progress"; today it survives only inside upload_status.
  running: 1,
  uploading: 2,
  registering: 3,
  success: 4,
  failure: 4,
};

/**
 * The bot's own status for a compose the service stopped knowing (GET /composes/{id} answered 404 after it had
 * accepted it): deleted at Image Builder, by someone in the console or through the API. It is final too.
 */
export const DELETED_STATUS = 'deleted';

export const isFinal = (status: string | null | undefined): status is 'success' | 'failure' | typeof DELETED_STATUS =>
  status === 'success' || status === 'failure' || status === DELETED_STATUS;

/**
 * The status to show after the service reported `seen`. Unknown statuses are shown as they are and treated as in
 * progress; a final status is never replaced; a known status never goes back to an earlier one.
 */
export function nextStatus(previous: string | null, seen: string): string {
  if (previous === null) return seen;
  if (isFinal(previous)) return previous;
  const before = ORDER[previous];
  const now = ORDER[seen];
  if (before !== undefined && now !== undefined && now < before) return previous;
  return seen;
}

export interface ProgressSteps {
  done: number;
  total: number;
}

/**
 * Progress to keep: within one status, a step count never goes down either. The steps of an answer whose status
 * was not shown (a lagging answer, see `nextStatus`) belong to that older status and are ignored.
 */
export function nextProgress(
  previous: { status: string | null; progress: ProgressSteps | null },
  shown: string,
  seen: { status: string; progress?: ProgressSteps | undefined },
): ProgressSteps | null {
  const kept = shown === previous.status ? previous.progress : null;
  const steps = seen.progress;
  if (seen.status !== shown || !steps || steps.total <= 0) return kept;
  if (kept && steps.done < kept.done) return kept;
  return { done: Math.min(steps.done, steps.total), total: steps.total };
}
