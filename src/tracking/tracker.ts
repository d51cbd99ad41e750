import { addDays } from 'date-fns/addDays';
import { addMilliseconds } from 'date-fns/addMilliseconds';
import type { Logger } from 'pino';
import type { BuildResult } from '../audit/audit';
import type { Clock } from '../platform/clock';
import {
  isImageBuilderError,
  parseServiceTimestamp,
  type ComposeRequest,
  type ImageBuilderClient,
  type ImageBuilderError,
  type ImageStatus,
} from '../imageBuilder';
import { getProvider, withActivationKey, type Registration } from '../providers';
import { DELETED_STATUS, isFinal, nextProgress, nextStatus } from '../compose/status';
import type { BuildRequest, BuildRequestPatch, BuildRequestStore } from '../store/store';
import {
  companionsOf,
  createBlueprintSubmitter,
  requesterTargetsCompose,
  submitsBlueprintOrder,
  type BlueprintApi,
  type OrderedCompose,
} from './blueprintOrder';
import { isRefusal, provablyUnsent } from './refusals';

/*
 * Moves one build request forward by one step, from whatever the store says. The store is the single source of
 * truth and Slack a projection of it, so the same code path serves a fresh request and one resumed after a crash:
 *
 *   submitting ──POST /compose──▶ tracking ──GET /composes/{id} … final (or 404: deleted there)──▶ done
 *        └──────── refused (400, 403…) ─────────▶ rejected
 *
 * A plain build is sent before its thread is posted: the first step in `tracking` posts the thread, asking Image
 * Builder nothing, so a busy channel's pace never holds a submission (or its poller slot) back.
 *
 * A request the policy holds for approval is announced first (its thread and its message in the approvals channel)
 * and then waits, out of the poller's hands, until a decision hands it back, once:
 *
 *   submitting ──announced──▶ awaiting-approval ──approved──▶ submitting … as above
 *                                    └──denied, expired──▶ submitting ──shown, nothing sent──▶ rejected
 *
 * The lead of a blueprint order built with the blueprint's share targets submits the whole order instead
 * (blueprintOrder.ts): it takes the first compose, and a companion row per further one starts out `tracking`.
 *
 * A terminal state is written only after the projection has shown it, so a crash in between is finished on
 * restart. A POST that may have reached the service is never repeated blindly: the compose is looked up by the
 * request id carried in its description first (every build counts against the organisation's quota).
 */

/** Makes Slack show what a row says; saves each message's `ts` the moment Slack returns it. */
export interface ThreadProjection {
  sync(request: BuildRequest): Promise<BuildRequest>;
  /**
   * 0 once the build's thread shows how it ended (its result posted, its messages edited to say so); until then,
   * about how many ms until it should (its final edits wait their turn behind other builds'), at least 1.
   */
  untilEndShown(request: BuildRequest): Promise<number>;
  /** Whether the thread the build is shown in has been posted (its parent and status reply); nothing is asked. */
  hasThread(request: BuildRequest): boolean;
}

/** The message of a request waiting for approval, in the approvals channel. */
export interface ApprovalProjection {
  /** Posts it once and saves its ts (approvalTs). */
  announce(request: BuildRequest): Promise<BuildRequest>;
  /** Makes it show the decision (who approved or denied it, or that it expired). */
  showDecision(request: BuildRequest): Promise<BuildRequest>;
}

/** What the store keeps of a refused submission; the Slack layer turns the kind into a sentence. */
export interface Rejection {
  kind: string;
  status?: number;
  detail?: string;
  /** The bot's own sentence, when the bot refused before sending (a blueprint changed since it was asked for). */
  sentence?: string;
}

