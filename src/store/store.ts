/*
 * The store is the single source of truth for every build the bot was asked for; Slack messages are a projection
 * of it. A row is written before anything leaves the process (see docs/tracking-design in the project notes), and
 * each Slack message's `ts` is saved the moment Slack returns it.
 *
 * The interface is asynchronous so that a networked database (PostgreSQL) fits behind it as well as SQLite.
 */

/**
 * - `awaiting-approval`: announced to the approvers (policy `approvals`) and waiting for one to decide; never
 *   submitted nor polled. The decision moves it back to `submitting` once (decideApproval, expireApprovals), where
 *   the tracker submits an approved request and turns a denied or expired one into `rejected` without sending it.
 * - `submitting`: written, POST /compose not yet known to have succeeded (recovery looks the compose up by the
 *   request id carried in its description before it would ever submit again).
 * - `tracking`: the service accepted it; the poller follows it.
 * - `rejected`: the service refused it (400, 403 quota or distribution…) and the thread says so; nothing to poll.
 * - `done`: the compose reached success or failure and the result has been posted.
 * A terminal state is written only after its Slack messages were sent, so a crash in between is resumed.
 */
export type RequestState = 'awaiting-approval' | 'submitting' | 'tracking' | 'rejected' | 'done';

/** How a request that waited for approval was decided. */
export type ApprovalDecision = 'approved' | 'denied' | 'expired';

/**
 * Why a request waits for a person's yes, as the policy said when it was made, and what the decision must check
 * again then: a request with one is written `submitting`, announced by the tracker, and then waits.
 */
export interface ApprovalAsked {
  /** Sentences, each naming the policy rule that made it wait. */
  reasons: string[];
  /** Who may approve, in words with Slack mentions, as the policy named them. */
  approvers: string;
  /** The channel the approvers are asked in. */
  channelId: string;
  /** The channel the policy judged the request by (null: App Home, outside any channel). */
  policyChannel: string | null;
  /** The share targets asked for, to be checked against the policy again when the decision comes. */
  shareTargets: { fieldId: string; kind: string; value: string }[];
}

/**
 * The kind of conversation a build's thread is in, which decides who else may see the build: `public`, a public
 * channel anyone in the workspace may open; `private`, a private channel or group DM, seen by its members; `dm`, the
 * bot's DM with the requester.
 */
export type ChannelKind = 'public' | 'private' | 'dm';

/**
 * The organisation's blueprint a build was made from, as it was when the order was placed. `targets` says whose share
 * targets the images go to: `blueprint`, the blueprint's own (POST /blueprints/{id}/compose, submitted by the order's
 * lead for the whole order, so the builds stay in the blueprint's history); `requester`, the requester's upload
 * options (POST /compose of the blueprint's content, each row submitting its own compose request).
 */
export interface BlueprintRef {
  id: string;
  name: string;
  version: number;
  targets: 'blueprint' | 'requester';
}

