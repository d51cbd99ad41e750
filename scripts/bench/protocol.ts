import type { JsonObject } from '../../src/demo/fakes/blockKit';
import type { ComposeStep } from '../../test/fakes/imageBuilderService';

/* Messages between run.ts and the fakes process. */

/** What run.ts starts the fakes process with (as JSON in its first argument). */
export interface FakesSettings {
  /** How many times faster than real time compose statuses move at the fake Image Builder. */
  factor: number;
  /** How many times faster than Slack's real tiers the fake Slack lets calls through. */
  slackScale: number;
  /** Seeds the draw of compose timelines, so a run can be repeated. */
  seed: number;
  /**
   * The submission phase's: keep the modals the bot opens (to submit them), and give the composes the bot sends this
   * script (a short one, so a run is decided by Slack's pace, not by how long a build lasts).
   */
  submissions?: { script: ComposeStep[] };
}

export type FakesRequest =
  | { kind: 'seed'; count: number }
  | { kind: 'progress' }
  | { kind: 'stats' }
  | { kind: 'views' }
  | { kind: 'lastOpenedView' }
  | { kind: 'submissions'; channel: string }
  | { kind: 'stop' };

/** A POST /compose as the fake Image Builder received it. */
export interface ComposePost {
  /** When it arrived (ms since the epoch). */
  at: number;
  /** The compose's image_description, which names the requester (src/tracking/tracker.ts describeRequest). */
  description: string;
}

/** One thread of a channel as the fake Slack holds it at the end of a run. */
export interface ThreadShape {
  /** Replies in the thread, and of those after the first (the status reply), the ones that show how the build ended. */
  replies: number;
  results: number;
}

export interface SubmissionsSeen {
  posts: ComposePost[];
  /** Top-level messages of the channel, each with its thread. */
  threads: ThreadShape[];
}

export interface FakesReady {
  kind: 'ready';
  slackUrl: string;
  imageBuilderUrl: string;
  tokenUrl: string;
  offlineToken: string;
}

export interface SeededCompose {
  composeId: string;
  /** The channel the compose's thread is posted in: one per compose, so every Slack call maps to its compose. */
  channel: string;
  request: JsonObject;
}

/** Cheap to compute, asked for every second while a run goes on. */
export interface FakesProgress {
  composes: number;
  /** Composes the fake Image Builder has answered a final status for. */
  finishedAtService: number;
  /** Composes whose thread got a successful Slack call showing their final state. */
  finalOnSlack: number;
  /** When the last chat.postMessage or chat.update arrived (ms since the epoch), if any did. */
  lastChatCallAt?: number;
  imageBuilderRequests: number;
  slackCalls: number;
  slackRateLimited: number;
}

export interface ComposeStats {
  /**
   * Distinct visible states the thread went through: the statuses (and build steps) the fake served this compose, in
   * order, equal neighbours counted once, plus one for "Submitting" (shown before the compose exists).
   */
  changes: number;
  /** chat.postMessage and chat.update calls in the compose's thread, whatever Slack answered (429s included). */
  slackCalls: number;
  /** The fake served a final status. */
  finishedAtService: boolean;
  /** The fake served a final status, and a successful Slack call showed it. */
  complete: boolean;
  /**
   * Per served status that reached Slack: ms from the poll that first answered it to the first successful call
   * showing it or a later state.
   */
  latenciesFromServed: number[];
  /** The same, from the moment the status began at the service (so including how late the bot polled). */
  latenciesFromStart: number[];
  /** Served statuses no successful call showed, nor any later state, by the end of the run. */
  unseen: number;
  /** Served statuses that reached Slack only as a later state (the thread skipped them). */
  skipped: number;
  /** GET /composes/{id} the fake answered for it: what following it cost at the service. */
  polls: number;
  /** Successful top-level posts (the thread's parent) and replies in the thread. */
  parentPosts: number;
  threadPosts: number;
}

/** One compose's story, in ms after its first poll: what the fake served, and what its thread was sent. */
export interface ComposeTrace {
  composeId: string;
  served: { status: string; step?: number; at: number }[];
  calls: { method: 'post' | 'update'; at: number; ok: boolean; shows: string }[];
}

export interface FakesStats {
  /** Requests to the fake Image Builder (API and token endpoint) and when the first and last arrived. */
  imageBuilderRequests: number;
  imageBuilderFirstAt?: number;
  imageBuilderLastAt?: number;
  /** The most requests that arrived within one wall-clock second. */
  imageBuilderBusiestSecond: number;
  slackCalls: number;
  chatUpdates: number;
  chatUpdateFirstAt?: number;
  chatUpdateLastAt?: number;
  slackRateLimited: number;
  /** When the last compose's final state reached Slack, if every compose's did. */
  allFinalOnSlackAt?: number;
  perCompose: ComposeStats[];
  /** The compose with the longest change-to-Slack latency, to see where the time went. */
  slowest?: ComposeTrace;
}

export type FakesMessage =
  | FakesReady
  | { kind: 'seeded'; composes: SeededCompose[] }
  | { kind: 'progress'; progress: FakesProgress }
  | { kind: 'stats'; stats: FakesStats }
  | { kind: 'views'; views: JsonObject[] }
  /** The view of the last views.open the fake Slack took, as sent (JSON), if any. */
  | { kind: 'lastOpenedView'; view?: string }
  | { kind: 'submissions'; seen: SubmissionsSeen };
