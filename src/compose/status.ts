/*
 * The one list of a build's statuses: the order they come in, which of them end a build, and the words people
 * see for each. The service's statuses only go forward; a poll that answers with an older one (a replica lagging
 * behind a load balancer, say) must never move the thread backwards. This module imports nothing, so the Image
 * Builder client's schemas take their statuses from it too.
 */

interface StatusFacts {
  /** The word shown in Slack and the CLI. */
  label: string;
  /** Position in a build's life; statuses without one are never taken for earlier or later than another. */
  order?: number;
  /** It ends the build: nothing replaces it. */
  final?: true;
  /** Image Builder reports it (the spec's enum); the others are older spellings or the bot's own. */
  reported?: true;
}

const STATUSES = {
  pending: { label: 'Pending', order: 0, reported: true },
  building: { label: 'Building', order: 1, reported: true },
  // The seed-era value for "in progress"; today it survives only inside upload_status.
  running: { label: 'Building', order: 1 },
  uploading: { label: 'Uploading', order: 2, reported: true },
  registering: { label: 'Registering', order: 3, reported: true },
  success: { label: 'Ready', order: 4, final: true, reported: true },
  failure: { label: 'Failed', order: 4, final: true, reported: true },
  /**
   * The bot's own status for a compose the service stopped knowing (GET /composes/{id} answered 404 after it had
   * accepted it): deleted at Image Builder, by someone in the console or through the API.
   */
  deleted: { label: 'Deleted at Image Builder', final: true },
} as const satisfies Record<string, StatusFacts>;

/** A build's phases before and instead of a compose status, as the thread names them. */
const PHASES: Readonly<Record<'awaiting-approval' | 'submitting' | 'rejected' | 'not-approved', StatusFacts>> = {
  /** Held for a person's yes (policy approvals): nothing is sent until then. */
  'awaiting-approval': { label: 'Waiting for approval' },
  submitting: { label: 'Submitting to Image Builder' },
  /** Denied, or nobody decided in time: the build ends before anything was sent. */
  'not-approved': { label: 'Not approved', final: true },
  /** The service refused the request: the build ends before it has a status. */
  rejected: { label: 'Refused by Image Builder', final: true },
};

export type ComposeStatusName = keyof typeof STATUSES;
/** What a build can show: a compose status or a phase. */
export type ShownStatus = ComposeStatusName | keyof typeof PHASES;

/** What is known of a status or phase; undefined for one the bot does not know. */
const facts = (shown: string): StatusFacts | undefined =>
  Object.hasOwn(STATUSES, shown)
    ? STATUSES[shown as ComposeStatusName]
    : Object.hasOwn(PHASES, shown)
      ? PHASES[shown as keyof typeof PHASES]
      : undefined;

type Entry<K extends ComposeStatusName> = [K, (typeof STATUSES)[K]];
const entries = Object.entries(STATUSES) as Entry<ComposeStatusName>[];

type Reported = {
  [K in ComposeStatusName]: (typeof STATUSES)[K] extends { reported: true } ? K : never;
}[ComposeStatusName];
type ReportedFinal = Extract<
  { [K in ComposeStatusName]: (typeof STATUSES)[K] extends { final: true } ? K : never }[ComposeStatusName],
  Reported
>;

/** The statuses Image Builder reports, in the order a build moves through them. */
export const KNOWN_IMAGE_STATUSES = entries.filter(([, f]) => 'reported' in f).map(([s]) => s) as readonly Reported[];
export type KnownImageStatus = Reported;
/** The reported statuses that end a compose. */
export const FINAL_IMAGE_STATUSES = KNOWN_IMAGE_STATUSES.filter(
  (s) => 'final' in STATUSES[s],
) as readonly ReportedFinal[];

/** Only `success` and `failure` end a compose; anything else (including `running` and unknown values) is in progress. */
export const isFinalStatus = (status: string): status is ReportedFinal =>
  (FINAL_IMAGE_STATUSES as readonly string[]).includes(status);

export const isKnownStatus = (status: string): status is KnownImageStatus =>
  (KNOWN_IMAGE_STATUSES as readonly string[]).includes(status);

export const DELETED_STATUS = 'deleted' satisfies ComposeStatusName;

/** Whether a build with this status has ended: reported final by the service, or deleted at Image Builder. */
export const isFinal = (status: string | null | undefined): status is ReportedFinal | typeof DELETED_STATUS =>
  typeof status === 'string' && Object.hasOwn(STATUSES, status) && facts(status)?.final === true;

/** Whether what a build shows (a status, or the phase `rejected`) ends it. */
export const endsBuild = (shown: string): boolean => facts(shown)?.final === true;

/** The word for a status or phase; undefined for one the bot does not know (shown as the service spelled it). */
export const statusLabel = (shown: string): string | undefined => facts(shown)?.label;

/**
 * The status to show after the service reported `seen`. Unknown statuses are shown as they are and treated as in
 * progress; a final status is never replaced; a known status never goes back to an earlier one.
 */
export function nextStatus(previous: string | null, seen: string): string {
  if (previous === null) return seen;
  if (isFinal(previous)) return previous;
  const before = facts(previous)?.order;
  const now = facts(seen)?.order;
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