export interface TrackerOptions {
  store: BuildRequestStore;
  /** The bot's registration with Red Hat, whose activation key requests that register are sent with. */
  registration?: Registration;
  imageBuilder: Pick<ImageBuilderClient, 'createCompose' | 'getCompose' | 'listAllComposes'> & BlueprintApi;
  projection: ThreadProjection;
  /** The approvals channel's message of a request the policy holds for approval; none, nothing is posted there. */
  approvals?: ApprovalProjection;
  clock: Clock;
  logger: Logger;
  /** The base pace of polling one compose. */
  pollIntervalMs: number;
  /** Longest wait between attempts after repeated failures. */
  maxBackoffMs?: number;
  /** Told once per request when the service accepted it, for each image of an order (audit). */
  onSubmitted?: (request: BuildRequest) => void;
  /** Told when a request the policy held could not be announced before its time was up (audit). */
  onApprovalExpired?: (request: BuildRequest) => void;
  /** Told once per request when its terminal state is written (metrics, audit). */
  onFinished?: (request: BuildRequest, outcome: BuildResult) => void;
}

/** A request asks to register, and the bot no longer has registration set up (it was when the request was made). */
const REGISTRATION_GONE: Rejection = {
  kind: 'registration-unavailable',
  sentence:
    'This bot no longer has registration with Red Hat set up, so the image could not be registered and was not ' +
    'built; ask again without registering, or ask whoever runs the bot.',
};

export interface Tracker {
  /** Does the next step for this request; failures are recorded on the row (and retried later), not thrown. */
  advance(request: BuildRequest): Promise<BuildRequest>;
}

/** Text carried in the compose's description so recovery can find it again in GET /composes. */
export function describeRequest(request: Pick<BuildRequest, 'id' | 'requesterId'>): string {
  return `Requested in Slack by ${request.requesterId} — request ${request.id}`;
}

/** A refusal of a compose that built nothing: sending it again cannot help. */
function refusal(error: unknown): ImageBuilderError | undefined {
  return isRefusal(error) && !error.mayHaveBeenSubmitted ? error : undefined;
}

const AGE_TIER_INTERVALS = 60;

/**
 * How long until a build is polled again: the base pace while it is young, when statuses change quickly and the
 * requester is watching, then one more base interval per 60 base intervals of age (a quarter hour at the default
 * 15 s), up to four times the base. Builds take tens of minutes; this keeps hundreds of them within the request
 * budget without slowing the new ones. Counted in base intervals, so a faster pace (a benchmark's compressed time)
 * keeps the same shape.
 */
export function pollDelay(ageMs: number, baseMs: number, entered?: string): number {
  const tiers = Math.max(0, Math.floor(ageMs / (AGE_TIER_INTERVALS * baseMs)));
  const byAge = baseMs * Math.min(4, 1 + tiers);
  const typical = entered === undefined ? undefined : TYPICAL_INTERVALS.get(entered);
  if (typical === undefined) return byAge;
  return Math.max(byAge, baseMs * (typical / 2 - 0.5));
}

/*
 * How many base intervals a status typically lasts at the service, from a 13-minute AWS build: pending about 1 min,
 * building about 2 min for each of its steps (all 8 when the service reports no steps), uploading and registering
 * about 2 min each. One hardly ever ends within half of that, so a build that has just entered one is next asked
 * about once half of it is over (less half an interval: on average the change was seen that late) rather than every
 * interval. Measured (docs/benchmarks.md, 2b): about 37 requests for such a build instead of 52, with its changes
 * reaching Slack as soon.
 */
// A Map, as the status is the service's word: an object would answer "constructor" with a function, and the next poll
// would be due at NaN.
const TYPICAL_INTERVALS: ReadonlyMap<string, number> = new Map([
  ['pending', 4],
  ['building', 8],
  ['uploading', 8],
  ['registering', 8],
]);

// How far back, before the request was written, a compose may claim to have been created (clock skew).
const LOOKUP_SKEW_MS = 24 * 60 * 60 * 1000;

/** The longest wait between attempts after repeated failures, unless the service asks for longer (Retry-After). */
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60 * 1000;

/** Finds composes of ours in the service's 14-day list: by compose id, or by the request id in the description. */
async function lookUp(
  imageBuilder: Pick<ImageBuilderClient, 'listAllComposes'>,
  request: BuildRequest,
  match: 'composeId' | 'description',
) {
  const oldest = request.createdAt.getTime() - LOOKUP_SKEW_MS;
  for await (const item of imageBuilder.listAllComposes()) {
    const found =
      match === 'composeId' ? item.id === request.composeId : item.request.image_description?.includes(request.id);
    const createdAt = parseServiceTimestamp(item.created_at);
    if (found) return { id: item.id, createdAt: createdAt ?? null };
    // Newest first: once past the moment the request was written, it is not there.
    if (createdAt && createdAt.getTime() < oldest) return undefined;
  }
  return undefined;
}