export interface BuildRequest {
  /** Our id (a UUID), also written into the compose's `image_description`. */
  id: string;
  /**
   * The order this build is one image of: the id of the order's first row (its lead, whose own `orderId` is its id);
   * null for a plain build, an order of one (`orderId ?? id` names any build's order).
   */
  orderId: string | null;
  /** 0 for the lead, 1, 2… for the others, in the blueprint's image request order; null for a plain build. */
  orderIndex: number | null;
  /** The blueprint built, or null for a plain image. */
  blueprint: BlueprintRef | null;
  /** Slack view id of the modal submission: the same submission delivered twice is one request. */
  idempotencyKey: string | null;
  requesterId: string;
  /** Where the command was typed. */
  channelId: string;
  /** Where the thread lives: the channel, or a DM with the requester when the bot cannot post in the channel. */
  threadChannelId: string | null;
  /** What kind of conversation the thread is in, once posted; null when Slack did not say (counts as private). */
  threadChannelKind: ChannelKind | null;
  /** For ephemeral notices within its 30 minutes. */
  responseUrl: string | null;
  provider: string;
  distribution: string;
  architecture: string;
  imageName: string | null;
  /** Human text of where the image is shared ("AWS accounts 123456789012"). */
  shareSummary: string;
  /** The exact body sent (or to be sent) to POST /compose, as JSON text. */
  composeRequest: string;
  /**
   * What the provider keeps for the commands it suggests and never sends (an EC2 key pair, regions to copy to), as
   * JSON text; null when there is none. The same for every image of an order.
   */
  launchSettings: string | null;
  state: RequestState;
  composeId: string | null;
  /** Last status seen from Image Builder, as the service spelled it. */
  status: string | null;
  progressDone: number | null;
  progressTotal: number | null;
  /** JSON of the final `image_status` (upload status or error) once known. */
  finalImageStatus: string | null;
  /** The service's words when a submission was refused or could not be made. */
  rejection: string | null;
  parentTs: string | null;
  statusTs: string | null;
  resultTs: string | null;
  /** What was last sent to Slack for each edited message, to edit only on a visible change. */
  renderedParent: string | null;
  renderedStatus: string | null;
  createdAt: Date;
  submittedAt: Date | null;
  /** `created_at` of the compose from GET /composes, when known: expiry counts from it. */
  composeCreatedAt: Date | null;
  finishedAt: Date | null;
  expiresAt: Date | null;
  nextPollAt: Date | null;
  pollFailures: number;
  /** The request this one rebuilds (the Rebuild button), if any. */
  rebuiltFrom: string | null;
  /** The expiry reminder reply, once posted (sent once, survives restarts). */
  reminderTs: string | null;
  /** When the result message was re-rendered to say the image has expired. */
  expiredNotedAt: Date | null;
  /** Why the request waits (waited) for approval; null when it never needed any. */
  approval: ApprovalAsked | null;
  /** When a request waiting for approval is dropped; null when it needs none. */
  approvalExpiresAt: Date | null;
  /** How the approval was decided, by whom (null for an expiry), when, and the reason a denial gave. */
  decision: ApprovalDecision | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  /** The message in the approvals channel, and what it last showed. */
  approvalTs: string | null;
  renderedApproval: string | null;
}

export type NewBuildRequest = Pick<
  BuildRequest,
  | 'id'
  | 'idempotencyKey'
  | 'requesterId'
  | 'channelId'
  | 'responseUrl'
  | 'provider'
  | 'distribution'
  | 'architecture'
  | 'imageName'
  | 'shareSummary'
  | 'composeRequest'
  | 'createdAt'
> &
  Partial<
    Pick<
      BuildRequest,
      'rebuiltFrom' | 'orderId' | 'orderIndex' | 'blueprint' | 'launchSettings' | 'approval' | 'approvalExpiresAt'
    >
  >;

/**
 * Another image of an order, added by `addToOrder`. What is the same for every image of the order (requester,
 * channel, thread, response URL, provider, distribution, blueprint, when it was asked for) is the lead's; the rest
 * is this image's. A companion made for a compose already submitted (the lead's POST answered with several ids) is
 * written `tracking` with its compose id; one still to submit, `submitting` with neither.
 */
export interface OrderCompanion {
  id: string;
  /** 1, 2… in the blueprint's image request order. */
  orderIndex: number;
  architecture: string;
  imageName: string | null;
  shareSummary: string;
  composeRequest: string;
  state?: 'submitting' | 'tracking';
  composeId?: string | null;
  submittedAt?: Date | null;
}

/**
 * Fields the tracker changes as a build moves on. `id`, the request itself (its order and blueprint included) and
 * `createdAt` never change.
 */
export type BuildRequestPatch = Partial<
  Omit<BuildRequest, keyof NewBuildRequest | 'createdAt'> & { responseUrl: string | null }
>;

/** What the policy's per-user limits count: requests not finished, and requests made since a moment. */
export interface RequesterCounts {
  inFlight: number;
  since: number;
}

/** The policy's per-user limits as the store applies them: counted from `since`, judged by `refusal`. */
export interface RequesterLimits {
  since: Date;
  /** Why a request may not be made with these counts, or undefined when it may. */
  refusal(counts: RequesterCounts): string | undefined;
  /**
   * Over a limit, the request is written to wait for approval instead of being refused (policy approvals.over_limits):
   * the limit's reason is added to these reasons. A request that waits anyway gives its own approval and expiry.
   */
  waitInstead?: { approval: ApprovalAsked; expiresAt: Date };
}

