import type { JsonObject } from '../../test/fakes/blockKit';

/* Messages between run.ts and the fakes process. */

export type FakesRequest =
  | { kind: 'seed'; count: number }
  | { kind: 'reset' }
  /** `channelOf`: compose id → the Slack channel its thread lives in. */
  | { kind: 'stats'; channelOf: Record<string, string> }
  | { kind: 'stop' };

export interface FakesReady {
  kind: 'ready';
  slackUrl: string;
  imageBuilderUrl: string;
  tokenUrl: string;
  offlineToken: string;
}

export interface SeededCompose {
  composeId: string;
  request: JsonObject;
}

export interface ComposeStats {
  composeId: string;
  /** Visible status changes the fake answered (status or build progress). */
  changes: number;
  /** Successful chat.postMessage and chat.update calls in the compose's channel. */
  slackCalls: number;
  finished: boolean;
  /** For each change that reached Slack: ms from the change to the next Slack call in the channel. */
  latencies: number[];
  /** Changes with no Slack call after them by the end of the run. */
  unseen: number;
  /** Successful top-level posts (the thread's parent) and replies in the thread. */
  parentPosts: number;
  threadPosts: number;
}

export interface FakesStats {
  since: number;
  until: number;
  imageBuilderRequests: number;
  slackCalls: number;
  slackRateLimited: number;
  perCompose: ComposeStats[];
}

export type FakesMessage = FakesReady | { kind: 'seeded'; composes: SeededCompose[] } | { kind: 'reset' } | { kind: 'stats'; stats: FakesStats };