/** AWS and GCP images live about 14 days from the compose's `created_at`; fall back to when we submitted it. */
async function expiry(
  imageBuilder: Pick<ImageBuilderClient, 'listAllComposes'>,
  logger: Logger,
  request: BuildRequest,
): Promise<BuildRequestPatch> {
  const lifetimeDays = getProvider(request.provider)?.lifetimeDays;
  if (!lifetimeDays) return {};
  let createdAt = request.composeCreatedAt;
  if (!createdAt) {
    try {
      createdAt = (await lookUp(imageBuilder, request, 'composeId'))?.createdAt ?? null;
    } catch (error) {
      logger.debug({ err: error, requestId: request.id }, 'could not read created_at; counting from submission');
    }
  }
  const from = createdAt ?? request.submittedAt ?? request.createdAt;
  return { composeCreatedAt: createdAt, expiresAt: addDays(from, lifetimeDays) };
}

/** The status and progress to show once the service answered `image` for the request. */
function observed(request: BuildRequest, image: ImageStatus) {
  const status = nextStatus(request.status, image.status);
  const progress = nextProgress(
    {
      status: request.status,
      progress:
        request.progressDone === null || request.progressTotal === null
          ? null
          : { done: request.progressDone, total: request.progressTotal },
    },
    status,
    image,
  );
  return { status, progressDone: progress?.done ?? null, progressTotal: progress?.total ?? null };
}

function outcomeOf(row: BuildRequest): BuildResult {
  if (row.state === 'rejected') return 'rejected';
  return row.status === 'success' ? 'success' : row.status === DELETED_STATUS ? 'deleted' : 'failure';
}