/** A person's decision on a request that waits for approval. */
export interface ApprovalVerdict {
  decision: 'approved' | 'denied';
  by: string;
  at: Date;
  /** What the approver wrote when denying. */
  reason?: string;
}

export interface ClaimDueOptions {
  /** Requests the caller has in hand: not returned, though they are due and leased to it. */
  except?: readonly string[];
  /** Only requests in this state (the poller's own slots for submissions); both unfinished states by default. */
  state?: ClaimableState;
}

/** The states claimDue hands out: the unfinished ones the poller advances. */
export type ClaimableState = Extract<RequestState, 'submitting' | 'tracking'>;

export interface UpdateOptions {
  /** Write only while this owner holds the request's lease; see the leases of BuildRequestStore. */
  ifLeasedBy?: string;
}

/** Finished requests that need attention because of their image's lifetime. */
export interface ExpiryQueries {
  /** Successful builds whose image expires within `within` of `now` (and not yet), with no reminder posted. */
  listNeedingReminder(now: Date, withinMs: number): Promise<BuildRequest[]>;
  /** Successful builds whose image has expired by `now` and whose result message does not say so yet. */
  listNewlyExpired(now: Date): Promise<BuildRequest[]>;
}

export interface BuildRequestStore {
  /**
   * Inserts a new request. When a request with the same idempotency key exists, nothing is written and the
   * existing row is returned with `created: false`.
   */
  insert(request: NewBuildRequest): Promise<{ request: BuildRequest; created: boolean }>;
  get(id: string): Promise<BuildRequest | undefined>;
  /** The request inserted with this idempotency key, if any (a re-delivered submission is recognised by it). */
  getByIdempotencyKey(key: string): Promise<BuildRequest | undefined>;
  /**
   * Changes the given fields. With `ifLeasedBy`, the write is made only while that owner still holds the request's
   * lease (see below), and fails with a `lease-lost` StoreError, writing nothing, once another replica has taken
   * the request over.
   */
  update(id: string, patch: BuildRequestPatch, options?: UpdateOptions): Promise<BuildRequest>;
  /** Rows the tracker must look after: `submitting` and `tracking`, oldest first. */
  listUnfinished(): Promise<BuildRequest[]>;
  /** How many requests are unfinished (metrics), without reading them. */
  countUnfinished(): Promise<number>;
  /** The newest requests made by this user or in this channel (either matches), for `/image-builder list`. */
  listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]>;
  /**
   * The newest requests of one user, or of everyone when `requesterId` is absent (App Home). With `visibleTo`, only
   * those that user may see: their own and those followed in a public channel.
   */
  listNewest(filter: { requesterId?: string; visibleTo?: string; limit: number }): Promise<BuildRequest[]>;
  /** The request the bot made a compose for, if it made it (`/image-builder status`). */
  findByComposeId(composeId: string): Promise<BuildRequest | undefined>;
  /**
   * The rows of one order, lead first, then by `orderIndex`: the lead's id gives the lead and every row whose
   * `orderId` is it; a plain build's id gives just that build; an id nothing has, nothing.
   */
  listOrder(orderId: string): Promise<BuildRequest[]>;
  /**
   * In one transaction: applies `leadPatch` to the lead, as `update` does (fenced by `options.ifLeasedBy`, with its
   * `lease-lost` and `not-found` errors, writing nothing then), and inserts the companions into its order (see
   * OrderCompanion). A companion whose id exists already is left as it is, so a retried step adds nothing twice.
   * The lead must lead its own order (`orderId` = its id). Returns the whole order, as `listOrder` does.
   */
  addToOrder(
    leadId: string,
    leadPatch: BuildRequestPatch,
    companions: readonly OrderCompanion[],
    options?: UpdateOptions,
  ): Promise<BuildRequest[]>;
  /**
   * How many of a user's orders are unfinished, and how many were placed since `since` (policy limits). Limits count
   * orders, not images: a blueprint order of three images is one request, in flight while any of its images is, and
   * placed when its lead was made. A plain build is an order of one.
   */
  countForRequester(requesterId: string, since: Date): Promise<RequesterCounts>;
  /**
   * Inserts a new request unless the requester's limits refuse it: `refusal` is given the requester's counts (as
   * `countForRequester(request.requesterId, limits.since)` gives them) and returns why the request may not be made,
   * or undefined. Counting and inserting are one step for that requester, also across replicas: of concurrent
   * submissions that a limit allows only one of, exactly one is inserted. A request whose idempotency key exists is
   * not counted again: the existing row is returned with `created: false`, as `insert` does.
   */
  insertWithinLimits(
    request: NewBuildRequest,
    limits: RequesterLimits,
  ): Promise<{ request: BuildRequest; created: boolean } | { refused: string }>;

  /**
   * Records the decision on a request that waits for approval and hands it back to the tracker (`submitting`, due
   * now), in one statement made only while it is `awaiting-approval`: of several decisions at once (double clicks,
   * two approvers, two replicas), exactly one is recorded. Returns the request as decided, or undefined when it was
   * not waiting (decided already, still being announced, or unknown).
   */
  decideApproval(id: string, verdict: ApprovalVerdict): Promise<BuildRequest | undefined>;
  /** Records `expired` on every request still waiting at `now` past its expiry, as decideApproval does; returns them. */
  expireApprovals(now: Date): Promise<BuildRequest[]>;
  /** The requests waiting for approval, oldest first (App Home, `/image-builder approvals`). */
  listAwaitingApproval(limit: number): Promise<BuildRequest[]>;

  /*
   * Leases: with several replicas on one database, each unfinished request is worked on by one replica at a time.
   * A lease has an owner (a replica's name, unique per process) and an end; a replica that dies stops renewing
   * and, once the end has passed, another replica may claim the request. `now` is the caller's clock: replicas'
   * clocks are assumed to agree to well within a lease.
   *
   * A released or taken-over lease no longer names its old owner, so writes fenced with `ifLeasedBy` by a replica
   * that stalled past its lease are refused instead of overwriting what the new owner did. An expired lease that
   * nobody took is still its owner's: its writes (the ts of a message just posted, above all) are kept.
   */

  /**
   * Atomically leases to `owner`, until `now + leaseMs`, up to `limit` unfinished requests (`submitting`,
   * `tracking`) that are due (`nextPollAt` unset or not after `now`) and free for it: not leased, leased by
   * someone else until a moment that is past by `now`, or leased by `owner` itself, however long the lease still
   * runs (a step that could not release its lease, during a store outage, must not hold its own request back for
   * a whole lease). Requests in `options.except` (what the caller has in hand) are left alone.
   *
   * Returns them in the order they are taken in, as they are now: brand-new requests (never polled, `nextPollAt`
   * unset) first, so a submission never queues behind polls; then the most overdue; then the oldest. Two callers
   * never get the same request.
   */
  claimDue(
    owner: string,
    now: Date,
    leaseMs: number,
    limit: number,
    options?: ClaimDueOptions,
  ): Promise<BuildRequest[]>;
  /**
   * Leases one request, whatever its state, unless another owner holds a lease on it that has not ended; returns
   * it as it is now, or undefined when it is held elsewhere (or does not exist). Extends the caller's own lease.
   */
  claim(id: string, owner: string, now: Date, leaseMs: number): Promise<BuildRequest | undefined>;
  /**
   * Extends a lease `owner` still holds to `now + leaseMs`; false when it was released or taken over meanwhile (an
   * ended lease nobody took is still held). Unlike `claim`, never takes a request the caller had lost.
   */
  renewClaim(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean>;
  /** Ends `owner`'s lease on the request; nothing happens when someone else holds it. */
  releaseClaim(id: string, owner: string): Promise<void>;
  /**
   * Every owner named by a lease, ended or not (an ended lease nobody took is still its owner's), in text order:
   * for finding the leases of a replica that died.
   */
  listLeaseOwners(): Promise<string[]>;
  /** Ends every lease `owner` holds, whatever its end or the request's state; returns how many were ended. */
  releaseAllClaims(owner: string): Promise<number>;

  /** Checks the store can be written, and (SQLite) that its file passed the integrity check at start (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What a user last entered for a cloud, to pre-fill the next modal. */
export interface UserDefaultsStore {
  getDefaults(userId: string, provider: string): Promise<Record<string, string> | undefined>;
  saveDefaults(userId: string, provider: string, values: Record<string, string>, at: Date): Promise<void>;
  /** Forgets every cloud's defaults of the user; returns how many were removed. */
  clearDefaults(userId: string): Promise<number>;
}

export type AuditKind =
  /** A valid request was accepted from Slack (before submission). */
  | 'requested'
  /** Policy refused someone something; `detail.reason` says why and `detail.entryPoint` where. */
  | 'refused'
  /** POST /compose succeeded; `detail` has the compose id and the share targets. */
  | 'submitted'
  /** Image Builder refused the submission; `detail` has the kind and the service's words. */
  | 'rejected'
  /** The compose reached success or failure. */
  | 'finished'
  | 'reminded'
  | 'expired'
  | 'defaults-cleared'
  /** A request was written to wait for approval; `detail.reasons` says why. */
  | 'approval-requested'
  /** An approver approved a waiting request (`actorId`). */
  | 'approved'
  /** An approver denied a waiting request; `detail.reason` is what they wrote, if anything. */
  | 'denied'
  /** Nobody decided on a waiting request in time. */
  | 'approval-expired';

export interface AuditEvent {
  at: Date;
  kind: AuditKind;
  /** The Slack user who acted, or null for the bot itself (a build finishing, an image expiring). */
  actorId: string | null;
  requestId: string | null;
  channelId: string | null;
  detail: Record<string, unknown>;
}

/**
 * An event as read back. The log outlives releases: a kind this release does not know (written by a newer one,
 * before a rollback) reads as 'unknown', with the kind as written in `recordedKind`, rather than failing the read.
 */
export interface AuditRecord extends Omit<AuditEvent, 'kind'> {
  kind: AuditKind | 'unknown';
  recordedKind?: string;
}

/** An append-only record of who asked for what, what was refused and why, and what came of it. */
export interface AuditLog {
  appendAudit(event: AuditEvent): Promise<void>;
  /** Events at or after `since`, oldest first. */
  listAudit(since: Date): Promise<AuditRecord[]>;
}

/**
 * The replicas running on one database, each under its lease-owner name, so that limits kept for the whole
 * deployment (requests per second to Image Builder, Slack's pace) can be shared out among those alive.
 */
export interface ReplicaDirectory {
  /**
   * Records that `owner` is alive at `now`, forgets the replicas not seen since `now - staleAfterMs` and returns
   * how many are alive, `owner` included (so at least 1); in one transaction.
   */
  heartbeat(owner: string, now: Date, staleAfterMs: number): Promise<number>;
  /** Forgets `owner`, which is stopping; the others count one replica fewer at their next heartbeat. */
  retire(owner: string): Promise<void>;
  /** The replicas that have recorded a heartbeat and not retired nor been forgotten, in no order. */
  listReplicas(): Promise<string[]>;
}

/** What one purge removed. */
export interface PurgeCounts {
  builds: number;
  auditEvents: number;
}

/** Forgetting what is older than the retention period (RETENTION_DAYS). */
export interface RetentionPurge {
  /**
   * Deletes, in one transaction, the finished requests (`done` or `rejected`) that finished before `before` and
   * whose image, when it has a known expiry, expired before it too (the reminder and the expiry notice need the
   * row until then), and the audit events recorded before `before`. An unfinished request is never deleted. An
   * order goes whole: its rows are deleted once every one of them may be, so its lead (and its thread's messages)
   * outlives none of its images.
   */
  purgeBefore(before: Date): Promise<PurgeCounts>;
}

/** Everything the bot keeps; one database behind all of it. */
export interface Store
  extends BuildRequestStore, ExpiryQueries, UserDefaultsStore, AuditLog, ReplicaDirectory, RetentionPurge {}
