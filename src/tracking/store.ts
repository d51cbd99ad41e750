/*
 * The store is the single source of truth for every build the bot was asked for; Slack messages are a projection
 * of it. A row is written before anything leaves the process (see docs/tracking-design in the project notes), and
 * each Slack message's `ts` is saved the moment Slack returns it.
 *
 * The interface is asynchronous so that a networked database (PostgreSQL) fits behind it as well as SQLite.
 */

/**
 * - `submitting`: written, POST /compose not yet known to have succeeded (recovery looks the compose up by the
 *   request id carried in its description before it would ever submit again).
 * - `tracking`: the service accepted it; the poller follows it.
 * - `rejected`: the service refused it (400, 403 quota or distribution…) and the thread says so; nothing to poll.
 * - `done`: the compose reached success or failure and the result has been posted.
 * A terminal state is written only after its Slack messages were sent, so a crash in between is resumed.
 */
export type RequestState = 'submitting' | 'tracking' | 'rejected' | 'done';

export interface BuildRequest {
  /** Our id (a UUID), also written into the compose's `image_description`. */
  id: string;
  /** Slack view id of the modal submission: the same submission delivered twice is one request. */
  idempotencyKey: string | null;
  requesterId: string;
  /** Where the command was typed. */
  channelId: string;
  /** Where the thread lives: the channel, or a DM with the requester when the bot cannot post in the channel. */
  threadChannelId: string | null;
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
>;

/** Fields the tracker changes as a build moves on. `id`, the request itself and `createdAt` never change. */
export type BuildRequestPatch = Partial<
  Omit<BuildRequest, keyof NewBuildRequest | 'createdAt'> & { responseUrl: string | null }
>;

export interface BuildRequestStore {
  /**
   * Inserts a new request. When a request with the same idempotency key exists, nothing is written and the
   * existing row is returned with `created: false`.
   */
  insert(request: NewBuildRequest): Promise<{ request: BuildRequest; created: boolean }>;
  get(id: string): Promise<BuildRequest | undefined>;
  update(id: string, patch: BuildRequestPatch): Promise<BuildRequest>;
  /** Rows the tracker must look after: `submitting` and `tracking`, oldest first. */
  listUnfinished(): Promise<BuildRequest[]>;
  /** The newest requests made by this user or in this channel (either matches), for `/image-builder list`. */
  listRecent(filter: { requesterId: string; channelId: string; limit: number }): Promise<BuildRequest[]>;
  /** Checks the store can be written (for readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