/** The tracker's writes that end a step: a failure and its retry time, a rejection, tracking begun, a build settled. */
function trackerWrites(options: TrackerOptions) {
  const { store, projection, clock, logger, pollIntervalMs } = options;
  const maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;

  const later = (ms: number) => addMilliseconds(clock.now(), ms);
  const backoff = (failures: number) => Math.min(maxBackoffMs, pollIntervalMs * 2 ** Math.min(failures, 10));

  /**
   * Records a failed step and when to try again. `before` is the row as the step found it: a step that got its
   * answer from Image Builder and then failed in Slack has reset the count on the row meanwhile, yet it failed,
   * so the streak (and with it the backoff) goes on from where the step started.
   */
  async function recordFailure(before: BuildRequest, error: unknown, doing: string): Promise<BuildRequest> {
    const failures = before.pollFailures + 1;
    const log = logger.child({ requestId: before.id, composeId: before.composeId });
    // Once per streak, not once per retry.
    if (before.pollFailures === 0) log.warn({ err: error }, `${doing} failed; will keep trying`);
    // A Retry-After longer than the client would wait comes back on the error; the service asked, so honour it.
    const retryAfterMs = isImageBuilderError(error) ? (error.retryAfterMs ?? 0) : 0;
    return store.update(before.id, {
      pollFailures: failures,
      nextPollAt: later(Math.max(backoff(failures), retryAfterMs)),
    });
  }

  async function reject(request: BuildRequest, rejection: Rejection): Promise<BuildRequest> {
    let row = await store.update(request.id, { rejection: JSON.stringify(rejection), nextPollAt: null });
    row = await projection.sync(row);
    return finish(row, { state: 'rejected', finishedAt: clock.now() });
  }

  async function finish(request: BuildRequest, patch: BuildRequestPatch): Promise<BuildRequest> {
    const row = await store.update(request.id, patch);
    options.onFinished?.(row, outcomeOf(row));
    return row;
  }

  /**
   * The service accepted the compose. A build sent before its thread was posted is due again at once, so that its
   * next step posts the thread: waiting for the channel's turn here would keep this submission's poller slot from
   * the next one.
   */
  async function startTracking(request: BuildRequest, composeId: string, createdAt: Date | null) {
    const shown = projection.hasThread(request);
    const row = await store.update(request.id, {
      composeId,
      composeCreatedAt: createdAt,
      state: 'tracking',
      status: 'pending',
      pollFailures: 0,
      nextPollAt: shown ? later(pollIntervalMs) : clock.now(),
    });
    logger.info({ requestId: row.id, composeId }, 'compose submitted');
    options.onSubmitted?.(row);
    return shown ? projection.sync(row) : row;
  }

  /**
   * Posts the thread of a build sent before it; Image Builder is asked about it an interval after it was sent. The
   * count of failures is cleared first: those were Slack's, and the thread must not say the service is not answering
   * (should the post fail again, recordFailure goes on from the step's own count).
   */
  async function postThread(request: BuildRequest): Promise<BuildRequest> {
    const firstPoll = (request.submittedAt ?? request.createdAt).getTime() + pollIntervalMs;
    const row = await store.update(request.id, {
      pollFailures: 0,
      nextPollAt: new Date(Math.max(firstPoll, clock.now().getTime())),
    });
    return projection.sync(row);
  }

  /**
   * Shows the row in Slack; once the thread shows how a finished build ended, the row is done. Until its final edits
   * are out (they may wait behind many builds' in Slack's edit lane), it comes back when they should be, at least a
   * poll interval later, asking Image Builder nothing, rather than holding its poller slot meanwhile.
   */
  async function settle(request: BuildRequest): Promise<BuildRequest> {
    const row = await projection.sync(request);
    if (!isFinal(row.status)) return row;
    const waitMs = await projection.untilEndShown(row);
    if (waitMs === 0) return finish(row, { state: 'done' });
    return store.update(row.id, { nextPollAt: later(Math.max(pollIntervalMs, waitMs)) });
  }

  /**
   * The service answered 404 for a compose it had accepted: it was deleted there (the service keeps every compose
   * it accepted until then, however old). Nothing will ever come of it, so the build ends and polling stops.
   */
  async function deleted(request: BuildRequest): Promise<BuildRequest> {
    logger.info(
      { requestId: request.id, composeId: request.composeId },
      'Image Builder no longer knows the compose; it was deleted there',
    );
    return store.update(request.id, {
      status: DELETED_STATUS,
      pollFailures: 0,
      finishedAt: clock.now(),
      nextPollAt: null,
    });
  }

  return { later, recordFailure, reject, finish, startTracking, postThread, settle, deleted };
}

/** The write that starts an order's tracking, once the service made its composes. */
function orderStart(options: TrackerOptions, later: (ms: number) => Date) {
  const { store, projection, logger, pollIntervalMs } = options;

  /** The lead takes the first compose of its order and a companion joins it per further one, in one write. */
  async function startOrder(lead: BuildRequest, composes: readonly OrderedCompose[]) {
    const [first] = composes;
    const order = await store.addToOrder(
      lead.id,
      {
        composeId: first!.id,
        composeCreatedAt: first!.createdAt,
        state: 'tracking',
        status: 'pending',
        pollFailures: 0,
        nextPollAt: later(pollIntervalMs),
      },
      companionsOf(lead, composes),
    );
    logger.info({ requestId: lead.id, composeIds: composes.map((c) => c.id) }, 'blueprint order submitted');
    for (const row of order) options.onSubmitted?.(row);
    return projection.sync(order[0]!);
  }

  return startOrder;
}

/** The steps of a request the policy holds for approval: announcing it, and ending it when it was not approved. */
function approvalSteps(
  options: TrackerOptions,
  reject: (request: BuildRequest, rejection: Rejection) => Promise<BuildRequest>,
) {
  const { store, projection, logger } = options;
  const announcedTooLate = (request: BuildRequest) =>
    request.approvalExpiresAt !== null && request.approvalExpiresAt.getTime() <= options.clock.now().getTime();

  /** Shows the request waiting in its thread and to the approvers, then leaves it waiting for them. */
  async function holdForApproval(request: BuildRequest): Promise<BuildRequest> {
    let row = await projection.sync(request);
    if (options.approvals) row = await options.approvals.announce(row);
    row = await store.update(row.id, { state: 'awaiting-approval', nextPollAt: null, pollFailures: 0 });
    logger.info({ requestId: row.id }, 'the request waits for approval');
    return row;
  }

  /** The approvers' message shows the decision; a failure to edit it must not hold the build (or its end) back. */
  async function showDecision(request: BuildRequest): Promise<BuildRequest> {
    if (!options.approvals) return request;
    return options.approvals.showDecision(request).catch((error: unknown) => {
      logger.warn({ err: error, requestId: request.id }, 'could not show the decision in the approvals channel');
      return request;
    });
  }

  /** Denied, or nobody decided in time: the thread says so and the request ends, nothing sent. */
  async function notApproved(request: BuildRequest): Promise<BuildRequest> {
    const row = await showDecision(request);
    logger.info({ requestId: row.id, decision: row.decision }, 'the request was not approved; nothing is sent');
    const sentence =
      row.decision === 'denied'
        ? 'An approver denied the request, so nothing was built.'
        : 'Nobody approved the request in time, so nothing was built.';
    return reject(row, {
      kind: `approval-${row.decision}`,
      sentence,
      ...(row.decisionReason ? { detail: row.decisionReason } : {}),
    });
  }

  /**
   * Submits the request (`submit`) unless its approval holds it back: announced and left waiting, or ended when it
   * was not approved. An approved one has its approvers' message brought up to date first.
   */
  async function submitIfApproved(request: BuildRequest, submit: (request: BuildRequest) => Promise<BuildRequest>) {
    if (!request.approval) return submit(request);
    // Nothing is sent for a request the policy holds until an approver approves it.
    if (request.decision === null && !announcedTooLate(request)) return holdForApproval(request);
    if (request.decision === null) {
      // It could not be announced before its time was up (the approvals channel refused it, say): nobody could
      // decide, so it ends as if nobody had. Only this step's lease holder writes a row that is not yet waiting.
      request = await store.update(request.id, { decision: 'expired', decidedAt: options.clock.now() });
      options.onApprovalExpired?.(request);
    }
    if (request.decision !== 'approved') return notApproved(request);
    return submit(await showDecision(request));
  }

  return { submitIfApproved };
}

/**
 * Whether the thread is posted before the request is sent. A plain build is sent first and its thread catches up
 * (its next step posts it), so Slack's per-channel pace never holds a build back. An order's lead posts first, as its
 * other images post in its thread, and a refusal recorded before a restart is shown before the request ends.
 */
const postsBeforeSending = (request: BuildRequest) => request.orderId !== null || request.rejection !== null;

/**
 * The POST /compose body: as written, with the activation key set up now where it registers, or for a blueprint with
 * the requester's targets, its content added now.
 */
async function bodyToSend(
  options: Pick<TrackerOptions, 'imageBuilder' | 'registration'>,
  row: BuildRequest,
): Promise<{ compose: ComposeRequest } | { rejection: Rejection }> {
  const { blueprint } = row;
  if (blueprint?.targets !== 'requester') {
    const compose = withActivationKey(JSON.parse(row.composeRequest) as ComposeRequest, options.registration);
    return compose ? { compose } : { rejection: REGISTRATION_GONE };
  }
  const made = await requesterTargetsCompose(options.imageBuilder, { ...row, blueprint });
  return made.kind === 'body' ? { compose: made.body } : { rejection: made.rejection };
}

export function createTracker(options: TrackerOptions): Tracker {
  const { store, imageBuilder, projection, clock, logger, pollIntervalMs } = options;
  const { later, recordFailure, reject, finish, startTracking, postThread, settle, deleted } = trackerWrites(options);
  const startOrder = orderStart(options, later);
  const { submitIfApproved } = approvalSteps(options, reject);
  const blueprintSubmitter = createBlueprintSubmitter({ store, imageBuilder, clock, logger });

  async function submitOrder(row: BuildRequest & Parameters<typeof blueprintSubmitter.submit>[0]) {
    const submission = await blueprintSubmitter.submit(row);
    if (submission.kind === 'made') return startOrder(row, submission.composes);
    if (submission.kind === 'refused') {
      logger.info({ requestId: row.id, kind: submission.rejection.kind }, 'the blueprint order was not built');
      return reject(row, submission.rejection);
    }
    const failed = submission.unsent ? await store.update(row.id, { submittedAt: null }) : row;
    return recordFailure(failed, submission.error, 'Submitting the blueprint order');
  }

  async function submit(request: BuildRequest): Promise<BuildRequest> {
    let row = postsBeforeSending(request) ? await projection.sync(request) : request;
    if (row.rejection) return finish(row, { state: 'rejected', finishedAt: row.finishedAt ?? clock.now() });
    if (submitsBlueprintOrder(row)) return submitOrder(row);

    if (row.submittedAt) {
      // An earlier attempt may have reached the service: find it rather than build twice.
      const found = await lookUp(imageBuilder, row, 'description');
      if (found) return startTracking(row, found.id, found.createdAt);
    }
    const body = await bodyToSend(options, row);
    if ('rejection' in body) return reject(row, body.rejection);
    row = await store.update(row.id, { submittedAt: clock.now() });
    let composeId: string;
    try {
      ({ id: composeId } = await imageBuilder.createCompose(body.compose));
    } catch (error) {
      const refused = refusal(error);
      if (refused) {
        logger.info(
          { requestId: row.id, kind: refused.kind, status: refused.status },
          'Image Builder refused the compose',
        );
        return reject(row, { kind: refused.kind, status: refused.status, detail: refused.detail ?? refused.message });
      }
      if (provablyUnsent(error)) {
        // Never reached the service: the next attempt may submit directly.
        row = await store.update(row.id, { submittedAt: null });
      }
      return recordFailure(row, error, 'Submitting the compose');
    }
    // Outside the try: once the service has accepted the compose, no later failure may count as a failed POST.
    return startTracking(row, composeId, null);
  }

  async function poll(request: BuildRequest): Promise<BuildRequest> {
    if (!isFinal(request.status) && !projection.hasThread(request)) return postThread(request);
    if (!isFinal(request.status)) {
      let image: ImageStatus;
      try {
        ({ image_status: image } = await imageBuilder.getCompose(request.composeId!));
      } catch (error) {
        if (isImageBuilderError(error) && error.kind === 'not-found') return settle(await deleted(request));
        const row = await recordFailure(request, error, 'Following the compose');
        // Only a sync lets the thread say that Image Builder is not answering; the projection decides when that
        // shows. Slack failing as well changes nothing: the failure is recorded and the step is retried.
        return projection.sync(row).catch(() => row);
      }
      const { status, progressDone, progressTotal } = observed(request, image);
      const moved = status !== request.status || progressDone !== request.progressDone;
      const age = clock.now().getTime() - (request.submittedAt ?? request.createdAt).getTime();
      const patch: BuildRequestPatch = {
        status,
        progressDone,
        progressTotal,
        pollFailures: 0,
        nextPollAt: later(pollDelay(age, pollIntervalMs, moved ? status : undefined)),
      };
      if (isFinal(status)) {
        patch.finalImageStatus = JSON.stringify(image);
        patch.finishedAt = clock.now();
        patch.nextPollAt = null;
        if (status === 'success') Object.assign(patch, await expiry(imageBuilder, logger, request));
        logger.info({ requestId: request.id, composeId: request.composeId, status }, 'compose finished');
      }
      request = await store.update(request.id, patch);
    }
    return settle(request);
  }

  return {
    async advance(request) {
      let row: BuildRequest;
      try {
        if (request.state === 'submitting') row = await submitIfApproved(request, submit);
        else if (request.state === 'tracking') row = await poll(request);
        else return request;
      } catch (error) {
        return recordFailure(
          request,
          error,
          request.state === 'submitting' ? 'Submitting the compose' : 'Following the compose',
        );
      }
      if (request.pollFailures > 0 && row.pollFailures === 0) {
        logger.info(
          { requestId: row.id, composeId: row.composeId, failures: request.pollFailures },
          'the build moves on again',
        );
      }
      return row;
    },
  };
}
